"""The switches vsw-bench compares, behind one interface: start() with the ports a topology
needs (in pairs: port 2k and 2k+1 are what port-to-port flows and io-forwarding connect),
vdev(i, n, mac) for the guest side of port i (kernel_guest(i, ip) for a kernel socket's side:
the kernel bridge only; vm_nic(i, mac) for a VM's), stop() by PID, and log_tail() for errors.

  vswd       vswd, learning on, one PMD busy-polling (--pmd-maxsleep 0)
  vswd-nooff the same with offloads=off on its ports (what the offloads give: vswd/vswd-nooff)
  ovs        OVS-DPDK 3.1, netdev bridge, NORMAL action (bench/ovsdpdk.py, a private instance)
  ovs-flows  the same with port-to-port flows instead of NORMAL
  testpmd    dpdk-testpmd io-forwarding on net_vhost ports (paired): the upper bound
  kernel     a Linux bridge with a veth per port in a namespace of its own, each guest's own
             MAC a static entry; the guests attach with net_af_packet (the kernel path for
             process guests; no vhost-net here), or kernel sockets in namespaces on the veths;
             VMs attach by a TAP per port (vhost-net where the host has it)
Variants, in the loop topology only (what bench/loop measured):
  vswd-loop  plain vswd, testpmd's closed loop in loop topology: vswd-vlan's baseline
  vswd-vlan  an access port and a trunk (VswdVlanSwitch)
  vswd-vxlan two tunnels over a loopback underlay inside one vswd (VswdVxlanSwitch)
  vhostlib   bench/vhostlib-fwd, io-forwarding on rte_vhost without the PMD
  vring      bench/vhostlib-fwd --vring, io-forwarding on vhost/vring.c's own ring path
  vswd-novring vswd with vring=off: rte_vhost's own ring path (vswd's default is vring.c's)
"""
import os
import subprocess
from pathlib import Path

from benchkit import Fail
from harness import BUILD, Proc, Vswd, dpdk_cleanup, uid, wait_for
from ovsdpdk import OvsDpdk, OvsError


# every name a run makes (DPDK file prefixes, namespaces, run directories) starts with it
TAG = os.environ.get("VSWBENCH_TAG", "vb")


def one_line(e):
    return (str(e).strip().splitlines() or [repr(e)])[0]


# --ring: the virtio_user devargs and the guests' EAL options of each layout. packed: the
# packed ring, in-order and without mergeable buffers, so DPDK's virtio driver takes its
# vectorized (AVX512) paths both ways where the CPU has them; the EAL allows them only with
# a 512-bit SIMD width
RINGS = {"split": ("", []),
         "packed": (",packed_vq=1,in_order=1,mrg_rxbuf=0,vectorized=1",
                    ["--force-max-simd-bitwidth=512"])}


