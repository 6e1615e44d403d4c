#!/bin/bash
# boot-test's guest side (scripts/boot-test): run by boottest-driver.service
# at the end of every boot of the image, from the host's read-only share
# (/run/boottest/share: this script, interfaces, scenarios, netconf.deb).
# Result lines go to fd 3 (the virtio-serial port the host reads): lines
# starting with "boot-test: " are the results, the others details. The
# phase is kept in /var/lib/boottest/phase (the image is a throwaway
# overlay: each run starts at phase install).
#
#   install    first boot, no netconf, no ifupdown: dpkg -i the .deb (a
#              fresh install on a running system), put the test's
#              interfaces file in place, reboot
#   scenarios  the boot under test: the scenarios, then power off (or,
#              with scenario 5, switch to sysvinit and reboot)
#   sysvinit   scenario 5's boot under sysvinit (tests/boot/scenario5.sh);
#              `guest.sh shutdown-check` is its shutdown's last word
#
# Scenarios in files of their own (tests/boot/scenarioN.sh, beside this
# script in the share) are sourced: each defines scenarioN.
set -u
share=${BOOTTEST_SHARE:-/run/boottest/share}
state=/var/lib/boottest
mkdir -p "$state"
phase=$(cat "$state/phase" 2>/dev/null || echo install)
read -r -a scenarios <"$share/scenarios"

result() { echo "boot-test: $*" >&3; }
detail() { sed 's/^/    /' >&3; }
for f in "$share"/scenario[0-9]*.sh; do
    [ -r "$f" ] && . "$f"
done
# Scenario 5 runs in a boot of its own, under sysvinit, after the others.
systemd_scenarios=()
for s in "${scenarios[@]}"; do
    [ "$s" = 5 ] || systemd_scenarios+=("$s")
done
if [ "${1:-}" = shutdown-check ]; then
    sysvinit_shutdown_check
    exit 0
fi
finish() {
    [ "$1" = poweroff ] && echo "@@boot-test-done@@" >&3
    sync
    systemctl "$1"
    exit 0
}
# Seconds since boot (the journal's monotonic clock) of the first journal
# line of this boot matching an extended regular expression.
journal_mono() {
    journalctl -b -o short-monotonic --no-pager 2>/dev/null | grep -E -m 1 "$1" |
        sed -n 's/^\[ *\([0-9.]*\)\].*/\1/p'
}

# The checks of the test's interfaces file in `netconfctl status` ($1) that
# fail, one per line: every interface managed and up with its address, the
# lease from dnsmasq, bp0 in br0, no error or difference.
status_lacks() {
    local status=$1
    block() { echo "$status" | awk -v n="$1:" '$1 == n { on = 1; print; next } /^[^ ]/ { on = 0 } on'; }
    block lo | grep -q '^lo: managed, up' || echo "lo up"
    block st0 | grep -q '^st0: managed, up' || echo "st0 up"
    block st0 | grep -q 'address  *198\.51\.100\.10/24' || echo "st0 198.51.100.10/24"
    block lan0 | grep -q '^lan0: managed, up' || echo "lan0 up"
    block lan0 | grep -q 'dhclient pid [0-9]*, lease 198\.18\.0\.' || echo "lan0 dhclient lease"
    block lan0 | grep -q 'address  *198\.18\.0\.[0-9]*/24' || echo "lan0 198.18.0.x/24"
    block br0 | grep -q '^br0: managed, up' || echo "br0 up"
    block br0 | grep -q 'address  *203\.0\.113\.1/24' || echo "br0 203.0.113.1/24"
    ip -d link show bp0 | grep -q 'master br0' || echo "bp0 port of br0"
    echo "$status" | grep -qE '^ +(error|differs) ' && echo "no error or differs line"
    return 0
}
# DHCPACKs dnsmasq has logged so far.
acks() { grep -c 'DHCPACK(srv0)' /run/boottest-dnsmasq.log 2>/dev/null || echo 0; }
# Waits (up to $2 s) for more than $1 DHCPACKs in dnsmasq's log.
wait_ack() {
    local i
    for ((i = 0; i < $2; i++)); do
        [ "$(acks)" -gt "$1" ] && return 0
        sleep 1
    done
    return 1
}
# lan0's IPv4 address's valid lifetime once it is 110 s or more again (a
# renewal applied: the lease is 120 s), else the last seen, after 15 s.
renewed_lifetime() {
    local i lft=
    for ((i = 0; i < 30; i++)); do
        lft=$(ip -o -4 addr show dev lan0 | sed -n 's/.*valid_lft \([0-9]*\)sec.*/\1/p' | head -n 1)
        [ -n "$lft" ] && [ "$lft" -ge 110 ] && break
        sleep 0.5
    done
    echo "$lft"
}

