fn main() -> std::process::ExitCode {
    netconf_daemon::main()
}
