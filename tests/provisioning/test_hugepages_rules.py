"""hugepages against the kernel's rules (issue 15, section 1): what each persisted file means at
boot, every node and size kept, the mount persisted, undo after a reboot or while pages and the
mount are in use, other page sizes in /proc/mounts."""

import json
import os

from fakehost import assert_refused, assert_rolled_back

TMPFILES = ("tmpfiles.d", "80-vswkit-hugepages.conf")
GRUB = ("default", "grub.d", "80-vswkit-hugepages.cfg")
NODE_2M = "/sys/devices/system/node/node{}/hugepages/hugepages-2048kB/nr_hugepages"


def etc(fake, parts):
    path = os.path.join(fake.etc, *parts)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return f.read()


def lines(text):
    return [line for line in (text or "").splitlines() if line and not line.startswith("#")]


def test_2m_persist_does_not_depend_on_the_default_size(fake):
    """vm.nr_hugepages is the default size's pool: with default_hugepagesz=1G it asks for GiBs."""
    fake.tree.set_proc("meminfo", "MemTotal: 24000000 kB\nHugepagesize:    1048576 kB\n")
    fake.run("hugepages", "--size", "2M", "--count", "16", "--persist", "--no-mount", check=True)
    assert not os.path.exists(os.path.join(fake.etc, "sysctl.d"))
    assert lines(etc(fake, TMPFILES)) == [f"w {NODE_2M.format(0)} - - - - 8",
                                          f"w {NODE_2M.format(1)} - - - - 8"]


def test_2m_per_node_placement_is_kept(fake):
    fake.run("hugepages", "--size", "2M", "--count", "64", "--node", "1", "--persist",
             "--no-mount", check=True)
    assert lines(etc(fake, TMPFILES)) == [f"w {NODE_2M.format(0)} - - - - 0",
                                          f"w {NODE_2M.format(1)} - - - - 64"]


def test_1g_persist_keeps_every_node_and_not_the_default_size(fake):
    fake.run("hugepages", "--size", "1G", "--count", "2", "--node", "0", "--persist",
             "--no-mount", check=True)
    fake.run("hugepages", "--size", "1G", "--count", "4", "--node", "1", "--persist",
             "--no-mount", check=True)
    fake.run("hugepages", "--size", "2M", "--count", "1024", "--persist", "--no-mount",
             check=True)
    grub = etc(fake, GRUB)
    assert "default_hugepagesz" not in grub
    assert 'hugepagesz=1G hugepages=0:2,1:4"' in grub
    assert len(lines(etc(fake, TMPFILES))) == 2  # 2M pages stay 2M pages


def test_1g_on_a_kernel_without_numa(fake):
    import shutil
    shutil.rmtree(os.path.join(fake.sys, "devices", "system", "node"))
    fake.run("hugepages", "--size", "1G", "--count", "3", "--persist", "--no-mount", check=True)
    assert 'hugepagesz=1G hugepages=3"' in etc(fake, GRUB)


def test_mount_is_persisted_and_undone(fake):
    plan = os.path.join(fake.base, "plan.json")
    with open(plan, "w") as f:
        json.dump({"hugepages": {"size": "1G", "count": 2, "persist": True}}, f)
    before = fake.snapshot()
    fake.run("apply", plan, "--state", fake.state, check=True)
    unit = etc(fake, ("systemd", "system", "dev-hugepages1G.mount"))
    assert "Where=/dev/hugepages1G" in unit and "Options=pagesize=1G" in unit
    assert os.readlink(os.path.join(fake.etc, "systemd", "system", "local-fs.target.wants",
                                    "dev-hugepages1G.mount")) == "../dev-hugepages1G.mount"
    with open(os.path.join(fake.proc, "mounts")) as f:
        assert " /dev/hugepages1G hugetlbfs " in f.read()  # the fake's mount shows there
    fake.run("undo", "--state", fake.state, check=True)
    assert fake.snapshot() == before | {"state": ("dir",)}


def apply_2m(fake, count=8):
    fake.run("apply", write_plan(fake, count), "--state", fake.state, check=True)


def write_plan(fake, count=8):
    plan = os.path.join(fake.base, "plan.json")
    with open(plan, "w") as f:
        json.dump({"hugepages": {"size": "2M", "count": count, "node": 0}}, f)
    return plan


