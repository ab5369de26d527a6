"""vswd's life: a clean stop on SIGINT/SIGTERM, several PMD cores."""
import signal
from pathlib import Path

import pytest

from harness import Vswd, uid


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
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
