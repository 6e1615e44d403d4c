fn main() -> std::process::ExitCode {
    netconf_cli::ifreload::main()
}
