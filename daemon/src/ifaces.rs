//! `ifup`/`ifdown` as events, in Debian ifupdown's order: which interfaces a
//! request selects, and for each interface the chain of hooks and kernel work
//! of each of its stanzas. Validation comes first, so a bad option fails the
//! request before anything runs; a failed `ifup` is rolled back.

use crate::dispatcher::{ChangeCtx, Dispatcher, Failure, Kind};
use crate::queue::{EventId, Job};
use crate::state::{IfaceRecord, InProgress, StanzaRecord};
use netconf_ctlsock_proto::ErrorCode;
use netconf_hooks::{self as hooks, HookContext, Mode, Phase, Step};
use netconf_interfaces::families::method_def;
use netconf_interfaces::graph::Graph;
use netconf_interfaces::lines::truncate_bytes;
use netconf_interfaces::pattern::{fnmatch, matches_any};
use netconf_interfaces::targets::{
    apply_renames, class_targets, expand, is_ignored, SystemInterfaces,
};
use netconf_interfaces::variables::overrides;
use netconf_interfaces::{Family, Stanza, Variables};
use netconf_methods::apply::{
    self, device_of, Applied, AppliedAddress, AppliedRoute, KernelState, Removal,
};
use netconf_methods::links::{
    stanza_links, BridgeSpec, LinkSpec, LinkSpecKind, PackageHooks, StanzaLinks,
};
use netconf_methods::program::Program;
use netconf_methods::provider::{provider_for, DadWait, Desired, StanzaConfig};
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Arc;

/// One interface going up or down.
pub struct Iface {
    pub up: bool,
    pub phys: String,
    pub logical: String,
    pub ctx: Arc<ChangeCtx>,
    stage: Stage,
    stanzas: Vec<StanzaWork>,
    /// The interface's record before this `ifup --force` (complete): a
    /// failure puts it back.
    previous: Option<IfaceRecord>,
}

enum Stage {
    /// Planned to end with this result, nothing to run.
    Finished(Result<(), Failure>),
    /// Running mapping scripts; the index of the next mapping to try.
    Mapping(usize),
    /// Hooks and kernel work are under way.
    Running,
}

struct StanzaWork {
    cfg: Option<StanzaConfig>,
    desired: Option<Desired>,
    /// The link the stanza creates (bridge, veth, ...), unless a Debian
    /// package's hook script does that, and the bond slaves whose own
    /// stanza names it with `bond-master`.
    link: Option<(LinkSpec, Vec<String>)>,
    /// What `ifup` put in (filled as it happens), or for `ifdown` what to take out.
    applied: Applied,
    /// What an interrupted `ifup` or `ifdown` of this stanza left in the
    /// kernel: taken over if still wanted, else taken out.
    leftover: Applied,
    link_down: bool,
    /// The program the stanza's method runs (pppd, avahi-autoipd), and
    /// whether this `ifup` has started it (its rollback stops it then).
    program: Option<Program>,
    program_started: bool,
}

fn split_target(target: &str) -> (String, String) {
    // ifupdown copies targets into 80-byte buffers.
    let target = truncate_bytes(target, 79);
    match target.split_once('=') {
        Some((p, l)) => (p.to_string(), l.to_string()),
        None => (target.to_string(), target.to_string()),
    }
}

fn class(ctx: &ChangeCtx) -> Option<String> {
    match (&ctx.args.allow, ctx.args.all) {
        (Some(c), _) => Some(c.clone()),
        (None, true) => Some("auto".into()),
        (None, false) => None,
    }
}

fn hooks_job(
    d: &Dispatcher,
    steps: Vec<Step>,
    env: Vec<(String, String)>,
    ctx: &ChangeCtx,
    phase: Option<(Family, Phase)>,
) -> Kind {
    let steps = steps
        .into_iter()
        .filter(|s| !matches!(s, Step::Method))
        .collect();
    Kind::Job(Some(Box::new(Job::Hooks {
        steps,
        env,
        timeout: d.settings.hook_timeout,
        // ifdown goes on whatever fails, as Debian's does.
        ignore_errors: ctx.args.ignore_errors || !ctx.up,
        no_act: ctx.args.no_act,
        phase: phase.map(|(family, phase)| (family, phase.as_str())),
    })))
}

fn spawn_hooks(
    d: &mut Dispatcher,
    parent: EventId,
    (steps, env): (Vec<Step>, Vec<(String, String)>),
    ctx: &ChangeCtx,
    phase: (Family, Phase),
    after: &[EventId],
) -> EventId {
    let kind = hooks_job(d, steps, env, ctx, Some(phase));
    d.spawn(parent, kind, after)
}

/// The hooks of `phase` of the interface of event `id` are about to start:
/// marked in its record (on disk before they run, see the dispatcher's held
/// jobs), or, when an interrupted `ifup` or `ifdown` had started them
/// already, skipped: no hook runs twice for one ifup or ifdown.
pub fn hooks_start(d: &mut Dispatcher, id: EventId, family: Family, phase: &str) -> bool {
    let Some(phys) = d.iface_of(id) else {
        return true;
    };
    let Some(progress) = d.state.get_mut(&phys).and_then(|r| r.in_progress.as_mut()) else {
        return true;
    };
    let key = (family, phase.to_string());
    if progress.hooks_started.contains(&key) {
        let message = format!(
            "{phys}: the {phase} hooks ({family}) already ran before netconfd stopped: not again"
        );
        d.progress(id, "warning", message);
        return false;
    }
    progress.hooks_started.push(key);
    d.save_state();
    true
}

/// The `--all` hook calls (`IFACE=--all`, `ADDRFAM=meta`).
fn meta_hooks(
    d: &mut Dispatcher,
    parent: EventId,
    ctx: &ChangeCtx,
    phase: Phase,
    after: &[EventId],
) -> EventId {
    let class = class(ctx).unwrap_or_else(|| "auto".into());
    let hctx = hooks::meta_context(&class, ctx.args.verbose);
    let vars = Variables::default();
    let steps = hooks::plan(&vars, phase, &d.settings.hooks_root, !ctx.args.no_scripts);
    let mode = if ctx.up { Mode::Start } else { Mode::Stop };
    let env = hooks::environment(&vars, &hctx, mode, phase, &ctx.args.inherited);
    let kind = hooks_job(d, steps, env, ctx, None);
    d.spawn(parent, kind, after)
}

/// How many interfaces of one request are worked on at once: enough to
/// overlap slow hook scripts, few enough to keep a thousand-interface
/// `ifup -a` from holding a thousand plans in memory.
const IFACES_IN_FLIGHT: usize = 64;

/// The group the links an `ifdown` deletes are put in, to be deleted all
/// at once when it is done (see [`delete_doomed`]).
fn doomed_group(d: &mut Dispatcher, iface: EventId) -> Option<u32> {
    let change = d.event(iface).and_then(|e| e.parent)?;
    targets_mut(d, change).map(|t| t.doomed_group)
}

/// An `ifdown` is done: the links it put in its group go, in one request
/// (one RCU wait for all of them instead of ~40 ms each).
pub fn delete_doomed(d: &mut Dispatcher, change: EventId) {
    let Some((group, true)) = targets_mut(d, change).map(|t| (t.doomed_group, t.doomed)) else {
        return;
    };
    if let Some(t) = targets_mut(d, change) {
        t.doomed = false;
    }
    match d.with_kernel(|k| k.nl.del_link_group(group)) {
        Ok(Ok(())) => {
            // Their `ifdown` is done now.
            let gone: Vec<String> = targets_mut(d, change)
                .map(|t| t.started.keys().cloned().collect())
                .unwrap_or_default();
            for phys in gone {
                if d.state
                    .get(&phys)
                    .is_some_and(|r| r.in_progress.as_ref().is_some_and(|p| !p.up))
                {
                    d.state.remove(&phys);
                    d.save_state();
                }
            }
        }
        Ok(Err(e)) => d.progress(change, "warning", format!("deleting links: {e}")),
        Err(f) => d.progress(change, "warning", format!("deleting links: {}", f.message)),
    }
}

/// The interfaces of an `ifup`/`ifdown` request still to do.
#[derive(Default)]
pub struct Targets {
    /// In dependency order: what an interface stands on comes before it
    /// going up, after it going down.
    waiting: VecDeque<(String, String)>,
    in_flight: usize,
    /// The `--all` pre hooks, which must succeed before any interface starts.
    gate: Option<EventId>,
    /// Per interface, those of this request it waits for: its lowers going
    /// up, its uppers going down.
    deps: HashMap<String, Vec<String>>,
    /// The event of each interface started, by name.
    started: HashMap<String, EventId>,
    /// Interfaces of this request that failed.
    failed: BTreeSet<String>,
    /// `ifdown`: the links netconf created go into this group, chosen at
    /// random so that no link of anyone else's is in it, and `doomed` says
    /// there are some.
    doomed_group: u32,
    doomed: bool,
}

