# boot-test's scenario 5 (sourced by guest.sh): the sysvinit path. The
# guest, netconf installed, switches itself to sysvinit with dpkg
# (sysvinit-core and what it needs, downloaded into the image: it
# conflicts with systemd-sysv, which dpkg removes) and reboots: one boot
# more, on the same throwaway overlay, rather than a second image (which
# would need its own debootstrap and its own installation boot). Under
# sysvinit:
#
#   sysvinit_boot   (boottest-driver's init script, at the end of the boot)
#                   netconf's /etc/init.d/networking started netconfd,
#                   the interfaces of tests/boot/interfaces are up, then
#                   power off
#   sysvinit_shutdown_check
#                   (the driver's init script's stop, right after
#                   networking's in the shutdown) what the stop path left:
#                   interfaces down, the lease released, netconfd gone

sysvinit_debs=/var/cache/boottest/sysvinit
# Where the scripts are kept for the shutdown's check (the share may be
# unmounted by then).
sysvinit_copy=/run/boottest/copy

# Under systemd, netconf installed: to sysvinit, then reboot.
sysvinit_switch() {
    local started
    started=$(date +%s.%N)
    # --force-unsafe-io: no fsync for each file (the disk is a throwaway
    # overlay).
    if DEBIAN_FRONTEND=noninteractive dpkg -i --force-unsafe-io "$sysvinit_debs"/*.deb >/tmp/sysvinit.log 2>&1 &&
        update-rc.d boottest-dhcp-server defaults >>/tmp/sysvinit.log 2>&1 &&
        update-rc.d boottest-driver defaults >>/tmp/sysvinit.log 2>&1; then
        result "5: switched to sysvinit in $(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s: dpkg -i $(cd "$sysvinit_debs" && ls | sed 's/_.*//' | paste -sd' '); systemd-sysv $(dpkg-query -W -f '${db:Status-Status}' systemd-sysv 2>/dev/null || echo absent)"
        detail </tmp/sysvinit.log
    else
        result "5: FAIL the switch to sysvinit failed (dpkg -i $sysvinit_debs/*.deb, update-rc.d)"
        detail </tmp/sysvinit.log
        result "scenario 5 (sysvinit boot and shutdown): FAIL"
        finish poweroff
    fi
    echo sysvinit >"$state/phase"
    result "5: rebooting under sysvinit"
    finish reboot
}

