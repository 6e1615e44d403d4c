fn main() -> std::process::ExitCode {
    netconf_cli::ncftool::main()
}
