#!/usr/bin/env bash
# images/box/build.sh OUTDIR: the kit's Debian 12 vagrant-libvirt box, from Debian's archive only.
#
#   OUTDIR/vswkit-debian12.box   box.img (qcow2, ext4 root on /dev/vda, no partition table, no
#                                bootloader), vmlinuz + initrd.img (direct kernel boot), metadata.json
#                                and the box's own Vagrantfile
#   OUTDIR/pkg/                  the box unpacked (vsw-vm start --image box boots it directly)
#   OUTDIR/rootfs/               the configured tree (cache; keyed by rootfs.stamp)
#   $VSWKIT_CACHE/box/base.tar   debootstrap's tree before configuration (cache; base.stamp)
#   $VSWKIT_CACHE/box/debs/      downloaded .debs (cache: a new package list downloads only news)
#   (VSWKIT_CACHE defaults to /var/cache/vswkit: outside the clone, so a fresh clone on the same
#   machine, as CI makes, reuses them; both are keyed by the hash of what makes them)
#   OUTDIR/box.stamp             hash of every input: a second call with nothing changed is a no-op
#
# Inside the box: sshd (ed25519 host key made at first boot), the vagrant user with Vagrant's
# insecure key and password-less sudo, python3, iputils-ping, kmod, pciutils, DPDK's runtime
# (the librte-* libraries the kit's binaries link plus the PMDs a guest or a host in a VM uses),
# and the kit: vswd, vswctl, gs-* in /usr/local/bin, vsw-host in /usr/local/lib/vswkit.
#
# debootstrap runs again only when the package list changes (the kit's binaries linking another
# librte library, say); a change to the configuration steps of this script starts from base.tar;
# a new vswd only re-installs the kit and repacks (seconds). Needs root, debootstrap,
# e2fsprogs (mkfs.ext4 -d), qemu-img; no loop device, no mount except /proc in the chroot.
set -eEuo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SELF="$TOP/images/box/build.sh"
BUILD=${VSWKIT_BUILD:-$TOP/build}
SUITE=bookworm
BOX_NAME=vswkit-debian12
DISK_GB=4
T0=$SECONDS

die() { echo "box: error: $*" >&2; exit 1; }
step() { printf 'box: [%3ds] %s\n' $((SECONDS - T0)) "$*"; STEP=$*; }
STEP=start
# any other failing command: one line naming the step and the command
trap 'echo "box: error: \"$BASH_COMMAND\" failed (line $LINENO, step: ${STEP%% (*}; log: ${LOG:-none})" >&2' ERR