# The end of the sysvinit boot (run in the background by the driver's init
# script): the checks, then power off.
sysvinit_boot() {
    local ok=1 pid1 nd pidfile status label denied
    mkdir -p "$sysvinit_copy"
    cp "$share"/*.sh "$share"/scenarios "$sysvinit_copy/"
    # The driver is the last script of the runlevel ($all): wait for rc to end.
    for ((i = 0; i < 120; i++)); do
        pgrep -f '^/bin/sh /etc/init.d/rc ' >/dev/null || break
        sleep 0.5
    done
    pid1=$(readlink /proc/1/exe)
    if [ ! -d /run/systemd/system ] && [ "$(cat /proc/1/comm)" = init ] &&
        [ "$(dpkg-query -W -f '${db:Status-Status}' sysvinit-core 2>/dev/null)" = installed ]; then
        result "5: the boot under sysvinit: up $(cut -d' ' -f1 /proc/uptime) s after the kernel started; PID 1 $pid1 (sysvinit-core $(dpkg-query -W -f '${Version}' sysvinit-core)), runlevel $(runlevel | cut -d' ' -f2)"
    else
        result "5: FAIL PID 1 is $pid1 ($(cat /proc/1/comm)), not sysvinit's init"
        ok=0
    fi
    {
        echo "rcS.d: $(ls /etc/rcS.d | paste -sd' ')"
        echo "rc2.d: $(ls /etc/rc2.d | paste -sd' ')"
        echo "rc0.d: $(ls /etc/rc0.d | paste -sd' ')"
    } | detail

    pidfile=/run/netconf/netconfd.pid
    nd=$(cat "$pidfile" 2>/dev/null)
    if /etc/init.d/networking status >/tmp/networking-status 2>&1 && [ -n "$nd" ] &&
        [ "$(cat "/proc/$nd/comm" 2>/dev/null)" = netconfd ]; then
        result "5: /etc/init.d/networking started netconfd (pid $nd, $pidfile; networking status: $(sed 's/^[^a-z]*//' /tmp/networking-status | head -n 1))"
    else
        result "5: FAIL netconfd is not running under sysvinit (pid file: ${nd:-none}; networking status: $(head -n 1 /tmp/networking-status))"
        ok=0
    fi

    status=$(netconfctl status 2>&1)
    echo "$status" | detail
    ip -br addr | detail
    local lacks
    lacks=$(status_lacks "$status" | paste -sd, -)
    if [ -z "$lacks" ]; then
        result "5: netconfctl status: lo, st0 198.51.100.10/24, lan0 $(echo "$status" | grep -o 'lease 198\.18\.0\.[0-9]*' | head -n 1), br0 203.0.113.1/24 over bp0, all managed and up"
    else
        result "5: FAIL netconfctl status lacks: $lacks"
        tail -n 40 /var/log/netconfd.log | detail
        ok=0
    fi

    # apparmor's init script loads the profiles under sysvinit too.
    label=$(cat "/proc/$(pgrep -x dhclient | head -n 1)/attr/current" 2>/dev/null)
    denied=$(dmesg | grep -E 'apparmor="(DENIED|ALLOWED)"')
    if [ "$label" = '/{,usr/}sbin/dhclient (enforce)' ] && [ -z "$denied" ]; then
        result "5: lan0's dhclient confined ($label), no AppArmor denial (dmesg)"
    else
        result "5: FAIL lan0's dhclient runs as ${label:-nothing}; denials: $(echo "$denied" | head -n 3 | paste -sd';')"
        ok=0
    fi

    echo "$ok" >"$state/scenario5-boot-ok"
    result "5: powering off (sysvinit's poweroff): the stop path next"
    sync
    poweroff
    exit 0
}

# In the shutdown, right after /etc/init.d/networking stop (the driver's
# init script, X-Stop-After: networking): what did the stop path do?
sysvinit_shutdown_check() {
    local ok missing=() left
    ok=$(cat "$state/scenario5-boot-ok" 2>/dev/null || echo 0)
    pgrep -x netconfd >/dev/null && missing+=("netconfd still runs")
    [ -e /run/netconf/netconfd.pid ] && missing+=("netconfd's pid file left")
    pgrep -x dhclient >/dev/null && missing+=("a dhclient still runs")
    ip -o addr show dev st0 2>/dev/null | grep -q 198.51.100.10 && missing+=("st0 keeps 198.51.100.10")
    ip -o addr show dev lan0 2>/dev/null | grep -q ' 198\.18\.0\.' && missing+=("lan0 keeps its lease")
    ip link show dev br0 >/dev/null 2>&1 && missing+=("br0 still exists")
    ip -o link show dev lo | grep -q 'state UNKNOWN' || missing+=("lo is down")
    grep -q 'DHCPRELEASE(srv0)' /run/boottest-dnsmasq.log 2>/dev/null || missing+=("no DHCPRELEASE at dnsmasq")
    ip -br addr | detail
    tail -n 30 /var/log/netconfd.log 2>/dev/null | detail
    tail -n 5 /run/boottest-dnsmasq.log 2>/dev/null | detail
    if [ ${#missing[@]} -eq 0 ]; then
        result "5: shutdown: /etc/init.d/networking stop took st0, lan0 (DHCPRELEASE at the server) and br0 down, lo left up, netconfd stopped ($(cut -d' ' -f1 /proc/uptime) s after the kernel started)"
    else
        left=$(IFS=,; echo "${missing[*]}")
        result "5: FAIL shutdown: after /etc/init.d/networking stop: $left"
        ok=0
    fi
    if [ "$ok" = 1 ]; then
        result "scenario 5 (sysvinit boot and shutdown): PASS"
    else
        result "scenario 5 (sysvinit boot and shutdown): FAIL"
    fi
    echo "@@boot-test-done@@" >&3
    sync
}
