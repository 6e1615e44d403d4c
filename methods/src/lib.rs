//! Providers (loopback, manual, static, dhcp, link kinds) that turn a desired state into kernel changes (the daemon issue fills this in).