/// Selects the interfaces of an `ifup`/`ifdown` request, then starts them
/// (after the `--all` pre hooks, if any).
pub fn plan_change(d: &mut Dispatcher, id: EventId, ctx: &Arc<ChangeCtx>) {
    let args = &ctx.args;
    let config = &ctx.config;
    let mut system = SystemInterfaces::default();
    let mut targets = if args.all {
        if ctx.up {
            class_targets(config, args.allow.as_deref().unwrap_or("auto"), &mut system)
        } else {
            // ifdown -a: what is up, most recent first.
            d.state
                .interfaces
                .iter()
                .rev()
                .map(|r| r.phys.clone())
                .collect()
        }
    } else {
        expand(&args.targets, &mut system)
    };
    apply_renames(&mut targets, &expand(&config.renames, &mut system));

    let mut waiting = VecDeque::new();
    for target in targets {
        let (phys, logical) = split_target(&target);
        if is_ignored(
            config,
            args.allow.as_deref(),
            &args.exclude,
            &phys,
            &mut system,
        ) {
            continue;
        }
        if !ctx.up && args.all && matches_any(&config.no_auto_down, &phys) {
            continue;
        }
        waiting.push_back((phys, logical));
    }
    let (waiting, deps) = match in_graph_order(d, id, ctx, waiting, &system_names(d)) {
        Ok(ordered) => ordered,
        Err(f) => {
            if let Some(e) = d.event_mut(id) {
                e.failure = Some(f);
            }
            return;
        }
    };
    let gate = args.all.then(|| {
        let phase = if ctx.up { Phase::PreUp } else { Phase::PreDown };
        meta_hooks(d, id, ctx, phase, &[])
    });
    if let Some(t) = targets_mut(d, id) {
        *t = Targets {
            waiting,
            in_flight: 0,
            gate,
            deps,
            started: HashMap::new(),
            failed: BTreeSet::new(),
            doomed_group: random_group(),
            doomed: false,
        };
    }
    if gate.is_none() {
        start_more(d, id);
    }
}

/// A link group number no one uses: random, above the small numbers
/// admins pick (`/etc/iproute2/group`).
fn random_group() -> u32 {
    let mut bytes = [0u8; 4];
    let read = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut bytes));
    let random = match read {
        Ok(()) => u32::from_ne_bytes(bytes),
        // No randomness: the process id still differs between daemons.
        Err(_) => std::process::id().wrapping_mul(2_654_435_761),
    };
    random | 0x8000_0000
}

/// The names of the links there are, for port patterns.
fn system_names(d: &Dispatcher) -> Vec<String> {
    d.kernel
        .as_ref()
        .map(|k| k.mirror.links().map(|l| l.name.clone()).collect())
        .unwrap_or_default()
}

type Ordered = (VecDeque<(String, String)>, HashMap<String, Vec<String>>);

/// Orders the selected interfaces by the dependency graph of the file,
/// with what each waits for. Going up, the interfaces a target stands on
/// that have stanzas of their own come up too (first). Going down, an
/// interface that others still up stand on is refused, or with `--force`
/// those others go down first (and the client is told). A cycle is an
/// error naming its interfaces with file and line.
fn in_graph_order(
    d: &mut Dispatcher,
    id: EventId,
    ctx: &ChangeCtx,
    selected: VecDeque<(String, String)>,
    existing: &[String],
) -> Result<Ordered, Failure> {
    let graph = Graph::from_config(&ctx.config, existing);
    let cycle =
        |c: netconf_interfaces::graph::Cycle| Failure::new(ErrorCode::ConfigInvalid, c.to_string());
    let mut logical: HashMap<String, String> = selected.iter().cloned().collect();
    let mut names: Vec<String> = selected.into_iter().map(|(p, _)| p).collect();
    if ctx.up {
        let levels = graph.order(&names).map_err(cycle)?;
        let order: Vec<String> = levels
            .into_iter()
            .flatten()
            .filter(|n| {
                logical.contains_key(n)
                    || (graph.node_named(n).is_some_and(|node| node.has_stanza)
                        && !d.state.configured(n))
            })
            .collect();
        for n in &order {
            if !logical.contains_key(n) {
                d.progress(
                    id,
                    "depends",
                    format!("bringing up {n} first: others stand on it"),
                );
            }
        }
        return Ok(queued(order, logical, |n| graph.closure_down(n)));
    }
    // Down: uppers still up that are not going down with it.
    let mut refused = Vec::new();
    for name in names.clone() {
        let above: Vec<String> = graph
            .closure_up(&name)
            .into_iter()
            .filter(|u| d.state.get(u).is_some() && !names.contains(u))
            .collect();
        if above.is_empty() {
            continue;
        }
        if ctx.args.force {
            d.progress(
                id,
                "warning",
                format!(
                    "taking {} down first: they stand on {name}",
                    above.join(", ")
                ),
            );
            for u in above {
                logical.insert(
                    u.clone(),
                    d.state.get(&u).map_or(u.clone(), |r| r.logical.clone()),
                );
                names.push(u);
            }
        } else {
            refused.push((name, above));
        }
    }
    for (name, above) in &refused {
        names.retain(|n| n != name);
        let why = format!(
            "{name} is needed by {} (up); take that down first, or use --force",
            above.join(", ")
        );
        if let Some(Kind::Change { failed, .. }) = d.event_mut(id).map(|e| &mut e.kind) {
            failed.push((name.clone(), why.clone()));
        }
        if let Some(e) = d.event_mut(id) {
            e.failure
                .get_or_insert_with(|| Failure::new(ErrorCode::Busy, why));
        }
    }
    let levels = graph.order(&names).map_err(cycle)?;
    let order: Vec<String> = levels
        .into_iter()
        .rev()
        .flat_map(|level| level.into_iter().rev())
        .filter(|n| names.contains(n))
        .collect();
    Ok(queued(order, logical, |n| graph.closure_up(n)))
}

/// `order` as a request's queue of `(PHYS, LOGICAL)`, with what each waits
/// for among them (`before`: its lowers going up, its uppers going down).
fn queued(
    order: Vec<String>,
    mut logical: HashMap<String, String>,
    before: impl Fn(&str) -> Vec<String>,
) -> Ordered {
    let deps = order
        .iter()
        .map(|n| {
            let first = before(n)
                .into_iter()
                .filter(|o| order.contains(o))
                .collect();
            (n.clone(), first)
        })
        .collect();
    let waiting = order
        .into_iter()
        .map(|n| {
            let l = logical.remove(&n).unwrap_or_else(|| n.clone());
            (n, l)
        })
        .collect();
    (waiting, deps)
}

fn targets_mut(d: &mut Dispatcher, id: EventId) -> Option<&mut Targets> {
    match d.event_mut(id).map(|e| &mut e.kind) {
        Some(Kind::Change { targets, .. }) => Some(targets),
        _ => None,
    }
}

fn start_more(d: &mut Dispatcher, id: EventId) {
    let Some(Kind::Change { ctx, .. }) = d.event(id).map(|e| &e.kind) else {
        return;
    };
    let ctx = ctx.clone();
    while let Some((phys, logical)) = targets_mut(d, id)
        .filter(|t| t.in_flight < IFACES_IN_FLIGHT)
        .and_then(|t| {
            t.in_flight += 1;
            t.waiting.pop_front().or_else(|| {
                t.in_flight -= 1;
                None
            })
        })
    {
        let Some(t) = targets_mut(d, id) else {
            return;
        };
        let deps = t.deps.get(&phys).cloned().unwrap_or_default();
        if let Some(bad) = deps.iter().find(|dep| t.failed.contains(*dep)) {
            // What it stands on failed: it is not even tried.
            let why = format!("{bad} failed");
            t.failed.insert(phys.clone());
            t.in_flight -= 1;
            if let Some(Kind::Change { failed, .. }) = d.event_mut(id).map(|e| &mut e.kind) {
                failed.push((logical, why));
            }
            continue;
        }
        let after: Vec<EventId> = deps
            .iter()
            .filter_map(|dep| t.started.get(dep).copied())
            .collect();
        let iface = Iface {
            up: ctx.up,
            phys: phys.clone(),
            logical,
            ctx: ctx.clone(),
            stage: Stage::Running,
            stanzas: Vec::new(),
            previous: None,
        };
        let child = d.spawn(id, Kind::Iface(Box::new(iface)), &after);
        if let Some(t) = targets_mut(d, id) {
            t.started.insert(phys, child);
        }
    }
}

/// A child of a request finished: the `--all` pre hooks open the gate (or,
/// failing, cancel every interface, as Debian aborts); an interface makes
/// room for the next.
pub fn change_child_done(d: &mut Dispatcher, id: EventId, child: EventId, ok: bool) {
    let Some(t) = targets_mut(d, id) else {
        return;
    };
    if t.gate == Some(child) {
        t.gate = None;
        if !ok {
            t.waiting.clear();
            return;
        }
    } else if t.in_flight > 0 {
        t.in_flight -= 1;
    }
    if !ok {
        if let Some(name) = t
            .started
            .iter()
            .find(|(_, e)| **e == child)
            .map(|(n, _)| n.clone())
        {
            t.failed.insert(name);
        }
    }
    start_more(d, id);
}

/// All interfaces of a request are done: run the `--all` post hooks once,
/// then end with the list of failures.
pub fn change_done(d: &mut Dispatcher, id: EventId) -> Option<Result<(), Failure>> {
    let (ctx, failed, post_ran) = match d.event(id).map(|e| &e.kind) {
        Some(Kind::Change {
            ctx,
            failed,
            post_ran,
            ..
        }) => (ctx.clone(), failed.clone(), *post_ran),
        _ => return Some(Ok(())),
    };
    if ctx.args.all && !post_ran {
        if let Some(Kind::Change { post_ran, .. }) = d.event_mut(id).map(|e| &mut e.kind) {
            *post_ran = true;
        }
        let phase = if ctx.up {
            Phase::PostUp
        } else {
            Phase::PostDown
        };
        meta_hooks(d, id, &ctx, phase, &[]);
        return None;
    }
    if !ctx.up {
        delete_doomed(d, id);
    }
    let failure = d.event_mut(id).and_then(|e| e.failure.take());
    match (failed.len(), failure) {
        (0, None) => Some(Ok(())),
        (0, Some(f)) => Some(Err(f)),
        (1, Some(f)) => Some(Err(f)),
        (n, first) => {
            let verb = if ctx.up { "bring up" } else { "take down" };
            let names: Vec<&str> = failed.iter().map(|(name, _)| name.as_str()).collect();
            let code = first.map_or(ErrorCode::HookFailed, |f| f.code);
            let mut f = Failure::new(
                code,
                format!("failed to {verb} {n} interfaces: {}", names.join(", ")),
            );
            f.causes = failed
                .into_iter()
                .map(|(name, why)| format!("{name}: {why}"))
                .collect();
            Some(Err(f))
        }
    }
}

