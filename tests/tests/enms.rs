//! External network modifiers end to end (netconf-locations(5)): a script
//! modifier started when its condition (the DHCP domain of the office
//! network, see `policy_world`) comes to hold and stopped when it fails;
//! the link and address its start command adds are shown as `enm:vpn` by
//! `status` and `monitor`; `enm enable`/`disable` override the conditions.
//!
//! Needs root, dnsmasq and ISC dhclient. Run: `cargo build --bins && cargo
//! test -p netconf-tests --test enms`.

mod policy_world;

use policy_world::*;
use serde_json::Value;
use std::fs;
use std::time::Duration;

fn configure(dir: &std::path::Path) {
    fs::create_dir_all(dir.join("enms")).unwrap();
    fs::write(
        dir.join("enms/vpn"),
        "# a stand-in for a VPN client: its own link and address\n\
         activation conditional-any\ncondition dhcp-domain is office.example.org\n\
         start ip link add enm0 type veth peer name enm1 && ip addr add 203.0.113.7/24 dev enm0 && ip link set enm0 up && ip addr add 198.51.100.77/32 dev lan0\n\
         stop ip link del enm0; ip addr del 198.51.100.77/32 dev lan0 2>/dev/null; true\ntimeout 10\n",
    )
    .unwrap();
}

fn state(w: &World) -> String {
    let list = w.ctl_json(&["enm", "list", "--json"]);
    list["enms"][0]["state"].as_str().unwrap_or("").to_string()
}

fn wait_state(w: &World, want: &str) {
    netconf_tests::wait_until(&format!("enm vpn {want}"), || state(w) == want);
}

fn enm0_origins(w: &World) -> Vec<String> {
    let status = w.ctl_json(&["status", "--json"]);
    status["interfaces"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|i| i["name"] == "enm0")
        .flat_map(|i| i["addresses"].as_array().cloned().unwrap_or_default())
        .filter(|a: &Value| a["family"] == "inet")
        .map(|a| {
            format!(
                "{} {}",
                a["address"].as_str().unwrap_or(""),
                a["origin"].as_str().unwrap_or("")
            )
        })
        .collect()
}

#[test]
fn a_modifier_follows_its_condition() {
    let mut w = World::new(configure);
    assert_eq!(state(&w), "offline");
    let mut mon = std::process::Command::new(&netconf_tests::bins().netconfctl);
    mon.arg("--socket").arg(w.path("ctl.sock")).arg("monitor");
    let (mut child, lines) = netconf_tests::spawn_lines(mon);

    // The office lease names the domain: the modifier starts.
    w.ifup();
    wait_state(&w, "online");
    assert_eq!(enm0_origins(&w), ["203.0.113.7/24 enm:vpn"]);
    let mut seen = Vec::new();
    while !seen.iter().any(|l: &String| l.contains("enm vpn: online")) {
        seen.push(
            lines
                .recv_timeout(Duration::from_secs(30))
                .unwrap_or_else(|_| {
                    panic!(
                        "monitor shows the modifier (safety net):\n{}",
                        seen.join("\n")
                    )
                }),
        );
    }
    let all = seen.join("\n");
    assert!(
        all.contains("enm vpn: start (its conditions hold)"),
        "{all}"
    );
    assert!(
        all.contains("address 203.0.113.7/24 added (enm:vpn)"),
        "{all}"
    );
    let _ = child.kill();
    let _ = child.wait();
    let text = w.ctl(&["status"]);
    assert!(text.stdout.contains("enm vpn: online"), "{text}");
    // Its address on netconf's own interface is its too, not a difference.
    assert!(
        text.stdout.contains("198.51.100.77/32") && text.stdout.contains("enm:vpn"),
        "{text}"
    );

    // netconfd killed and started again: the modifier stays online, its
    // command is not run again, the kernel is not touched.
    w.cli.settle();
    let mut monitor = w.cli.monitor();
    monitor.fence(&w.cli);
    w.kill_daemon();
    w.start_daemon();
    assert_eq!(state(&w), "online");
    assert_eq!(enm0_origins(&w), ["203.0.113.7/24 enm:vpn"]);
    let events = monitor.fence(&w.cli);
    assert!(
        events.is_empty(),
        "the restart changed the kernel:\n{}",
        events.join("\n")
    );
    drop(monitor);
    w.cli.ip(&["link", "del", "nctmk"]);

    // The lease gone, the condition fails: the modifier stops.
    w.ifdown();
    wait_state(&w, "offline");
    assert!(
        !w.read("netconfd.log")
            .contains("remove address 198.51.100.77"),
        "ifdown took back the modifier's address"
    );
    assert!(
        w.cli.try_ip(&["link", "show", "enm0"]).code() != Some(0),
        "enm0 is gone"
    );

    // By hand, whatever the conditions say.
    let out = w.ctl_json(&["enm", "enable", "vpn", "--json"]);
    assert_eq!(out["name"], "vpn", "{out:#}");
    wait_state(&w, "online");
    assert_eq!(enm0_origins(&w), ["203.0.113.7/24 enm:vpn"]);
    w.ctl(&["enm", "disable", "vpn"]).assert_ok();
    wait_state(&w, "offline");
    let out = w.ctl(&["enm", "enable", "nothing"]);
    assert!(
        !out.success() && out.all_output().contains("no modifier \"nothing\""),
        "{out}"
    );
}
