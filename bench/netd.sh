#!/bin/bash
# netd's benchmark (the figures of docs/performance.md), in network namespaces this
# script creates and removes (nb<PID>-*):
#   lab    netd (the non-sanitized build), its bridge, 203.0.113.10/.11 on "up0"
#   inet   "the Internet": 203.0.113.100, the client of the connection-rate test
#   vm     one VM stand-in on the bridge (mapping 0's MAC and IP), tcpecho on :22
#   lab1, inet1, vm1   the same again, a second netd holding 1 mapping (rate test only)
#   quiet  nothing but nftables: the CLI comparison and netd's phases before any netd
#          of ours is subscribed to nftables events
# usage: bench/netd.sh [--quick] [--doc FILE | --no-doc]
#   BENCH_N=1000          another class size than 10,000
#   NETD_BENCH_ASLEEP=K   a sleeping class: idle_sleep on every mapping, every Kth asleep
#   NETD1=PATH BENCH_N1=M lab1 runs netd PATH (another build) with M mappings, not 1:
#                         the paired rate ratio then compares two builds (before/after)
#   --quick   fewer repetitions (under a minute); does not write the doc unless --doc
#   default   the full run (a few minutes); rewrites docs/performance.md
# BUILD=dir selects the build directory (default build); it needs netd, tools/tcpecho,
# tools/tcpprobe, tools/rpc and bench/netd_bench (see bench/README.md).
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
NETD=${NETD:-$BUILD/netd}
TOOLS=$BUILD/tools
BENCH=$BUILD/bench/netd_bench

MODE=full DOC=docs/performance.md
while [ $# -gt 0 ]; do
	case $1 in
	--quick) MODE=quick; [ "$DOC" = docs/performance.md ] && DOC= ;;
	--doc) DOC=${2:?--doc needs a file}; shift ;;
	--no-doc) DOC= ;;
	*) echo "usage: bench/netd.sh [--quick] [--doc FILE | --no-doc]" >&2; exit 2 ;;
	esac
	shift
done

N=${BENCH_N:-10000}       # mappings (BENCH_N: another class size; the figures keep
                          # their "10k" names)
NETD1=${NETD1:-$NETD}     # lab1's netd, and its mappings
N1=${BENCH_N1:-1}
if [ $MODE = full ]; then
	SYNC_RUNS=11 OPS=200 CLI_SYNC_RUNS=11 CLI_OPS=200 CYCLES=150 BLOCK=200 RSS_RUNS=5
else
	SYNC_RUNS=5 OPS=50 CLI_SYNC_RUNS=5 CLI_OPS=20 CYCLES=20 BLOCK=100 RSS_RUNS=5
fi

for f in "$NETD" "$NETD1" "$TOOLS/tcpecho" "$TOOLS/tcpprobe" "$TOOLS/rpc" "$BENCH"; do
	if [ ! -x "$f" ]; then
		echo "bench: $f is missing; build it: make BUILD=$BUILD $BUILD/netd $BUILD/tools/tcpecho" \
			"$BUILD/tools/tcpprobe $BUILD/tools/rpc $BUILD/bench/netd_bench" >&2
		exit 2
	fi
done
for f in "$NETD" "$NETD1"; do
	if ldd "$f" 2>/dev/null | grep -q libasan; then
		echo "bench: $f is the sanitized build; time the plain one (NETD=$BUILD/netd)" >&2
		exit 2
	fi
done
[ "$(id -u)" = 0 ] || { echo "bench: needs root (network namespaces)" >&2; exit 2; }

T_DIR=$(mktemp -d /tmp/vlab-bench.XXXXXX)
chmod 0755 "$T_DIR"   # dnsmasq drops to nobody and rereads its hosts file here
P=nb$$
. tests/netns/lib.sh
trap cleanup_all EXIT
trap 'exit 130' INT TERM

CONF=$T_DIR/lab/lab.conf          # the main lab's; lab1 has its own copy
SOCK=$T_DIR/lab/run/netd.sock
RES=$T_DIR/results        # NAME n=.. median=.. min=.. max=.. unit=..
START=$(date +%s)

