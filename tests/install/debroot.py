"""A Debian 12 chroot for the package tests. debootstrap --variant=minbase with exactly the
packages the kit's .debs depend on, run once per machine and cached as a tarball under
$VSWKIT_CACHE/inst (outside the clone, as images/box does, so a fresh CI clone reuses it; keyed
by suite, mirror and that list), then unpacked per session. Processes run in the chroot inside
a private mount namespace (unshare -m), with /dev, /sys, /proc and a hugetlbfs of their own:
the mounts vanish with the process, so nothing is left mounted whatever happens."""
import fcntl
import hashlib
import os
import re
import shlex
import shutil
import subprocess
import tempfile
from pathlib import Path

import harness

SUITE = "bookworm"
CACHE = Path(os.environ.get("VSWKIT_CACHE", "/var/cache/vswkit")) / "inst"


def mirror():
    """The host's Debian mirror (as images/box/build.sh finds it), or $VSWKIT_MIRROR."""
    if os.environ.get("VSWKIT_MIRROR"):
        return os.environ["VSWKIT_MIRROR"]
    src = Path("/etc/apt/sources.list.d/debian.sources")
    if src.exists():
        m = re.search(r"^URIs:\s*(\S+)", src.read_text(), re.M)
        if m:
            return m.group(1)
    m = re.search(r"^deb\s+(\S+)", Path("/etc/apt/sources.list").read_text(), re.M)
    assert m, "no Debian mirror in /etc/apt (set VSWKIT_MIRROR)"
    return m.group(1)


def depends(debs, ours):
    """The Debian packages the .debs depend on (first alternatives, no versions), ours left out."""
    names = set()
    for deb in debs:
        field = subprocess.run(["dpkg-deb", "-f", str(deb), "Depends"], check=True,
                               capture_output=True, text=True).stdout
        for dep in field.split(","):
            name = dep.split("|")[0].split("(")[0].strip()
            if name and name not in ours:
                names.add(name)
    return sorted(names)


def base_tar(packages):
    """The cached minbase tarball with these packages; made (minutes) if missing."""
    m = mirror()
    key = hashlib.sha256(f"{SUITE} {m} {' '.join(packages)}".encode()).hexdigest()[:16]
    tar = CACHE / f"minbase-{key}.tar"
    (CACHE / "debs").mkdir(parents=True, exist_ok=True)
    with open(CACHE / ".lock", "w") as lock:  # one debootstrap at a time per machine
        fcntl.flock(lock, fcntl.LOCK_EX)
        if tar.exists():
            return tar
        tmp = Path(tempfile.mkdtemp(prefix="inst-debootstrap-", dir=CACHE))
        try:
            r = subprocess.run(["debootstrap", "--variant=minbase", f"--cache-dir={CACHE}/debs",
                                f"--include={','.join(packages)}", SUITE, str(tmp / "root"), m],
                               capture_output=True, text=True, timeout=1800)
            assert r.returncode == 0, f"debootstrap failed:\n{r.stdout[-3000:]}{r.stderr[-2000:]}"
            subprocess.run(["tar", "-C", str(tmp / "root"), "--numeric-owner", "-cf",
                            str(tmp / "base.tar"), "."], check=True)
            for old in CACHE.glob("minbase-*.tar"):  # an older package list: no longer needed
                old.unlink()
            os.rename(tmp / "base.tar", tar)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return tar


class DebRoot:
    """An unpacked chroot in a temporary directory; remove() deletes it."""

    def __init__(self, tar):
        self.path = Path(tempfile.mkdtemp(prefix="inst-debroot-"))
        subprocess.run(["tar", "-C", str(self.path), "--numeric-owner", "-xf", str(tar)],
                       check=True)

    def run(self, *argv, check=True, timeout=120):
        """A command in the chroot, no mounts (dpkg, ldd, reading files)."""
        r = subprocess.run(["chroot", str(self.path), *map(str, argv)], capture_output=True,
                           text=True, timeout=timeout)
        assert not check or r.returncode == 0, f"{argv}: {r.returncode}\n{r.stdout}{r.stderr}"
        return r

    def popen(self, argv, name):
        """A process in the chroot as a host runs it: /dev, /sys, /proc and hugepages (its own
        hugetlbfs, so hugepage files are never shared with the host's) in a private mount
        namespace. Every exec, so the PID is the program's own."""
        script = ('set -e; R=$1; shift; mount --rbind /dev "$R/dev"; mount --rbind /sys "$R/sys";'
                  ' mount -t proc proc "$R/proc"; mount -t hugetlbfs nodev "$R/dev/hugepages";'
                  ' exec chroot "$R" "$@"')
        return harness.Proc(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                             script, "sh", self.path, *argv], name)

    def files(self):
        """Every path in the tree, relative, as a set."""
        return {str(p.relative_to(self.path)) for p in self.path.rglob("*")}

    def unit_command(self, unit="lib/systemd/system/vswd.service"):
        """The unit's ExecStart as argv, its $VARS expanded from its EnvironmentFile as
        systemd does ($VAR splits on whitespace, ${VAR} stays one word)."""
        text = (self.path / unit).read_text()
        env = {}
        for m in re.finditer(r"^EnvironmentFile=(-?)(\S+)$", text, re.M):
            f = self.path / m.group(2).lstrip("/")
            if f.exists() or not m.group(1):
                for line in shlex.split(f.read_text(), comments=True):
                    k, _, v = line.partition("=")
                    env[k] = v
        argv = []
        for word in shlex.split(re.search(r"^ExecStart=(.*)$", text, re.M).group(1)):
            if m := re.fullmatch(r"\$(\w+)", word):
                argv += env.get(m.group(1), "").split()
            else:
                argv.append(re.sub(r"\$\{(\w+)\}", lambda v: env.get(v.group(1), ""), word))
        return argv

    def remove(self):
        # never delete through a mount (an rbind of /dev would take the host's devices with
        # it): mounts live only in the private namespaces, but look before deleting
        with open("/proc/mounts") as f:
            mounted = [l.split()[1] for l in f if l.split()[1].startswith(f"{self.path}/")]
        assert not mounted, f"still mounted, {self.path} kept: {mounted}"
        shutil.rmtree(self.path, ignore_errors=True)
