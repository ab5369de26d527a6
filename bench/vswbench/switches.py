"""The switches vsw-bench compares, behind one interface: start() with the ports a topology
needs (in pairs: port 2k and 2k+1 are what port-to-port flows and io-forwarding connect),
vdev(i, n, mac) for the guest side of port i, stop() by PID, and log_tail() for errors.

  vswd       vswd, learning on, one PMD busy-polling (--pmd-maxsleep 0)
  ovs        OVS-DPDK 3.1, netdev bridge, NORMAL action (bench/ovsdpdk.py, a private instance)
  ovs-flows  the same with port-to-port flows instead of NORMAL
  testpmd    dpdk-testpmd io-forwarding on net_vhost ports (paired): the upper bound
  kernel     a Linux bridge with a veth per port in a namespace of its own, each guest's own
             MAC a static entry; the guests attach with net_af_packet (the kernel path for
             process guests; no vhost-net here)
"""
import subprocess
from pathlib import Path

from benchkit import Fail
from harness import Proc, Vswd, dpdk_cleanup, uid, wait_for
from ovsdpdk import OvsDpdk, OvsError


def one_line(e):
    return (str(e).strip().splitlines() or [repr(e)])[0]


class Switch:
    name = None
    netns = None           # the namespace guests must run in (kernel)
    mac_table = 8192       # MAC table entries the run needs (vswd, OVS NORMAL)

    def __init__(self, work, core, main_core):
        self.work, self.core, self.main_core = Path(work), core, main_core
        self.ports = []

    def sock(self, i):
        return self.work / f"{self.ports[i]}.sock"

    def vdev(self, i, n, mac):
        """The vdev a guest opens as its n-th port to reach switch port i."""
        return f"net_virtio_user{n},path={self.sock(i)},mac={mac},queue_size=1024"

    def fail(self, what, e):
        tail = self.log_tail()
        raise Fail(f"{self.name} did not start: {what}: {one_line(e)}"
                   + (f"\n--- the tail of its log:\n{tail}" if tail else ""))

    def wait_ready(self):
        """Once the guests are up: until the switch sees every port's link."""

    def log_tail(self, n=8):
        return ""

    def placement(self):
        return f"switch on CPU {self.core}"


class VswdSwitch(Switch):
    name = "vswd"
    extra = []             # --vswd-args

    def start(self, ports):
        self.ports = list(ports)
        self.v = Vswd(self.work, cores=str(self.core), prefix=f"vbv{uid()}",
                      args=["--pmd-maxsleep", "0", "--mbufs", "32767",
                            "--fdb-size", str(self.mac_table), *self.extra])
        try:
            self.v.start()
            for i, p in enumerate(self.ports):
                self.v.ctl("port", "add", p, "vhost", f"path={self.sock(i)}")
        except Exception as e:
            self.stop()
            self.fail("vswd", e)

    def wait_ready(self):
        for p in self.ports:
            self.v.wait_link(p)

    def facts(self):
        """What vswd says after the sample: its non-zero drop counters, its FDB's size."""
        st = self.v.ctl("stats")
        pmd = st["pmds"][0]
        return {"drops": {f"{p['name']}.{k}": n for p in st["ports"]
                          for k, n in p["drops"].items() if n},
                "fdb_entries": st["fdb"]["entries"],
                "pmd_busy_pct": round(pmd["busy_pct"], 1),
                "frames_per_busy_round": round(pmd["packets"] / max(1, pmd["busy_iterations"]), 1)}

    def log_tail(self, n=8):
        v = getattr(self, "v", None)
        return "\n".join(v.proc.output().splitlines()[-n:]) if v and v.proc else ""

    def stop(self):
        if getattr(self, "v", None):
            try:
                self.v.stop()
            finally:
                dpdk_cleanup(self.v.prefix)


class OvsSwitch(Switch):
    name = "ovs"
    flows = False

    def start(self, ports):
        self.ports = list(ports)
        flows = None
        if self.flows:
            flows = []
            for a, b in zip(self.ports[::2], self.ports[1::2]):
                flows += [(a, b), (b, a)]
        self.ovs = OvsDpdk(core=self.core, main_core=self.main_core, ports=self.ports,
                           flows=flows, mac_table=self.mac_table)
        try:
            self.ovs.start()
        except OvsError as e:
            tail = getattr(e, "tail", "")
            raise Fail(f"{self.name} did not start: {one_line(e)}"
                       + (f"\n--- the tail of its log:\n{tail}" if tail else "")) from e

    def sock(self, i):
        return self.ovs.sock(self.ports[i])

    def wait_ready(self):
        """Until OVS has every vhost-user port up (a frame sent earlier is dropped)."""
        wait_for(lambda: all(self.ovs.vsctl("get", "Interface", p, "link_state").strip()
                             == "up" for p in self.ports), 30, interval=0.2,
                 what="OVS's vhost-user ports up")

    def log_tail(self, n=8):
        return self.ovs.log_tail(n) if getattr(self, "ovs", None) and self.ovs.dir else ""

    def stop(self):
        if getattr(self, "ovs", None):
            self.ovs.stop()


