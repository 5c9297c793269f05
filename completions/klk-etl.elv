
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
            cand --db 'DuckDB file, overriding the configuration''s `database`'
            cand --format 'Output format for data on stdout'
            cand --color 'When to colour tables (NO_COLOR is honoured by `auto`)'
            cand --lock-timeout 'How long to wait for another process holding the database [default: config, 30s]'
            cand --now 'Pin "now" (RFC 3339, e.g. 2025-11-24T16:00:00Z): for tests and reproducible reports'
            cand -q 'Print only data and errors (no notes on stderr)'
            cand --quiet 'Print only data and errors (no notes on stderr)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand gaps 'List the gaps: windows that should hold data and are not covered by a success'
            cand metrics 'Reliability per store and day: runs, success rate, durations, rows loaded'
            cand executions 'The latest executions (newest first)'
            cand status 'One screen: latest executions, open gaps and today''s metrics'
            cand purge 'Delete old executions (never those gap detection still needs)'
            cand unstick 'Close executions left `en_proceso` by a process that is gone'
            cand stores 'List the configured stores'
            cand db 'Database schema: migrate, info'
            cand completions 'Print a shell completion script (or the man page)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'klk-etl;gaps'= {
            cand --tipo 'Only this tipo'
            cand --store 'Only these stores (repeat or separate with commas)'
            cand --max-hours 'Look-back horizon in hours [default: the configuration''s horizon, 168]'
            cand --config 'Configuration file [default: ./klk-etl.toml if present]'
            cand --db 'DuckDB file, overriding the configuration''s `database`'
            cand --format 'Output format for data on stdout'
            cand --color 'When to colour tables (NO_COLOR is honoured by `auto`)'
            cand --lock-timeout 'How long to wait for another process holding the database [default: config, 30s]'
            cand --now 'Pin "now" (RFC 3339, e.g. 2025-11-24T16:00:00Z): for tests and reproducible reports'
            cand --check 'Exit 5 when any gap exists (for monitoring)'
            cand -q 'Print only data and errors (no notes on stderr)'
            cand --quiet 'Print only data and errors (no notes on stderr)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'klk-etl;metrics'= {
            cand --days 'Days to cover, today included'
            cand --tipo 'Only this tipo'
            cand --store 'Only these stores (repeat or separate with commas)'
            cand --config 'Configuration file [default: ./klk-etl.toml if present]'
            cand --db 'DuckDB file, overriding the configuration''s `database`'
            cand --format 'Output format for data on stdout'
            cand --color 'When to colour tables (NO_COLOR is honoured by `auto`)'
            cand --lock-timeout 'How long to wait for another process holding the database [default: config, 30s]'
            cand --now 'Pin "now" (RFC 3339, e.g. 2025-11-24T16:00:00Z): for tests and reproducible reports'
            cand --summary 'Only the per-store summary (CSV prints the per-day rows unless this is given)'
            cand -q 'Print only data and errors (no notes on stderr)'
            cand --quiet 'Print only data and errors (no notes on stderr)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'klk-etl;executions'= {
            cand --tipo 'Only this tipo'
            cand --store 'Only these stores (repeat or separate with commas)'
            cand --estado 'Only this estado'
            cand --limit 'How many, newest first'
            cand --config 'Configuration file [default: ./klk-etl.toml if present]'
            cand --db 'DuckDB file, overriding the configuration''s `database`'
            cand --format 'Output format for data on stdout'
            cand --color 'When to colour tables (NO_COLOR is honoured by `auto`)'
            cand --lock-timeout 'How long to wait for another process holding the database [default: config, 30s]'
            cand --now 'Pin "now" (RFC 3339, e.g. 2025-11-24T16:00:00Z): for tests and reproducible reports'
            cand -q 'Print only data and errors (no notes on stderr)'
            cand --quiet 'Print only data and errors (no notes on stderr)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'klk-etl;status'= {
            cand --limit 'How many latest executions to show'
            cand --config 'Configuration file [default: ./klk-etl.toml if present]'
            cand --db 'DuckDB file, overriding the configuration''s `database`'
            cand --format 'Output format for data on stdout'
            cand --color 'When to colour tables (NO_COLOR is honoured by `auto`)'
            cand --lock-timeout 'How long to wait for another process holding the database [default: config, 30s]'
            cand --now 'Pin "now" (RFC 3339, e.g. 2025-11-24T16:00:00Z): for tests and reproducible reports'
            cand -q 'Print only data and errors (no notes on stderr)'
            cand --quiet 'Print only data and errors (no notes on stderr)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'klk-etl;purge'= {
            cand --older-than 'Delete executions started longer ago than this (e.g. 90d) [default: config retention]'
            cand --config 'Configuration file [default: ./klk-etl.toml if present]'
            cand --db 'DuckDB file, overriding the configuration''s `database`'
            cand --format 'Output format for data on stdout'
            cand --color 'When to colour tables (NO_COLOR is honoured by `auto`)'
            cand --lock-timeout 'How long to wait for another process holding the database [default: config, 30s]'
            cand --now 'Pin "now" (RFC 3339, e.g. 2025-11-24T16:00:00Z): for tests and reproducible reports'
            cand --dry-run 'Show what would be deleted; change nothing'
            cand -y 'Do not ask (required when stdin is not a terminal)'
            cand --yes 'Do not ask (required when stdin is not a terminal)'
            cand -q 'Print only data and errors (no notes on stderr)'
            cand --quiet 'Print only data and errors (no notes on stderr)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'klk-etl;unstick'= {
            cand --older-than 'Also close executions of other hosts (or unknown processes) older than this [default: config stuck_after, 1h]'
            cand --config 'Configuration file [default: ./klk-etl.toml if present]'
            cand --db 'DuckDB file, overriding the configuration''s `database`'
            cand --format 'Output format for data on stdout'
            cand --color 'When to colour tables (NO_COLOR is honoured by `auto`)'
            cand --lock-timeout 'How long to wait for another process holding the database [default: config, 30s]'
            cand --now 'Pin "now" (RFC 3339, e.g. 2025-11-24T16:00:00Z): for tests and reproducible reports'
            cand --dry-run 'Show what would be closed; change nothing'
            cand -y 'Do not ask (required when stdin is not a terminal)'
            cand --yes 'Do not ask (required when stdin is not a terminal)'
            cand -q 'Print only data and errors (no notes on stderr)'
            cand --quiet 'Print only data and errors (no notes on stderr)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'klk-etl;stores'= {
            cand --config 'Configuration file [default: ./klk-etl.toml if present]'
            cand --db 'DuckDB file, overriding the configuration''s `database`'
            cand --format 'Output format for data on stdout'
            cand --color 'When to colour tables (NO_COLOR is honoured by `auto`)'
            cand --lock-timeout 'How long to wait for another process holding the database [default: config, 30s]'
            cand --now 'Pin "now" (RFC 3339, e.g. 2025-11-24T16:00:00Z): for tests and reproducible reports'
            cand -q 'Print only data and errors (no notes on stderr)'
            cand --quiet 'Print only data and errors (no notes on stderr)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'klk-etl;db'= {
            cand --config 'Configuration file [default: ./klk-etl.toml if present]'
            cand --db 'DuckDB file, overriding the configuration''s `database`'
            cand --format 'Output format for data on stdout'
            cand --color 'When to colour tables (NO_COLOR is honoured by `auto`)'
            cand --lock-timeout 'How long to wait for another process holding the database [default: config, 30s]'
            cand --now 'Pin "now" (RFC 3339, e.g. 2025-11-24T16:00:00Z): for tests and reproducible reports'
            cand -q 'Print only data and errors (no notes on stderr)'
            cand --quiet 'Print only data and errors (no notes on stderr)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand migrate 'Create or upgrade the schema (also done on first use by every command)'
            cand info 'Schema version, migrations applied, row counts'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'klk-etl;db;migrate'= {
            cand --config 'Configuration file [default: ./klk-etl.toml if present]'
            cand --db 'DuckDB file, overriding the configuration''s `database`'
            cand --format 'Output format for data on stdout'
            cand --color 'When to colour tables (NO_COLOR is honoured by `auto`)'
            cand --lock-timeout 'How long to wait for another process holding the database [default: config, 30s]'
            cand --now 'Pin "now" (RFC 3339, e.g. 2025-11-24T16:00:00Z): for tests and reproducible reports'
            cand -q 'Print only data and errors (no notes on stderr)'
            cand --quiet 'Print only data and errors (no notes on stderr)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'klk-etl;db;info'= {
            cand --config 'Configuration file [default: ./klk-etl.toml if present]'
            cand --db 'DuckDB file, overriding the configuration''s `database`'
            cand --format 'Output format for data on stdout'
            cand --color 'When to colour tables (NO_COLOR is honoured by `auto`)'
            cand --lock-timeout 'How long to wait for another process holding the database [default: config, 30s]'
            cand --now 'Pin "now" (RFC 3339, e.g. 2025-11-24T16:00:00Z): for tests and reproducible reports'
            cand -q 'Print only data and errors (no notes on stderr)'
            cand --quiet 'Print only data and errors (no notes on stderr)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'klk-etl;db;help'= {
            cand migrate 'Create or upgrade the schema (also done on first use by every command)'
            cand info 'Schema version, migrations applied, row counts'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'klk-etl;db;help;migrate'= {
        }
        &'klk-etl;db;help;info'= {
        }
        &'klk-etl;db;help;help'= {
        }
        &'klk-etl;completions'= {
            cand --dir 'Write into this directory (as the file name the shell expects) instead of stdout'
            cand --config 'Configuration file [default: ./klk-etl.toml if present]'
            cand --db 'DuckDB file, overriding the configuration''s `database`'
            cand --format 'Output format for data on stdout'
            cand --color 'When to colour tables (NO_COLOR is honoured by `auto`)'
            cand --lock-timeout 'How long to wait for another process holding the database [default: config, 30s]'
            cand --now 'Pin "now" (RFC 3339, e.g. 2025-11-24T16:00:00Z): for tests and reproducible reports'
            cand -q 'Print only data and errors (no notes on stderr)'
            cand --quiet 'Print only data and errors (no notes on stderr)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'klk-etl;help'= {
            cand gaps 'List the gaps: windows that should hold data and are not covered by a success'
            cand metrics 'Reliability per store and day: runs, success rate, durations, rows loaded'
            cand executions 'The latest executions (newest first)'
            cand status 'One screen: latest executions, open gaps and today''s metrics'
            cand purge 'Delete old executions (never those gap detection still needs)'
            cand unstick 'Close executions left `en_proceso` by a process that is gone'
            cand stores 'List the configured stores'
            cand db 'Database schema: migrate, info'
            cand completions 'Print a shell completion script (or the man page)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'klk-etl;help;gaps'= {
        }
        &'klk-etl;help;metrics'= {
        }
        &'klk-etl;help;executions'= {
        }
        &'klk-etl;help;status'= {
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
        }
        &'klk-etl;help;db;migrate'= {
        }
        &'klk-etl;help;db;info'= {
        }
        &'klk-etl;help;completions'= {
        }
        &'klk-etl;help;help'= {
        }
    ]
    $completions[$command]
}
