//! Interfaces that come and go, handled in the daemon so that no udev RUN
//! rule is needed while it runs: an `allow-hotplug` interface is brought up
//! when its link appears, once udev is done with it (udev may rename it),
//! and any interface netconf has up is taken down when its link goes. When
//! the carrier of an interface with a dhclient of ours comes back, DHCP
//! starts over: a new cable may mean a new network.

use crate::dispatcher::Dispatcher;
use crate::kernel::Change;
use crate::queue::{EventId, Job};
use netconf_ctlsock_proto::ChangeArgs;
use netconf_kernel::netlink::{shares_network_namespace, Event, Link};
use std::path::Path;
use std::time::Duration;
use tracing::{info, warn};

/// `wait-carrier` events still waiting: device, event.
#[derive(Default)]
pub struct CarrierWaits(Vec<(String, EventId)>);

/// The `WaitCarrier` event `id` starts: done at once if `device` has a
/// carrier, else when it gets one, or when `timeout` has passed (then the
/// interface is configured anyway, with a warning).
pub fn wait_carrier(d: &mut Dispatcher, id: EventId, device: String, timeout: Duration) {
    d.sync_kernel();
    let carrier = d
        .kernel
        .as_ref()
        .ok()
        .and_then(|k| k.mirror.link_by_name(&device))
        .is_some_and(|l| l.lower_up);
    if carrier {
        return d.complete(id, Ok(()));
    }
    d.progress(id, "carrier", format!("waiting for a carrier on {device}"));
    d.carrier_waits.0.push((device, id));
    let _ = d.jobs_sender().send((id, Job::Sleep(timeout)));
}

/// The job of event `id` finished: if that was a carrier wait's timeout,
/// it goes on without the carrier, saying so.
pub fn carrier_wait_over(d: &mut Dispatcher, id: EventId) {
    let waits = &mut d.carrier_waits.0;
    if let Some(i) = waits.iter().position(|(_, e)| *e == id) {
        let (device, _) = waits.remove(i);
        d.progress(
            id,
            "warning",
            format!("no carrier on {device}; configuring it anyway"),
        );
    }
}

/// How often, and how many times, to look whether udev is done with a link.
const UDEV_POLL: Duration = Duration::from_millis(100);
const UDEV_TRIES: u32 = 50;

/// Links that appeared or went (by others only) and carriers that came
/// back (whoever wrote last).
pub fn kernel_changed(d: &mut Dispatcher, changes: &[Change], ours: bool) {
    for change in changes {
        match (&change.event, &change.before) {
            (Event::NewLink(link), None) if !ours => appeared(d, &link.name, 0),
            (Event::NewLink(link), Some(before)) => {
                if !ours && before.name != link.name {
                    // udev's rename of a new link: it appears under its
                    // final name.
                    appeared(d, &link.name, 0);
                }
                // A carrier that comes back is the far end's doing, even
                // when the kernel announces it while netconf's own write
                // runs (and so among netconf's changes).
                if !before.lower_up && link.lower_up {
                    carrier_on(d, &link.name);
                }
            }
            (Event::DelLink(link), _) if !ours => gone(d, link),
            _ => {}
        }
    }
}

/// Whether `name` is an `allow-hotplug` interface that is not up yet.
fn wanted(d: &Dispatcher, name: &str) -> bool {
    d.config.in_class("hotplug", name)
        && d.state.get(name).is_none_or(|r| !r.listed())
        && !d.is_busy(name)
}

/// udev handles the links of the initial network namespace only, and only
/// when it runs; it is done with a link once it has written its database
/// entry.
fn udev_done(index: u32) -> bool {
    let udev_runs = Path::new("/run/udev/control").exists();
    !udev_runs
        || !shares_network_namespace(Path::new("/proc/1"))
        || Path::new(&format!("/run/udev/data/n{index}")).exists()
}

/// A link appeared (or is looked at again, `tries` times, while udev may
/// still be busy with it).
pub fn appeared(d: &mut Dispatcher, name: &str, tries: u32) {
    if tries == 0 {
        // As udev's `ifup --allow=hotplug` would, read the file as it is now.
        d.config = match crate::profiles::current_config(d) {
            Some(config) => config,
            None => crate::dispatcher::read_config(&d.settings.interfaces_file, d.settings.dialect),
        };
    }
    if tries == 0 {
        let _ = crate::ifaces::join_masters(d, name, false);
    }
    if !wanted(d, name) {
        return;
    }
    let Some(index) = d.link_index(name) else {
        return;
    };
    if !udev_done(index) && tries < UDEV_TRIES {
        let job = Job::HotplugCheck {
            name: name.to_string(),
            tries: tries + 1,
            after: UDEV_POLL,
        };
        let _ = d.jobs_sender().send((0, job));
        return;
    }
    if tries >= UDEV_TRIES {
        warn!(
            iface = name,
            "udev has not finished with the link after 5 s; bringing it up anyway"
        );
    }
    info!(iface = name, "hotplug: the link appeared");
    let args = ChangeArgs {
        targets: vec![name.to_string()],
        allow: Some("hotplug".into()),
        ..ChangeArgs::default()
    };
    d.internal_change("hotplug", true, args);
}

fn gone(d: &mut Dispatcher, link: &Link) {
    if d.state.get(&link.name).is_none() || d.is_busy(&link.name) {
        return;
    }
    if crate::programs::program_link(d, &link.name) {
        // pppd's link goes with the connection; pppd may make it again
        // (`persist`), and `ifdown` is what stops it.
        info!(iface = %link.name, "the link of the stanza's program went away");
        return;
    }
    info!(iface = %link.name, "hotplug: the link went away");
    let args = ChangeArgs {
        targets: vec![link.name.clone()],
        force: true,
        ..ChangeArgs::default()
    };
    d.internal_change("hotplug", false, args);
}

/// The carrier came: `wait-carrier` waits end, dhclients start over.
fn carrier_on(d: &mut Dispatcher, device: &str) {
    let (done, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut d.carrier_waits.0)
        .into_iter()
        .partition(|(dev, _)| dev == device);
    d.carrier_waits.0 = waiting;
    for (_, event) in done {
        d.complete(event, Ok(()));
    }
    crate::dhcp::carrier_back(d, device);
}
