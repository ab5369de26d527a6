"""VFs against the kernel's rules (issue 15, sections 1 and 2): a VF held through vfio blocks the
teardown, undo puts per-VF settings back, a partial enable is reported at once, drivers that
refuse settings, PF and VFs in one IOMMU group."""

import json
import os
import time

from fakehost import PF, assert_refused, assert_rolled_back

VF0 = "0000:01:10.0"


def vf_settings(fake):
    path = os.path.join(fake.sys, "bus", "pci", "devices", PF, ".fake-vf-settings.json")
    with open(path) as f:
        return json.load(f)


def test_teardown_refused_while_qemu_holds_a_vf(fake):
    fake.run("vfs", "create", "--pf", "eth1", "--count", "2", "--driver", "vfio-pci", check=True)
    group = os.path.basename(os.readlink(os.path.join(fake.sys, "bus", "pci", "devices", VF0,
                                                      "iommu_group")))
    fake.tree.open_vfio(777, "qemu-system-x86", group)
    for argv in (["vfs", "destroy", "--pf", "eth1"],
                 ["vfs", "create", "--pf", "eth1", "--count", "4"]):
        assert_refused(fake, argv, VF0, "777 (qemu-system-x86)")


def test_undo_with_unchanged_count_restores_vf_settings(fake):
    fake.run("vfs", "create", "--pf", "eth1", "--count", "2", "--mac-base", "02:00:00:00:00:10",
             "--vlan", "5", check=True)
    before = fake.snapshot()
    plan = os.path.join(fake.base, "plan.json")
    with open(plan, "w") as f:
        json.dump({"vfs": {"pf": "eth1", "count": 2, "mac_base": "02:00:00:00:00:20",
                           "vlan": 7, "trust": "on", "spoofchk": "off"}}, f)
    before["plan.json"] = fake.snapshot()["plan.json"]
    fake.run("apply", plan, "--state", fake.state, check=True)
    assert vf_settings(fake)["1"] == {"vf": 1, "address": "02:00:00:00:00:21", "vlan": 7,
                                      "trust": True, "spoofchk": False}
    fake.run("undo", "--state", fake.state, check=True)
    assert vf_settings(fake)["1"] == {"vf": 1, "address": "02:00:00:00:00:11", "vlan": 5,
                                      "trust": False, "spoofchk": True}
    assert fake.snapshot() == before | {"state": ("dir",)}


def test_partial_enable_is_reported_at_once(fake):
    fake.tree.configure(vf_enable_limit={PF: 2})
    start = time.monotonic()
    assert_rolled_back(fake, ["vfs", "create", "--pf", "eth1", "--count", "4", "--timeout",
                              "30"], "enabled 2 of 4")
    assert time.monotonic() - start < 10


def test_driver_refusing_trust_is_rolled_back(fake):
    fake.tree.configure(vf_unsupported=["trust"])
    assert_rolled_back(fake, ["vfs", "create", "--pf", "eth1", "--count", "2", "--trust", "on"],
                       "Operation not supported")


def test_pf_and_vfs_in_one_group_without_acs(fake):
    fake.tree.configure(no_acs=[PF])
    assert_rolled_back(fake, ["vfs", "create", "--pf", "eth1", "--count", "2", "--driver",
                              "vfio-pci"], "IOMMU group 1", f"{PF} (ixgbe)")


def test_persist_writes_a_link_file_and_undo_removes_it(fake):
    plan = os.path.join(fake.base, "plan.json")
    with open(plan, "w") as f:
        json.dump({"vfs": {"pf": "eth1", "count": 2, "mac_base": "02:00:00:00:00:20",
                           "vlan": 7, "trust": "on", "spoofchk": "off", "driver": "vfio-pci",
                           "persist": True}}, f)
    before = fake.snapshot()
    fake.run("apply", plan, "--state", fake.state, check=True)
    with open(os.path.join(fake.etc, "systemd", "network",
                           "80-vswkit-sriov-0000-01-00.0.link")) as f:
        text = f.read()
    assert "[Match]\nPath=pci-0000:01:00.0\n" in text
    assert "SR-IOVVirtualFunctions=2\n" in text
    assert "NamePolicy=keep kernel database onboard slot path" in text  # the PF keeps its name
    assert "[SR-IOV]\nVirtualFunction=1\nMACAddress=02:00:00:00:00:21\nVLANId=7\nTrust=yes\n" \
           "MACSpoofCheck=no\n" in text
    with open(os.path.join(fake.etc, "driverctl.d", "pci-0000:01:10.1")) as f:
        assert f.read() == "vfio-pci\n"
    fake.run("undo", "--state", fake.state, check=True)
    assert fake.snapshot() == before | {"state": ("dir",)}


def test_destroy_persist_removes_the_link_file(fake):
    fake.run("vfs", "create", "--pf", "eth1", "--count", "2", "--persist", check=True)
    link = os.path.join(fake.etc, "systemd", "network", "80-vswkit-sriov-0000-01-00.0.link")
    assert os.path.exists(link)
    fake.run("vfs", "destroy", "--pf", "eth1", check=True)
    assert os.path.exists(link)  # without --persist the VFs come back at boot
    fake.run("vfs", "destroy", "--pf", "eth1", "--persist", check=True)
    assert not os.path.exists(link)
