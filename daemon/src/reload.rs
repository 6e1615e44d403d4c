//! `ifreload` (and `netconfctl reload`, and SIGHUP): read the configuration
//! again and change only what changed. Each interface netconf has up is
//! compared with the stanzas it came up with:
//!
//! - unchanged: nothing runs, nothing is written;
//! - changed: reconfigured by difference: the old stanzas' pre-down and
//!   down hooks run (ifupdown2 forgets these), then the new ones' up hooks,
//!   but only what differs is written to the kernel ([`Carried`]);
//! - its stanzas gone, or no longer `auto` when it came up as `auto`:
//!   taken down with its old stanzas;
//!
//! and `auto` interfaces that are not up yet are brought up. All downs come
//! first, then the ups. `-n` only shows the plan.

use crate::access::Role;
use crate::dispatcher::{ChangeCtx, Dispatcher, Kind};
use crate::ifaces::Targets;
use crate::queue::{ConnId, ReplySender};
use crate::state::IfaceRecord;
use netconf_ctlsock_proto::{Body, ChangeArgs, ErrorCode, ErrorReply, Progress, ReloadArgs};
use netconf_interfaces::{parse_file, InterfacesFile, ParseOptions, Stanza};
use netconf_methods::apply::Applied;
use netconf_methods::links::LinkSpecKind;
use netconf_methods::provider::{provider_for, Desired, RouteWanted};
use serde::Serialize;
use serde_json::json;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use tracing::{info, info_span, warn};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Unchanged,
    /// Down with the old stanzas, up with the new.
    Reconfigure,
    Down,
    Up,
}

#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub iface: String,
    pub logical: String,
    pub action: Action,
    pub why: String,
}

/// What of a reconfigured interface's old stanzas its new ones want too:
/// left in place by the down step (nor is the link set down or deleted),
/// and taken over as netconf's by the up step.
#[derive(Debug, Clone, Default)]
pub struct Carried {
    pub addresses: Vec<(IpAddr, u8)>,
    pub routes: Vec<RouteWanted>,
    pub created_link: bool,
    pub ports: Vec<String>,
}

impl Carried {
    /// Everything of `applied`.
    pub fn all_of(applied: &Applied) -> Carried {
        Carried {
            addresses: applied
                .addresses
                .iter()
                .map(|a| (a.addr, a.prefix_len))
                .collect(),
            routes: applied.routes.iter().map(|r| r.route.clone()).collect(),
            created_link: applied.created_link,
            ports: applied.ports.clone(),
        }
    }

    /// `applied` without what is carried: what the down step takes out
    /// (ports the new stanza no longer names among it).
    pub fn leave_out(&self, applied: &Applied) -> Applied {
        let mut rest = applied.clone();
        rest.addresses
            .retain(|a| !self.addresses.contains(&(a.addr, a.prefix_len)));
        rest.routes.retain(|r| !self.routes.contains(&r.route));
        rest.created_link = false;
        rest.ports.retain(|p| !self.ports.contains(p));
        rest
    }

    /// Marks what is carried as netconf's in the up step's record.
    pub fn take_over(&self, applied: &mut Applied) {
        for a in &mut applied.addresses {
            if self.addresses.contains(&(a.addr, a.prefix_len)) {
                a.preexisting = false;
            }
        }
        for r in &mut applied.routes {
            if self.routes.contains(&r.route) {
                r.preexisting = false;
            }
        }
        applied.created_link |= self.created_link;
        for p in &self.ports {
            if !applied.ports.contains(p) {
                applied.ports.push(p.clone());
            }
        }
    }
}

/// `new` is the reload's file, as the `ifup` of it will read it; `links`
/// the links there are now (to resolve the new stanza's port list).
fn carried(
    new: &ChangeCtx,
    record: &IfaceRecord,
    links: &[netconf_kernel::netlink::Link],
) -> Carried {
    let names: Vec<String> = links.iter().map(|l| l.name.clone()).collect();
    let mut ports_wanted = Vec::new();
    for stanza in new.config.stanzas_named(&record.logical) {
        let cfg = crate::ifaces::stanza_config(new, stanza, &record.phys, &record.logical);
        if let Ok(netconf_methods::links::StanzaLinks {
            link: Some(spec), ..
        }) = netconf_methods::links::stanza_links(&cfg)
        {
            match &spec.kind {
                LinkSpecKind::Bridge(b) => ports_wanted.extend(b.ports_now(&spec.name, links)),
                LinkSpecKind::Bond(b) => ports_wanted.extend(b.slaves.resolve(&spec.name, &names)),
                _ => {}
            }
        }
    }
    let wanted: Vec<Desired> = new
        .config
        .stanzas_named(&record.logical)
        .filter_map(|stanza| {
            let cfg = crate::ifaces::stanza_config(new, stanza, &record.phys, &record.logical);
            provider_for(stanza.family, &stanza.method)?
                .desired(&cfg)
                .ok()
        })
        .collect();
    let mut carried = Carried::default();
    for stanza in &record.stanzas {
        let applied = &stanza.applied;
        for a in &applied.addresses {
            let wanted_too = wanted.iter().any(|w| {
                w.addresses
                    .iter()
                    .any(|n| n.addr == a.addr && n.prefix_len == a.prefix_len)
            });
            if wanted_too && !a.preexisting {
                carried.addresses.push((a.addr, a.prefix_len));
            }
        }
        for r in &applied.routes {
            if !r.preexisting && wanted.iter().any(|w| w.routes.contains(&r.route)) {
                carried.routes.push(r.route.clone());
            }
        }
        carried.created_link |= applied.created_link;
        carried.ports.extend(
            applied
                .ports
                .iter()
                .filter(|p| ports_wanted.contains(p))
                .cloned(),
        );
    }
    carried
}

