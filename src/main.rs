fn main() -> std::process::ExitCode {
    huakai::app::cli::main()
}