class OvsFlowsSwitch(OvsSwitch):
    name = "ovs-flows"
    flows = True


class TestpmdSwitch(Switch):
    name = "testpmd"

    def start(self, ports):
        self.ports = list(ports)
        self.prefix = f"vbt{uid()}"
        for i in range(len(self.ports)):  # net_vhost does not bind over a stale socket
            Path(self.sock(i)).unlink(missing_ok=True)
        vdevs = []
        for i in range(len(self.ports)):
            vdevs += ["--vdev", f"net_vhost{i},iface={self.sock(i)},queues=1"]
        # --stats-period keeps a testpmd whose stdin is not a terminal running
        self.p = Proc(["dpdk-testpmd", "--lcores", f"0@{self.main_core},1@{self.core}",
                       "--no-pci", "--file-prefix", self.prefix, "-m", "1024",
                       "--log-level", "notice", *vdevs, "--", "--forward-mode=io",
                       "--nb-cores=1", "--auto-start", "--stats-period", "1000",
                       "--total-num-mbufs=32767"], "testpmd-io")
        try:
            wait_for(lambda: all(Path(self.sock(i)).exists() for i in range(len(self.ports)))
                     or not self.p.alive(), 60, what="testpmd's vhost-user sockets")
            if not self.p.alive():
                raise Fail(f"exited with {self.p.p.returncode}")
        except Exception as e:
            self.stop()
            self.fail("dpdk-testpmd", e)

    def log_tail(self, n=8):
        p = getattr(self, "p", None)
        lines = [l for l in p.output().splitlines() if l.strip()] if p else []
        return "\n".join(lines[-n:])

    def stop(self):
        if getattr(self, "p", None):
            self.p.stop()
            dpdk_cleanup(self.prefix)


class KernelSwitch(Switch):
    name = "kernel"

    def ip(self, *args):
        r = subprocess.run(["ip", "-n", self.netns, *args], capture_output=True, text=True)
        if r.returncode:
            raise Fail(f"ip {' '.join(args)}: {r.stderr.strip()}")

    def start(self, ports):
        self.ports = list(ports)
        self.netns = f"vbk{uid()}"
        try:
            r = subprocess.run(["ip", "netns", "add", self.netns], capture_output=True, text=True)
            if r.returncode:
                raise Fail(f"ip netns add {self.netns}: {r.stderr.strip()}")
            subprocess.run(["ip", "netns", "exec", self.netns, "sysctl", "-qw",
                            "net.ipv6.conf.all.disable_ipv6=1",
                            "net.ipv6.conf.default.disable_ipv6=1"], capture_output=True)
            self.ip("link", "add", "br0", "type", "bridge", "stp_state", "0",
                    "forward_delay", "0")
            self.ip("link", "set", "br0", "up")
            for i in range(len(self.ports)):
                g, sw = self.veth(i)
                self.ip("link", "add", g, "type", "veth", "peer", "name", sw)
                self.ip("link", "set", sw, "master", "br0")
                self.ip("link", "set", sw, "up")
        except Exception as e:
            self.stop()
            self.fail("the bridge", e)

    def veth(self, i):
        return f"vg{i}", f"vs{i}"  # in the bridge's own namespace: no clash

    def vdev(self, i, n, mac):
        """Port i's veth: its guest end takes the guest's MAC (what net_af_packet sends from;
        each sample's guests set it again)."""
        g, sw = self.veth(i)
        self.ip("link", "set", g, "down")
        self.ip("link", "set", g, "address", mac)
        self.ip("link", "set", g, "up")
        # known from the start, as the learning frames make it known to the other switches
        r = subprocess.run(["bridge", "-n", self.netns, "fdb", "replace", mac, "dev", sw,
                            "master", "static"], capture_output=True, text=True)
        if r.returncode:
            raise Fail(f"bridge fdb replace {mac}: {r.stderr.strip()}")
        return f"net_af_packet{n},iface={g},qdisc_bypass=1"

    def placement(self):
        return "bridge in softirq wherever it is raised"

    def stop(self):
        if self.netns:
            subprocess.run(["ip", "netns", "del", self.netns], capture_output=True)


SWITCHES = {c.name: c for c in (VswdSwitch, OvsSwitch, OvsFlowsSwitch, TestpmdSwitch,
                                KernelSwitch)}
