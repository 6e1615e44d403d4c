//! Tunnels: `inet tunnel`, `inet6 v4tunnel`, `inet6 6to4`, `inet6 tunnel`.