/// A stanza as far as its meaning goes: where it stands in the file is not
/// a change.
fn same_stanzas(old: &[Stanza], new: &[&Stanza]) -> bool {
    old.len() == new.len()
        && old.iter().zip(new).all(|(a, b)| {
            a.family == b.family
                && a.method == b.method
                && a.options.len() == b.options.len()
                && a.options
                    .iter()
                    .zip(&b.options)
                    .all(|(x, y)| x.name == y.name && x.value == y.value)
        })
}

fn in_auto(config: &InterfacesFile, phys: &str, logical: &str) -> bool {
    config.in_class("auto", phys) || config.in_class("auto", logical)
}

/// What reloading `new` would do, interface by interface.
pub fn plan(records: &[IfaceRecord], new: &InterfacesFile) -> Vec<Step> {
    let mut steps = Vec::new();
    for r in records {
        let stanzas: Vec<&Stanza> = new.stanzas_named(&r.logical).collect();
        let step = |action, why: &str| Step {
            iface: r.phys.clone(),
            logical: r.logical.clone(),
            action,
            why: why.to_string(),
        };
        let cut_short = r.in_progress.as_ref().map(|p| p.up);
        steps.push(if stanzas.is_empty() {
            step(Action::Down, "its stanza is no longer in the configuration")
        } else if cut_short == Some(false) && in_auto(new, &r.phys, &r.logical) {
            step(
                Action::Up,
                "its ifdown was cut short; it is an auto interface",
            )
        } else if cut_short == Some(false) {
            step(Action::Down, "its ifdown was cut short: it is finished")
        } else if r.auto && !in_auto(new, &r.phys, &r.logical) {
            step(Action::Down, "it is no longer an auto interface")
        } else if cut_short == Some(true) && same_stanzas(&r.config, &stanzas) {
            step(Action::Up, "its ifup was cut short: it is finished")
        } else if r.config.is_empty() || same_stanzas(&r.config, &stanzas) {
            step(Action::Unchanged, "unchanged")
        } else {
            step(Action::Reconfigure, "its stanza changed")
        });
    }
    if let Some(auto) = new.class("auto") {
        for name in &auto.interfaces {
            let up = records.iter().any(|r| r.phys == *name);
            // A name a `mapping` leads to a stanza counts: `ifup` maps it.
            let mapped = new.mappings.iter().any(|m| {
                m.patterns
                    .iter()
                    .any(|p| netconf_interfaces::pattern::fnmatch(p, name, false))
            });
            if !up && (new.stanzas_named(name).next().is_some() || mapped) {
                steps.push(Step {
                    iface: name.clone(),
                    logical: name.clone(),
                    action: Action::Up,
                    why: "new auto interface".to_string(),
                });
            }
        }
    }
    steps
}

fn send(reply: &ReplySender, id: u64, body: Body) {
    reply.send(id, body);
}

/// Starts a reload; `client` is who asked (none for SIGHUP).
pub fn start(
    d: &mut Dispatcher,
    client: Option<(ConnId, ReplySender, u64, Role)>,
    args: ReloadArgs,
) {
    let (conn, reply, id, role) = client.unwrap_or_else(|| {
        // Nobody listens to a SIGHUP's replies.
        (0, ReplySender::nowhere(), 0, Role::Root)
    });
    let what = if args.no_act { "reload -n" } else { "reload" };
    d.tell_monitors(None, None, "request", what.to_string());
    let file = d.settings.interfaces_file.to_string_lossy().into_owned();
    if let Some(asked) = &args.dialect {
        if asked.parse() != Ok(d.settings.dialect) {
            let message = format!(
                "--dialect {asked}: netconfd reads {file} in the {} dialect (netconfd --dialect, \
                 DIALECT= in /etc/default/networking); a reload reads it the same way",
                d.settings.dialect
            );
            return send(
                &reply,
                id,
                Body::Error(ErrorReply::new(ErrorCode::BadRequest, message)),
            );
        }
    }
    // With another profile than `legacy` active, its file is read again
    // (and the activation's choice applied to it).
    let new = match crate::profiles::reread(d) {
        Some(Ok(new)) => {
            if let Err(why) = d.settings.access.check_files(role, &new.files) {
                let body = Body::Error(ErrorReply::new(ErrorCode::PermissionDenied, why));
                return send(&reply, id, body);
            }
            new
        }
        Some(Err(body)) => return send(&reply, id, body),
        None => {
            let options = ParseOptions {
                dialect: d.settings.dialect,
                ..Default::default()
            };
            let parsed = parse_file(&file, &options);
            if let Err(why) = d.settings.access.check_files(role, &parsed.config.files) {
                let body = Body::Error(ErrorReply::new(ErrorCode::PermissionDenied, why));
                return send(&reply, id, body);
            }
            if parsed.rejected {
                let causes: Vec<String> =
                    parsed.errors().map(|e| e.report(&parsed.config)).collect();
                warn!(file, errors = ?causes, "reload refused: the configuration has errors");
                let body = Body::Error(ErrorReply {
                    code: ErrorCode::ConfigInvalid,
                    message: format!("couldn't read interfaces file \"{file}\"; nothing changed"),
                    causes,
                });
                return send(&reply, id, body);
            }
            parsed.config
        }
    };
    let _ = apply(d, (conn, reply, id), args, new);
}