fn iface_mut(d: &mut Dispatcher, id: EventId) -> Option<&mut Iface> {
    match d.event_mut(id).map(|e| &mut e.kind) {
        Some(Kind::Iface(i)) => Some(i),
        _ => None,
    }
}

fn finish(d: &mut Dispatcher, id: EventId, result: Result<(), Failure>) {
    if let Some(i) = iface_mut(d, id) {
        i.stage = Stage::Finished(result);
    }
}

fn warn(d: &Dispatcher, id: EventId, message: String) {
    d.progress(id, "warning", message);
}

fn has_mapping(ctx: &ChangeCtx, logical: &str) -> bool {
    ctx.config
        .mappings
        .iter()
        .any(|m| m.patterns.iter().any(|p| fnmatch(p, logical, false)))
}

/// A hook's own `ifup`/`ifdown` of the interface it runs for would wait for
/// itself forever; ifupdown refuses it, naming the phase, and so do we.
pub fn recursion(ctx: &ChangeCtx, phys: &str) -> Option<Failure> {
    let name = format!("IFUPDOWN_{}", phys.replace('=', "_"));
    let (_, phase) = ctx.args.inherited.iter().find(|(n, _)| *n == name)?;
    Some(Failure::new(
        ErrorCode::Busy,
        format!("recursion detected for interface {phys} in {phase} phase"),
    ))
}

/// The interface is ours now (no other request runs on it): plan its work.
pub fn begin(d: &mut Dispatcher, id: EventId) {
    let Some(iface) = iface_mut(d, id) else {
        return;
    };
    let (up, phys, logical, ctx) = (
        iface.up,
        iface.phys.clone(),
        iface.logical.clone(),
        iface.ctx.clone(),
    );
    let known = ctx.config.stanzas.iter().any(|s| s.name == logical) || has_mapping(&ctx, &logical);
    let record = d.state.get(&phys).cloned();
    if up {
        // One whose `ifup` or `ifdown` was cut short (netconfd crashed) is
        // not configured: this `ifup` finishes the work.
        let configured = record.as_ref().is_some_and(|r| r.in_progress.is_none());
        if configured && !ctx.args.force {
            if !ctx.args.all {
                warn(d, id, format!("interface {phys} already configured"));
            }
            return finish(d, id, Ok(()));
        }
        if !known {
            let f = Failure::new(
                ErrorCode::UnknownInterface,
                format!("unknown interface {logical}"),
            );
            return finish(d, id, Err(f));
        }
        if d.foreign_dhcp_client(&phys) && !ctx.args.force {
            // Two DHCP clients on one link fight over it.
            let f = Failure::new(
                ErrorCode::Busy,
                format!(
                    "{phys} is run by a DHCP client netconf did not start; stop that one first, \
                     or use --force"
                ),
            );
            return finish(d, id, Err(f));
        }
        next_mapping(d, id, 0);
    } else {
        // The dhclient of Debian's ifupdown (netconf replaced it on a
        // running system): ifdown takes that interface down as ifupdown
        // would, releasing its lease (plan_down).
        let ifupdown_dhcp = || {
            d.foreign_dhcp_client(&phys)
                && netconf_methods::dhclient::ifupdown_release_command(&phys).is_some()
        };
        let Some(record) = record.or_else(|| {
            (ctx.args.force || ifupdown_dhcp())
                .then(|| IfaceRecord::new(phys.clone(), logical.clone()))
        }) else {
            if !ctx.args.all {
                warn(d, id, format!("interface {phys} not configured"));
            }
            // An admin's ifdown ends a failed state and leaving it alone.
            if !ctx.args.no_act {
                d.failed.remove(&phys);
                d.adopted.remove(&phys);
            }
            return finish(d, id, Ok(()));
        };
        if let Some(i) = iface_mut(d, id) {
            i.logical = record.logical.clone();
        }
        plan_down(d, id, &record);
    }
}

/// The link a stanza creates, with the slaves that name it as their bond;
/// `None` when it creates none, or when bridge-utils', ifenslave's or
/// vlan's own hook script will (netconf must not do it twice).
fn link_of(
    d: &Dispatcher,
    id: EventId,
    ctx: &ChangeCtx,
    cfg: &StanzaConfig,
    logical: &str,
) -> Result<Option<(LinkSpec, Vec<String>)>, Failure> {
    let invalid = |e: &dyn std::fmt::Display| Failure::new(ErrorCode::ConfigInvalid, e.to_string());
    let links = stanza_links(cfg).map_err(|e| invalid(&e))?;
    let Some(mut spec) = links.link else {
        return Ok(None);
    };
    if runs_scripts(ctx, logical) {
        if let Some(package) =
            PackageHooks::detect(&d.settings.hooks_root).owner(&cfg.iface, &cfg.vars)
        {
            let note = format!(
                "{}: link left to {}'s hook script",
                cfg.iface,
                package.name()
            );
            d.progress(id, "link", note);
            return Ok(None);
        }
    }
    let mut slaves = Vec::new();
    if let LinkSpecKind::Bridge(bridge) = &mut spec.kind {
        member_vlans(ctx, &cfg.iface, bridge);
    }
    if matches!(spec.kind, LinkSpecKind::Bond(_)) {
        for stanza in &ctx.config.stanzas {
            let other = stanza_config(ctx, stanza, &stanza.name, &stanza.name);
            if let Ok(l) = stanza_links(&other) {
                if l.bond_master.as_deref() == Some(cfg.iface.as_str()) {
                    slaves.push(stanza.name.clone());
                }
            }
        }
    }
    Ok(Some((spec, slaves)))
}

/// The VLANs the ports' own stanzas give them (ifupdown2's place for them
/// on a VLAN-aware bridge), into `bridge`.
fn member_vlans(ctx: &ChangeCtx, bridge_name: &str, bridge: &mut BridgeSpec) {
    for stanza in &ctx.config.stanzas {
        if stanza.name == bridge_name || !bridge.ports.matches(&stanza.name) {
            continue;
        }
        let other = stanza_config(ctx, stanza, &stanza.name, &stanza.name);
        if let Ok(StanzaLinks {
            port_vlans: Some(vlans),
            ..
        }) = stanza_links(&other)
        {
            if !bridge.member_vlans.iter().any(|(n, _)| *n == stanza.name) {
                bridge.member_vlans.push((stanza.name.clone(), vlans));
            }
        }
    }
}

/// Runs the next `mapping` whose pattern matches, or goes on to the stanzas.
fn next_mapping(d: &mut Dispatcher, id: EventId, from: usize) {
    let Some(iface) = iface_mut(d, id) else {
        return;
    };
    let ctx = iface.ctx.clone();
    let (phys, logical) = (iface.phys.clone(), iface.logical.clone());
    if !ctx.args.no_mappings {
        for (idx, mapping) in ctx.config.mappings.iter().enumerate().skip(from) {
            if !mapping.patterns.iter().any(|p| fnmatch(p, &logical, false)) {
                continue;
            }
            if let Some(i) = iface_mut(d, id) {
                i.stage = Stage::Mapping(idx + 1);
            }
            let script = mapping.script.as_deref().unwrap_or("(null)");
            d.progress(
                id,
                "mapping",
                format!("running mapping script {script} on {logical}"),
            );
            let job = Job::Mapping {
                mapping: mapping.clone(),
                physical: phys.clone(),
            };
            d.spawn(id, Kind::Job(Some(Box::new(job))), &[]);
            return;
        }
    }
    plan_up(d, id);
}

/// A stanza's options as ifup uses them: defaults, then `-o` overrides.
pub fn stanza_config(ctx: &ChangeCtx, stanza: &Stanza, phys: &str, logical: &str) -> StanzaConfig {
    let mut vars = Variables::from_stanza(stanza);
    if let Some(def) = method_def(stanza.family, &stanza.method) {
        vars.apply_defaults(def);
    }
    vars.apply_overrides(&overrides(&ctx.args.options));
    StanzaConfig {
        iface: phys.to_string(),
        logical: logical.to_string(),
        family: stanza.family,
        method: stanza.method.clone(),
        vars,
    }
}

fn hook_context(ctx: &ChangeCtx, cfg: &StanzaConfig) -> HookContext {
    HookContext {
        iface: cfg.iface.clone(),
        logical: cfg.logical.clone(),
        family: cfg.family.name().to_string(),
        method: cfg.method.clone(),
        verbose: ctx.args.verbose,
        class: class(ctx),
    }
}

fn runs_scripts(ctx: &ChangeCtx, logical: &str) -> bool {
    !ctx.args.no_scripts && !matches_any(&ctx.config.no_scripts, logical)
}

