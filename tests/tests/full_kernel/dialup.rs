//! Methods that run a program of Debian's: `inet ppp`, `inet wvdial`,
//! `inet bootp`, `inet ipv4ll`.
