"""The front door the README shows: `./vswkit demo` and each benchmark, in a short smoke run.
Figures are not judged here (benchmarks measure, tests do not time); what is checked is that
each runs to the end, moves traffic, accounts for it and leaves nothing behind."""
import json
import re
import subprocess
from pathlib import Path

import pytest

import harness

VSWKIT = str(harness.ROOT / "vswkit")


def run(*args, timeout=600):
    r = subprocess.run([VSWKIT, *args], capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return r.stdout


def json_tail(out):
    """The JSON document a benchmark prints after its progress lines."""
    start = min(i for i in (out.find("\n["), out.find("\n{")) if i >= 0)
    return json.loads(out[start:])


@pytest.fixture
def leaves_nothing(hugepages):
    """No DPDK runtime directory or hugepage file is left that was not there before."""
    def state():
        run_dirs = set(Path("/var/run/dpdk").glob("*")) if Path("/var/run/dpdk").exists() \
            else set()
        return run_dirs, set(Path("/dev/hugepages").glob("*"))
    before = state()
    yield
    after = state()
    assert after[0] - before[0] == set() and after[1] - before[1] == set(), (after, before)


def test_demo_forwards_and_stops_everything(leaves_nothing):
    out = run("demo")
    m = re.search(r"vswd forwarded (\d+) frames in (\d+) s", out)
    assert m and int(m.group(1)) > 0, out[-3000:]
    for section in ("== FDB", "== counters", "== stopping everything the demo started"):
        assert section in out


def test_bench_loop_smoke(leaves_nothing):
    res = json_tail(run("bench", "loop", "--sizes", "64", "--reps", "1", "--seconds", "1",
                        "--json"))
    assert res[0]["size"] == 64 and res[0]["vswd_mpps"] > 0 and res[0]["testpmd_io_mpps"] > 0


def test_bench_loop_vlan_and_vxlan_smoke(leaves_nothing):
    """The VLAN and VXLAN paths keep every frame of the closed loop (a frame lost stays lost:
    the loop would slow down, not stop, so the bench warns and this test reads the warning)."""
    r = subprocess.run([VSWKIT, "bench", "loop", "--modes", "vswd,vswd-vlan,vswd-vxlan",
                        "--sizes", "64", "--reps", "1", "--seconds", "1", "--json"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "lost frames" not in r.stderr, r.stderr
    (res,) = json_tail(r.stdout)
    for k in ("vswd", "vswd_loop", "vswd_vlan", "vswd_vxlan"):
        assert res[f"{k}_mpps"] > 0, res
    assert res["vlan_ratio"] > 0 and res["vxlan_ratio"] > 0 and "testpmd_io_mpps" not in res


def test_bench_udp_smoke(leaves_nothing):
    out = run("bench", "udp", "--seconds", "1", "--reps", "1", "--json")
    res = json_tail(out)
    assert res["gs_median_pps"] > 0 and res["kernel_median_pps"] > 0
    # every datagram the gs sender sent was received ("received/sent" per repetition)
    for got, sent in re.findall(r"\((?:[\d.]+) Mpps sent, (\d+)/(\d+)\)", out):
        assert 0 < int(got) <= int(sent)


def test_bench_rpc_smoke(leaves_nothing, tmp_path):
    run("bench", "rpc", "--quick", "--json", str(tmp_path / "rpc.json"))
    res = json.loads((tmp_path / "rpc.json").read_text())
    assert res["sides"] == ["b2b", "e2e", "kernel", "kernel-busy"]
    for side in res["sides"]:
        med = res["medians"][side]
        assert med["rps"] > 0 and 0 < med["p50_us"] <= med["p99_us"], (side, med)


def netns():
    return set(subprocess.run(["ip", "netns"], capture_output=True, text=True).stdout.split())


def test_bench_flood_smoke(leaves_nothing, tmp_path):
    before = netns()
    run("bench", "flood", "--quick", "--json", str(tmp_path / "flood.json"), timeout=120)
    res = json.loads((tmp_path / "flood.json").read_text())
    assert res["switches"] == ["vswd", "ovs"] and res["ports_out"] == 8
    assert [r["size"] for r in res["results"]] == [64, 1518]
    for r in res["results"]:
        assert r["ratio"] > 0 and len(r["ratios"]) == 1 and r["ratios"][0] > 0, r
        for sw in res["switches"]:
            assert r["delivered_mpps"][sw]["median"] > 0 and r["per_input"][sw]["median"] > 0
            (s,) = r["samples"][sw]
            assert s["input_mpps"] > 0 and len(s["per_port_mpps"]) == 8, (sw, s)
            assert all(x > 0 for x in s["per_port_mpps"]), (sw, s)
    # OVS's private namespace (an flovs prefix) is gone
    assert not [n for n in netns() - before if n.startswith("flovs")]


def test_bench_tcp_smoke(leaves_nothing, tmp_path):
    before = netns()
    run("bench", "tcp", "--quick", "--json", str(tmp_path / "tcp.json"))
    res = json.loads((tmp_path / "tcp.json").read_text())
    assert res["sides"] == ["gs", "kernel"]
    for side in res["sides"]:
        for what in ("small", "large", "big", "cps"):
            st = res["stats"][side][what]
            assert 0 < st["min"] <= st["median"] <= st["max"], (side, what, st)
            assert len(res["samples"][side][what]) == 1
    assert set(res["ratios"]) == {"small", "large", "big", "cps"}
    assert all(r > 0 for r in res["ratios"].values()), res["ratios"]
    # the run's namespaces (a tb prefix) are gone
    assert not [n for n in netns() - before if n.startswith("tb")]
