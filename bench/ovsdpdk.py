"""OVS-DPDK (Debian's openvswitch-switch-dpdk, 3.1) started by hand in a private run directory,
as a reference switch for the benchmarks: its own ovsdb-server on a fresh database, its own
ovs-vswitchd (the DPDK build, called directly: /usr/sbin/ovs-vswitchd may be the plain one), a
DPDK file prefix of its own, the PMD on one chosen core, a netdev bridge with vhost-user ports
and the NORMAL action (or port-to-port flows). ovs-vswitchd runs in a network namespace of its
own, so the bridge's internal (tap) port never appears on the host. The system's OVS service,
/etc/openvswitch and /var/run/openvswitch are never touched; everything goes by PID at stop().

    with OvsDpdk(core=1, ports=["fl0", "fl1"]) as ovs:    # sockets: ovs.sock("fl0"), ...
        ...

Self-check: /usr/bin/python3 bench/ovsdpdk.py   (starts, lists its ports, stops)
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from harness import Proc, dpdk_cleanup, uid, wait_for  # noqa: E402

VSWITCHD = Path("/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk")
SCHEMA = Path("/usr/share/openvswitch/vswitch.ovsschema")
INSTALL = ("DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "
           "openvswitch-switch-dpdk")


class OvsError(RuntimeError):
    pass


class OvsDpdk:
    """One private OVS-DPDK. ports: names of vhost-user ports. client=False: dpdkvhostuser (OVS
    makes the sockets in its run dir, see sock()); client=True: dpdkvhostuserclient, OVS connects
    to sock_paths[name] that the guest made with server=1. flows: None for NORMAL, or a list of
    (in_port_name, out_port_name) pairs."""

    def __init__(self, core=1, ports=(), client=False, sock_paths=None, flows=None,
                 socket_mem=1024, main_core=0, maxsleep=0, prefix=None, mac_table=None):
        if not VSWITCHD.exists() or not SCHEMA.exists():
            raise OvsError(f"OVS-DPDK is not installed: {INSTALL}")
        self.core, self.ports, self.client = core, list(ports), client
        self.sock_paths, self.flows = dict(sock_paths or {}), flows
        self.socket_mem, self.main_core, self.maxsleep = socket_mem, main_core, maxsleep
        self.mac_table = mac_table  # NORMAL's MAC table size (OVS's default: 2048)
        self.tag = f"flovs{uid()}"
        self.prefix = prefix or self.tag
        self.dir = None
        self.netns = None
        self.db = self.vswitchd = None
        self.bridge = "flbr"

    # -- helpers --
    def env(self):
        d = str(self.dir)
        return {**os.environ, "OVS_RUNDIR": d, "OVS_DBDIR": d, "OVS_LOGDIR": d,
                "OVS_SYSCONFDIR": d}

    def run(self, *argv, timeout=60):
        r = subprocess.run([str(a) for a in argv], capture_output=True, text=True,
                           env=self.env(), timeout=timeout)
        if r.returncode != 0:
            raise OvsError(f"{Path(str(argv[0])).name} {' '.join(map(str, argv[1:3]))} failed: "
                           + (r.stderr.strip().splitlines() or ["?"])[-1])
        return r.stdout

    def vsctl(self, *args, timeout=60):
        return self.run("ovs-vsctl", f"--db=unix:{self.dir}/db.sock", f"--timeout={timeout}",
                        *args, timeout=timeout + 5)

    def ofctl(self, *args):
        return self.run("ovs-ofctl", *args)

    def sock(self, name):
        """The vhost-user socket of port name (dpdkvhostuser: in the run dir)."""
        return self.sock_paths[name] if self.client else self.dir / name

    def log_tail(self, n=5):
        f = self.dir / "ovs-vswitchd.log" if self.dir else None
        lines = f.read_text(errors="replace").splitlines() if f and f.exists() else []
        return "\n".join(lines[-n:])

    # -- start and stop --
    def start(self, timeout=90):
        try:
            self._start(timeout)
        except Exception as e:
            tail = self.log_tail(8) if self.dir else ""  # before stop() removes the directory
            self.stop()
            err = OvsError(f"OVS-DPDK did not start: "
                           f"{str(e).splitlines()[0] if str(e) else repr(e)}")
            err.tail = tail
            raise err from e
        return self

    def _start(self, timeout):
        self.dir = Path(tempfile.mkdtemp(prefix=f"{self.tag}-"))
        d = self.dir
        self.run("ovsdb-tool", "create", d / "conf.db", SCHEMA)
        self.db = Proc(["ovsdb-server", d / "conf.db", f"--remote=punix:{d}/db.sock",
                        f"--pidfile={d}/ovsdb-server.pid", f"--unixctl={d}/ovsdb-server.ctl",
                        f"--log-file={d}/ovsdb-server.log"], "ovsdb-server", env=self.env())
        wait_for(lambda: (d / "db.sock").exists() or not self.db.alive(), 30,
                 what="ovsdb-server socket")
        if not self.db.alive():
            raise OvsError(f"ovsdb-server exited: {self.db.output().strip()[-300:]}")
        self.vsctl("--no-wait", "init")
        cfg = {"dpdk-init": "true", "dpdk-extra": f"--file-prefix={self.prefix} --no-pci",
               "dpdk-socket-mem": str(self.socket_mem),
               "dpdk-lcore-mask": hex(1 << self.main_core),
               "pmd-cpu-mask": hex(1 << self.core), "pmd-maxsleep": str(self.maxsleep)}
        self.vsctl("--no-wait", "set", "Open_vSwitch", ".",
                   *[f'other_config:{k}="{v}"' for k, v in cfg.items()])
        self.netns = self.tag
        subprocess.run(["ip", "netns", "add", self.netns], check=True, capture_output=True)
        # ip netns exec execs the program: the PID is ovs-vswitchd's own
        self.vswitchd = Proc(["ip", "netns", "exec", self.netns, VSWITCHD,
                              f"unix:{d}/db.sock", f"--pidfile={d}/ovs-vswitchd.pid",
                              f"--unixctl={d}/ovs-vswitchd.ctl",
                              f"--log-file={d}/ovs-vswitchd.log"], "ovs-vswitchd",
                             env=self.env())
        wait_for(lambda: not self.vswitchd.alive() or self._dpdk_ready(), timeout,
                 interval=0.5, what="ovs-vswitchd DPDK init")
        if not self.vswitchd.alive():
            raise OvsError("ovs-vswitchd exited: " + (self.log_tail(1) or
                                                     self.vswitchd.output()[-300:]))
        self.vsctl("add-br", self.bridge, "--", "set", "bridge", self.bridge,
                   "datapath_type=netdev",
                   *([f"other_config:mac-table-size={self.mac_table}"] if self.mac_table else []))
        for i, name in enumerate(self.ports):
            spec = ["type=dpdkvhostuserclient", f"options:vhost-server-path={self.sock(name)}"] \
                if self.client else ["type=dpdkvhostuser"]
            self.vsctl("add-port", self.bridge, name, "--", "set", "Interface", name,
                       f"ofport_request={i + 1}", *spec)
        # the bridge's own (tap) port takes no part in floods
        self.ofctl("mod-port", self.bridge, self.bridge, "no-flood")
        if self.flows is not None:
            self.ofctl("del-flows", self.bridge)
            for a, b in self.flows:
                self.ofctl("add-flow", self.bridge,
                           f"in_port={self.ports.index(a) + 1},actions=output:"
                           f"{self.ports.index(b) + 1}")
        if not self.client:
            wait_for(lambda: all(self.sock(p).exists() for p in self.ports), 30,
                     what="OVS vhost-user sockets")

    def _dpdk_ready(self):
        if not (self.dir / "db.sock").exists():
            return False
        try:
            return self.vsctl("get", "Open_vSwitch", ".", "dpdk_initialized",
                              timeout=5).strip() == "true"
        except (OvsError, subprocess.TimeoutExpired):
            return False

    def pmd_stats(self):
        return self.run("ovs-appctl", "-t", self.dir / "ovs-vswitchd.ctl", "dpif-netdev/pmd-stats-show")

    def stop(self):
        """ovs-appctl exit, then SIGTERM/SIGKILL by PID; removes hugepage files, the DPDK
        runtime directory, the namespace and the run directory."""
        for proc, ctl in ((self.vswitchd, "ovs-vswitchd.ctl"), (self.db, "ovsdb-server.ctl")):
            if proc and proc.alive():
                try:  # each step on its own: the clean-up below must run whatever happens
                    subprocess.run(["ovs-appctl", "-t", str(self.dir / ctl), "exit"],
                                   capture_output=True, timeout=30, env=self.env())
                    proc.p.wait(15)
                except subprocess.TimeoutExpired:
                    pass
                try:
                    proc.stop(signal.SIGTERM, timeout=10)
                except subprocess.TimeoutExpired:
                    print(f"ovsdpdk: {proc.name} (pid {proc.pid}) did not go after SIGKILL",
                          file=sys.stderr)
        self.vswitchd = self.db = None
        dpdk_cleanup(self.prefix)
        if self.netns:
            subprocess.run(["ip", "netns", "del", self.netns], capture_output=True)
            self.netns = None
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def self_check():
    """Starts an OVS-DPDK with two vhost-user ports, shows them, stops it; checks that nothing
    is left (processes, hugepage files, runtime dir, namespace, run dir)."""
    t0 = time.monotonic()
    ovs = OvsDpdk(core=1, ports=["fl0", "fl1"])
    try:
        ovs.start()
        print(ovs.vsctl("show").strip())
        print(ovs.ofctl("dump-flows", ovs.bridge).strip())
        socks = [ovs.sock(p) for p in ovs.ports]
        assert all(s.exists() for s in socks), socks
        pids = [ovs.vswitchd.pid, ovs.db.pid]
        d, ns, prefix = ovs.dir, ovs.netns, ovs.prefix
    finally:
        ovs.stop()
    left = [p for p in pids if Path(f"/proc/{p}").exists()]
    left += [str(f) for f in Path("/dev/hugepages").glob(f"{prefix}map_*")]
    left += [x for x in (f"/var/run/dpdk/{prefix}", str(d), f"/run/netns/{ns}")
             if Path(x).exists()]
    if left:
        sys.exit(f"ovsdpdk: left behind: {left}")
    print(f"ovsdpdk: started and stopped cleanly in {time.monotonic() - t0:.1f} s")


if __name__ == "__main__":
    try:
        self_check()
    except OvsError as e:
        sys.exit(f"ovsdpdk: {e}")
