"""vfs create / list / destroy against the fake sysfs: VFs appear, settings go through ip link."""

import json
import os
import shutil

from fakehost import NIC, PF, assert_refused


def test_create_for_vfio(fake):
    proc = fake.run("vfs", "create", "--pf", "eth1", "--count", "4", "--mac-base",
                    "02:00:00:00:01:fe", "--vlan", "100", "--trust", "on", "--spoofchk", "off",
                    "--driver", "vfio-pci", check=True)
    vfs = fake.vfs()
    assert vfs == ["0000:01:10.0", "0000:01:10.1", "0000:01:10.2", "0000:01:10.3"]
    assert fake.read("bus", "pci", "devices", PF, "sriov_numvfs") == "4"
    assert fake.read("bus", "pci", "devices", PF, "sriov_drivers_autoprobe") == "0"
    assert [fake.driver(v) for v in vfs] == ["vfio-pci"] * 4
    for vf in vfs:
        assert os.readlink(os.path.join(fake.sys, "bus", "pci", "devices", vf, "physfn")) \
            .endswith(PF)
    assert fake.recorded() == [
        "ip link set eth1 vf 0 mac 02:00:00:00:01:fe vlan 100 trust on spoofchk off",
        "ip link set eth1 vf 1 mac 02:00:00:00:01:ff vlan 100 trust on spoofchk off",
        "ip link set eth1 vf 2 mac 02:00:00:00:02:00 vlan 100 trust on spoofchk off",
        "ip link set eth1 vf 3 mac 02:00:00:00:02:01 vlan 100 trust on spoofchk off",
    ]
    assert "4 VFs on vfio-pci" in proc.stdout


def test_autoprobe_gives_kernel_vf_driver(fake):
    fake.run("vfs", "create", "--pf", PF, "--count", "2", check=True)
    vfs = fake.vfs()
    assert [fake.driver(v) for v in vfs] == ["ixgbevf", "ixgbevf"]
    assert os.path.islink(os.path.join(fake.sys, "class", "net", "eth1v1"))
    assert fake.read("bus", "pci", "devices", PF, "sriov_drivers_autoprobe") == "1"
    assert fake.recorded() == []


def test_count_change_goes_through_zero(fake):
    """The fake kernel, like the real one, answers EBUSY to 4 -> 2 written directly."""
    fake.run("vfs", "create", "--pf", "eth1", "--count", "4", check=True)
    fake.run("vfs", "create", "--pf", "eth1", "--count", "2", check=True)
    assert len(fake.vfs()) == 2
    fake.run("vfs", "create", "--pf", "eth1", "--count", "2", check=True)  # no change
    assert len(fake.vfs()) == 2


def test_list_and_destroy(fake):
    fake.run("vfs", "create", "--pf", "eth1", "--count", "2", "--driver", "vfio-pci",
             check=True)
    data = json.loads(fake.run("vfs", "list", "--json", check=True).stdout)
    assert [(p["pci"], p["numvfs"], p["totalvfs"]) for p in data] == [(PF, 2, 8)]
    assert [(v["index"], v["driver"]) for v in data[0]["vfs"]] == [(0, "vfio-pci"),
                                                                   (1, "vfio-pci")]
    text = fake.run("vfs", "list", "--pf", "eth1", check=True).stdout
    assert "vfs=2/8" in text and "vf 1 0000:01:10.1 drv=vfio-pci" in text
    fake.run("vfs", "destroy", "--pf", "eth1", check=True)
    assert fake.vfs() == []
    assert not os.path.exists(os.path.join(fake.sys, "bus", "pci", "devices", "0000:01:10.0"))
    assert not os.path.exists(os.path.join(fake.sys, "kernel", "iommu_groups", "1152"))


def test_dry_run_changes_nothing(fake):
    before = fake.snapshot()
    proc = fake.run("vfs", "create", "--pf", "eth1", "--count", "2", "--mac-base",
                    "02:00:00:00:00:10", "--driver", "vfio-pci", "--dry-run", check=True)
    assert "dry-run: write '2' to" in proc.stdout
    assert "dry-run: write '0' to" in proc.stdout  # autoprobe
    assert "dry-run: run ip link set eth1 vf 1 mac 02:00:00:00:00:11" in proc.stdout
    assert fake.snapshot() == before
    assert fake.recorded() == []


def test_refuse_pf_without_sriov(fake):
    assert_refused(fake, ["vfs", "create", "--pf", "eth2", "--count", "2"], NIC, "no SR-IOV")
    assert_refused(fake, ["vfs", "destroy", "--pf", "eth2"], "no SR-IOV")


def test_refuse_count_above_total(fake):
    assert_refused(fake, ["vfs", "create", "--pf", "eth1", "--count", "9"], "sriov_totalvfs is 8")


def test_refuse_bad_settings(fake):
    base = ["vfs", "create", "--pf", "eth1", "--count", "2"]
    assert_refused(fake, base + ["--mac-base", "02:00:00:00:01"], "not a MAC address")
    assert_refused(fake, base + ["--mac-base", "01:00:00:00:00:01"], "multicast")
    assert_refused(fake, base + ["--vlan", "5000"], "VLAN must be 0-4095")
    assert_refused(fake, base + ["--trust", "maybe"], "--trust")
    assert_refused(fake, ["vfs", "create", "--pf", "eth1", "--count", "-1"], "negative")
    assert_refused(fake, ["vfs", "create", "--pf", "eth7", "--count", "1"], "eth7")


def test_refuse_vf_as_pf(fake):
    fake.run("vfs", "create", "--pf", "eth1", "--count", "1", check=True)
    assert_refused(fake, ["vfs", "create", "--pf", "eth1v0", "--count", "1"], "is a VF")


def test_refuse_vfio_vfs_without_iommu(fake):
    shutil.rmtree(os.path.join(fake.sys, "kernel", "iommu_groups"))
    for addr in (PF, NIC):
        os.unlink(os.path.join(fake.sys, "bus", "pci", "devices", addr, "iommu_group"))
    assert_refused(fake, ["vfs", "create", "--pf", "eth1", "--count", "2", "--driver",
                          "vfio-pci"], "IOMMU is off")