fn plan_up(d: &mut Dispatcher, id: EventId) {
    let Some(iface) = iface_mut(d, id) else {
        return;
    };
    iface.stage = Stage::Running;
    let ctx = iface.ctx.clone();
    let (phys, logical) = (iface.phys.clone(), iface.logical.clone());
    let stanzas: Vec<&Stanza> = ctx.config.stanzas_named(&logical).collect();
    if stanzas.is_empty() {
        warn(
            d,
            id,
            format!("ignoring unknown interface {phys}={logical}"),
        );
        return finish(d, id, Ok(()));
    }

    // Every stanza is checked before anything runs.
    let mut work = Vec::new();
    for stanza in &stanzas {
        let cfg = stanza_config(&ctx, stanza, &phys, &logical);
        let Some(provider) = provider_for(stanza.family, &stanza.method) else {
            let message = format!(
                "{phys}: method `{} {}` is not supported by netconf yet",
                stanza.family, stanza.method
            );
            return finish(d, id, Err(Failure::new(ErrorCode::ConfigInvalid, message)));
        };
        match provider
            .desired(&cfg)
            .and_then(|desired| Ok((desired, provider.program(&cfg)?)))
        {
            Ok((desired, program)) => {
                let link = match link_of(d, id, &ctx, &cfg, &logical) {
                    Ok(link) => link,
                    Err(f) => return finish(d, id, Err(f)),
                };
                work.push(StanzaWork {
                    cfg: Some(cfg),
                    desired: Some(desired),
                    link,
                    applied: Applied::default(),
                    leftover: Applied::default(),
                    link_down: false,
                    program,
                    program_started: false,
                })
            }
            Err(e) => {
                let f = Failure::new(ErrorCode::ConfigInvalid, e.to_string());
                return finish(
                    d,
                    id,
                    Err(f.wrap(
                        ErrorCode::ConfigInvalid,
                        format!("failed to bring up {logical}"),
                    )),
                );
            }
        }
    }

    let mut prev: Vec<EventId> = Vec::new();
    let mut chains = Vec::new();
    for (idx, w) in work.iter().enumerate() {
        let Some(cfg) = &w.cfg else { continue };
        d.progress(
            id,
            "configure",
            format!("configuring interface {phys}={logical} ({})", cfg.family),
        );
        let converted = cfg.converted();
        let hctx = hook_context(&ctx, cfg);
        let scripts = runs_scripts(&ctx, &logical);
        let root = &d.settings.hooks_root;
        let pre = hooks::plan(&converted, Phase::PreUp, root, scripts);
        let post = hooks::plan(&converted, Phase::PostUp, root, scripts);
        let env_pre = hooks::environment(
            &converted,
            &hctx,
            Mode::Start,
            Phase::PreUp,
            &ctx.args.inherited,
        );
        let env_post = hooks::environment(
            &converted,
            &hctx,
            Mode::Start,
            Phase::PostUp,
            &ctx.args.inherited,
        );
        let dad = w
            .desired
            .as_ref()
            .and_then(|x| x.dad.map(|dad| (x.clone(), dad)));
        let dhcp = if is_dhcp(cfg) && !ctx.args.no_act {
            // Which client, and whether it can do what the stanza asks, is
            // settled before anything runs.
            let spec = crate::dhcp::choose(&d.dhcp_settings, cfg).and_then(|kind| {
                let token = netconf_methods::dhcp_client::new_token()
                    .map_err(|e| format!("{phys}: no token for the DHCP client: {e}"))?;
                let spec = crate::dhcp::client_for(&d.dhcp_settings, cfg, kind, token);
                match spec.unsupported() {
                    Some(why) => Err(why),
                    None => Ok(spec),
                }
            });
            match spec {
                Ok(spec) => Some((spec, cfg.converted())),
                Err(message) => {
                    return finish(d, id, Err(Failure::new(ErrorCode::ConfigInvalid, message)));
                }
            }
        } else {
            None
        };
        let carrier = match carrier_wait(cfg) {
            Ok(wait) => wait,
            Err(message) => {
                return finish(d, id, Err(Failure::new(ErrorCode::ConfigInvalid, message)));
            }
        };
        let program = w.program.clone().map(|p| (p, env_pre.clone()));
        let configure = link_configure(w, &env_pre, &d.settings, ctx.args.no_act);
        chains.push((
            idx, cfg.family, pre, post, env_pre, env_post, dad, dhcp, carrier, program, configure,
        ));
    }
    // An `ifup` or `ifdown` that was under way when netconfd stopped left
    // what it had done: taken over, or out, by this one's kernel step.
    let previous = d.state.get(&phys).cloned();
    let down_cut_short = previous
        .as_ref()
        .and_then(|r| r.in_progress.as_ref())
        .is_some_and(|p| !p.up);
    if down_cut_short && !ctx.args.no_act {
        // The `ifdown` would have stopped its dhclients: a new one starts
        // with this stanza's options.
        crate::dhcp::abandon(d, &phys);
    }
    if let Some(before) = previous.as_ref().filter(|r| r.in_progress.is_some()) {
        for w in &mut work {
            let family = w.cfg.as_ref().map(|c| c.family);
            if let Some(r) = before.stanzas.iter().find(|r| Some(r.family) == family) {
                w.leftover = r.applied.clone();
            }
        }
    }
    if let Some(i) = iface_mut(d, id) {
        i.stanzas = work;
        i.previous = previous.clone().filter(|r| r.in_progress.is_none());
    }
    for (idx, family, pre, post, env_pre, env_post, dad, dhcp, carrier, program, configure) in
        chains
    {
        let h1 = spawn_hooks(d, id, (pre, env_pre), &ctx, (family, Phase::PreUp), &prev);
        // A program that makes its link (pppd) has nothing to set up before.
        let mut last = if program.as_ref().is_some_and(|(p, _)| p.leaves.makes_link()) {
            h1
        } else {
            d.spawn(
                id,
                Kind::Kernel {
                    stanza: idx,
                    up: true,
                },
                &[h1],
            )
        };
        if let Some(job) = configure {
            last = d.spawn(id, Kind::Job(Some(Box::new(job))), &[last]);
        }
        if let Some((program, env)) = program {
            last = d.spawn(
                id,
                Kind::Program {
                    stanza: idx,
                    up: true,
                    command: program.start,
                    env,
                    no_act: ctx.args.no_act,
                },
                &[last],
            );
            if !ctx.args.no_act {
                last = d.spawn(
                    id,
                    Kind::WaitProgram {
                        stanza: idx,
                        up: true,
                    },
                    &[last],
                );
            }
        }
        if let Some(timeout) = carrier.filter(|_| !ctx.args.no_act) {
            let device = device_of(&phys).to_string();
            last = d.spawn(id, Kind::WaitCarrier { device, timeout }, &[last]);
        }
        if let Some(job) = forwarding_wait(d, id, idx).filter(|_| !ctx.args.no_act) {
            last = d.spawn(id, Kind::Job(Some(Box::new(job))), &[last]);
        }
        if let Some((desired, wait)) = dad {
            let addresses: Vec<_> = desired
                .addresses
                .iter()
                .filter(|a| !a.nodad)
                .filter_map(|a| match a.addr {
                    IpAddr::V6(v6) => Some(v6),
                    IpAddr::V4(_) => None,
                })
                .collect();
            if !addresses.is_empty() && !ctx.args.no_act {
                let job = Job::WaitDad {
                    device: device_of(&phys).to_string(),
                    addresses,
                    wait,
                };
                last = d.spawn(id, Kind::Job(Some(Box::new(job))), &[last]);
            }
        }
        if let Some((spec, vars)) = dhcp {
            let key = spec.key();
            let metric = vars.get("metric").and_then(|m| m.parse().ok());
            if crate::dhcp::register(d, &spec, metric) {
                if spec.v6.is_some() {
                    // A DHCPv6 client binds to the link-local address: wait for it.
                    let wait = DadWait {
                        attempts: vars
                            .get("ll-attempts")
                            .and_then(|v| v.parse().ok())
                            .unwrap_or(60),
                        interval_ms: vars
                            .get("ll-interval")
                            .and_then(|v| v.parse::<f64>().ok())
                            .filter(|s| s.is_finite() && *s >= 0.0)
                            .map_or(100, |s| (s * 1000.0).round() as u64),
                    };
                    let job = Job::WaitLinkLocal {
                        device: device_of(&phys).to_string(),
                        wait,
                    };
                    last = d.spawn(id, Kind::Job(Some(Box::new(job))), &[last]);
                }
                d.progress(id, "dhcp", format!("starting {} on {phys}", spec.kind));
                let start = Kind::Job(Some(Box::new(Job::StartDhcpClient(spec))));
                last = d.spawn(id, start, &[last]);
            }
            // `--no-wait`: the client goes on trying; the interface counts as up.
            if !ctx.args.no_wait {
                last = d.spawn(id, Kind::WaitLease { key }, &[last]);
            }
        }
        prev = vec![spawn_hooks(
            d,
            id,
            (post, env_post),
            &ctx,
            (family, Phase::PostUp),
            &[last],
        )];
    }
    if !ctx.args.no_act {
        record_going_up(d, id, previous);
    }
}

/// The program that configures the link a stanza has just made, where
/// rtnetlink cannot: a WireGuard link's `wg setconf` (ifupdown-ng's
/// `pre-up` of `use wireguard`), run as a job with the stanza's `pre-up`
/// environment once the kernel step made the link; a failure fails the
/// `ifup`, whose rollback deletes the link.
fn link_configure(
    w: &StanzaWork,
    env: &[(String, String)],
    settings: &crate::dispatcher::Settings,
    no_act: bool,
) -> Option<Job> {
    let (spec, _) = w.link.as_ref()?;
    let LinkSpecKind::Wireguard(wg) = &spec.kind else {
        return None;
    };
    Some(Job::Hooks {
        steps: vec![netconf_hooks::Step::Command(wg.setconf_command(&spec.name))],
        env: env.to_vec(),
        timeout: settings.hook_timeout,
        ignore_errors: false,
        no_act,
        phase: None,
    })
}

