//! Tunnels in `ifquery --running` and `--check`: a tunnel link's mode,
//! endpoints, TTL and encapsulation limit, read from the kernel's dump
//! (`Link::details`) and shown or judged option by option.
//!
//! `--running` writes them in ifupdown2's spelling (`tunnel-mode`,
//! `tunnel-local`, `tunnel-endpoint`, `tunnel-ttl`), which netconf reads
//! back as the same link: the output stays an interfaces file that
//! `--check` passes. `--check` judges Debian's method options (`mode`,
//! `endpoint`, `local`, `ttl`, `encaplimit`) and ifupdown2's and
//! ifupdown-ng's (`tunnel-*`) against the tunnel the stanza asks for.

use netconf_kernel::netlink::{Link, LinkKind, TunnelAttrs};
use netconf_methods::links::{stanza_links, LinkSpecKind};
use netconf_methods::provider::StanzaConfig;

/// What the kernel says to one option: passed or not, and its own value.
pub type Judgement = (bool, Option<String>);

/// The kernel's tunnel of `link`, if it is one.
pub fn kernel_tunnel(link: &Link) -> Option<&TunnelAttrs> {
    match &link.details {
        Some(LinkKind::Tunnel(t)) => Some(t),
        _ => None,
    }
}

/// The tunnel the stanza asks for, if any.
pub fn wanted_tunnel(config: &StanzaConfig) -> Option<TunnelAttrs> {
    match stanza_links(config).ok()?.link?.kind {
        LinkSpecKind::Tunnel(spec) => Some(spec.attrs),
        _ => None,
    }
}

fn addr(a: Option<std::net::IpAddr>) -> String {
    a.map_or("any".to_string(), |a| a.to_string())
}

fn ttl(t: Option<u8>) -> String {
    t.map_or("inherit".to_string(), |t| t.to_string())
}

/// The judgement of a tunnel option, `None` when `option` is none.
/// (The underlay, `tunnel-dev`, is judged by name nowhere: the kernel
/// keeps an ifindex.)
pub fn judge(option: &str, want: &TunnelAttrs, have: Option<&TunnelAttrs>) -> Option<Judgement> {
    let Some(have) = have else {
        let known = matches!(
            option,
            "mode"
                | "endpoint"
                | "local"
                | "ttl"
                | "encaplimit"
                | "tunnel-mode"
                | "tunnel-local"
                | "tunnel-endpoint"
                | "tunnel-remote"
                | "tunnel-ttl"
        );
        return known.then_some((false, Some("not a tunnel".to_string())));
    };
    Some(match option {
        "mode" | "tunnel-mode" => (want.mode == have.mode, Some(have.mode.to_string())),
        "endpoint" | "tunnel-endpoint" | "tunnel-remote" => {
            (want.remote == have.remote, Some(addr(have.remote)))
        }
        "local" | "tunnel-local" => (want.local == have.local, Some(addr(have.local))),
        "ttl" | "tunnel-ttl" => (want.ttl == have.ttl, Some(ttl(have.ttl))),
        "encaplimit" => (
            want.encap_limit == have.encap_limit,
            have.encap_limit.map(|e| e.to_string()),
        ),
        _ => return None,
    })
}

/// `--running`'s lines for a tunnel link, in ifupdown2's spelling.
pub fn running_options(link: &Link) -> Vec<(&'static str, String)> {
    let Some(t) = kernel_tunnel(link) else {
        return Vec::new();
    };
    let mut out = vec![("tunnel-mode", t.mode.to_string())];
    if let Some(local) = t.local {
        out.push(("tunnel-local", local.to_string()));
    }
    if let Some(remote) = t.remote {
        out.push(("tunnel-endpoint", remote.to_string()));
    }
    if let Some(ttl) = t.ttl {
        out.push(("tunnel-ttl", ttl.to_string()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use netconf_kernel::netlink::TunnelMode;

    #[test]
    fn options_judged_against_the_kernel() {
        let want = TunnelAttrs {
            remote: Some("198.51.100.2".parse().unwrap()),
            ttl: Some(64),
            ..TunnelAttrs::new(TunnelMode::Gre)
        };
        let have = TunnelAttrs {
            ttl: None,
            ..want.clone()
        };
        assert_eq!(
            judge("endpoint", &want, Some(&have)),
            Some((true, Some("198.51.100.2".to_string())))
        );
        assert_eq!(
            judge("ttl", &want, Some(&have)),
            Some((false, Some("inherit".to_string())))
        );
        assert_eq!(
            judge("local", &want, Some(&have)),
            Some((true, Some("any".to_string())))
        );
        assert_eq!(judge("address", &want, Some(&have)), None);
        assert_eq!(
            judge("mode", &want, None),
            Some((false, Some("not a tunnel".to_string())))
        );
    }
}
