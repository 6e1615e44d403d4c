//! Interfaces as documents (netcf's XML): the `iface-list`, `iface-xml`,
//! `iface-define`, `iface-undefine` and `change-*` ops that `ncftool` and
//! other programs send. Documents are read from the configuration as it is
//! now (the daemon's `--interfaces` file, read afresh, as every request
//! does); `--live` and `iface-list`'s activity come from the mirror of the
//! kernel. Writes go through `netconf_ifxml::edit` (atomic, only the
//! connection's stanzas); the transaction's snapshot lives in the state
//! directory, and a rollback applies the restored files to the kernel by
//! the very code path of `reload`.

use crate::access::Role;
use crate::dispatcher::Dispatcher;
use crate::queue::{ConnId, ReplySender};
use netconf_ctlsock_proto::{
    Body, ErrorCode, ErrorReply, IfaceDefineArgs, IfaceListArgs, IfaceUndefineArgs, IfaceXmlArgs,
    Op, Progress, ReloadArgs,
};
use netconf_ifxml::connection::{self, ConnectionError};
use netconf_ifxml::document::{Address, Interface, Ipv4, Ipv6, Kind, Link};
use netconf_ifxml::{edit, stanzas, transaction, xml};
use netconf_interfaces::{parse_file, InterfacesFile, ParseOptions};
use netconf_kernel::mirror::Mirror;
use serde_json::{json, Value};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use tracing::{error, info, warn};

/// Answers one of the document ops. `change-rollback` goes on as a
/// `reload`, which answers the client itself when the kernel is done.
pub fn request(d: &mut Dispatcher, conn: ConnId, reply: ReplySender, id: u64, op: Op, role: Role) {
    let result = match op {
        Op::IfaceList(args) => list(d, &args, role),
        Op::IfaceXml(args) => document(d, &args, role),
        Op::IfaceDefine(args) => define(d, &args),
        Op::IfaceUndefine(args) => undefine(d, &args),
        Op::ChangeBegin => begin(d),
        Op::ChangeCommit => commit(d),
        Op::ChangeRollback => return rollback(d, conn, reply, id, role),
        other => Err(ErrorReply::new(
            ErrorCode::Internal,
            format!("{} is not a document op", other.name()),
        )),
    };
    let body = match result {
        Ok(result) => Body::Ok { result },
        Err(e) => Body::Error(e),
    };
    reply.send(id, body);
}

/// The daemon's configuration, as every request reads it: now, whole.
fn config(d: &Dispatcher) -> Result<InterfacesFile, ErrorReply> {
    let file = d.settings.interfaces_file.to_string_lossy().into_owned();
    let parsed = parse_file(
        &file,
        &ParseOptions {
            no_loopback: true,
            dialect: d.settings.dialect,
            ..Default::default()
        },
    );
    if parsed.rejected {
        return Err(ErrorReply {
            code: ErrorCode::ConfigInvalid,
            message: format!("couldn't read interfaces file \"{file}\""),
            causes: parsed.errors().map(|e| e.report(&parsed.config)).collect(),
        });
    }
    Ok(parsed.config)
}

/// The configuration for a reader: root reads every file, anyone else
/// only a configuration whose files every user may read. A file kept from
/// others (`chmod 600` for a `wpa-psk`) is not shown through the daemon,
/// whose reads are root's: not its names, options or addresses.
fn config_for(d: &Dispatcher, role: Role) -> Result<InterfacesFile, ErrorReply> {
    let config = config(d)?;
    if role == Role::Root {
        return Ok(config);
    }
    for file in &config.files {
        let private = match std::fs::metadata(&file.path) {
            Ok(meta) => {
                use std::os::unix::fs::PermissionsExt;
                meta.permissions().mode() & 0o004 == 0
            }
            Err(_) => true,
        };
        if private {
            return Err(ErrorReply::new(
                ErrorCode::PermissionDenied,
                format!(
                    "permission denied: {} is not readable by every user; only root may read the configuration through netconfd",
                    file.path
                ),
            ));
        }
    }
    Ok(config)
}

fn edit_config(d: &Dispatcher) -> edit::Config {
    edit::Config {
        main: d.settings.interfaces_file.clone(),
        root: None,
    }
}

fn transactions(d: &Dispatcher) -> transaction::Transactions {
    transactions_of(&d.dhcp_settings.state_dir, &d.settings.interfaces_file)
}

