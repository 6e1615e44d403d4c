#![allow(dead_code)] // shared by tests/tests/locations.rs and enms.rs, each using a part
//! The world of the locations and modifiers tests: a client namespace
//! running netconfd, and two "networks", each a namespace with a bridge
//! `br0` (198.18.0.1/24 on both, told apart only by the bridge's MAC and
//! the DHCP domain) and dnsmasq serving DHCP on it. The client's `lan0` is
//! one end of a veth pair whose other end, the "cable", is a port of one
//! network's bridge; [`World::plug`] moves it to the other network.
//!
//! netconfd runs with every file it may write inside the test's directory:
//! `--config-dir DIR/netconf`, `--resolv-conf DIR/etc/resolv.conf`,
//! `--hosts-file DIR/etc/hosts`, `--nsswitch-file DIR/etc/nsswitch.conf`,
//! and `--systemctl DIR/systemctl`, a script that logs `VERB UNIT` to
//! `DIR/units.log` instead of asking systemd (the tests cannot run units).
//! Processes are killed by their PIDs on drop: netconfd, what is left in the
//! client namespace that names the test's directory (dhclient), dnsmasq.

use netconf_tests::{
    bins, dhcp_world_dir, hook_path, kill_processes_mentioning, run, wait_until, Daemon,
    DaemonOptions, DhcpServer, Netns, Out,
};
use serde_json::Value;
use std::ffi::OsString;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;

pub const MAC_A: &str = "02:00:5e:00:53:0a";
pub const MAC_B: &str = "02:00:5e:00:53:0b";
pub const ORIGINAL_RESOLV: &str =
    "# the test's resolv.conf before locations\nnameserver 203.0.113.53\n";
pub const ORIGINAL_HOSTS: &str = "127.0.0.1 localhost\n";
pub const ORIGINAL_NSSWITCH: &str = "hosts: files dns\n";

pub struct Network {
    pub ns: Netns,
    pub server: Option<DhcpServer>,
}

pub struct World {
    pub daemon: Option<Daemon>,
    pub nets: Vec<Network>,
    pub cli: Netns,
    /// Which network the cable is in.
    pub plugged: usize,
    /// `NETCONF_CRASH_AT` of the next start (docs/RELIABILITY.md).
    pub crash_at: Option<String>,
    pub dir: tempfile::TempDir,
}

