# boot-test's scenario 3 (issue 18): a system that runs Debian's ifupdown
# gets netconf with `apt install ./netconf_*.deb` while it runs, reboots
# under netconf, and goes back with `apt install ifupdown`. Sourced by
# guest.sh (result, detail, finish, journal_mono, acks, wait_ack, $share,
# $state, $phase), which calls scenario3_run when the run is scenario 3's:
# a QEMU run of its own (scripts/boot-test), three boots, the phase kept in
# $state/phase:
#
#   install   boot 1, no ifupdown, no netconf: apt installs ifupdown,
#             bridge-utils and ping from the image's offline archive
#             (/var/local/boottest-repo), puts tests/boot/interfaces in
#             place, reboots
#   ifupdown  boot 2, ifupdown's networking.service raised the network:
#             apt install ./netconf_*.deb with pings running through it
#             from the DHCP server's namespace, adoption, ifdown/ifup
#             under netconf, reboot
#   netconf   boot 3, netconf raised the network: the same state as under
#             ifupdown, then apt install ifupdown with pings running,
#             the network still up and renewed, power off
#
# The ifupdown system's network: tests/boot/interfaces, as in scenario 1
# (bridge_ports by bridge-utils' hook, as on a real ifupdown system).
s3_repo=/var/local/boottest-repo
s3_targets="198.51.100.10 203.0.113.1"

s3_fail() {
    result "3: FAIL $*"
    echo "$*" >>"$state/s3-failures"
}
s3_secs() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
s3_end() {
    if [ -s "$state/s3-failures" ]; then
        result "scenario 3 (ifupdown replaced on a running system, reboot, back): FAIL"
    else
        result "scenario 3 (ifupdown replaced on a running system, reboot, back): PASS"
    fi
    finish poweroff
}
s3_lan_address() { ip -4 -o addr show dev lan0 scope global | awk '{ sub(/\/.*/, "", $4); print $4; exit }'; }
# What a reboot must bring back: links (state, master), addresses (no
# lifetimes), the main routing tables (no protocol: ifupdown's dhclient-script
# and netconf mark their routes each their own way).
s3_snapshot() {
    local i
    for i in lo st0 lan0 br0 bp0; do
        echo "$i: $(ip -o link show dev "$i" 2>&1 | grep -o 'state [A-Z]*\| master [^ ]*' | sed 's/^ *//' | paste -sd' ')"
        ip -o addr show dev "$i" | awk '{ print "    " $3, $4 }' | sort
    done
    ip -4 route show table main | sed 's/ proto [^ ]*//' | sort
    ip -6 route show table main | sed 's/ proto [^ ]*//; s/ expires [^ ]*//; s/ pref [^ ]*//' | sort
}
# The first line of each interface's block in netconfctl status.
s3_status_heads() { netconfctl status 2>&1 | grep -E '^[a-z0-9]+: ' | paste -sd';' | sed 's/;/; /g'; }
s3_head() { netconfctl status 2>&1 | grep -E "^$1: " | head -n 1; }