# Scenario 3 starts from a system that runs ifupdown: its boots and phases
# are its own (scripts/boot-test gives it a QEMU run of its own).
if [ "${scenarios[*]}" = 3 ]; then
    scenario3_run
    finish poweroff
fi

case $phase in
install)
    result "boot 1: up $(cut -d' ' -f1 /proc/uptime) s after the kernel started; kernel $(uname -r), systemd $(systemctl --version | sed -n '1s/^systemd \([0-9]*\).*/\1/p')"
    if dpkg -s ifupdown >/dev/null 2>&1 || dpkg -s netconf >/dev/null 2>&1; then
        result "install: FAIL the image already has ifupdown or netconf"
        finish poweroff
    fi
    started=$(date +%s.%N)
    if dpkg -i "$share"/netconf_*.deb >/tmp/dpkg.log 2>&1; then
        result "install: dpkg -i $(basename "$share"/netconf_*.deb) ok in $(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s; netconfd $(systemctl is-active netconfd), networking $(systemctl is-active networking)"
    else
        result "install: FAIL dpkg -i failed"
        detail </tmp/dpkg.log
        finish poweroff
    fi
    detail </tmp/dpkg.log
    install -m 0644 "$share/interfaces" /etc/network/interfaces
    [ ${#systemd_scenarios[@]} -eq 0 ] && sysvinit_switch
    echo scenarios >"$state/phase"
    result "boot 1: rebooting with tests/boot/interfaces"
    finish reboot
    ;;
scenarios) ;;
sysvinit) sysvinit_boot ;;
*)
    result "FAIL unknown phase $phase"
    finish poweroff
    ;;
esac

# The driver is a simple service: the boot is over once it has started.
systemctl is-system-running --wait >/dev/null
result "boot 2: up $(cut -d' ' -f1 /proc/uptime) s after the kernel started; $(systemd-analyze time 2>&1 | head -n 1)"
failures=()

# --- scenario 1: the boot under test
scenario1() {
    local ok=1 units states lease online chain failed status
    units="netconfd networking netconf-wait-online"
    # shellcheck disable=SC2086
    states=$(systemctl is-active $units | tr '\n' ' ' | sed 's/ $//')
    if [ "$states" = "active active active" ]; then
        result "1: systemctl is-active $units: $states"
    else
        result "1: FAIL systemctl is-active $units: $states"
        ok=0
    fi

    # dhclient logs "bound to ADDRESS" once the hook (netconfd's, which
    # applies the lease) has returned.
    lease=$(journal_mono 'dhclient.*: bound to 198\.18\.0\.')
    online=$(journal_mono 'Reached target network-online\.target')
    if [ -n "$lease" ] && [ -n "$online" ] &&
        awk -v l="$lease" -v o="$online" 'BEGIN { exit !(l < o) }'; then
        result "1: DHCP lease bound at ${lease} s, network-online.target reached at ${online} s (journal, seconds since boot)"
    else
        result "1: FAIL DHCP lease bound at ${lease:-never} s, network-online.target reached at ${online:-never} s"
        ok=0
    fi

    chain=$(systemd-analyze critical-chain --no-pager network-online.target 2>&1)
    echo "$chain" | detail
    if echo "$chain" | grep -q 'netconf-wait-online.service' &&
        echo "$chain" | grep -q 'networking.service'; then
        result "1: critical-chain: $(echo "$chain" | grep -E '\.(target|service)' | sed 's/^[^a-z]*//' | tr -s ' ' | paste -sd'<' | sed 's/</ <- /g')"
    else
        result "1: FAIL critical-chain of network-online.target lacks networking.service or netconf-wait-online.service"
        ok=0
    fi

    failed=$(systemctl list-units --failed --no-legend --plain 2>&1)
    if [ -z "$failed" ]; then
        result "1: no unit failed"
    else
        result "1: FAIL failed units: $(echo "$failed" | awk '{print $1}' | paste -sd' ')"
        ok=0
    fi

    status=$(netconfctl status 2>&1)
    echo "$status" | detail
    ip -br addr | detail
    local lacks
    lacks=$(status_lacks "$status" | paste -sd, -)
    if [ -z "$lacks" ]; then
        result "1: netconfctl status: lo, st0 198.51.100.10/24, lan0 $(echo "$status" | grep -o 'lease 198\.18\.0\.[0-9]*' | head -n 1), br0 203.0.113.1/24 over bp0, all managed and up"
    else
        result "1: FAIL netconfctl status lacks: $lacks"
        ok=0
    fi
    if [ $ok = 1 ]; then
        result "scenario 1 (fresh install, reboot): PASS"
    else
        result "scenario 1 (fresh install, reboot): FAIL"
        failures+=(1)
    fi
}

