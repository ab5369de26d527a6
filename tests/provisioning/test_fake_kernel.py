"""The fake kernel fails where the real one fails (issue 15, section 2): otherwise the tests
built on it prove nothing there. In-process, through hostfs.Host as vsw-host writes."""

import contextlib
import os

import pytest

from fakehost import NIC, PF, SHARED
from vswhost.errors import VswError
from vswhost.hostfs import Host


@contextlib.contextmanager
def refused(fake, match):
    """The write or command fails with MATCH and leaves the tree as it was."""
    before = fake.snapshot()
    with pytest.raises(VswError, match=match):
        yield
    assert fake.snapshot() == before


def host(fake):
    return Host(fake.sys, fake.proc, fake.etc, out=open(os.devnull, "w"))


def dev(fake, addr, name):
    return os.path.join(fake.sys, "bus", "pci", "devices", addr, name)


def probe(fake, addr, driver):
    h = host(fake)
    h.write(dev(fake, addr, "driver_override"), driver)
    h.write(os.path.join(fake.sys, "bus", "pci", "drivers", fake.driver(addr), "unbind"), addr)
    h.write(os.path.join(fake.sys, "bus", "pci", "drivers_probe"), addr)  # succeeds regardless
    return h


def test_read_only_attributes_refuse_writes(fake):
    for name in ("vendor", "class", "sriov_totalvfs", "numa_node"):
        with refused(fake, "Permission denied"):
            host(fake).write(dev(fake, PF, name), "1")


def test_refused_probe_leaves_the_device_unbound(fake):
    fake.tree.configure(probe_refuse={"vfio-pci": [NIC]})
    h = probe(fake, NIC, "vfio-pci")
    assert fake.driver(NIC) is None
    with refused(fake, "No such device"):
        h.write(os.path.join(fake.sys, "bus", "pci", "drivers", "vfio-pci", "bind"), NIC)


def test_vfio_refuses_a_device_without_group(fake):
    os.unlink(dev(fake, NIC, "iommu_group"))
    h = probe(fake, NIC, "vfio-pci")
    assert fake.driver(NIC) is None
    with refused(fake, "Invalid argument"):
        h.write(os.path.join(fake.sys, "bus", "pci", "drivers", "vfio-pci", "bind"), NIC)


def test_kernel_driver_refused_in_a_group_vfio_owns(fake):
    fake.run("bind", *SHARED, "--driver", "vfio-pci", check=True)
    fake.run("unbind", SHARED[1], check=True)
    fake.tree.open_vfio(99, "dpdk-testpmd", 3)
    h = host(fake)
    with refused(fake, "busy"):
        h.write(os.path.join(fake.sys, "bus", "pci", "drivers", "i40e", "bind"), SHARED[1])
    with refused(fake, "would block"):  # vfio's remove() waits for the user
        h.write(os.path.join(fake.sys, "bus", "pci", "drivers", "vfio-pci", "unbind"), SHARED[0])


def test_sriov_teardown_blocks_while_a_vf_is_held_and_enable_can_fall_short(fake):
    fake.tree.configure(vf_enable_limit={PF: 3}, no_acs=[PF])
    h = host(fake)
    h.write(dev(fake, PF, "sriov_numvfs"), "5")
    assert fake.read("bus", "pci", "devices", PF, "sriov_numvfs") == "3"
    assert len(fake.vfs()) == 3
    assert {os.readlink(dev(fake, vf, "iommu_group"))[-2:] for vf in fake.vfs()} == {"/1"}
    with refused(fake, "Device or resource busy"):
        h.write(dev(fake, PF, "sriov_numvfs"), "2")  # N -> M
    fake.tree.open_vfio(5, "qemu-system-x86", 1)
    with refused(fake, "would block"):
        h.write(dev(fake, PF, "sriov_numvfs"), "0")
    assert len(fake.vfs()) == 3


def test_hugepages_in_use_and_1g_limits(fake):
    fake.tree.configure(hugepage_limit={"node0/1048576kB": 1}, compaction_gain=50)
    h = host(fake)
    base = os.path.join(fake.sys, "devices", "system", "node", "node0", "hugepages")
    h.write(os.path.join(base, "hugepages-2048kB", "nr_hugepages"), "10")
    fake.tree.use_hugepages(0, "2048kB", 4)
    h = host(fake)  # a new process reads the fake's configuration anew
    assert fake.read("devices", "system", "node", "node0", "hugepages", "hugepages-2048kB",
                     "free_hugepages") == "6"
    h.write(os.path.join(base, "hugepages-2048kB", "nr_hugepages"), "0")
    assert fake.read("devices", "system", "node", "node0", "hugepages", "hugepages-2048kB",
                     "nr_hugepages") == "4"  # the pages in use stay
    h.write(os.path.join(fake.proc, "sys", "vm", "compact_memory"), "1")
    h.write(os.path.join(base, "hugepages-1048576kB", "nr_hugepages"), "4")
    assert fake.read("devices", "system", "node", "node0", "hugepages", "hugepages-1048576kB",
                     "nr_hugepages") == "1"


def test_commands_fail_as_the_real_ones(fake):
    fake.tree.configure(vf_unsupported=["spoofchk"], mount_fails=["/mnt/x"])
    h = host(fake)
    with refused(fake, "Module igb_uio not found"):
        h.runner.run(["modprobe", "igb_uio"])
    with refused(fake, "permission denied"):
        h.runner.run(["mount", "-t", "hugetlbfs", "nodev", "/mnt/x"])
    with refused(fake, "not mounted"):
        h.runner.run(["umount", "/dev/hugepages"])
    h.write(dev(fake, PF, "sriov_numvfs"), "1")
    with refused(fake, "Operation not supported"):
        h.runner.run(["ip", "link", "set", "eth1", "vf", "0", "spoofchk", "off"])
    with refused(fake, "Invalid argument"):
        h.runner.run(["ip", "link", "set", "eth1", "vf", "1", "mac", "02:00:00:00:00:01"])
    h.runner.run(["modprobe", "vfio-pci"])  # loadable: it appears
    assert os.path.isdir(os.path.join(fake.sys, "bus", "pci", "drivers", "vfio-pci"))


def test_proc_mounts_changes_after_a_mount(fake):
    h = host(fake)
    h.runner.run(["mount", "-t", "hugetlbfs", "-o", "pagesize=1G", "nodev", "/dev/hugepages1G"])
    with open(os.path.join(fake.proc, "mounts")) as f:
        assert "nodev /dev/hugepages1G hugetlbfs rw,relatime,pagesize=1G 0 0" in f.read()
    h.runner.run(["umount", "/dev/hugepages1G"])
    with open(os.path.join(fake.proc, "mounts")) as f:
        assert "hugepages1G" not in f.read()
