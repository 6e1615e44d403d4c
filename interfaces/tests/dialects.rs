//! Reading files in ifupdown-ng's dialect, and choosing the dialect.

use netconf_interfaces::{
    parse_bytes, DiagnosticKind, Dialect, DialectChoice, Family, ParseOptions, Parsed,
};

fn parse(text: &str, dialect: DialectChoice) -> Parsed {
    parse_bytes(
        "/etc/network/interfaces",
        text.as_bytes(),
        &ParseOptions {
            dialect,
            ..Default::default()
        },
    )
}

/// Name, family, method and options of a stanza.
type Lowered = (String, Family, String, Vec<(String, String)>);

fn stanzas(p: &Parsed) -> Vec<Lowered> {
    p.config
        .stanzas
        .iter()
        .map(|s| {
            let options = s
                .options
                .iter()
                .map(|o| (o.name.clone(), o.value.clone()))
                .collect();
            (s.name.clone(), s.family, s.method.clone(), options)
        })
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[test]
fn ng_object_lowered_into_inet_and_inet6_stanzas() {
    let text = "auto eth0\niface eth0\n  address 198.51.100.2\n  address 2001:db8::2\n  \
                gateway 198.51.100.1 # the router\n  gateway 2001:db8::1\n  mtu 9000\n  \
                pointopoint 198.51.100.9\n";
    let p = parse(text, DialectChoice::IfupdownNg);
    assert!(!p.rejected, "{:?}", p.diagnostics);
    assert_eq!(p.dialect, Dialect::IfupdownNg);
    let s = stanzas(&p);
    assert_eq!(s[0].0, "lo");
    assert_eq!(
        s[1],
        (
            "eth0".into(),
            Family::Inet,
            "static".into(),
            pairs(&[
                ("mtu", "9000"),
                ("pointopoint", "198.51.100.9"),
                ("address", "198.51.100.2/24"),
                ("gateway", "198.51.100.1"),
            ])
        )
    );
    assert_eq!(
        s[2],
        (
            "eth0".into(),
            Family::Inet6,
            "static".into(),
            pairs(&[("address", "2001:db8::2/64"), ("gateway", "2001:db8::1")])
        )
    );
    assert!(p.config.in_class("auto", "eth0"));
    let ng = p.ng.as_ref().unwrap();
    assert_eq!(
        ng.interface("eth0").unwrap().to_ng_text(),
        "auto eth0\niface eth0\n  use link\n  use static\n  address 198.51.100.2/24\n  \
         address 2001:db8::2/64\n  gateway 198.51.100.1\n  gateway 2001:db8::1\n  mtu 9000\n  \
         point-to-point 198.51.100.9\n\n"
    );
}

#[test]
fn ng_executors_templates_and_renames() {
    let text = "template base\n  mtu 1400\n  dhcp-vendor x\n\niface eth0\n  inherit base\n  \
                use dhcp\n  hostname h1\n\niface br0\n  use bridge\n  requires eth1 eth2\n\n\
                iface bond0\n  bond-slaves eth3 eth4\n  empty-option\n";
    let p = parse(text, DialectChoice::IfupdownNg);
    assert!(!p.rejected, "{:?}", p.diagnostics);
    let s = stanzas(&p);
    let names: Vec<&str> = s.iter().map(|x| x.0.as_str()).collect();
    assert_eq!(
        names,
        ["lo", "eth0", "br0", "bond0"],
        "templates make no stanza"
    );
    assert_eq!(s[1].2, "dhcp");
    assert_eq!(
        s[1].3,
        pairs(&[("mtu", "1400"), ("vendor", "x"), ("hostname", "h1")])
    );
    assert_eq!(s[2].2, "manual");
    assert_eq!(
        s[2].3,
        pairs(&[("requires", "eth1 eth2"), ("bridge-ports", "eth1 eth2")])
    );
    assert_eq!(
        s[3].3,
        pairs(&[("bond-slaves", "eth3 eth4"), ("empty-option", "")])
    );
    let ng = p.ng.as_ref().unwrap();
    let bond = ng.interface("bond0").unwrap();
    assert!(bond.uses("bond"));
    assert_eq!(bond.dependencies(), ["eth3", "eth4"]);
}

#[test]
fn ng_errors_name_the_line() {
    let p = parse(
        "iface eth0\n  address 198.51.100.300/24\n",
        DialectChoice::IfupdownNg,
    );
    assert!(p.rejected);
    let e = p.errors().next().unwrap();
    assert_eq!(e.location.map(|l| l.line), Some(2));
    assert!(matches!(&e.kind, DiagnosticKind::InvalidOption { iface, .. } if iface == "eth0"));
    let p = parse("iface eth0\n  inherit nowhere\n", DialectChoice::IfupdownNg);
    assert!(p.rejected);
}

#[test]
fn auto_keeps_debian_files_debian() {
    let debian = "auto eth0\niface eth0 inet static\n  address 198.51.100.2/24\n  use x\n";
    let p = parse(debian, DialectChoice::Auto);
    assert_eq!(p.dialect, Dialect::Debian);
    assert!(p.diagnostics.is_empty());
    // Refused by Debian and meant by both other dialects: stays refused.
    let either = "iface eth0\n  address 198.51.100.2/24\n";
    let p = parse(either, DialectChoice::Auto);
    assert_eq!(p.dialect, Dialect::Debian);
    assert!(p.rejected);
}

#[test]
fn auto_reads_ng_files_with_one_warning_naming_the_line() {
    let p = parse("auto eth0\niface eth0\n\tuse dhcp\n", DialectChoice::Auto);
    assert_eq!(p.dialect, Dialect::IfupdownNg);
    assert!(!p.rejected);
    assert_eq!(p.diagnostics.len(), 1);
    let d = &p.diagnostics[0];
    assert!(matches!(d.kind, DiagnosticKind::DialectDetected { .. }));
    assert_eq!(
        d.report(&p.config).split(": ").next(),
        Some("/etc/network/interfaces:3")
    );
    assert_eq!(stanzas(&p)[1].2, "dhcp");
}

#[test]
fn ifupdown2_stanzas_lowered() {
    let text = "auto all\niface swp[1-2]\n  address 198.51.100.1 2001:db8::1/64\n  \
                gateway 198.51.100.254\n  bridge_vids 10 $IFACE\n\
                iface eth0 inet dhcp\niface eth0 inet6 dhcp6\niface eth1:1 inet\n  \
                address 203.0.113.1/24\n";
    let p = parse(text, DialectChoice::Ifupdown2);
    assert!(!p.rejected, "{:?}", p.diagnostics);
    assert_eq!(p.dialect, Dialect::Ifupdown2);
    let s = stanzas(&p);
    assert_eq!(
        s[0],
        (
            "swp1".into(),
            Family::Inet,
            "static".into(),
            pairs(&[
                ("bridge-vids", "10 swp1"),
                ("address", "198.51.100.1/32"),
                ("gateway", "198.51.100.254"),
            ])
        )
    );
    assert_eq!(
        s[1],
        (
            "swp1".into(),
            Family::Inet6,
            "static".into(),
            pairs(&[("address", "2001:db8::1/64")])
        )
    );
    assert_eq!(s[2].0, "swp2");
    assert_eq!((s[4].1, s[4].2.as_str()), (Family::Inet, "dhcp"));
    assert_eq!((s[5].1, s[5].2.as_str()), (Family::Inet6, "dhcp"));
    assert_eq!((s[6].0.as_str(), s[6].2.as_str()), ("eth1", "static"));
    let auto = p.config.class("auto").unwrap();
    assert_eq!(auto.interfaces, ["swp1", "swp2", "eth0", "eth1"]);
    // `addr-method`/`addr-family` (the keys of ifupdown2's JSON stanzas).
    let p = parse(
        "iface eth2\n  addr-method dhcp\n  addr-family inet6\n  mtu 1400\n",
        DialectChoice::Ifupdown2,
    );
    assert!(!p.rejected, "{:?}", p.diagnostics);
    assert_eq!(
        stanzas(&p)[0],
        (
            "eth2".into(),
            Family::Inet6,
            "dhcp".into(),
            pairs(&[("link-mtu", "1400")])
        )
    );
    let o = &p.ifupdown2.as_ref().unwrap()[0];
    assert_eq!(o.method.as_deref(), Some("dhcp"));
    let p = parse(
        "iface eth2\n  addr-method bootp\n",
        DialectChoice::Ifupdown2,
    );
    assert!(p.rejected);
}

#[test]
fn ifupdown2_refusals_say_what() {
    let p = parse(
        "auto lo\n%for v in [1,2]:\niface swp${v.x}\n%endfor\n",
        DialectChoice::Ifupdown2,
    );
    assert!(p.rejected);
    let e = &p.diagnostics[0];
    assert_eq!(e.location.map(|l| l.line), Some(3));
    assert!(
        e.kind.to_string().contains("attribute access"),
        "{}",
        e.kind
    );
    // ifupdown2's `vlan` objects are BRIDGE.VID, as it says when it brings one up.
    let p = parse("vlan v10\n  vlan-id 10\n", DialectChoice::Ifupdown2);
    assert!(p.rejected);
    assert!(p.diagnostics[0].kind.to_string().contains("(eg. br0.100)"));
    let p = parse("iface eth0\n  mtu\n", DialectChoice::Ifupdown2);
    assert!(p.rejected);
    assert_eq!(p.diagnostics[0].location.map(|l| l.line), Some(2));
}

/// ifupdown2's own example (`docs/examples/interfaces_bridge_vlan_bond_vxlan_vrf`,
/// its template part): a `<% %>` block, a loop that changes its variables,
/// and the lines it makes keep the line they were written at.
#[test]
fn ifupdown2_templates_expand_as_mako() {
    let text = "auto lo\niface lo inet loopback\n\n<%\n    id = 5\n    access = 2\n%>\n\
                %for i in range(0,2):\nauto swp${id}\niface swp${id}\n      bridge-access \
                ${access}\n      mtu 9000\n<%\n    id += 1\n    access -= 1\n%>\n%endfor\n\
                %for v in [11, 12]:\n## a Mako comment\niface vlan${v}\n  address \
                198.51.100.${v + 1}/32 \\\n    2001:db8::${v}/128\n%endfor\n";
    let p = parse(text, DialectChoice::Ifupdown2);
    assert!(!p.rejected, "{:?}", p.diagnostics);
    let s = stanzas(&p);
    let names: Vec<&str> = s.iter().map(|x| x.0.as_str()).collect();
    assert_eq!(
        names,
        ["lo", "swp5", "swp6", "vlan11", "vlan11", "vlan12", "vlan12"]
    );
    assert_eq!(s[1].3, pairs(&[("bridge-access", "2"), ("mtu", "9000")]));
    assert_eq!(s[2].3, pairs(&[("bridge-access", "1"), ("mtu", "9000")]));
    assert_eq!(s[5].3, pairs(&[("address", "198.51.100.13/32")]));
    assert_eq!(s[6].3, pairs(&[("address", "2001:db8::12/128")]));
    let at = |i: usize| p.config.stanzas[i].location.map(|l| l.line);
    assert_eq!((at(1), at(2), at(3)), (Some(10), Some(10), Some(20)));
    assert!(p.config.in_class("auto", "swp6"));
}

/// ifupdown2's `vlan BRIDGE.VID` (its docs' `vlan_aware_bridges` example):
/// the layer-2 attributes of a VLAN of a bridge, no device. The `iface` of
/// the same name (the SVI) is a stanza; the `vlan` object is none, and what
/// it asks is said to be left undone.
#[test]
fn ifupdown2_vlan_objects_make_no_device() {
    let text = "auto bridge.4094\niface bridge.4094\n    address 198.51.100.252/24\n\n\
                auto bridge.4094\nvlan bridge.4094\n    bridge-igmp-querier-src 198.51.100.1\n\n\
                auto bridge\niface bridge\n    bridge-vlan-aware yes\n    bridge-ports swp1\n";
    let p = parse(text, DialectChoice::Ifupdown2);
    assert!(!p.rejected, "{:?}", p.diagnostics);
    let names: Vec<String> = stanzas(&p).into_iter().map(|s| s.0).collect();
    assert_eq!(names, ["bridge.4094", "bridge"]);
    let warning = &p.diagnostics[0];
    assert_eq!(warning.severity(), netconf_interfaces::Severity::Warning);
    assert_eq!(warning.location.map(|l| l.line), Some(7));
    assert!(warning.kind.to_string().contains("not applied"));
    let objects = p.ifupdown2.as_ref().unwrap();
    let vlan = objects.iter().find(|o| o.bridge_vlan).unwrap();
    assert_eq!((vlan.name.as_str(), vlan.auto), ("bridge.4094", true));
    assert_eq!(
        vlan.config,
        pairs(&[("bridge-igmp-querier-src", "198.51.100.1")])
    );
}

/// `mstpctl-*` settings the kernel's bridge has become its bridge options
/// (the bridge's own spelling wins), ifupdown2's `bridge-trunk` is
/// `bridge-vids`; `alias` is lowered to `ifalias` and a DHCP stanza's
/// `mtu` to `link-mtu`; what netconf does not do is a warning at its line.
#[test]
fn ifupdown2_mstpctl_and_what_is_not_applied() {
    let text = "iface br0\n  bridge-ports swp1\n  mstpctl-treeprio 4096\n  mstpctl-hello 3\n  \
                bridge-hello 2\n  bridge-trunk 10-11\n  mstpctl-portadminedge swp1=yes\n  alias uplink\n  \
                address-purge no\n  address-purge yes\n\
                iface eth0 inet dhcp\n  mtu 9000\n\
                iface eth1\n  mtu 9000\n  address 198.51.100.1/24\n";
    let p = parse(text, DialectChoice::Ifupdown2);
    assert!(!p.rejected, "{:?}", p.diagnostics);
    let s = stanzas(&p);
    assert_eq!(
        s[0].3,
        pairs(&[
            ("bridge-ports", "swp1"),
            ("bridge-bridgeprio", "4096"),
            ("bridge-hello", "2"),
            ("bridge-vids", "10-11"),
            ("mstpctl-portadminedge", "swp1=yes"),
            ("ifalias", "uplink"),
            ("address-purge", "no"),
            ("address-purge", "yes"),
        ])
    );
    let warned: Vec<(u32, String)> = p
        .diagnostics
        .iter()
        .map(|d| {
            let option = d.kind.to_string();
            let option = option.split('`').nth(1).unwrap_or_default().to_string();
            (d.location.map_or(0, |l| l.line), option)
        })
        .collect();
    assert_eq!(
        warned,
        [
            (7, "mstpctl-portadminedge".to_string()),
            (10, "address-purge".to_string()),
        ]
    );
    // A DHCP stanza's `mtu` is the link's, under the name the `dhcp`
    // method reads (Debian's has no `mtu`); a static one's stays `mtu`.
    assert_eq!(s[1].3, pairs(&[("link-mtu", "9000")]));
    assert_eq!(
        s[2].3,
        pairs(&[("mtu", "9000"), ("address", "198.51.100.1/24")])
    );
    // A PPP stanza's link is pppd's: its `mtu` and `alias` are warned of.
    let p = parse(
        "iface ppp0 inet ppp
  provider isp
  mtu 1492
  alias dsl
",
        DialectChoice::Ifupdown2,
    );
    let warned: Vec<String> = p.diagnostics.iter().map(|d| d.kind.to_string()).collect();
    assert_eq!(warned.len(), 2, "{warned:?}");
    assert!(warned[0].contains("`mtu` is not applied"), "{warned:?}");
    assert!(warned[1].contains("`alias` is not applied"), "{warned:?}");
    // Debian's dialect: `alias` is an option like any other (ifupdown has
    // none), left as written.
    let p = parse(
        "iface eth0 inet manual
  alias uplink
  mtu 9000
",
        DialectChoice::Debian,
    );
    let eth0 = stanzas(&p).into_iter().find(|s| s.0 == "eth0").unwrap();
    assert_eq!(eth0.3, pairs(&[("alias", "uplink"), ("mtu", "9000")]));
    assert!(p
        .diagnostics
        .iter()
        .all(|d| d.severity() == netconf_interfaces::Severity::Warning));
}

#[test]
fn auto_reads_ifupdown2_files_by_their_marks() {
    let p = parse(
        "auto eth0\niface eth0\n  address 198.51.100.2/24\n  address-purge no\n",
        DialectChoice::Auto,
    );
    assert_eq!(p.dialect, Dialect::Ifupdown2);
    assert!(!p.rejected, "{:?}", p.diagnostics);
    assert!(matches!(
        p.diagnostics[0].kind,
        DiagnosticKind::DialectDetected { .. }
    ));
    assert_eq!(p.diagnostics[0].location.map(|l| l.line), Some(4));
    // Marks of both: neither.
    let both = "iface eth0\n  use dhcp\n  address-purge no\n";
    assert_eq!(parse(both, DialectChoice::Auto).dialect, Dialect::Debian);
}

#[test]
fn ng_allow_lines_are_classes() {
    let p = parse(
        "allow-hotplug eth1\niface eth1\n  use dhcp\nallow-auto eth2\niface eth2\n",
        DialectChoice::IfupdownNg,
    );
    assert!(!p.rejected, "{:?}", p.diagnostics);
    assert!(p.config.in_class("hotplug", "eth1"));
    assert!(p.config.in_class("auto", "eth2"));
    assert!(!p
        .config
        .stanzas
        .iter()
        .any(|s| s.options.iter().any(|o| o.name.starts_with("allow"))));
}