lab() { ip netns exec "$P-lab" "$@"; }
inet() { ip netns exec "$P-inet" "$@"; }
quiet() { ip netns exec "$P-quiet" "$@"; }
step() { printf '[%3ds] %s\n' $(($(date +%s) - START)) "$*" >&2; }
die() {
	log "bench: $*"
	for f in "$T_DIR"/lab*/netd.log; do [ -f "$f" ] && tail -20 "$f" >&2; done
	exit 1
}

# record PREFIX: echoes netd_bench's output and keeps each line in the results as
# "PREFIX_LINE" (figure lines are "NAME n=.. median=..").
record() {
	local prefix=$1 line
	while read -r line; do
		printf '%s\n' "$line" >&2
		printf '%s_%s\n' "$prefix" "$line" >>"$RES"
	done
}

# fig NAME FIELD: a field (median, min, max, n) of a recorded figure.
fig() { awk -v k="$1" -v f="$2" '$1 == k { for (i = 2; i <= NF; i++) { split($i, a, "="); if (a[1] == f) print a[2] } }' "$RES" | tail -1; }

# stats NAME UNIT VALUES...: records the median/min/max of VALUES as figure NAME.
stats() {
	local name=$1 unit=$2
	shift 2
	printf '%s\n' "$@" | sort -g | awk -v k="$name" -v u="$unit" '
		{ v[NR] = $1 }
		END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		      f = (u == "ms" || u == "x") ? "%.3f" : "%.0f"
		      printf "%s n=%d median=" f " min=" f " max=" f " q1=" f " q3=" f " unit=%s\n", \
			k, NR, m, v[1], v[NR], v[int((NR + 3) / 4)], v[int((3 * NR + 3) / 4)], u }' |
		tee -a "$RES" >&2
}

rss_kib() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }

# lab_conf DIR: the test lab, grown to hold 10,000 students (a /18, 10,000 ports per address).
lab_conf() {
	mkdir -p "$1/run" "$1/state"
	sed -e "s|@DIR@|$1|g" -e "s|@IMAGE_DIR@|$1/img|g" \
	    -e 's|"10.77.0.0/20"|"10.80.0.0/18"|' -e 's|"20000-20999"|"20000-29999"|g' \
	    configs/test.conf >"$1/lab.conf"
}

# lab_up S: namespaces labS, inetS, vmS as in tests/netns/netd.sh, netd (the plain build)
# in labS with its files under $T_DIR/labS, vm0's stand-in with mapping 0's MAC and IP on
# mapping 0's tap vl1 (set statically: DHCP is not what is measured). Sets NETD_PID_S (S
# empty or 1).
lab_up() {
	local s=$1 dir=$T_DIR/lab$1 l=$P-lab$1 i=$P-inet$1 v=$P-vm$1 pid netd=$NETD n=1
	local keep=()
	if [ "$s" = 1 ]; then
		netd=$NETD1 n=$N1
		# another build may not know the fields of a sleeping class
		[ "$NETD1" = "$NETD" ] || keep=(env -u NETD_BENCH_ASLEEP)
	fi
	lab_conf "$dir"
	netns_add "$l" && netns_add "$i" && netns_add "$v" || return 1
	ip -n "$l" link add up0 type veth peer name inet0 netns "$i" &&
	ip -n "$l" addr add 203.0.113.10/24 dev up0 &&
	ip -n "$l" addr add 203.0.113.11/24 dev up0 &&
	ip -n "$l" link set up0 up &&
	ip -n "$i" addr add 203.0.113.100/24 dev inet0 &&
	ip -n "$i" link set inet0 up || return 1
	# The rate test opens tens of thousands of connections to one endpoint: give the
	# client room so TIME_WAIT never runs it out of ports.
	ip netns exec "$i" sysctl -qw net.ipv4.ip_local_port_range="10000 65000" || return 1

	bg_start pid ip netns exec "$l" "$netd" -d -c "$dir/lab.conf" 2>>"$dir/netd.log"
	wait_for 10 test -S "$dir/run/netd.sock" || return 1
	wait_for 5 sh -c "printf '{\"v\":1,\"op\":\"status\"}\n' | ip netns exec $l $TOOLS/rpc $dir/run/netd.sock | grep -q '\"ok\":true'" || return 1
	pid=$(printf '{"v":1,"op":"status"}\n' | ip netns exec "$l" "$TOOLS/rpc" "$dir/run/netd.sock" |
		grep -o '"pid":[0-9]*' | cut -d: -f2)
	[ -n "$pid" ] && [ -d "/proc/$pid" ] || return 1
	printf -v "NETD_PID_$s" '%s' "$pid"

	ip -n "$l" link add vl1 type veth peer name eth0 netns "$v" &&
	ip -n "$l" link set vl1 master labbr0 up &&
	bridge -n "$l" link set dev vl1 isolated on &&
	ip -n "$v" link set eth0 address "$VM_MAC" up &&
	ip -n "$v" addr add "$VM_IP/18" dev eth0 &&
	ip -n "$v" route add default via 10.80.0.1 || return 1
	bg_start pid ip netns exec "$v" "$TOOLS/tcpecho" "$VM_PORT" vm0

	# Mapping 0 in (lab1: the first N1), and the DNAT path checked end to end.
	ip netns exec "$l" "${keep[@]}" "$BENCH" sync "$dir/lab.conf" "$dir/run/netd.sock" "$n" 1 0 \
		>/dev/null || return 1
	wait_for 3 ip netns exec "$i" "$TOOLS/tcpprobe" once "$PUB_IP" "$PUB_PORT" 500 || return 1
	[ "$(ip netns exec "$i" "$TOOLS/tcpprobe" once "$PUB_IP" "$PUB_PORT")" = vm0 ]
}

