fn main() -> std::process::ExitCode {
    netconf_cli::ifupdown::ifup()
}
