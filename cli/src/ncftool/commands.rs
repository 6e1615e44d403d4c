//! netcf's command table and its command-line reader: which commands
//! there are, their options and arguments, their help, and how a line is
//! cut into words. The wording of every message is netcf's own (ncftool.c),
//! so that scripts and people who knew it find what they expect.

use std::fmt::Write as _;

/// How an option of a command is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tag {
    /// `--name`, a flag.
    Bool,
    /// A mandatory positional argument.
    Arg,
    /// An optional positional argument.
    Param,
}

#[derive(Debug)]
pub struct OptDef {
    pub tag: Tag,
    pub name: &'static str,
    pub help: &'static str,
}

#[derive(Debug)]
pub struct CommandDef {
    pub name: &'static str,
    pub opts: &'static [OptDef],
    pub synopsis: &'static str,
    pub help: &'static str,
}

const fn flag(name: &'static str, help: &'static str) -> OptDef {
    OptDef {
        tag: Tag::Bool,
        name,
        help,
    }
}

const fn arg(name: &'static str, help: &'static str) -> OptDef {
    OptDef {
        tag: Tag::Arg,
        name,
        help,
    }
}

/// The commands, in netcf's order (`help` lists them so).
pub const COMMANDS: &[CommandDef] = &[
    CommandDef {
        name: "list",
        opts: &[
            flag("macs", "show MAC addresses"),
            flag("all", "show all (up & down) interfaces"),
            flag("inactive", "show only inactive (down) interfaces"),
        ],
        synopsis: "list network interfaces",
        help: "list the currently configured toplevel network interfaces",
    },
    CommandDef {
        name: "dumpxml",
        opts: &[
            flag("mac", "interpret the name as a MAC address"),
            flag("live", "include information about the live interface"),
            arg("name", "the name of the interface"),
        ],
        synopsis: "dump the XML description of an interface",
        help: "dump the XML description of an interface",
    },
    CommandDef {
        name: "define",
        opts: &[arg(
            "xmlfile",
            "file containing the XML description of the interface",
        )],
        synopsis: "define an interface from an XML file",
        help: "define an interface from an XML file",
    },
    CommandDef {
        name: "undefine",
        opts: &[arg("iface", "the name of the interface")],
        synopsis: "undefine an interface",
        help: "remove the configuration of an interface",
    },
    CommandDef {
        name: "ifup",
        opts: &[arg("iface", "the name of the interface")],
        synopsis: "bring up an interface",
        help: "bring up an interface",
    },
    CommandDef {
        name: "ifdown",
        opts: &[arg("iface", "the name of the interface")],
        synopsis: "bring down an interface",
        help: "bring down an interface",
    },
    CommandDef {
        name: "change-begin",
        opts: &[],
        synopsis: "mark the beginning of a set of revertible network config changes",
        help: "marks the beginning of a set of revertible network config changes",
    },
    CommandDef {
        name: "change-commit",
        opts: &[],
        synopsis: "commit the pending network config changes",
        help: "commits (makes permanent) of a set of network config changes",
    },
    CommandDef {
        name: "change-rollback",
        opts: &[],
        synopsis: "rollback (revert) a set of network config changes",
        help: "rollback (revert) a set of network config changes",
    },
    CommandDef {
        name: "help",
        opts: &[OptDef {
            tag: Tag::Param,
            name: "command",
            help: "",
        }],
        synopsis: "print help",
        help: "list all commands or print details about one command",
    },
    CommandDef {
        name: "quit",
        opts: &[],
        synopsis: "exit the program",
        help: "exit this interactive program",
    },
];

pub fn lookup(name: &str) -> Option<&'static CommandDef> {
    COMMANDS.iter().find(|c| c.name == name)
}

/// A command line read against its definition.
#[derive(Debug)]
pub struct Parsed {
    pub def: &'static CommandDef,
    /// The flags given, by name.
    pub flags: Vec<&'static str>,
    /// The positional arguments given, by the name of their definition.
    pub args: Vec<(&'static str, String)>,
    /// What netcf says about the line without refusing it (`Illegal
    /// option --x`): it prints them and runs the command all the same.
    pub warnings: Vec<String>,
}

impl Parsed {
    pub fn flag(&self, name: &str) -> bool {
        self.flags.contains(&name)
    }