# Processes elsewhere on the host that may be subscribed to nftables events. The kernel's
# "anyone listening?" test is per protocol, not per namespace: one subscriber anywhere
# makes every nftables batch in every namespace build an event per element.
subscribers() {
	local p c n=0
	for p in /proc/[0-9]*; do
		c=$(cat "$p/comm" 2>/dev/null) || continue
		case $c in
		netd) n=$((n + 1)) ;;
		nft) tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep -q monitor && n=$((n + 1)) ;;
		esac
	done
	echo $n
}

# cli_runs WHERE: nft -f of the 10,000 elements into a copy table, then one element added
# and deleted, against those 10,000 (the copy table is removed at the end).
cli_runs() {
	local where=$1 key="$PUB_IP . 29999"   # not one of the 10,000
	step "   nft -f: flush map + $N elements into a copy table x $CLI_SYNC_RUNS ($where)"
	$where nft -f "$T_DIR/mapdef.nft" || die "$where: copy table"
	$where "$BENCH" exec "$CLI_SYNC_RUNS" -- nft -f "$T_DIR/map.nft" | record "cli_sync_$where" ||
		die "nft -f failed"
	step "   nft add element / delete element x $CLI_OPS ($where)"
	$where "$BENCH" exec "$CLI_OPS" \
		-- nft add element ip vlab_cli ssh_dnat "{ $key : 10.80.63.200 . 22 }" \
		-- nft delete element ip vlab_cli ssh_dnat "{ $key }" | record "cli_elem_$where" ||
		die "nft element add/delete failed"
	$where nft delete table ip vlab_cli
}

# --- the run -------------------------------------------------------------------------

echo "netd benchmark ($MODE; namespaces $P-*; $T_DIR)"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
lab_conf "$T_DIR/lab"
read -r VM_STUDENT VM_MAC VM_IP VM_PORT PUB_IP PUB_PORT < <("$BENCH" mapping "$CONF" 0)
[ -n "${PUB_PORT:-}" ] || die "no mapping 0 in $CONF"
"$BENCH" nftfile "$CONF" $N mapdef vlab_cli "$T_DIR/mapdef.nft" &&
"$BENCH" nftfile "$CONF" $N map vlab_cli "$T_DIR/map.nft" &&
"$BENCH" nftfile "$CONF" $N rules vlab_rules "$T_DIR/rules.nft" || die "nftfile"
netns_add "$P-quiet" || die "namespace $P-quiet"

# Before netd starts: the nft CLI and netd's sync code with no subscriber of ours.
OTHER_SUBS=$(subscribers)
step "before netd starts ($OTHER_SUBS other netd / nft monitor processes on the host)"
step "   netd's sync phase by phase, in-process, x $SYNC_RUNS"
quiet "$BENCH" breakdown "$CONF" $N "$SYNC_RUNS" vlab_copy | record bd || die "breakdown failed"
cli_runs quiet