[ $# -ge 1 ] && [ "${1:-}" != -h ] && [ "${1:-}" != --help ] || {
	echo "usage: images/box/build.sh OUTDIR   (./vswkit image box builds into build/images/box)"
	[ $# -ge 1 ] && exit 0 || exit 2
}
[ $# -eq 1 ] || die "unexpected argument '$2' (usage: build.sh OUTDIR)"

# ---- inputs ------------------------------------------------------------------------------------

BASE_PKGS=(openssh-server sudo iproute2 ifupdown isc-dhcp-client systemd-sysv linux-image-amd64
	python3 iputils-ping kmod pciutils libjansson4 dpdk)
# PMDs loaded as plugins (not linked): mempool ops, the virtio PMD a guest drives, the vdevs and
# the Intel NIC PMDs a host in a VM uses (e1000e is QEMU's emulated NIC with an IOMMU).
DPDK_PLUGINS=(librte-mempool-ring23 librte-net-virtio23 librte-net-vhost23 librte-net-tap23
	librte-net-af-packet23 librte-net-ring23 librte-net-null23 librte-net-e1000-23
	librte-net-ixgbe23 librte-net-i40e23 librte-net-iavf23)

kit_files() { # the kit as installed: SRC<TAB>DEST (DEST relative to /usr/local)
	local f
	for f in "$BUILD/vswitch/vswd" "$BUILD/vswitch/vswctl" "$BUILD"/guest_stack/apps/gs-*; do
		[ -f "$f" ] && [ -x "$f" ] && printf '%s\tbin/%s\n' "$f" "${f##*/}"
	done
	printf '%s\tlib/vswkit/vsw-host\n' "$TOP/provisioning/vsw-host"
	for f in "$TOP"/provisioning/vswhost/*.py; do
		printf '%s\tlib/vswkit/vswhost/%s\n' "$f" "${f##*/}"
	done
}

vagrant_key() {
	local k
	for k in /usr/share/rubygems-integration/all/gems/vagrant-*/keys/vagrant.pub \
		/opt/vagrant/embedded/gems/gems/vagrant-*/keys/vagrant.pub; do
		[ -f "$k" ] && { echo "$k"; return; }
	done
	die "Vagrant's insecure public key (keys/vagrant.pub) not found: install vagrant"
}

# The librte-* packages that hold the libraries the kit's binaries link, read from dpkg's file
# lists on this host (whose DPDK the binaries were built against); `dpkg -S` would take seconds.
dpdk_pkgs() {
	local libs bin pkgs re missing
	libs=$(for bin in "$BUILD/vswitch/vswd" "$BUILD"/guest_stack/apps/gs-*; do
		[ -f "$bin" ] && [ -x "$bin" ] || continue
		ldd "$bin" | awk '$1 ~ /^librte_/ {print $1}'
	done | sort -u)
	re="/($(paste -sd'|' <<<"$libs" | sed 's/\./\\./g'))\$"
	pkgs=$(grep -lE "$re" /var/lib/dpkg/info/librte-*.list 2>/dev/null |
		sed 's|.*/||; s|:.*||; s|\.list$||' | sort -u || true)
	missing=$(comm -23 <(echo "$libs") <(grep -hoE "$re" /var/lib/dpkg/info/librte-*.list 2>/dev/null |
		sed 's|.*/||' | sort -u) | paste -sd' ')
	[ -z "$missing" ] || die "no Debian package provides $missing (is DPDK installed from Debian's packages?)"
	echo "$pkgs"
}

# ---- checks ------------------------------------------------------------------------------------

[ "$(id -u)" = 0 ] || die "needs root (debootstrap, chroot)"
[ -d "$1" ] || [ -d "$(dirname "$1")" ] || die "$1: its parent directory does not exist"
for t in debootstrap mkfs.ext4 qemu-img ldd dpkg sha256sum tar; do
	command -v "$t" >/dev/null || die "$t not found (./vswkit bootstrap installs what is needed)"
done
[ -x "$BUILD/vswitch/vswd" ] && [ -x "$BUILD/vswitch/vswctl" ] ||
	die "no vswd/vswctl in $BUILD (run ./vswkit build first)"
ls "$BUILD"/guest_stack/apps/gs-* >/dev/null 2>&1 || die "no gs-* tools in $BUILD (run ./vswkit build)"
KEY=$(vagrant_key)
MIRROR=${VSWKIT_MIRROR:-$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)}
[ -n "$MIRROR" ] || MIRROR=$(awk '$1 == "deb" {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
[ -n "$MIRROR" ] || die "no Debian mirror found in /etc/apt (set VSWKIT_MIRROR)"

DPDK_PKGS=$(dpdk_pkgs) || exit 1
PKGS=$(printf '%s\n' "${BASE_PKGS[@]}" "${DPDK_PLUGINS[@]}" $DPDK_PKGS | sort -u | paste -sd,)

mkdir -p "$1" || die "cannot create $1"
OUT=$(cd "$1" && pwd)
CACHE=${VSWKIT_CACHE:-/var/cache/vswkit}/box
mkdir -p "$CACHE" || die "cannot create $CACHE"
BOX="$OUT/$BOX_NAME.box"
LOG="$OUT/build.log"
# one build at a time per OUTDIR (a test may ask for the box while a build runs)
exec 9>"$OUT/.lock"
flock -n 9 || { step "waiting for the build already running in $OUT"; flock 9; }

# ---- the rootfs: debootstrap + configuration (cached) -----------------------------------------

make_rootfs() { # $1 target dir
	local R=$1
	debootstrap --variant=minbase --cache-dir="$CACHE/debs" --include="$PKGS" \
		"$SUITE" "$R" "$MIRROR" >>"$LOG" 2>&1 ||
		die "debootstrap failed: $(grep -E '^(E|W):' "$LOG" | tail -1 || tail -1 "$LOG") (log: $LOG)"
}

unpack_base() { # $1 target dir; all xattrs: ping's cap_net_raw is security.capability
	mkdir "$1"
	tar -C "$1" --numeric-owner --xattrs --xattrs-include='*' -xpf "$CACHE/base.tar"
}

configure_rootfs() { # $1 target dir
	local R=$1 U G
	echo vswkit-box >"$R/etc/hostname"
	printf '127.0.0.1 localhost\n127.0.1.1 vswkit-box\n' >"$R/etc/hosts"
	echo '/dev/vda / ext4 defaults,errors=remount-ro 0 1' >"$R/etc/fstab"
	# eth0 is Vagrant's management NIC (net.ifnames=0), on DHCP through systemd-networkd: under
	# TCG, ifupdown + dhclient (a shell script per event) took most of a minute of the boot.
	# ifupdown stays installed for other interfaces; the vhost NIC is set up by provisioning.
	printf 'auto lo\niface lo inet loopback\n' >"$R/etc/network/interfaces"
	printf '[Match]\nName=eth0\n\n[Network]\nDHCP=ipv4\nLinkLocalAddressing=no\nIPv6AcceptRA=no\n\n[DHCPv4]\nClientIdentifier=mac\n' \
		>"$R/etc/systemd/network/20-eth0.network"
	rm -f "$R"/etc/systemd/system/*.wants/networking.service
	ln -sf /lib/systemd/system/systemd-networkd.service \
		"$R/etc/systemd/system/multi-user.target.wants/systemd-networkd.service"
	mkdir -p "$R/etc/systemd/system/sockets.target.wants"
	ln -sf /lib/systemd/system/systemd-networkd.socket \
		"$R/etc/systemd/system/sockets.target.wants/systemd-networkd.socket"
	chroot "$R" id vagrant >/dev/null 2>&1 || chroot "$R" useradd -m -s /bin/bash -G sudo vagrant
	echo 'vagrant:vagrant' | chroot "$R" chpasswd
	U=$(chroot "$R" id -u vagrant)
	G=$(chroot "$R" id -g vagrant)
	install -d -m 700 -o "$U" -g "$G" "$R/home/vagrant/.ssh"
	install -m 600 -o "$U" -g "$G" "$KEY" "$R/home/vagrant/.ssh/authorized_keys"
	echo 'vagrant ALL=(ALL) NOPASSWD:ALL' >"$R/etc/sudoers.d/vagrant"
	chmod 440 "$R/etc/sudoers.d/vagrant"
	printf 'UseDNS no\nGSSAPIAuthentication no\n' >"$R/etc/ssh/sshd_config.d/vswkit.conf"
	# one ed25519 host key per VM, made at its first boot (the full RSA set takes 21 s under TCG)
	rm -f "$R"/etc/ssh/ssh_host_*
	cat >"$R/etc/systemd/system/ssh-hostkeys.service" <<-'EOF'
		[Unit]
		Description=Generate SSH host keys if missing
		Before=ssh.service
		ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key
		[Service]
		Type=oneshot
		ExecStart=/usr/bin/ssh-keygen -q -t ed25519 -N "" -f /etc/ssh/ssh_host_ed25519_key
		[Install]
		WantedBy=multi-user.target
	EOF
	ln -sf /etc/systemd/system/ssh-hostkeys.service \
		"$R/etc/systemd/system/multi-user.target.wants/ssh-hostkeys.service"
	# slow under TCG and useless in a test VM (dpdk.service, an empty dpdk-init run before the
	# network, took 90 s; vsw-host does hugepages and binding); no VGA, so no getty on tty1
	local unit
	for unit in e2scrub_reap.service e2scrub_all.timer apt-daily.timer apt-daily-upgrade.timer \
		dpdk.service getty-static.service getty@tty1.service systemd-binfmt.service \
		proc-sys-fs-binfmt_misc.automount proc-sys-fs-binfmt_misc.mount dpkg-db-backup.timer \
		fstrim.timer systemd-pstore.service; do
		rm -f "$R"/etc/systemd/system/*.wants/"$unit"
		ln -sf /dev/null "$R/etc/systemd/system/$unit"
	done
	: >"$R/etc/machine-id"
	# a small initrd (36 MB with MODULES=most, 6.5 MB with the list) boots faster
	sed -i 's/^MODULES=.*/MODULES=list/' "$R/etc/initramfs-tools/initramfs.conf"
	printf 'virtio_pci\nvirtio_blk\nvirtio_net\next4\n' >"$R/etc/initramfs-tools/modules"
	mount -t proc proc "$R/proc"
	chroot "$R" update-initramfs -u -k all >>"$LOG" 2>&1
	umount "$R/proc"
	# smaller image, faster upload into libvirt's pool: no caches, no docs, no GPU/sound/radio drivers
	rm -rf "$R"/var/cache/apt/archives/*.deb "$R"/var/lib/apt/lists/* "$R"/usr/share/doc/* \
		"$R"/usr/share/man/* "$R"/usr/share/info/*
	local kver
	for kver in "$R"/lib/modules/*; do
		rm -rf "$kver"/kernel/drivers/{gpu,media,staging,net/wireless,bluetooth,isdn,iio,input/touchscreen} \
			"$kver"/kernel/sound "$kver"/kernel/net/{bluetooth,wireless,mac80211}
		chroot "$R" depmod "${kver##*/}"
	done
}

