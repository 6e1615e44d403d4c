fn main() -> std::process::ExitCode {
    netconf_cli::netconfctl::main()
}