step "lab: namespaces, netd, vm0"
lab_up "" >"$T_DIR/setup.out" 2>&1 || { cat "$T_DIR/setup.out" >&2; die "lab setup failed"; }
NETD_PID=$NETD_PID_
RSS_EMPTY=$(rss_kib "$NETD_PID" VmRSS)

# sync of 10,000 mappings through the socket; 300 ms apart so that netd's delayed file
# writes (50 ms after a change) and dnsmasq's reload fall between two syncs.
step "netd sync of $N mappings x $SYNC_RUNS"
lab "$BENCH" sync "$CONF" "$SOCK" $N "$SYNC_RUNS" 300 | record netd || die "sync failed"
SYNC_BYTES=$(awk '$1 == "netd_sync_request_bytes" { print $2 }' "$RES")
OTHER_SUBS_SYNC=$(($(subscribers) - 1))   # ours excluded
step "   the same phases while netd's monitor is subscribed"
quiet "$BENCH" breakdown "$CONF" $N "$SYNC_RUNS" vlab_copy | record bdl || die "breakdown failed"

# put and del on one connection against the 10,000-entry map.
step "netd put/del x $OPS"
lab "$BENCH" putdel "$CONF" "$SOCK" $N "$OPS" | record netd || die "put/del failed"
cli_runs lab

# memory, idle after syncs of 10,000 (files written, dnsmasq reloaded).
step "netd RSS after a sync of $N x $RSS_RUNS"
rss=()
for i in $(seq 1 "$RSS_RUNS"); do
	lab "$BENCH" sync "$CONF" "$SOCK" $N 1 0 >/dev/null || die "sync failed"
	sleep 1   # idle: netd writes its files after 50 ms and returns freed heap after 250 ms more
	rss+=("$(rss_kib "$NETD_PID" VmRSS)")
done
stats rss_kib KiB "${rss[@]}"

# New connections per second through the DNAT. Switching one netd between 1 and 10,000
# mappings between measurements leaves seconds between them, and this shared machine's
# load changes faster than that; so a second, identical lab (lab1) holds 1 mapping while
# the main lab holds 10,000 plus a chain of 10,000 rules (the rule-per-student baseline),
# and short blocks of connections alternate between the three cases.
step "connection rate: $CYCLES cycles x 3 cases x $BLOCK connections"
lab_up 1 >>"$T_DIR/setup.out" 2>&1 || { cat "$T_DIR/setup.out" >&2; die "lab1 setup failed"; }
# lab2: one mapping too, plus the rule-per-student chain in front of netd's map.
lab_up 2 >>"$T_DIR/setup.out" 2>&1 || { cat "$T_DIR/setup.out" >&2; die "lab2 setup failed"; }
t0=$(date +%s%N)
ip netns exec "$P-lab2" nft -f "$T_DIR/rules.nft" || die "loading $N rules"
RULES_LOAD_MS=$((($(date +%s%N) - t0) / 1000000))
RULE_PORT=$PUB_PORT   # mapping 0's rule: the last of the chain
wait_for 3 ip netns exec "$P-inet2" "$TOOLS/tcpprobe" once "$PUB_IP" $RULE_PORT 500 >/dev/null || die "rule path does not reach vm0"
[ "$(lab "$TOOLS/rpc" "$SOCK" <<<'{"v":1,"op":"status"}' | grep -o '"kernel_elements":[0-9]*')" = "\"kernel_elements\":$N" ] ||
	die "the main lab's map does not hold $N elements"

rate() { # CASE -> connections/s of one block
	local out
	case $1 in
	map1) out=$(ip netns exec "$P-inet1" "$TOOLS/tcpprobe" rate "$PUB_IP" "$PUB_PORT" "$BLOCK") ;;
	map10k) out=$(inet "$TOOLS/tcpprobe" rate "$PUB_IP" "$PUB_PORT" "$BLOCK") ;;
	rules) out=$(ip netns exec "$P-inet2" "$TOOLS/tcpprobe" rate "$PUB_IP" $RULE_PORT "$BLOCK") ;;
	esac || { log "rate $1: $out"; return 1; }
	printf '%s\n' "$out" | sed -n 's/.* rate=\([0-9]*\) .*/\1/p'
}
for c in map1 map10k rules; do rate $c >/dev/null || die "warm-up $c"; done
r_map1=() r_map10k=() r_rules=() ratio=() ratio_rules=()
orders=("map1 map10k rules" "map10k rules map1" "rules map1 map10k"
	"rules map10k map1" "map10k map1 rules" "map1 rules map10k")
