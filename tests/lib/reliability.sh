# Helpers for the crash and restart tests (tests/e2e/reliability, tests/soak/crash).
# Source after tests/lib/lab.sh. Needs LAB_DIR, LAB_CONF, BUILD_ABS (absolute build dir).
#
#   rel_plant_foreign     defines a domain "vlab-foreign" with virsh (no vlab metadata) whose
#                         disk is POOL/foreign-disk.qcow2, and puts a file named like ours,
#                         LAB_DIR/outside/vlab-s01.qcow2, outside the pool; records checksums
#   rel_check [EXPECT]    the invariant; prints every problem on its own line, non-zero if
#                         any. EXPECT (optional): the exact, space-separated list of students
#                         that must be enrolled. STATE (env, optional): the state every
#                         student must have in `labctl list` ("shut off", "running")
#   rel_settle SECONDS    waits until labd answers, has no task in flight, is connected to
#                         libvirt and netd, and no student is creating or deleting
#   rel_roster FILE IDS.. writes a roster for IDS (keys in LAB_DIR/keys, made if missing)

REL_URI="qemu:///system?socket=$LAB_DIR/libvirt/run/libvirt-sock"
REL_POOL="$LAB_DIR/pool"
REL_DB="$LAB_DIR/state/lab.db"
REL_NS='https://vlab.invalid/xmlns/1'

rel_virsh() { virsh -q -c "$REL_URI" "$@"; }

rel_netd_dump() {
	printf '{"v":1,"op":"dump"}\n' | "$BUILD_ABS/tools/rpc" "$LAB_DIR/run/netd.sock"
}

rel_roster() { # FILE IDS...
	local file=$1 id
	shift
	mkdir -p "$LAB_DIR/keys"
	echo 'id,name,email,ssh_key' >"$file"
	for id in "$@"; do
		[ -f "$LAB_DIR/keys/$id" ] ||
			ssh-keygen -q -t ed25519 -N '' -C "$id@rel" -f "$LAB_DIR/keys/$id"
		printf '%s,Student %s,%s@school.example,%s\n' "$id" "$id" "$id" \
			"$(cat "$LAB_DIR/keys/$id.pub")" >>"$file"
	done
}

# What labd must never touch: checksums and inode/size/mtime of the foreign pieces.
rel_foreign_fingerprint() {
	rel_virsh dumpxml vlab-foreign 2>&1 | sha256sum
	rel_virsh dominfo vlab-foreign 2>&1 | grep -E '^(State|Autostart|UUID)' | sha256sum
	sha256sum "$REL_POOL/foreign-disk.qcow2" "$LAB_DIR/outside/vlab-s01.qcow2" 2>&1
	stat -c '%n %i %s %Y' "$REL_POOL/foreign-disk.qcow2" "$LAB_DIR/outside/vlab-s01.qcow2" 2>&1
}

rel_plant_foreign() {
	mkdir -p "$LAB_DIR/outside"
	qemu-img create -q -f qcow2 "$REL_POOL/foreign-disk.qcow2" 16M || return 1
	qemu-img create -q -f qcow2 "$LAB_DIR/outside/vlab-s01.qcow2" 16M || return 1
	cat >"$LAB_DIR/foreign.xml" <<EOF
<domain type='qemu'>
  <name>vlab-foreign</name>
  <description>planted by the reliability test: not labd's</description>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='$REL_POOL/foreign-disk.qcow2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
  </devices>
</domain>
EOF
	rel_virsh define "$LAB_DIR/foreign.xml" >/dev/null || return 1
	# libvirt learns of the file at its next pool refresh: it is then a volume of our pool
	# whose name is not one of ours.
	rel_virsh pool-refresh vlab-test >/dev/null 2>&1 || true
	rel_foreign_fingerprint >"$LAB_DIR/foreign.fp"
}

rel_settle() { # SECONDS
	local limit=$1 end st
	end=$(($(date +%s) + limit))
	while [ "$(date +%s)" -lt "$end" ]; do
		st=$(labctl status --json 2>/dev/null) &&
			echo "$st" | jq -e '.tasks == 0 and .libvirt == true and .netd == true' >/dev/null 2>&1 &&
			labctl list --json 2>/dev/null |
			jq -e '[.students[] | select(.state == "creating" or .state == "deleting")] | length == 0' \
				>/dev/null 2>&1 && return 0
		sleep 0.3
	done
	echo "labd did not settle within $limit s: $(labctl status --json 2>&1 | tr -d '\n')"
	return 1
}

