//! The XML of an interface document: reading with validation against the
//! rules of netcf's `interface.rng` (serial 4), and writing in the layout
//! netcf and libvirt print.
//!
//! The schema is small and fixed, so it is checked by hand rather than by a
//! RelaxNG engine: every rule of the grammar is one check below, and every
//! error names the element (`/interface[@name='br0']/bridge`), its
//! line:column and what was expected, all errors of a document at once.

use crate::document::{
    Address, Bond, Bridge, Carrier, Dhcp, Interface, Ipv4, Ipv6, Kind, Link, Monitor, StartMode,
    Vlan,
};
use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

/// Documents over this size are refused before parsing (a document is a
/// handful of elements; this bounds what a client can make us hold).
pub const MAX_DOCUMENT: usize = 1 << 20;

/// One thing wrong with a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XmlError {
    /// Where in the document: `/interface[@name='br0']/bridge/@stp`.
    pub path: String,
    pub line: u32,
    pub column: u32,
    pub message: String,
}

impl fmt::Display for XmlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: {}: {}",
            self.line, self.column, self.path, self.message
        )
    }
}

/// All the errors of one document, in document order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct XmlErrors(pub Vec<XmlError>);

impl fmt::Display for XmlErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl XmlErrors {
    /// netcf's category of the failure: the text was not XML at all, or it
    /// was XML that the schema refuses.
    pub fn category(&self) -> &'static str {
        if self
            .0
            .iter()
            .any(|e| e.message.starts_with("not well-formed XML"))
        {
            "XML parser failed"
        } else {
            "XML invalid"
        }
    }
}

/// Reads and validates one interface document.
pub fn parse(text: &str) -> Result<Interface, XmlErrors> {
    if text.len() > MAX_DOCUMENT {
        return Err(XmlErrors(vec![XmlError {
            path: "/".into(),
            line: 1,
            column: 1,
            message: format!(
                "the document is {} bytes; at most {MAX_DOCUMENT} are read",
                text.len()
            ),
        }]));
    }
    let doc = roxmltree::Document::parse(text).map_err(|e| {
        let pos = e.pos();
        XmlErrors(vec![XmlError {
            path: "/".into(),
            line: pos.row,
            column: pos.col,
            // roxmltree ends its message with the position we already give.
            message: format!(
                "not well-formed XML: {}",
                e.to_string()
                    .replace(&format!(" at {}:{}", pos.row, pos.col), "")
            ),
        }])
    })?;
    let mut reader = Reader {
        doc: &doc,
        errors: Vec::new(),
    };
    let root = doc.root_element();
    let interface = if element_name(root) != "interface" {
        reader.error(
            root,
            "/".into(),
            format!(
                "the document element is <{}>; expected <interface>",
                element_name(root)
            ),
        );
        None
    } else {
        reader.interface(root, String::new(), Level::Top)
    };
    match interface {
        Some(i) if reader.errors.is_empty() => Ok(i),
        _ => Err(XmlErrors(reader.errors)),
    }
}

/// Where an `<interface>` stands, which decides what it may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    /// The document's connection: start mode, MTU, addressing.
    Top,
    /// A bridge port: a bare ethernet, vlan or bond.
    BridgePort,
    /// A bond slave: a bare ethernet only.
    BondSlave,
}

struct Reader<'a, 'input> {
    doc: &'a roxmltree::Document<'input>,
    errors: Vec<XmlError>,
}

type Node<'a, 'input> = roxmltree::Node<'a, 'input>;

impl<'a, 'input> Reader<'a, 'input> {
    fn error(&mut self, node: Node<'_, 'input>, path: String, message: String) {
        let pos = self.doc.text_pos_at(node.range().start);
        self.errors.push(XmlError {
            path,
            line: pos.row,
            column: pos.col,
            message,
        });
    }

    fn attr_error(&mut self, node: Node<'_, 'input>, path: &str, attr: &str, message: String) {
        let start = node
            .attribute_node(attr)
            .map(|a| a.range().start)
            .unwrap_or(node.range().start);
        let pos = self.doc.text_pos_at(start);
        self.errors.push(XmlError {
            path: format!("{path}/@{attr}"),
            line: pos.row,
            column: pos.col,
            message,
        });
    }

