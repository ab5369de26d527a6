"""A private libvirt for one test: libvirtd and virtlogd inside a network namespace the test made.

    env = LibvirtEnv().start()        # or the `libvirt_env` fixture pattern in the tests
    env.virsh("list", "--all")        # virsh -c qemu:///system, talking to this libvirtd only
    env.run(["vagrant", "up"], env={...})
    env.stop()                        # domains, volumes, networks, daemons, namespace: all gone

Where things live, and why:
- Network: libvirtd, virtlogd, dnsmasq, virbr0 (libvirt's `default` NAT network 192.168.122.0/24)
  and every QEMU it starts live in the namespace `vswlv-<uid>` (`ip netns add`). It has no link to
  the outside, so the management traffic (Vagrant's SSH, DHCP) never leaves it. vhost-user
  traffic goes through vswd's unix sockets and needs no network at all.
- Files: the daemons run in a private mount namespace (the one `ip netns exec` makes) in which
  /etc/libvirt, /run/libvirt, /var/lib/libvirt, /var/cache/libvirt and /var/log/libvirt are bind
  mounts of directories under this environment's own directory (/tmp/vswlv-<uid>-*), and
  /dev/hugepages is a hugetlbfs instance of its own. So two environments (two engineers' test
  runs) never share a socket, pid file, domain, network definition, storage pool or volume, and
  nothing of libvirt's state survives the directory's removal. The pid files are passed with -p.
  Clients (virsh, vagrant) run through run()/cmd(), which enter the namespace and bind
  /run/libvirt the same way, so plain `qemu:///system` reaches this libvirtd and no other.
  The only thing created outside is the empty mount point /run/libvirt when it is missing (the
  libvirt package's own directory; never removed, another environment may be mounted on it).
- /etc/libvirt is a fresh copy of the host's *.conf files with no domain and only the `default`
  network defined: the host's /etc/libvirt/qemu.conf is never changed.
- Ownership (QEMU runs as libvirt-qemu): the directory is 0755 on a 0755/1777 path, so QEMU can
  open kernels and initrds under it (use `path("vagrant.d")` as VAGRANT_HOME), and
  grant_socket() gives QEMU's user a vswd server socket; see its docstring for the choice.

Teardown (stop) destroys and undefines every domain, deletes every volume and pool, destroys the
network, stops libvirtd and virtlogd by their PIDs, then kills by PID anything still running in
the namespace (QEMU or dnsmasq left by a failure: the namespace is ours, so its processes are),
deletes the namespace and removes the directory.
"""
import os
import pwd
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import harness  # noqa: E402

QEMU_USER = "libvirt-qemu"
# host path -> directory name under the environment's own directory
PRIVATE = {"/etc/libvirt": "etc", "/run/libvirt": "run", "/var/lib/libvirt": "lib",
           "/var/cache/libvirt": "cache", "/var/log/libvirt": "log"}


class LibvirtError(Exception):
    pass