/// The record of an `ifup` under way, written before its first hook runs
/// (as Debian's ifupdown does): after a crash the daemon knows it had
/// begun, which hooks had started (an interrupted `ifup` taken up again
/// keeps those), and which of its links existed before it.
fn record_going_up(d: &mut Dispatcher, id: EventId, previous: Option<IfaceRecord>) {
    let Some(iface) = iface_mut(d, id) else {
        return;
    };
    let (phys, logical, ctx) = (iface.phys.clone(), iface.logical.clone(), iface.ctx.clone());
    let work: Vec<(StanzaConfig, Applied, Option<String>)> = iface
        .stanzas
        .iter()
        .filter_map(|w| {
            let link = w.link.as_ref().map(|(spec, _)| spec.name.clone());
            Some((w.cfg.clone()?, w.leftover.clone(), link))
        })
        .collect();
    let in_progress = match previous.and_then(|r| r.in_progress).filter(|p| p.up) {
        Some(resumed) => resumed,
        None => InProgress {
            up: true,
            hooks_started: Vec::new(),
            links_before: work
                .iter()
                .filter_map(|(_, _, link)| link.clone())
                .filter(|name| d.link_index(name).is_some())
                .collect(),
        },
    };
    let stanzas = work
        .into_iter()
        .map(|(cfg, leftover, _)| StanzaRecord {
            dhcp: is_dhcp(&cfg)
                .then(|| d.dhcp.record(&crate::dhcp::key_of(&cfg)).cloned())
                .flatten(),
            family: cfg.family,
            method: cfg.method,
            applied: leftover,
        })
        .collect();
    d.state.set(IfaceRecord {
        config: ctx.config.stanzas_named(&logical).cloned().collect(),
        auto: ctx.config.in_class("auto", &phys) || ctx.config.in_class("auto", &logical),
        ifindex: d.link_index(&phys),
        phys,
        logical,
        stanzas,
        adopted: false,
        in_progress: Some(in_progress),
    });
    d.save_state();
}
/// A bridge with STP on waits for its ports to forward before the stanza
/// goes on, as bridge-utils does (`bridge_maxwait`, by default twice the
/// forward delay plus one second each). With STP off they forward at once.
fn forwarding_wait(d: &mut Dispatcher, id: EventId, stanza: usize) -> Option<Job> {
    let (name, bridge) = match iface_mut(d, id)?.stanzas.get(stanza)?.link.as_ref()? {
        (
            LinkSpec {
                name,
                kind: LinkSpecKind::Bridge(b),
            },
            _,
        ) if b.attrs.stp == Some(true) => (name.clone(), b.clone()),
        _ => return None,
    };
    let max = bridge.wait_for_forwarding();
    if max.is_zero() {
        return None;
    }
    let links: Vec<_> = d.kernel.as_ref().ok()?.mirror.links().cloned().collect();
    let ports = bridge.ports_now(&name, &links);
    Some(Job::WaitForwarding {
        bridge: name,
        ports,
        max,
    })
}

/// `wait-carrier SECONDS` (netconf's own option): how long to wait for
/// the link's carrier after setting it up, before the addresses are used.
fn carrier_wait(cfg: &StanzaConfig) -> Result<Option<std::time::Duration>, String> {
    let Some(value) = cfg.vars.get("wait-carrier") else {
        return Ok(None);
    };
    value
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0 && *s <= 3600.0)
        .map(|s| Some(std::time::Duration::from_secs_f64(s)))
        .ok_or_else(|| {
            format!(
                "{}: wait-carrier: \"{value}\" is not a number of seconds (0 to 3600)",
                cfg.iface
            )
        })
}

pub fn is_dhcp(cfg: &StanzaConfig) -> bool {
    crate::dhcp::runs_dhcp_client(cfg)
}

/// What to take out for a stanza whose `ifup` netconf has no record of
/// (`ifdown --force`): what the stanza asks for.
pub fn applied_from_desired(phys: &str, desired: &Desired) -> Applied {
    Applied {
        device: device_of(phys).to_string(),
        addresses: desired
            .addresses
            .iter()
            .map(|a| AppliedAddress {
                addr: a.addr,
                prefix_len: a.prefix_len,
                peer: a.peer,
                preexisting: false,
            })
            .collect(),
        routes: desired
            .routes
            .iter()
            .map(|r| AppliedRoute {
                route: r.clone(),
                preexisting: false,
            })
            .collect(),
        ..Applied::default()
    }
}

/// For the `ifdown` of an interface whose `ifup` was cut short: `applied`
/// (what it recorded) with what its stanza wants (it may have been written
/// and not recorded yet: taking out what is not there is no error), and
/// the stanza's link as netconf's if it came after the `ifup` began.
fn with_stanza_link(
    d: &Dispatcher,
    cfg: &StanzaConfig,
    links_before: &[String],
    applied: &mut Applied,
    wanted: Applied,
) {
    for a in wanted.addresses {
        if !applied
            .addresses
            .iter()
            .any(|x| x.addr == a.addr && x.prefix_len == a.prefix_len)
        {
            applied.addresses.push(a);
        }
    }
    for r in wanted.routes {
        if !applied.routes.iter().any(|x| x.route == r.route) {
            applied.routes.push(r);
        }
    }
    if applied.device.is_empty() {
        applied.device = wanted.device;
    }
    let spec = stanza_links(cfg).ok().and_then(|l| l.link);
    let Some(spec) = spec.filter(|s| !links_before.contains(&s.name)) else {
        return;
    };
    let Ok(kernel) = d.kernel.as_ref() else {
        return;
    };
    if let Some(link) = kernel.mirror.link_by_name(&spec.name) {
        applied.created_link = true;
        for port in kernel
            .mirror
            .links()
            .filter(|p| p.master == Some(link.index))
        {
            if !applied.ports.contains(&port.name) {
                applied.ports.push(port.name.clone());
            }
        }
    }
}