    /// The element's child elements, after refusing stray text, attributes
    /// outside `allowed` and elements in a namespace.
    fn children<'n>(
        &mut self,
        node: Node<'n, 'input>,
        path: &str,
        allowed: &[&str],
    ) -> Vec<Node<'n, 'input>> {
        for attr in node.attributes() {
            if attr.namespace().is_some() || !allowed.contains(&attr.name()) {
                let expected = if allowed.is_empty() {
                    "none".to_string()
                } else {
                    allowed.join(", ")
                };
                let name = match attr.namespace().and_then(|ns| node.lookup_prefix(ns)) {
                    Some(prefix) => format!("{prefix}:{}", attr.name()),
                    None => attr.name().to_string(),
                };
                let pos = self.doc.text_pos_at(attr.range().start);
                self.errors.push(XmlError {
                    path: format!("{path}/@{name}"),
                    line: pos.row,
                    column: pos.col,
                    message: format!("unexpected attribute (expected: {expected})"),
                });
            }
        }
        let mut elements = Vec::new();
        for child in node.children() {
            if child.is_text() {
                if !child.text().unwrap_or_default().trim().is_empty() {
                    self.error(child, path.to_string(), "unexpected text".into());
                }
            } else if child.is_element() {
                elements.push(child);
            }
        }
        elements
    }

    /// An attribute that must be there.
    fn required<'n>(&mut self, node: Node<'n, 'input>, path: &str, attr: &str) -> Option<&'n str> {
        let value = node.attribute(attr);
        if value.is_none() {
            self.error(
                node,
                path.to_string(),
                format!("missing attribute `{attr}`"),
            );
        }
        value
    }

    /// An attribute parsed by `parse`, `what` naming the expected form.
    fn typed<T>(
        &mut self,
        node: Node<'_, 'input>,
        path: &str,
        attr: &str,
        what: &str,
        parse: impl Fn(&str) -> Option<T>,
    ) -> Option<T> {
        let value = node.attribute(attr)?;
        let parsed = parse(value);
        if parsed.is_none() {
            self.attr_error(node, path, attr, format!("`{value}` is not {what}"));
        }
        parsed
    }

    fn one_of(
        &mut self,
        node: Node<'_, 'input>,
        path: &str,
        attr: &str,
        choices: &[&str],
    ) -> Option<String> {
        let what = format!("one of {}", choices.join(", "));
        self.typed(node, path, attr, &what, |v| {
            choices.contains(&token(v)).then(|| token(v).to_string())
        })
    }

    fn interface(
        &mut self,
        node: Node<'a, 'input>,
        parent: String,
        level: Level,
    ) -> Option<Interface> {
        let name_attr = node.attribute("name");
        let path = match name_attr {
            Some(n) => format!("{parent}/interface[@name='{n}']"),
            None => format!("{parent}/interface"),
        };
        let allowed: &[&str] = &["type", "name"];
        let children = self.children(node, &path, allowed);
        let type_name = self.required(node, &path, "type")?;
        let allowed_types: &[&str] = match level {
            Level::Top => &["ethernet", "bridge", "bond", "vlan"],
            Level::BridgePort => &["ethernet", "bond", "vlan"],
            Level::BondSlave => &["ethernet"],
        };
        if !allowed_types.contains(&type_name) {
            let place = match level {
                Level::Top => "a document",
                Level::BridgePort => "a bridge port",
                Level::BondSlave => "a bond slave",
            };
            self.attr_error(
                node,
                &path,
                "type",
                format!(
                    "`{type_name}` cannot be {place} (expected: {})",
                    allowed_types.join(", ")
                ),
            );
            return None;
        }
        let name = match name_attr {
            Some(n) => {
                if let Err(why) = check_device_name(n) {
                    self.attr_error(node, &path, "name", why);
                }
                Some(n.to_string())
            }
            None if type_name == "vlan" => None,
            None => {
                self.error(node, path.clone(), "missing attribute `name`".into());
                None
            }
        };

        let bare = level != Level::Top;
        let mut allowed_children: Vec<&str> = vec!["link"];
        if !bare {
            allowed_children.extend(["start", "mtu", "protocol"]);
        }
        match type_name {
            "ethernet" => allowed_children.push("mac"),
            "bridge" => allowed_children.push("bridge"),
            "bond" => allowed_children.push("bond"),
            _ => allowed_children.push("vlan"),
        }

        let mut interface = Interface::bare(name.as_deref().unwrap_or_default(), Kind::Ethernet);
        let mut kind = None;
        let mut seen: Vec<String> = Vec::new();
        for child in children {
            let name = element_name(child);
            let tag = name.as_str();
            let child_path = format!("{path}/{tag}");
            if !allowed_children.contains(&tag) {
                self.error(
                    child,
                    child_path,
                    format!(
                        "unexpected element <{tag}> in {}<interface type=\"{type_name}\"> (expected: {})",
                        if bare { "a nested " } else { "" },
                        allowed_children.join(", ")
                    ),
                );
                continue;
            }
            // Each element once; `protocol` checks its own, once per family.
            let key = tag;
            if seen.iter().any(|s| s == key) && key != "protocol" {
                self.error(
                    child,
                    child_path,
                    format!("a second <{key}>; at most one is allowed"),
                );
                continue;
            }
            seen.push(key.to_string());
            match tag {
                "start" => {
                    self.children(child, &child_path, &["mode"]);
                    if self.required(child, &child_path, "mode").is_some() {
                        interface.start = self.typed(
                            child,
                            &child_path,
                            "mode",
                            "onboot, none or hotplug",
                            |v| StartMode::from_name(token(v)),
                        );
                    }
                }
                "mtu" => {
                    self.children(child, &child_path, &["size"]);
                    if self.required(child, &child_path, "size").is_some() {
                        interface.mtu = self.typed(
                            child,
                            &child_path,
                            "size",
                            "an unsigned integer",
                            parse_uint,
                        );
                    }
                }
                "mac" => {
                    self.children(child, &child_path, &["address"]);
                    if self.required(child, &child_path, "address").is_some() {
                        interface.mac = self.typed(
                            child,
                            &child_path,
                            "address",
                            "a MAC address (six hex pairs with colons)",
                            |v| is_mac(v).then(|| v.to_string()),
                        );
                    }
                }
                "link" => interface.link = Some(self.link(child, &child_path)),
                "protocol" => self.protocol(child, &child_path, &mut interface),
                "bridge" => kind = self.bridge(child, &child_path).map(Kind::Bridge),
                "bond" => kind = self.bond(child, &child_path).map(Kind::Bond),
                "vlan" => kind = self.vlan(child, &child_path).map(Kind::Vlan),
                _ => {}
            }
        }
        interface.kind = match type_name {
            "ethernet" => Kind::Ethernet,
            other => match kind {
                Some(k) => k,
                None => {
                    if !seen.iter().any(|s| s == other) {
                        self.error(node, path.clone(), format!("missing element <{other}>"));
                    }
                    return None;
                }
            },
        };
        // The schema leaves a vlan's name out: it is then its device and tag.
        if let (Kind::Vlan(vlan), None) = (&interface.kind, &name) {
            interface.name = format!("{}.{}", vlan.parent, vlan.tag);
        }
        Some(interface)
    }

    fn link(&mut self, node: Node<'_, 'input>, path: &str) -> Link {
        self.children(node, path, &["speed", "state"]);
        Link {
            speed: self.typed(node, path, "speed", "an unsigned integer", parse_uint),
            state: self.one_of(node, path, "state", Link::STATES),
        }
    }

    fn protocol(&mut self, node: Node<'a, 'input>, path: &str, interface: &mut Interface) {
        let Some(family) = self.required(node, path, "family") else {
            return;
        };
        let path = format!("{path}[@family='{family}']");
        let children = self.children(node, &path, &["family"]);
        match family {
            "ipv4" if interface.ipv4.is_none() => {
                let mut v4 = Ipv4::default();
                self.addressing(
                    children,
                    &path,
                    false,
                    |r, tag, child, child_path| match tag {
                        "dhcp" => v4.dhcp = Some(r.dhcp(child, child_path)),
                        "ip" => {
                            if let Some(a) = r.ip(child, child_path, 32) {
                                v4.addresses.push(a);
                            }
                        }
                        _ => v4.gateway = r.gateway(child, child_path),
                    },
                );
                interface.ipv4 = Some(v4);
            }
            "ipv6" if interface.ipv6.is_none() => {
                let mut v6 = Ipv6::default();
                self.addressing(
                    children,
                    &path,
                    true,
                    |r, tag, child, child_path| match tag {
                        "autoconf" => {
                            r.children(child, child_path, &[]);
                            v6.autoconf = true;
                        }
                        "dhcp" => v6.dhcp = Some(r.dhcp(child, child_path)),
                        "ip" => {
                            if let Some(a) = r.ip(child, child_path, 128) {
                                v6.addresses.push(a);
                            }
                        }
                        _ => v6.gateway = r.gateway(child, child_path),
                    },
                );
                interface.ipv6 = Some(v6);
            }
            "ipv4" | "ipv6" => self.error(
                node,
                path,
                format!("a second <protocol family=\"{family}\">; at most one per family"),
            ),
            other => self.attr_error(
                node,
                &path,
                "family",
                format!("`{other}` is not ipv4 or ipv6"),
            ),
        }
    }

    /// The children of a `<protocol>`: `ip` any number of times, the others
    /// at most once; `visit` reads each.
    fn addressing(
        &mut self,
        children: Vec<Node<'a, 'input>>,
        path: &str,
        ipv6: bool,
        mut visit: impl FnMut(&mut Self, &str, Node<'a, 'input>, &str),
    ) {
        let allowed: &[&str] = if ipv6 {
            &["autoconf", "dhcp", "ip", "route"]
        } else {
            &["dhcp", "ip", "route"]
        };
        let mut seen: Vec<String> = Vec::new();
        for child in children {
            let name = element_name(child);
            let tag = name.as_str();
            let child_path = format!("{path}/{tag}");
            if !allowed.contains(&tag) {
                self.error(
                    child,
                    child_path,
                    format!(
                        "unexpected element <{tag}> (expected: {})",
                        allowed.join(", ")
                    ),
                );
                continue;
            }
            if tag != "ip" {
                if seen.iter().any(|s| s == tag) {
                    self.error(
                        child,
                        child_path,
                        format!("a second <{tag}>; at most one is allowed"),
                    );
                    continue;
                }
                seen.push(tag.to_string());
            }
            visit(self, tag, child, &child_path);
        }
    }

    fn dhcp(&mut self, node: Node<'_, 'input>, path: &str) -> Dhcp {
        self.children(node, path, &["peerdns"]);
        Dhcp {
            peerdns: self.typed(node, path, "peerdns", "yes or no", |v| match token(v) {
                "yes" => Some(true),
                "no" => Some(false),
                _ => None,
            }),
        }
    }

    fn ip<A: FromStr>(
        &mut self,
        node: Node<'_, 'input>,
        path: &str,
        max_prefix: u8,
    ) -> Option<Address<A>> {
        self.children(node, path, &["address", "prefix"]);
        self.required(node, path, "address")?;
        let family = if max_prefix == 32 {
            "an IPv4"
        } else {
            "an IPv6"
        };
        let address = self.typed(node, path, "address", &format!("{family} address"), |v| {
            A::from_str(v).ok()
        });
        let prefix = self.typed(
            node,
            path,
            "prefix",
            &format!("a prefix length from 0 to {max_prefix}"),
            |v| {
                parse_uint(v)
                    .filter(|p| *p <= u32::from(max_prefix))
                    .map(|p| p as u8)
            },
        );
        let bad_prefix = node.attribute("prefix").is_some() && prefix.is_none();
        match address {
            Some(address) if !bad_prefix => Some(Address { address, prefix }),
            _ => None,
        }
    }

    fn gateway<A: FromStr>(&mut self, node: Node<'_, 'input>, path: &str) -> Option<A> {
        self.children(node, path, &["gateway"]);
        self.required(node, path, "gateway")?;
        self.typed(
            node,
            path,
            "gateway",
            "an address of the protocol's family",
            |v| A::from_str(v).ok(),
        )
    }

    fn bridge(&mut self, node: Node<'a, 'input>, path: &str) -> Option<Bridge> {
        let children = self.children(node, path, &["stp", "delay"]);
        let stp = self.typed(node, path, "stp", "on or off", |v| match token(v) {
            "on" => Some(true),
            "off" => Some(false),
            _ => None,
        });
        let delay = self.typed(
            node,
            path,
            "delay",
            "a non-negative number of seconds",
            |v| {
                v.parse::<f64>()
                    .ok()
                    .filter(|d| d.is_finite() && *d >= 0.0)
                    .map(|_| v.to_string())
            },
        );
        let mut ports = Vec::new();
        for child in children {
            if element_name(child) != "interface" {
                self.error(
                    child,
                    format!("{path}/{}", element_name(child)),
                    "unexpected element in <bridge> (expected: interface)".into(),
                );
                continue;
            }
            if let Some(port) = self.interface(child, path.to_string(), Level::BridgePort) {
                ports.push(port);
            }
        }
        Some(Bridge { stp, delay, ports })
    }

    fn bond(&mut self, node: Node<'a, 'input>, path: &str) -> Option<Bond> {
        let children = self.children(node, path, &["mode"]);
        let mode = self.one_of(node, path, "mode", Bond::MODES);
        let mut monitor = None;
        let mut slaves = Vec::new();
        for child in children {
            let name = element_name(child);
            let tag = name.as_str();
            let child_path = format!("{path}/{tag}");
            match tag {
                "miimon" | "arpmon" if monitor.is_some() => self.error(
                    child,
                    child_path,
                    "a second monitor; a bond has miimon or arpmon, once".into(),
                ),
                "miimon" => {
                    self.children(child, &child_path, &["freq", "downdelay", "updelay", "carrier"]);
                    self.required(child, &child_path, "freq");
                    let freq = self.typed(child, &child_path, "freq", "an unsigned integer", parse_uint);
                    let downdelay =
                        self.typed(child, &child_path, "downdelay", "an unsigned integer", parse_uint);
                    let updelay =
                        self.typed(child, &child_path, "updelay", "an unsigned integer", parse_uint);
                    let carrier = self.typed(child, &child_path, "carrier", "ioctl or netif", |v| {
                        match token(v) {
                            "ioctl" => Some(Carrier::Ioctl),
                            "netif" => Some(Carrier::Netif),
                            _ => None,
                        }
                    });
                    monitor = Some(freq.map(|freq| Monitor::Mii {
                        freq,
                        downdelay,
                        updelay,
                        carrier,
                    }));
                }
                "arpmon" => {
                    self.children(child, &child_path, &["interval", "target", "validate"]);
                    self.required(child, &child_path, "interval");
                    self.required(child, &child_path, "target");
                    let interval =
                        self.typed(child, &child_path, "interval", "an unsigned integer", parse_uint);
                    let target = self.typed(child, &child_path, "target", "an IPv4 address", |v| {
                        Ipv4Addr::from_str(v).ok()
                    });
                    let validate = self.one_of(child, &child_path, "validate", Monitor::ARP_VALIDATE);
                    monitor = Some(interval.zip(target).map(|(interval, target)| Monitor::Arp {
                        interval,
                        target,
                        validate,
                    }));
                }
                "interface" => {
                    if let Some(slave) = self.interface(child, path.to_string(), Level::BondSlave) {
                        slaves.push(slave);
                    }
                }
                _ => self.error(
                    child,
                    child_path,
                    format!("unexpected element <{tag}> in <bond> (expected: miimon, arpmon, interface)"),
                ),
            }
        }
        if slaves.is_empty() && !children_named(node, "interface") {
            self.error(
                node,
                path.to_string(),
                "a bond needs at least one <interface> slave".into(),
            );
            return None;
        }
        Some(Bond {
            mode,
            monitor: monitor.flatten(),
            slaves,
        })
    }

    fn vlan(&mut self, node: Node<'a, 'input>, path: &str) -> Option<Vlan> {
        let children = self.children(node, path, &["tag"]);
        self.required(node, path, "tag");
        let tag = self.typed(node, path, "tag", "a vlan id from 0 to 4095", |v| {
            parse_uint(v).filter(|t| *t <= 4095).map(|t| t as u16)
        });
        let mut parent = None;
        for child in children {
            let child_path = format!("{path}/{}", element_name(child));
            if element_name(child) != "interface" || parent.is_some() {
                self.error(
                    child,
                    child_path,
                    "a <vlan> holds exactly one <interface name=...>, its device".into(),
                );
                continue;
            }
            self.children(child, &child_path, &["name"]);
            if let Some(name) = self.required(child, &child_path, "name") {
                if let Err(why) = check_device_name(name) {
                    self.attr_error(child, &child_path, "name", why);
                }
                parent = Some(name.to_string());
            }
        }
        if parent.is_none() && !children_named(node, "interface") {
            self.error(
                node,
                path.to_string(),
                "missing element <interface name=...>, the vlan's device".into(),
            );
        }
        Some(Vlan {
            tag: tag?,
            parent: parent?,
        })
    }
}

