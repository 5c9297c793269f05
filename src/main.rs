fn main() -> std::process::ExitCode {
    klk_etl::cli::main()
}
