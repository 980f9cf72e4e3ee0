#!/bin/sh
# netd/nft.c against the real kernel, inside a network namespace this script creates
# and deletes. Needs root (CAP_NET_ADMIN + CAP_SYS_ADMIN for `ip netns`), cc, nft(8).
#
#   tests/netns/nft_smoke.sh        # from the repository root or anywhere
#
# Builds tests/tools/nft_driver.c with netd/nft.c, netd/nft_build.c, netd/nlsock.c and
# common/log.c
# into a temporary directory, then checks: the table as nft(8) lists it, the same
# netlink expressions nft(8) itself produces, put/del/sync/count, a refused batch
# leaving the map untouched, table_exists after `nft flush ruleset`, the monitor, and
# prints timings for 10k mappings.
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
ns="vlab-nft-smoke-$$"
tmp=$(mktemp -d /tmp/vlab-nft-smoke.XXXXXX)
fails=0
passes=0

cleanup() {
	ip netns delete "$ns" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

if [ "$(id -u)" != 0 ]; then
	echo "nft_smoke: SKIP (needs root)"
	exit 77
fi
for tool in cc nft ip pkg-config; do
	command -v "$tool" >/dev/null || { echo "nft_smoke: SKIP (no $tool)"; exit 77; }
done

ok() { echo "  ok   $1"; passes=$((passes + 1)); }
bad() { echo "  FAIL $1"; fails=$((fails + 1)); }
expect_eq() { # what got want
	if [ "$2" = "$3" ]; then ok "$1"; else bad "$1: got '$2', want '$3'"; fi
}
expect_grep() { # what pattern file
	if grep -qF -- "$2" "$3"; then ok "$1"; else bad "$1: no '$2' in:"; cat "$3"; fi
}
expect_nogrep() { # what pattern file
	if grep -qF -- "$2" "$3"; then bad "$1: unexpected '$2'"; else ok "$1"; fi
}

cd "$top"
# shellcheck disable=SC2046
cc -std=c11 -D_GNU_SOURCE -I. -O2 -Wall -Wextra -Werror -Wno-unused-parameter \
	$(pkg-config --cflags libnftnl libmnl json-c) \
	tests/tools/nft_driver.c netd/nft.c netd/nft_build.c netd/nlsock.c common/log.c \
	-o "$tmp/nft_driver" $(pkg-config --libs libnftnl libmnl)

ip netns add "$ns"
in_ns() { ip netns exec "$ns" "$@"; }
drv() { in_ns "$tmp/nft_driver" "$@"; }
list() { in_ns nft list table ip vlab > "$tmp/list" 2>&1 || true; }
blist() { in_ns nft list table bridge vlab > "$tmp/blist" 2>&1 || true; }
# port_count: elements of the bridge table's port_addrs as the kernel holds them
port_count() { in_ns nft list set bridge vlab port_addrs 2>/dev/null | grep -o '"vl[0-9]*" \.' | wc -l; }

echo "nft_smoke: apply, list"
drv apply 3 > /dev/null
list
expect_grep "map element 0" "203.0.113.10 . 20000 : 10.64.0.2 . 22" "$tmp/list"
expect_grep "map element 1" "203.0.113.11 . 20000 : 10.64.0.3 . 22" "$tmp/list"
expect_grep "map element 2" "203.0.113.10 . 20001 : 10.64.0.4 . 22" "$tmp/list"
expect_grep "publics" "elements = { 203.0.113.10, 203.0.113.11 }" "$tmp/list"
expect_grep "dnat rule" "ip daddr @public_addrs dnat ip to ip daddr . tcp dport map @ssh_dnat" "$tmp/list"
expect_grep "forward dnat rule" 'oifname "labbr0" ct status dnat meta l4proto tcp ct original ip daddr . ct original proto-dst @ssh_dnat accept' "$tmp/list"
expect_grep "masquerade" 'oifname != "labbr0" masquerade' "$tmp/list"
expect_grep "dns rule" 'iifname "labbr0" tcp dport 53 accept' "$tmp/list"
expect_eq "count after apply" "$(drv count)" 3
expect_eq "exists after apply" "$(drv exists)" 1
blist
expect_grep "port element 0" '"vl1" . 52:54:00:00:00:01 . 10.64.0.2' "$tmp/blist"
expect_grep "port element 0, dhcp" '"vl1" . 52:54:00:00:00:01 . 0.0.0.0' "$tmp/blist"
expect_grep "port element 2" '"vl3" . 52:54:00:00:00:03 . 10.64.0.4' "$tmp/blist"
expect_grep "bridge chain" 'type filter hook prerouting priority filter; policy accept;' "$tmp/blist"
expect_grep "other ports pass" 'iifname != "vl*" accept' "$tmp/blist"
expect_grep "ipv4 source rule" 'ip saddr != 0.0.0.0 iifname . ether saddr . ip saddr @port_addrs accept' "$tmp/blist"
expect_grep "arp rule" 'iifname . ether saddr . arp saddr ip @port_addrs iifname . arp saddr ether . arp saddr ip @port_addrs accept' "$tmp/blist"
expect_eq "port elements after apply" "$(port_count)" 6

echo "nft_smoke: same expressions as nft(8) writes for the same rules"
cat > "$tmp/ref.nft" <<'EOF'
table ip vlab {
	set public_addrs { type ipv4_addr; elements = { 203.0.113.10, 203.0.113.11 } }
	map ssh_dnat { type ipv4_addr . inet_service : ipv4_addr . inet_service; size 65536;
		elements = { 203.0.113.10 . 20000 : 10.64.0.2 . 22, 203.0.113.11 . 20000 : 10.64.0.3 . 22,
			     203.0.113.10 . 20001 : 10.64.0.4 . 22 } }
	set asleep { type ipv4_addr; size 65536; }
	set active { type ipv4_addr; size 65536; flags dynamic,timeout; timeout 7d;
		elements = { 10.64.0.2, 10.64.0.3, 10.64.0.4 } }
	set wake_limit { type ipv4_addr; size 65536; flags dynamic,timeout; timeout 10s; }
	chain prerouting { type nat hook prerouting priority dstnat; policy accept;
		ip daddr @public_addrs dnat ip to ip daddr . tcp dport map @ssh_dnat
	}
	chain postrouting { type nat hook postrouting priority srcnat; policy accept;
		ip saddr 10.64.0.0/18 ip daddr != 10.64.0.0/18 oifname != "labbr0" masquerade
	}
	chain forward { type filter hook forward priority filter; policy accept;
		oifname "labbr0" ct direction original ct status dnat ct reply ip saddr @asleep update @wake_limit { ct reply ip saddr limit rate over 4/second burst 4 packets } drop
		oifname "labbr0" ct direction original ct status dnat ct reply ip saddr @asleep log prefix "vlab-wake" group 7 snaplen 64 queue-threshold 1 drop
		oifname "labbr0" ct direction original ct status dnat update @active { ct reply ip saddr }
		ct state established,related accept
		oifname "labbr0" ct status dnat meta l4proto tcp ct original ip daddr . ct original proto-dst @ssh_dnat accept
		oifname "labbr0" drop
		iifname "labbr0" accept
	}
	chain input { type filter hook input priority filter; policy accept;
		iifname "labbr0" ct state established,related accept
		iifname "labbr0" udp dport 67 accept
		iifname "labbr0" udp dport 53 accept
		iifname "labbr0" tcp dport 53 accept
		iifname "labbr0" drop
	}
}
table bridge vlab {
	set port_addrs { type ifname . ether_addr . ipv4_addr; size 65536;
		elements = { "vl1" . 52:54:00:00:00:01 . 10.64.0.2, "vl1" . 52:54:00:00:00:01 . 0.0.0.0,
			     "vl2" . 52:54:00:00:00:02 . 10.64.0.3, "vl2" . 52:54:00:00:00:02 . 0.0.0.0,
			     "vl3" . 52:54:00:00:00:03 . 10.64.0.4, "vl3" . 52:54:00:00:00:03 . 0.0.0.0 } }
	chain prerouting { type filter hook prerouting priority filter; policy accept;
		iifname != "vl*" accept
		ip saddr 0.0.0.0 udp sport 68 udp dport 67 iifname . ether saddr . ip saddr @port_addrs accept
		ip saddr != 0.0.0.0 iifname . ether saddr . ip saddr @port_addrs accept
		arp htype 1 arp ptype ip arp hlen 6 arp plen 4 iifname . ether saddr . arp saddr ip @port_addrs iifname . arp saddr ether . arp saddr ip @port_addrs accept
		drop
	}
}
EOF
# Rules as the kernel holds them; sorted, since hash sets list in no fixed order, and
# without the activity elements' time left, which differs by the milliseconds between.
nl_both() {
	{ in_ns nft --debug=netlink list table ip vlab; in_ns nft --debug=netlink list table bridge vlab; } |
		sed 's/ expires [0-9dhms]*//g'
}
nl_both 2>&1 | sort > "$tmp/mine.nl"
in_ns nft flush ruleset
in_ns nft -f "$tmp/ref.nft"
nl_both 2>&1 | sort > "$tmp/ref.nl"
if diff "$tmp/ref.nl" "$tmp/mine.nl" > "$tmp/nl.diff"; then
	ok "netlink expressions equal nft's"
else
	bad "netlink expressions differ from nft's:"; cat "$tmp/nl.diff"
fi
in_ns nft flush ruleset
drv apply 3 > /dev/null

echo "nft_smoke: sleeping VMs: asleep, active"
# active ADDR: "EXPIRES_MS TIMEOUT_MS" of ADDR's activity element, as nft_active_dump reads it
active() { drv active | awk -v a="$1" '$1 == a { print $2, $3 }'; }
# fresh ADDR: its element was (re)made within the last 5 s
fresh() { active "$1" | awk '{ exit !($1 > 604795000 && $2 == 604800000) }'; }
expect_eq "activity elements after apply" "$(drv active | wc -l)" 3
if fresh 10.64.0.3; then ok "apply: a fresh activity element"; else bad "apply: element of 10.64.0.3: '$(active 10.64.0.3)'"; fi
drv sleep 1 > /dev/null
list
expect_grep "sleep adds the asleep element" "elements = { 10.64.0.3 }" "$tmp/list"
in_ns nft delete element ip vlab active '{ 10.64.0.3 }'
in_ns nft add element ip vlab active '{ 10.64.0.3 expires 1h }'
drv wake 1 > /dev/null
list
expect_nogrep "wake deletes the asleep element" "elements = { 10.64.0.3 }" "$tmp/list"
if fresh 10.64.0.3; then ok "wake: the old activity element replaced"; else bad "wake: element of 10.64.0.3: '$(active 10.64.0.3)'"; fi
NFT_ASLEEP=2 drv apply 3 > /dev/null
list
expect_grep "apply: a sleeping VM's asleep element" "elements = { 10.64.0.4 }" "$tmp/list"
expect_eq "apply: no activity element for a sleeping VM" "$(active 10.64.0.4)" ""
NFT_ACTIVE_LEFT=3600000 drv apply 3 > /dev/null
expect_eq "apply: activity elements keep netd's idle times" \
	"$(active 10.64.0.2 | awk '{ print ($1 > 3595000 && $1 <= 3600000) }')" 1
drv apply 3 > /dev/null

echo "nft_smoke: put, del"
drv put 1 5 > /dev/null
list
expect_grep "put added the new element" "203.0.113.11 . 20002 : 10.64.0.7 . 22" "$tmp/list"
expect_nogrep "put removed the old element" "203.0.113.11 . 20000 : 10.64.0.3 . 22" "$tmp/list"
expect_eq "count after put" "$(drv count)" 3
blist
expect_grep "put added the new port elements" '"vl6" . 52:54:00:00:00:06 . 10.64.0.7' "$tmp/blist"
expect_nogrep "put removed the old port elements" '"vl2"' "$tmp/blist"
expect_eq "port elements after put" "$(port_count)" 6
drv del 5 > /dev/null
expect_eq "count after del" "$(drv count)" 2
expect_eq "port elements after del" "$(port_count)" 4
if drv del 5 > "$tmp/del2" 2>&1; then
	bad "deleting a missing mapping succeeded"
else
	expect_grep "error names the message" "(DELSETELEM ssh_dnat): No such file or directory" "$tmp/del2"
fi
# sync sends port_addrs only the difference from what it is told the kernel holds: an
# element that vanished by hand must fail the batch (netd then rebuilds), not be skipped.
drv apply 3 > /dev/null
drv sync 3 1 > /dev/null
expect_eq "sync of the same list leaves port elements" "$(port_count)" 6
in_ns nft delete element bridge vlab port_addrs '{ "vl3" . 52:54:00:00:00:03 . 10.64.0.4 }'
if drv sync 1 1 3 > "$tmp/gone" 2>&1; then
	bad "sync deleting a vanished port element succeeded"
else
	expect_grep "vanished port element fails the sync" "(DELSETELEM bridge port_addrs): No such file or directory" "$tmp/gone"
fi
drv apply 3 > /dev/null
drv del 1 > /dev/null
drv dup > "$tmp/dup" 2>&1
expect_grep "duplicate key refused, map unchanged" "count=2" "$tmp/dup"
expect_grep "duplicate key error names the message" "NEWSETELEM ssh_dnat" "$tmp/dup"

echo "nft_smoke: 10k mappings"
drv apply 10000 5 | sed 's/^/  /'
expect_eq "count after apply 10k" "$(drv count)" 10000
expect_eq "port elements after apply 10k" "$(port_count)" 20000
drv sync 10000 11 | sed 's/^/  /'
NFT_MONITOR=1 drv sync 10000 11 | sed 's/^/  /'
NFT_MONITOR=1 drv apply 10000 5 | sed 's/^/  /'
drv putdel 201 | sed 's/^/  /'
expect_eq "count after sync 10k" "$(drv count)" 10000
drv sync 5 1 10000 > /dev/null
expect_eq "sync flushes what is not in it" "$(drv count)" 5
expect_eq "sync flushes port elements not in it" "$(port_count)" 10

echo "nft_smoke: the table vanishing"
in_ns nft flush ruleset
expect_eq "exists after flush ruleset" "$(drv exists)" 0
if drv sync 3 1 > "$tmp/sync" 2>&1; then bad "sync without the table succeeded"; else ok "sync without the table fails"; fi
expect_eq "monitor" "$(drv monitor)" "monitor: own=0 flush=1 exists=0"
expect_eq "monitor, bridge table deleted" "$(drv monitor 'nft delete table bridge vlab')" \
	"monitor: own=0 flush=1 exists=0"
in_ns nft flush ruleset
expect_eq "teardown of a missing table" "$(drv teardown)" "teardown ok"
drv apply 3 > /dev/null
drv teardown > /dev/null
expect_eq "exists after teardown" "$(drv exists)" 0
if in_ns nft list table bridge vlab > /dev/null 2>&1; then bad "teardown left the bridge table"; else ok "teardown removes the bridge table"; fi

echo "nft_smoke: egress and dns off"
drv --no-egress --no-dns apply 3 > /dev/null
list
expect_nogrep "no postrouting chain" "postrouting" "$tmp/list"
expect_nogrep "no dns rule" "dport 53" "$tmp/list"
expect_grep "lab traffic dropped" 'iifname "labbr0" drop' "$tmp/list"

echo "nft_smoke: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
