#!/bin/bash
# The shell-script way: one VM per student, the way a sysadmin without vlab writes it.
# This is the baseline bench/run measures vlab against (see bench/baseline/README.md).
#
#   provision.sh [--no-start] ROSTER.csv BASE.qcow2 LIBVIRT_URI BRIDGE
#
# ROSTER.csv: id,name,email,ssh_key (a header line, one student a line, no quoting).
# Per student: a qcow2 overlay on BASE, a NoCloud seed ISO, a domain bl-NNNN defined
# (and started, unless --no-start), a DHCP host line for the bridge's dnsmasq and one
# DNAT rule PUBLIC:PORT -> VM:22 in the nftables table "ip baseline".
#
# The settings at the top, as such scripts have them (override from the environment):
DIR=${DIR:-/var/lib/baseline}                 # overlays, seeds, domain XML
PUBLIC=${PUBLIC:-"203.0.113.10 203.0.113.11"} # students alternate between these
PORT0=${PORT0:-30000}                         # first public port on each address
NET=${NET:-10.78}                             # the bridge's /20 is NET.0.0, gateway NET.0.1
MACPREFIX=${MACPREFIX:-52:54:01}
DHCP_HOSTS=${DHCP_HOSTS:-/etc/baseline/dhcp-hosts}       # the dnsmasq's --dhcp-hostsfile
DNSMASQ_PID=${DNSMASQ_PID:-/run/baseline-dnsmasq.pid}    # SIGHUP rereads that file
USERNAME=${USERNAME:-student}
MEMORY=${MEMORY:-256}                         # MiB
VCPUS=${VCPUS:-1}
KERNEL=${KERNEL:-}                            # direct kernel boot (the test image); empty:
INITRD=${INITRD:-}                            # boot from the disk
CMDLINE=${CMDLINE:-}
set -e

START=1
if [ "$1" = --no-start ]; then START=0; shift; fi
if [ $# -ne 4 ]; then
	echo "usage: $0 [--no-start] ROSTER.csv BASE.qcow2 LIBVIRT_URI BRIDGE" >&2
	exit 2
fi
ROSTER=$1 BASE=$2 URI=$3 BRIDGE=$4
pubs=($PUBLIC)

mkdir -p "$DIR"
nft add table ip baseline
nft add chain ip baseline prerouting '{ type nat hook prerouting priority dstnat; }'

if [ -n "$KERNEL" ]; then
	BOOT="<kernel>$KERNEL</kernel>
    <initrd>$INITRD</initrd>
    <cmdline>$CMDLINE</cmdline>"
else
	BOOT="<boot dev='hd'/>"
fi

i=0
tail -n +2 "$ROSTER" | while IFS=, read -r id name email key; do
	i=$((i + 1))
	vm=bl-$(printf %04d $i)
	n=$((i + 1))                                  # .0.1 is the gateway
	ip=$NET.$((n / 256)).$((n % 256))
	mac=$MACPREFIX:$(printf '%02x:%02x:%02x' $((i >> 16 & 255)) $((i >> 8 & 255)) $((i & 255)))
	pub=${pubs[$(((i - 1) % ${#pubs[@]}))]}
	port=$((PORT0 + (i - 1) / ${#pubs[@]}))

	# disk: a copy-on-write overlay on the base image
	qemu-img create -q -f qcow2 -b "$BASE" -F qcow2 "$DIR/$vm.qcow2"

	# cloud-init seed
	mkdir -p "$DIR/$vm-seed"
	cat >"$DIR/$vm-seed/meta-data" <<EOF
instance-id: $vm
local-hostname: $id
EOF
	cat >"$DIR/$vm-seed/user-data" <<EOF
#cloud-config
users:
  - name: $USERNAME
    sudo: ALL=(ALL) NOPASSWD:ALL
    shell: /bin/bash
    ssh_authorized_keys:
      - $key
EOF
	genisoimage -quiet -output "$DIR/$vm-seed.iso" -V cidata -J -r \
		"$DIR/$vm-seed/user-data" "$DIR/$vm-seed/meta-data"

	# the VM
	cat >"$DIR/$vm.xml" <<EOF
<domain type='qemu'>
  <name>$vm</name>
  <memory unit='MiB'>$MEMORY</memory>
  <vcpu>$VCPUS</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    $BOOT
  </os>
  <features>
    <acpi/>
    <tcg><tb-cache unit='MiB'>32</tb-cache></tcg>
  </features>
  <cpu mode='custom' match='exact'><model fallback='forbid'>qemu64</model></cpu>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='$DIR/$vm.qcow2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/>
      <source file='$DIR/$vm-seed.iso'/>
      <target dev='vdb' bus='virtio'/>
      <readonly/>
    </disk>
    <interface type='bridge'>
      <mac address='$mac'/>
      <source bridge='$BRIDGE'/>
      <model type='virtio'/>
    </interface>
    <serial type='pty'><log file='$DIR/$vm-console.log' append='on'/><target port='0'/></serial>
    <console type='pty'><target type='serial' port='0'/></console>
    <memballoon model='none'/>
  </devices>
</domain>
EOF
	virsh -q -c "$URI" define "$DIR/$vm.xml" >/dev/null

	# its address, before it boots
	echo "$mac,$ip,$id" >>"$DHCP_HOSTS"
	kill -HUP "$(cat "$DNSMASQ_PID")"

	if [ $START = 1 ]; then
		virsh -q -c "$URI" start "$vm" >/dev/null
	fi

	# ssh -p PORT student@PUBLIC reaches it
	nft add rule ip baseline prerouting ip daddr "$pub" tcp dport "$port" dnat to "$ip:22"

	echo "$id,$vm,$ip,$pub,$port"
done