fn plan_down(d: &mut Dispatcher, id: EventId, record: &IfaceRecord) {
    let Some(iface) = iface_mut(d, id) else {
        return;
    };
    iface.stage = Stage::Running;
    let ctx = iface.ctx.clone();
    let (phys, logical) = (iface.phys.clone(), iface.logical.clone());
    // An `ifup` that was cut short: the links its stanzas create that were
    // there before it.
    let interrupted_up = record
        .in_progress
        .as_ref()
        .filter(|p| p.up)
        .map(|p| p.links_before.clone());
    let mut records: Vec<Option<&StanzaRecord>> = record.stanzas.iter().map(Some).collect();
    let mut work = Vec::new();
    let mut plans = Vec::new();
    // An interface Debian's ifupdown brought up with DHCP before netconf
    // replaced it: its dhclient is stopped as ifupdown's `ifdown` does, as
    // the program of the dhcp stanza (a release, then dhclient-script takes
    // the address away).
    let mut ifupdown_release = if d.state.get(&phys).is_none() && d.foreign_dhcp_client(&phys) {
        netconf_methods::dhclient::ifupdown_release_command(&phys)
    } else {
        None
    };
    for stanza in ctx.config.stanzas_named(&logical) {
        let cfg = stanza_config(&ctx, stanza, &phys, &logical);
        let provider = provider_for(stanza.family, &stanza.method);
        let link_down = provider.is_some_and(|p| p.link_down_on_ifdown(&cfg, ctx.args.all));
        let recorded = records
            .iter_mut()
            .find(|r| r.is_some_and(|r| r.family == stanza.family))
            .and_then(Option::take);
        let from_stanza = || {
            provider
                .and_then(|p| p.desired(&cfg).ok())
                .map(|desired| applied_from_desired(&phys, &desired))
                .unwrap_or_default()
        };
        let mut applied = match (recorded, &interrupted_up) {
            (Some(r), Some(links_before)) => {
                // An `ifup` cut short may have written more than it recorded.
                let mut applied = r.applied.clone();
                with_stanza_link(d, &cfg, links_before, &mut applied, from_stanza());
                applied
            }
            (Some(r), None) => r.applied.clone(),
            (None, _) => from_stanza(),
        };
        let release = recorded
            .and_then(|r| r.dhcp.as_ref())
            .map(|rec| crate::dhcp::to_release(d, &cfg, rec, &mut applied));
        let mut program = provider.and_then(|p| p.program(&cfg).ok().flatten());
        if program.is_none() && release.is_none() && stanza.family == Family::Inet && is_dhcp(&cfg)
        {
            program = ifupdown_release.take().map(|stop| Program {
                start: String::new(),
                stop: Some(stop),
                leaves: netconf_methods::program::Leaves::Output,
            });
        }
        let converted = cfg.converted();
        let hctx = hook_context(&ctx, &cfg);
        let scripts = runs_scripts(&ctx, &logical);
        let root = &d.settings.hooks_root;
        let hooks = (
            hooks::plan(&converted, Phase::PreDown, root, scripts),
            hooks::plan(&converted, Phase::PostDown, root, scripts),
            hooks::environment(
                &converted,
                &hctx,
                Mode::Stop,
                Phase::PreDown,
                &ctx.args.inherited,
            ),
            hooks::environment(
                &converted,
                &hctx,
                Mode::Stop,
                Phase::PostDown,
                &ctx.args.inherited,
            ),
        );
        let stop = program
            .as_ref()
            .and_then(|p| p.stop.clone())
            .map(|stop| (stop, hooks.2.clone()));
        plans.push((stanza.family, Some(hooks), release, stop));
        d.progress(
            id,
            "deconfigure",
            format!(
                "deconfiguring interface {phys}={logical} ({})",
                stanza.family
            ),
        );
        work.push(StanzaWork {
            cfg: Some(cfg),
            desired: None,
            link: None,
            applied,
            leftover: Applied::default(),
            link_down,
            program,
            program_started: false,
        });
    }
    // What netconf applied for stanzas that are no longer in the file.
    for r in records.into_iter().flatten() {
        let mut applied = r.applied.clone();
        let release = r.dhcp.as_ref().map(|rec| {
            let cfg = StanzaConfig {
                iface: phys.clone(),
                logical: logical.clone(),
                family: r.family,
                method: r.method.clone(),
                vars: Variables::default(),
            };
            crate::dhcp::to_release(d, &cfg, rec, &mut applied)
        });
        // Its program (pppd, ...) is stopped as the stanza it came up with
        // says, so that it is not left running unknown.
        let program = record
            .config
            .iter()
            .find(|s| s.family == r.family && s.method == r.method)
            .and_then(|stanza| {
                let cfg = stanza_config(&ctx, stanza, &phys, &logical);
                provider_for(r.family, &r.method)?
                    .program(&cfg)
                    .ok()
                    .flatten()
            });
        let stop = program.as_ref().and_then(|p| p.stop.clone()).map(|stop| {
            let env = vec![("PATH".to_string(), hooks::HOOK_PATH.to_string())];
            (stop, env)
        });
        plans.push((r.family, None, release, stop));
        work.push(StanzaWork {
            cfg: None,
            desired: None,
            link: None,
            applied,
            leftover: Applied::default(),
            link_down: false,
            program,
            program_started: false,
        });
    }
    if !ctx.args.no_act {
        // Written before the first down hook runs: after a crash it is not
        // up any more (as Debian's state file says), and the `ifdown` is
        // finished without running a hook twice.
        let hooks_started = record
            .in_progress
            .as_ref()
            .filter(|p| !p.up)
            .map(|p| p.hooks_started.clone())
            .unwrap_or_default();
        if let Some(r) = d.state.get_mut(&phys) {
            r.in_progress = Some(InProgress {
                up: false,
                hooks_started,
                links_before: Vec::new(),
            });
            d.save_state();
        }
    }
    if let Some(i) = iface_mut(d, id) {
        i.stanzas = work;
    }
    let mut prev: Vec<EventId> = Vec::new();
    for (idx, (family, hooks, release, stop)) in plans.into_iter().enumerate() {
        let (pre, post) = match hooks {
            Some((pre, post, env_pre, env_post)) => (Some((pre, env_pre)), Some((post, env_post))),
            None => (None, None),
        };
        if let Some((steps, env)) = pre {
            let phase = (family, Phase::PreDown);
            prev = vec![spawn_hooks(d, id, (steps, env), &ctx, phase, &prev)];
        }
        if let Some((spec, lease)) = release.filter(|_| !ctx.args.no_act) {
            d.progress(id, "dhcp", format!("releasing the DHCP lease of {phys}"));
            crate::dhcp::releasing(d, &spec);
            prev = vec![d.spawn(
                id,
                Kind::Job(Some(Box::new(Job::ReleaseDhcpClient { spec, lease }))),
                &prev,
            )];
        }
        if let Some((command, env)) = stop {
            prev = vec![d.spawn(
                id,
                Kind::Program {
                    stanza: idx,
                    up: false,
                    command,
                    env,
                    no_act: ctx.args.no_act,
                },
                &prev,
            )];
            if !ctx.args.no_act {
                prev = vec![d.spawn(
                    id,
                    Kind::WaitProgram {
                        stanza: idx,
                        up: false,
                    },
                    &prev,
                )];
            }
        }
        prev = vec![d.spawn(
            id,
            Kind::Kernel {
                stanza: idx,
                up: false,
            },
            &prev,
        )];
        if let Some((steps, env)) = post {
            let phase = (family, Phase::PostDown);
            prev = vec![spawn_hooks(d, id, (steps, env), &ctx, phase, &prev)];
        }
    }
}

/// The kernel part of a stanza, run on the dispatcher thread (netlink is fast).
pub fn kernel(d: &mut Dispatcher, id: EventId, stanza: usize, up: bool) -> Result<(), Failure> {
    let Some(parent) = d.event(id).and_then(|e| e.parent) else {
        return Ok(());
    };
    let Some(iface) = iface_mut(d, parent) else {
        return Ok(());
    };
    let phys = iface.phys.clone();
    let no_act = iface.ctx.args.no_act;
    let carried = iface.ctx.carried.get(&phys).cloned();
    // Another stanza of the interface (its `inet` one, where `inet6` has
    // none of the link's options) makes the link.
    let made_by_a_stanza = iface.stanzas.iter().any(|w| w.link.is_some());
    let Some(work) = iface.stanzas.get_mut(stanza) else {
        return Ok(());
    };
    let desired = work.desired.clone();
    let link = work.link.clone();
    let vrf = work
        .cfg
        .as_ref()
        .and_then(|c| stanza_links(c).ok())
        .and_then(|l| l.vrf);
    let mut applied = std::mem::take(&mut work.applied);
    let leftover = std::mem::take(&mut work.leftover);
    let link_down = work.link_down;
    let links_before = d
        .state
        .get(&phys)
        .and_then(|r| r.in_progress.as_ref())
        .map(|p| p.links_before.clone())
        .unwrap_or_default();
    // What of the stanza is in the kernel after this step.
    let mut left = Applied::default();
    let (changes, result) = if up {
        let mut desired = desired.unwrap_or_default();
        // What an interrupted ifup or ifdown left that this stanza does not
        // want goes first (a stale primary address would take the new
        // one, a secondary of it, along when it goes).
        let stale = crate::reload::Carried::all_of(&applied_from_desired(&phys, &desired))
            .leave_out(&leftover);
        let outcome = d.with_kernel(|k| {
            let mut changes = Vec::new();
            let nothing_stale = stale.addresses.is_empty() && stale.routes.is_empty();
            if !no_act && !nothing_stale {
                let (removed, errors) = apply::remove(k, &stale, Removal::LEASE, false);
                changes.extend(removed);
                if let Some(e) = errors.into_iter().next() {
                    return Err(e);
                }
            }
            if let Some((spec, slaves)) = &link {
                let exists = k.link_by_name(&spec.name)?.is_some();
                changes = apply::ensure_link(k, spec, slaves, &mut applied, no_act)?;
                if no_act && !exists {
                    // Nothing more to show on a link that is not there.
                    return Ok(changes);
                }
            } else if no_act
                && made_by_a_stanza
                && k.link_by_name(apply::device_of(&phys))?.is_none()
            {
                return Ok(changes);
            }
            if let Some(vrf) = &vrf {
                let (joined, table) = apply::vrf::join_vrf(k, &phys, vrf, &mut applied, no_act)?;
                changes.extend(joined);
                desired.table = Some(table);
            }
            changes.extend(apply::apply(k, &phys, &desired, &mut applied, no_act)?);
            if let Some(c) = &carried {
                c.take_over(&mut applied);
            }
            if !no_act {
                let spec = link.as_ref().map(|(spec, _)| spec);
                changes.extend(take_over_leftover(
                    k,
                    spec,
                    &links_before,
                    &leftover,
                    &mut applied,
                )?);
            }
            Ok::<_, apply::ApplyError>(changes)
        })?;
        match outcome {
            Ok(changes) => (changes, Ok(())),
            Err(e) => (
                Vec::new(),
                Err(Failure::new(ErrorCode::Netlink, format!("{phys}: {e}"))),
            ),
        }
    } else {
        let family = d.event(parent).and_then(|e| match &e.kind {
            Kind::Iface(i) => i.stanzas.get(stanza)?.cfg.as_ref().map(|c| c.family),
            _ => None,
        });
        // Looked up before anything goes: the routes of a link whose
        // address went must be read from the kernel again.
        let others = family.map(|f| added_by_others(d, &phys, f));
        let delete_as_group = doomed_group(d, parent);
        // A reload that reconfigures: only what the new stanzas do not want
        // goes, and the link stays up.
        let (removal, link_down) = match &carried {
            Some(c) => (c.leave_out(&applied), false),
            None => (applied.clone(), link_down),
        };
        let how = Removal::Ifdown {
            link_down,
            delete_as_group,
        };
        let (mut changes, errors) = d.with_kernel(|k| apply::remove(k, &removal, how, no_act))?;
        // What is left after this step: what a reconfigure keeps, and a
        // link netconf created, which goes only at the end of the
        // `ifdown` (with the others, by group).
        let mut kept = applied.clone();
        kept.addresses.retain(|a| !removal.addresses.contains(a));
        kept.routes.retain(|r| !removal.routes.contains(r));
        kept.ipv6_conf.clear();
        if delete_as_group.is_none() {
            kept.created_link = false;
            kept.ports.clear();
        }
        left = kept;
        if removal.created_link && !no_act {
            if let Some(t) = d
                .event(parent)
                .and_then(|e| e.parent)
                .and_then(|c| targets_mut(d, c))
            {
                t.doomed = true;
            }
        }
        for e in errors {
            d.progress(id, "warning", format!("{phys}: {e}"));
        }
        if let Some(others) = others.filter(|_| carried.is_none()) {
            changes.extend(remove_external(d, id, &phys, others, no_act));
        }
        (changes, Ok(()))
    };
    let prefix = if no_act { "would " } else { "" };
    for change in changes {
        d.progress(id, "apply", format!("{prefix}{change}"));
    }
    let family = iface_mut(d, parent)
        .and_then(|i| i.stanzas.get(stanza))
        .and_then(|w| w.cfg.as_ref())
        .map(|c| c.family);
    // The record under way learns what is in the kernel now, for a
    // daemon that has to take this work up again after a crash.
    if let (Some(record), Some(family), false) = (d.state.get_mut(&phys), family, no_act) {
        if let Some(s) = record.stanzas.iter_mut().find(|s| s.family == family) {
            s.applied = if up { applied.clone() } else { left };
            d.save_state();
        }
    }
    if let Some(work) = iface_mut(d, parent).and_then(|i| i.stanzas.get_mut(stanza)) {
        work.applied = applied;
    }
    // A slave brought up after its bond (`bond-master` on its stanza)
    // joins it now; brought up before, the bond's own ifup takes it in.
    let slave = iface_mut(d, parent)
        .and_then(|i| i.stanzas.get(stanza))
        .and_then(|w| w.cfg.as_ref())
        .is_some_and(|c| linkopts_bond_master(c).is_some());
    if up && slave && result.is_ok() && !no_act {
        for change in join_masters(d, &phys, true) {
            d.progress(id, "apply", change);
        }
    }
    result
}