for r in $(seq 1 "$CYCLES"); do
	for c in ${orders[$((r % 6))]}; do
		v=$(rate $c) && [ -n "$v" ] && [ "$v" -gt 0 ] || die "cycle $r, $c failed"
		printf -v "cur_$c" '%s' "$v"
		eval "r_$c+=($v)"
	done
	ratio+=("$(awk -v a="$cur_map10k" -v b="$cur_map1" 'BEGIN { printf "%.4f", a / b }')")
	ratio_rules+=("$(awk -v a="$cur_rules" -v b="$cur_map10k" 'BEGIN { printf "%.4f", a / b }')")
	[ $((r % 10)) -eq 0 ] && step "   cycle $r: map1 $cur_map1/s, map10k $cur_map10k/s, rules $cur_rules/s"
done
stats rate_map1 conn/s "${r_map1[@]}"
stats rate_map10k conn/s "${r_map10k[@]}"
stats rate_rules conn/s "${r_rules[@]}"
stats rate_ratio x "${ratio[@]}"
stats rate_ratio_rules x "${ratio_rules[@]}"
# The last rule counts its hits: every connection of the rules blocks went through it.
RULE_HITS=$(ip netns exec "$P-lab2" nft list chain ip vlab_rules pre | sed -n "s/.*dport $RULE_PORT counter packets \([0-9]*\).*/\1/p")
ip netns exec "$P-lab2" nft delete table ip vlab_rules
RSS_END=$(rss_kib "$NETD_PID" VmRSS)
HWM=$(rss_kib "$NETD_PID" VmHWM)
# Diagnostic only, after every measurement: how much of the idle RSS is heap that glibc
# keeps after the request was freed (malloc_trim(0) called in netd through gdb).
RSS_TRIM=
if command -v gdb >/dev/null; then
	timeout 30 gdb -p "$NETD_PID" -batch -ex 'call (int)malloc_trim(0)' >/dev/null 2>&1 &&
		RSS_TRIM=$(rss_kib "$NETD_PID" VmRSS)
fi
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
ELAPSED=$(($(date +%s) - START))
step "done"

# --- the report ------------------------------------------------------------------------