KEY_HASH=$(sha256sum "$KEY" | cut -c1-64)
BASE_HASH=$( {
	echo "$SUITE $MIRROR $PKGS"
	declare -f make_rootfs
} | sha256sum | cut -c1-64)
ROOTFS_HASH=$( {
	echo "$BASE_HASH $KEY_HASH"
	declare -f unpack_base configure_rootfs
} | sha256sum | cut -c1-64)

# everything that goes into the box: the script, the rootfs, the kit
KIT=$(kit_files)
BOX_HASH=$( {
	sha256sum "$SELF"
	echo "$ROOTFS_HASH"
	while IFS=$'\t' read -r src dst; do echo "$dst $(sha256sum "$src" | cut -c1-64)"; done <<<"$KIT"
} | sha256sum | cut -c1-64)

if [ -f "$BOX" ] && [ -f "$OUT/pkg/box.img" ] && [ "$(cat "$OUT/box.stamp" 2>/dev/null)" = "$BOX_HASH" ]; then
	step "up to date: $BOX"
	exit 0
fi
: >"$LOG"

cleanup() {
	mountpoint -q "$OUT/rootfs.new/proc" 2>/dev/null && umount "$OUT/rootfs.new/proc"
	rm -rf "$OUT/pkg.new" "$OUT/root.raw" "$BOX.new" "$CACHE/base.tar.new.$$"
}
trap cleanup EXIT

