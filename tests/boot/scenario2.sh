# boot-test's scenario 2 (sourced by guest.sh, run in the systemd boot
# under test): AppArmor enforcing. apparmor.service has loaded Debian's
# dhclient profile (isc-dhcp-client's /etc/apparmor.d/sbin.dhclient) with
# netconf's lines (the include postinst put in local/sbin.dhclient); the
# dhclient netconfd started for lan0 runs confined by it, a renewal goes
# through netconf's hook (the profile's child netconf_dhcp_hook) to
# netconfd, and the kernel logged no denial.

# The kernel's AppArmor lines of this boot (audit messages included).
apparmor_kernel_lines() {
    {
        journalctl -k -b --no-pager 2>/dev/null
        dmesg 2>/dev/null
    } | grep 'apparmor="' | sort -u
}

scenario2() {
    local ok=1 enabled status enforce p pid label n lft i denied started
    started=$(date +%s.%N)
    enabled=$(cat /sys/module/apparmor/parameters/enabled 2>/dev/null)
    if [ "$enabled" = Y ] && aa-enabled --quiet 2>/dev/null; then
        result "2: AppArmor on (/sys/module/apparmor/parameters/enabled: Y, aa-enabled: yes, apparmor.service $(systemctl is-active apparmor))"
    else
        result "2: FAIL AppArmor is off (/sys/module/apparmor/parameters/enabled: ${enabled:-none}; aa-enabled: $(aa-enabled 2>&1))"
        ok=0
    fi

    status=$(aa-status 2>&1)
    echo "$status" | detail
    enforce=$(echo "$status" | awk '/profiles are in enforce mode/ { on = 1; next } /^[0-9]/ { on = 0 } on { print $1 }')
    local missing=()
    for p in '/{,usr/}sbin/dhclient' '/{,usr/}sbin/dhclient//netconf_dhcp_hook'; do
        echo "$enforce" | grep -qxF "$p" || missing+=("$p")
    done
    if [ ${#missing[@]} -eq 0 ]; then
        result "2: aa-status: /{,usr/}sbin/dhclient and its child profile netconf_dhcp_hook in enforce mode ($(echo "$enforce" | grep -c .) profiles in enforce mode)"
    else
        result "2: FAIL aa-status: not in enforce mode: ${missing[*]}"
        ok=0
    fi

    # lan0's dhclient: its label is the profile it was started under.
    pid=$(pgrep -f '^[^ ]*dhclient .* lan0( |$)' | head -n 1)
    [ -n "$pid" ] || pid=$(pgrep -x dhclient | head -n 1)
    label=$(cat "/proc/${pid:-0}/attr/current" 2>/dev/null)
    if [ "$label" = '/{,usr/}sbin/dhclient (enforce)' ]; then
        result "2: lan0's dhclient (pid $pid) runs confined: $label"
    else
        result "2: FAIL lan0's dhclient (pid ${pid:-none}) runs as ${label:-nothing}, not /{,usr/}sbin/dhclient (enforce)"
        ok=0
    fi

    # The boot's lease came through the hook (scenario 1 checks it); a
    # renewal under the enforced profile too: dhclient runs the hook, the
    # hook posts to netconfd, netconfd refreshes the address's lifetimes.
    n=$(acks)
    if wait_ack "$n" 60; then
        lft=$(renewed_lifetime)
        if [ -n "$lft" ] && [ "$lft" -ge 110 ]; then
            result "2: a renewal went through the confined hook: lan0 $(ip -o -4 addr show dev lan0 | awk '{print $4}') valid for ${lft} s again, netconfctl status: $(netconfctl status 2>&1 | grep -o 'lease 198\.18\.0\.[0-9]*' | head -n 1)"
        else
            result "2: FAIL renewed (DHCPACK) but lan0's address lifetime was not refreshed (valid_lft ${lft:-none}): the hook did not reach netconfd"
            ip -o addr show dev lan0 | detail
            tail -n 20 /run/netconf/dhclient.lan0.log 2>/dev/null | detail
            ok=0
        fi
    else
        result "2: FAIL no DHCP renewal within 60 s"
        ok=0
    fi

    apparmor_kernel_lines | detail
    denied=$(apparmor_kernel_lines | grep -E 'apparmor="(DENIED|ALLOWED)"')
    if [ -z "$denied" ]; then
        result "2: no apparmor=\"DENIED\" (nor ALLOWED) line in the kernel log (journalctl -k, dmesg)"
    else
        result "2: FAIL the kernel log has $(echo "$denied" | grep -c .) AppArmor denial(s): $(echo "$denied" | head -n 3 | grep -o 'operation="[^"]*".*' | paste -sd';')"
        ok=0
    fi

    local took
    took=$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", b - a }')
    if [ $ok = 1 ]; then
        result "scenario 2 (AppArmor enforcing): PASS (${took} s, most of it waiting for the renewal)"
    else
        result "scenario 2 (AppArmor enforcing): FAIL (${took} s)"
        failures+=(2)
    fi
}