/// An element's name as written: `prefix:local` when it is in a namespace,
/// which no element of the schema is.
fn element_name(node: Node) -> String {
    let tag = node.tag_name();
    match tag.namespace() {
        Some(ns) => format!("{}:{}", node.lookup_prefix(ns).unwrap_or("?"), tag.name()),
        None => tag.name().to_string(),
    }
}

fn children_named(node: Node, name: &str) -> bool {
    node.children()
        .any(|c| c.is_element() && c.tag_name().name() == name)
}

/// An attribute value as the schema's `token` and number types see it:
/// XML's blanks at both ends collapsed away (`size="1500 "` is 1500).
/// Addresses and names are strings, taken as written.
fn token(v: &str) -> &str {
    v.trim_matches([' ', '\t', '\r', '\n'])
}

/// The schema's `uint`: digits only (no sign), within u32.
fn parse_uint(v: &str) -> Option<u32> {
    let v = token(v);
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    v.parse().ok()
}

/// Six hex pairs with colons, as the schema's `mac-addr`.
pub fn is_mac(v: &str) -> bool {
    let parts: Vec<&str> = v.split(':').collect();
    parts.len() == 6
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The schema's `device-name` pattern, narrowed to what the kernel and a
/// file name in interfaces.d accept: 1 to 15 bytes of letters, digits and
/// `_.-:`, not `.` or `..`.
pub fn check_device_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 15 {
        return Err(format!(
            "`{name}` is not an interface name (1 to 15 characters)"
        ));
    }
    if name == "." || name == ".." {
        return Err(format!("`{name}` is not an interface name"));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | ':')))
    {
        return Err(format!(
            "`{name}` is not an interface name (`{c}` is not a letter, digit, `_`, `.`, `-` or `:`)"
        ));
    }
    Ok(())
}

