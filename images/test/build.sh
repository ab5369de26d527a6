#!/usr/bin/env bash
# images/test/build.sh OUTDIR: the test image, a Debian kernel and an initramfs that boots in
# seconds under TCG. The initramfs holds busybox, the kernel modules a guest or a host-in-a-VM
# needs (virtio, uio_pci_generic, vfio-pci, e1000e, tun, 8021q), the kit's binaries with their shared
# libraries and DPDK drivers, iperf3 and ethtool, a python3 with the stdlib vsw-host uses, and init
# (images/test/init) with its helpers vsw-gs, vsw-trafgen, vsw-bind and vsw-hugepages.
# Everything comes from Debian's archive and this build; rebuilt only when an input changed.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
BUILD=${VSWKIT_BUILD:-$TOP/build}
OUT=${1:?usage: images/test/build.sh OUTDIR}
mkdir -p "$OUT" && OUT=$(cd "$OUT" && pwd)
die() { echo "image test: $*" >&2; exit 1; }
step() { echo "image test: $*"; }

# Kernel modules (dependencies are added by modprobe --show-depends).
MODULES=(virtio_net virtio_pci uio_pci_generic vfio-pci vfio_iommu_type1 e1000e e1000 tun 8021q)
# DPDK drivers loaded from the plugin directory: bus, mempool, the NICs a VM can have, vswd's kinds.
PMDS=(bus_pci bus_vdev mempool_ring net_virtio net_e1000 net_vhost net_tap net_af_packet net_ring)
BINS=(vswitch/vswd vswitch/vswctl guest_stack/apps/gs-echo guest_stack/apps/gs-ping
	guest_stack/apps/gs-udpperf guest_stack/apps/rpc-bench bench/kudp bench/kudp_rr bench/trafgen)
PMDDIR=$(ls -d /usr/lib/x86_64-linux-gnu/dpdk/pmds-* 2>/dev/null | head -1)
[ -n "$PMDDIR" ] || die "DPDK's driver directory is missing (run ./vswkit bootstrap)"
for b in "${BINS[@]}"; do [ -x "$BUILD/$b" ] || die "$BUILD/$b is missing (run ./vswkit build)"; done
command -v busybox >/dev/null || die "busybox is missing (apt install busybox-static)"
command -v iperf3 >/dev/null || die "iperf3 is missing (apt install iperf3)"

