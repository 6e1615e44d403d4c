//! netconf-dhcp-hook: the dhclient `-sf` target that posts each event to netconfd (the DHCP issue fills this in).