class Switch:
    name = None
    netns = None           # the namespace guests must run in (kernel)
    loop_only = False      # a variant measured in the loop topology only
    testpmd_only = False   # ... and by testpmd's closed loop only (fixed sizes, one MAC)
    gen_topology = "paired"  # testpmd's --port-topology in a closed loop (loop: a frame
                             # goes back out of the port it came in by)
    fill_factor = 1        # the bursts each of its ports injects, times the usual
    interleaves = False    # can take turns with others in one run (--interleave: pids())

    def __init__(self, work, core, main_core, mac_table=8192, vswd_args=(), vms=False,
                 ring="split"):
        """mac_table: the MAC table entries the run needs (vswd, OVS NORMAL); vswd_args: more
        vswd options (--vswd-args); vms: the ports (names) whose guests are VMs (vm_nic);
        ring: the process guests' virtqueues (--ring, RINGS)."""
        self.work, self.core, self.main_core = Path(work), core, main_core
        self.mac_table, self.vswd_args, self.vms = mac_table, list(vswd_args), vms
        self.ring = ring
        self.ports = []

    def sock(self, i):
        return self.work / f"{self.ports[i]}.sock"

    def vdev(self, i, n, mac, queue_size=1024):
        """The vdev a guest opens as its n-th port to reach switch port i."""
        return (f"net_virtio_user{n},path={self.sock(i)},mac={mac},queue_size={queue_size}"
                + RINGS[self.ring][0])

    def guest_eal(self):
        """EAL options for the guests' processes that the ring layout needs."""
        return RINGS[self.ring][1]

    def kernel_guest(self, i, ip):
        raise Fail(f"{self.name} has no kernel guests")

    vm_netns = None  # the namespace a VM's QEMU runs in (the kernel bridge's, for its TAPs)

    def vm_nic(self, i, mac):
        """vsw-vm start's options for a VM's NIC on port i."""
        return ["--nic", f"vhost={self.sock(i)},mac={mac}"]

    def vm_started(self, i):
        """Once the VM on port i runs."""

    def fail(self, what, e):
        tail = self.log_tail()
        raise Fail(f"{self.name} did not start: {what}: {one_line(e)}"
                   + (f"\n--- the tail of its log:\n{tail}" if tail else ""))

    def wait_ready(self, ports=None):
        """Once the guests are up: until the switch sees the link of every port (of those
        indices)."""

    def mark(self):
        """Just before a closed loop is filled: what lost() counts from."""

    def lost(self, fill_bursts):
        """The frames the switch lost since mark() (a closed loop loses none once filled:
        each one lost runs the loop with one fewer in flight), by port and cause."""
        return {}

    def log_tail(self, n=8):
        return ""

    def placement(self):
        return f"switch on CPU {self.core}"

    def pids(self):
        """Its processes, to stop and continue in an interleaved run (--interleave)."""
        return []


