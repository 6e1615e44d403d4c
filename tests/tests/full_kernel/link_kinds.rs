//! Link kinds beyond bonds and VLANs: vrf, macvtap, ipvlan, can, bridge
//! VLAN filtering.
