//! netconfd: the control socket server, event queue and handlers (the daemon issue fills this in).