def test_undo_after_a_reboot_took_the_mount(fake):
    write_plan(fake)
    before = fake.snapshot()
    apply_2m(fake)
    fake.tree.set_proc("mounts", "sysfs /sys sysfs rw 0 0\n")  # a reboot: not mounted
    fake.run("undo", "--state", fake.state, check=True)
    assert fake.snapshot() == before | {"state": ("dir",)}


def test_undo_while_dpdk_holds_the_mount_finishes_and_says_so(fake):
    apply_2m(fake)
    fake.tree.configure(mount_busy=["/dev/hugepages"])
    proc = fake.run("undo", "--state", fake.state, check=True)
    assert "/dev/hugepages is busy" in proc.stdout and "left mounted" in proc.stdout
    assert not os.path.exists(fake.state)
    assert fake.read("devices", "system", "node", "node0", "hugepages", "hugepages-2048kB",
                     "nr_hugepages") == "0"


def test_undo_with_pages_in_use_fails_clearly_and_can_be_retried(fake):
    write_plan(fake)
    before = fake.snapshot()
    apply_2m(fake)
    fake.tree.use_hugepages(0, "2048kB", 6)
    line = assert_rolled_back(fake, ["undo", "--state", fake.state], "6 of the 8", "in use")
    assert os.path.exists(fake.state)  # the step stays recorded
    fake.tree.use_hugepages(0, "2048kB", 0)  # the DPDK process exited
    fake.run("undo", "--state", fake.state, check=True)
    after = fake.snapshot()
    for snap in (before, after):
        snap.pop("sys/.vswkit-fake-sysfs")  # the fake's configuration changed meanwhile
    assert after == before | {"state": ("dir",)}
    assert "run undo again" in line


def test_other_page_sizes_in_mounts_do_not_abort_check(fake):
    fake.tree.set_proc("mounts", "nodev /mnt/huge64k hugetlbfs rw,pagesize=64K 0 0\n"
                                 "nodev /dev/hugepages hugetlbfs rw,pagesize=2M 0 0\n")
    proc = fake.run("check", "--json")
    data = {r["name"]: r for r in json.loads(proc.stdout)}
    assert "/mnt/huge64k (64K)" in data["hugetlbfs"]["detail"]
    fake.run("hugepages", "--size", "2M", "--count", "2", check=True)
    assert fake.recorded() == []  # 2M is mounted already


def test_1g_pages_limited_at_run_time(fake):
    """Compaction rarely frees 1 GiB runs: the fake keeps 1G pages at their limit."""
    fake.tree.configure(hugepage_limit={"node0/1048576kB": 1}, compaction_gain=100)
    assert_rolled_back(fake, ["hugepages", "--size", "1G", "--count", "4", "--node", "0",
                              "--no-mount"], "only 1 of 4", "--persist")


def test_refuse_pool_shrink_below_pages_in_use(fake):
    fake.run("hugepages", "--size", "2M", "--count", "8", "--node", "0", "--no-mount",
             check=True)
    fake.tree.use_hugepages(0, "2048kB", 5)
    assert_refused(fake, ["hugepages", "--size", "2M", "--count", "2", "--node", "0",
                          "--no-mount"], "5 of the 8", "in use")


def test_an_older_sysctl_file_is_replaced_and_undo_puts_it_back(fake):
    legacy = os.path.join(fake.etc, "sysctl.d", "80-vswkit-hugepages.conf")
    os.makedirs(os.path.dirname(legacy))
    with open(legacy, "w") as f:
        f.write("# written by vsw-host hugepages --persist\nvm.nr_hugepages = 1024\n")
    plan = os.path.join(fake.base, "plan.json")
    with open(plan, "w") as f:
        json.dump({"hugepages": {"size": "2M", "count": 8, "persist": True, "mount": False}}, f)
    before = fake.snapshot()
    proc = fake.run("apply", plan, "--state", fake.state, check=True)
    assert f"removed {legacy}" in proc.stdout and not os.path.exists(legacy)
    fake.run("undo", "--state", fake.state, check=True)
    assert fake.snapshot() == before | {"state": ("dir",)}
