#!/usr/bin/env bash
# images/box/add.sh [BOXFILE] [NAME]: checks a vagrant-libvirt box, then `vagrant box add`s it.
#
#   BOXFILE  default build/images/box/vswkit-debian12.box (./vswkit image box builds it)
#   NAME     default vswkit/debian12 (the top-level Vagrantfile's VSW_BOX)
#
# A box that is not one (no metadata.json, another provider or format, no box.img, not a tar)
# is refused with one line before Vagrant sees it: `vagrant box add` itself answers a missing
# metadata.json with nine lines, after unpacking the whole box. Vagrant's own failures are
# reduced to their first line. Adds with --force (replaces a box of the same name); honours
# VAGRANT_HOME, which must be on a path libvirt-qemu can traverse (the box boots its kernel from
# there), so /root/.vagrant.d is refused too.
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
die() { echo "add-box: error: $*" >&2; exit 1; }

case "${1:-}" in -h | --help)
	sed -n '2,12s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
	exit 0 ;;
esac
[ $# -le 2 ] || die "too many arguments (usage: add.sh [BOXFILE] [NAME])"
BOX=${1:-$TOP/build/images/box/vswkit-debian12.box}
NAME=${2:-vswkit/debian12}

[ -f "$BOX" ] || die "$BOX: no such box file (build one with ./vswkit image box)"
members=$(tar -tf "$BOX" 2>/dev/null) || die "$BOX is not a box: not a tar archive"
members=$(sed 's|^\./||' <<<"$members")
grep -qx metadata.json <<<"$members" ||
	die "$BOX is not a box: it has no metadata.json (a vagrant box needs one naming its provider)"
meta=$(tar -xOf "$BOX" metadata.json 2>/dev/null || tar -xOf "$BOX" ./metadata.json)
check=$(/usr/bin/python3 -c '
import json, sys
try:
    m = json.loads(sys.argv[1])
except ValueError as e:
    sys.exit(f"metadata.json is not JSON ({e})")
if not isinstance(m, dict):
    sys.exit("metadata.json is not a JSON object")
if m.get("provider") != "libvirt":
    sys.exit("metadata.json names provider %r, not libvirt" % m.get("provider"))
if m.get("format", "qcow2") != "qcow2":
    sys.exit("metadata.json names format %r, not qcow2" % m.get("format"))
' "$meta" 2>&1) || die "$BOX is not a libvirt box: $check"
grep -qx box.img <<<"$members" || die "$BOX is not a libvirt box: it has no box.img"

home=${VAGRANT_HOME:-$HOME/.vagrant.d}
d=$home
while [ "$d" != / ] && [ ! -d "$d" ]; do d=$(dirname "$d"); done
while [ "$d" != / ]; do
	[ $((0$(stat -c %a "$d") & 1)) -ne 0 ] ||
		die "VAGRANT_HOME $home: $d is not searchable by others (mode $(stat -c %a "$d")); QEMU runs as libvirt-qemu and boots the box's kernel from there: use a VAGRANT_HOME under a 0755 path"
	d=$(dirname "$d")
done

out=$(vagrant box add --force --name "$NAME" "$BOX" 2>&1) || {
	line=$(tr '\r' '\n' <<<"$out" | grep -v -e '^==>' -e '^ *box:' -e Progress -e '^\s*$' | head -1)
	die "vagrant box add $NAME failed: ${line:-$(tail -1 <<<"$out")}"
}
echo "add-box: $NAME added from $BOX"
