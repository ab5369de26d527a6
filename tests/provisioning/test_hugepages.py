"""hugepages against the fake sysfs (per node, spread, shortfall, persist) and on this machine."""

import json
import os
import shutil
import subprocess

import pytest

from fakehost import VSW_HOST, Fake, assert_refused

NODE = ("devices", "system", "node")
GLOBAL_2M = os.path.join("kernel", "mm", "hugepages", "hugepages-2048kB", "nr_hugepages")


def node_count(fake, node, size="2048kB"):
    return int(fake.read(*NODE, f"node{node}", "hugepages", f"hugepages-{size}", "nr_hugepages"))


def test_reserve_on_one_node(fake):
    proc = fake.run("hugepages", "--size", "2M", "--count", "64", "--node", "1", check=True)
    assert (node_count(fake, 0), node_count(fake, 1)) == (0, 64)
    assert fake.read(GLOBAL_2M) == "64"
    assert "hugepages 2M node1: 64" in proc.stdout
    assert fake.recorded() == ["mkdir -p /dev/hugepages",
                               "mount -t hugetlbfs -o pagesize=2M nodev /dev/hugepages"]


def test_reserve_spread_and_already_mounted(fake):
    fake.tree.set_proc("mounts", "nodev /dev/hugepages hugetlbfs rw,relatime,pagesize=2M 0 0")
    fake.run("hugepages", "--size", "2MB", "--count", "10", check=True)
    assert (node_count(fake, 0), node_count(fake, 1)) == (5, 5)
    assert fake.recorded() == []


def test_1g_pages_and_no_mount(fake):
    fake.run("hugepages", "--size", "1G", "--count", "2", "--node", "0", "--no-mount",
             check=True)
    assert node_count(fake, 0, "1048576kB") == 2
    assert fake.recorded() == []


def test_shortfall_compacts_and_retries(fake):
    fake.tree.config.update(hugepage_limit={"node0/2048kB": 40}, compaction_gain=30)
    fake.tree.save()
    proc = fake.run("hugepages", "--size", "2M", "--count", "60", "--node", "0", "--no-mount",
                    check=True)
    assert "compacting memory and retrying" in proc.stdout
    assert node_count(fake, 0) == 60


def test_shortfall_reports_missing_and_restores(fake):
    fake.tree.config.update(hugepage_limit={"node0/2048kB": 40}, compaction_gain=5)
    fake.tree.save()
    fake.run("hugepages", "--size", "2M", "--count", "8", "--node", "0", "--no-mount",
             check=True)
    before = fake.snapshot()
    proc = fake.run("hugepages", "--size", "2M", "--count", "100", "--node", "0",
                    "--no-mount")
    assert proc.returncode == 1
    assert "only 45 of 100" in proc.stderr and "55 missing" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert fake.snapshot() == before  # pool back at 8


def test_persist_2m_writes_tmpfiles(fake):
    proc = fake.run("hugepages", "--size", "2M", "--count", "16", "--persist", "--no-mount",
                    check=True)
    with open(os.path.join(fake.etc, "tmpfiles.d", "80-vswkit-hugepages.conf")) as f:
        assert "w /sys/devices/system/node/node1/hugepages/hugepages-2048kB/nr_hugepages " \
               "- - - - 8\n" in f.read()
    assert "no reboot needed" in proc.stdout


def test_persist_1g_writes_boot_config_and_says_reboot(fake):
    proc = fake.run("hugepages", "--size", "1G", "--count", "4", "--node", "1", "--persist",
                    "--no-mount", check=True)
    with open(os.path.join(fake.etc, "default", "grub.d", "80-vswkit-hugepages.cfg")) as f:
        text = f.read()
    assert '"$GRUB_CMDLINE_LINUX_DEFAULT hugepagesz=1G hugepages=1:4"' in text
    assert "reboot needed" in proc.stdout


def test_kernel_without_numa_apply_and_undo(tmp_path):
    """No /sys/devices/system/node: the global pool is reserved and restored."""
    fake = Fake(tmp_path)
    shutil.rmtree(os.path.join(fake.sys, *NODE))
    plan = os.path.join(fake.base, "plan.json")
    with open(plan, "w") as f:
        json.dump({"hugepages": {"size": "2M", "count": 6, "mount": False}}, f)
    before = fake.snapshot()
    fake.run("apply", plan, "--state", fake.state, check=True)
    assert fake.read(GLOBAL_2M) == "6"
    data = {r["name"]: r for r in json.loads(fake.run("check", "--json").stdout)}
    assert data["hugepages-2M-all"]["detail"] == "6 pages, 6 free"
    fake.run("undo", "--state", fake.state, check=True)
    assert fake.snapshot() == before | {"state": ("dir",)}


def test_dry_run_changes_nothing(fake):
    before = fake.snapshot()
    proc = fake.run("hugepages", "--size", "2M", "--count", "8", "--persist", "--dry-run",
                    check=True)
    assert "dry-run: write '8' to" in proc.stdout
    assert "dry-run: run mount -t hugetlbfs" in proc.stdout
    assert "80-vswkit-hugepages.conf" in proc.stdout
    assert fake.snapshot() == before
    assert fake.recorded() == []


def test_refuse_bad_input(fake):
    assert_refused(fake, ["hugepages", "--size", "4M", "--count", "8"], "4M", "2M or 1G")
    assert_refused(fake, ["hugepages", "--size", "2M", "--count", "8", "--node", "5"],
                   "no NUMA node 5")
    assert_refused(fake, ["hugepages", "--size", "2M", "--count", "x"], "--count")
    assert_refused(fake, ["hugepages", "--count", "8"], "--size")


# --- this machine's real hugepages -------------------------------------------------------

REAL_2M = "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"


def read_int(path):
    with open(path) as f:
        return int(f.read())


@pytest.mark.skipif(os.geteuid() != 0 or not os.path.exists(REAL_2M),
                    reason="needs root and 2M hugepages")
def test_real_hugepages_raise_and_restore():
    """Raise the real 2M pool by a few pages, read it back, restore exactly what was there."""
    before_sysctl = read_int("/proc/sys/vm/nr_hugepages")
    before = read_int(REAL_2M)
    try:
        proc = subprocess.run([VSW_HOST, "hugepages", "--size", "2M", "--count",
                               str(before + 4), "--no-mount"], capture_output=True, text=True,
                              timeout=120)
        assert proc.returncode == 0, proc.stderr
        assert read_int(REAL_2M) == before + 4
        assert "hugepages 2M node0:" in proc.stdout
        data = json.loads(subprocess.run([VSW_HOST, "check", "--json"], capture_output=True,
                                         text=True, timeout=120).stdout)
        pools = {r["name"]: r for r in data}
        assert pools["hugepages-2M-node0"]["status"] == "ok"
    finally:
        # restore exactly, unless another suite changed the pool meanwhile: then it is theirs,
        # and writing our old value could take pages from under them
        if read_int(REAL_2M) == before + 4:
            with open(REAL_2M, "w") as f:
                f.write(str(before))
    assert read_int(REAL_2M) == before
    assert read_int("/proc/sys/vm/nr_hugepages") == before_sysctl