/// The snapshot lives in the state directory (it must survive a reboot,
/// to be rolled back at boot); the configuration is the directory of the
/// interfaces file.
fn transactions_of(state_dir: &Path, interfaces_file: &Path) -> transaction::Transactions {
    let config_dir = interfaces_file.parent().unwrap_or(Path::new("/"));
    transaction::Transactions::new(state_dir, config_dir)
}

/// Restores the configuration files of a transaction (`change-begin`)
/// left open by a crash or a reboot; true when files were restored, so
/// that the kernel is brought in line. A failure is logged and the files
/// are left as they are: the daemon must come up to serve the network.
pub fn roll_back_open_transaction(state_dir: &Path, interfaces_file: &Path) -> bool {
    let transactions = transactions_of(state_dir, interfaces_file);
    match transactions.open_since() {
        Ok(None) => return false,
        Ok(Some(_)) => {}
        Err(e) => {
            error!("reading the open transaction: {e}");
            return false;
        }
    }
    match transactions.rollback() {
        Ok(files) => {
            for file in &files {
                warn!(file = %file.display(), "restored: a transaction was open when netconfd stopped");
            }
            warn!(
                files = files.len(),
                "an open configuration transaction was rolled back"
            );
            true
        }
        Err(e) => {
            error!("rolling back the open transaction: {e}");
            false
        }
    }
}

/// A name from a client: one the kernel and interfaces.d accept, before
/// it goes anywhere near a path.
fn check_name(name: &str) -> Result<(), ErrorReply> {
    xml::check_device_name(name).map_err(|why| ErrorReply::new(ErrorCode::BadRequest, why))
}

fn not_found(e: impl std::fmt::Display) -> ErrorReply {
    ErrorReply::new(ErrorCode::UnknownInterface, e.to_string())
}

/// The mirror, brought up to date first (as `status` does).
fn mirror(d: &mut Dispatcher) -> Result<&Mirror, ErrorReply> {
    if let Ok(k) = d.kernel.as_mut() {
        k.settle();
    }
    d.sync_kernel();
    match d.kernel.as_ref() {
        Ok(k) => Ok(&k.mirror),
        Err(e) => Err(ErrorReply::new(
            ErrorCode::Netlink,
            format!("netconfd has no view of the kernel: {e}"),
        )),
    }
}

