//! Who may do what over the control socket; docs/SECURITY.md gives the rules
//! and the reasons. A client is what the kernel recorded when it called
//! connect(): SO_PEERCRED's uid and gid and SO_PEERGROUPS' supplementary
//! groups. Nothing the client does afterwards changes them (exec a setuid
//! program, exit and leave its PID to another process), so nothing is read
//! from `/proc` of its PID, which by then may be another program.

use netconf_ctlsock_proto::Op;
use netconf_interfaces::model::SourceFile;
use std::ffi::CString;
use std::os::fd::RawFd;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// Who is on the other end of a connection, as of its connect().
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    /// For the log only: see the module doc.
    pub pid: i32,
    /// The effective uid and gid at connect().
    pub uid: u32,
    pub gid: u32,
    pub groups: Vec<u32>,
}

impl Peer {
    /// The credentials of the peer of the connected socket `fd`.
    pub fn of(fd: RawFd) -> std::io::Result<Peer> {
        let mut cred = libc::ucred {
            pid: 0,
            uid: 0,
            gid: 0,
        };
        let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
        // SAFETY: `cred` and `len` are valid for writes of the sizes given.
        let rc = unsafe {
            libc::getsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_PEERCRED,
                (&mut cred as *mut libc::ucred).cast(),
                &mut len,
            )
        };
        if rc != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(Peer {
            pid: cred.pid,
            uid: cred.uid,
            gid: cred.gid,
            groups: peer_groups(fd),
        })
    }
}

/// SO_PEERGROUPS (Linux 4.13): the supplementary groups at connect(). On
/// an older kernel only the primary group counts.
fn peer_groups(fd: RawFd) -> Vec<u32> {
    const GID: usize = std::mem::size_of::<libc::gid_t>();
    let mut groups: Vec<libc::gid_t> = vec![0; 32];
    loop {
        let mut len = (groups.len() * GID) as libc::socklen_t;
        // SAFETY: `groups` is valid for writes of `len` bytes.
        let rc = unsafe {
            libc::getsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_PEERGROUPS,
                groups.as_mut_ptr().cast(),
                &mut len,
            )
        };
        let needed = len as usize / GID;
        if rc == 0 {
            groups.truncate(needed);
            return groups;
        }
        // Too small: the kernel said how many there are (at most NGROUPS_MAX).
        let too_small = std::io::Error::last_os_error().raw_os_error() == Some(libc::ERANGE);
        if !too_small || needed <= groups.len() || needed > 65_536 {
            return Vec::new();
        }
        groups.resize(needed, 0);
    }
}

/// What a client may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// uid 0: everything.
    Root,
    /// A member of `--admin-group`: `ifup`, `ifdown` and `ifreload` of the
    /// daemon's own configuration, nothing that names commands.
    Admin,
    /// Everyone else: `status`, `monitor`, `state`, `wait-online`, `ping`.
    Reader,
}

impl Role {
    /// May see what root's hook scripts print (`monitor`'s output lines).
    pub fn sees_hook_output(self) -> bool {
        self != Role::Reader
    }
}

/// Why netconfd could not start with the given `--admin-group`.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    #[error("--admin-group {0}: no such group (a group name or a numeric gid)")]
    UnknownGroup(String),
}

/// The daemon's rules: who is root is fixed; who is an admin is its
/// `--admin-group` (none by default).
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// The group as given, and its gid (resolved once, at start).
    admin_group: Option<(String, u32)>,
}

impl Policy {
    pub fn new(admin_group: Option<&str>) -> Result<Policy, AccessError> {
        let admin_group = match admin_group {
            None => None,
            Some(name) => {
                let gid = group_id(name).ok_or_else(|| AccessError::UnknownGroup(name.into()))?;
                Some((name.to_string(), gid))
            }
        };
        Ok(Policy { admin_group })
    }

    pub fn role(&self, peer: &Peer) -> Role {
        if peer.uid == 0 {
            return Role::Root;
        }
        match &self.admin_group {
            Some((_, gid)) if peer.gid == *gid || peer.groups.contains(gid) => Role::Admin,
            _ => Role::Reader,
        }
    }