# Pings from the DHCP server's namespace to lan0's leased address and,
# through it, to st0's and br0's (routes over lan0 in the namespace), one
# every 0.2 s, until s3_pings_stop.
s3_pings_start() {
    local lan a
    lan=$(s3_lan_address)
    ip -n dhcpsrv route replace 198.51.100.0/24 via "$lan"
    ip -n dhcpsrv route replace 203.0.113.0/24 via "$lan"
    s3_pids=()
    s3_ping_targets=("$lan" $s3_targets)
    for a in "${s3_ping_targets[@]}"; do
        ip netns exec dhcpsrv ping -n -i 0.2 "$a" >"/tmp/ping.$a" 2>&1 &
        s3_pids+=($!)
    done
    sleep 2
}
# "ADDRESS: sent N, lost M" for each ping, after stopping them; a lost
# count of 0 each, or returns 1. The last echo, whose reply may not have
# come back when ping was stopped, is not counted.
s3_pings_stop() {
    local pid a line lost=0
    sleep 1
    for pid in "${s3_pids[@]}"; do kill -INT "$pid" 2>/dev/null; done
    for pid in "${s3_pids[@]}"; do wait "$pid" 2>/dev/null; done
    s3_ping_summary=()
    for a in "${s3_ping_targets[@]}"; do
        line=$(awk '/bytes from/ && match($0, /icmp_seq=[0-9]+/) { got[substr($0, RSTART + 9, RLENGTH - 9)] = 1 }
            / packets transmitted/ { sent = $1 }
            END { lost = 0; for (i = 1; i < sent; i++) if (!(i in got)) lost++; printf "sent %d, lost %d", sent, lost }' "/tmp/ping.$a")
        s3_ping_summary+=("$a $line")
        case $line in *", lost 0") ;; *) lost=1 ;; esac
        grep -v 'bytes from' "/tmp/ping.$a" | detail
    done
    return $lost
}
# ip monitor while something runs; s3_monitor_stop counts its events but
# the refreshes of lan0's leased address (a DHCP renewal's lifetimes).
s3_monitor_start() {
    ip -o monitor link address route >/tmp/monitor 2>&1 &
    s3_monitor=$!
    sleep 1
}
s3_monitor_stop() {
    local lan
    lan=$(s3_lan_address)
    sleep 1
    kill "$s3_monitor"
    wait "$s3_monitor" 2>/dev/null
    s3_refreshes=$(grep -cE "^[0-9]+: lan0 +inet $lan/" /tmp/monitor)
    grep -vE "^[0-9]+: lan0 +inet $lan/" /tmp/monitor >/tmp/monitor.other
    s3_events=$(grep -c . /tmp/monitor.other)
}