fn linkopts_bond_master(cfg: &StanzaConfig) -> Option<&str> {
    netconf_interfaces::linkopts::find(&cfg.vars, netconf_interfaces::linkopts::BOND_MASTER)
        .map(|f| f.value)
}

/// What an interrupted `ifup` or `ifdown` left (`leftover`, and the link of
/// the stanza if it came after the `ifup` began) and this `ifup` wants too
/// is netconf's; ports it had that this one does not want go out.
fn take_over_leftover(
    k: &mut crate::kernel::Kernel,
    spec: Option<&LinkSpec>,
    links_before: &[String],
    leftover: &Applied,
    applied: &mut Applied,
) -> Result<Vec<String>, apply::ApplyError> {
    let mut changes = Vec::new();
    let carried = crate::reload::Carried {
        ports: Vec::new(),
        ..crate::reload::Carried::all_of(leftover)
    };
    carried.take_over(applied);
    let Some(spec) = spec else {
        return Ok(changes);
    };
    let Some(link) = k.link_by_name(&spec.name)? else {
        return Ok(changes);
    };
    if !links_before.contains(&spec.name) {
        applied.created_link = true;
    }
    for port in leftover.ports.iter().filter(|p| !applied.ports.contains(p)) {
        let Some(p) = k
            .link_by_name(port)?
            .filter(|p| p.master == Some(link.index))
        else {
            continue;
        };
        let out = netconf_kernel::netlink::LinkChange {
            master: Some(0),
            up: Some(false),
            ..netconf_kernel::netlink::LinkChange::default()
        };
        k.nl.set_link(p.index, &out)?;
        changes.push(format!("take {port} out of {}", spec.name));
    }
    Ok(changes)
}

/// `ifdown` also takes out what others added to the interface while
/// netconf managed it (of the stanza's family); the kernel's own entries
/// stay.
/// What is on the link (of the stanza's family) besides the kernel's own:
/// netconf's entries, and what others added while it managed the link.
struct OnTheLink {
    index: u32,
    addresses: Vec<netconf_kernel::netlink::Address>,
    routes: Vec<netconf_kernel::netlink::Route>,
}

fn added_by_others(
    d: &mut Dispatcher,
    phys: &str,
    family: netconf_interfaces::Family,
) -> OnTheLink {
    use netconf_kernel::netlink::Family as NlFamily;
    let wanted = match family {
        netconf_interfaces::Family::Inet6 => NlFamily::V6,
        _ => NlFamily::V4,
    };
    let mut found = OnTheLink {
        index: 0,
        addresses: Vec::new(),
        routes: Vec::new(),
    };
    let Ok(kernel) = d.kernel.as_mut() else {
        return found;
    };
    let Some(index) = kernel
        .link_by_name(device_of(phys))
        .ok()
        .flatten()
        .map(|l| l.index)
    else {
        return found;
    };
    found.index = index;
    found.addresses = kernel
        .addresses_of(index, wanted)
        .unwrap_or_default()
        .into_iter()
        .filter(|a| !crate::status::kernel_address(a))
        .collect();
    found.routes = kernel
        .routes_of(index, wanted)
        .unwrap_or_default()
        .into_iter()
        .filter(|r| {
            !crate::status::kernel_route(r)
                && r.protocol != netconf_kernel::netlink::NETCONF_ROUTE_PROTOCOL
        })
        .collect();
    // An external network modifier's entries are its own: never taken back.
    found
        .addresses
        .retain(|a| crate::enms::address_owner(d, a).is_none());
    found
        .routes
        .retain(|r| crate::enms::route_owner(d, r).is_none());
    found
}

/// Takes out what of `on_link` is still there after netconf's own removal:
/// what others added while netconf managed the link.
fn remove_external(
    d: &mut Dispatcher,
    id: EventId,
    phys: &str,
    on_link: OnTheLink,
    no_act: bool,
) -> Vec<String> {
    use netconf_kernel::netlink::NewRoute;
    let OnTheLink {
        index,
        addresses,
        routes,
    } = on_link;
    if index == 0 {
        return Vec::new();
    }
    let mut changes = Vec::new();
    let mut errors = Vec::new();
    let _ = d.with_kernel(|k| {
        let now = k.mirror.addresses_of(index).cloned().collect::<Vec<_>>();
        let addresses: Vec<_> = addresses
            .iter()
            .filter(|a| {
                now.iter()
                    .any(|n| n.addr == a.addr && n.prefix_len == a.prefix_len)
            })
            .collect();
        for r in &routes {
            changes.push(format!(
                "remove route {} dev {phys} (added outside netconf)",
                crate::status::describe_route(r)
            ));
            if !no_act {
                if let Err(e) = k.nl.del_route(&NewRoute::from(r)) {
                    if !matches!(e.errno(), Some(libc::ESRCH | libc::ENOENT)) {
                        errors.push(e.to_string());
                    }
                }
            }
        }
        for a in &addresses {
            changes.push(format!(
                "remove address {a} from {phys} (added outside netconf)"
            ));
            if !no_act {
                if let Err(e) = k.nl.del_address(index, a.addr, a.prefix_len, a.peer) {
                    errors.push(e.to_string());
                }
            }
        }
    });
    for e in errors {
        d.progress(id, "warning", format!("{phys}: {e}"));
    }
    changes
}

/// The interface's children are done: go on (mappings) or finish: record the
/// new state, or roll back a failed `ifup`.
pub fn iface_step(d: &mut Dispatcher, id: EventId) -> Option<Result<(), Failure>> {
    let failure = d.event_mut(id).and_then(|e| e.failure.take());
    let iface = iface_mut(d, id)?;
    let stage = std::mem::replace(&mut iface.stage, Stage::Running);
    let (up, phys, logical, ctx) = (
        iface.up,
        iface.phys.clone(),
        iface.logical.clone(),
        iface.ctx.clone(),
    );
    match stage {
        Stage::Finished(result) => {
            if let Err(f) = &result {
                note_failed(d, id, &logical, f);
            }
            Some(result)
        }
        Stage::Mapping(next) => match failure {
            Some(f) => {
                note_failed(d, id, &logical, &f);
                Some(Err(f.wrap(
                    ErrorCode::HookFailed,
                    format!("failed to bring up {logical}"),
                )))
            }
            None => {
                next_mapping(d, id, next);
                let planned = d.event(id).is_some_and(|e| e.children_pending() > 0);
                if planned {
                    None
                } else {
                    iface_step(d, id)
                }
            }
        },
        Stage::Running if up => {
            let work = std::mem::take(&mut iface_mut(d, id)?.stanzas);
            let previous = iface_mut(d, id)?.previous.take();
            if let Some(f) = failure {
                rollback(d, id, &work, ctx.args.no_act);
                if !ctx.args.no_act {
                    // What was up before an `ifup --force` still is; else
                    // nothing is (Debian takes it out of its state too).
                    match previous {
                        Some(record) => d.state.set(record),
                        None => {
                            d.state.remove(&phys);
                        }
                    }
                    d.save_state();
                }
                note_failed(d, id, &logical, &f);
                return Some(Err(f.wrap(f.code, format!("failed to bring up {logical}"))));
            }
            if !ctx.args.no_act {
                let stanzas = work
                    .into_iter()
                    .filter_map(|w| {
                        w.cfg.map(|cfg| StanzaRecord {
                            dhcp: is_dhcp(&cfg)
                                .then(|| d.dhcp.record(&crate::dhcp::key_of(&cfg)).cloned())
                                .flatten(),
                            family: cfg.family,
                            method: cfg.method,
                            applied: w.applied,
                        })
                    })
                    .collect();
                let auto =
                    ctx.config.in_class("auto", &phys) || ctx.config.in_class("auto", &logical);
                let ifindex = d.link_index(&phys);
                d.failed.remove(&phys);
                d.adopted.remove(&phys);
                d.state.set(IfaceRecord {
                    config: ctx.config.stanzas_named(&logical).cloned().collect(),
                    phys,
                    logical,
                    stanzas,
                    ifindex,
                    auto,
                    adopted: false,
                    in_progress: None,
                });
                d.save_state();
            }
            Some(Ok(()))
        }
        Stage::Running => {
            if !ctx.args.no_act {
                // A link netconf created goes at the end of the request,
                // with the others (`delete_doomed`); until then its record
                // stays (its `ifdown` under way), so that a crash before
                // that leaves no link no one knows of.
                let doomed = d
                    .state
                    .get(&phys)
                    .is_some_and(|r| r.stanzas.iter().any(|s| s.applied.created_link));
                if !doomed {
                    d.state.remove(&phys);
                }
                d.failed.remove(&phys);
                d.adopted.remove(&phys);
                crate::dhcp::forget(d, &phys);
                d.save_state();
            }
            if let Some(f) = failure {
                warn(d, id, format!("{phys}: {}", f.message));
            }
            Some(Ok(()))
        }
    }
}