impl World {
    /// Network 0 (`office.example.org`, bridge MAC [`MAC_A`], DNS
    /// 198.18.0.53) and network 1 (`home.example.net`, [`MAC_B`],
    /// 198.18.0.54), the cable in network 0, `iface lan0 inet dhcp`, the
    /// original /etc files, and netconfd running. `setup` writes the
    /// configuration directory first.
    pub fn new(setup: impl FnOnce(&Path)) -> World {
        let dir = dhcp_world_dir("nct-loc-", "locations");
        let d = dir.path();
        fs::create_dir_all(d.join("etc")).unwrap();
        fs::create_dir_all(d.join("netconf")).unwrap();
        fs::write(d.join("etc/resolv.conf"), ORIGINAL_RESOLV).unwrap();
        fs::write(d.join("etc/hosts"), ORIGINAL_HOSTS).unwrap();
        fs::write(d.join("etc/nsswitch.conf"), ORIGINAL_NSSWITCH).unwrap();
        fs::write(d.join("interfaces"), "iface lan0 inet dhcp\n").unwrap();
        let systemctl = d.join("systemctl");
        fs::write(
            &systemctl,
            format!("#!/bin/sh\necho \"$1 $2\" >> {}/units.log\n", d.display()),
        )
        .unwrap();
        fs::set_permissions(&systemctl, fs::Permissions::from_mode(0o755)).unwrap();
        setup(&d.join("netconf"));
        let cli = Netns::new();
        let mut nets = Vec::new();
        for (i, (mac, domain, dns, range)) in [
            (
                MAC_A,
                "office.example.org",
                "198.18.0.53",
                "198.18.0.100,198.18.0.149",
            ),
            (
                MAC_B,
                "home.example.net",
                "198.18.0.54",
                "198.18.0.150,198.18.0.199",
            ),
        ]
        .into_iter()
        .enumerate()
        {
            let ns = Netns::new();
            ns.ip(&["link", "add", "br0", "address", mac, "type", "bridge"]);
            ns.ip(&["addr", "add", "198.18.0.1/24", "dev", "br0"]);
            ns.ip(&["link", "set", "br0", "up"]);
            if i == 0 {
                ns.ip(&[
                    "link",
                    "add",
                    "cable",
                    "type",
                    "veth",
                    "peer",
                    "name",
                    "lan0",
                    "netns",
                    cli.name(),
                ]);
                ns.ip(&["link", "set", "cable", "master", "br0", "up"]);
            }
            let server = DhcpServer::start(
                &ns,
                "br0",
                d,
                &format!("dnsmasq{i}"),
                &[
                    &format!("--dhcp-range={range},255.255.255.0,1h"),
                    &format!("--dhcp-option=option:dns-server,{dns}"),
                    &format!("--dhcp-option=option:domain-name,{domain}"),
                    "--dhcp-authoritative",
                ],
            );
            nets.push(Network {
                ns,
                server: Some(server),
            });
        }
        let mut w = World {
            daemon: None,
            nets,
            cli,
            plugged: 0,
            crash_at: None,
            dir,
        };
        w.start_daemon();
        w
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn start_daemon(&mut self) {
        let p = |rel: &str| -> OsString { self.path(rel).into() };
        let extra: Vec<OsString> = vec![
            "--config-dir".into(),
            p("netconf"),
            "--resolv-conf".into(),
            p("etc/resolv.conf"),
            "--hosts-file".into(),
            p("etc/hosts"),
            "--nsswitch-file".into(),
            p("etc/nsswitch.conf"),
            "--systemctl".into(),
            p("systemctl"),
            "--dhcp-hook".into(),
            hook_path().into(),
            "--dhclient".into(),
            "/sbin/dhclient".into(),
            "--dhcp-timeout".into(),
            "60".into(),
        ];
        self.daemon = Some(Daemon::start_with_args(
            &self.cli,
            self.dir.path(),
            &DaemonOptions {
                crash_at: self.crash_at.take(),
                ..DaemonOptions::default()
            },
            &extra,
        ));
    }

    /// Waits for a daemon started with a crash point to have killed itself.
    pub fn wait_crash(&mut self) {
        let mut daemon = self.daemon.take().expect("netconfd was started");
        wait_until("netconfd to reach its crash point", || {
            daemon.try_exit_status().is_some()
        });
    }

    pub fn kill_daemon(&mut self) {
        self.daemon
            .take()
            .expect("netconfd runs")
            .stop(libc::SIGKILL);
    }

    pub fn client(&self, program: &Path, args: &[&str]) -> Out {
        let mut c = Command::new(program);
        c.arg("--socket")
            .arg(self.path("ctl.sock"))
            .args(args)
            .env_remove("NETCONF_SOCKET")
            .current_dir("/");
        run(c)
    }

    pub fn ctl(&self, args: &[&str]) -> Out {
        self.client(&bins().netconfctl, args)
    }

    pub fn ctl_json(&self, args: &[&str]) -> Value {
        let out = self.ctl(args);
        out.assert_ok();
        serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out}"))
    }

    pub fn ifup(&self) {
        self.client(&bins().ifup, &["lan0"]).assert_ok();
    }

    /// `ifup lan0`, whatever it answers (the daemon may die on the way).
    pub fn try_ifup(&self) -> Out {
        self.client(&bins().ifup, &["lan0"])
    }

    pub fn ifdown(&self) {
        self.client(&bins().ifdown, &["lan0"]).assert_ok();
    }

    /// The active location's name.
    pub fn active(&self) -> String {
        self.ctl_json(&["location", "list", "--json"])["active"]["name"]
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    pub fn wait_location(&self, name: &str) {
        wait_until(&format!("location {name}"), || self.active() == name);
    }

    /// Moves the cable to network `to`: carrier goes, and comes back on
    /// the other network.
    pub fn plug(&mut self, to: usize) {
        let from = &self.nets[self.plugged].ns;
        from.ip(&["link", "set", "cable", "netns", self.nets[to].ns.name()]);
        self.nets[to]
            .ns
            .ip(&["link", "set", "cable", "master", "br0", "up"]);
        self.plugged = to;
    }

    pub fn read(&self, rel: &str) -> String {
        fs::read_to_string(self.path(rel)).unwrap_or_default()
    }

    pub fn units(&self) -> Vec<String> {
        self.read("units.log").lines().map(str::to_string).collect()
    }
}

impl Drop for World {
    fn drop(&mut self) {
        if thread::panicking() {
            eprintln!(
                "===== netconfd log =====\n{}\n===== resolv.conf =====\n{}\n===== hosts =====\n{}\n===== units =====\n{}\n===== dnsmasq =====\n{}\n{}",
                self.read("netconfd.log"),
                self.read("etc/resolv.conf"),
                self.read("etc/hosts"),
                self.read("units.log"),
                self.read("dnsmasq0.log"),
                self.read("dnsmasq1.log"),
            );
        }
        self.daemon.take();
        kill_processes_mentioning(&self.cli, &self.dir.path().to_string_lossy());
        for n in &mut self.nets {
            n.server.take();
        }
    }
}