KPKG=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-/{print $2; exit}')
[ -n "$KPKG" ] || die "cannot tell the current Debian kernel package (apt-cache depends linux-image-amd64)"
KVER=${KPKG#linux-image-}

# The stamp: a hash of every input. Same hash, nothing to do.
mkdir -p "$OUT/cache"
stamp=$( {
	echo "$KPKG"
	sha256sum "$HERE/build.sh" "$HERE/init" "$HERE"/vsw-* \
		"${BINS[@]/#/$BUILD/}" "$TOP/provisioning/vsw-host" /usr/sbin/ethtool /usr/bin/iperf3 \
		"$TOP"/provisioning/vswhost/*.py "$(command -v busybox)" | cut -d' ' -f1
} | sha256sum | cut -d' ' -f1)
if [ -f "$OUT/stamp" ] && [ "$(cat "$OUT/stamp")" = "$stamp" ] && [ -f "$OUT/initrd.img" ]; then
	echo "image test: up to date ($OUT)"
	exit 0
fi

# 1. The kernel package, downloaded once per version.
K="$OUT/cache/$KVER"
if [ ! -f "$K/done" ]; then
	step "downloading $KPKG"
	rm -rf "$K"; mkdir -p "$K"
	(cd "$K" && apt-get download -q "$KPKG" >/dev/null 2>&1) || die "apt-get download $KPKG failed"
	dpkg-deb -x "$K"/*.deb "$K/root"
	depmod -b "$K/root" "$KVER"
	touch "$K/done"
fi

R=$(mktemp -d "$OUT/root.XXXXXX")
trap 'rm -rf "$R"' EXIT
step "initramfs in $R"
# merged /usr as in Debian, so a library reached by two paths is one file and loads once
mkdir -p "$R"/{usr/bin,usr/sbin,usr/lib,usr/lib64,usr/local/bin,usr/local/lib/vswkit,proc,sys,dev,tmp,run,etc,root,mnt,var}
for d in bin sbin lib lib64; do ln -s usr/$d "$R/$d"; done
ln -s ../run "$R/var/run"
cp "$(command -v busybox)" "$R/bin/busybox"
for applet in $(busybox --list); do
	[ -e "$R/bin/$applet" ] || ln -s busybox "$R/bin/$applet"
done
install -m 755 "$HERE/init" "$R/init"
install -m 755 "$HERE"/vsw-* "$R/usr/local/bin/"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$R/etc/passwd"
printf 'root:x:0:\n' >"$R/etc/group"

# 2. Modules and their dependencies, with a modules.dep for busybox's modprobe.
for m in "${MODULES[@]}"; do
	modprobe -d "$K/root" -S "$KVER" --show-depends "$m" | awk '$1 == "insmod" {print $2}'
done | sort -u | while read -r ko; do
	rel=${ko#"$K/root"}
	mkdir -p "$R$(dirname "$rel")"
	cp "$ko" "$R$rel"
done
mkdir -p "$R/lib/modules/$KVER"
cp "$K/root/lib/modules/$KVER/modules.order" "$K/root/lib/modules/$KVER/modules.builtin" \
	"$K/root/lib/modules/$KVER/modules.builtin.modinfo" \
	"$R/lib/modules/$KVER/"
depmod -b "$R" "$KVER"

# 3. The kit's binaries, the DPDK drivers they load, and every shared library of both.
copy_path() { # a file into the same path under $R, with the symlinks that lead to it
	local p=$1 t
	{ [ -e "$R$p" ] || [ -L "$R$p" ]; } && return 0
	mkdir -p "$R$(dirname "$p")"
	if [ -L "$p" ]; then
		cp -P "$p" "$R$p"
		t=$(readlink "$p")
		case $t in /*) copy_path "$t" ;; *) copy_path "$(dirname "$p")/$t" ;; esac
	else
		cp "$p" "$R$p"
	fi
}
copy_libs() { # the shared libraries of the given ELF files
	local l
	for l in $(ldd "$@" 2>/dev/null | awk '/=> \//{print $3} /^[ \t]*\/lib/{print $1}' | sort -u); do
		copy_path "$l"
	done
}
for b in "${BINS[@]}"; do cp "$BUILD/$b" "$R/usr/local/bin/"; done
pmds=()
for p in "${PMDS[@]}"; do
	f=$(ls "$PMDDIR"/librte_"$p".so* 2>/dev/null | head -1)
	[ -n "$f" ] || die "DPDK driver $p is missing in $PMDDIR"
	for l in "$PMDDIR"/librte_"$p".so*; do copy_path "$l"; done
	pmds+=("$f")
done
copy_libs "${BINS[@]/#/$BUILD/}" "${pmds[@]}"
# glibc loads libgcc_s at run time for pthread_cancel (vswd's exit); ldd does not list it
copy_path /usr/lib/x86_64-linux-gnu/libgcc_s.so.1
# ethtool: which offloads a kernel guest's virtio NIC negotiated (busybox has none)
copy_path /usr/sbin/ethtool
copy_libs /usr/sbin/ethtool
# iperf3: kernel guests' TCP in vsw-bench --guest vm --traffic iperf3
copy_path /usr/bin/iperf3
copy_libs /usr/bin/iperf3

# 4. python3 and the part of its stdlib vsw-host uses (whole packages where it imports them).
copy_path /usr/bin/python3.11
ln -s python3.11 "$R/usr/bin/python3"
copy_libs /usr/bin/python3.11
PYLIB=/usr/lib/python3.11
mkdir -p "$R$PYLIB"
cp "$PYLIB"/*.py "$R$PYLIB/"
for d in encodings json importlib collections re logging lib-dynload; do
	cp -r "$PYLIB/$d" "$R$PYLIB/"
done
find "$R$PYLIB" -name __pycache__ -prune -exec rm -rf {} +
cp -r "$TOP/provisioning/vswhost" "$R/usr/local/lib/vswkit/"
find "$R/usr/local/lib/vswkit" -name __pycache__ -prune -exec rm -rf {} +
install -m 755 "$TOP/provisioning/vsw-host" "$R/usr/local/lib/vswkit/vsw-host"
printf '#!/bin/sh\nexec /usr/bin/python3 /usr/local/lib/vswkit/vsw-host "$@"\n' >"$R/usr/local/bin/vsw-host"
chmod 755 "$R/usr/local/bin/vsw-host"

# 5. Pack.
step "packing"
(cd "$R" && find . | cpio -o -H newc --quiet | gzip -1) >"$OUT/initrd.img.new"
mv "$OUT/initrd.img.new" "$OUT/initrd.img"
cp "$K/root/boot/vmlinuz-$KVER" "$OUT/vmlinuz"
echo "$stamp" >"$OUT/stamp"
echo "image test: $OUT/vmlinuz ($KVER), $OUT/initrd.img ($(du -h "$OUT/initrd.img" | cut -f1))"