/// The document as XML text, indented as netcf and libvirt print it.
pub fn write(interface: &Interface) -> String {
    let mut out = String::new();
    write_interface(&mut out, interface, 0);
    out
}

fn write_interface(out: &mut String, i: &Interface, depth: usize) {
    let pad = "  ".repeat(depth);
    let mut inner = String::new();
    let ipad = "  ".repeat(depth + 1);
    if let Some(start) = i.start {
        inner.push_str(&format!("{ipad}<start mode=\"{}\"/>\n", start.name()));
    }
    if let Some(mtu) = i.mtu {
        inner.push_str(&format!("{ipad}<mtu size=\"{mtu}\"/>\n"));
    }
    if let Some(mac) = &i.mac {
        inner.push_str(&format!("{ipad}<mac address=\"{}\"/>\n", escape(mac)));
    }
    if let Some(link) = &i.link {
        inner.push_str(&format!("{ipad}<link"));
        if let Some(speed) = link.speed {
            inner.push_str(&format!(" speed=\"{speed}\""));
        }
        if let Some(state) = &link.state {
            inner.push_str(&format!(" state=\"{}\"", escape(state)));
        }
        inner.push_str("/>\n");
    }
    if let Some(v4) = &i.ipv4 {
        let addressing = (false, v4.dhcp, &v4.addresses[..], v4.gateway);
        write_protocol(&mut inner, depth + 1, "ipv4", addressing);
    }
    if let Some(v6) = &i.ipv6 {
        let addressing = (v6.autoconf, v6.dhcp, &v6.addresses[..], v6.gateway);
        write_protocol(&mut inner, depth + 1, "ipv6", addressing);
    }
    match &i.kind {
        Kind::Ethernet => {}
        Kind::Bridge(b) => {
            let mut open = "bridge".to_string();
            if let Some(stp) = b.stp {
                open.push_str(if stp { " stp=\"on\"" } else { " stp=\"off\"" });
            }
            if let Some(delay) = &b.delay {
                open.push_str(&format!(" delay=\"{}\"", escape(delay)));
            }
            let mut ports = String::new();
            for port in &b.ports {
                write_interface(&mut ports, port, depth + 2);
            }
            element(&mut inner, depth + 1, &open, "bridge", &ports);
        }
        Kind::Bond(b) => {
            let mut open = "bond".to_string();
            if let Some(mode) = &b.mode {
                open.push_str(&format!(" mode=\"{}\"", escape(mode)));
            }
            let mut body = String::new();
            let mpad = "  ".repeat(depth + 2);
            match &b.monitor {
                Some(Monitor::Mii {
                    freq,
                    downdelay,
                    updelay,
                    carrier,
                }) => {
                    body.push_str(&format!("{mpad}<miimon freq=\"{freq}\""));
                    if let Some(d) = downdelay {
                        body.push_str(&format!(" downdelay=\"{d}\""));
                    }
                    if let Some(u) = updelay {
                        body.push_str(&format!(" updelay=\"{u}\""));
                    }
                    match carrier {
                        Some(Carrier::Ioctl) => body.push_str(" carrier=\"ioctl\""),
                        Some(Carrier::Netif) => body.push_str(" carrier=\"netif\""),
                        None => {}
                    }
                    body.push_str("/>\n");
                }
                Some(Monitor::Arp {
                    interval,
                    target,
                    validate,
                }) => {
                    body.push_str(&format!(
                        "{mpad}<arpmon interval=\"{interval}\" target=\"{target}\""
                    ));
                    if let Some(v) = validate {
                        body.push_str(&format!(" validate=\"{}\"", escape(v)));
                    }
                    body.push_str("/>\n");
                }
                None => {}
            }
            for slave in &b.slaves {
                write_interface(&mut body, slave, depth + 2);
            }
            element(&mut inner, depth + 1, &open, "bond", &body);
        }
        Kind::Vlan(v) => {
            let body = format!(
                "{}<interface name=\"{}\"/>\n",
                "  ".repeat(depth + 2),
                escape(&v.parent)
            );
            element(
                &mut inner,
                depth + 1,
                &format!("vlan tag=\"{}\"", v.tag),
                "vlan",
                &body,
            );
        }
    }
    let open = format!(
        "interface type=\"{}\" name=\"{}\"",
        i.kind.type_name(),
        escape(&i.name)
    );
    out.push_str(&pad);
    element_at(out, &pad, &open, "interface", &inner);
}

