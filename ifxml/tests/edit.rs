//! define/undefine on real files in a throwaway root: every byte that is not
//! the edited stanza or class word stays, and failures write nothing.

use netconf_ifxml::edit::{define, defined_in, undefine, Config, EditError};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

struct Root {
    dir: TempDir,
    config: Config,
}

impl Root {
    /// A root with `etc/network/interfaces` holding `main` and an empty
    /// `interfaces.d`, read as ncftool `--root` reads it.
    fn new(main: &str) -> Root {
        let dir = tempfile::tempdir().unwrap();
        let net = dir.path().join("etc/network");
        fs::create_dir_all(net.join("interfaces.d")).unwrap();
        fs::write(net.join("interfaces"), main).unwrap();
        let config = Config {
            main: net.join("interfaces"),
            root: Some(dir.path().to_path_buf()),
        };
        Root { dir, config }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn read(&self, rel: &str) -> String {
        fs::read_to_string(self.path(rel)).unwrap()
    }

    fn main(&self) -> String {
        self.read("etc/network/interfaces")
    }

    fn write(&self, rel: &str, text: &str) {
        fs::write(self.path(rel), text).unwrap();
    }

    /// Every path under the root with its bytes, to show nothing changed.
    fn tree(&self) -> Vec<(PathBuf, Option<Vec<u8>>)> {
        fn walk(dir: &Path, out: &mut Vec<(PathBuf, Option<Vec<u8>>)>) {
            let mut entries: Vec<_> = fs::read_dir(dir).unwrap().map(|e| e.unwrap()).collect();
            entries.sort_by_key(|e| e.file_name());
            for e in entries {
                let p = e.path();
                if e.file_type().unwrap().is_dir() {
                    out.push((p.clone(), None));
                    walk(&p, out);
                } else {
                    out.push((p.clone(), Some(fs::read(&p).unwrap())));
                }
            }
        }
        let mut out = Vec::new();
        walk(self.dir.path(), &mut out);
        out
    }
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

const BR0: &str = "auto br0\niface br0 inet dhcp\n    bridge_ports eth0\n";

const SOURCE_D: &str = "source /etc/network/interfaces.d/*\n";

#[test]
fn define_into_interfaces_d() {
    let main = format!("# The loopback\nauto lo\niface lo inet loopback\n\n{SOURCE_D}");
    let root = Root::new(&main);
    let changed = define(&root.config, "br0", &names(&["br0", "eth0"]), BR0).unwrap();
    let file = root.path("etc/network/interfaces.d/br0");
    assert_eq!(changed, vec![file.clone()]);
    assert_eq!(root.read("etc/network/interfaces.d/br0"), BR0);
    assert_eq!(root.main(), main);
    let mode = fs::metadata(&file).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o644);
    assert_eq!(defined_in(&root.config, "br0").unwrap(), Some(file.clone()));
    assert_eq!(defined_in(&root.config, "eth9").unwrap(), None);

    // Defined again: the file is rewritten in place, nothing else moves.
    let text = "auto br0\niface br0 inet static\n    address 10.0.0.1/24\n";
    let changed = define(&root.config, "br0", &names(&["br0"]), text).unwrap();
    assert_eq!(changed, vec![file]);
    assert_eq!(root.read("etc/network/interfaces.d/br0"), text);
    assert_eq!(root.main(), main);
}

#[test]
fn define_in_main_keeps_every_other_byte() {
    let before = "# head comment  \n\
                  auto lo\n\
                  iface lo inet loopback\n\
                  \n\
                  # eth0: the uplink\t\n\
                  iface eth0 inet static\n\
                  \taddress 203.0.113.1/24\n\
                  \t# the router\n\
                  \n\
                  \tgateway 203.0.113.254\n\
                  \n\
                  # after eth0\n\
                  \n\
                  iface eth1 inet manual";
    let root = Root::new(before);
    let text = "iface eth0 inet dhcp\n";
    let changed = define(&root.config, "eth0", &names(&["eth0"]), text).unwrap();
    assert_eq!(changed, vec![root.config.main.clone()]);
    let after = "# head comment  \n\
                 auto lo\n\
                 iface lo inet loopback\n\
                 \n\
                 # eth0: the uplink\t\n\
                 iface eth0 inet dhcp\n\
                 \n\
                 # after eth0\n\
                 \n\
                 iface eth1 inet manual";
    assert_eq!(root.main(), after);
}

#[test]
fn define_keeps_mode_and_link_of_the_main_file() {
    let root = Root::new("");
    let real = root.path("etc/network/interfaces.real");
    fs::write(&real, "iface eth0 inet dhcp\n").unwrap();
    fs::set_permissions(&real, fs::Permissions::from_mode(0o600)).unwrap();
    fs::remove_file(&root.config.main).unwrap();
    std::os::unix::fs::symlink("interfaces.real", &root.config.main).unwrap();
    define(
        &root.config,
        "eth0",
        &names(&["eth0"]),
        "iface eth0 inet manual\n",
    )
    .unwrap();
    let link = fs::symlink_metadata(&root.config.main).unwrap();
    assert!(link.file_type().is_symlink());
    assert_eq!(
        fs::read_to_string(&real).unwrap(),
        "iface eth0 inet manual\n"
    );
    let mode = fs::metadata(&real).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o600);
}