# The invariant. Everything read-only: sqlite3 -readonly, virsh list/dumpxml, ls, dump.
rel_check() {
	local expect=${1-} out="$LAB_DIR/check" p=0 id dom xml f meta mac n
	local -A in_db=() db_mac=() db_ip=() db_pub=() db_state=()
	mkdir -p "$out"
	problem() { echo "  - $*"; p=$((p + 1)); }

	# The database: readable, intact, consistent.
	n=$(sqlite3 -readonly "$REL_DB" 'PRAGMA integrity_check' 2>&1)
	[ "$n" = ok ] || problem "database integrity_check: $n"
	n=$(sqlite3 -readonly "$REL_DB" 'PRAGMA foreign_key_check' 2>&1)
	[ -z "$n" ] || problem "database foreign_key_check: $n"
	sqlite3 -readonly -separator ' ' "$REL_DB" \
		"SELECT s.id, ifnull(a.mac,'-'), ifnull(a.ip,'-'), ifnull(a.public_ip || ':' || a.public_port,'-'),
		        ifnull(a.state,'-') FROM students s LEFT JOIN allocations a ON a.student = s.id
		 ORDER BY s.id" >"$out/db" 2>&1 || problem "sqlite3: $(head -3 "$out/db")"
	while read -r id mac n f meta; do
		[ -n "$id" ] || continue
		in_db[$id]=1 db_mac[$id]=$mac db_ip[$id]=$n db_pub[$id]=$f db_state[$id]=$meta
		[ "$mac" != - ] || problem "$id: enrolled without an allocation"
		[ "$meta" = ready ] || problem "$id: database state '$meta' (not ready)"
	done <"$out/db"
	for f in 2 3 4; do
		n=$(cut -d' ' -f$f "$out/db" | sort | uniq -d | grep -v '^-$' | tr '\n' ' ')
		[ -z "$n" ] || problem "database: shared by two students (column $f): $n"
	done
	n=$(sqlite3 -readonly "$REL_DB" 'SELECT idx FROM allocations GROUP BY idx HAVING count(*) > 1' 2>&1)
	[ -z "$n" ] || problem "database: index shared: $n"
	if [ -n "$expect" ]; then
		[ "$(printf '%s\n' $expect | sort | tr '\n' ' ')" = "$(printf '%s\n' "${!in_db[@]}" | sort | tr '\n' ' ')" ] ||
			problem "enrolled: '$(printf '%s\n' "${!in_db[@]}" | sort | tr '\n' ' ')', expected '$expect'"
	fi

	# libvirt: one domain per student with our metadata, its MAC and its two volumes;
	# no domain of ours without a student.
	rel_virsh list --all --name >"$out/doms" 2>&1 || problem "virsh list: $(head -3 "$out/doms")"
	local -A dom_of=()
	while read -r dom; do
		[ -n "$dom" ] || continue
		[ "$dom" = vlab-foreign ] && continue
		xml=$(rel_virsh dumpxml "$dom" 2>/dev/null) || continue   # vanished meanwhile
		meta=$(printf '%s' "$xml" | xmllint --xpath "string(//*[local-name()='student' and namespace-uri()='$REL_NS']/@id)" - 2>/dev/null)
		if [ -z "$meta" ]; then
			problem "domain $dom: no vlab metadata (not labd's, not planted by the test)"
			continue
		fi
		[ "$dom" = "vlab-$meta" ] || problem "domain $dom: metadata says student $meta"
		[ -n "${in_db[$meta]-}" ] || { problem "domain $dom: student $meta is not enrolled (orphan)"; continue; }
		[ -z "${dom_of[$meta]-}" ] || problem "$meta: two domains: ${dom_of[$meta]} and $dom"
		dom_of[$meta]=$dom
		mac=$(printf '%s' "$xml" | xmllint --xpath 'string(//interface/mac/@address)' - 2>/dev/null)
		[ "$mac" = "${db_mac[$meta]}" ] || problem "domain $dom: MAC $mac, database ${db_mac[$meta]}"
		n=$(printf '%s' "$xml" | xmllint --xpath '//disk/source/@file' - 2>/dev/null |
			sed 's/ *file="\([^"]*\)"/\1\n/g' | grep . | sort | tr '\n' ' ')
		[ "$n" = "$REL_POOL/vlab-$meta-seed.iso $REL_POOL/vlab-$meta.qcow2 " ] ||
			problem "domain $dom: disks '$n'"
	done <"$out/doms"
	for id in "${!in_db[@]}"; do
		[ -n "${dom_of[$id]-}" ] || problem "$id: no domain"
	done

	# The pool directory: our two files per student, the planted foreign disk, nothing else.
	ls -A "$REL_POOL" >"$out/pool" 2>&1
	while read -r f; do
		[ -n "$f" ] || continue
		case $f in
		foreign-disk.qcow2 | filler.bin | lost+found) continue ;;
		vlab-*-seed.iso) id=${f#vlab-}; id=${id%-seed.iso} ;;
		vlab-*.qcow2) id=${f#vlab-}; id=${id%.qcow2} ;;
		*) problem "pool: unexpected file $f"; continue ;;
		esac
		[ -n "${in_db[$id]-}" ] || problem "pool: $f belongs to no enrolled student"
	done <"$out/pool"
	for id in "${!in_db[@]}"; do
		f="$REL_POOL/vlab-$id.qcow2"
		if [ ! -f "$f" ]; then
			problem "$id: no overlay"
		elif ! qemu-img info -U --output=json "$f" 2>/dev/null |
			jq -e '.format == "qcow2" and (."backing-filename" | length > 0)' >/dev/null; then
			problem "$id: overlay is not a qcow2 with a backing file"
		fi
		f="$REL_POOL/vlab-$id-seed.iso"
		if [ ! -f "$f" ]; then
			problem "$id: no seed"
		elif [ "$(stat -c %s "$f")" != 1048576 ] ||
			[ "$(dd if="$f" bs=1 skip=32808 count=6 2>/dev/null)" != cidata ] ||
			! grep -qa "vlab-[a-z0-9_-]*-$id-[0-9]" "$f"; then
			problem "$id: seed is not a complete 1 MiB cidata ISO for $id"
		fi
	done

	# netd: one mapping per ready student, the database's values, nothing else.
	rel_netd_dump >"$out/dump" 2>&1
	if ! jq -e '.ok == true' "$out/dump" >/dev/null 2>&1; then
		problem "netd dump failed: $(head -c 300 "$out/dump")"
	else
		jq -r '.mappings[] | "\(.student) \(.mac) \(.ip) \(.public_ip):\(.public_port)"' \
			"$out/dump" >"$out/maps"
		n=$(cut -d' ' -f1 "$out/maps" | sort | uniq -d | tr '\n' ' ')
		[ -z "$n" ] || problem "netd: students mapped twice: $n"
		for f in 2 3 4; do
			n=$(cut -d' ' -f$f "$out/maps" | sort | uniq -d | tr '\n' ' ')
			[ -z "$n" ] || problem "netd: shared by two mappings (field $f): $n"
		done
		local -A mapped=()
		while read -r id mac n f; do
			mapped[$id]=1
			if [ -z "${in_db[$id]-}" ]; then
				problem "netd: mapping for $id, who is not enrolled"
			elif [ "$mac $n $f" != "${db_mac[$id]} ${db_ip[$id]} ${db_pub[$id]}" ]; then
				problem "netd: $id mapped as '$mac $n $f', database '${db_mac[$id]} ${db_ip[$id]} ${db_pub[$id]}'"
			fi
		done <"$out/maps"
		for id in "${!in_db[@]}"; do
			[ -n "${mapped[$id]-}" ] || problem "$id: no netd mapping"
		done
	fi

	# labctl list says the same.
	if labctl list --json >"$out/list" 2>&1; then
		jq -r '.students[] | "\(.id) \(.mac) \(.ip) \(.public_ip):\(.public_port) \(.state)"' \
			"$out/list" >"$out/list.txt"
		[ "$(cut -d' ' -f1-4 "$out/list.txt" | sort)" = "$(cut -d' ' -f1-4 "$out/db" | sort)" ] ||
			problem "labctl list disagrees with the database: $(cut -d' ' -f1-4 "$out/list.txt" | tr '\n' ';')"
		if [ -n "${STATE-}" ]; then
			n=$(awk -v s="$STATE" '{ st = $5; for (i = 6; i <= NF; i++) st = st " " $i;
				if (st != s) print $1 "=" st }' "$out/list.txt" | tr '\n' ' ')
			[ -z "$n" ] || problem "labctl list: not '$STATE': $n"
		fi
	else
		problem "labctl list failed: $(head -c 300 "$out/list")"
	fi

	# What labd did not create is exactly as it was.
	if [ -f "$LAB_DIR/foreign.fp" ]; then
		rel_foreign_fingerprint >"$out/foreign.fp"
		cmp -s "$LAB_DIR/foreign.fp" "$out/foreign.fp" ||
			problem "foreign domain or files changed: $(diff "$LAB_DIR/foreign.fp" "$out/foreign.fp" | tr '\n' ' ')"
	fi
	unset -f problem
	[ "$p" -eq 0 ]
}
