//! Files in ifupdown-ng's dialect that make VLANs: ifupdown-ng's own
//! fixtures (`tests/conformance/ifupdown-ng/`), read by netconfd `--dialect
//! ifupdown-ng`. (Its `bonded-bridge` is left out: as ng reads it the bond
//! has no members, so the bridge has no carrier and its IPv6 address never
//! leaves duplicate address detection; ng does not wait for it, netconf's
//! `ifup` does and fails, as for the same Debian file.)

use super::{
    assert_back_to, assert_second_ifup_writes_nothing, links_and_addrs, require_kernel_makes,
};
use netconf_tests::links::{details, info, kind, set};
use netconf_tests::{repo_root, require_root, DaemonOptions, Harness};

fn ng_harness(fixture: &str) -> Harness {
    require_root();
    let h = Harness::with_options(DaemonOptions {
        extra: vec!["--dialect".into(), "ifupdown-ng".into()],
        ..Default::default()
    });
    let path = repo_root()
        .join("tests/conformance/ifupdown-ng")
        .join(format!("{fixture}.interfaces"));
    h.write_interfaces(&std::fs::read_to_string(path).expect("fixture"));
    h
}

/// ng's `vlan-complex` (Alpine issue #11885): addresses of both families
/// and gateways on a VLAN named `servers` over `eth0`, `vlan_id 5`.
#[test]
#[ignore = "needs a full kernel: scripts/test runs it in the VM"]
fn ng_vlan_complex_up_again_and_down() {
    let h = ng_harness("vlan-complex");
    require_kernel_makes(&h.ns, "dummy", &["type", "dummy"]);
    h.ns.batch("link add eth0 type dummy\n");
    require_kernel_makes(&h.ns, "vlan", &["link", "eth0", "type", "vlan", "id", "9"]);
    let before = links_and_addrs(&h.ns);

    h.ifup(&["-a"]).assert_ok();
    let vlan = details(&h.ns, "servers");
    assert_eq!(kind(&vlan), Some("vlan"), "{vlan}");
    assert_eq!(info(&vlan, "id").as_u64(), Some(5), "{vlan}");
    assert_eq!(h.ns.mtu("servers"), 8000);
    assert_eq!(h.ns.mtu("eth0"), 8000);
    assert_eq!(
        h.ns.global_addrs("servers"),
        set(&["198.18.10.4/24", "2001:db8:3456:10::4/64"])
    );
    assert_eq!(
        h.ns.global_addrs("eth0"),
        set(&["198.18.3.4/24", "2001:db8:3456:3::4/64"])
    );
    let v4 = h.ns.default_routes("-4");
    assert!(
        v4.iter()
            .any(|r| r["gateway"] == "198.18.10.1" && r["dev"] == "servers"),
        "{v4:?}"
    );
    let v6 = h.ns.default_routes("-6");
    assert!(
        v6.iter()
            .any(|r| r["gateway"] == "2001:db8:3456:10::1" && r["dev"] == "servers"),
        "{v6:?}"
    );
    assert_second_ifup_writes_nothing(&h, &["-a"]);
    h.ifdown(&["-a"]).assert_ok();
    assert_back_to(&h, &before);
}

/// ng's `vlan` and `vlan-named`: a VLAN by its dotted name, and one named
/// `servers` by `vlan-raw-device` and `vlan-id`, each brought up alone.
#[test]
#[ignore = "needs a full kernel: scripts/test runs it in the VM"]
fn ng_vlans_by_name_and_by_options() {
    for (fixture, vlan, id) in [("vlan", "eth0.8", 8), ("vlan-named", "servers", 8)] {
        let h = ng_harness(fixture);
        h.ns.batch("link add eth0 type dummy\n");
        require_kernel_makes(&h.ns, "vlan", &["link", "eth0", "type", "vlan", "id", "9"]);
        let before = links_and_addrs(&h.ns);
        h.ifup(&[vlan]).assert_ok();
        let d = details(&h.ns, vlan);
        assert_eq!(kind(&d), Some("vlan"), "{fixture}: {d}");
        assert_eq!(info(&d, "id").as_u64(), Some(id), "{fixture}: {d}");
        assert_eq!(
            h.ns.global_addrs(vlan),
            set(&["2001:db8:1000:2::2/64"]),
            "{fixture}"
        );
        h.ifdown(&[vlan]).assert_ok();
        assert_back_to(&h, &before);
    }
}