/// A `<protocol>`: autoconfiguration, DHCP, addresses, gateway.
fn write_protocol<A: fmt::Display>(
    out: &mut String,
    depth: usize,
    family: &str,
    (autoconf, dhcp, addresses, gateway): (bool, Option<Dhcp>, &[Address<A>], Option<A>),
) {
    let pad = "  ".repeat(depth + 1);
    let mut p = String::new();
    if autoconf {
        p.push_str(&format!("{pad}<autoconf/>\n"));
    }
    write_dhcp(&mut p, dhcp, depth + 1);
    write_ips(&mut p, addresses, depth + 1);
    if let Some(gw) = gateway {
        p.push_str(&format!("{pad}<route gateway=\"{gw}\"/>\n"));
    }
    let open = format!("protocol family=\"{family}\"");
    element(out, depth, &open, "protocol", &p);
}

fn write_dhcp(out: &mut String, dhcp: Option<Dhcp>, depth: usize) {
    let Some(dhcp) = dhcp else { return };
    out.push_str(&"  ".repeat(depth));
    match dhcp.peerdns {
        Some(true) => out.push_str("<dhcp peerdns=\"yes\"/>\n"),
        Some(false) => out.push_str("<dhcp peerdns=\"no\"/>\n"),
        None => out.push_str("<dhcp/>\n"),
    }
}