row() { # LABEL FIGURE GOAL
	printf '| %s | %s | %s | %s | %s | %s |\n' "$1" "$(fig "$2" median)" "$(fig "$2" min)" \
		"$(fig "$2" max)" "$(fig "$2" n)" "$3"
}
verdict() { # VALUE LIMIT -> met / MISSED (VALUE <= LIMIT)
	awk -v v="$1" -v l="$2" 'BEGIN { print v <= l ? "met" : "**MISSED**" }'
}
mib() { [ -n "$1" ] && awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
phase_row() { # PHASE
	printf '| %s | %s (%s-%s) | %s (%s-%s) |\n' "$1" \
		"$(fig "bd_phase_$1" median)" "$(fig "bd_phase_$1" min)" "$(fig "bd_phase_$1" max)" \
		"$(fig "bdl_phase_$1" median)" "$(fig "bdl_phase_$1" min)" "$(fig "bdl_phase_$1" max)"
}

RATIO=$(fig rate_ratio median)
DIFF_PCT=$(awk -v r="$RATIO" 'BEGIN { printf "%+.1f", (r - 1) * 100 }')
RATE_OK=$(awk -v r="$RATIO" 'BEGIN { print (r >= 0.95 && r <= 1.05) ? "met" : "**MISSED**" }')
RSS_MED_KIB=$(fig rss_kib median)
SYNC_MS=$(fig netd_sync_$N median)
COMMAND="sudo bench/netd.sh"
[ "$BUILD" != build ] && COMMAND="sudo BUILD=$BUILD bench/netd.sh"
[ $MODE = quick ] && COMMAND="$COMMAND --quick"

report() {
cat <<EOF
## Results ($MODE run)

- Date: $(date -u '+%Y-%m-%d %H:%M UTC'); the run took ${ELAPSED} s.
- Machine: \`nproc\` $(nproc), $(lscpu | sed -n 's/^Model name: *//p' | head -1), kernel $(uname -r),
  $(nft --version | cut -d' ' -f1-2); load average $LOAD_START at the start, $LOAD_END at the
  end (the machine is shared: other work was running); other netd or \`nft monitor\`
  processes on the host: $OTHER_SUBS when the run started, $OTHER_SUBS_SYNC right after netd's syncs.
- netd: \`$NETD\` ($(ldd "$NETD" | grep -q libasan && echo sanitized || echo non-sanitized), \`-O2 -g\`).
- Command: \`make BUILD=$BUILD $BUILD/netd $BUILD/tools/tcpecho $BUILD/tools/tcpprobe $BUILD/tools/rpc
  $BUILD/bench/netd_bench\`, then \`$COMMAND\` (as root; it creates and removes its own
  network namespaces).
- Lab: \`configs/test.conf\` grown to a /18 subnet and ports 20000-29999 on 203.0.113.10 and
  .11. Mapping *i* is student \`b<i>\` with labd's index-(*i*+1) MAC and IP and the public
  endpoint .10/.11 alternately; a sync request of $N mappings is $SYNC_BYTES bytes. The syncs
  alternate between two lists that differ in every element (public addresses swapped), so
  each one really replaces the whole map.

Times are wall-clock milliseconds: from the first byte of the request written to the reply
read (netd), or from fork to exit (nft CLI). "lab" is netd's namespace with netd running;
"quiet" is a namespace of its own, measured before netd started.

| figure | median | min | max | runs | goal |
|---|---|---|---|---|---|
$(row "netd \`sync\` of $N mappings (ms)" netd_sync_$N "<= 30 ms: $(verdict "$SYNC_MS" 30)")
$(row "\`nft -f\` flush map + add $N elements, quiet (ms)" cli_sync_quiet_cmd1 "issue: ~87 ms")
$(row "\`nft -f\` flush map + add $N elements, lab (ms)" cli_sync_lab_cmd1 "")
$(row "netd \`put\`, map of $N (ms)" netd_put "<= 1 ms: $(verdict "$(fig netd_put median)" 1)")
$(row "netd \`del\`, map of $N (ms)" netd_del "<= 1 ms: $(verdict "$(fig netd_del median)" 1)")
$(row "\`nft add element\`, quiet (ms)" cli_elem_quiet_cmd1 "issue: ~6 ms")
$(row "\`nft delete element\`, quiet (ms)" cli_elem_quiet_cmd2 "issue: ~23 ms")
$(row "\`nft add element\`, lab (ms)" cli_elem_lab_cmd1 "")
$(row "\`nft delete element\`, lab (ms)" cli_elem_lab_cmd2 "")
$(row "new connections/s, netd's map with $N1 mapping$([ "$N1" = 1 ] || echo s)$([ "$NETD1" = "$NETD" ] || echo " (\`$NETD1\`)")" rate_map1 "")
$(row "new connections/s, netd's map with $N mappings" rate_map10k "")
$(row "10k / 1 rate ratio, paired per cycle" rate_ratio "within 5 %: $RATE_OK ($DIFF_PCT %)")
$(row "new connections/s, $N DNAT rules, the last one matching" rate_rules "")
$(row "rules / 10k-map rate ratio, paired per cycle" rate_ratio_rules "")
$(row "netd VmRSS, idle after a sync of $N (KiB)" rss_kib "<= 8192 KiB: $(verdict "$RSS_MED_KIB" 8192)")

What each figure is:

- **sync**: \`netd_bench sync\` on one connection, $SYNC_RUNS syncs 300 ms apart (netd writes the
  DHCP hosts file and its state file 50 ms after a change and dnsmasq rereads the hosts file;
  the pause keeps that work out of the next measurement). netd's work includes the endpoint
  set: 2 x $N elements per sync against the CLI's $N.
- **nft -f**: the file is \`flush map\` + one \`add element\` of the same $N elements, into a
  copy table \`vlab_cli\` that holds only a map of netd's type and size.
- **put / del**: $OPS \`del\` + \`put\` pairs on one connection, students spread over the map
  (each del removes a mapping, the put adds it back: both change the kernel's map and set).
  The CLI pair adds and deletes one map element that is not among the $N.
- **connections/s**: \`tcpprobe rate\` from an inet namespace, $BLOCK sequential connections
  per block (connect, read the greeting, close with a reset so that no TIME_WAIT is left to
  collide with a later connection from the same port; the VM's tcpecho forks a child per
  connection). The 1-mapping case runs in a second lab identical to the main one (its own
  netd, bridge, VM and client namespace) so that no sync has to happen between blocks;
  $CYCLES cycles of one block per case, the order of the cases rotating through all six
  permutations. Each ratio is taken within a cycle; the middle half of the cycles' 10k / 1
  ratios lies between $(fig rate_ratio q1) and $(fig rate_ratio q3) (cases swing together with the shared
  machine's load). The rules case runs in a third lab (one mapping in netd's map) with a
  chain of its own at priority dstnat - 10, before netd's, holding $N rules
  \`ip daddr A tcp dport P dnat to IP:22\` (loading them took $RULES_LOAD_MS ms with
  \`nft -f\`); every new connection walks them and the last one, mapping 0's endpoint,
  DNATs it (netd's forward chain admits it: that endpoint is a key of its map); a counter on that rule saw $RULE_HITS new
  connections (the blocks made $((CYCLES * BLOCK)), plus a warm-up block and a probe). At the
  medians, walking the rules adds $(awk -v r="$(fig rate_rules median)" -v m="$(fig rate_map10k median)" 'BEGIN { printf "%.0f", 1e6 / r - 1e6 / m }') µs to every new connection.
- **memory**: VmRSS after each of $RSS_RUNS syncs of $N, 1 s later (idle: files written, freed heap returned; the transient peak of a sync is the VmHWM below). At start,
  empty: $(mib "$RSS_EMPTY") MiB; at the end of the run: $(mib "$RSS_END") MiB; peak (VmHWM): $(mib "$HWM") MiB.
  Diagnostic: after \`malloc_trim(0)\` was called inside netd (through gdb, after every other
  measurement) VmRSS was $(mib "$RSS_TRIM") MiB.

### Where a sync's time goes

netd's \`op_sync\` phase by phase: the same functions, called in-process by
\`netd_bench breakdown\` against a copy table in the quiet namespace ($SYNC_RUNS runs each;
median (min-max), ms). First before netd started, then while netd's nftables monitor was
subscribed in the lab namespace:

| phase | before netd started | netd's monitor subscribed |
|---|---|---|
$(for p in json_parse validate conflicts nft_sync store_replace reply total; do phase_row $p; done)

json_parse is json-c's parse of the request line; validate is \`mapping_from_json\` +
\`mapping_check\` per mapping; conflicts is \`store_check_list\` (a temporary store with its five
hash indexes); nft_sync builds the batch (flush the map and the bridge table's port set, add
$N map elements and 2 x $N port elements) and waits
for the kernel's ACKs; store_replace builds the new store; reply includes freeing the request's
JSON tree. netd's round trip adds reading the request from the socket in 64 KiB steps and
the two generation-id requests around its monitor's quiet window.
EOF
}

report >"$T_DIR/report.md"
echo
cat "$T_DIR/report.md"
if [ -n "$DOC" ]; then
	# The doc is this section plus the hand-written text around the markers.
	begin='<!-- bench/netd.sh: results begin -->' end='<!-- bench/netd.sh: results end -->'
	if [ -f "$DOC" ] && grep -qF "$begin" "$DOC" && grep -qF "$end" "$DOC"; then
		awk -v b="$begin" -v e="$end" -v f="$T_DIR/report.md" '
			$0 == b { print; while ((getline l < f) > 0) print l; skip = 1; next }
			$0 == e { skip = 0 }
			!skip' "$DOC" >"$T_DIR/doc.new" && cat "$T_DIR/doc.new" >"$DOC"
	else
		{ echo "# netd performance"; echo; echo "$begin"; cat "$T_DIR/report.md"; echo "$end"; } >"$DOC"
	fi
	echo "(written to $DOC)"
fi