class VswdSwitch(Switch):
    name = "vswd"
    interleaves = True

    port_args = ()         # per port: more `port add` arguments (VLANs)
    DROPS = ("tx_full", "no_mbuf", "malformed", "vlan", "no_copy", "port_down", "no_egress")

    def start(self, ports):
        self.ports = list(ports)
        self.v = Vswd(self.work, cores=str(self.core), prefix=f"{TAG}v{uid()}",
                      args=["--pmd-maxsleep", "0", "--mbufs", "32767",
                            "--fdb-size", str(self.mac_table), *self.vswd_args])
        try:
            self.v.start()
            for i, p in enumerate(self.ports):
                self.v.ctl("port", "add", p, "vhost", f"path={self.sock(i)}",
                           *self.port_args[i:i + 1])
            self.setup()
        except Exception as e:
            self.stop()
            self.fail("vswd", e)

    def pids(self):
        return [self.v.proc.pid]

    def setup(self):
        """More ports, once the guests' are there."""

    def drops(self):
        """Every frame vswd dropped, by port and cause, the tunnels' unresolved frames and
        decapsulation drops included."""
        lost = {}
        for p in self.v.ctl("stats")["ports"]:
            for k in self.DROPS:
                if p["drops"].get(k, 0):
                    lost[f"{p['name']}.{k}"] = p["drops"][k]
        for p in self.v.ctl("port", "list"):
            for r in p.get("remotes", []):
                if r["unresolved"]:
                    lost[f"{p['name']}.unresolved"] = r["unresolved"]
            for k, n in p.get("vxlan_drops", {}).items():
                if n:
                    lost[f"{p['name']}.{k}"] = n
        return lost

    def mark(self):
        self.dropped0 = self.drops()  # e.g. ARP sent before both tunnels were up

    def expected_drops(self, fill_bursts):
        """Frames of the fill dropped by design."""
        return {}

    def lost(self, fill_bursts):
        now, before = self.drops(), getattr(self, "dropped0", {})
        for k, n in self.expected_drops(fill_bursts).items():
            now[k] = now.get(k, 0) - n
        return {k: n - before.get(k, 0) for k, n in now.items() if n - before.get(k, 0)}

    def wait_ready(self, ports=None):
        for i in range(len(self.ports)) if ports is None else ports:
            self.v.wait_link(self.ports[i])

    def facts(self):
        """What vswd says after the sample: its non-zero drop counters, its FDB's size, what
        drove each port's rings (vring or rte_vhost) and their layout (split or packed)."""
        st = self.v.ctl("stats")
        pmd = st["pmds"][0]
        ports = [p for p in self.v.ctl("port", "list") if "rings" in p]
        return {"drops": {f"{p['name']}.{k}": n for p in st["ports"]
                          for k, n in p["drops"].items() if n},
                "rings": {p["name"]: p["rings"] for p in ports},
                "layout": {p["name"]: "packed" if "packed" in p.get("negotiated", ()) else "split"
                           for p in ports},
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


class VswdNoOffloadSwitch(VswdSwitch):
    """vswd with offloads=off on its ports: the guests get no checksum or segmentation offload
    (as from OVS-DPDK 3.1 by default), so a kernel guest's TCP sends MSS-sized frames.
    vswd/vswd-nooff is what the offloads give."""
    name = "vswd-nooff"
    port_args = ("offloads=off", "offloads=off", "offloads=off", "offloads=off")


class VswdNoVringSwitch(VswdSwitch):
    """vswd with vring=off: rte_vhost's burst calls drive the guests' rings, where vswd's
    default has its PMD drive them itself (vhost/vring.c). vswd/vswd-novring is what vring
    gives."""
    name = "vswd-novring"
    port_args = ("vring=off", "vring=off", "vring=off", "vring=off")


class VswdLoopSwitch(VswdSwitch):
    """vswd-vlan's baseline: plain L2, the generator in loop topology as for VLANs."""
    name = "vswd-loop"
    loop_only = testpmd_only = True
    gen_topology = "loop"


class VswdVlanSwitch(VswdLoopSwitch):
    """Port 0 an access port in VLAN 10, port 1 a trunk carrying VLAN 10 tagged. The generator
    cannot tag (testpmd's tx_vlan set does nothing on virtio_user: the PMD inserts tags only in
    tx_prepare, which mac forwarding never calls), so it runs in loop topology (what port N
    receives goes back out of port N): port 1 returns the tagged frames it gets as they are,
    port 0 the untagged ones, and the generator does no VLAN work. Port 1's injected frames
    are untagged and dropped by the trunk, so both inject twice as many bursts."""
    name = "vswd-vlan"
    VLAN = 10
    port_args = (f"vlan={VLAN}", f"trunks={VLAN}")
    fill_factor = 2

    def expected_drops(self, fill_bursts):
        return {f"{self.ports[1]}.vlan": fill_bursts * 32}


class VswdVxlanSwitch(VswdSwitch):
    """Encapsulation and decapsulation inside the one vswd: port 0 and tunnel vxA (local
    10.99.0.1) in VLAN 10, port 1 and tunnel vxB (local 10.99.0.2) in VLAN 20, both tunnels
    over one underlay port u (VLAN 30), a net_ring device that receives what it sends: vxA's
    packets come back on u and vxB decapsulates them, and the other way round. No third
    process, no kernel."""
    name = "vswd-vxlan"
    loop_only = True
    VLAN, VTEP_A, VTEP_B = 10, "10.99.0.1", "10.99.0.2"
    port_args = (f"vlan={VLAN}", f"vlan={VLAN + 10}")

    def setup(self):
        v, a, b = self.v, self.VTEP_A, self.VTEP_B
        v.ctl("port", "add", "u", "dpdk", f"dev=net_ring_{TAG}u", f"vlan={self.VLAN + 20}")
        v.ctl("port", "add", "vxA", "vxlan", "vni=42", f"local={a}", f"remotes={b}",
              "underlay=u", f"vlan={self.VLAN}")
        v.ctl("port", "add", "vxB", "vxlan", "vni=42", f"local={b}", f"remotes={a}",
              "underlay=u", f"vlan={self.VLAN + 10}")
        # every frame must find its remote's MAC: one dropped stays missing from the loop
        wait_for(lambda: all(v.port(p)["remotes"][0]["mac"] for p in ("vxA", "vxB")), 30,
                 what="the tunnels to resolve each other by ARP")


class OvsSwitch(Switch):
    name = "ovs"
    interleaves = True
    flows = False

    def start(self, ports):
        self.ports = list(ports)
        flows = None
        if self.flows:
            flows = []
            for a, b in zip(self.ports[::2], self.ports[1::2]):
                flows += [(a, b), (b, a)]
        self.ovs = OvsDpdk(core=self.core, main_core=self.main_core, ports=self.ports,
                           flows=flows, mac_table=self.mac_table, prefix=f"{TAG}o{uid()}")
        self.ovs.tag = self.ovs.prefix  # its run directory and namespace: the run's names too
        try:
            self.ovs.start()
        except OvsError as e:
            tail = getattr(e, "tail", "")
            raise Fail(f"{self.name} did not start: {one_line(e)}"
                       + (f"\n--- the tail of its log:\n{tail}" if tail else "")) from e

    def sock(self, i):
        return self.ovs.sock(self.ports[i])

    def pids(self):
        return [self.ovs.vswitchd.pid]

    def wait_ready(self, ports=None):
        """Until OVS has the vhost-user ports up (a frame sent earlier is dropped)."""
        names = self.ports if ports is None else [self.ports[i] for i in ports]
        wait_for(lambda: all(self.ovs.vsctl("get", "Interface", p, "link_state").strip()
                             == "up" for p in names), 30, interval=0.2,
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
    interleaves = True
    program = "dpdk-testpmd"

    def argv(self):
        vdevs = []
        for i in range(len(self.ports)):
            vdevs += ["--vdev", f"net_vhost{i},iface={self.sock(i)},queues=1"]
        # --stats-period keeps a testpmd whose stdin is not a terminal running
        return [*self.eal(), *vdevs, "--", "--forward-mode=io", "--nb-cores=1", "--auto-start",
                "--stats-period", "1000", "--total-num-mbufs=32767"]

    def eal(self):
        return [self.program, "--lcores", f"0@{self.main_core},1@{self.core}", "--no-pci",
                "--file-prefix", self.prefix, "-m", "1024", "--log-level", "notice"]

    def start(self, ports):
        self.ports = list(ports)
        self.prefix = f"{TAG}t{uid()}"
        for i in range(len(self.ports)):  # net_vhost does not bind over a stale socket
            Path(self.sock(i)).unlink(missing_ok=True)
        self.p = Proc(self.argv(), self.name)
        try:
            wait_for(lambda: all(Path(self.sock(i)).exists() for i in range(len(self.ports)))
                     or not self.p.alive(), 60, what=f"{self.name}'s vhost-user sockets")
            if not self.p.alive():
                raise Fail(f"exited with {self.p.p.returncode}")
        except Exception as e:
            self.stop()
            self.fail(Path(self.program).name, e)

    def pids(self):
        return [self.p.pid]

    def log_tail(self, n=8):
        p = getattr(self, "p", None)
        lines = [l for l in p.output().splitlines() if l.strip()] if p else []
        return "\n".join(lines[-n:])

    def stop(self):
        if getattr(self, "p", None):
            self.p.stop()
            dpdk_cleanup(self.prefix)


class VhostlibSwitch(TestpmdSwitch):
    """bench/vhostlib-fwd: io-forwarding between two sockets on the rte_vhost library itself,
    without the net_vhost PMD (the yardstick for the vhost backend choice)."""
    name = "vhostlib"
    loop_only = True
    program = str(BUILD / "bench" / "vhostlib-fwd")

    def argv(self):
        return [*self.eal(), "--", *self.mode, *(str(self.sock(i)) for i in range(len(self.ports)))]

    mode = ()


class VringSwitch(VhostlibSwitch):
    """bench/vhostlib-fwd --vring: the same io-forwarding on vhost/vring.c's own split-ring
    data path, rte_vhost for the protocol only."""
    name = "vring"
    mode = ("--vring",)


class KernelSwitch(Switch):
    name = "kernel"

    def ip(self, *args):
        r = subprocess.run(["ip", "-n", self.netns, *args], capture_output=True, text=True)
        if r.returncode:
            raise Fail(f"ip {' '.join(args)}: {r.stderr.strip()}")

    def start(self, ports):
        self.ports = list(ports)
        self.netns = f"{TAG}k{uid()}"
        self.guest_ns = []
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
            for i in (i for i, p in enumerate(self.ports) if p not in self.vms):  # VMs: TAPs
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

    def kernel_guest(self, i, ip):
        """Port i's veth moves into a namespace of its own with address ip (a guest whose
        stack is the kernel's, e.g. kudp): returns the namespace."""
        ns = f"{self.netns}g{i}"
        r = subprocess.run(["ip", "netns", "add", ns], capture_output=True, text=True)
        if r.returncode:
            raise Fail(f"ip netns add {ns}: {r.stderr.strip()}")
        self.guest_ns.append(ns)
        g, _ = self.veth(i)
        self.ip("link", "set", g, "netns", ns)
        for cmd in (["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1",
                     "net.ipv6.conf.default.disable_ipv6=1"],
                    ["ip", "addr", "add", ip, "dev", g], ["ip", "link", "set", g, "up"],
                    ["ip", "link", "set", "lo", "up"]):
            r = subprocess.run(["ip", "netns", "exec", ns, *cmd], capture_output=True, text=True)
            if r.returncode:
                raise Fail(f"{' '.join(cmd)} in {ns}: {r.stderr.strip()}")
        return ns

    @property
    def vm_netns(self):
        return self.netns

    def tap(self, i):
        return f"vbt{i}"

    def vm_nic(self, i, mac):
        """A virtio-net NIC on a TAP that QEMU makes in the bridge's namespace, served by the
        kernel's vhost-net where the host has it (QEMU's own virtio back end otherwise)."""
        vhost = ",vhost=on" if Path("/dev/vhost-net").exists() else ""
        return ["--emulated-nic", f"virtio-net-pci,tap={self.tap(i)}{vhost},mac={mac}"]

    def vm_started(self, i):
        # QEMU makes the TAP after its QMP socket, which is what vsw-vm start waits for
        wait_for(lambda: subprocess.run(["ip", "-n", self.netns, "link", "show", self.tap(i)],
                                        capture_output=True).returncode == 0, 30,
                 what=f"QEMU's TAP {self.tap(i)}")
        self.ip("link", "set", self.tap(i), "master", "br0")
        self.ip("link", "set", self.tap(i), "up")

    def placement(self):
        if self.vms:
            return ("bridge in softirq wherever it is raised; VMs on TAPs, "
                    + ("vhost-net" if Path("/dev/vhost-net").exists()
                       else "no vhost-net on this host (QEMU's virtio back end)"))
        return "bridge in softirq wherever it is raised"

    def stop(self):
        for ns in getattr(self, "guest_ns", []) + ([self.netns] if self.netns else []):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


SWITCHES = {c.name: c for c in (VswdSwitch, OvsSwitch, OvsFlowsSwitch, TestpmdSwitch,
                                KernelSwitch, VswdNoOffloadSwitch, VswdNoVringSwitch, VswdLoopSwitch,
                                VswdVlanSwitch, VswdVxlanSwitch, VhostlibSwitch, VringSwitch)}
# variants measured against plain L2: the name of the ratio, and the baseline (added to a run
# that has the variant)
VARIANTS = {"vswd-vlan": ("vlan/plain", "vswd-loop"), "vswd-vxlan": ("vxlan/plain", "vswd")}