R="$OUT/rootfs"
if [ -d "$R" ] && [ "$(cat "$OUT/rootfs.stamp" 2>/dev/null)" = "$ROOTFS_HASH" ]; then
	step "rootfs cached ($R)"
else
	rm -rf "$R" "$OUT/rootfs.new" "$OUT/rootfs.stamp"
	if [ -f "$CACHE/base.tar" ] && [ "$(cat "$CACHE/base.stamp" 2>/dev/null)" = "$BASE_HASH" ]; then
		# only the configuration changed: start again from the debootstrap tree
		step "unpack the cached debootstrap tree ($CACHE/base.tar)"
		unpack_base "$OUT/rootfs.new"
	else
		rm -f "$CACHE/base.tar" "$CACHE/base.stamp"
		mkdir -p "$CACHE/debs"
		step "debootstrap $SUITE from $MIRROR ($(tr ',' '\n' <<<"$PKGS" | wc -l) packages + their dependencies; .debs cached in $CACHE/debs)"
		make_rootfs "$OUT/rootfs.new"
		step "cache the debootstrap tree ($CACHE/base.tar)"
		tar -C "$OUT/rootfs.new" --numeric-owner --xattrs --xattrs-include='*' -cf "$CACHE/base.tar.new.$$" .
		mv "$CACHE/base.tar.new.$$" "$CACHE/base.tar"
		echo "$BASE_HASH" >"$CACHE/base.stamp"
	fi
	step "configure: vagrant user and key, sshd, network, small initrd"
	configure_rootfs "$OUT/rootfs.new"
	if command -v getcap >/dev/null && [ -z "$(getcap "$OUT/rootfs.new/usr/bin/ping")" ]; then
		die "/usr/bin/ping in the rootfs has no cap_net_raw (lost with its xattrs?)"
	fi
	mv "$OUT/rootfs.new" "$R"
	echo "$ROOTFS_HASH" >"$OUT/rootfs.stamp"