# --- scenario 4: restart and kill -9 of netconfd
netconfd_ready() {
    local i
    for ((i = 0; i < 60; i++)); do
        [ "$(systemctl is-active netconfd)" = active ] && netconfctl status >/dev/null 2>&1 && return 0
        sleep 0.5
    done
    return 1
}
# netconfctl status without what a renewal changes (the lease's times).
shown_status() { netconfctl status 2>&1 | grep -v '^ *dhcp '; }
scenario4() {
    local ok=1 n pid1 pid2 pid3 dh1 dh2 events lft
    # The window starts right after a renewal: dhclient renews every 40 s
    # (T1), and a renewal refreshes the address's lifetimes, a kernel change
    # that is not the restart's.
    n=$(acks)
    if ! wait_ack "$n" 60; then
        result "4: FAIL no DHCP renewal within 60 s before the restart"
        ok=0
    fi
    n=$(acks)
    status_before=$(shown_status)
    pid1=$(systemctl show -p MainPID --value netconfd)
    dh1=$(pgrep -x dhclient | paste -sd,)
    ip monitor link address route >/tmp/monitor 2>&1 &
    local mon=$!
    sleep 1
    systemctl restart netconfd
    netconfd_ready || { result "4: FAIL netconfd not ready after systemctl restart"; ok=0; }
    pid2=$(systemctl show -p MainPID --value netconfd)
    sleep 2
    kill -9 "$pid2"
    # Restart=on-failure brings it back.
    for ((i = 0; i < 60; i++)); do
        pid3=$(systemctl show -p MainPID --value netconfd)
        [ "$pid3" != 0 ] && [ "$pid3" != "$pid2" ] && break
        sleep 0.5
    done
    netconfd_ready || { result "4: FAIL netconfd not back after kill -9"; ok=0; }
    sleep 2
    kill "$mon"
    wait "$mon" 2>/dev/null
    dh2=$(pgrep -x dhclient | paste -sd,)
    events=$(grep -c . /tmp/monitor)
    local during=$(($(acks) - n))
    if [ "$events" = 0 ]; then
        result "4: systemctl restart netconfd (pid $pid1 -> $pid2), kill -9 $pid2 (systemd restarted it: pid $pid3): 0 kernel changes (ip monitor link address route)"
    else
        result "4: FAIL $events kernel change(s) during the restart and kill -9 ($during DHCP renewal(s) in that time)"
        detail </tmp/monitor
        ok=0
    fi
    if [ "$(shown_status)" = "$status_before" ]; then
        result "4: netconfctl status the same after the restarts (lease times aside)"
    else
        result "4: FAIL netconfctl status changed with the restarts"
        diff <(echo "$status_before") <(shown_status) | detail
        ok=0
    fi
    if [ -n "$dh1" ] && [ "$dh1" = "$dh2" ]; then
        result "4: dhclient kept running (pid $dh2)"
    else
        result "4: FAIL dhclient pids before: ${dh1:-none}, after: ${dh2:-none}"
        ok=0
    fi
    # The next renewal goes through the hook to the new netconfd, which
    # refreshes the address's lifetimes (the lease is 120 s).
    n=$(acks)
    if wait_ack "$n" 90; then
        lft=$(renewed_lifetime)
        if [ -n "$lft" ] && [ "$lft" -ge 110 ]; then
            result "4: the lease renewed after the kill (DHCPACK, lan0's address valid for ${lft} s again)"
        else
            result "4: FAIL renewed (DHCPACK) but lan0's address lifetime was not refreshed (valid_lft ${lft:-none})"
            ip -o addr show dev lan0 | detail
            ok=0
        fi
    else
        result "4: FAIL no DHCP renewal within 90 s after the kill"
        ok=0
    fi
    if [ -z "$(systemctl list-units --failed --no-legend --plain)" ]; then
        result "4: no unit failed"
    else
        result "4: FAIL failed units: $(systemctl list-units --failed --no-legend --plain | awk '{print $1}' | paste -sd' ')"
        ok=0
    fi
    if [ $ok = 1 ]; then
        result "scenario 4 (restart and kill -9 of netconfd): PASS"
    else
        result "scenario 4 (restart and kill -9 of netconfd): FAIL"
        failures+=(4)
        journalctl -b -u netconfd --no-pager | tail -n 40 | detail
    fi
}

for s in "${systemd_scenarios[@]}"; do
    "scenario$s"
done
# For the details: what netconf's units logged, and every warning.
journalctl -b --no-pager -o short-monotonic -u netconfd -u networking -u netconf-wait-online |
    tail -n 80 | detail
journalctl -b --no-pager -o short-monotonic -p warning | grep -v ' kernel: ' | tail -n 40 | detail
[ ${#systemd_scenarios[@]} -eq ${#scenarios[@]} ] || sysvinit_switch
finish poweroff