/// Applies `new` by difference with what is up: the plan, then its downs
/// and ups. A reload, a profile switch and the activation's choices all
/// come here; `client` hears the plan and the end.
pub fn apply(
    d: &mut Dispatcher,
    client: (ConnId, ReplySender, u64),
    args: ReloadArgs,
    new: InterfacesFile,
) -> Option<crate::queue::EventId> {
    let (conn, reply, id) = client;
    let steps = plan(&d.state.interfaces, &new);
    for s in &steps {
        let verb = match s.action {
            Action::Unchanged => "unchanged",
            Action::Reconfigure => "reconfigure",
            Action::Down => "down",
            Action::Up => "up",
        };
        let message = match s.action {
            Action::Unchanged => format!("{}: unchanged", s.iface),
            _ => format!("{}: {verb} ({})", s.iface, s.why),
        };
        if s.action != Action::Unchanged {
            info!(iface = %s.iface, action = verb, "reload: {}", s.why);
        }
        let progress = Progress {
            iface: Some(s.iface.clone()),
            event: None,
            step: "plan".into(),
            stream: None,
            message: message.clone(),
        };
        send(&reply, id, Body::Progress(progress));
        d.tell_monitors(Some(s.iface.clone()), None, "plan", message);
    }
    let plan_json = json!({ "plan": steps });
    if args.no_act {
        send(&reply, id, Body::Ok { result: plan_json });
        return None;
    }

    let downs: Vec<&Step> = steps
        .iter()
        .filter(|s| matches!(s.action, Action::Down | Action::Reconfigure))
        .collect();
    let ups: Vec<&Step> = steps
        .iter()
        .filter(|s| matches!(s.action, Action::Up | Action::Reconfigure))
        .collect();
    // What the interfaces going down came up with: their own hooks run.
    let old = InterfacesFile {
        stanzas: downs
            .iter()
            .filter_map(|s| d.state.get(&s.iface))
            .flat_map(|r| r.config.iter().cloned())
            .collect(),
        no_scripts: new.no_scripts.clone(),
        ..InterfacesFile::default()
    };
    d.config = new.clone();
    if downs.is_empty() && ups.is_empty() {
        send(&reply, id, Body::Ok { result: plan_json });
        return None;
    }
    let reconfigured: Vec<&Step> = steps
        .iter()
        .filter(|s| s.action == Action::Reconfigure)
        .collect();
    let mut carried_over = HashMap::new();
    if !reconfigured.is_empty() {
        let probe = ChangeCtx {
            up: true,
            args: ChangeArgs::default(),
            config: new.clone(),
            carried: HashMap::new(),
        };
        let links: Vec<netconf_kernel::netlink::Link> = d
            .kernel
            .as_ref()
            .map(|k| k.mirror.links().cloned().collect())
            .unwrap_or_default();
        for s in reconfigured {
            if let Some(record) = d.state.get(&s.iface) {
                carried_over.insert(s.iface.clone(), carried(&probe, record, &links));
            }
        }
    }
    let root = d.add_event(
        None,
        Kind::Request {
            conn,
            reply,
            request_id: id,
            verbose: args.verbose,
            result: plan_json,
        },
        info_span!(parent: None, "request", conn, request = id, op = "reload"),
    );
    let change = |up: bool, config: InterfacesFile, steps: &[&Step]| Kind::Change {
        ctx: Arc::new(ChangeCtx {
            up,
            args: ChangeArgs {
                // A new interface by its name alone, so that `ifup` runs
                // the mappings as it would for `ifup -a`.
                targets: steps
                    .iter()
                    .map(|s| match s.action {
                        Action::Up => s.iface.clone(),
                        _ => format!("{}={}", s.iface, s.logical),
                    })
                    .collect(),
                verbose: args.verbose,
                ..ChangeArgs::default()
            },
            config,
            carried: carried_over.clone(),
        }),
        failed: Vec::new(),
        post_ran: false,
        targets: Targets::default(),
    };
    let mut after = Vec::new();
    if !downs.is_empty() {
        after.push(d.spawn(root, change(false, old, &downs), &[]));
    }
    if !ups.is_empty() {
        d.spawn(root, change(true, new, &ups), &after);
    }
    Some(root)
}
