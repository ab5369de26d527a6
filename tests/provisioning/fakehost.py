"""Test helpers for vsw-host: a fake host (sysfs/proc tree), a black-box runner, snapshots.

The fake tree is built with provisioning/vswhost/fake_tree.py (the test double): the marker
file DIR/.vswkit-fake-sysfs makes vsw-host hand its sysfs writes to fake_kernel.py and its host
commands (ip link, mount, modprobe) to fake_commands.py, which play them against the tree; every
command is also recorded to a file, never run on this machine.
"""

import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROVISIONING = os.path.join(REPO, "provisioning")
VSW_HOST = os.path.join(PROVISIONING, "vsw-host")
sys.path.insert(0, PROVISIONING)

from vswhost.fake_tree import FakeTree  # noqa: E402

PF = "0000:01:00.0"        # ixgbe PF eth1, SR-IOV (8 VFs), own IOMMU group
NIC = "0000:02:00.0"       # i40e eth2, no SR-IOV, own group
SHARED = ("0000:03:00.0", "0000:03:00.1")  # i40e eth3/eth4 sharing IOMMU group 3
MGMT = "0000:00:19.0"      # e1000e eth0 with the default route
BRIDGED = "0000:04:00.0"   # i40e eth5, member of bridge br0
NVME = "0000:00:1f.0"      # not a network device


class Fake:
    """A fake host under tmp_path and a way to run vsw-host against it."""

    def __init__(self, base):
        self.base = str(base)
        self.tree = FakeTree(self.base, nodes=2)
        self.sys, self.proc = self.tree.sys, self.tree.proc
        self.etc = os.path.join(self.base, "etc")
        self.state = os.path.join(self.base, "state", "host-state.json")
        self.commands = os.path.join(self.base, "commands.log")
        os.makedirs(self.etc)
        t = self.tree
        for name, ids in (("ixgbe", ["8086:10fb"]), ("ixgbevf", ["8086:10ed"]),
                          ("i40e", ["8086:1572"]), ("e1000e", ["8086:15b7"]),
                          ("nvme", ["144d:a808"]), ("vfio-pci", [])):
            t.add_driver(name, ids)
        t.add_module("vfio")
        t.add_nic(PF, "8086", "10fb", driver="ixgbe", iface="eth1", group=1, totalvfs=8,
                  vf_device="10ed")
        t.add_nic(NIC, "8086", "1572", driver="i40e", iface="eth2", group=2, numa=1)
        t.add_nic(SHARED[0], "8086", "1572", driver="i40e", iface="eth3", group=3)
        t.add_nic(SHARED[1], "8086", "1572", driver="i40e", iface="eth4", group=3)
        t.add_nic(MGMT, "8086", "15b7", driver="e1000e", iface="eth0", group=4)
        t.add_nic(BRIDGED, "8086", "1572", driver="i40e", iface="eth5", group=5)
        t.add_nic(NVME, "144d", "a808", driver="nvme", group=6, cls="010802")
        t.add_route("eth0", default=True)
        t.set_master("eth5", "br0")

    def args(self):
        return ["--sysfs-root", self.sys, "--proc-root", self.proc, "--etc-root", self.etc]

    def run(self, *argv, check=None):
        """Run vsw-host as a subprocess; check=True/False asserts success/failure."""
        env = dict(os.environ, VSWHOST_RECORD=self.commands)
        proc = subprocess.run([VSW_HOST, *argv, *self.args()], capture_output=True, text=True,
                              env=env, timeout=60)
        if check is True:
            assert proc.returncode == 0, proc.stderr + proc.stdout
        elif check is False:
            assert proc.returncode != 0, proc.stdout
        return proc

    def recorded(self):
        try:
            with open(self.commands) as f:
                return f.read().splitlines()
        except FileNotFoundError:
            return []

    def snapshot(self):
        """Everything under the fake roots and etc: file contents, link targets, dirs."""
        return snapshot(self.base, skip=(self.commands,))

    # small readers for assertions
    def read(self, *parts):
        with open(os.path.join(self.sys, *parts)) as f:
            return f.read().strip()

    def driver(self, addr):
        link = os.path.join(self.sys, "bus", "pci", "devices", addr, "driver")
        return os.path.basename(os.readlink(link)) if os.path.islink(link) else None

    def vfs(self, pf=PF):
        base = os.path.join(self.sys, "bus", "pci", "devices", pf)
        links = sorted((n for n in os.listdir(base) if n.startswith("virtfn")),
                       key=lambda n: int(n[6:]))
        return [os.path.basename(os.readlink(os.path.join(base, n))) for n in links]


def snapshot(base, skip=()):
    out = {}
    for root, dirs, files in os.walk(base):
        for name in dirs + files:
            path = os.path.join(root, name)
            if path in skip:
                continue
            rel = os.path.relpath(path, base)
            if os.path.islink(path):
                out[rel] = ("link", os.readlink(path))
            elif os.path.isdir(path):
                out[rel] = ("dir",)
            else:
                with open(path, "rb") as f:  # binary: a device's config space
                    out[rel] = ("file", f.read().decode("utf-8", "backslashreplace"))
    return out


def assert_refused(fake, argv, *words, commands_too=True):
    """vsw-host refuses: non-zero exit, ONE stderr line naming the problem, nothing changed.
    commands_too=False for a command that was rolled back (its undo commands are recorded)."""
    before = fake.snapshot()
    commands = fake.recorded()
    proc = fake.run(*argv)
    assert proc.returncode != 0, proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("vsw-host: error: "), lines[0]
    for word in words:
        assert word in lines[0], lines[0]
    assert fake.snapshot() == before
    if commands_too:
        assert fake.recorded() == commands
    return lines[0]


def assert_rolled_back(fake, argv, *words):
    return assert_refused(fake, argv, *words, commands_too=False)
