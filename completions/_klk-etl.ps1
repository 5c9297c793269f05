
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'klk-etl' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'klk-etl'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'klk-etl' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./klk-etl.toml if present]')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)')
            [CompletionResult]::new('--database', '--database', [CompletionResultType]::ParameterName, 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format for data on stdout')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour tables (NO_COLOR is honoured by `auto`)')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'How long to wait for another process holding the database [default: config, 30s]')
            [CompletionResult]::new('--now', '--now', [CompletionResultType]::ParameterName, 'Pin "now" (RFC 3339, e.g. 2025-11-24T16:00:00Z): for tests and reproducible reports')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only data and errors (no notes on stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only data and errors (no notes on stderr)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('run', 'run', [CompletionResultType]::ParameterValue, 'The cron entry point: unstick, recover gaps (bounded), fetch every store''s new windows, verify closed days')
            [CompletionResult]::new('recover', 'recover', [CompletionResultType]::ParameterValue, 'Recover gaps now (all or filtered), or fetch one explicit window again')
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Re-pull closed days whole now: those not verified yet, or explicit days')
            [CompletionResult]::new('vanished', 'vanished', [CompletionResultType]::ParameterValue, 'Lines a re-pull no longer found (kept in ventas); --delete removes them')
            [CompletionResult]::new('gaps', 'gaps', [CompletionResultType]::ParameterValue, 'List the gaps: windows that should hold data and are not covered by a success')
            [CompletionResult]::new('metrics', 'metrics', [CompletionResultType]::ParameterValue, 'Reliability per store and day: runs, success rate, durations, rows loaded')
            [CompletionResult]::new('executions', 'executions', [CompletionResultType]::ParameterValue, 'The latest executions (newest first)')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'One screen: latest executions, open gaps and today''s metrics')
            [CompletionResult]::new('health', 'health', [CompletionResultType]::ParameterValue, 'Monitoring-plugins check (Nagios, Icinga): exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN')
            [CompletionResult]::new('alerts', 'alerts', [CompletionResultType]::ParameterValue, 'Recent alerts; `alerts check` evaluates and sends the transitions now')
            [CompletionResult]::new('purge', 'purge', [CompletionResultType]::ParameterValue, 'Delete old executions (never those gap detection still needs)')
            [CompletionResult]::new('unstick', 'unstick', [CompletionResultType]::ParameterValue, 'Close executions left `en_proceso` by a process that is gone')
            [CompletionResult]::new('stores', 'stores', [CompletionResultType]::ParameterValue, 'List the configured stores')
            [CompletionResult]::new('db', 'db', [CompletionResultType]::ParameterValue, 'Database schema: migrate, info')
            [CompletionResult]::new('demo', 'demo', [CompletionResultType]::ParameterValue, 'Run the main job end to end against a simulated KLK API with scripted faults')
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Web status page, HTTP API, /health and /metrics (see docs/serve.md)')
            [CompletionResult]::new('sim', 'sim', [CompletionResultType]::ParameterValue, 'Serve a simulated KLK POS API on 127.0.0.1 (for tests and demos)')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script (or the man page)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'klk-etl;run' {
            [CompletionResult]::new('--tipo', '--tipo', [CompletionResultType]::ParameterName, 'Only this tipo [default: both]')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Only these stores (repeat or separate with commas)')
            [CompletionResult]::new('--date', '--date', [CompletionResultType]::ParameterName, 'The day for --full: YYYY-MM-DD, `today` or `yesterday`')
            [CompletionResult]::new('--from', '--from', [CompletionResultType]::ParameterName, 'First day for --full')
            [CompletionResult]::new('--to', '--to', [CompletionResultType]::ParameterName, 'Last day for --full (included)')
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'Stores fetched in parallel')
            [CompletionResult]::new('--wait', '--wait', [CompletionResultType]::ParameterName, 'How long to wait for another run of the same tipo (DuckDB), or for a runner slot (PostgreSQL: database.max_runners), before giving up (exit 3)')
            [CompletionResult]::new('--max-gaps', '--max-gaps', [CompletionResultType]::ParameterName, 'Gaps to recover at most in this run')
            [CompletionResult]::new('--recovery-budget', '--recovery-budget', [CompletionResultType]::ParameterName, 'Stop starting recoveries after this long [default: half the slot]')
            [CompletionResult]::new('--settle-lag', '--settle-lag', [CompletionResultType]::ParameterName, 'Leave slots that closed less than this ago for the next run')
            [CompletionResult]::new('--overlap', '--overlap', [CompletionResultType]::ParameterName, 'Fetch again this much before each store''s watermark, for lines that arrive late')
            [CompletionResult]::new('--textfile', '--textfile', [CompletionResultType]::ParameterName, 'After the run, write Prometheus metrics here atomically [default: monitoring.textfile]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./klk-etl.toml if present]')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)')
            [CompletionResult]::new('--database', '--database', [CompletionResultType]::ParameterName, 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format for data on stdout')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour tables (NO_COLOR is honoured by `auto`)')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'How long to wait for another process holding the database [default: config, 30s]')
            [CompletionResult]::new('--now', '--now', [CompletionResultType]::ParameterName, 'Pin "now" (RFC 3339, e.g. 2025-11-24T16:00:00Z): for tests and reproducible reports')
            [CompletionResult]::new('--full', '--full', [CompletionResultType]::ParameterName, 'Whole days instead of the incremental windows (modo completo); with --date or --from/--to')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the plan (what would be unstuck, recovered and fetched); change nothing')
            [CompletionResult]::new('--no-recover', '--no-recover', [CompletionResultType]::ParameterName, 'Do not recover gaps in this run')
            [CompletionResult]::new('--no-verify', '--no-verify', [CompletionResultType]::ParameterName, 'Do not re-pull closed days in this run (see [verification] in the configuration)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only data and errors (no notes on stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only data and errors (no notes on stderr)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'klk-etl;recover' {
            [CompletionResult]::new('--tipo', '--tipo', [CompletionResultType]::ParameterName, 'Only this tipo [default: both]')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Only these stores (repeat or separate with commas)')
            [CompletionResult]::new('--since', '--since', [CompletionResultType]::ParameterName, 'Only gaps that first failed at or after this: YYYY-MM-DD or a duration back from now (24h)')
            [CompletionResult]::new('--limit', '--limit', [CompletionResultType]::ParameterName, 'Recover at most this many gaps [default: all]')
            [CompletionResult]::new('--date', '--date', [CompletionResultType]::ParameterName, 'Fetch one explicit day for --store, whether or not it is a gap (YYYY-MM-DD, today, yesterday)')
            [CompletionResult]::new('--from', '--from', [CompletionResultType]::ParameterName, 'With --date: start of the window (HH:MM)')
            [CompletionResult]::new('--to', '--to', [CompletionResultType]::ParameterName, 'With --date: end of the window (HH:MM, 24:00 for midnight)')
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'Stores fetched in parallel')
            [CompletionResult]::new('--wait', '--wait', [CompletionResultType]::ParameterName, 'How long to wait for another run of the same tipo (DuckDB), or for a runner slot (PostgreSQL: database.max_runners), before giving up (exit 3)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./klk-etl.toml if present]')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)')
            [CompletionResult]::new('--database', '--database', [CompletionResultType]::ParameterName, 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format for data on stdout')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour tables (NO_COLOR is honoured by `auto`)')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'How long to wait for another process holding the database [default: config, 30s]')
            [CompletionResult]::new('--now', '--now', [CompletionResultType]::ParameterName, 'Pin "now" (RFC 3339, e.g. 2025-11-24T16:00:00Z): for tests and reproducible reports')
            [CompletionResult]::new('--ignore-backoff', '--ignore-backoff', [CompletionResultType]::ParameterName, 'Also retry windows still in their backoff after repeated failures')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the plan (what would be unstuck, recovered and fetched); change nothing')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only data and errors (no notes on stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only data and errors (no notes on stderr)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'klk-etl;verify' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Only these stores (repeat or separate with commas)')
            [CompletionResult]::new('--date', '--date', [CompletionResultType]::ParameterName, 'Re-pull this closed day whole, verified or not (YYYY-MM-DD or `yesterday`)')
            [CompletionResult]::new('--from', '--from', [CompletionResultType]::ParameterName, 'First closed day to re-pull (with --to)')
            [CompletionResult]::new('--to', '--to', [CompletionResultType]::ParameterName, 'Last closed day to re-pull (with --from, included)')
            [CompletionResult]::new('--limit', '--limit', [CompletionResultType]::ParameterName, 'Without dates: verify at most this many pending days [default: all]')
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'Stores fetched in parallel')
            [CompletionResult]::new('--wait', '--wait', [CompletionResultType]::ParameterName, 'How long to wait for another run of the same tipo (DuckDB), or for a runner slot (PostgreSQL: database.max_runners), before giving up (exit 3)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./klk-etl.toml if present]')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)')
            [CompletionResult]::new('--database', '--database', [CompletionResultType]::ParameterName, 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format for data on stdout')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour tables (NO_COLOR is honoured by `auto`)')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'How long to wait for another process holding the database [default: config, 30s]')
            [CompletionResult]::new('--now', '--now', [CompletionResultType]::ParameterName, 'Pin "now" (RFC 3339, e.g. 2025-11-24T16:00:00Z): for tests and reproducible reports')
            [CompletionResult]::new('--ignore-backoff', '--ignore-backoff', [CompletionResultType]::ParameterName, 'Also retry days still in their backoff after repeated failed re-pulls')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the plan (what would be unstuck, recovered and fetched); change nothing')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only data and errors (no notes on stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only data and errors (no notes on stderr)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'klk-etl;vanished' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Only these stores (repeat or separate with commas)')
            [CompletionResult]::new('--from', '--from', [CompletionResultType]::ParameterName, 'Only lines of days from this one (YYYY-MM-DD, today, yesterday)')
            [CompletionResult]::new('--to', '--to', [CompletionResultType]::ParameterName, 'Only lines of days up to this one, included')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./klk-etl.toml if present]')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)')
            [CompletionResult]::new('--database', '--database', [CompletionResultType]::ParameterName, 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format for data on stdout')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour tables (NO_COLOR is honoured by `auto`)')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'How long to wait for another process holding the database [default: config, 30s]')
            [CompletionResult]::new('--now', '--now', [CompletionResultType]::ParameterName, 'Pin "now" (RFC 3339, e.g. 2025-11-24T16:00:00Z): for tests and reproducible reports')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Also list lines already deleted from ventas')
            [CompletionResult]::new('--delete', '--delete', [CompletionResultType]::ParameterName, 'Delete the listed lines from ventas (the API no longer returns them)')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'With --delete: show what would be deleted; change nothing')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'With --delete: do not ask (required when stdin is not a terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'With --delete: do not ask (required when stdin is not a terminal)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only data and errors (no notes on stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only data and errors (no notes on stderr)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'klk-etl;gaps' {
            [CompletionResult]::new('--tipo', '--tipo', [CompletionResultType]::ParameterName, 'Only this tipo')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Only these stores (repeat or separate with commas)')
            [CompletionResult]::new('--max-hours', '--max-hours', [CompletionResultType]::ParameterName, 'Look-back horizon in hours [default: the configuration''s horizon, 168]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./klk-etl.toml if present]')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)')
            [CompletionResult]::new('--database', '--database', [CompletionResultType]::ParameterName, 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format for data on stdout')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour tables (NO_COLOR is honoured by `auto`)')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'How long to wait for another process holding the database [default: config, 30s]')
            [CompletionResult]::new('--now', '--now', [CompletionResultType]::ParameterName, 'Pin "now" (RFC 3339, e.g. 2025-11-24T16:00:00Z): for tests and reproducible reports')
            [CompletionResult]::new('--check', '--check', [CompletionResultType]::ParameterName, 'Exit 5 when any gap exists (for monitoring)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only data and errors (no notes on stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only data and errors (no notes on stderr)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'klk-etl;metrics' {
            [CompletionResult]::new('--days', '--days', [CompletionResultType]::ParameterName, 'Days to cover, today included')
            [CompletionResult]::new('--tipo', '--tipo', [CompletionResultType]::ParameterName, 'Only this tipo')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Only these stores (repeat or separate with commas)')
            [CompletionResult]::new('--textfile', '--textfile', [CompletionResultType]::ParameterName, 'Write the Prometheus metrics to this file atomically (for node_exporter''s textfile collector)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./klk-etl.toml if present]')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)')
            [CompletionResult]::new('--database', '--database', [CompletionResultType]::ParameterName, 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format for data on stdout')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour tables (NO_COLOR is honoured by `auto`)')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'How long to wait for another process holding the database [default: config, 30s]')
            [CompletionResult]::new('--now', '--now', [CompletionResultType]::ParameterName, 'Pin "now" (RFC 3339, e.g. 2025-11-24T16:00:00Z): for tests and reproducible reports')
            [CompletionResult]::new('--summary', '--summary', [CompletionResultType]::ParameterName, 'Only the per-store summary (CSV prints the per-day rows unless this is given)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only data and errors (no notes on stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only data and errors (no notes on stderr)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'klk-etl;executions' {
            [CompletionResult]::new('--tipo', '--tipo', [CompletionResultType]::ParameterName, 'Only this tipo')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Only these stores (repeat or separate with commas)')
            [CompletionResult]::new('--estado', '--estado', [CompletionResultType]::ParameterName, 'Only this estado')
            [CompletionResult]::new('--limit', '--limit', [CompletionResultType]::ParameterName, 'How many, newest first')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./klk-etl.toml if present]')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)')
            [CompletionResult]::new('--database', '--database', [CompletionResultType]::ParameterName, 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format for data on stdout')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour tables (NO_COLOR is honoured by `auto`)')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'How long to wait for another process holding the database [default: config, 30s]')
            [CompletionResult]::new('--now', '--now', [CompletionResultType]::ParameterName, 'Pin "now" (RFC 3339, e.g. 2025-11-24T16:00:00Z): for tests and reproducible reports')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only data and errors (no notes on stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only data and errors (no notes on stderr)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'klk-etl;status' {
            [CompletionResult]::new('--limit', '--limit', [CompletionResultType]::ParameterName, 'How many latest executions to show')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./klk-etl.toml if present]')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)')
            [CompletionResult]::new('--database', '--database', [CompletionResultType]::ParameterName, 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format for data on stdout')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour tables (NO_COLOR is honoured by `auto`)')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'How long to wait for another process holding the database [default: config, 30s]')
            [CompletionResult]::new('--now', '--now', [CompletionResultType]::ParameterName, 'Pin "now" (RFC 3339, e.g. 2025-11-24T16:00:00Z): for tests and reproducible reports')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only data and errors (no notes on stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only data and errors (no notes on stderr)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'klk-etl;health' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./klk-etl.toml if present]')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)')
            [CompletionResult]::new('--database', '--database', [CompletionResultType]::ParameterName, 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format for data on stdout')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour tables (NO_COLOR is honoured by `auto`)')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'How long to wait for another process holding the database [default: config, 30s]')
            [CompletionResult]::new('--now', '--now', [CompletionResultType]::ParameterName, 'Pin "now" (RFC 3339, e.g. 2025-11-24T16:00:00Z): for tests and reproducible reports')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only data and errors (no notes on stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only data and errors (no notes on stderr)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'klk-etl;alerts' {
            [CompletionResult]::new('--limit', '--limit', [CompletionResultType]::ParameterName, 'How many recent alerts to list')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./klk-etl.toml if present]')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)')
            [CompletionResult]::new('--database', '--database', [CompletionResultType]::ParameterName, 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format for data on stdout')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour tables (NO_COLOR is honoured by `auto`)')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'How long to wait for another process holding the database [default: config, 30s]')
            [CompletionResult]::new('--now', '--now', [CompletionResultType]::ParameterName, 'Pin "now" (RFC 3339, e.g. 2025-11-24T16:00:00Z): for tests and reproducible reports')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only data and errors (no notes on stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only data and errors (no notes on stderr)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Evaluate problems now and send the transitions (every `run` does this too; schedule it separately to catch a cron that stopped)')
            [CompletionResult]::new('test', 'test', [CompletionResultType]::ParameterValue, 'Send a test message on every configured channel now (or only --channel), and say which ones work: nothing is recorded (exit 5 when one fails)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'klk-etl;alerts;check' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./klk-etl.toml if present]')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)')
            [CompletionResult]::new('--database', '--database', [CompletionResultType]::ParameterName, 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format for data on stdout')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour tables (NO_COLOR is honoured by `auto`)')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'How long to wait for another process holding the database [default: config, 30s]')
            [CompletionResult]::new('--now', '--now', [CompletionResultType]::ParameterName, 'Pin "now" (RFC 3339, e.g. 2025-11-24T16:00:00Z): for tests and reproducible reports')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Show what would be sent; record and send nothing')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only data and errors (no notes on stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only data and errors (no notes on stderr)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'klk-etl;alerts;test' {
            [CompletionResult]::new('--channel', '--channel', [CompletionResultType]::ParameterName, 'Only this channel: webhook, slack, teams, json, email or command (repeatable)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./klk-etl.toml if present]')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)')
            [CompletionResult]::new('--database', '--database', [CompletionResultType]::ParameterName, 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format for data on stdout')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour tables (NO_COLOR is honoured by `auto`)')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'How long to wait for another process holding the database [default: config, 30s]')
            [CompletionResult]::new('--now', '--now', [CompletionResultType]::ParameterName, 'Pin "now" (RFC 3339, e.g. 2025-11-24T16:00:00Z): for tests and reproducible reports')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only data and errors (no notes on stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only data and errors (no notes on stderr)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'klk-etl;alerts;help' {
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Evaluate problems now and send the transitions (every `run` does this too; schedule it separately to catch a cron that stopped)')
            [CompletionResult]::new('test', 'test', [CompletionResultType]::ParameterValue, 'Send a test message on every configured channel now (or only --channel), and say which ones work: nothing is recorded (exit 5 when one fails)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'klk-etl;alerts;help;check' {
            break
        }
        'klk-etl;alerts;help;test' {
            break
        }
        'klk-etl;alerts;help;help' {
            break
        }
        'klk-etl;purge' {
            [CompletionResult]::new('--older-than', '--older-than', [CompletionResultType]::ParameterName, 'Delete executions started longer ago than this (e.g. 90d) [default: config retention]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./klk-etl.toml if present]')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)')
            [CompletionResult]::new('--database', '--database', [CompletionResultType]::ParameterName, 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format for data on stdout')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour tables (NO_COLOR is honoured by `auto`)')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'How long to wait for another process holding the database [default: config, 30s]')
            [CompletionResult]::new('--now', '--now', [CompletionResultType]::ParameterName, 'Pin "now" (RFC 3339, e.g. 2025-11-24T16:00:00Z): for tests and reproducible reports')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Show what would be deleted; change nothing')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Do not ask (required when stdin is not a terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask (required when stdin is not a terminal)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only data and errors (no notes on stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only data and errors (no notes on stderr)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'klk-etl;unstick' {
            [CompletionResult]::new('--older-than', '--older-than', [CompletionResultType]::ParameterName, 'Also close executions of other hosts (or unknown processes) older than this [default: config stuck_after, 1h]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./klk-etl.toml if present]')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)')
            [CompletionResult]::new('--database', '--database', [CompletionResultType]::ParameterName, 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format for data on stdout')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour tables (NO_COLOR is honoured by `auto`)')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'How long to wait for another process holding the database [default: config, 30s]')
            [CompletionResult]::new('--now', '--now', [CompletionResultType]::ParameterName, 'Pin "now" (RFC 3339, e.g. 2025-11-24T16:00:00Z): for tests and reproducible reports')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Show what would be closed; change nothing')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Do not ask (required when stdin is not a terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask (required when stdin is not a terminal)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only data and errors (no notes on stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only data and errors (no notes on stderr)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'klk-etl;stores' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./klk-etl.toml if present]')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)')
            [CompletionResult]::new('--database', '--database', [CompletionResultType]::ParameterName, 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format for data on stdout')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour tables (NO_COLOR is honoured by `auto`)')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'How long to wait for another process holding the database [default: config, 30s]')
            [CompletionResult]::new('--now', '--now', [CompletionResultType]::ParameterName, 'Pin "now" (RFC 3339, e.g. 2025-11-24T16:00:00Z): for tests and reproducible reports')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only data and errors (no notes on stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only data and errors (no notes on stderr)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'klk-etl;db' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./klk-etl.toml if present]')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)')
            [CompletionResult]::new('--database', '--database', [CompletionResultType]::ParameterName, 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format for data on stdout')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour tables (NO_COLOR is honoured by `auto`)')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'How long to wait for another process holding the database [default: config, 30s]')
            [CompletionResult]::new('--now', '--now', [CompletionResultType]::ParameterName, 'Pin "now" (RFC 3339, e.g. 2025-11-24T16:00:00Z): for tests and reproducible reports')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only data and errors (no notes on stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only data and errors (no notes on stderr)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('migrate', 'migrate', [CompletionResultType]::ParameterValue, 'Create or upgrade the schema (also done on first use by every command)')
            [CompletionResult]::new('info', 'info', [CompletionResultType]::ParameterValue, 'Schema version, migrations applied, row counts')
            [CompletionResult]::new('copy', 'copy', [CompletionResultType]::ParameterValue, 'Copy the whole history from one database to another (DuckDB file or postgres:// URL, either direction), verified, in one transaction')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'klk-etl;db;migrate' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./klk-etl.toml if present]')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)')
            [CompletionResult]::new('--database', '--database', [CompletionResultType]::ParameterName, 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format for data on stdout')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour tables (NO_COLOR is honoured by `auto`)')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'How long to wait for another process holding the database [default: config, 30s]')
            [CompletionResult]::new('--now', '--now', [CompletionResultType]::ParameterName, 'Pin "now" (RFC 3339, e.g. 2025-11-24T16:00:00Z): for tests and reproducible reports')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only data and errors (no notes on stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only data and errors (no notes on stderr)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'klk-etl;db;info' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./klk-etl.toml if present]')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)')
            [CompletionResult]::new('--database', '--database', [CompletionResultType]::ParameterName, 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format for data on stdout')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour tables (NO_COLOR is honoured by `auto`)')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'How long to wait for another process holding the database [default: config, 30s]')
            [CompletionResult]::new('--now', '--now', [CompletionResultType]::ParameterName, 'Pin "now" (RFC 3339, e.g. 2025-11-24T16:00:00Z): for tests and reproducible reports')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only data and errors (no notes on stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only data and errors (no notes on stderr)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'klk-etl;db;copy' {
            [CompletionResult]::new('--from', '--from', [CompletionResultType]::ParameterName, 'The database to copy from (a DuckDB file or a postgres:// URL); it is only read')
            [CompletionResult]::new('--to', '--to', [CompletionResultType]::ParameterName, 'The database to copy into (created and migrated when needed)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./klk-etl.toml if present]')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)')
            [CompletionResult]::new('--database', '--database', [CompletionResultType]::ParameterName, 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format for data on stdout')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour tables (NO_COLOR is honoured by `auto`)')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'How long to wait for another process holding the database [default: config, 30s]')
            [CompletionResult]::new('--now', '--now', [CompletionResultType]::ParameterName, 'Pin "now" (RFC 3339, e.g. 2025-11-24T16:00:00Z): for tests and reproducible reports')
            [CompletionResult]::new('--replace', '--replace', [CompletionResultType]::ParameterName, 'Replace the history the destination already holds (otherwise it must be empty)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only data and errors (no notes on stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only data and errors (no notes on stderr)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'klk-etl;db;help' {
            [CompletionResult]::new('migrate', 'migrate', [CompletionResultType]::ParameterValue, 'Create or upgrade the schema (also done on first use by every command)')
            [CompletionResult]::new('info', 'info', [CompletionResultType]::ParameterValue, 'Schema version, migrations applied, row counts')
            [CompletionResult]::new('copy', 'copy', [CompletionResultType]::ParameterValue, 'Copy the whole history from one database to another (DuckDB file or postgres:// URL, either direction), verified, in one transaction')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'klk-etl;db;help;migrate' {
            break
        }
        'klk-etl;db;help;info' {
            break
        }
        'klk-etl;db;help;copy' {
            break
        }
        'klk-etl;db;help;help' {
            break
        }
        'klk-etl;demo' {
            [CompletionResult]::new('--database', '--database', [CompletionResultType]::ParameterName, 'The demo''s database, a DuckDB file or a postgres:// URL (recreated: an existing file, or klk-etl''s tables on the server, are replaced only if an earlier demo made them)')
            [CompletionResult]::new('--day', '--day', [CompletionResultType]::ParameterName, 'The simulated day')
            [CompletionResult]::new('--seed', '--seed', [CompletionResultType]::ParameterName, 'Seed of the simulated sales')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./klk-etl.toml if present]')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)')
            [CompletionResult]::new('--database', '--database', [CompletionResultType]::ParameterName, 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format for data on stdout')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour tables (NO_COLOR is honoured by `auto`)')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'How long to wait for another process holding the database [default: config, 30s]')
            [CompletionResult]::new('--now', '--now', [CompletionResultType]::ParameterName, 'Pin "now" (RFC 3339, e.g. 2025-11-24T16:00:00Z): for tests and reproducible reports')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Replace --database (or empty klk-etl''s tables there) even if it is not an earlier demo''s')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only data and errors (no notes on stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only data and errors (no notes on stderr)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'klk-etl;serve' {
            [CompletionResult]::new('--listen', '--listen', [CompletionResultType]::ParameterName, 'Address and port to listen on [default: [serve] listen, 127.0.0.1:8080]; port 0 picks a free one')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./klk-etl.toml if present]')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)')
            [CompletionResult]::new('--database', '--database', [CompletionResultType]::ParameterName, 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format for data on stdout')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour tables (NO_COLOR is honoured by `auto`)')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'How long to wait for another process holding the database [default: config, 30s]')
            [CompletionResult]::new('--now', '--now', [CompletionResultType]::ParameterName, 'Pin "now" (RFC 3339, e.g. 2025-11-24T16:00:00Z): for tests and reproducible reports')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only data and errors (no notes on stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only data and errors (no notes on stderr)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'klk-etl;sim' {
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'Port on 127.0.0.1 (0 picks a free one)')
            [CompletionResult]::new('--seed', '--seed', [CompletionResultType]::ParameterName, 'Seed of the synthetic data [default: 1]')
            [CompletionResult]::new('--lines-per-hour', '--lines-per-hour', [CompletionResultType]::ParameterName, 'Average sales lines per store per hour [default: 120]')
            [CompletionResult]::new('--articles', '--articles', [CompletionResultType]::ParameterName, 'Articles in every warehouse''s master [default: 4000]')
            [CompletionResult]::new('--store-volume', '--store-volume', [CompletionResultType]::ParameterName, 'Sales volume multiplier of one store, e.g. SUC001=10 (repeatable)')
            [CompletionResult]::new('--bounds', '--bounds', [CompletionResultType]::ParameterName, 'How /ventas reads hora_desde/hora_hasta [default: half-open]')
            [CompletionResult]::new('--scenario', '--scenario', [CompletionResultType]::ParameterName, 'Scenario file (.toml or .json): data settings and fault rules')
            [CompletionResult]::new('--fault', '--fault', [CompletionResultType]::ParameterName, 'Fault rule STORE:ENDPOINT:ACTION[:REQUESTS][@WINDOW] (repeatable; after the scenario''s rules)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./klk-etl.toml if present]')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)')
            [CompletionResult]::new('--database', '--database', [CompletionResultType]::ParameterName, 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format for data on stdout')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour tables (NO_COLOR is honoured by `auto`)')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'How long to wait for another process holding the database [default: config, 30s]')
            [CompletionResult]::new('--now', '--now', [CompletionResultType]::ParameterName, 'Pin "now" (RFC 3339, e.g. 2025-11-24T16:00:00Z): for tests and reproducible reports')
            [CompletionResult]::new('--edge-lines', '--edge-lines', [CompletionResultType]::ParameterName, 'Every store-day also has sales lines at exactly 00:00:00.0000000, on every 15-minute boundary, at 23:59:59.8 and at 23:59:59.9999999 (invoices EDGE-…)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only data and errors (no notes on stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only data and errors (no notes on stderr)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'klk-etl;completions' {
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'Write into this directory (as the file name the shell expects) instead of stdout')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./klk-etl.toml if present]')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)')
            [CompletionResult]::new('--database', '--database', [CompletionResultType]::ParameterName, 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format for data on stdout')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour tables (NO_COLOR is honoured by `auto`)')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'How long to wait for another process holding the database [default: config, 30s]')
            [CompletionResult]::new('--now', '--now', [CompletionResultType]::ParameterName, 'Pin "now" (RFC 3339, e.g. 2025-11-24T16:00:00Z): for tests and reproducible reports')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only data and errors (no notes on stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only data and errors (no notes on stderr)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'klk-etl;help' {
            [CompletionResult]::new('run', 'run', [CompletionResultType]::ParameterValue, 'The cron entry point: unstick, recover gaps (bounded), fetch every store''s new windows, verify closed days')
            [CompletionResult]::new('recover', 'recover', [CompletionResultType]::ParameterValue, 'Recover gaps now (all or filtered), or fetch one explicit window again')
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Re-pull closed days whole now: those not verified yet, or explicit days')
            [CompletionResult]::new('vanished', 'vanished', [CompletionResultType]::ParameterValue, 'Lines a re-pull no longer found (kept in ventas); --delete removes them')
            [CompletionResult]::new('gaps', 'gaps', [CompletionResultType]::ParameterValue, 'List the gaps: windows that should hold data and are not covered by a success')
            [CompletionResult]::new('metrics', 'metrics', [CompletionResultType]::ParameterValue, 'Reliability per store and day: runs, success rate, durations, rows loaded')
            [CompletionResult]::new('executions', 'executions', [CompletionResultType]::ParameterValue, 'The latest executions (newest first)')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'One screen: latest executions, open gaps and today''s metrics')
            [CompletionResult]::new('health', 'health', [CompletionResultType]::ParameterValue, 'Monitoring-plugins check (Nagios, Icinga): exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN')
            [CompletionResult]::new('alerts', 'alerts', [CompletionResultType]::ParameterValue, 'Recent alerts; `alerts check` evaluates and sends the transitions now')
            [CompletionResult]::new('purge', 'purge', [CompletionResultType]::ParameterValue, 'Delete old executions (never those gap detection still needs)')
            [CompletionResult]::new('unstick', 'unstick', [CompletionResultType]::ParameterValue, 'Close executions left `en_proceso` by a process that is gone')
            [CompletionResult]::new('stores', 'stores', [CompletionResultType]::ParameterValue, 'List the configured stores')
            [CompletionResult]::new('db', 'db', [CompletionResultType]::ParameterValue, 'Database schema: migrate, info')
            [CompletionResult]::new('demo', 'demo', [CompletionResultType]::ParameterValue, 'Run the main job end to end against a simulated KLK API with scripted faults')
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Web status page, HTTP API, /health and /metrics (see docs/serve.md)')
            [CompletionResult]::new('sim', 'sim', [CompletionResultType]::ParameterValue, 'Serve a simulated KLK POS API on 127.0.0.1 (for tests and demos)')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script (or the man page)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'klk-etl;help;run' {
            break
        }
        'klk-etl;help;recover' {
            break
        }
        'klk-etl;help;verify' {
            break
        }
        'klk-etl;help;vanished' {
            break
        }
        'klk-etl;help;gaps' {
            break
        }
        'klk-etl;help;metrics' {
            break
        }
        'klk-etl;help;executions' {
            break
        }
        'klk-etl;help;status' {
            break
        }
        'klk-etl;help;health' {
            break
        }
        'klk-etl;help;alerts' {
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Evaluate problems now and send the transitions (every `run` does this too; schedule it separately to catch a cron that stopped)')
            [CompletionResult]::new('test', 'test', [CompletionResultType]::ParameterValue, 'Send a test message on every configured channel now (or only --channel), and say which ones work: nothing is recorded (exit 5 when one fails)')
            break
        }
        'klk-etl;help;alerts;check' {
            break
        }
        'klk-etl;help;alerts;test' {
            break
        }
        'klk-etl;help;purge' {
            break
        }
        'klk-etl;help;unstick' {
            break
        }
        'klk-etl;help;stores' {
            break
        }
        'klk-etl;help;db' {
            [CompletionResult]::new('migrate', 'migrate', [CompletionResultType]::ParameterValue, 'Create or upgrade the schema (also done on first use by every command)')
            [CompletionResult]::new('info', 'info', [CompletionResultType]::ParameterValue, 'Schema version, migrations applied, row counts')
            [CompletionResult]::new('copy', 'copy', [CompletionResultType]::ParameterValue, 'Copy the whole history from one database to another (DuckDB file or postgres:// URL, either direction), verified, in one transaction')
            break
        }
        'klk-etl;help;db;migrate' {
            break
        }
        'klk-etl;help;db;info' {
            break
        }
        'klk-etl;help;db;copy' {
            break
        }
        'klk-etl;help;demo' {
            break
        }
        'klk-etl;help;serve' {
            break
        }
        'klk-etl;help;sim' {
            break
        }
        'klk-etl;help;completions' {
            break
        }
        'klk-etl;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