    /// Whether `role` may make the request `op`, refused with a sentence
    /// that says why. An admin's `ifup`/`ifdown` that names the daemon's own
    /// file is made to name none, and loses the caller's `IFUPDOWN_*`
    /// variables: only a hook's recursive `ifup`, which runs as root, needs
    /// them, and an admin has no business steering root's hooks with them.
    pub fn admit(
        &self,
        role: Role,
        op: &mut Op,
        daemon_file: &Path,
        daemon_dialect: netconf_interfaces::DialectChoice,
    ) -> Result<(), String> {
        match (role, op) {
            (Role::Root, _) => Ok(()),
            (_, Op::DhcpEvent(_)) => {
                Err("permission denied: DHCP events come from root's DHCP clients only".into())
            }
            // Which profile runs decides every stanza that runs: as
            // writing the files, root's alone (docs/SECURITY.md).
            (_, Op::ProfileEnable(_)) => Err(
                "permission denied: profile-enable chooses the configuration that runs, \
                 which only root may do"
                    .into(),
            ),
            // Locations and modifiers: system files and root's commands.
            (_, op @ (Op::LocationEnable(_) | Op::EnmEnable(_) | Op::EnmDisable(_))) => {
                Err(format!(
                    "permission denied: {} rewrites resolv.conf, hosts and nsswitch.conf or runs \
                     root's commands, which only root may do",
                    op.name()
                ))
            }
            // The ops that write the configuration files (docs/SECURITY.md).
            (_, op) if op.root_only() => Err(format!(
                "permission denied: {} writes the configuration files, which only root may do",
                op.name()
            )),
            (Role::Reader, op) if op.changes_network() => Err(format!(
                "permission denied: {} changes the network, which needs root{}",
                op.name(),
                self.or_admins()
            )),
            (Role::Admin, Op::Ifup(args) | Op::Ifdown(args)) => {
                if let Some(file) = &args.interfaces {
                    if Path::new(file) != daemon_file {
                        return Err(format!(
                            "permission denied: -i {file}: only root may name an interfaces file, \
                             whose commands run as root ({} may use {})",
                            self.admins(),
                            daemon_file.display()
                        ));
                    }
                    args.interfaces = None;
                }
                if let Some(asked) = &args.dialect {
                    if asked.parse() != Ok(daemon_dialect) {
                        return Err(format!(
                            "permission denied: --dialect {asked}: only root may read the \
                             configuration in another dialect than netconfd's ({daemon_dialect}), \
                             which changes what its lines mean"
                        ));
                    }
                    args.dialect = None;
                }
                if let Some((name, value)) = args.options.first() {
                    return Err(format!(
                        "permission denied: -o {name}={value}: only root may set options on \
                         the command line (stanza commands and hook scripts run what they say)"
                    ));
                }
                args.inherited.clear();
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// An admin may apply only a configuration that only root can change:
    /// every file read must be root's and writable by no one else. Otherwise
    /// whoever can write one of them could have root run their commands.
    pub fn check_files(&self, role: Role, files: &[SourceFile]) -> Result<(), String> {
        if role != Role::Admin {
            return Ok(());
        }
        for file in files {
            let meta = std::fs::metadata(&file.path)
                .map_err(|e| format!("permission denied: {}: {e}", file.path))?;
            if meta.uid() != 0 || meta.mode() & 0o022 != 0 {
                return Err(format!(
                    "permission denied: {} may be changed by others than root (owner uid {}, \
                     mode {:o}); {} may only apply a configuration that only root can change",
                    file.path,
                    meta.uid(),
                    meta.mode() & 0o7777,
                    self.admins()
                ));
            }
        }
        Ok(())
    }

    fn admins(&self) -> String {
        match &self.admin_group {
            Some((name, _)) => format!("members of group {name}"),
            None => "admins".into(),
        }
    }

    fn or_admins(&self) -> String {
        match &self.admin_group {
            Some((name, _)) => format!(" or membership of group {name}"),
            None => String::new(),
        }
    }
}

/// A group's gid: its name in the group database first, then a number, as
/// chown(1) reads it.
fn group_id(name: &str) -> Option<u32> {
    if let Ok(cname) = CString::new(name) {
        let mut group: libc::group = unsafe { std::mem::zeroed() };
        let mut found: *mut libc::group = std::ptr::null_mut();
        let mut buf = vec![0 as libc::c_char; 4096];
        loop {
            // SAFETY: every pointer is valid for the sizes given; `found`
            // points into `group` and `buf`, which outlive its use here.
            let rc = unsafe {
                libc::getgrnam_r(
                    cname.as_ptr(),
                    &mut group,
                    buf.as_mut_ptr(),
                    buf.len(),
                    &mut found,
                )
            };
            if rc == libc::ERANGE && buf.len() < 1 << 20 {
                buf.resize(buf.len() * 2, 0);
                continue;
            }
            if rc == 0 && !found.is_null() {
                return Some(group.gr_gid);
            }
            break;
        }
    }
    name.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use netconf_ctlsock_proto::{ChangeArgs, DhcpEventArgs, ReloadArgs, StatusArgs};

    const FILE: &str = "/etc/network/interfaces";

    fn peer(uid: u32, gid: u32, groups: &[u32]) -> Peer {
        Peer {
            pid: 1,
            uid,
            gid,
            groups: groups.to_vec(),
        }
    }

    fn admins() -> Policy {
        Policy::new(Some("4242")).unwrap()
    }

    fn admit(policy: &Policy, role: Role, mut op: Op) -> Result<Op, String> {
        let dialect = netconf_interfaces::DialectChoice::Auto;
        policy
            .admit(role, &mut op, Path::new(FILE), dialect)
            .map(|()| op)
    }

    #[test]
    fn roles_come_from_uid_and_groups_only() {
        let none = Policy::default();
        assert_eq!(none.role(&peer(0, 0, &[])), Role::Root);
        assert_eq!(none.role(&peer(1000, 4242, &[4242])), Role::Reader);
        let p = admins();
        assert_eq!(p.role(&peer(0, 1, &[])), Role::Root);
        assert_eq!(p.role(&peer(1000, 4242, &[])), Role::Admin);
        assert_eq!(p.role(&peer(1000, 100, &[27, 4242])), Role::Admin);
        assert_eq!(p.role(&peer(1000, 100, &[27])), Role::Reader);
        // gid 0 is not root.
        assert_eq!(p.role(&peer(1000, 0, &[0])), Role::Reader);
    }

    #[test]
    fn group_names_and_numbers() {
        assert_eq!(group_id("root"), Some(0));
        assert_eq!(group_id("4242"), Some(4242));
        assert!(Policy::new(Some("no-such-group-here")).is_err());
    }

    #[test]
    fn readers_only_look() {
        let p = admins();
        for op in [Op::Ping, Op::Monitor, Op::Status(StatusArgs::default())] {
            assert!(admit(&p, Role::Reader, op).is_ok());
        }
        let e = admit(&p, Role::Reader, Op::Ifup(ChangeArgs::default())).unwrap_err();
        assert_eq!(
            e,
            "permission denied: ifup changes the network, which needs root or membership of group 4242"
        );
        assert!(admit(&p, Role::Reader, Op::Ifdown(ChangeArgs::default())).is_err());
        assert!(admit(&p, Role::Reader, Op::Reload(ReloadArgs::default())).is_err());
        let e = admit(
            &Policy::default(),
            Role::Reader,
            Op::Ifdown(ChangeArgs::default()),
        );
        assert_eq!(
            e.unwrap_err(),
            "permission denied: ifdown changes the network, which needs root"
        );
    }

    #[test]
    fn dhcp_events_are_roots_alone() {
        let p = admins();
        let op = || {
            Op::DhcpEvent(DhcpEventArgs {
                token: "t".into(),
                client: "dhclient".into(),
                interface: "eth0".into(),
                reason: "BOUND".into(),
                env: Vec::new(),
            })
        };
        assert!(admit(&p, Role::Root, op()).is_ok());
        assert!(admit(&p, Role::Admin, op()).is_err());
        assert!(admit(&p, Role::Reader, op()).is_err());
    }

    #[test]
    fn documents_are_read_by_all_and_written_by_root_alone() {
        use netconf_ctlsock_proto::{IfaceDefineArgs, IfaceListArgs, IfaceXmlArgs};
        let p = admins();
        let reads = || {
            [
                Op::IfaceList(IfaceListArgs::default()),
                Op::IfaceXml(IfaceXmlArgs {
                    name: "br0".into(),
                    live: true,
                }),
            ]
        };
        for op in reads() {
            assert!(admit(&p, Role::Reader, op).is_ok());
        }
        let define = || {
            Op::IfaceDefine(IfaceDefineArgs {
                xml: "<interface/>".into(),
            })
        };
        for op in [define(), Op::ChangeBegin, Op::ChangeRollback] {
            assert!(admit(&p, Role::Root, op.clone()).is_ok());
            assert!(admit(&p, Role::Admin, op.clone()).is_err());
            assert!(admit(&p, Role::Reader, op).is_err());
        }
        assert_eq!(
            admit(&p, Role::Admin, define()).unwrap_err(),
            "permission denied: iface-define writes the configuration files, which only root may do"
        );
    }

    #[test]
    fn locations_and_modifiers_are_seen_by_all_and_switched_by_root_alone() {
        use netconf_ctlsock_proto::NameArgs;
        let p = admins();
        let name = || NameArgs {
            name: "office".into(),
        };
        for op in [Op::LocationList, Op::LocationShow(name()), Op::EnmList] {
            assert!(admit(&p, Role::Reader, op).is_ok());
        }
        for op in [
            Op::LocationEnable(name()),
            Op::EnmEnable(name()),
            Op::EnmDisable(name()),
        ] {
            assert!(admit(&p, Role::Root, op.clone()).is_ok());
            assert!(admit(&p, Role::Admin, op.clone()).is_err());
            assert!(admit(&p, Role::Reader, op).is_err());
        }
        assert_eq!(
            admit(&p, Role::Admin, Op::LocationEnable(name())).unwrap_err(),
            "permission denied: location-enable rewrites resolv.conf, hosts and nsswitch.conf \
             or runs root's commands, which only root may do"
        );
    }

    #[test]
    fn admins_change_the_network_with_roots_file_only() {
        let p = admins();
        let ifup = |args: ChangeArgs| Op::Ifup(args);
        assert!(admit(&p, Role::Admin, Op::Reload(ReloadArgs::default())).is_ok());

        let other = ChangeArgs {
            interfaces: Some("/tmp/mine".into()),
            ..Default::default()
        };
        let e = admit(&p, Role::Admin, ifup(other.clone())).unwrap_err();
        assert!(
            e.starts_with("permission denied: -i /tmp/mine: only root"),
            "{e}"
        );
        assert!(admit(&p, Role::Root, ifup(other)).is_ok());

        // Another dialect changes what root's lines mean: root's to choose.
        let ng = ChangeArgs {
            dialect: Some("ifupdown-ng".into()),
            ..Default::default()
        };
        let e = admit(&p, Role::Admin, ifup(ng.clone())).unwrap_err();
        assert!(
            e.starts_with("permission denied: --dialect ifupdown-ng"),
            "{e}"
        );
        assert!(admit(&p, Role::Root, ifup(ng)).is_ok());
        let own = ChangeArgs {
            dialect: Some("auto".into()),
            ..Default::default()
        };
        match admit(&p, Role::Admin, ifup(own)) {
            Ok(Op::Ifup(args)) => assert_eq!(args.dialect, None),
            other => panic!("{other:?}"),
        }

        let same = ChangeArgs {
            interfaces: Some(FILE.into()),
            inherited: vec![("IFUPDOWN_eth0".into(), "pre-up".into())],
            targets: vec!["eth0".into()],
            ..Default::default()
        };
        let Ok(Op::Ifup(args)) = admit(&p, Role::Admin, ifup(same.clone())) else {
            panic!("the daemon's own file is refused");
        };
        assert_eq!(args.interfaces, None);
        assert!(args.inherited.is_empty());
        let Ok(Op::Ifup(args)) = admit(&p, Role::Root, ifup(same.clone())) else {
            panic!("root refused");
        };
        assert_eq!(args, same, "root's request is left as it is");

        let with_option = ChangeArgs {
            options: vec![("up".into(), "id > /tmp/x".into())],
            ..Default::default()
        };
        let e = admit(&p, Role::Admin, Op::Ifdown(with_option)).unwrap_err();
        assert!(e.starts_with("permission denied: -o up=id > /tmp/x"), "{e}");
    }

    #[test]
    fn admins_need_a_configuration_only_root_can_change() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("interfaces");
        std::fs::write(&path, "").unwrap();
        let files = [SourceFile {
            path: path.to_string_lossy().into_owned(),
            included_from: None,
        }];
        let p = admins();
        let root = unsafe { libc::geteuid() } == 0;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(p.check_files(Role::Admin, &files).is_ok(), root);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o664)).unwrap();
        let e = p.check_files(Role::Admin, &files).unwrap_err();
        assert!(e.contains("may be changed by others than root"), "{e}");
        assert!(p.check_files(Role::Root, &files).is_ok());
    }
}
