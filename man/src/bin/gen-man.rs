//! `gen-man DIR`: writes the generated man pages (ifquery.8, ifup.8,
//! ifdown.8, netconfd.8, netconfctl.8, ifreload.8) into DIR. From the workspace root:
//! `cargo run -p netconf-man --bin gen-man -- man/`.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let (Some(dir), None) = (args.next(), args.next()) else {
        eprintln!("usage: gen-man DIR  (from the workspace root: cargo run -p netconf-man --bin gen-man -- man/)");
        return ExitCode::from(2);
    };
    match netconf_man::write_pages(&PathBuf::from(dir)) {
        Ok(paths) => {
            for path in paths {
                println!("{}", path.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("gen-man: {e}");
            ExitCode::from(1)
        }
    }
}