#[test]
fn redefine_replaces_every_family_at_the_first_place() {
    let root = Root::new(
        "auto eth0\n\
         iface eth0 inet static\n\
         \x20   address 203.0.113.1/24\n\
         \n\
         iface eth1 inet dhcp\n\
         \n\
         iface eth0 inet6 static\n\
         \x20   address 2001:db8::1/64\n\
         # end\n",
    );
    let text = "auto eth0\niface eth0 inet dhcp\n\niface eth0 inet6 auto\n";
    define(&root.config, "eth0", &names(&["eth0"]), text).unwrap();
    assert_eq!(
        root.main(),
        "auto eth0\niface eth0 inet dhcp\n\niface eth0 inet6 auto\n\
         \n\
         iface eth1 inet dhcp\n\
         \n\
         # end\n"
    );
}

#[test]
fn bridge_takes_a_link_away_from_its_stanza() {
    let before = "auto lo eth0\n\
                  iface lo inet loopback\n\
                  \n\
                  allow-hotplug eth0\n\
                  iface eth0 inet dhcp\n\
                  \n\
                  auto eth0\n\
                  iface eth1 inet manual\n";
    let root = Root::new(before);
    let text = "auto br0\niface br0 inet dhcp\n    bridge_ports eth0\n\niface eth0 inet manual\n";
    let changed = define(&root.config, "br0", &names(&["br0", "eth0"]), text).unwrap();
    assert_eq!(changed, vec![root.config.main.clone()]);
    assert_eq!(
        root.main(),
        format!(
            "auto lo\n\
             iface lo inet loopback\n\
             \n\
             {text}\
             \n\
             iface eth1 inet manual\n"
        )
    );
}

#[test]
fn the_primary_stanza_is_the_place_even_when_a_link_comes_first() {
    let root = Root::new(
        "iface eth0 inet dhcp\n\
         \n\
         iface br0 inet manual\n\
         \x20   bridge_ports none\n",
    );
    define(&root.config, "br0", &names(&["br0", "eth0"]), BR0).unwrap();
    assert_eq!(root.main(), format!("\n{BR0}"));
}

#[test]
fn refused_when_interfaces_d_is_not_read() {
    let root = Root::new("auto lo\niface lo inet loopback\nauto br0\n");
    let before = root.tree();
    let err = define(&root.config, "br0", &names(&["br0"]), BR0).unwrap_err();
    assert!(matches!(err, EditError::NotSourced { .. }), "{err}");
    let message = err.to_string();
    assert!(
        message.contains(&root.config.main.display().to_string()),
        "{message}"
    );
    assert!(
        message.contains("source /etc/network/interfaces.d/*"),
        "{message}"
    );
    assert_eq!(root.tree(), before);

    // source-directory reads no file with a dot in its name.
    let root = Root::new("source-directory /etc/network/interfaces.d\n");
    let err = define(
        &root.config,
        "eth0.100",
        &names(&["eth0.100"]),
        "iface eth0.100 inet manual\n",
    )
    .unwrap_err();
    assert!(matches!(err, EditError::NotSourced { .. }), "{err}");
    define(&root.config, "br0", &names(&["br0"]), BR0).unwrap();
    assert_eq!(root.read("etc/network/interfaces.d/br0"), BR0);

    // Away from /etc/network, the line to add is a relative one.
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("interfaces"), "auto lo\n").unwrap();
    let config = Config {
        main: dir.path().join("interfaces"),
        root: None,
    };
    let err = define(&config, "br0", &names(&["br0"]), BR0).unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("add the line `source interfaces.d/*`"),
        "{message}"
    );
}

