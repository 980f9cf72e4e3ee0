#!/bin/bash
# Removes everything bench/baseline/provision.sh made: the bl-NNNN domains (stopped
# first), their overlays, seeds and XML, the DHCP host lines (dnsmasq reloads them) and
# the nftables table "ip baseline".
#
#   teardown.sh LIBVIRT_URI
#
# Same settings as provision.sh (DIR, DHCP_HOSTS, DNSMASQ_PID). Not timed by bench/run,
# so it is quick rather than typical: running guests are destroyed 8 at a time (one
# destroy waits for its qemu to exit), the rest goes through one virsh process.
DIR=${DIR:-/var/lib/baseline}
DHCP_HOSTS=${DHCP_HOSTS:-/etc/baseline/dhcp-hosts}
DNSMASQ_PID=${DNSMASQ_PID:-/run/baseline-dnsmasq.pid}

if [ $# -ne 1 ]; then
	echo "usage: $0 LIBVIRT_URI" >&2
	exit 2
fi
URI=$1
rc=0

virsh -q -c "$URI" list --name --state-running | grep '^bl-' |
	xargs -r -n 1 -P 8 virsh -q -c "$URI" destroy >/dev/null
virsh -q -c "$URI" list --name --all | grep '^bl-' | sed 's/^/undefine /' >"$DIR.teardown" || rc=1
# virsh reading commands from a file goes on after a failed one.
if [ -s "$DIR.teardown" ]; then
	virsh -q -c "$URI" <"$DIR.teardown" >/dev/null || rc=1
fi
rm -f "$DIR.teardown"
if virsh -q -c "$URI" list --name --all | grep -q '^bl-'; then
	echo "teardown: domains left: $(virsh -q -c "$URI" list --name --all | grep '^bl-' | head -5)" >&2
	rc=1
fi

if nft list table ip baseline >/dev/null 2>&1; then
	nft delete table ip baseline || rc=1
fi
if [ -f "$DHCP_HOSTS" ]; then
	: >"$DHCP_HOSTS"
	[ -f "$DNSMASQ_PID" ] && kill -HUP "$(cat "$DNSMASQ_PID")" 2>/dev/null
fi
if [ -d "$DIR" ]; then
	find "$DIR" -maxdepth 1 -name 'bl-*' -exec rm -rf {} + || rc=1
fi
exit $rc