# The run's boots, by phase (guest.sh calls it when the run is scenario 3's).
scenario3_run() {
    case $phase in
    install)
        result "boot 1: up $(cut -d' ' -f1 /proc/uptime) s after the kernel started; kernel $(uname -r)"
        if dpkg -s ifupdown >/dev/null 2>&1 || dpkg -s netconf >/dev/null 2>&1; then
            s3_fail "the image already has ifupdown or netconf"
            s3_end
        fi
        # Offline: only the image's archive.
        [ -f /etc/apt/sources.list ] && mv /etc/apt/sources.list /etc/apt/sources.list.mirror
        echo "deb [trusted=yes] file:$s3_repo ./" >/etc/apt/sources.list.d/boottest.list
        started=$(date +%s.%N)
        if apt-get update -q >/tmp/apt.log 2>&1 &&
            DEBIAN_FRONTEND=noninteractive apt-get install -y -q ifupdown bridge-utils iputils-ping >>/tmp/apt.log 2>&1; then
            result "3: apt-get install ifupdown bridge-utils iputils-ping (offline archive) ok in $(s3_secs "$started") s"
        else
            s3_fail "apt-get install ifupdown bridge-utils iputils-ping failed"
            detail </tmp/apt.log
            s3_end
        fi
        install -m 0644 "$share/interfaces" /etc/network/interfaces
        echo ifupdown >"$state/phase"
        result "boot 1: rebooting into ifupdown with tests/boot/interfaces"
        finish reboot
        ;;
    ifupdown)
        systemctl is-system-running --wait >/dev/null
        result "boot 2 (ifupdown): up $(cut -d' ' -f1 /proc/uptime) s after the kernel started; $(systemd-analyze time 2>&1 | head -n 1)"
        state_ifupdown=$(ifquery --state 2>&1 | sort | paste -sd' ')
        lan=$(s3_lan_address)
        if [ "$(systemctl is-active networking)" = active ] && [ "$(dpkg-query -W -f '${Status}' ifupdown 2>/dev/null)" = "install ok installed" ] &&
            [ "$state_ifupdown" = "br0=br0 lan0=lan0 lo=lo st0=st0" ] && [ -n "$lan" ] && pgrep -x dhclient >/dev/null; then
            result "3: ifupdown $(dpkg-query -W -f '${Version}' ifupdown) raised the network: networking.service active, ifquery --state: $state_ifupdown, lan0 $lan (dhclient pid $(pgrep -x dhclient | paste -sd,))"
        else
            s3_fail "ifupdown's boot: networking $(systemctl is-active networking), ifquery --state: $state_ifupdown, lan0 ${lan:-no address}"
            ip -br addr | detail
            journalctl -b --no-pager -u networking | tail -n 30 | detail
            s3_end
        fi
        s3_snapshot >"$state/s3-ifupdown.state"
        detail <"$state/s3-ifupdown.state"

        # The window starts right after a renewal of ifupdown's dhclient (T1
        # 40 s), so that few renewals fall in it; those refresh lan0's address's
        # lifetimes (a kernel change of dhclient-script's), and are counted apart.
        n=$(acks)
        wait_ack "$n" 60 || s3_fail "no DHCP renewal of ifupdown's dhclient within 60 s"
        n=$(acks)
        s3_monitor_start
        s3_pings_start
        started=$(date +%s.%N)
        (cd "$share" && DEBIAN_FRONTEND=noninteractive apt install -y ./netconf_*.deb) >/tmp/apt-netconf.log 2>&1
        rc=$?
        took=$(s3_secs "$started")
        ready=
        for ((i = 0; i < 60; i++)); do
            netconfctl status >/dev/null 2>&1 && ready=1 && break
            sleep 0.5
        done
        sleep 3
        s3_monitor_stop
        if s3_pings_stop; then pings_ok=1; else pings_ok=; fi
        detail </tmp/apt-netconf.log
        if [ "$rc" = 0 ] && [ "$(dpkg-query -W -f '${Status}' netconf)" = "install ok installed" ] &&
            [ "$(dpkg-query -W -f '${Status}' ifupdown 2>/dev/null)" != "install ok installed" ] && [ -n "$ready" ]; then
            result "3: apt install ./$(basename "$share"/netconf_*.deb) on the running system in $took s: ifupdown $(dpkg-query -W -f '${Status}' ifupdown | awk '{print $3}'), netconfd $(systemctl is-active netconfd), networking $(systemctl is-active networking)"
        else
            s3_fail "apt install ./netconf_*.deb: exit $rc, netconf $(dpkg-query -W -f '${Status}' netconf 2>&1), ifupdown $(dpkg-query -W -f '${Status}' ifupdown 2>&1), netconfd ${ready:+not }serving"
        fi
        if [ -n "$pings_ok" ]; then
            result "3: pings through the installation lost nothing: $(IFS=';'; echo "${s3_ping_summary[*]}" | sed 's/;/; /g')"
        else
            s3_fail "pings through the installation lost echoes: $(IFS=';'; echo "${s3_ping_summary[*]}" | sed 's/;/; /g')"
        fi
        if [ "$s3_events" = 0 ]; then
            result "3: 0 kernel changes while apt installed netconf and netconfd adopted the network ($s3_refreshes refresh(es) of lan0's lease by ifupdown's dhclient, $(($(acks) - n)) renewal(s) in that time)"
        else
            s3_fail "$s3_events kernel change(s) while apt installed netconf and netconfd adopted the network"
            detail </tmp/monitor.other
        fi
        heads=$(s3_status_heads)
        netconfctl status 2>&1 | detail
        journalctl -b --no-pager -u netconfd | grep -iE 'adopt|left alone|foreign' | detail
        if s3_head st0 | grep -q '^st0: adopted, up' && s3_head br0 | grep -q '^br0: adopted, up'; then
            result "3: netconfctl status: $heads"
        else
            s3_fail "netconfctl status: $heads (st0 and br0 should be adopted, up)"
        fi

        # ifdown and ifup under netconf, of what ifupdown raised.
        for iface in st0 br0 lan0; do
            started=$(date +%s.%N)
            down=$(ifdown "$iface" 2>&1)
            down_rc=$?
            after_down=$(ip -4 -o addr show dev "$iface" scope global | awk '{print $4}' | paste -sd,)
            up=$(ifup "$iface" 2>&1)
            up_rc=$?
            after_up=$(ip -4 -o addr show dev "$iface" scope global | awk '{print $4}' | paste -sd,)
            head=$(s3_head "$iface")
            if [ "$down_rc" = 0 ] && [ -z "$after_down" ] && [ "$up_rc" = 0 ] && [ -n "$after_up" ] &&
                echo "$head" | grep -q "^$iface: managed, up"; then
                result "3: ifdown $iface (no IPv4 address left), ifup $iface ($after_up): $head, in $(s3_secs "$started") s"
            else
                s3_fail "ifdown $iface: exit $down_rc, left ${after_down:-no address}; ifup $iface: exit $up_rc, ${after_up:-no address}; $head"
                printf 'ifdown %s:\n%s\nifup %s:\n%s\n' "$iface" "$down" "$iface" "$up" | detail
            fi
        done
        echo netconf >"$state/phase"
        result "boot 2: rebooting into netconf"
        finish reboot
        ;;
    netconf)
        systemctl is-system-running --wait >/dev/null
        result "boot 3 (netconf): up $(cut -d' ' -f1 /proc/uptime) s after the kernel started; $(systemd-analyze time 2>&1 | head -n 1)"
        units="netconfd networking netconf-wait-online"
        # shellcheck disable=SC2086
        states=$(systemctl is-active $units | paste -sd' ')
        failed=$(systemctl list-units --failed --no-legend --plain | awk '{print $1}' | paste -sd' ')
        if [ "$states" = "active active active" ] && [ -z "$failed" ]; then
            result "3: systemctl is-active $units: $states; no unit failed"
        else
            s3_fail "systemctl is-active $units: $states; failed units: ${failed:-none}"
        fi
        heads=$(s3_status_heads)
        netconfctl status 2>&1 | detail
        bad=
        for iface in lo st0 lan0 br0; do
            s3_head "$iface" | grep -q "^$iface: managed, up" || bad+=" $iface"
        done
        if [ -z "$bad" ]; then
            result "3: netconfctl status: $heads"
        else
            s3_fail "netconfctl status: $heads (not managed and up:$bad)"
        fi
        s3_snapshot >/tmp/s3-netconf.state
        if diff "$state/s3-ifupdown.state" /tmp/s3-netconf.state >/tmp/s3-state.diff; then
            result "3: links, addresses, routes and bridge ports as under ifupdown ($(grep -c '^    ' /tmp/s3-netconf.state) addresses, $(grep -vc '^ \|^[a-z0-9]*: ' /tmp/s3-netconf.state) routes)"
        else
            s3_fail "the state after the reboot differs from ifupdown's (< ifupdown, > netconf)"
            detail </tmp/s3-state.diff
        fi

        # And back to ifupdown, with pings running.
        n=$(acks)
        wait_ack "$n" 60 || s3_fail "no DHCP renewal within 60 s under netconf"
        s3_pings_start
        started=$(date +%s.%N)
        DEBIAN_FRONTEND=noninteractive apt install -y ifupdown >/tmp/apt-ifupdown.log 2>&1
        rc=$?
        took=$(s3_secs "$started")
        sleep 2
        if s3_pings_stop; then pings_ok=1; else pings_ok=; fi
        detail </tmp/apt-ifupdown.log
        netconf_status=$(dpkg-query -W -f '${Status}' netconf 2>/dev/null | awk '{print $3}')
        owner=$(dpkg -S /lib/systemd/system/networking.service 2>&1 | cut -d: -f1)
        if [ "$rc" = 0 ] && [ "$(dpkg-query -W -f '${Status}' ifupdown)" = "install ok installed" ] &&
            [ "$netconf_status" != installed ] && [ "$owner" = ifupdown ] &&
            [ "$(systemctl is-active networking)" = active ] && [ "$(systemctl is-active netconfd)" != active ]; then
            result "3: apt install ifupdown in $took s: netconf ${netconf_status:-purged}, networking.service (ifupdown's) $(systemctl is-active networking), netconfd $(systemctl is-active netconfd)"
        else
            s3_fail "apt install ifupdown: exit $rc, ifupdown $(dpkg-query -W -f '${Status}' ifupdown 2>&1), netconf ${netconf_status:-none}, networking.service from ${owner}: $(systemctl is-active networking), netconfd $(systemctl is-active netconfd)"
        fi
        if [ -n "$pings_ok" ]; then
            result "3: pings through the return to ifupdown lost nothing: $(IFS=';'; echo "${s3_ping_summary[*]}" | sed 's/;/; /g')"
        else
            s3_fail "pings through the return to ifupdown lost echoes: $(IFS=';'; echo "${s3_ping_summary[*]}" | sed 's/;/; /g')"
        fi
        # The lease netconf's dhclient held is still renewed, and applied: a
        # DHCPACK, then lan0's address valid for 110 s or more (the lease is
        # 120 s; the REBOOT of the dhclient started again for ifupdown finds
        # the address there and leaves it, its first RENEW refreshes it).
        n=$(acks)
        lft=
        for ((i = 0; i < 100; i++)); do
            lft=$(ip -o -4 addr show dev lan0 | sed -n 's/.*valid_lft \([0-9]*\)sec.*/\1/p' | head -n 1)
            [ "$(acks)" -gt "$n" ] && [ -n "$lft" ] && [ "$lft" -ge 110 ] && break
            sleep 1
        done
        if [ "$(acks)" -gt "$n" ] && [ -n "$lft" ] && [ "$lft" -ge 110 ]; then
            result "3: under ifupdown again, lan0's lease renewed and applied (address valid for $lft s)"
        else
            s3_fail "under ifupdown again, lan0's lease not renewed and applied within 100 s ($(($(acks) - n)) DHCPACK(s), valid_lft ${lft:-none})"
            ip -o addr show dev lan0 | detail
            journalctl -b --no-pager | grep -i dhclient | tail -n 20 | detail
        fi
        # ifupdown knows what it took over (netconf's prerm, netconf-handover):
        # its state file and the dhclient where it keeps it.
        state_back=$(ifquery --state 2>&1 | sort | paste -sd' ')
        dhclient_back=$(cat /run/dhclient.lan0.pid 2>/dev/null)
        if [ "$state_back" = "br0=br0 lan0=lan0 lo=lo st0=st0" ] && [ -n "$dhclient_back" ] &&
            [ -d "/proc/$dhclient_back" ]; then
            result "3: ifupdown's ifquery --state: $state_back; lan0's dhclient runs as ifupdown's (pid $dhclient_back, /run/dhclient.lan0.pid)"
        else
            s3_fail "under ifupdown again, ifquery --state: $state_back; /run/dhclient.lan0.pid: ${dhclient_back:-none}"
            pgrep -a dhclient | detail
        fi
        s3_snapshot >/tmp/s3-back.state
        if diff "$state/s3-ifupdown.state" /tmp/s3-back.state >/tmp/s3-back.diff; then
            result "3: under ifupdown again, links, addresses, routes and bridge ports as before"
        else
            s3_fail "under ifupdown again, the state differs (< ifupdown at boot 2, > now)"
            detail </tmp/s3-back.diff
        fi
        # ifupdown's own ifdown and ifup of what netconf left it.
        started=$(date +%s.%N)
        down=$(ifdown lan0 2>&1)
        down_rc=$?
        after_down=$(ip -4 -o addr show dev lan0 scope global | awk '{print $4}' | paste -sd,)
        up=$(ifup lan0 2>&1)
        up_rc=$?
        after_up=$(ip -4 -o addr show dev lan0 scope global | awk '{print $4}' | paste -sd,)
        if [ "$down_rc" = 0 ] && [ -z "$after_down" ] && [ "$up_rc" = 0 ] && [ -n "$after_up" ]; then
            result "3: ifupdown's ifdown lan0 (no IPv4 address left), ifup lan0 ($after_up) in $(s3_secs "$started") s"
        else
            s3_fail "ifupdown's ifdown lan0: exit $down_rc, left ${after_down:-no address}; ifup lan0: exit $up_rc, ${after_up:-no address}"
            printf 'ifdown lan0:\n%s\nifup lan0:\n%s\n' "$down" "$up" | detail
        fi
        failed=$(systemctl list-units --failed --no-legend --plain | awk '{print $1}' | paste -sd' ')
        if [ -z "$failed" ]; then
            result "3: under ifupdown again, no unit failed"
        else
            s3_fail "under ifupdown again, failed units: $failed"
        fi
        journalctl -b --no-pager -o short-monotonic -p warning | grep -v ' kernel: ' | tail -n 40 | detail
        s3_end
        ;;
    *)
        s3_fail "unknown phase $phase"
        s3_end
        ;;
    esac
}