fi

step "install the kit: $(cut -f2 <<<"$KIT" | sed 's|.*/||' | grep -v '\.py$' | paste -sd' ')"
rm -rf "$R/usr/local/lib/vswkit"
while IFS=$'\t' read -r src dst; do
	install -D -m "$([ -x "$src" ] && echo 755 || echo 644)" "$src" "$R/usr/local/$dst"
done <<<"$KIT"
ln -sf ../lib/vswkit/vsw-host "$R/usr/local/bin/vsw-host"
{
	echo "vswkit $(git -C "$TOP" describe --always --dirty 2>/dev/null || echo unknown)"
	echo "built $(date -u +%Y-%m-%dT%H:%M:%SZ)"
} >"$R/usr/local/lib/vswkit/VERSION"
missing=$(chroot "$R" sh -c 'for b in /usr/local/bin/vswd /usr/local/bin/gs-*; do ldd $b; done' |
	awk '/not found/ {print $1}' | sort -u | paste -sd' ')
[ -z "$missing" ] || die "libraries missing in the image: $missing"

KERNELS=("$R"/boot/vmlinuz-*)
[ ${#KERNELS[@]} -eq 1 ] && [ -f "${KERNELS[0]}" ] || die "expected one kernel in $R/boot, found: ${KERNELS[*]}"
KVER=${KERNELS[0]##*/vmlinuz-}
[ -f "$R/boot/initrd.img-$KVER" ] || die "no initrd for kernel $KVER in $R/boot"

step "ext4 image (${DISK_GB} GiB, mkfs.ext4 -d, no loop device)"
rm -rf "$OUT/pkg.new"
mkdir "$OUT/pkg.new"
truncate -s "${DISK_GB}G" "$OUT/root.raw"
mkfs.ext4 -q -F -L vswkit-root -d "$R" "$OUT/root.raw" >>"$LOG" 2>&1 ||
	die "mkfs.ext4 -d failed: $(tail -1 "$LOG")"
step "qcow2"
qemu-img convert -f raw -O qcow2 "$OUT/root.raw" "$OUT/pkg.new/box.img" >>"$LOG" 2>&1 ||
	die "qemu-img convert failed: $(tail -1 "$LOG")"
rm -f "$OUT/root.raw"
cp "${KERNELS[0]}" "$OUT/pkg.new/vmlinuz"
cp "$R/boot/initrd.img-$KVER" "$OUT/pkg.new/initrd.img"
chmod 644 "$OUT/pkg.new/vmlinuz" "$OUT/pkg.new/initrd.img"
printf '{"provider": "libvirt", "format": "qcow2", "virtual_size": %d}\n' "$DISK_GB" >"$OUT/pkg.new/metadata.json"
cat >"$OUT/pkg.new/Vagrantfile" <<'EOF'
# The box's own Vagrantfile (vswkit Debian 12): direct kernel boot, the kernel and initrd ship
# inside the box. QEMU (as libvirt-qemu) opens them where Vagrant unpacked the box, so VAGRANT_HOME
# must be on a path that user can traverse (not /root, which is 0700).
Vagrant.configure("2") do |config|
  config.vm.synced_folder ".", "/vagrant", disabled: true
  config.vm.guest = :debian
  config.vm.provider :libvirt do |libvirt|
    libvirt.kernel = File.expand_path("vmlinuz", __dir__)
    libvirt.initrd = File.expand_path("initrd.img", __dir__)
    libvirt.cmd_line = "root=/dev/vda ro console=ttyS0 net.ifnames=0"
  end
end
EOF
step "pack $BOX (kernel $KVER)"
tar -C "$OUT/pkg.new" -cf "$BOX.new" metadata.json Vagrantfile box.img vmlinuz initrd.img
mv "$BOX.new" "$BOX"
# the unpacked box stays: `vsw-vm start --image box` boots pkg/{vmlinuz,initrd.img,box.img}
rm -rf "$OUT/pkg"
mv "$OUT/pkg.new" "$OUT/pkg"
echo "$BOX_HASH" >"$OUT/box.stamp"
step "done: $BOX ($(du -m "$BOX" | cut -f1) MB)"
