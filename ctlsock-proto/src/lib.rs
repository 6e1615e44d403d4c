//! Wire types, framing and a small blocking client for the netconf control socket (the daemon issue fills this in).