fn mac_text(mac: &[u8]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// `iface-list`: the connections in file order; active is a link that
/// exists and is up.
fn list(d: &mut Dispatcher, args: &IfaceListArgs, role: Role) -> Result<Value, ErrorReply> {
    let config = config_for(d, role)?;
    let names = stanzas::connections(&config);
    let mirror = mirror(d)?;
    let listed: Vec<Value> = names
        .iter()
        .filter_map(|name| {
            let link = mirror.link_by_name(name);
            let active = link.is_some_and(|l| l.up);
            if args.active.is_some_and(|wanted| wanted != active) {
                return None;
            }
            let mut entry = json!({ "name": name, "active": active });
            if args.macs {
                entry["mac"] = json!(link.and_then(|l| l.mac.as_deref()).map(mac_text));
            }
            Some(entry)
        })
        .collect();
    Ok(json!({ "interfaces": listed }))
}

/// `iface-xml`: the connection's document, with the kernel's state when
/// `live`, and the stanza options it could not say.
fn document(d: &mut Dispatcher, args: &IfaceXmlArgs, role: Role) -> Result<Value, ErrorReply> {
    check_name(&args.name)?;
    let config = config_for(d, role)?;
    let described = stanzas::describe(&config, &args.name).map_err(not_found)?;
    let mut doc = described.interface;
    if args.live {
        add_live(&mut doc, mirror(d)?);
    }
    let unexpressed: Vec<Value> = described
        .unexpressed
        .iter()
        .map(|u| json!({ "place": u.place, "interface": u.interface, "what": u.what }))
        .collect();
    Ok(json!({ "xml": xml::write(&doc), "unexpressed": unexpressed }))
}

/// The kernel's view of `doc` and the interfaces in it, as netcf's
/// `ncf_if_xml_state` reported it: link state and speed, the MAC of an
/// ethernet, and every address with its prefix, in place of the
/// configured ones (how it is configured, dhcp or autoconf or a gateway,
/// stays). A connection with no link is `notpresent`, without addresses.
fn add_live(doc: &mut Interface, mirror: &Mirror) {
    let link = mirror.link_by_name(&doc.name);
    let (mut v4, mut v6) = (Vec::new(), Vec::new());
    if let Some(link) = link {
        for a in mirror.addresses_of(link.index) {
            match a.addr {
                IpAddr::V4(address) => v4.push(Address {
                    address,
                    prefix: Some(a.prefix_len),
                }),
                IpAddr::V6(address) => v6.push(Address {
                    address,
                    prefix: Some(a.prefix_len),
                }),
            }
        }
        if matches!(doc.kind, Kind::Ethernet) {
            if let Some(mac) = link.mac.as_deref().filter(|m| m.len() == 6) {
                doc.mac = Some(mac_text(mac));
            }
        }
    }
    let state = match link {
        None => "notpresent".to_string(),
        Some(l) => operstate(&doc.name).unwrap_or_else(|| {
            match (l.up, l.lower_up) {
                (true, true) => "up",
                (true, false) => "lowerlayerdown",
                (false, _) => "down",
            }
            .to_string()
        }),
    };
    // netcf's rule: a speed only for a link that is up; 0 otherwise.
    let speed = if state == "up" {
        sysfs_number(&doc.name, "speed")
    } else {
        Some(0)
    };
    doc.link = Some(Link {
        speed: link.and(speed),
        state: Some(state),
    });
    // The kernel's addresses in place of the configured ones; a family the
    // document leaves out appears when the kernel has addresses of it.
    if doc.ipv4.is_some() || !v4.is_empty() {
        doc.ipv4.get_or_insert_with(Ipv4::default).addresses = v4;
    }
    if doc.ipv6.is_some() || !v6.is_empty() {
        doc.ipv6.get_or_insert_with(Ipv6::default).addresses = v6;
    }
    let nested = match &mut doc.kind {
        Kind::Bridge(b) => &mut b.ports,
        Kind::Bond(b) => &mut b.slaves,
        Kind::Ethernet | Kind::Vlan(_) => return,
    };
    for inner in nested {
        add_live(inner, mirror);
        // The schema gives a port no addressing: its link state and MAC
        // only (a port has at least an IPv6 link-local address).
        inner.ipv4 = None;
        inner.ipv6 = None;
    }
}

/// `/sys/class/net/NAME/operstate`, if it is one of the schema's states
/// (the name was checked: no path in it).
fn operstate(name: &str) -> Option<String> {
    let text =
        std::fs::read_to_string(Path::new("/sys/class/net").join(name).join("operstate")).ok()?;
    let state = text.trim();
    Link::STATES.contains(&state).then(|| state.to_string())
}

/// A number in `/sys/class/net/NAME/FIELD`; a link without a speed (a
/// virtual one reads -1 or fails) has none.
fn sysfs_number(name: &str, field: &str) -> Option<u32> {
    std::fs::read_to_string(Path::new("/sys/class/net").join(name).join(field))
        .ok()?
        .trim()
        .parse()
        .ok()
}

fn files_json(files: &[PathBuf]) -> Vec<String> {
    files
        .iter()
        .map(|f| f.to_string_lossy().into_owned())
        .collect()
}

/// The errors of an invalid document, as `ncftool --root` words them too:
/// netcf's category, then each error with its line:column and path.
fn invalid(errors: &xml::XmlErrors) -> ErrorReply {
    ErrorReply {
        code: ErrorCode::InvalidXml,
        message: errors.category().into(),
        causes: errors.0.iter().map(|e| e.to_string()).collect(),
    }
}

fn edit_failed(e: impl std::fmt::Display) -> ErrorReply {
    ErrorReply::new(ErrorCode::EditFailed, "File operation failed").with_cause(e.to_string())
}

/// `iface-define`: the document's stanzas replace the connection's (and
/// those of the ports it had, which the new document may leave out).
fn define(d: &mut Dispatcher, args: &IfaceDefineArgs) -> Result<Value, ErrorReply> {
    let current = config(d)?;
    let defined =
        connection::define(&edit_config(d), &current, &args.xml).map_err(connection_failed)?;
    info!(iface = %defined.name, files = ?defined.files, "defined");
    d.tell_monitors(
        Some(defined.name.clone()),
        None,
        "request",
        format!("iface-define {}", defined.name),
    );
    Ok(json!({ "name": defined.name, "files": files_json(&defined.files) }))
}

/// `iface-undefine`: the connection's stanzas and its ports' go.
fn undefine(d: &mut Dispatcher, args: &IfaceUndefineArgs) -> Result<Value, ErrorReply> {
    check_name(&args.name)?;
    let current = config(d)?;
    let files =
        connection::undefine(&edit_config(d), &current, &args.name).map_err(connection_failed)?;
    info!(iface = %args.name, files = ?files, "undefined");
    d.tell_monitors(
        Some(args.name.clone()),
        None,
        "request",
        format!("iface-undefine {}", args.name),
    );
    Ok(json!({ "name": args.name, "files": files_json(&files) }))
}

fn connection_failed(e: ConnectionError) -> ErrorReply {
    match e {
        ConnectionError::Invalid(errors) => invalid(&errors),
        ConnectionError::Inexpressible(e) => {
            ErrorReply::new(ErrorCode::InvalidXml, "XML invalid").with_cause(e.to_string())
        }
        ConnectionError::Taken { .. } => {
            ErrorReply::new(ErrorCode::EditFailed, "Operation invalid in this state")
                .with_cause(e.to_string())
        }
        ConnectionError::NotFound(e) => not_found(e),
        ConnectionError::Edit(e) => edit_failed(e),
    }
}

fn transaction_failed(e: impl std::fmt::Display) -> ErrorReply {
    ErrorReply::new(ErrorCode::Transaction, e.to_string())
}

fn begin(d: &mut Dispatcher) -> Result<Value, ErrorReply> {
    transactions(d).begin().map_err(transaction_failed)?;
    info!("configuration change transaction begun");
    d.tell_monitors(None, None, "request", "change-begin".into());
    Ok(Value::Null)
}

fn commit(d: &mut Dispatcher) -> Result<Value, ErrorReply> {
    transactions(d).commit().map_err(transaction_failed)?;
    info!("configuration change transaction committed");
    d.tell_monitors(None, None, "request", "change-commit".into());
    Ok(Value::Null)
}

/// `change-rollback`: the files as they were at `change-begin`, then a
/// `reload` of them, which takes down what the transaction brought up,
/// brings back what it took down and reconfigures what changed. The
/// client hears each restored file, then the reload's plan and its end.
fn rollback(d: &mut Dispatcher, conn: ConnId, reply: ReplySender, id: u64, role: Role) {
    let files = match transactions(d).rollback() {
        Ok(files) => files,
        Err(e) => return reply.send(id, Body::Error(transaction_failed(e))),
    };
    info!(files = ?files, "configuration change transaction rolled back");
    d.tell_monitors(None, None, "request", "change-rollback".into());
    for file in &files {
        let progress = Progress {
            iface: None,
            event: None,
            step: "restore".into(),
            stream: None,
            message: format!("{}: as it was at change-begin", file.display()),
        };
        reply.send(id, Body::Progress(progress));
    }
    crate::reload::start(d, Some((conn, reply, id, role)), ReloadArgs::default());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_before_use() {
        assert!(check_name("br0").is_ok());
        for bad in ["", "../../etc", "a/b", "x".repeat(16).as_str(), ".."] {
            assert_eq!(
                check_name(bad).unwrap_err().code,
                ErrorCode::BadRequest,
                "{bad}"
            );
        }
    }

    #[test]
    fn invalid_documents_list_every_error() {
        let errors = xml::parse("<interface type=\"bridge\"><bridge/></interface>").unwrap_err();
        let reply = invalid(&errors);
        assert_eq!(reply.code, ErrorCode::InvalidXml);
        assert_eq!(reply.message, "XML invalid");
        assert_eq!(reply.causes.len(), errors.0.len());
        assert!(reply.causes[0].starts_with("1:"), "{:?}", reply.causes);
        let reply = invalid(&xml::parse("<interface").unwrap_err());
        assert_eq!(reply.message, "XML parser failed");
    }

    #[test]
    fn same_document_limit_as_the_library() {
        // A document the library accepts fits in one request line once
        // it is JSON (the frame limit is the same number of bytes; JSON
        // escaping of quotes can still push a document near the limit
        // over it, which the daemon answers with too-large).
        assert_eq!(xml::MAX_DOCUMENT, netconf_ctlsock_proto::MAX_LINE);
    }
}