#[test]
fn relative_source_lines_and_no_root() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("interfaces"),
        "source-directory interfaces.d/\n",
    )
    .unwrap();
    let config = Config {
        main: dir.path().join("interfaces"),
        root: None,
    };
    // interfaces.d need not exist yet.
    let changed = define(&config, "br0", &names(&["br0"]), BR0).unwrap();
    assert_eq!(changed, vec![dir.path().join("interfaces.d/br0")]);
    assert_eq!(
        fs::read_to_string(dir.path().join("interfaces.d/br0")).unwrap(),
        BR0
    );
}

#[test]
fn an_existing_file_of_that_name_keeps_its_notes() {
    let root = Root::new("source interfaces.d/*\n");
    root.write("etc/network/interfaces.d/br0", "# bridge for the VMs");
    define(&root.config, "br0", &names(&["br0"]), BR0).unwrap();
    assert_eq!(
        root.read("etc/network/interfaces.d/br0"),
        format!("# bridge for the VMs\n{BR0}")
    );
    // A file with nothing but blanks is replaced.
    root.write("etc/network/interfaces.d/br1", " \n\n");
    let text = "iface br1 inet manual\n";
    define(&root.config, "br1", &names(&["br1"]), text).unwrap();
    assert_eq!(root.read("etc/network/interfaces.d/br1"), text);
}

#[test]
fn stanzas_through_globs_and_mappings_are_edited_where_they_are() {
    let main = format!(
        "{SOURCE_D}\n\
         mapping eth1\n\
         \x20   script /usr/local/bin/where\n\
         \x20   map home eth1-home\n\
         \n\
         auto eth1\n"
    );
    let root = Root::new(&main);
    root.write(
        "etc/network/interfaces.d/eth1",
        "# from the mapping\niface eth1-home inet dhcp\n\niface eth1 inet manual\n    mtu 9000\n",
    );
    root.write("etc/network/interfaces.d/other", "iface eth2 inet manual\n");
    let text = "iface eth1-home inet static\n    address 10.1.1.1/24\n";
    let changed = define(&root.config, "eth1-home", &names(&["eth1-home"]), text).unwrap();
    assert_eq!(changed, vec![root.path("etc/network/interfaces.d/eth1")]);
    assert_eq!(
        root.read("etc/network/interfaces.d/eth1"),
        format!("# from the mapping\n{text}\niface eth1 inet manual\n    mtu 9000\n")
    );
    assert_eq!(root.main(), main);
    assert_eq!(
        root.read("etc/network/interfaces.d/other"),
        "iface eth2 inet manual\n"
    );
}