    pub fn arg(&self, name: &str) -> Option<&str> {
        self.args
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Cuts an interactive line into words as netcf's `nexttoken` does: blanks
/// separate words, and a word that starts with a single or double quote
/// runs to the same quote (blanks included).
pub fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = line.trim_end_matches(['\n', '\r']);
    loop {
        rest = rest.trim_start_matches([' ', '\t']);
        if rest.is_empty() {
            return out;
        }
        let (word, after) = match rest.chars().next() {
            Some(q @ ('\'' | '"')) => {
                let body = &rest[1..];
                match body.find(q) {
                    Some(end) => (&body[..end], &body[end + 1..]),
                    None => (body, ""),
                }
            }
            _ => match rest.find([' ', '\t']) {
                Some(end) => (&rest[..end], &rest[end..]),
                None => (rest, ""),
            },
        };
        out.push(word.to_string());
        rest = after;
    }
}

/// A typed word as messages show it: control characters (an arrow key's
/// escape sequence on a terminal without line editing) written as escapes,
/// so that echoing a typo cannot move the cursor or mangle the screen.
pub fn shown(word: &str) -> String {
    word.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Reads `words` (the command first) against the command table, with
/// netcf's messages for what it refuses.
pub fn parse(words: &[String]) -> Result<Parsed, String> {
    let name = words.first().map(String::as_str).unwrap_or("");
    let Some(def) = lookup(name) else {
        return Err(format!("Unknown command '{}'", shown(name)));
    };
    let positional: Vec<&OptDef> = def.opts.iter().filter(|o| o.tag != Tag::Bool).collect();
    let mandatory = positional.iter().filter(|o| o.tag == Tag::Arg).count();
    let mut parsed = Parsed {
        def,
        flags: Vec::new(),
        args: Vec::new(),
        warnings: Vec::new(),
    };
    for word in &words[1..] {
        if let Some(option) = word.strip_prefix('-') {
            let option = option.strip_prefix('-').unwrap_or(option);
            match def
                .opts
                .iter()
                .find(|o| o.tag == Tag::Bool && o.name == option)
            {
                Some(o) => parsed.flags.push(o.name),
                None => parsed
                    .warnings
                    .push(format!("Illegal option {}", shown(word))),
            }
            continue;
        }
        match positional.get(parsed.args.len()) {
            Some(o) => parsed.args.push((o.name, word.clone())),
            None => {
                return Err(format!(
                    "Too many arguments. Command {} takes only {} arguments",
                    def.name,
                    positional.len()
                ))
            }
        }
    }
    if parsed.args.len() < mandatory {
        return Err(format!("Not enough arguments for {}", def.name));
    }
    Ok(parsed)
}

/// `help` without an argument: every command with its synopsis.
pub fn overview() -> String {
    let mut out = String::from("Commands:\n\n");
    for def in COMMANDS {
        let _ = writeln!(out, "    {:<10} - {}", def.name, def.synopsis);
    }
    out.push_str("\nType 'help <command>' for more information on a command\n\n");
    out
}

/// `help COMMAND`: its synopsis, description and options.
pub fn details(def: &CommandDef) -> String {
    let mut out = format!(
        "  COMMAND\n    {} - {}\n\n  SYNOPSIS\n    {}",
        def.name, def.synopsis, def.name
    );
    for o in def.opts {
        match o.tag {
            Tag::Bool => {
                let _ = write!(out, " [--{}]", o.name);
            }
            Tag::Arg => {
                let _ = write!(out, " <{}>", o.name);
            }
            Tag::Param => {
                let _ = write!(out, " [<{}>]", o.name);
            }
        }
    }
    let _ = write!(out, "\n\n  DESCRIPTION\n    {}\n\n  OPTIONS\n", def.help);
    for o in def.opts {
        match o.tag {
            Tag::Bool => {
                let _ = writeln!(out, "    --{:<8} {}", o.name, o.help);
            }
            _ => {
                let _ = writeln!(out, "    {:<10} {}", format!("<{}>", o.name), o.help);
            }
        }
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(line: &str) -> Vec<String> {
        words(line)
    }

    #[test]
    fn words_as_netcf_cuts_them() {
        assert_eq!(w("  list  --all\t--macs \n"), ["list", "--all", "--macs"]);
        assert_eq!(w("define 'my file.xml'"), ["define", "my file.xml"]);
        assert_eq!(w("define \"a b"), ["define", "a b"]);
        assert!(w("   ").is_empty());
    }

    #[test]
    fn commands_and_their_arguments() {
        let p = parse(&w("dumpxml --live br0")).unwrap();
        assert_eq!(p.def.name, "dumpxml");
        assert!(p.flag("live") && !p.flag("mac"));
        assert_eq!(p.arg("name"), Some("br0"));
        // Both `-` and `--` spell an option, as in netcf.
        assert!(parse(&w("list -all")).unwrap().flag("all"));
        let p = parse(&w("list --bogus")).unwrap();
        assert_eq!(p.warnings, ["Illegal option --bogus"]);
        assert_eq!(parse(&w("help")).unwrap().arg("command"), None);
        assert_eq!(parse(&w("help list")).unwrap().arg("command"), Some("list"));
    }

    #[test]
    fn refusals_in_netcf_words() {
        assert_eq!(parse(&w("lsit")).unwrap_err(), "Unknown command 'lsit'");
        assert_eq!(parse(&[]).unwrap_err(), "Unknown command ''");
        assert_eq!(
            parse(&w("\x1b[A")).unwrap_err(),
            "Unknown command '\\u{1b}[A'"
        );
        assert_eq!(
            parse(&w("undefine")).unwrap_err(),
            "Not enough arguments for undefine"
        );
        assert_eq!(
            parse(&w("ifup a b")).unwrap_err(),
            "Too many arguments. Command ifup takes only 1 arguments"
        );
        assert_eq!(
            parse(&w("quit now")).unwrap_err(),
            "Too many arguments. Command quit takes only 0 arguments"
        );
    }

    #[test]
    fn help_texts() {
        let all = overview();
        assert!(all.starts_with("Commands:\n\n    list       - list network interfaces\n"));
        assert!(all.contains("    change-rollback - rollback (revert) a set"));
        let one = details(lookup("dumpxml").unwrap());
        assert!(
            one.contains("  SYNOPSIS\n    dumpxml [--mac] [--live] <name>\n"),
            "{one}"
        );
        assert!(one.contains("    --live     include information about the live interface\n"));
        assert!(one.contains("    <name>     the name of the interface\n"));
        let help = details(lookup("help").unwrap());
        assert!(help.contains("    help [<command>]\n"), "{help}");
    }
}
