fn main() -> std::process::ExitCode {
    netconf_cli::ifquery::main()
}