#[test]
fn undefine_removes_stanzas_and_class_words() {
    let main = format!(
        "auto lo br0\n\
         iface lo inet loopback\n\
         \n\
         # the bridge\n\
         iface br0 inet dhcp\n\
         \x20   bridge_ports eth0\n\
         \n\
         {SOURCE_D}"
    );
    let root = Root::new(&main);
    root.write(
        "etc/network/interfaces.d/eth0",
        "allow-hotplug eth0\niface eth0 inet manual\n\n",
    );
    let changed = undefine(&root.config, &names(&["br0", "eth0"])).unwrap();
    assert_eq!(
        changed,
        vec![
            root.config.main.clone(),
            root.path("etc/network/interfaces.d/eth0")
        ]
    );
    assert_eq!(
        root.main(),
        format!("auto lo\niface lo inet loopback\n\n# the bridge\n\n{SOURCE_D}")
    );
    assert!(!root.path("etc/network/interfaces.d/eth0").exists());

    let err = undefine(&root.config, &names(&["br0"])).unwrap_err();
    assert!(matches!(err, EditError::NoStanza { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        format!("no stanza for br0 in {}", root.config.main.display())
    );

    // The main file stays, even with nothing left in it.
    let root = Root::new("iface eth0 inet dhcp\n");
    undefine(&root.config, &names(&["eth0"])).unwrap();
    assert_eq!(root.main(), "");
}

#[test]
fn parse_errors_are_refused_with_file_and_line() {
    let main = "auto eth0\n\niface eth0 inet bogus\n";
    let root = Root::new(main);
    let before = root.tree();
    let err = define(
        &root.config,
        "eth0",
        &names(&["eth0"]),
        "iface eth0 inet dhcp\n",
    )
    .unwrap_err();
    let EditError::Parse { file, line, .. } = &err else {
        panic!("{err}");
    };
    assert_eq!(file, &root.config.main);
    assert_eq!(*line, Some(3));
    let prefix = format!("{}:3: ", root.config.main.display());
    assert!(err.to_string().starts_with(&prefix), "{err}");
    assert_eq!(root.tree(), before);
    assert!(defined_in(&root.config, "eth0").is_err());

    // An error in a sourced file hides what follows it: refused as well.
    let root = Root::new(SOURCE_D);
    root.write(
        "etc/network/interfaces.d/x",
        "iface eth0 inet dhcp\n  up\niface eth1 inet dhcp\n",
    );
    let err = undefine(&root.config, &names(&["eth0"])).unwrap_err();
    let EditError::Parse { file, line, .. } = &err else {
        panic!("{err}");
    };
    assert_eq!(file, &root.path("etc/network/interfaces.d/x"));
    assert_eq!(*line, Some(2));
}

#[test]
fn continuation_lines() {
    let root = Root::new(
        "auto lo \\\n  eth0\n\
         iface eth0 \\\n    inet static\n\
         \x20   address \\\n203.0.113.1/24\n\
         \x20   up echo a \\\n# not a comment\n\
         iface eth1 inet manual\n\
         allow-hotplug eth1 \\\n eth0\n",
    );
    define(
        &root.config,
        "eth0",
        &names(&["eth0"]),
        "iface eth0 inet dhcp\n",
    )
    .unwrap();
    assert_eq!(
        root.main(),
        "auto lo\n\
         iface eth0 inet dhcp\n\
         iface eth1 inet manual\n\
         allow-hotplug eth1\n"
    );
}

#[test]
fn a_failure_leaves_no_file_and_no_temporary() {
    // The new file's place is taken by a directory.
    let root = Root::new(&format!("auto br0\n{SOURCE_D}"));
    fs::create_dir(root.path("etc/network/interfaces.d/br0")).unwrap();
    let before = root.tree();
    let err = define(&root.config, "br0", &names(&["br0"]), BR0).unwrap_err();
    assert!(matches!(err, EditError::Read { .. }), "{err}");
    assert_eq!(root.tree(), before);

    // interfaces.d is a file: the main file's new text (without `auto br0`)
    // is written first, then the new file cannot be; the first is undone.
    let root = Root::new(&format!("auto br0\n{SOURCE_D}"));
    fs::remove_dir(root.path("etc/network/interfaces.d")).unwrap();
    root.write("etc/network/interfaces.d", "");
    let before = root.tree();
    let err = define(&root.config, "br0", &names(&["br0"]), BR0).unwrap_err();
    assert!(matches!(err, EditError::Write { .. }), "{err}");
    assert_eq!(root.tree(), before);
}

#[test]
fn bad_names_and_inheritance_are_refused() {
    let root = Root::new(&format!(
        "{SOURCE_D}iface eth0 inet static\n    address 203.0.113.1/24\n\
         iface eth0.5 inet static inherits eth0\n    address 203.0.113.5/24\n"
    ));
    let before = root.tree();
    for bad in ["../x", "/", "", "abcdefghijklmnop", "a b"] {
        let err = define(&root.config, bad, &names(&[bad]), BR0).unwrap_err();
        assert!(matches!(err, EditError::InvalidName { .. }), "{bad}: {err}");
        let err = define(&root.config, "br0", &names(&["br0", bad]), BR0).unwrap_err();
        assert!(matches!(err, EditError::InvalidName { .. }), "{bad}: {err}");
        assert!(undefine(&root.config, &names(&[bad])).is_err());
        assert!(defined_in(&root.config, bad).is_err());
    }
    let err = undefine(&root.config, &names(&["eth0"])).unwrap_err();
    assert!(matches!(err, EditError::Inherited { line: 4, .. }), "{err}");
    assert_eq!(root.tree(), before);
}