/// Tells the request which interface failed, and why in one line.
fn note_failed(d: &mut Dispatcher, id: EventId, logical: &str, why: &Failure) {
    let detail = if why.causes.is_empty() {
        why.message.clone()
    } else {
        why.causes.join(": ")
    };
    if let Some(phys) = iface_mut(d, id).map(|i| i.phys.clone()) {
        d.failed.insert(phys, detail.clone());
    }
    let Some(parent) = d.event(id).and_then(|e| e.parent) else {
        return;
    };
    if let Some(Kind::Change { failed, .. }) = d.event_mut(parent).map(|e| &mut e.kind) {
        failed.push((logical.to_string(), detail));
    }
}

/// Takes back what a failed `ifup` put in, newest first.
fn rollback(d: &mut Dispatcher, id: EventId, work: &[StanzaWork], no_act: bool) {
    if let Some(phys) = d.event(id).and_then(|e| match &e.kind {
        Kind::Iface(i) => Some(i.phys.clone()),
        _ => None,
    }) {
        crate::dhcp::abandon(d, &phys);
    }
    for w in work.iter().rev() {
        let stop = w.program.as_ref().and_then(|p| p.stop.as_deref());
        if let (Some(stop), true, false) = (stop, w.program_started, no_act) {
            crate::programs::stop_now(d, id, stop);
        }
    }
    let mut notes = Vec::new();
    for w in work.iter().rev() {
        let Ok((changes, errors)) =
            d.with_kernel(|k| apply::remove(k, &w.applied, Removal::Rollback, no_act))
        else {
            return;
        };
        notes.extend(
            changes
                .into_iter()
                .map(|c| ("rollback", format!("undo: {c}"))),
        );
        notes.extend(
            errors
                .into_iter()
                .map(|e| ("warning", format!("rollback: {e}"))),
        );
    }
    for (step, message) in notes {
        d.progress(id, step, message);
    }
}

/// A link that appeared may be a port a bridge (or bond) of netconf's
/// waits for, named in its `bridge_ports` or `bond-slaves` or matching a
/// pattern there; with `own_stanza` (after the port's own `ifup`), also a
/// slave whose stanza names an up bond (`bond-master`), as ifenslave's
/// hook enslaves it from the slave's `pre-up` (an `allow-hotplug` slave
/// that appears comes here through its hotplug `ifup`, as it does through
/// udev's with Debian). It joins now, and goes out with the bridge's or
/// bond's `ifdown`. A bond's primary is chosen again after a slave joins,
/// from the slave stanza's `bond-primary` if it has one, else the bond's
/// (ifenslave's `setup_primary`). Returns what it did.
pub fn join_masters(d: &mut Dispatcher, port: &str, own_stanza: bool) -> Vec<String> {
    let ctx = ChangeCtx {
        up: true,
        args: Default::default(),
        config: d.config.clone(),
        carried: HashMap::new(),
    };
    let hooks = PackageHooks::detect(&d.settings.hooks_root);
    // The port's own stanza: the bond it names, and its `bond-primary`.
    let mut own_master: Option<(String, Vec<String>)> = None;
    let own = ctx.config.stanzas.iter().filter(|_| own_stanza);
    for stanza in own.filter(|s| s.name == port) {
        let cfg = stanza_config(&ctx, stanza, port, port);
        if let Ok(StanzaLinks {
            bond_master: Some(master),
            ..
        }) = stanza_links(&cfg)
        {
            let primary = netconf_interfaces::linkopts::find(&cfg.vars, &["bond-primary"])
                .map(|f| f.value.split_ascii_whitespace().map(String::from).collect())
                .unwrap_or_default();
            own_master = Some((master, primary));
        }
    }
    let mut joins = Vec::new();
    for (r, record) in d.state.interfaces.iter().enumerate() {
        for (s, stanza) in record.config.iter().enumerate() {
            let cfg = stanza_config(&ctx, stanza, &record.phys, &record.logical);
            let Ok(links) = stanza_links(&cfg) else {
                continue;
            };
            if hooks.owner(&cfg.iface, &cfg.vars).is_some() {
                // The package's hook script made it; its slaves are its too.
                continue;
            }
            let wants = match links.link.map(|l| l.kind) {
                Some(LinkSpecKind::Bridge(mut b)) if b.ports.matches(port) => {
                    member_vlans(&ctx, &record.phys, &mut b);
                    Some((apply::PortOf::bridge(&b), Vec::new(), Some(b)))
                }
                Some(LinkSpecKind::Bond(b)) => {
                    let named = own_master.as_ref().filter(|(m, _)| *m == record.phys);
                    (b.slaves.matches(port) || named.is_some()).then(|| {
                        let primary = match named {
                            Some((_, own)) if !own.is_empty() => own.clone(),
                            _ => b.primary.clone(),
                        };
                        (apply::PortOf::Bond, primary, None)
                    })
                }
                _ => None,
            };
            if let Some((port_of, primary, bridge)) = wants {
                joins.push((r, s, record.phys.clone(), port_of, primary, bridge));
            }
        }
    }
    let mut done = Vec::new();
    for (r, s, master, port_of, primary, bridge) in joins {
        let Some(stanza) = d.state.interfaces.get(r).and_then(|rec| rec.stanzas.get(s)) else {
            continue;
        };
        let mut applied = stanza.applied.clone();
        let result = d.with_kernel(|k| {
            let (Some(p), Some(m)) = (k.link_by_name(port)?, k.link_by_name(&master)?) else {
                return Ok(Vec::new());
            };
            let mut changes = apply::join(k, &p, m.index, &master, port_of, &mut applied, false)?;
            if let Some(b) = &bridge {
                // A VLAN-aware bridge's late port gets its VLANs too.
                changes.extend(apply::bridge_vlans::apply_ports(k, b, &[p], false)?);
            }
            if port_of == apply::PortOf::Bond {
                changes.extend(apply::bond_primary(k, &master, &primary, false)?);
            }
            Ok::<_, apply::ApplyError>(changes)
        });
        match result {
            Ok(Ok(changes)) => {
                for change in &changes {
                    tracing::info!(iface = %master, port, "{change}");
                }
                done.extend(changes);
                if let Some(stanza) = d
                    .state
                    .interfaces
                    .get_mut(r)
                    .and_then(|rec| rec.stanzas.get_mut(s))
                {
                    stanza.applied = applied;
                }
                d.save_state();
            }
            Ok(Err(e)) => tracing::warn!(iface = %master, port, "adding the port: {e}"),
            Err(f) => tracing::warn!(iface = %master, port, "adding the port: {}", f.message),
        }
    }
    done
}

/// The program of the `ifup` `iface_event` is being started: a failure of
/// the `ifup` from now on stops it.
pub fn program_started(d: &mut Dispatcher, iface_event: EventId) {
    if let Some(iface) = iface_mut(d, iface_event) {
        for w in iface.stanzas.iter_mut().filter(|w| w.program.is_some()) {
            w.program_started = true;
        }
    }
}

/// The device and what the program of stanza `stanza` of `iface_event` leaves.
pub fn program_of(
    d: &mut Dispatcher,
    iface_event: EventId,
    stanza: usize,
) -> Option<(String, netconf_methods::program::Leaves)> {
    let iface = iface_mut(d, iface_event)?;
    let leaves = iface.stanzas.get(stanza)?.program.as_ref()?.leaves;
    Some((device_of(&iface.phys).to_string(), leaves))
}

/// What stanza `stanza` of `iface_event` has in the kernel so far.
pub fn program_applied(d: &mut Dispatcher, iface_event: EventId, stanza: usize) -> Option<Applied> {
    Some(
        iface_mut(d, iface_event)?
            .stanzas
            .get(stanza)?
            .applied
            .clone(),
    )
}

/// What the stanza's program did is the stanza's: in its work, and in
/// the record under way (for a daemon that restarts meanwhile).
pub fn set_program_applied(
    d: &mut Dispatcher,
    iface_event: EventId,
    stanza: usize,
    applied: Applied,
) {
    let Some(iface) = iface_mut(d, iface_event) else {
        return;
    };
    let phys = iface.phys.clone();
    let Some(work) = iface.stanzas.get_mut(stanza) else {
        return;
    };
    work.applied = applied.clone();
    let family = work.cfg.as_ref().map(|c| c.family);
    if let (Some(record), Some(family)) = (d.state.get_mut(&phys), family) {
        if let Some(s) = record.stanzas.iter_mut().find(|s| s.family == family) {
            s.applied = applied;
            d.save_state();
        }
    }
}

/// The stanza `stanza` of `iface_event`, as its provider sees it.
pub fn program_cfg(
    d: &mut Dispatcher,
    iface_event: EventId,
    stanza: usize,
) -> Option<StanzaConfig> {
    iface_mut(d, iface_event)?.stanzas.get(stanza)?.cfg.clone()
}
