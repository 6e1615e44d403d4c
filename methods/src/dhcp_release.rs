//! The DHCPRELEASE netconfd sends itself on `ifdown` (RFC 2131 4.4.6): it
//! knows the lease (address, server) and the client identifier the client
//! sent, so the client can be stopped without its own release, which for
//! dhclient (`dhclient -r`) takes a second of its own. The packet goes by
//! unicast from the leased address, port 68, to the server's port 67, out
//! of the lease's interface, while the address is still on it.

use std::io;
use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::os::fd::AsRawFd;

/// A lease to give back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldLease {
    pub address: Ipv4Addr,
    /// The server identifier (option 54) the lease came with.
    pub server: Ipv4Addr,
}

/// The DHCPRELEASE for `lease`, from hardware address `mac`, with option 61
/// `client_id` if the client sent one (the server finds the lease by it).
pub fn packet(lease: &HeldLease, mac: [u8; 6], client_id: Option<&[u8]>, xid: u32) -> Vec<u8> {
    let mut p = vec![0u8; 236];
    p[0] = 1; // BOOTREQUEST
    p[1] = 1; // Ethernet
    p[2] = 6;
    p[4..8].copy_from_slice(&xid.to_be_bytes());
    p[12..16].copy_from_slice(&lease.address.octets()); // ciaddr
    p[28..34].copy_from_slice(&mac); // chaddr
    p.extend_from_slice(&[99, 130, 83, 99]); // magic cookie
    p.extend_from_slice(&[53, 1, 7]); // DHCPRELEASE
    p.extend_from_slice(&[54, 4]);
    p.extend_from_slice(&lease.server.octets());
    if let Some(id) = client_id.filter(|id| !id.is_empty() && id.len() <= 255) {
        p.extend_from_slice(&[61, id.len() as u8]);
        p.extend_from_slice(id);
    }
    p.push(255);
    p
}

/// Sends the release out of `iface`. Port 68 is the client's (dhclient
/// holds it too: both sockets reuse the address); if it cannot be had, a
/// port of the kernel's choosing serves, since a server answers no release.
pub fn send(
    iface: &str,
    lease: &HeldLease,
    mac: [u8; 6],
    client_id: Option<&[u8]>,
) -> io::Result<()> {
    let socket = bind(lease.address, 68).or_else(|_| bind(lease.address, 0))?;
    let name = iface.as_bytes();
    // SAFETY: setsockopt reads `name.len()` bytes of a live slice.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_BINDTODEVICE,
            name.as_ptr().cast(),
            name.len() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    let xid = u32::from_be_bytes(*b"ncfd") ^ std::process::id();
    socket.send_to(
        &packet(lease, mac, client_id, xid),
        SocketAddrV4::new(lease.server, 67),
    )?;
    Ok(())
}

fn bind(address: Ipv4Addr, port: u16) -> io::Result<UdpSocket> {
    // SO_REUSEADDR must be set before bind(2): through socket2-free libc.
    // SAFETY: socket(2) returns a new fd or -1.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the fd was just made and is owned by nothing else.
    let socket = unsafe { <UdpSocket as std::os::fd::FromRawFd>::from_raw_fd(fd) };
    let one: libc::c_int = 1;
    let addr = libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: port.to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from(address).to_be(),
        },
        sin_zero: [0; 8],
    };
    // SAFETY: setsockopt reads one c_int; bind reads one sockaddr_in; both
    // live for the calls.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_REUSEADDR,
            (&one as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
        libc::bind(
            fd,
            (&addr as *const libc::sockaddr_in).cast(),
            std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(socket)
}

/// The hardware address of `iface`, from sysfs.
pub fn mac_of(iface: &str) -> Option<[u8; 6]> {
    if iface.contains('/') || iface == "." || iface == ".." {
        return None;
    }
    let text = std::fs::read_to_string(format!("/sys/class/net/{iface}/address")).ok()?;
    let bytes: Vec<u8> = text
        .trim()
        .split(':')
        .map(|b| u8::from_str_radix(b, 16).ok())
        .collect::<Option<_>>()?;
    bytes.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_packet() {
        let lease = HeldLease {
            address: Ipv4Addr::new(198, 18, 0, 145),
            server: Ipv4Addr::new(198, 18, 0, 1),
        };
        let mac = [0xc6, 0x68, 0xc9, 0xa3, 0x5a, 0x03];
        let p = packet(&lease, mac, Some(&[0xff, 1, 2]), 7);
        assert_eq!(&p[..4], &[1, 1, 6, 0]);
        assert_eq!(&p[4..8], &7u32.to_be_bytes());
        assert_eq!(&p[12..16], &[198, 18, 0, 145]);
        assert_eq!(&p[16..28], &[0; 12], "yiaddr, siaddr, giaddr");
        assert_eq!(&p[28..34], &mac);
        assert_eq!(
            &p[236..],
            &[99, 130, 83, 99, 53, 1, 7, 54, 4, 198, 18, 0, 1, 61, 3, 0xff, 1, 2, 255]
        );
        let without = packet(&lease, mac, None, 7);
        assert_eq!(&without[249..], &[255]);
    }

    #[test]
    fn macs() {
        assert_eq!(mac_of("../../etc"), None);
        assert_eq!(mac_of("lo"), Some([0; 6]));
    }
}