fn write_ips<A: fmt::Display>(out: &mut String, ips: &[Address<A>], depth: usize) {
    for ip in ips {
        out.push_str(&format!(
            "{}<ip address=\"{}\"",
            "  ".repeat(depth),
            ip.address
        ));
        if let Some(prefix) = ip.prefix {
            out.push_str(&format!(" prefix=\"{prefix}\""));
        }
        out.push_str("/>\n");
    }
}

/// `<open>body</close>` at `depth`, or `<open/>` when the body is empty.
fn element(out: &mut String, depth: usize, open: &str, close: &str, body: &str) {
    let pad = "  ".repeat(depth);
    out.push_str(&pad);
    element_at(out, &pad, open, close, body);
}

fn element_at(out: &mut String, pad: &str, open: &str, close: &str, body: &str) {
    if body.is_empty() {
        out.push_str(&format!("<{open}/>\n"));
    } else {
        out.push_str(&format!("<{open}>\n{body}{pad}</{close}>\n"));
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(text: &str) -> Vec<String> {
        match parse(text) {
            Ok(i) => panic!("accepted: {i:?}"),
            Err(e) => e.0.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn a_bridge_reads_and_writes_back() {
        let text = r#"<interface type="bridge" name="br0">
  <start mode="onboot"/>
  <mtu size="1500"/>
  <protocol family="ipv4">
    <ip address="198.51.100.10" prefix="24"/>
    <route gateway="198.51.100.1"/>
  </protocol>
  <bridge stp="off" delay="0.01">
    <interface type="ethernet" name="eth0">
      <mac address="ab:bb:cc:dd:ee:ff"/>
    </interface>
    <interface type="vlan" name="eth1.42">
      <vlan tag="42">
        <interface name="eth1"/>
      </vlan>
    </interface>
  </bridge>
</interface>
"#;
        let i = parse(text).unwrap();
        assert_eq!(i.names(), ["br0", "eth0", "eth1.42"]);
        assert_eq!(write(&i), text);
    }

    #[test]
    fn every_error_is_named_with_its_place() {
        let e = errors(
            "<interface type=\"bridge\" name=\"br0\">\n  <start mode=\"always\"/>\n  <bridge stp=\"maybe\">\n    <interface type=\"bridge\" name=\"br1\"><bridge/></interface>\n  </bridge>\n  <colour/>\n</interface>\n",
        );
        assert_eq!(
            e,
            [
                "2:10: /interface[@name='br0']/start/@mode: `always` is not onboot, none or hotplug",
                "3:11: /interface[@name='br0']/bridge/@stp: `maybe` is not on or off",
                "4:16: /interface[@name='br0']/bridge/interface[@name='br1']/@type: `bridge` cannot be a bridge port (expected: ethernet, bond, vlan)",
                "6:3: /interface[@name='br0']/colour: unexpected element <colour> in <interface type=\"bridge\"> (expected: link, start, mtu, protocol, bridge)",
            ]
        );
    }

    #[test]
    fn malformed_xml_says_where() {
        let e = errors("<interface type=\"ethernet\" name=\"eth0\">\n  <start mode=\"onboot\">\n</interface>\n");
        assert_eq!(e.len(), 1);
        assert_eq!(
            e[0],
            "3:1: /: not well-formed XML: expected 'start' tag, not 'interface'"
        );
    }

    #[test]
    fn names_that_could_leave_interfaces_d_are_refused() {
        let e = errors("<interface type=\"ethernet\" name=\"../x\"/>");
        assert!(e[0].contains("`/` is not a letter"), "{e:?}");
        let e = errors("<interface type=\"ethernet\" name=\"abcdefghijklmnop\"/>");
        assert!(e[0].contains("1 to 15"), "{e:?}");
    }

    #[test]
    fn a_vlan_is_named_by_its_device_and_tag() {
        let i = parse("<interface type=\"vlan\"><vlan tag=\"7\"><interface name=\"eth0\"/></vlan></interface>").unwrap();
        assert_eq!(i.name, "eth0.7");
    }
}
