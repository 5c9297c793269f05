# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_klk_etl_global_optspecs
    string join \n config= db= format= color= q/quiet lock-timeout= now= h/help V/version
end

function __fish_klk_etl_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_klk_etl_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_klk_etl_using_subcommand
    set -l cmd (__fish_klk_etl_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c klk-etl -n "__fish_klk_etl_needs_command" -l config -d 'Configuration file [default: ./klk-etl.toml if present]' -r -F
complete -c klk-etl -n "__fish_klk_etl_needs_command" -l db -l database -d 'DuckDB file or postgres:// URL, overriding the configuration\'s `database` (env also KLK_ETL_DATABASE)' -r -F
complete -c klk-etl -n "__fish_klk_etl_needs_command" -l format -d 'Output format for data on stdout' -r -f -a "table\t''
json\t''
csv\t''
prometheus\t'Prometheus text exposition (`metrics` only)'"
complete -c klk-etl -n "__fish_klk_etl_needs_command" -l color -d 'When to colour tables (NO_COLOR is honoured by `auto`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c klk-etl -n "__fish_klk_etl_needs_command" -l lock-timeout -d 'How long to wait for another process holding the database [default: config, 30s]' -r
complete -c klk-etl -n "__fish_klk_etl_needs_command" -l now -d 'Pin "now" (RFC 3339, e.g. 2025-11-24T16:00:00Z): for tests and reproducible reports' -r
complete -c klk-etl -n "__fish_klk_etl_needs_command" -s q -l quiet -d 'Print only data and errors (no notes on stderr)'
complete -c klk-etl -n "__fish_klk_etl_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c klk-etl -n "__fish_klk_etl_needs_command" -s V -l version -d 'Print version'
complete -c klk-etl -n "__fish_klk_etl_needs_command" -f -a "run" -d 'The cron entry point: unstick, recover gaps (bounded), fetch every store\'s new windows, verify closed days'
complete -c klk-etl -n "__fish_klk_etl_needs_command" -f -a "recover" -d 'Recover gaps now (all or filtered), or fetch one explicit window again'
complete -c klk-etl -n "__fish_klk_etl_needs_command" -f -a "verify" -d 'Re-pull closed days whole now: those not verified yet, or explicit days'
complete -c klk-etl -n "__fish_klk_etl_needs_command" -f -a "vanished" -d 'Lines a re-pull no longer found (kept in ventas); --delete removes them'
complete -c klk-etl -n "__fish_klk_etl_needs_command" -f -a "gaps" -d 'List the gaps: windows that should hold data and are not covered by a success'
complete -c klk-etl -n "__fish_klk_etl_needs_command" -f -a "metrics" -d 'Reliability per store and day: runs, success rate, durations, rows loaded'
complete -c klk-etl -n "__fish_klk_etl_needs_command" -f -a "executions" -d 'The latest executions (newest first)'
complete -c klk-etl -n "__fish_klk_etl_needs_command" -f -a "status" -d 'One screen: latest executions, open gaps and today\'s metrics'
complete -c klk-etl -n "__fish_klk_etl_needs_command" -f -a "health" -d 'Monitoring-plugins check (Nagios, Icinga): exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN'
complete -c klk-etl -n "__fish_klk_etl_needs_command" -f -a "alerts" -d 'Recent alerts; `alerts check` evaluates and sends the transitions now'
complete -c klk-etl -n "__fish_klk_etl_needs_command" -f -a "purge" -d 'Delete old executions (never those gap detection still needs)'
complete -c klk-etl -n "__fish_klk_etl_needs_command" -f -a "unstick" -d 'Close executions left `en_proceso` by a process that is gone'
complete -c klk-etl -n "__fish_klk_etl_needs_command" -f -a "stores" -d 'List the configured stores'
complete -c klk-etl -n "__fish_klk_etl_needs_command" -f -a "db" -d 'Database schema: migrate, info'
complete -c klk-etl -n "__fish_klk_etl_needs_command" -f -a "demo" -d 'Run the main job end to end against a simulated KLK API with scripted faults'
complete -c klk-etl -n "__fish_klk_etl_needs_command" -f -a "serve" -d 'Web status page, HTTP API, /health and /metrics (see docs/serve.md)'
complete -c klk-etl -n "__fish_klk_etl_needs_command" -f -a "sim" -d 'Serve a simulated KLK POS API on 127.0.0.1 (for tests and demos)'
complete -c klk-etl -n "__fish_klk_etl_needs_command" -f -a "completions" -d 'Print a shell completion script (or the man page)'
complete -c klk-etl -n "__fish_klk_etl_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand run" -l tipo -d 'Only this tipo [default: both]' -r -f -a "ventas\t''
inventario\t''"
complete -c klk-etl -n "__fish_klk_etl_using_subcommand run" -l store -d 'Only these stores (repeat or separate with commas)' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand run" -l date -d 'The day for --full: YYYY-MM-DD, `today` or `yesterday`' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand run" -l from -d 'First day for --full' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand run" -l to -d 'Last day for --full (included)' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand run" -l jobs -d 'Stores fetched in parallel' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand run" -l wait -d 'How long to wait for another run of the same tipo (DuckDB), or for a runner slot (PostgreSQL: database.max_runners), before giving up (exit 3)' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand run" -l max-gaps -d 'Gaps to recover at most in this run' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand run" -l recovery-budget -d 'Stop starting recoveries after this long [default: half the slot]' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand run" -l settle-lag -d 'Leave slots that closed less than this ago for the next run' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand run" -l overlap -d 'Fetch again this much before each store\'s watermark, for lines that arrive late' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand run" -l textfile -d 'After the run, write Prometheus metrics here atomically [default: monitoring.textfile]' -r -F
complete -c klk-etl -n "__fish_klk_etl_using_subcommand run" -l config -d 'Configuration file [default: ./klk-etl.toml if present]' -r -F
complete -c klk-etl -n "__fish_klk_etl_using_subcommand run" -l db -l database -d 'DuckDB file or postgres:// URL, overriding the configuration\'s `database` (env also KLK_ETL_DATABASE)' -r -F
complete -c klk-etl -n "__fish_klk_etl_using_subcommand run" -l format -d 'Output format for data on stdout' -r -f -a "table\t''
json\t''
csv\t''
prometheus\t'Prometheus text exposition (`metrics` only)'"
complete -c klk-etl -n "__fish_klk_etl_using_subcommand run" -l color -d 'When to colour tables (NO_COLOR is honoured by `auto`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c klk-etl -n "__fish_klk_etl_using_subcommand run" -l lock-timeout -d 'How long to wait for another process holding the database [default: config, 30s]' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand run" -l now -d 'Pin "now" (RFC 3339, e.g. 2025-11-24T16:00:00Z): for tests and reproducible reports' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand run" -l full -d 'Whole days instead of the incremental windows (modo completo); with --date or --from/--to'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand run" -l dry-run -d 'Print the plan (what would be unstuck, recovered and fetched); change nothing'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand run" -l no-recover -d 'Do not recover gaps in this run'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand run" -l no-verify -d 'Do not re-pull closed days in this run (see [verification] in the configuration)'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand run" -s q -l quiet -d 'Print only data and errors (no notes on stderr)'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand run" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand run" -s V -l version -d 'Print version'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand recover" -l tipo -d 'Only this tipo [default: both]' -r -f -a "ventas\t''
inventario\t''"
complete -c klk-etl -n "__fish_klk_etl_using_subcommand recover" -l store -d 'Only these stores (repeat or separate with commas)' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand recover" -l since -d 'Only gaps that first failed at or after this: YYYY-MM-DD or a duration back from now (24h)' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand recover" -l limit -d 'Recover at most this many gaps [default: all]' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand recover" -l date -d 'Fetch one explicit day for --store, whether or not it is a gap (YYYY-MM-DD, today, yesterday)' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand recover" -l from -d 'With --date: start of the window (HH:MM)' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand recover" -l to -d 'With --date: end of the window (HH:MM, 24:00 for midnight)' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand recover" -l jobs -d 'Stores fetched in parallel' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand recover" -l wait -d 'How long to wait for another run of the same tipo (DuckDB), or for a runner slot (PostgreSQL: database.max_runners), before giving up (exit 3)' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand recover" -l config -d 'Configuration file [default: ./klk-etl.toml if present]' -r -F
complete -c klk-etl -n "__fish_klk_etl_using_subcommand recover" -l db -l database -d 'DuckDB file or postgres:// URL, overriding the configuration\'s `database` (env also KLK_ETL_DATABASE)' -r -F
complete -c klk-etl -n "__fish_klk_etl_using_subcommand recover" -l format -d 'Output format for data on stdout' -r -f -a "table\t''
json\t''
csv\t''
prometheus\t'Prometheus text exposition (`metrics` only)'"
complete -c klk-etl -n "__fish_klk_etl_using_subcommand recover" -l color -d 'When to colour tables (NO_COLOR is honoured by `auto`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c klk-etl -n "__fish_klk_etl_using_subcommand recover" -l lock-timeout -d 'How long to wait for another process holding the database [default: config, 30s]' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand recover" -l now -d 'Pin "now" (RFC 3339, e.g. 2025-11-24T16:00:00Z): for tests and reproducible reports' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand recover" -l ignore-backoff -d 'Also retry windows still in their backoff after repeated failures'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand recover" -l dry-run -d 'Print the plan (what would be unstuck, recovered and fetched); change nothing'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand recover" -s q -l quiet -d 'Print only data and errors (no notes on stderr)'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand recover" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand recover" -s V -l version -d 'Print version'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand verify" -l store -d 'Only these stores (repeat or separate with commas)' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand verify" -l date -d 'Re-pull this closed day whole, verified or not (YYYY-MM-DD or `yesterday`)' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand verify" -l from -d 'First closed day to re-pull (with --to)' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand verify" -l to -d 'Last closed day to re-pull (with --from, included)' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand verify" -l limit -d 'Without dates: verify at most this many pending days [default: all]' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand verify" -l jobs -d 'Stores fetched in parallel' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand verify" -l wait -d 'How long to wait for another run of the same tipo (DuckDB), or for a runner slot (PostgreSQL: database.max_runners), before giving up (exit 3)' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand verify" -l config -d 'Configuration file [default: ./klk-etl.toml if present]' -r -F
complete -c klk-etl -n "__fish_klk_etl_using_subcommand verify" -l db -l database -d 'DuckDB file or postgres:// URL, overriding the configuration\'s `database` (env also KLK_ETL_DATABASE)' -r -F
complete -c klk-etl -n "__fish_klk_etl_using_subcommand verify" -l format -d 'Output format for data on stdout' -r -f -a "table\t''
json\t''
csv\t''
prometheus\t'Prometheus text exposition (`metrics` only)'"
complete -c klk-etl -n "__fish_klk_etl_using_subcommand verify" -l color -d 'When to colour tables (NO_COLOR is honoured by `auto`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c klk-etl -n "__fish_klk_etl_using_subcommand verify" -l lock-timeout -d 'How long to wait for another process holding the database [default: config, 30s]' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand verify" -l now -d 'Pin "now" (RFC 3339, e.g. 2025-11-24T16:00:00Z): for tests and reproducible reports' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand verify" -l ignore-backoff -d 'Also retry days still in their backoff after repeated failed re-pulls'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand verify" -l dry-run -d 'Print the plan (what would be unstuck, recovered and fetched); change nothing'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand verify" -s q -l quiet -d 'Print only data and errors (no notes on stderr)'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand verify" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand verify" -s V -l version -d 'Print version'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand vanished" -l store -d 'Only these stores (repeat or separate with commas)' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand vanished" -l from -d 'Only lines of days from this one (YYYY-MM-DD, today, yesterday)' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand vanished" -l to -d 'Only lines of days up to this one, included' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand vanished" -l config -d 'Configuration file [default: ./klk-etl.toml if present]' -r -F
complete -c klk-etl -n "__fish_klk_etl_using_subcommand vanished" -l db -l database -d 'DuckDB file or postgres:// URL, overriding the configuration\'s `database` (env also KLK_ETL_DATABASE)' -r -F
complete -c klk-etl -n "__fish_klk_etl_using_subcommand vanished" -l format -d 'Output format for data on stdout' -r -f -a "table\t''
json\t''
csv\t''
prometheus\t'Prometheus text exposition (`metrics` only)'"
complete -c klk-etl -n "__fish_klk_etl_using_subcommand vanished" -l color -d 'When to colour tables (NO_COLOR is honoured by `auto`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c klk-etl -n "__fish_klk_etl_using_subcommand vanished" -l lock-timeout -d 'How long to wait for another process holding the database [default: config, 30s]' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand vanished" -l now -d 'Pin "now" (RFC 3339, e.g. 2025-11-24T16:00:00Z): for tests and reproducible reports' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand vanished" -l all -d 'Also list lines already deleted from ventas'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand vanished" -l delete -d 'Delete the listed lines from ventas (the API no longer returns them)'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand vanished" -l dry-run -d 'With --delete: show what would be deleted; change nothing'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand vanished" -s y -l yes -d 'With --delete: do not ask (required when stdin is not a terminal)'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand vanished" -s q -l quiet -d 'Print only data and errors (no notes on stderr)'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand vanished" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand vanished" -s V -l version -d 'Print version'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand gaps" -l tipo -d 'Only this tipo' -r -f -a "ventas\t''
inventario\t''"
complete -c klk-etl -n "__fish_klk_etl_using_subcommand gaps" -l store -d 'Only these stores (repeat or separate with commas)' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand gaps" -l max-hours -d 'Look-back horizon in hours [default: the configuration\'s horizon, 168]' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand gaps" -l config -d 'Configuration file [default: ./klk-etl.toml if present]' -r -F
complete -c klk-etl -n "__fish_klk_etl_using_subcommand gaps" -l db -l database -d 'DuckDB file or postgres:// URL, overriding the configuration\'s `database` (env also KLK_ETL_DATABASE)' -r -F
complete -c klk-etl -n "__fish_klk_etl_using_subcommand gaps" -l format -d 'Output format for data on stdout' -r -f -a "table\t''
json\t''
csv\t''
prometheus\t'Prometheus text exposition (`metrics` only)'"
complete -c klk-etl -n "__fish_klk_etl_using_subcommand gaps" -l color -d 'When to colour tables (NO_COLOR is honoured by `auto`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c klk-etl -n "__fish_klk_etl_using_subcommand gaps" -l lock-timeout -d 'How long to wait for another process holding the database [default: config, 30s]' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand gaps" -l now -d 'Pin "now" (RFC 3339, e.g. 2025-11-24T16:00:00Z): for tests and reproducible reports' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand gaps" -l check -d 'Exit 5 when any gap exists (for monitoring)'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand gaps" -s q -l quiet -d 'Print only data and errors (no notes on stderr)'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand gaps" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand gaps" -s V -l version -d 'Print version'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand metrics" -l days -d 'Days to cover, today included' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand metrics" -l tipo -d 'Only this tipo' -r -f -a "ventas\t''
inventario\t''"
complete -c klk-etl -n "__fish_klk_etl_using_subcommand metrics" -l store -d 'Only these stores (repeat or separate with commas)' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand metrics" -l textfile -d 'Write the Prometheus metrics to this file atomically (for node_exporter\'s textfile collector)' -r -F
complete -c klk-etl -n "__fish_klk_etl_using_subcommand metrics" -l config -d 'Configuration file [default: ./klk-etl.toml if present]' -r -F
complete -c klk-etl -n "__fish_klk_etl_using_subcommand metrics" -l db -l database -d 'DuckDB file or postgres:// URL, overriding the configuration\'s `database` (env also KLK_ETL_DATABASE)' -r -F
complete -c klk-etl -n "__fish_klk_etl_using_subcommand metrics" -l format -d 'Output format for data on stdout' -r -f -a "table\t''
json\t''
csv\t''
prometheus\t'Prometheus text exposition (`metrics` only)'"
complete -c klk-etl -n "__fish_klk_etl_using_subcommand metrics" -l color -d 'When to colour tables (NO_COLOR is honoured by `auto`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c klk-etl -n "__fish_klk_etl_using_subcommand metrics" -l lock-timeout -d 'How long to wait for another process holding the database [default: config, 30s]' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand metrics" -l now -d 'Pin "now" (RFC 3339, e.g. 2025-11-24T16:00:00Z): for tests and reproducible reports' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand metrics" -l summary -d 'Only the per-store summary (CSV prints the per-day rows unless this is given)'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand metrics" -s q -l quiet -d 'Print only data and errors (no notes on stderr)'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand metrics" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand metrics" -s V -l version -d 'Print version'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand executions" -l tipo -d 'Only this tipo' -r -f -a "ventas\t''
inventario\t''"
complete -c klk-etl -n "__fish_klk_etl_using_subcommand executions" -l store -d 'Only these stores (repeat or separate with commas)' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand executions" -l estado -d 'Only this estado' -r -f -a "en_proceso\t''
exitoso\t''
fallido\t''
parcial\t''"
complete -c klk-etl -n "__fish_klk_etl_using_subcommand executions" -l limit -d 'How many, newest first' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand executions" -l config -d 'Configuration file [default: ./klk-etl.toml if present]' -r -F
complete -c klk-etl -n "__fish_klk_etl_using_subcommand executions" -l db -l database -d 'DuckDB file or postgres:// URL, overriding the configuration\'s `database` (env also KLK_ETL_DATABASE)' -r -F
complete -c klk-etl -n "__fish_klk_etl_using_subcommand executions" -l format -d 'Output format for data on stdout' -r -f -a "table\t''
json\t''
csv\t''
prometheus\t'Prometheus text exposition (`metrics` only)'"
complete -c klk-etl -n "__fish_klk_etl_using_subcommand executions" -l color -d 'When to colour tables (NO_COLOR is honoured by `auto`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c klk-etl -n "__fish_klk_etl_using_subcommand executions" -l lock-timeout -d 'How long to wait for another process holding the database [default: config, 30s]' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand executions" -l now -d 'Pin "now" (RFC 3339, e.g. 2025-11-24T16:00:00Z): for tests and reproducible reports' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand executions" -s q -l quiet -d 'Print only data and errors (no notes on stderr)'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand executions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand executions" -s V -l version -d 'Print version'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand status" -l limit -d 'How many latest executions to show' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand status" -l config -d 'Configuration file [default: ./klk-etl.toml if present]' -r -F
complete -c klk-etl -n "__fish_klk_etl_using_subcommand status" -l db -l database -d 'DuckDB file or postgres:// URL, overriding the configuration\'s `database` (env also KLK_ETL_DATABASE)' -r -F
complete -c klk-etl -n "__fish_klk_etl_using_subcommand status" -l format -d 'Output format for data on stdout' -r -f -a "table\t''
json\t''
csv\t''
prometheus\t'Prometheus text exposition (`metrics` only)'"
complete -c klk-etl -n "__fish_klk_etl_using_subcommand status" -l color -d 'When to colour tables (NO_COLOR is honoured by `auto`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c klk-etl -n "__fish_klk_etl_using_subcommand status" -l lock-timeout -d 'How long to wait for another process holding the database [default: config, 30s]' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand status" -l now -d 'Pin "now" (RFC 3339, e.g. 2025-11-24T16:00:00Z): for tests and reproducible reports' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand status" -s q -l quiet -d 'Print only data and errors (no notes on stderr)'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand status" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand status" -s V -l version -d 'Print version'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand health" -l config -d 'Configuration file [default: ./klk-etl.toml if present]' -r -F
complete -c klk-etl -n "__fish_klk_etl_using_subcommand health" -l db -l database -d 'DuckDB file or postgres:// URL, overriding the configuration\'s `database` (env also KLK_ETL_DATABASE)' -r -F
complete -c klk-etl -n "__fish_klk_etl_using_subcommand health" -l format -d 'Output format for data on stdout' -r -f -a "table\t''
json\t''
csv\t''
prometheus\t'Prometheus text exposition (`metrics` only)'"
complete -c klk-etl -n "__fish_klk_etl_using_subcommand health" -l color -d 'When to colour tables (NO_COLOR is honoured by `auto`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c klk-etl -n "__fish_klk_etl_using_subcommand health" -l lock-timeout -d 'How long to wait for another process holding the database [default: config, 30s]' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand health" -l now -d 'Pin "now" (RFC 3339, e.g. 2025-11-24T16:00:00Z): for tests and reproducible reports' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand health" -s q -l quiet -d 'Print only data and errors (no notes on stderr)'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand health" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand health" -s V -l version -d 'Print version'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand alerts; and not __fish_seen_subcommand_from check test help" -l limit -d 'How many recent alerts to list' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand alerts; and not __fish_seen_subcommand_from check test help" -l config -d 'Configuration file [default: ./klk-etl.toml if present]' -r -F
complete -c klk-etl -n "__fish_klk_etl_using_subcommand alerts; and not __fish_seen_subcommand_from check test help" -l db -l database -d 'DuckDB file or postgres:// URL, overriding the configuration\'s `database` (env also KLK_ETL_DATABASE)' -r -F
complete -c klk-etl -n "__fish_klk_etl_using_subcommand alerts; and not __fish_seen_subcommand_from check test help" -l format -d 'Output format for data on stdout' -r -f -a "table\t''
json\t''
csv\t''
prometheus\t'Prometheus text exposition (`metrics` only)'"
complete -c klk-etl -n "__fish_klk_etl_using_subcommand alerts; and not __fish_seen_subcommand_from check test help" -l color -d 'When to colour tables (NO_COLOR is honoured by `auto`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c klk-etl -n "__fish_klk_etl_using_subcommand alerts; and not __fish_seen_subcommand_from check test help" -l lock-timeout -d 'How long to wait for another process holding the database [default: config, 30s]' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand alerts; and not __fish_seen_subcommand_from check test help" -l now -d 'Pin "now" (RFC 3339, e.g. 2025-11-24T16:00:00Z): for tests and reproducible reports' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand alerts; and not __fish_seen_subcommand_from check test help" -s q -l quiet -d 'Print only data and errors (no notes on stderr)'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand alerts; and not __fish_seen_subcommand_from check test help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand alerts; and not __fish_seen_subcommand_from check test help" -s V -l version -d 'Print version'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand alerts; and not __fish_seen_subcommand_from check test help" -f -a "check" -d 'Evaluate problems now and send the transitions (every `run` does this too; schedule it separately to catch a cron that stopped)'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand alerts; and not __fish_seen_subcommand_from check test help" -f -a "test" -d 'Send a test message on every configured channel now (or only --channel), and say which ones work: nothing is recorded (exit 5 when one fails)'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand alerts; and not __fish_seen_subcommand_from check test help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand alerts; and __fish_seen_subcommand_from check" -l config -d 'Configuration file [default: ./klk-etl.toml if present]' -r -F
complete -c klk-etl -n "__fish_klk_etl_using_subcommand alerts; and __fish_seen_subcommand_from check" -l db -l database -d 'DuckDB file or postgres:// URL, overriding the configuration\'s `database` (env also KLK_ETL_DATABASE)' -r -F
complete -c klk-etl -n "__fish_klk_etl_using_subcommand alerts; and __fish_seen_subcommand_from check" -l format -d 'Output format for data on stdout' -r -f -a "table\t''
json\t''
csv\t''
prometheus\t'Prometheus text exposition (`metrics` only)'"
complete -c klk-etl -n "__fish_klk_etl_using_subcommand alerts; and __fish_seen_subcommand_from check" -l color -d 'When to colour tables (NO_COLOR is honoured by `auto`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c klk-etl -n "__fish_klk_etl_using_subcommand alerts; and __fish_seen_subcommand_from check" -l lock-timeout -d 'How long to wait for another process holding the database [default: config, 30s]' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand alerts; and __fish_seen_subcommand_from check" -l now -d 'Pin "now" (RFC 3339, e.g. 2025-11-24T16:00:00Z): for tests and reproducible reports' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand alerts; and __fish_seen_subcommand_from check" -l dry-run -d 'Show what would be sent; record and send nothing'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand alerts; and __fish_seen_subcommand_from check" -s q -l quiet -d 'Print only data and errors (no notes on stderr)'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand alerts; and __fish_seen_subcommand_from check" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand alerts; and __fish_seen_subcommand_from check" -s V -l version -d 'Print version'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand alerts; and __fish_seen_subcommand_from test" -l channel -d 'Only this channel: webhook, slack, teams, json, email or command (repeatable)' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand alerts; and __fish_seen_subcommand_from test" -l config -d 'Configuration file [default: ./klk-etl.toml if present]' -r -F
complete -c klk-etl -n "__fish_klk_etl_using_subcommand alerts; and __fish_seen_subcommand_from test" -l db -l database -d 'DuckDB file or postgres:// URL, overriding the configuration\'s `database` (env also KLK_ETL_DATABASE)' -r -F
complete -c klk-etl -n "__fish_klk_etl_using_subcommand alerts; and __fish_seen_subcommand_from test" -l format -d 'Output format for data on stdout' -r -f -a "table\t''
json\t''
csv\t''
prometheus\t'Prometheus text exposition (`metrics` only)'"
complete -c klk-etl -n "__fish_klk_etl_using_subcommand alerts; and __fish_seen_subcommand_from test" -l color -d 'When to colour tables (NO_COLOR is honoured by `auto`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c klk-etl -n "__fish_klk_etl_using_subcommand alerts; and __fish_seen_subcommand_from test" -l lock-timeout -d 'How long to wait for another process holding the database [default: config, 30s]' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand alerts; and __fish_seen_subcommand_from test" -l now -d 'Pin "now" (RFC 3339, e.g. 2025-11-24T16:00:00Z): for tests and reproducible reports' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand alerts; and __fish_seen_subcommand_from test" -s q -l quiet -d 'Print only data and errors (no notes on stderr)'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand alerts; and __fish_seen_subcommand_from test" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand alerts; and __fish_seen_subcommand_from test" -s V -l version -d 'Print version'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand alerts; and __fish_seen_subcommand_from help" -f -a "check" -d 'Evaluate problems now and send the transitions (every `run` does this too; schedule it separately to catch a cron that stopped)'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand alerts; and __fish_seen_subcommand_from help" -f -a "test" -d 'Send a test message on every configured channel now (or only --channel), and say which ones work: nothing is recorded (exit 5 when one fails)'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand alerts; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand purge" -l older-than -d 'Delete executions started longer ago than this (e.g. 90d) [default: config retention]' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand purge" -l config -d 'Configuration file [default: ./klk-etl.toml if present]' -r -F
complete -c klk-etl -n "__fish_klk_etl_using_subcommand purge" -l db -l database -d 'DuckDB file or postgres:// URL, overriding the configuration\'s `database` (env also KLK_ETL_DATABASE)' -r -F
complete -c klk-etl -n "__fish_klk_etl_using_subcommand purge" -l format -d 'Output format for data on stdout' -r -f -a "table\t''
json\t''
csv\t''
prometheus\t'Prometheus text exposition (`metrics` only)'"
complete -c klk-etl -n "__fish_klk_etl_using_subcommand purge" -l color -d 'When to colour tables (NO_COLOR is honoured by `auto`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c klk-etl -n "__fish_klk_etl_using_subcommand purge" -l lock-timeout -d 'How long to wait for another process holding the database [default: config, 30s]' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand purge" -l now -d 'Pin "now" (RFC 3339, e.g. 2025-11-24T16:00:00Z): for tests and reproducible reports' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand purge" -l dry-run -d 'Show what would be deleted; change nothing'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand purge" -s y -l yes -d 'Do not ask (required when stdin is not a terminal)'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand purge" -s q -l quiet -d 'Print only data and errors (no notes on stderr)'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand purge" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand purge" -s V -l version -d 'Print version'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand unstick" -l older-than -d 'Also close executions of other hosts (or unknown processes) older than this [default: config stuck_after, 1h]' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand unstick" -l config -d 'Configuration file [default: ./klk-etl.toml if present]' -r -F
complete -c klk-etl -n "__fish_klk_etl_using_subcommand unstick" -l db -l database -d 'DuckDB file or postgres:// URL, overriding the configuration\'s `database` (env also KLK_ETL_DATABASE)' -r -F
complete -c klk-etl -n "__fish_klk_etl_using_subcommand unstick" -l format -d 'Output format for data on stdout' -r -f -a "table\t''
json\t''
csv\t''
prometheus\t'Prometheus text exposition (`metrics` only)'"
complete -c klk-etl -n "__fish_klk_etl_using_subcommand unstick" -l color -d 'When to colour tables (NO_COLOR is honoured by `auto`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c klk-etl -n "__fish_klk_etl_using_subcommand unstick" -l lock-timeout -d 'How long to wait for another process holding the database [default: config, 30s]' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand unstick" -l now -d 'Pin "now" (RFC 3339, e.g. 2025-11-24T16:00:00Z): for tests and reproducible reports' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand unstick" -l dry-run -d 'Show what would be closed; change nothing'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand unstick" -s y -l yes -d 'Do not ask (required when stdin is not a terminal)'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand unstick" -s q -l quiet -d 'Print only data and errors (no notes on stderr)'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand unstick" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand unstick" -s V -l version -d 'Print version'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand stores" -l config -d 'Configuration file [default: ./klk-etl.toml if present]' -r -F
complete -c klk-etl -n "__fish_klk_etl_using_subcommand stores" -l db -l database -d 'DuckDB file or postgres:// URL, overriding the configuration\'s `database` (env also KLK_ETL_DATABASE)' -r -F
complete -c klk-etl -n "__fish_klk_etl_using_subcommand stores" -l format -d 'Output format for data on stdout' -r -f -a "table\t''
json\t''
csv\t''
prometheus\t'Prometheus text exposition (`metrics` only)'"
complete -c klk-etl -n "__fish_klk_etl_using_subcommand stores" -l color -d 'When to colour tables (NO_COLOR is honoured by `auto`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c klk-etl -n "__fish_klk_etl_using_subcommand stores" -l lock-timeout -d 'How long to wait for another process holding the database [default: config, 30s]' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand stores" -l now -d 'Pin "now" (RFC 3339, e.g. 2025-11-24T16:00:00Z): for tests and reproducible reports' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand stores" -s q -l quiet -d 'Print only data and errors (no notes on stderr)'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand stores" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand stores" -s V -l version -d 'Print version'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand db; and not __fish_seen_subcommand_from migrate info copy help" -l config -d 'Configuration file [default: ./klk-etl.toml if present]' -r -F
complete -c klk-etl -n "__fish_klk_etl_using_subcommand db; and not __fish_seen_subcommand_from migrate info copy help" -l db -l database -d 'DuckDB file or postgres:// URL, overriding the configuration\'s `database` (env also KLK_ETL_DATABASE)' -r -F
complete -c klk-etl -n "__fish_klk_etl_using_subcommand db; and not __fish_seen_subcommand_from migrate info copy help" -l format -d 'Output format for data on stdout' -r -f -a "table\t''
json\t''
csv\t''
prometheus\t'Prometheus text exposition (`metrics` only)'"
complete -c klk-etl -n "__fish_klk_etl_using_subcommand db; and not __fish_seen_subcommand_from migrate info copy help" -l color -d 'When to colour tables (NO_COLOR is honoured by `auto`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c klk-etl -n "__fish_klk_etl_using_subcommand db; and not __fish_seen_subcommand_from migrate info copy help" -l lock-timeout -d 'How long to wait for another process holding the database [default: config, 30s]' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand db; and not __fish_seen_subcommand_from migrate info copy help" -l now -d 'Pin "now" (RFC 3339, e.g. 2025-11-24T16:00:00Z): for tests and reproducible reports' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand db; and not __fish_seen_subcommand_from migrate info copy help" -s q -l quiet -d 'Print only data and errors (no notes on stderr)'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand db; and not __fish_seen_subcommand_from migrate info copy help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand db; and not __fish_seen_subcommand_from migrate info copy help" -s V -l version -d 'Print version'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand db; and not __fish_seen_subcommand_from migrate info copy help" -f -a "migrate" -d 'Create or upgrade the schema (also done on first use by every command)'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand db; and not __fish_seen_subcommand_from migrate info copy help" -f -a "info" -d 'Schema version, migrations applied, row counts'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand db; and not __fish_seen_subcommand_from migrate info copy help" -f -a "copy" -d 'Copy the whole history from one database to another (DuckDB file or postgres:// URL, either direction), verified, in one transaction'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand db; and not __fish_seen_subcommand_from migrate info copy help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand db; and __fish_seen_subcommand_from migrate" -l config -d 'Configuration file [default: ./klk-etl.toml if present]' -r -F
complete -c klk-etl -n "__fish_klk_etl_using_subcommand db; and __fish_seen_subcommand_from migrate" -l db -l database -d 'DuckDB file or postgres:// URL, overriding the configuration\'s `database` (env also KLK_ETL_DATABASE)' -r -F
complete -c klk-etl -n "__fish_klk_etl_using_subcommand db; and __fish_seen_subcommand_from migrate" -l format -d 'Output format for data on stdout' -r -f -a "table\t''
json\t''
csv\t''
prometheus\t'Prometheus text exposition (`metrics` only)'"
complete -c klk-etl -n "__fish_klk_etl_using_subcommand db; and __fish_seen_subcommand_from migrate" -l color -d 'When to colour tables (NO_COLOR is honoured by `auto`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c klk-etl -n "__fish_klk_etl_using_subcommand db; and __fish_seen_subcommand_from migrate" -l lock-timeout -d 'How long to wait for another process holding the database [default: config, 30s]' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand db; and __fish_seen_subcommand_from migrate" -l now -d 'Pin "now" (RFC 3339, e.g. 2025-11-24T16:00:00Z): for tests and reproducible reports' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand db; and __fish_seen_subcommand_from migrate" -s q -l quiet -d 'Print only data and errors (no notes on stderr)'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand db; and __fish_seen_subcommand_from migrate" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand db; and __fish_seen_subcommand_from migrate" -s V -l version -d 'Print version'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand db; and __fish_seen_subcommand_from info" -l config -d 'Configuration file [default: ./klk-etl.toml if present]' -r -F
complete -c klk-etl -n "__fish_klk_etl_using_subcommand db; and __fish_seen_subcommand_from info" -l db -l database -d 'DuckDB file or postgres:// URL, overriding the configuration\'s `database` (env also KLK_ETL_DATABASE)' -r -F
complete -c klk-etl -n "__fish_klk_etl_using_subcommand db; and __fish_seen_subcommand_from info" -l format -d 'Output format for data on stdout' -r -f -a "table\t''
json\t''
csv\t''
prometheus\t'Prometheus text exposition (`metrics` only)'"
complete -c klk-etl -n "__fish_klk_etl_using_subcommand db; and __fish_seen_subcommand_from info" -l color -d 'When to colour tables (NO_COLOR is honoured by `auto`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c klk-etl -n "__fish_klk_etl_using_subcommand db; and __fish_seen_subcommand_from info" -l lock-timeout -d 'How long to wait for another process holding the database [default: config, 30s]' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand db; and __fish_seen_subcommand_from info" -l now -d 'Pin "now" (RFC 3339, e.g. 2025-11-24T16:00:00Z): for tests and reproducible reports' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand db; and __fish_seen_subcommand_from info" -s q -l quiet -d 'Print only data and errors (no notes on stderr)'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand db; and __fish_seen_subcommand_from info" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand db; and __fish_seen_subcommand_from info" -s V -l version -d 'Print version'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand db; and __fish_seen_subcommand_from copy" -l from -d 'The database to copy from (a DuckDB file or a postgres:// URL); it is only read' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand db; and __fish_seen_subcommand_from copy" -l to -d 'The database to copy into (created and migrated when needed)' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand db; and __fish_seen_subcommand_from copy" -l config -d 'Configuration file [default: ./klk-etl.toml if present]' -r -F
complete -c klk-etl -n "__fish_klk_etl_using_subcommand db; and __fish_seen_subcommand_from copy" -l db -l database -d 'DuckDB file or postgres:// URL, overriding the configuration\'s `database` (env also KLK_ETL_DATABASE)' -r -F
complete -c klk-etl -n "__fish_klk_etl_using_subcommand db; and __fish_seen_subcommand_from copy" -l format -d 'Output format for data on stdout' -r -f -a "table\t''
json\t''
csv\t''
prometheus\t'Prometheus text exposition (`metrics` only)'"
complete -c klk-etl -n "__fish_klk_etl_using_subcommand db; and __fish_seen_subcommand_from copy" -l color -d 'When to colour tables (NO_COLOR is honoured by `auto`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c klk-etl -n "__fish_klk_etl_using_subcommand db; and __fish_seen_subcommand_from copy" -l lock-timeout -d 'How long to wait for another process holding the database [default: config, 30s]' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand db; and __fish_seen_subcommand_from copy" -l now -d 'Pin "now" (RFC 3339, e.g. 2025-11-24T16:00:00Z): for tests and reproducible reports' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand db; and __fish_seen_subcommand_from copy" -l replace -d 'Replace the history the destination already holds (otherwise it must be empty)'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand db; and __fish_seen_subcommand_from copy" -s q -l quiet -d 'Print only data and errors (no notes on stderr)'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand db; and __fish_seen_subcommand_from copy" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand db; and __fish_seen_subcommand_from copy" -s V -l version -d 'Print version'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand db; and __fish_seen_subcommand_from help" -f -a "migrate" -d 'Create or upgrade the schema (also done on first use by every command)'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand db; and __fish_seen_subcommand_from help" -f -a "info" -d 'Schema version, migrations applied, row counts'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand db; and __fish_seen_subcommand_from help" -f -a "copy" -d 'Copy the whole history from one database to another (DuckDB file or postgres:// URL, either direction), verified, in one transaction'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand db; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand demo" -l database -d 'The demo\'s database, a DuckDB file or a postgres:// URL (recreated: an existing file, or klk-etl\'s tables on the server, are replaced only if an earlier demo made them)' -r -F
complete -c klk-etl -n "__fish_klk_etl_using_subcommand demo" -l day -d 'The simulated day' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand demo" -l seed -d 'Seed of the simulated sales' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand demo" -l config -d 'Configuration file [default: ./klk-etl.toml if present]' -r -F
complete -c klk-etl -n "__fish_klk_etl_using_subcommand demo" -l db -l database -d 'DuckDB file or postgres:// URL, overriding the configuration\'s `database` (env also KLK_ETL_DATABASE)' -r -F
complete -c klk-etl -n "__fish_klk_etl_using_subcommand demo" -l format -d 'Output format for data on stdout' -r -f -a "table\t''
json\t''
csv\t''
prometheus\t'Prometheus text exposition (`metrics` only)'"
complete -c klk-etl -n "__fish_klk_etl_using_subcommand demo" -l color -d 'When to colour tables (NO_COLOR is honoured by `auto`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c klk-etl -n "__fish_klk_etl_using_subcommand demo" -l lock-timeout -d 'How long to wait for another process holding the database [default: config, 30s]' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand demo" -l now -d 'Pin "now" (RFC 3339, e.g. 2025-11-24T16:00:00Z): for tests and reproducible reports' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand demo" -l force -d 'Replace --database (or empty klk-etl\'s tables there) even if it is not an earlier demo\'s'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand demo" -s q -l quiet -d 'Print only data and errors (no notes on stderr)'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand demo" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand demo" -s V -l version -d 'Print version'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand serve" -l listen -d 'Address and port to listen on [default: [serve] listen, 127.0.0.1:8080]; port 0 picks a free one' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand serve" -l config -d 'Configuration file [default: ./klk-etl.toml if present]' -r -F
complete -c klk-etl -n "__fish_klk_etl_using_subcommand serve" -l db -l database -d 'DuckDB file or postgres:// URL, overriding the configuration\'s `database` (env also KLK_ETL_DATABASE)' -r -F
complete -c klk-etl -n "__fish_klk_etl_using_subcommand serve" -l format -d 'Output format for data on stdout' -r -f -a "table\t''
json\t''
csv\t''
prometheus\t'Prometheus text exposition (`metrics` only)'"
complete -c klk-etl -n "__fish_klk_etl_using_subcommand serve" -l color -d 'When to colour tables (NO_COLOR is honoured by `auto`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c klk-etl -n "__fish_klk_etl_using_subcommand serve" -l lock-timeout -d 'How long to wait for another process holding the database [default: config, 30s]' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand serve" -l now -d 'Pin "now" (RFC 3339, e.g. 2025-11-24T16:00:00Z): for tests and reproducible reports' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand serve" -s q -l quiet -d 'Print only data and errors (no notes on stderr)'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand serve" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand serve" -s V -l version -d 'Print version'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand sim" -l port -d 'Port on 127.0.0.1 (0 picks a free one)' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand sim" -l seed -d 'Seed of the synthetic data [default: 1]' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand sim" -l lines-per-hour -d 'Average sales lines per store per hour [default: 120]' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand sim" -l articles -d 'Articles in every warehouse\'s master [default: 4000]' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand sim" -l store-volume -d 'Sales volume multiplier of one store, e.g. SUC001=10 (repeatable)' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand sim" -l bounds -d 'How /ventas reads hora_desde/hora_hasta [default: half-open]' -r -f -a "half-open\t'[desde, hasta), 23:59:59 = end of day (default)'
between\t'desde <= hora <= hasta on full precision (SQL BETWEEN)'
exclusive-lower\t'desde < hora <= hasta on full precision'
exclusive\t'desde < hora < hasta on full precision'
truncated\t'desde <= hora truncated to the second <= hasta'
minutes\t'bounds read as HH:MM (seconds ignored), then [desde, hasta)'"
complete -c klk-etl -n "__fish_klk_etl_using_subcommand sim" -l scenario -d 'Scenario file (.toml or .json): data settings and fault rules' -r -F
complete -c klk-etl -n "__fish_klk_etl_using_subcommand sim" -l fault -d 'Fault rule STORE:ENDPOINT:ACTION[:REQUESTS][@WINDOW] (repeatable; after the scenario\'s rules)' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand sim" -l config -d 'Configuration file [default: ./klk-etl.toml if present]' -r -F
complete -c klk-etl -n "__fish_klk_etl_using_subcommand sim" -l db -l database -d 'DuckDB file or postgres:// URL, overriding the configuration\'s `database` (env also KLK_ETL_DATABASE)' -r -F
complete -c klk-etl -n "__fish_klk_etl_using_subcommand sim" -l format -d 'Output format for data on stdout' -r -f -a "table\t''
json\t''
csv\t''
prometheus\t'Prometheus text exposition (`metrics` only)'"
complete -c klk-etl -n "__fish_klk_etl_using_subcommand sim" -l color -d 'When to colour tables (NO_COLOR is honoured by `auto`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c klk-etl -n "__fish_klk_etl_using_subcommand sim" -l lock-timeout -d 'How long to wait for another process holding the database [default: config, 30s]' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand sim" -l now -d 'Pin "now" (RFC 3339, e.g. 2025-11-24T16:00:00Z): for tests and reproducible reports' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand sim" -l edge-lines -d 'Every store-day also has sales lines at exactly 00:00:00.0000000, on every 15-minute boundary, at 23:59:59.8 and at 23:59:59.9999999 (invoices EDGE-…)'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand sim" -s q -l quiet -d 'Print only data and errors (no notes on stderr)'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand sim" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand sim" -s V -l version -d 'Print version'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand completions" -l dir -d 'Write into this directory (as the file name the shell expects) instead of stdout' -r -F
complete -c klk-etl -n "__fish_klk_etl_using_subcommand completions" -l config -d 'Configuration file [default: ./klk-etl.toml if present]' -r -F
complete -c klk-etl -n "__fish_klk_etl_using_subcommand completions" -l db -l database -d 'DuckDB file or postgres:// URL, overriding the configuration\'s `database` (env also KLK_ETL_DATABASE)' -r -F
complete -c klk-etl -n "__fish_klk_etl_using_subcommand completions" -l format -d 'Output format for data on stdout' -r -f -a "table\t''
json\t''
csv\t''
prometheus\t'Prometheus text exposition (`metrics` only)'"
complete -c klk-etl -n "__fish_klk_etl_using_subcommand completions" -l color -d 'When to colour tables (NO_COLOR is honoured by `auto`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c klk-etl -n "__fish_klk_etl_using_subcommand completions" -l lock-timeout -d 'How long to wait for another process holding the database [default: config, 30s]' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand completions" -l now -d 'Pin "now" (RFC 3339, e.g. 2025-11-24T16:00:00Z): for tests and reproducible reports' -r
complete -c klk-etl -n "__fish_klk_etl_using_subcommand completions" -s q -l quiet -d 'Print only data and errors (no notes on stderr)'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand completions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand completions" -s V -l version -d 'Print version'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand help; and not __fish_seen_subcommand_from run recover verify vanished gaps metrics executions status health alerts purge unstick stores db demo serve sim completions help" -f -a "run" -d 'The cron entry point: unstick, recover gaps (bounded), fetch every store\'s new windows, verify closed days'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand help; and not __fish_seen_subcommand_from run recover verify vanished gaps metrics executions status health alerts purge unstick stores db demo serve sim completions help" -f -a "recover" -d 'Recover gaps now (all or filtered), or fetch one explicit window again'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand help; and not __fish_seen_subcommand_from run recover verify vanished gaps metrics executions status health alerts purge unstick stores db demo serve sim completions help" -f -a "verify" -d 'Re-pull closed days whole now: those not verified yet, or explicit days'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand help; and not __fish_seen_subcommand_from run recover verify vanished gaps metrics executions status health alerts purge unstick stores db demo serve sim completions help" -f -a "vanished" -d 'Lines a re-pull no longer found (kept in ventas); --delete removes them'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand help; and not __fish_seen_subcommand_from run recover verify vanished gaps metrics executions status health alerts purge unstick stores db demo serve sim completions help" -f -a "gaps" -d 'List the gaps: windows that should hold data and are not covered by a success'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand help; and not __fish_seen_subcommand_from run recover verify vanished gaps metrics executions status health alerts purge unstick stores db demo serve sim completions help" -f -a "metrics" -d 'Reliability per store and day: runs, success rate, durations, rows loaded'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand help; and not __fish_seen_subcommand_from run recover verify vanished gaps metrics executions status health alerts purge unstick stores db demo serve sim completions help" -f -a "executions" -d 'The latest executions (newest first)'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand help; and not __fish_seen_subcommand_from run recover verify vanished gaps metrics executions status health alerts purge unstick stores db demo serve sim completions help" -f -a "status" -d 'One screen: latest executions, open gaps and today\'s metrics'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand help; and not __fish_seen_subcommand_from run recover verify vanished gaps metrics executions status health alerts purge unstick stores db demo serve sim completions help" -f -a "health" -d 'Monitoring-plugins check (Nagios, Icinga): exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand help; and not __fish_seen_subcommand_from run recover verify vanished gaps metrics executions status health alerts purge unstick stores db demo serve sim completions help" -f -a "alerts" -d 'Recent alerts; `alerts check` evaluates and sends the transitions now'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand help; and not __fish_seen_subcommand_from run recover verify vanished gaps metrics executions status health alerts purge unstick stores db demo serve sim completions help" -f -a "purge" -d 'Delete old executions (never those gap detection still needs)'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand help; and not __fish_seen_subcommand_from run recover verify vanished gaps metrics executions status health alerts purge unstick stores db demo serve sim completions help" -f -a "unstick" -d 'Close executions left `en_proceso` by a process that is gone'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand help; and not __fish_seen_subcommand_from run recover verify vanished gaps metrics executions status health alerts purge unstick stores db demo serve sim completions help" -f -a "stores" -d 'List the configured stores'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand help; and not __fish_seen_subcommand_from run recover verify vanished gaps metrics executions status health alerts purge unstick stores db demo serve sim completions help" -f -a "db" -d 'Database schema: migrate, info'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand help; and not __fish_seen_subcommand_from run recover verify vanished gaps metrics executions status health alerts purge unstick stores db demo serve sim completions help" -f -a "demo" -d 'Run the main job end to end against a simulated KLK API with scripted faults'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand help; and not __fish_seen_subcommand_from run recover verify vanished gaps metrics executions status health alerts purge unstick stores db demo serve sim completions help" -f -a "serve" -d 'Web status page, HTTP API, /health and /metrics (see docs/serve.md)'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand help; and not __fish_seen_subcommand_from run recover verify vanished gaps metrics executions status health alerts purge unstick stores db demo serve sim completions help" -f -a "sim" -d 'Serve a simulated KLK POS API on 127.0.0.1 (for tests and demos)'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand help; and not __fish_seen_subcommand_from run recover verify vanished gaps metrics executions status health alerts purge unstick stores db demo serve sim completions help" -f -a "completions" -d 'Print a shell completion script (or the man page)'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand help; and not __fish_seen_subcommand_from run recover verify vanished gaps metrics executions status health alerts purge unstick stores db demo serve sim completions help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand help; and __fish_seen_subcommand_from alerts" -f -a "check" -d 'Evaluate problems now and send the transitions (every `run` does this too; schedule it separately to catch a cron that stopped)'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand help; and __fish_seen_subcommand_from alerts" -f -a "test" -d 'Send a test message on every configured channel now (or only --channel), and say which ones work: nothing is recorded (exit 5 when one fails)'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand help; and __fish_seen_subcommand_from db" -f -a "migrate" -d 'Create or upgrade the schema (also done on first use by every command)'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand help; and __fish_seen_subcommand_from db" -f -a "info" -d 'Schema version, migrations applied, row counts'
complete -c klk-etl -n "__fish_klk_etl_using_subcommand help; and __fish_seen_subcommand_from db" -f -a "copy" -d 'Copy the whole history from one database to another (DuckDB file or postgres:// URL, either direction), verified, in one transaction'
