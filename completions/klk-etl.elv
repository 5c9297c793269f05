
use builtin;
use str;

set edit:completion:arg-completer[klk-etl] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'klk-etl'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'klk-etl'= {
            cand --config 'Configuration file [default: ./klk-etl.toml if present]'
            cand --db 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)'
            cand --database 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)'
            cand --format 'Output format for data on stdout'
            cand --color 'When to colour tables (NO_COLOR is honoured by `auto`)'
            cand --lock-timeout 'How long to wait for another process holding the database [default: config, 30s]'
            cand --now 'Pin "now" (RFC 3339, e.g. 2025-11-24T16:00:00Z): for tests and reproducible reports'
            cand -q 'Print only data and errors (no notes on stderr)'
            cand --quiet 'Print only data and errors (no notes on stderr)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand run 'The cron entry point: unstick, recover gaps (bounded), fetch every store''s new windows, verify closed days'
            cand recover 'Recover gaps now (all or filtered), or fetch one explicit window again'
            cand verify 'Re-pull closed days whole now: those not verified yet, or explicit days'
            cand vanished 'Lines a re-pull no longer found (kept in ventas); --delete removes them'
            cand gaps 'List the gaps: windows that should hold data and are not covered by a success'
            cand metrics 'Reliability per store and day: runs, success rate, durations, rows loaded'
            cand executions 'The latest executions (newest first)'
            cand status 'One screen: latest executions, open gaps and today''s metrics'
            cand health 'Monitoring-plugins check (Nagios, Icinga): exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN'
            cand alerts 'Recent alerts; `alerts check` evaluates and sends the transitions now'
            cand purge 'Delete old executions (never those gap detection still needs)'
            cand unstick 'Close executions left `en_proceso` by a process that is gone'
            cand stores 'List the configured stores'
            cand db 'Database schema: migrate, info'
            cand demo 'Run the main job end to end against a simulated KLK API with scripted faults'
            cand serve 'Web status page, HTTP API, /health and /metrics (see docs/serve.md)'
            cand sim 'Serve a simulated KLK POS API on 127.0.0.1 (for tests and demos)'
            cand completions 'Print a shell completion script (or the man page)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'klk-etl;run'= {
            cand --tipo 'Only this tipo [default: both]'
            cand --store 'Only these stores (repeat or separate with commas)'
            cand --date 'The day for --full: YYYY-MM-DD, `today` or `yesterday`'
            cand --from 'First day for --full'
            cand --to 'Last day for --full (included)'
            cand --jobs 'Stores fetched in parallel'
            cand --wait 'How long to wait for another run of the same tipo (DuckDB), or for a runner slot (PostgreSQL: database.max_runners), before giving up (exit 3)'
            cand --max-gaps 'Gaps to recover at most in this run'
            cand --recovery-budget 'Stop starting recoveries after this long [default: half the slot]'
            cand --settle-lag 'Leave slots that closed less than this ago for the next run'
            cand --overlap 'Fetch again this much before each store''s watermark, for lines that arrive late'
            cand --textfile 'After the run, write Prometheus metrics here atomically [default: monitoring.textfile]'
            cand --config 'Configuration file [default: ./klk-etl.toml if present]'
            cand --db 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)'
            cand --database 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)'
            cand --format 'Output format for data on stdout'
            cand --color 'When to colour tables (NO_COLOR is honoured by `auto`)'
            cand --lock-timeout 'How long to wait for another process holding the database [default: config, 30s]'
            cand --now 'Pin "now" (RFC 3339, e.g. 2025-11-24T16:00:00Z): for tests and reproducible reports'
            cand --full 'Whole days instead of the incremental windows (modo completo); with --date or --from/--to'
            cand --dry-run 'Print the plan (what would be unstuck, recovered and fetched); change nothing'
            cand --no-recover 'Do not recover gaps in this run'
            cand --no-verify 'Do not re-pull closed days in this run (see [verification] in the configuration)'
            cand -q 'Print only data and errors (no notes on stderr)'
            cand --quiet 'Print only data and errors (no notes on stderr)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'klk-etl;recover'= {
            cand --tipo 'Only this tipo [default: both]'
            cand --store 'Only these stores (repeat or separate with commas)'
            cand --since 'Only gaps that first failed at or after this: YYYY-MM-DD or a duration back from now (24h)'
            cand --limit 'Recover at most this many gaps [default: all]'
            cand --date 'Fetch one explicit day for --store, whether or not it is a gap (YYYY-MM-DD, today, yesterday)'
            cand --from 'With --date: start of the window (HH:MM)'
            cand --to 'With --date: end of the window (HH:MM, 24:00 for midnight)'
            cand --jobs 'Stores fetched in parallel'
            cand --wait 'How long to wait for another run of the same tipo (DuckDB), or for a runner slot (PostgreSQL: database.max_runners), before giving up (exit 3)'
            cand --config 'Configuration file [default: ./klk-etl.toml if present]'
            cand --db 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)'
            cand --database 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)'
            cand --format 'Output format for data on stdout'
            cand --color 'When to colour tables (NO_COLOR is honoured by `auto`)'
            cand --lock-timeout 'How long to wait for another process holding the database [default: config, 30s]'
            cand --now 'Pin "now" (RFC 3339, e.g. 2025-11-24T16:00:00Z): for tests and reproducible reports'
            cand --ignore-backoff 'Also retry windows still in their backoff after repeated failures'
            cand --dry-run 'Print the plan (what would be unstuck, recovered and fetched); change nothing'
            cand -q 'Print only data and errors (no notes on stderr)'
            cand --quiet 'Print only data and errors (no notes on stderr)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'klk-etl;verify'= {
            cand --store 'Only these stores (repeat or separate with commas)'
            cand --date 'Re-pull this closed day whole, verified or not (YYYY-MM-DD or `yesterday`)'
            cand --from 'First closed day to re-pull (with --to)'
            cand --to 'Last closed day to re-pull (with --from, included)'
            cand --limit 'Without dates: verify at most this many pending days [default: all]'
            cand --jobs 'Stores fetched in parallel'
            cand --wait 'How long to wait for another run of the same tipo (DuckDB), or for a runner slot (PostgreSQL: database.max_runners), before giving up (exit 3)'
            cand --config 'Configuration file [default: ./klk-etl.toml if present]'
            cand --db 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)'
            cand --database 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)'
            cand --format 'Output format for data on stdout'
            cand --color 'When to colour tables (NO_COLOR is honoured by `auto`)'
            cand --lock-timeout 'How long to wait for another process holding the database [default: config, 30s]'
            cand --now 'Pin "now" (RFC 3339, e.g. 2025-11-24T16:00:00Z): for tests and reproducible reports'
            cand --ignore-backoff 'Also retry days still in their backoff after repeated failed re-pulls'
            cand --dry-run 'Print the plan (what would be unstuck, recovered and fetched); change nothing'
            cand -q 'Print only data and errors (no notes on stderr)'
            cand --quiet 'Print only data and errors (no notes on stderr)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'klk-etl;vanished'= {
            cand --store 'Only these stores (repeat or separate with commas)'
            cand --from 'Only lines of days from this one (YYYY-MM-DD, today, yesterday)'
            cand --to 'Only lines of days up to this one, included'
            cand --config 'Configuration file [default: ./klk-etl.toml if present]'
            cand --db 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)'
            cand --database 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)'
            cand --format 'Output format for data on stdout'
            cand --color 'When to colour tables (NO_COLOR is honoured by `auto`)'
            cand --lock-timeout 'How long to wait for another process holding the database [default: config, 30s]'
            cand --now 'Pin "now" (RFC 3339, e.g. 2025-11-24T16:00:00Z): for tests and reproducible reports'
            cand --all 'Also list lines already deleted from ventas'
            cand --delete 'Delete the listed lines from ventas (the API no longer returns them)'
            cand --dry-run 'With --delete: show what would be deleted; change nothing'
            cand -y 'With --delete: do not ask (required when stdin is not a terminal)'
            cand --yes 'With --delete: do not ask (required when stdin is not a terminal)'
            cand -q 'Print only data and errors (no notes on stderr)'
            cand --quiet 'Print only data and errors (no notes on stderr)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'klk-etl;gaps'= {
            cand --tipo 'Only this tipo'
            cand --store 'Only these stores (repeat or separate with commas)'
            cand --max-hours 'Look-back horizon in hours [default: the configuration''s horizon, 168]'
            cand --config 'Configuration file [default: ./klk-etl.toml if present]'
            cand --db 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)'
            cand --database 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)'
            cand --format 'Output format for data on stdout'
            cand --color 'When to colour tables (NO_COLOR is honoured by `auto`)'
            cand --lock-timeout 'How long to wait for another process holding the database [default: config, 30s]'
            cand --now 'Pin "now" (RFC 3339, e.g. 2025-11-24T16:00:00Z): for tests and reproducible reports'
            cand --check 'Exit 5 when any gap exists (for monitoring)'
            cand -q 'Print only data and errors (no notes on stderr)'
            cand --quiet 'Print only data and errors (no notes on stderr)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'klk-etl;metrics'= {
            cand --days 'Days to cover, today included'
            cand --tipo 'Only this tipo'
            cand --store 'Only these stores (repeat or separate with commas)'
            cand --textfile 'Write the Prometheus metrics to this file atomically (for node_exporter''s textfile collector)'
            cand --config 'Configuration file [default: ./klk-etl.toml if present]'
            cand --db 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)'
            cand --database 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)'
            cand --format 'Output format for data on stdout'
            cand --color 'When to colour tables (NO_COLOR is honoured by `auto`)'
            cand --lock-timeout 'How long to wait for another process holding the database [default: config, 30s]'
            cand --now 'Pin "now" (RFC 3339, e.g. 2025-11-24T16:00:00Z): for tests and reproducible reports'
            cand --summary 'Only the per-store summary (CSV prints the per-day rows unless this is given)'
            cand -q 'Print only data and errors (no notes on stderr)'
            cand --quiet 'Print only data and errors (no notes on stderr)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'klk-etl;executions'= {
            cand --tipo 'Only this tipo'
            cand --store 'Only these stores (repeat or separate with commas)'
            cand --estado 'Only this estado'
            cand --limit 'How many, newest first'
            cand --config 'Configuration file [default: ./klk-etl.toml if present]'
            cand --db 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)'
            cand --database 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)'
            cand --format 'Output format for data on stdout'
            cand --color 'When to colour tables (NO_COLOR is honoured by `auto`)'
            cand --lock-timeout 'How long to wait for another process holding the database [default: config, 30s]'
            cand --now 'Pin "now" (RFC 3339, e.g. 2025-11-24T16:00:00Z): for tests and reproducible reports'
            cand -q 'Print only data and errors (no notes on stderr)'
            cand --quiet 'Print only data and errors (no notes on stderr)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'klk-etl;status'= {
            cand --limit 'How many latest executions to show'
            cand --config 'Configuration file [default: ./klk-etl.toml if present]'
            cand --db 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)'
            cand --database 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)'
            cand --format 'Output format for data on stdout'
            cand --color 'When to colour tables (NO_COLOR is honoured by `auto`)'
            cand --lock-timeout 'How long to wait for another process holding the database [default: config, 30s]'
            cand --now 'Pin "now" (RFC 3339, e.g. 2025-11-24T16:00:00Z): for tests and reproducible reports'
            cand -q 'Print only data and errors (no notes on stderr)'
            cand --quiet 'Print only data and errors (no notes on stderr)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'klk-etl;health'= {
            cand --config 'Configuration file [default: ./klk-etl.toml if present]'
            cand --db 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)'
            cand --database 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)'
            cand --format 'Output format for data on stdout'
            cand --color 'When to colour tables (NO_COLOR is honoured by `auto`)'
            cand --lock-timeout 'How long to wait for another process holding the database [default: config, 30s]'
            cand --now 'Pin "now" (RFC 3339, e.g. 2025-11-24T16:00:00Z): for tests and reproducible reports'
            cand -q 'Print only data and errors (no notes on stderr)'
            cand --quiet 'Print only data and errors (no notes on stderr)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'klk-etl;alerts'= {
            cand --limit 'How many recent alerts to list'
            cand --config 'Configuration file [default: ./klk-etl.toml if present]'
            cand --db 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)'
            cand --database 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)'
            cand --format 'Output format for data on stdout'
            cand --color 'When to colour tables (NO_COLOR is honoured by `auto`)'
            cand --lock-timeout 'How long to wait for another process holding the database [default: config, 30s]'
            cand --now 'Pin "now" (RFC 3339, e.g. 2025-11-24T16:00:00Z): for tests and reproducible reports'
            cand -q 'Print only data and errors (no notes on stderr)'
            cand --quiet 'Print only data and errors (no notes on stderr)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand check 'Evaluate problems now and send the transitions (every `run` does this too; schedule it separately to catch a cron that stopped)'
            cand test 'Send a test message on every configured channel now (or only --channel), and say which ones work: nothing is recorded (exit 5 when one fails)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'klk-etl;alerts;check'= {
            cand --config 'Configuration file [default: ./klk-etl.toml if present]'
            cand --db 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)'
            cand --database 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)'
            cand --format 'Output format for data on stdout'
            cand --color 'When to colour tables (NO_COLOR is honoured by `auto`)'
            cand --lock-timeout 'How long to wait for another process holding the database [default: config, 30s]'
            cand --now 'Pin "now" (RFC 3339, e.g. 2025-11-24T16:00:00Z): for tests and reproducible reports'
            cand --dry-run 'Show what would be sent; record and send nothing'
            cand -q 'Print only data and errors (no notes on stderr)'
            cand --quiet 'Print only data and errors (no notes on stderr)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'klk-etl;alerts;test'= {
            cand --channel 'Only this channel: webhook, slack, teams, json, email or command (repeatable)'
            cand --config 'Configuration file [default: ./klk-etl.toml if present]'
            cand --db 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)'
            cand --database 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)'
            cand --format 'Output format for data on stdout'
            cand --color 'When to colour tables (NO_COLOR is honoured by `auto`)'
            cand --lock-timeout 'How long to wait for another process holding the database [default: config, 30s]'
            cand --now 'Pin "now" (RFC 3339, e.g. 2025-11-24T16:00:00Z): for tests and reproducible reports'
            cand -q 'Print only data and errors (no notes on stderr)'
            cand --quiet 'Print only data and errors (no notes on stderr)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'klk-etl;alerts;help'= {
            cand check 'Evaluate problems now and send the transitions (every `run` does this too; schedule it separately to catch a cron that stopped)'
            cand test 'Send a test message on every configured channel now (or only --channel), and say which ones work: nothing is recorded (exit 5 when one fails)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'klk-etl;alerts;help;check'= {
        }
        &'klk-etl;alerts;help;test'= {
        }
        &'klk-etl;alerts;help;help'= {
        }
        &'klk-etl;purge'= {
            cand --older-than 'Delete executions started longer ago than this (e.g. 90d) [default: config retention]'
            cand --config 'Configuration file [default: ./klk-etl.toml if present]'
            cand --db 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)'
            cand --database 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)'
            cand --format 'Output format for data on stdout'
            cand --color 'When to colour tables (NO_COLOR is honoured by `auto`)'
            cand --lock-timeout 'How long to wait for another process holding the database [default: config, 30s]'
            cand --now 'Pin "now" (RFC 3339, e.g. 2025-11-24T16:00:00Z): for tests and reproducible reports'
            cand --dry-run 'Show what would be deleted; change nothing'
            cand -y 'Do not ask (required when stdin is not a terminal)'
            cand --yes 'Do not ask (required when stdin is not a terminal)'
            cand -q 'Print only data and errors (no notes on stderr)'
            cand --quiet 'Print only data and errors (no notes on stderr)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'klk-etl;unstick'= {
            cand --older-than 'Also close executions of other hosts (or unknown processes) older than this [default: config stuck_after, 1h]'
            cand --config 'Configuration file [default: ./klk-etl.toml if present]'
            cand --db 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)'
            cand --database 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)'
            cand --format 'Output format for data on stdout'
            cand --color 'When to colour tables (NO_COLOR is honoured by `auto`)'
            cand --lock-timeout 'How long to wait for another process holding the database [default: config, 30s]'
            cand --now 'Pin "now" (RFC 3339, e.g. 2025-11-24T16:00:00Z): for tests and reproducible reports'
            cand --dry-run 'Show what would be closed; change nothing'
            cand -y 'Do not ask (required when stdin is not a terminal)'
            cand --yes 'Do not ask (required when stdin is not a terminal)'
            cand -q 'Print only data and errors (no notes on stderr)'
            cand --quiet 'Print only data and errors (no notes on stderr)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'klk-etl;stores'= {
            cand --config 'Configuration file [default: ./klk-etl.toml if present]'
            cand --db 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)'
            cand --database 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)'
            cand --format 'Output format for data on stdout'
            cand --color 'When to colour tables (NO_COLOR is honoured by `auto`)'
            cand --lock-timeout 'How long to wait for another process holding the database [default: config, 30s]'
            cand --now 'Pin "now" (RFC 3339, e.g. 2025-11-24T16:00:00Z): for tests and reproducible reports'
            cand -q 'Print only data and errors (no notes on stderr)'
            cand --quiet 'Print only data and errors (no notes on stderr)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'klk-etl;db'= {
            cand --config 'Configuration file [default: ./klk-etl.toml if present]'
            cand --db 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)'
            cand --database 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)'
            cand --format 'Output format for data on stdout'
            cand --color 'When to colour tables (NO_COLOR is honoured by `auto`)'
            cand --lock-timeout 'How long to wait for another process holding the database [default: config, 30s]'
            cand --now 'Pin "now" (RFC 3339, e.g. 2025-11-24T16:00:00Z): for tests and reproducible reports'
            cand -q 'Print only data and errors (no notes on stderr)'
            cand --quiet 'Print only data and errors (no notes on stderr)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand migrate 'Create or upgrade the schema (also done on first use by every command)'
            cand info 'Schema version, migrations applied, row counts'
            cand copy 'Copy the whole history from one database to another (DuckDB file or postgres:// URL, either direction), verified, in one transaction'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'klk-etl;db;migrate'= {
            cand --config 'Configuration file [default: ./klk-etl.toml if present]'
            cand --db 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)'
            cand --database 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)'
            cand --format 'Output format for data on stdout'
            cand --color 'When to colour tables (NO_COLOR is honoured by `auto`)'
            cand --lock-timeout 'How long to wait for another process holding the database [default: config, 30s]'
            cand --now 'Pin "now" (RFC 3339, e.g. 2025-11-24T16:00:00Z): for tests and reproducible reports'
            cand -q 'Print only data and errors (no notes on stderr)'
            cand --quiet 'Print only data and errors (no notes on stderr)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'klk-etl;db;info'= {
            cand --config 'Configuration file [default: ./klk-etl.toml if present]'
            cand --db 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)'
            cand --database 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)'
            cand --format 'Output format for data on stdout'
            cand --color 'When to colour tables (NO_COLOR is honoured by `auto`)'
            cand --lock-timeout 'How long to wait for another process holding the database [default: config, 30s]'
            cand --now 'Pin "now" (RFC 3339, e.g. 2025-11-24T16:00:00Z): for tests and reproducible reports'
            cand -q 'Print only data and errors (no notes on stderr)'
            cand --quiet 'Print only data and errors (no notes on stderr)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'klk-etl;db;copy'= {
            cand --from 'The database to copy from (a DuckDB file or a postgres:// URL); it is only read'
            cand --to 'The database to copy into (created and migrated when needed)'
            cand --config 'Configuration file [default: ./klk-etl.toml if present]'
            cand --db 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)'
            cand --database 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)'
            cand --format 'Output format for data on stdout'
            cand --color 'When to colour tables (NO_COLOR is honoured by `auto`)'
            cand --lock-timeout 'How long to wait for another process holding the database [default: config, 30s]'
            cand --now 'Pin "now" (RFC 3339, e.g. 2025-11-24T16:00:00Z): for tests and reproducible reports'
            cand --replace 'Replace the history the destination already holds (otherwise it must be empty)'
            cand -q 'Print only data and errors (no notes on stderr)'
            cand --quiet 'Print only data and errors (no notes on stderr)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'klk-etl;db;help'= {
            cand migrate 'Create or upgrade the schema (also done on first use by every command)'
            cand info 'Schema version, migrations applied, row counts'
            cand copy 'Copy the whole history from one database to another (DuckDB file or postgres:// URL, either direction), verified, in one transaction'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'klk-etl;db;help;migrate'= {
        }
        &'klk-etl;db;help;info'= {
        }
        &'klk-etl;db;help;copy'= {
        }
        &'klk-etl;db;help;help'= {
        }
        &'klk-etl;demo'= {
            cand --database 'The demo''s database, a DuckDB file or a postgres:// URL (recreated: an existing file, or klk-etl''s tables on the server, are replaced only if an earlier demo made them)'
            cand --day 'The simulated day'
            cand --seed 'Seed of the simulated sales'
            cand --config 'Configuration file [default: ./klk-etl.toml if present]'
            cand --db 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)'
            cand --database 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)'
            cand --format 'Output format for data on stdout'
            cand --color 'When to colour tables (NO_COLOR is honoured by `auto`)'
            cand --lock-timeout 'How long to wait for another process holding the database [default: config, 30s]'
            cand --now 'Pin "now" (RFC 3339, e.g. 2025-11-24T16:00:00Z): for tests and reproducible reports'
            cand --force 'Replace --database (or empty klk-etl''s tables there) even if it is not an earlier demo''s'
            cand -q 'Print only data and errors (no notes on stderr)'
            cand --quiet 'Print only data and errors (no notes on stderr)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'klk-etl;serve'= {
            cand --listen 'Address and port to listen on [default: [serve] listen, 127.0.0.1:8080]; port 0 picks a free one'
            cand --config 'Configuration file [default: ./klk-etl.toml if present]'
            cand --db 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)'
            cand --database 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)'
            cand --format 'Output format for data on stdout'
            cand --color 'When to colour tables (NO_COLOR is honoured by `auto`)'
            cand --lock-timeout 'How long to wait for another process holding the database [default: config, 30s]'
            cand --now 'Pin "now" (RFC 3339, e.g. 2025-11-24T16:00:00Z): for tests and reproducible reports'
            cand -q 'Print only data and errors (no notes on stderr)'
            cand --quiet 'Print only data and errors (no notes on stderr)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'klk-etl;sim'= {
            cand --port 'Port on 127.0.0.1 (0 picks a free one)'
            cand --seed 'Seed of the synthetic data [default: 1]'
            cand --lines-per-hour 'Average sales lines per store per hour [default: 120]'
            cand --articles 'Articles in every warehouse''s master [default: 4000]'
            cand --store-volume 'Sales volume multiplier of one store, e.g. SUC001=10 (repeatable)'
            cand --bounds 'How /ventas reads hora_desde/hora_hasta [default: half-open]'
            cand --scenario 'Scenario file (.toml or .json): data settings and fault rules'
            cand --fault 'Fault rule STORE:ENDPOINT:ACTION[:REQUESTS][@WINDOW] (repeatable; after the scenario''s rules)'
            cand --config 'Configuration file [default: ./klk-etl.toml if present]'
            cand --db 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)'
            cand --database 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)'
            cand --format 'Output format for data on stdout'
            cand --color 'When to colour tables (NO_COLOR is honoured by `auto`)'
            cand --lock-timeout 'How long to wait for another process holding the database [default: config, 30s]'
            cand --now 'Pin "now" (RFC 3339, e.g. 2025-11-24T16:00:00Z): for tests and reproducible reports'
            cand --edge-lines 'Every store-day also has sales lines at exactly 00:00:00.0000000, on every 15-minute boundary, at 23:59:59.8 and at 23:59:59.9999999 (invoices EDGE-…)'
            cand -q 'Print only data and errors (no notes on stderr)'
            cand --quiet 'Print only data and errors (no notes on stderr)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'klk-etl;completions'= {
            cand --dir 'Write into this directory (as the file name the shell expects) instead of stdout'
            cand --config 'Configuration file [default: ./klk-etl.toml if present]'
            cand --db 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)'
            cand --database 'DuckDB file or postgres:// URL, overriding the configuration''s `database` (env also KLK_ETL_DATABASE)'
            cand --format 'Output format for data on stdout'
            cand --color 'When to colour tables (NO_COLOR is honoured by `auto`)'
            cand --lock-timeout 'How long to wait for another process holding the database [default: config, 30s]'
            cand --now 'Pin "now" (RFC 3339, e.g. 2025-11-24T16:00:00Z): for tests and reproducible reports'
            cand -q 'Print only data and errors (no notes on stderr)'
            cand --quiet 'Print only data and errors (no notes on stderr)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'klk-etl;help'= {
            cand run 'The cron entry point: unstick, recover gaps (bounded), fetch every store''s new windows, verify closed days'
            cand recover 'Recover gaps now (all or filtered), or fetch one explicit window again'
            cand verify 'Re-pull closed days whole now: those not verified yet, or explicit days'
            cand vanished 'Lines a re-pull no longer found (kept in ventas); --delete removes them'
            cand gaps 'List the gaps: windows that should hold data and are not covered by a success'
            cand metrics 'Reliability per store and day: runs, success rate, durations, rows loaded'
            cand executions 'The latest executions (newest first)'
            cand status 'One screen: latest executions, open gaps and today''s metrics'
            cand health 'Monitoring-plugins check (Nagios, Icinga): exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN'
            cand alerts 'Recent alerts; `alerts check` evaluates and sends the transitions now'
            cand purge 'Delete old executions (never those gap detection still needs)'
            cand unstick 'Close executions left `en_proceso` by a process that is gone'
            cand stores 'List the configured stores'
            cand db 'Database schema: migrate, info'
            cand demo 'Run the main job end to end against a simulated KLK API with scripted faults'
            cand serve 'Web status page, HTTP API, /health and /metrics (see docs/serve.md)'
            cand sim 'Serve a simulated KLK POS API on 127.0.0.1 (for tests and demos)'
            cand completions 'Print a shell completion script (or the man page)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'klk-etl;help;run'= {
        }
        &'klk-etl;help;recover'= {
        }
        &'klk-etl;help;verify'= {
        }
        &'klk-etl;help;vanished'= {
        }
        &'klk-etl;help;gaps'= {
        }
        &'klk-etl;help;metrics'= {
        }
        &'klk-etl;help;executions'= {
        }
        &'klk-etl;help;status'= {
        }
        &'klk-etl;help;health'= {
        }
        &'klk-etl;help;alerts'= {
            cand check 'Evaluate problems now and send the transitions (every `run` does this too; schedule it separately to catch a cron that stopped)'
            cand test 'Send a test message on every configured channel now (or only --channel), and say which ones work: nothing is recorded (exit 5 when one fails)'
        }
        &'klk-etl;help;alerts;check'= {
        }
        &'klk-etl;help;alerts;test'= {
        }
        &'klk-etl;help;purge'= {
        }
        &'klk-etl;help;unstick'= {
        }
        &'klk-etl;help;stores'= {
        }
        &'klk-etl;help;db'= {
            cand migrate 'Create or upgrade the schema (also done on first use by every command)'
            cand info 'Schema version, migrations applied, row counts'
            cand copy 'Copy the whole history from one database to another (DuckDB file or postgres:// URL, either direction), verified, in one transaction'
        }
        &'klk-etl;help;db;migrate'= {
        }
        &'klk-etl;help;db;info'= {
        }
        &'klk-etl;help;db;copy'= {
        }
        &'klk-etl;help;demo'= {
        }
        &'klk-etl;help;serve'= {
        }
        &'klk-etl;help;sim'= {
        }
        &'klk-etl;help;completions'= {
        }
        &'klk-etl;help;help'= {
        }
    ]
    $completions[$command]
}
