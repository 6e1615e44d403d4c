//! The address families and methods of Debian ifupdown 0.8.41's `*.defn` files
//! (Linux sections): their option defaults, the conversions `ifquery` shows,
//! and the options an `ifup` cannot do without.

use crate::model::Family;

/// How an option's value is rewritten before use (the `conversion` blocks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Convert {
    /// `cleanup_hwaddress`: drop a leading `ether`-style class, expand `random`.
    CleanupHwaddress,
    /// `compute_v4_mask`: netmask from `address`'s prefix or its class.
    V4Mask,
    /// `compute_v4_addr`: `address` without its prefix.
    V4Addr,
    /// `compute_v4_broadcast`: `+`/`-` to the broadcast/network address.
    V4Broadcast,
    /// `set_preferred_lft`: 0 for alias interfaces (`eth0:1`).
    PreferredLifetime,
    /// `get_token`: the `index`-th token split on `delims`, else `default`.
    Token {
        delims: &'static str,
        index: usize,
        default: Option<&'static str>,
    },
    /// `if_set`: a fixed value.
    Set(&'static str),
    /// `make_hex_address`: dotted quad to the `xxxx:xxxx` of a 6to4 prefix.
    HexAddress,
}

#[derive(Debug, Clone, Copy)]
pub struct Conversion {
    pub option: &'static str,
    /// Where the converted value goes; a trailing `?` leaves an existing one.
    pub new_option: Option<&'static str>,
    pub convert: Convert,
}

#[derive(Debug)]
pub struct MethodDef {
    pub name: &'static str,
    /// `[default]` values of the method's options, in definition order.
    pub defaults: &'static [(&'static str, &'static str)],
    pub conversions: &'static [Conversion],
    /// Options used outside `[[...]]` in the method's up commands: without
    /// them ifupdown's `ifup` fails with "missing required variable".
    pub required: &'static [&'static str],
}

pub struct FamilyDef {
    pub family: Family,
    pub methods: &'static [MethodDef],
}

const fn conv(
    option: &'static str,
    new_option: Option<&'static str>,
    convert: Convert,
) -> Conversion {
    Conversion {
        option,
        new_option,
        convert,
    }
}

const HWADDRESS: Conversion = conv("hwaddress", None, Convert::CleanupHwaddress);
const PREFERRED_LFT: Conversion = conv("preferred-lifetime", None, Convert::PreferredLifetime);

const fn method(
    name: &'static str,
    defaults: &'static [(&'static str, &'static str)],
    conversions: &'static [Conversion],
    required: &'static [&'static str],
) -> MethodDef {
    MethodDef {
        name,
        defaults,
        conversions,
        required,
    }
}

const INET: &[MethodDef] = &[
    method("loopback", &[], &[], &[]),
    method(
        "static",
        &[("broadcast", "+")],
        &[
            HWADDRESS,
            conv("address", Some("netmask?"), Convert::V4Mask),
            conv("address", None, Convert::V4Addr),
            conv("broadcast", None, Convert::V4Broadcast),
        ],
        &["address"],
    ),
    method("manual", &[], &[HWADDRESS], &[]),
    method("dhcp", &[], &[HWADDRESS], &[]),
    method("bootp", &[], &[], &[]),
    method(
        "tunnel",
        &[],
        &[],
        &["mode", "endpoint", "address", "netmask"],
    ),
    method("ppp", &[], &[], &[]),
    method("wvdial", &[], &[], &[]),
    method("ipv4ll", &[], &[], &[]),
];

const INET6: &[MethodDef] = &[
    method(
        "auto",
        &[
            ("accept_ra", "2"),
            ("request_prefix", "0"),
            ("ll-attempts", "60"),
            ("ll-interval", "0.1"),
        ],
        &[],
        &[],
    ),
    method("loopback", &[], &[], &[]),
    method(
        "static",
        &[
            ("autoconf", "0"),
            ("preferred-lifetime", ""),
            ("dad-attempts", "60"),
            ("dad-interval", "0.1"),
        ],
        &[
            HWADDRESS,
            PREFERRED_LFT,
            conv(
                "address",
                Some("netmask?"),
                Convert::Token {
                    delims: "/",
                    index: 1,
                    default: Some(""),
                },
            ),
            conv(
                "address",
                None,
                Convert::Token {
                    delims: "/",
                    index: 0,
                    default: Some(""),
                },
            ),
            conv("gateway", Some("accept_ra?"), Convert::Set("0")),
        ],
        &["address"],
    ),
    method("manual", &[], &[HWADDRESS], &[]),
    method(
        "dhcp",
        &[
            ("accept_ra", "1"),
            ("request_prefix", "0"),
            ("ll-attempts", "60"),
            ("ll-interval", "0.1"),
        ],
        &[HWADDRESS],
        &[],
    ),
    method("tunnel", &[], &[], &["mode", "endpoint"]),
    method(
        "v4tunnel",
        &[("preferred-lifetime", "")],
        &[PREFERRED_LFT],
        &["endpoint"],
    ),
    method(
        "6to4",
        &[("preferred-lifetime", "")],
        &[
            conv("local", Some("hexaddress"), Convert::HexAddress),
            PREFERRED_LFT,
        ],
        &["local"],
    ),
];

const IPX: &[MethodDef] = &[
    method("static", &[], &[], &["frame", "netnum"]),
    method("dynamic", &[], &[], &["frame"]),
];

const CAN: &[MethodDef] = &[method("static", &[], &[], &["bitrate"])];

const META: &[MethodDef] = &[method("none", &[], &[], &[])];

/// In ifupdown's lookup order (`addr_fams[]`).
pub const FAMILIES: &[FamilyDef] = &[
    FamilyDef {
        family: Family::Inet,
        methods: INET,
    },
    FamilyDef {
        family: Family::Inet6,
        methods: INET6,
    },
    FamilyDef {
        family: Family::Ipx,
        methods: IPX,
    },
    FamilyDef {
        family: Family::Can,
        methods: CAN,
    },
    FamilyDef {
        family: Family::Meta,
        methods: META,
    },
];

pub fn family_by_name(name: &str) -> Option<Family> {
    FAMILIES.iter().map(|f| f.family).find(|f| f.name() == name)
}

pub fn methods_of(family: Family) -> &'static [MethodDef] {
    FAMILIES
        .iter()
        .find(|f| f.family == family)
        .map_or(&[], |f| f.methods)
}

pub fn method_def(family: Family, method: &str) -> Option<&'static MethodDef> {
    methods_of(family).iter().find(|m| m.name == method)
}

/// The method names of a family, for error messages.
pub fn method_names(family: Family) -> Vec<&'static str> {
    methods_of(family).iter().map(|m| m.name).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups() {
        assert_eq!(family_by_name("inet6"), Some(Family::Inet6));
        assert_eq!(family_by_name("inet4"), None);
        assert!(method_def(Family::Inet, "static").is_some());
        assert!(method_def(Family::Inet6, "6to4").is_some());
        assert!(method_def(Family::Inet, "auto").is_none());
        assert_eq!(method_names(Family::Meta), vec!["none"]);
    }
}