class LibvirtEnv:
    def __init__(self, prefix="vswlv"):
        self.uid = harness.uid()
        self.ns = f"{prefix}-{self.uid}"
        self.dir = Path(tempfile.mkdtemp(prefix=f"{self.ns}-", dir="/tmp"))
        self.dir.chmod(0o755)  # QEMU (libvirt-qemu) reaches kernels and sockets below it
        self.procs = {}  # virtlogd, libvirtd (harness.Proc)
        self.ns_made = False

    # ---- paths and commands --------------------------------------------------------------------

    def path(self, *parts):
        """A path under the environment's directory (removed by stop())."""
        return self.dir.joinpath(*parts)

    def _binds(self, which):
        return "".join(f"mount --bind {shlex.quote(str(self.dir / PRIVATE[p]))} {p} && "
                       for p in which)

    def cmd(self, argv):
        """argv wrapped to run in the namespace, seeing this environment's /run/libvirt."""
        return ["ip", "netns", "exec", self.ns, "sh", "-c",
                self._binds(["/run/libvirt"]) + 'exec "$@"', "sh", *map(str, argv)]

    def run(self, argv, check=True, timeout=120, **kw):
        r = subprocess.run(self.cmd(argv), capture_output=True, text=True, timeout=timeout, **kw)
        if check and r.returncode != 0:
            raise LibvirtError(f"{' '.join(map(str, argv))} failed ({r.returncode}): "
                               f"{(r.stderr or r.stdout).strip()}")
        return r

    def virsh(self, *args, check=True, timeout=120):
        return self.run(["virsh", "-q", "-c", "qemu:///system", *args], check=check,
                        timeout=timeout).stdout

    # ---- start ---------------------------------------------------------------------------------

    def start(self, network=True, timeout=120):
        try:
            self._start(network, timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self, network, timeout):
        for name in PRIVATE.values():
            self.path(name).mkdir()
        os.makedirs("/run/libvirt", exist_ok=True)  # the mount point (see the module docstring)
        self._fresh_etc()
        caps = Path("/var/cache/libvirt/qemu/capabilities")
        if caps.is_dir():  # saves the QEMU probe at start (libvirt checks the cache is current)
            shutil.copytree(caps, self.path("cache", "qemu", "capabilities"))
        harness.sh(f"ip netns add {self.ns}")
        self.ns_made = True
        harness.sh(f"ip netns exec {self.ns} ip link set lo up")
        hp = ""
        if " /dev/hugepages hugetlbfs " in Path("/proc/mounts").read_text():
            # libvirt makes /dev/hugepages/libvirt/qemu at start: give it an instance of its own
            hp = "mount -t hugetlbfs nodev /dev/hugepages && "
        # In the foreground, as our children (harness.Proc: output kept, stopped by PID, reaped
        # by us); each in the mount namespace its `ip netns exec` makes, with the same binds.
        for d, extra in (("virtlogd", ""), ("libvirtd", hp)):
            proc = harness.Proc(["ip", "netns", "exec", self.ns, "sh", "-c",
                                 self._binds(PRIVATE) + extra +
                                 f"exec {d} -p {self.path(d + '.pid')}"], d)
            self.procs[d] = proc
            ready = (lambda: self.path("run", "virtlogd-sock").exists()) if d == "virtlogd" \
                else (lambda: self.virsh("version", check=False, timeout=30))
            try:
                harness.wait_for(lambda: not proc.alive() or ready(), timeout, interval=0.2,
                                 what=f"{d} to answer")
            except TimeoutError:
                raise LibvirtError(f"{d} did not answer within {timeout} s: "
                                   f"{proc.output()[-2000:]}") from None
            if not proc.alive():
                raise LibvirtError(f"{d} exited {proc.p.returncode}: {proc.output()[-2000:]}")
        if network:
            self.virsh("net-start", "default")

    def _fresh_etc(self):
        """The host's libvirt configuration files, no domains, one network: `default`."""
        etc = self.path("etc")
        for f in Path("/etc/libvirt").glob("*.conf"):
            shutil.copy2(f, etc / f.name)
        nets = etc / "qemu" / "networks"
        nets.mkdir(parents=True)
        (nets / "autostart").mkdir()
        shutil.copy2("/usr/share/libvirt/networks/default.xml", nets / "default.xml")

    # ---- helpers for tests ---------------------------------------------------------------------

    def grant_socket(self, sock):
        """Lets QEMU (user libvirt-qemu) connect to a vhost-user server socket that vswd (root)
        made: chown the socket to QEMU's user. A unix-socket connect needs write permission on
        the socket file only, plus search permission on the directories above it, which a
        0755 path gives. Chosen over QEMU-server mode (a directory owned by libvirt-qemu, vswd
        as client) because it keeps vswd the server as in the default Vagrantfile and touches
        only the test's own socket; libvirt's dynamic_ownership does not relabel vhost-user
        sockets, and the host's qemu.conf stays as it is. vswd recreates a socket only when
        the port is re-added: call this again then."""
        pw = pwd.getpwnam(QEMU_USER)
        os.chown(sock, pw.pw_uid, pw.pw_gid)
        for parent in Path(sock).parents:
            if parent == Path("/"):
                break
            if not os.stat(parent).st_mode & 0o001:
                raise LibvirtError(f"{parent} is not searchable by {QEMU_USER} "
                                   f"(mode {oct(os.stat(parent).st_mode & 0o777)})")

    def qemu_dir(self, name):
        """A directory owned by QEMU's user (for QEMU-server vhost-user sockets, serial logs)."""
        d = self.path(name)
        d.mkdir(mode=0o755, exist_ok=True)
        pw = pwd.getpwnam(QEMU_USER)
        os.chown(d, pw.pw_uid, pw.pw_gid)
        return d

    def domains(self):
        return [d for d in self.virsh("list", "--all", "--name", check=False).split() if d]

    def volumes(self):
        """(pool, volume) pairs."""
        out = []
        for pool in self.virsh("pool-list", "--all", "--name", check=False).split():
            for line in self.virsh("vol-list", pool, check=False).splitlines():
                if line.split():
                    out.append((pool, line.split()[0]))
        return out

    @property
    def pids(self):
        """{daemon: pid} of virtlogd and libvirtd."""
        return {d: p.pid for d, p in self.procs.items()}

    def qemu_pids(self):
        return [p for p in self.ns_pids() if Path(f"/proc/{p}/exe").exists() and
                "qemu-system" in os.readlink(f"/proc/{p}/exe")]

    def ns_pids(self):
        if not self.ns_made:
            return []
        r = subprocess.run(["ip", "netns", "pids", self.ns], capture_output=True, text=True)
        return [int(p) for p in r.stdout.split()]

    def log(self, domain):
        """QEMU's log for a domain (its stderr, libvirt's command line)."""
        f = self.path("log", "qemu", f"{domain}.log")
        return f.read_text(errors="replace") if f.exists() else ""

    # ---- stop ----------------------------------------------------------------------------------

    def stop(self):
        """Removes everything; safe to call twice and after a failed start. Returns the list of
        things that had to be forced (a test may assert it is empty)."""
        forced = []
        if self.procs.get("libvirtd") and self.procs["libvirtd"].alive():
            for dom in self.domains():
                self.virsh("destroy", dom, check=False, timeout=60)
                self.virsh("undefine", dom, "--nvram", check=False, timeout=60)
            for pool, vol in self.volumes():
                self.virsh("vol-delete", "--pool", pool, vol, check=False)
            for pool in self.virsh("pool-list", "--all", "--name", check=False).split():
                self.virsh("pool-destroy", pool, check=False)
                self.virsh("pool-undefine", pool, check=False)
            for net in self.virsh("net-list", "--all", "--name", check=False).split():
                self.virsh("net-destroy", net, check=False)
                self.virsh("net-undefine", net, check=False)
        for d in ("libvirtd", "virtlogd"):
            proc = self.procs.pop(d, None)
            if proc and proc.stop(timeout=30) == -signal.SIGKILL:
                forced.append(f"{d} {proc.pid} killed")
        for pid in self.ns_pids():  # anything the daemons left in our namespace
            forced.append(f"{_comm(pid)} {pid} left in {self.ns}")
            _stop_pid(pid, timeout=10)
        if self.ns_made:
            subprocess.run(["ip", "netns", "del", self.ns], capture_output=True)
            self.ns_made = False
        shutil.rmtree(self.dir, ignore_errors=True)
        return forced


def alive(pid):
    """True while pid runs (a zombie not yet reaped by its parent does not count)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def _comm(pid):
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return "?"


def _stop_pid(pid, timeout=30):
    """SIGTERM, then SIGKILL; True when it went on SIGTERM."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return True
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.1)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    harness.wait_for(lambda: not alive(pid), 10, what=f"pid {pid} to go")
    return False


try:
    import pytest

    @pytest.fixture
    def libvirt_env():
        """A started LibvirtEnv, stopped (everything removed) after the test, also on failure.
        Import it into a test module: `from libvirt_env import libvirt_env`."""
        env = LibvirtEnv().start()
        try:
            yield env
        finally:
            env.stop()
except ImportError:  # used as a plain module
    pass
