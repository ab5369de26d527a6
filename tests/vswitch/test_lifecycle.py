"""vswd's life: a clean stop on SIGINT/SIGTERM/SIGHUP (also during start-up), a stop that
cannot hang, several PMD cores, the CPUs it is allowed."""
import os
import re
import signal
import subprocess
from pathlib import Path

import pytest

from harness import BUILD, Proc, Vswd, uid, wait_for


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_signal_stops_cleanly_and_leaves_nothing(hugepages, tmp_path, sig):
    v = Vswd(tmp_path).start()
    v.ctl("port", "add", "p", "vhost", f"path={tmp_path / 'p.sock'}")
    v.ctl("port", "add", f"vtap{uid()}", "tap")
    assert (tmp_path / "p.sock").exists() and any(Path("/dev/hugepages").glob(f"{v.prefix}map_*"))
    rc = v.proc.stop(sig=sig)
    assert rc == 0, v.proc.output()
    assert not v.ctl_path.exists() and not (tmp_path / "p.sock").exists()
    assert not list(Path("/dev/hugepages").glob(f"{v.prefix}map_*"))
    assert not Path(f"/var/run/dpdk/{v.prefix}").exists()


def test_two_pmd_cores_share_the_rx_queues(vswd_factory, netns):
    v = vswd_factory(cores="0,1")
    a, b = netns("10.65.0.1/24"), netns("10.65.0.2/24")
    a.attach(v, "a")
    b.attach(v, "b")
    r = a.run(f"ping -c 3 -i 0.2 -W 2 {b.addr}", check=False)
    assert r.returncode == 0, r.stdout
    pmds = v.stats()["pmds"]
    assert len(pmds) == 2
    assert all(p["packets"] > 0 for p in pmds)      # a's queue on one PMD, b's on the other


def leaves_nothing(v):
    assert not v.ctl_path.exists()
    for mnt in huge_mounts():
        assert not list(Path(mnt).glob(f"{v.prefix}map_*")), mnt
    assert not Path(f"/var/run/dpdk/{v.prefix}").exists()


def huge_mounts():
    return [l.split()[1] for l in open("/proc/mounts") if l.split()[2] == "hugetlbfs"]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_signal_during_start_up_stops_cleanly(hugepages, tmp_path, sig):
    """A signal while the EAL is still starting (its runtime directory just made): a clean
    exit 0, no files left."""
    v = Vswd(tmp_path)
    v.proc = Proc(v.argv(), "vswd")
    rundir = Path(f"/var/run/dpdk/{v.prefix}")
    wait_for(lambda: rundir.exists() or not v.proc.alive(), 60, interval=0.002,
             what="the EAL to start")
    assert not v.ready(), "too late: vswd was already up"
    os.kill(v.proc.pid, sig)
    assert v.proc.wait(60) == 0, v.proc.output()
    leaves_nothing(v)


def test_second_signal_exits_at_once_and_leaves_nothing(hugepages, tmp_path):
    v = Vswd(tmp_path).start()
    v.ctl("port", "add", "p", "vhost", f"path={tmp_path / 'p.sock'}")
    os.kill(v.proc.pid, signal.SIGTERM)
    os.kill(v.proc.pid, signal.SIGTERM)  # forced, unless the first stop was already done
    rc = v.proc.wait(60)
    assert rc in (0, 128 + signal.SIGTERM), v.proc.output()
    leaves_nothing(v)


def test_a_secondary_dead_with_a_dpdk_lock_does_not_hang_the_stop(hugepages, tmp_path):
    """A secondary (as dpdk-dumpcap that could not map vswd's memory) died holding the shared
    memory lock: the EAL's cleanup would wait for ever; the stop's watchdog exits within its
    10 s, says why in one line, and leaves nothing."""
    v = Vswd(tmp_path).start()
    v.ctl("port", "add", "p", "vhost", f"path={tmp_path / 'p.sock'}")
    r = subprocess.run([str(BUILD / "tests" / "tools" / "dead_secondary"), "--file-prefix",
                        v.prefix], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    rc = v.proc.stop(timeout=60)  # a SIGKILL after 60 s would give -9
    assert rc == 1, v.proc.output()
    assert "vswd: stop stuck for 10 s" in v.proc.output()
    leaves_nothing(v)
    assert not (tmp_path / "p.sock").exists()


def thread_cpus(pid):
    """{thread name: its allowed CPUs} of a process."""
    out = {}
    for t in Path(f"/proc/{pid}/task").iterdir():
        name = (t / "comm").read_text().strip()
        cpus = re.search(r"Cpus_allowed_list:\s*(\S+)", (t / "status").read_text()).group(1)
        out[name] = cpus
    return out


@pytest.mark.skipif(os.cpu_count() < 2, reason="needs CPU 1")
def test_runs_on_the_cpus_it_is_allowed(hugepages, tmp_path):
    """Under taskset -c 1 vswd starts, its PMD (lcore 1) and control thread on CPU 1."""
    v = Vswd(tmp_path)
    v.proc = Proc(["taskset", "-c", "1", *v.argv()], "vswd")
    wait_for(lambda: not v.proc.alive() or v.ready(), 60, what="vswd to listen")
    assert v.proc.alive(), v.proc.output()
    try:
        cpus = thread_cpus(v.proc.pid)
        assert cpus["vswd"] == "1", cpus
        assert cpus["rte-worker-1"] == "1", cpus
        assert [p["lcore"] for p in v.stats()["pmds"]] == [1]
        # a PMD CPU outside the allowed set is refused with one line
        r = Proc(["taskset", "-c", "1", *Vswd(tmp_path, args=["--cores", "0"]).argv()], "vswd2")
        assert r.wait(30) == 1
        assert "--cores" in r.output() and "\n" not in r.output().strip(), r.output()
    finally:
        assert v.stop() == 0
