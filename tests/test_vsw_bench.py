"""vsw-bench (bench/vsw-bench, bench/vswbench/): a quick run's JSON, ratios and charts; every
topology through every kind of switch; the zero-loss search on a simulated device; bad input
and failures as one clear line with nothing left running. Figures are not judged here."""
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

import harness

BENCH = harness.ROOT / "bench"
VSW_BENCH = BENCH / "vsw-bench"
sys.path[:0] = [str(BENCH / "vswbench"), str(BENCH)]
import hostinfo  # noqa: E402
import report  # noqa: E402
import zeroloss  # noqa: E402


def bench(*args, timeout=900, wrap=()):
    return subprocess.run([*wrap, str(VSW_BENCH), *map(str, args)], capture_output=True,
                          text=True, timeout=timeout)


def names(cmd):
    return set(subprocess.run(cmd, capture_output=True, text=True).stdout.split())


# vsw-bench's prefix (VSWBENCH_TAG): its DPDK files, namespaces, OVS run directories
OURS = os.environ.get("VSWBENCH_TAG", "vb")


def our_processes():
    """Processes of vsw-bench's: a DPDK file prefix or an OVS run directory of its own (once
    vsw-bench has exited, what it left is no child of ours: found by command line)."""
    found, tag, tmp = [], OURS.encode(), b"/tmp/" + OURS.encode()
    vms = b"/run/vswkit/" + tag  # --guest vm: QEMU's run directories
    for d in Path("/proc").iterdir():
        try:
            argv = (d / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(a.startswith(tmp) or b"=" + tmp in a or a.startswith(b"--file-prefix=" + tag)
               or b"unix:" + tmp in a or vms in a for a in argv) or any(
                a == b"--file-prefix" and b.startswith(tag) for a, b in zip(argv, argv[1:])):
            found.append(f"{d.name}: {b' '.join(argv)[:120]}")
    return found


@pytest.fixture
def leaves_nothing(hugepages):
    """No process, DPDK runtime directory, hugepage file, namespace, VM run directory or
    temporary directory of vsw-bench's is left (others' are not ours to judge: a test elsewhere may be running)."""
    def state():
        run_dirs = set(Path("/var/run/dpdk").glob("*")) if Path("/var/run/dpdk").exists() \
            else set()
        files = {p.name for p in run_dirs | set(Path("/dev/hugepages").glob("*"))
                 | set(Path("/tmp").glob("*")) | set(Path("/run/vswkit").glob("*"))}
        return {n for n in files | names(["ip", "netns"]) if n.startswith(OURS)}
    before = state()
    yield
    assert our_processes() == []
    assert state() - before == set()


def sample_ok(s):
    assert s["closed"]["mpps"] > 0 and s["closed"]["gbps"] > 0, s
    assert s["probe"]["rtt_ns"] > 0, s
    assert s["probe"]["label"] == f"~{2 ** round(math.log2(s['probe']['rtt_ns']))}ns", s
    assert s["rep"] >= 1 and s["seconds_taken"] > 0 and s["placement"], s
    assert set(s["steal_pct"]) == {"switch", "generator"}, s
    assert all(0 <= x <= 100 for x in s["steal_pct"].values()), s


def test_quick_run_json_ratios_and_charts(leaves_nothing, tmp_path):
    r = bench("run", "--quick", "--switch", "vswd", "--switch", "testpmd", "--sizes", "64,imix",
              "--zero-loss", "--json", tmp_path / "r.json", "--charts", tmp_path / "charts")
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    res = json.loads((tmp_path / "r.json").read_text())
    host = res["host"]
    for k in ("cpu", "kernel", "dpdk", "qemu", "ovs", "cores"):
        assert host[k], (k, host)
    assert host["cores"]["switch"] == 1 and host["cores"]["guests_and_generator"] == 0
    assert res["config"]["switch"] == ["vswd", "testpmd"] and res["config"]["reps"] == 1
    assert len(res["samples"]) == 4  # 2 sizes x 2 switches
    for s in res["samples"]:
        sample_ok(s)
        zl = s["zero_loss"]
        assert zl["trials"] and all(0 <= t["loss_pct"] <= 100 for t in zl["trials"]), zl
        # the first trial asks for what the generator offered flat out; the rate found is
        # what a passing trial offered (or none passed: 0), never more than that top
        top = zl["trials"][0]["mpps"]
        assert zl["mpps"] == 0 or any(t["offered_mpps"] == zl["mpps"] and t["loss_pct"] == 0
                                      for t in zl["trials"]), zl
        assert zl["mpps"] <= top * 1.01, zl
        for t in zl["trials"]:
            assert 0 < t["offered_mpps"] <= t["mpps"] * 1.01 and sum(t["received"]) > 0, t
            assert t["own"] == [0, 0], t  # no frame came back to the port that sent it
        if zl["mpps"] > 0:
            lat = zl["lat_us"]
            assert 0 < lat["p50"] <= lat["p99"] <= lat["p999"], zl
            assert lat["p50"] < 1000, zl  # the last bin (2 ms) holds wrapped or late trips
            assert len(zl["cdf"]) == 100 and zl["cdf"] == sorted(zl["cdf"])
        want = "testpmd" if s["size"] == 64 else "trafgen"  # imix: trafgen's mix
        assert s["closed"]["generator"] == want, s
        if want == "trafgen":  # frames sent on as they came, back to the port that sent them
            c = s["closed"]
            assert c["gen_resends"] and c["lost_in_loop"] == 0 and c["own"] == [0, 0], c
            assert c["gen_cycles_per_frame"] > 0 and not c["drain_capped"], c
            # one trip each (a frame counted again, its stamp not cleared, would land in the
            # last bin, 2 ms): 512 frames at some Mpps go round in well under a millisecond
            lat = c["queueing_lat_us"]
            assert 0 < lat["p50"] <= lat["p99"] < 1000, c
    for e in res["summary"]:
        assert set(e["switches"]) == {"vswd", "testpmd"}, e
        (rep,) = e["ratios"]["vswd/testpmd"]["per_rep"]
        # this repetition's two samples; a reference that found no loss-free rate has none
        v, t = (e["switches"][k]["samples"][0] for k in ("vswd", "testpmd"))
        assert rep["rep"] == 1 and len(rep["placements"]) == 2, e
        assert rep["ratio"] == (pytest.approx(v / t, abs=2e-3) if t > 0 else None), e
    pngs = sorted((tmp_path / "charts").glob("*.png"))
    assert {p.name for p in pngs} >= {"loop-closed.png", "loop-zero_loss.png"}, pngs
    for p in pngs:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size > 2000, p
    assert "vswd/testpmd" in r.stdout and "loop, zero loss" in r.stdout
    # the report of that file shows the same table and draws again
    rep = bench("report", tmp_path / "r.json", "--charts", tmp_path / "again")
    assert rep.returncode == 0, rep.stderr
    assert rep.stdout.splitlines()[:6] == r.stdout.splitlines()[:6]
    assert len(list((tmp_path / "again").glob("*.png"))) == len(pngs)


@pytest.mark.parametrize("topology", ["loop", "v2v", "pvp"])
def test_topologies_through_every_kind_of_switch(leaves_nothing, tmp_path, topology):
    """Every frame in these loops crosses the switch (twice in pvp, through a forwarding
    guest between): a switch that does not forward shows 0. The loop also searches zero loss
    (testpmd's closed loop, then trafgen's trials on the same ports)."""
    zl = ["--zero-loss"] if topology != "pvp" else []
    r = bench("run", "--quick", "--topology", topology, "--switch", "vswd,ovs,ovs-flows,kernel",
              "--sizes", "64", *zl, "--json", tmp_path / "r.json")
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    res = json.loads((tmp_path / "r.json").read_text())
    assert [s["switch"] for s in res["samples"]] == ["vswd", "ovs", "ovs-flows", "kernel"]
    for s in res["samples"]:
        sample_ok(s)
        assert s["topology"] == topology
        assert s["closed"]["generator"] == ("testpmd" if topology == "loop" else "trafgen")
        assert ("zero_loss" in s) == (topology != "pvp"), s
        for t in s.get("zero_loss", {}).get("trials", []):
            # every port got the other's frames, none its own (in v2v two processes, whose
            # trials start together; one still draining would take the other's frames)
            assert all(n > 0 for n in t["received"]) and not any(t["own"]), t
            assert not t["drain_capped"], t  # no frame kept going round
        if topology != "loop":  # trafgen's closed loop: what went round, and its cost
            c = s["closed"]
            assert c["injected"] == 512 and c["gen_cycles_per_frame"] > 0, s
            if s["switch"] != "kernel":  # af_packet may drop; the DPDK switches lose none
                assert c["lost_in_loop"] == 0, s
            assert not c["drain_capped"], s
            assert not any(c["own"]), s  # pvp: p0's frames reach p1 through the guest
    ratios = res["summary"][0]["ratios"]
    assert set(ratios) == {"vswd/ovs", "vswd/ovs-flows", "vswd/kernel"}, ratios


def test_macs_in_rotation_are_learned_and_compared_with_the_fewest(leaves_nothing, tmp_path):
    r = bench("run", "--quick", "--switch", "vswd", "--sizes", "64", "--macs", "1,4096",
              "--json", tmp_path / "r.json")
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    res = json.loads((tmp_path / "r.json").read_text())
    one, many = res["samples"]
    for s in (one, many):
        sample_ok(s)
        assert s["closed"]["generator"] == "trafgen", s  # one generator for both counts
        assert not s["closed"]["gen_resends"], s  # it rewrites each frame's addresses
    # each port sent from 4096 addresses and to the other port's 4096: vswd learned them all
    assert one["macs"] == 1 and one["switch_facts"]["fdb_entries"] == 2, one
    assert many["macs"] == 4096 and many["switch_facts"]["fdb_entries"] == 2 * 4096, many
    e = next(e for e in res["summary"] if e["macs"] == 4096)
    (rep,) = e["vs_fewest_macs"]["vswd"]["per_rep"]
    assert rep["ratio"] == pytest.approx(many["closed"]["mpps"] / one["closed"]["mpps"],
                                         abs=2e-3), e
    assert "65536" not in r.stdout and "4096 MACs per port" in r.stdout


def test_udp_traffic_through_every_kind_of_switch(leaves_nothing, tmp_path):
    """gs-udpperf between two guests through each DPDK switch, the kernel's UDP (kudp) between
    two namespaces through the kernel bridge: what the receiver got per second of sending,
    sizes meaning the UDP payload."""
    r = bench("run", "--quick", "--traffic", "udp", "--switch", "vswd,ovs,ovs-flows,testpmd,kernel",
              "--sizes", "64", "--flows", "2", "--json", tmp_path / "r.json")
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    res = json.loads((tmp_path / "r.json").read_text())
    assert res["config"]["topology"] == ["v2v"] and res["config"]["recv_core"] == 1
    assert res["host"]["cores"]["udp_receiver"] == 1
    assert [s["switch"] for s in res["samples"]] == ["vswd", "ovs", "ovs-flows", "testpmd",
                                                     "kernel"]
    for s in res["samples"]:
        assert s["probe"]["rtt_ns"] > 0 and s["seconds_taken"] > 0, s
        assert s["topology"] == "v2v" and s["size"] == 64 and s["size_is"] == "udp_payload", s
        assert "closed" not in s and "zero_loss" not in s, s
        u = s["udp"]
        assert u["generator"] == ("kudp" if s["switch"] == "kernel" else "gs-udpperf"), s
        # nothing arrives that was not sent; the rate is per second of sending
        assert 0 < u["received"] <= u["sent"], u
        assert u["mpps"] == pytest.approx(u["received"] / u["send_seconds"] / 1e6, rel=2e-3), u
        assert u["sent_mpps"] >= u["mpps"] > 0 and u["flows"] == 2, u
        assert u["frame_bytes"] == 64 + 46, u  # UDP, IPv4 and Ethernet headers and the FCS
        assert u["gbps"] == pytest.approx(u["mpps"] * 110 * 8 / 1e3, rel=1e-6), u
        if s["switch"] != "kernel":  # gs-udpperf's receiver times each datagram
            assert 0 < u["lat_us"]["p50"] <= u["lat_us"]["p99"], u
        assert "receiver on 1" in s["placement"], s
    (e,) = res["summary"]
    assert e["mode"] == "udp" and set(e["ratios"]) == {"vswd/ovs", "vswd/ovs-flows",
                                                      "vswd/testpmd", "vswd/kernel"}, e
    (rep,) = e["ratios"]["vswd/kernel"]["per_rep"]
    v, k = (e["switches"][sw]["samples"][0] for sw in ("vswd", "kernel"))
    # the samples are kept to 4 significant digits (the kernel's is below 1 Mpps): their
    # ratio matches the one taken from the exact figures to about 1e-3 of itself
    assert rep["ratio"] == pytest.approx(v / k, rel=2e-3), e
    assert "v2v, UDP received per second of sending, size: the UDP payload" in r.stdout
    assert "gs-udpperf" in r.stderr and "kudp" in r.stderr  # the progress lines


def test_rpc_traffic_through_vswd_testpmd_and_the_kernel(leaves_nothing, tmp_path):
    """rpc-bench between two guests through the DPDK switches, kudp_rr (the kernel's UDP
    request/response) through the kernel bridge: requests answered per second, with their
    latency; every request checked (rpc-bench fails on a bad answer)."""
    r = bench("run", "--quick", "--traffic", "rpc", "--switch", "vswd,testpmd,kernel",
              "--concurrency", "4", "--json", tmp_path / "r.json")
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    res = json.loads((tmp_path / "r.json").read_text())
    assert res["config"]["sizes"] == [32] and res["config"]["recv_core"] == 0
    assert res["host"]["cores"]["rpc_server"] == 0
    assert [s["switch"] for s in res["samples"]] == ["vswd", "testpmd", "kernel"]
    for s in res["samples"]:
        assert s["topology"] == "v2v" and s["size_is"] == "rpc_message", s
        rpc = s["rpc"]
        assert rpc["generator"] == ("kudp_rr" if s["switch"] == "kernel" else "rpc-bench"), s
        assert rpc["completed"] > 0 and rpc["concurrency"] == 4, rpc
        assert rpc["mpps"] == pytest.approx(rpc["completed"] / rpc["seconds"] / 1e6, rel=0.05)
        assert 0 < rpc["lat_us"]["p50"] <= rpc["lat_us"]["p99"], rpc
        assert "RPC client on CPU 0, server on 0" in s["placement"], s
    (e,) = res["summary"]
    assert e["mode"] == "rpc" and set(e["ratios"]) == {"vswd/testpmd", "vswd/kernel"}, e
    assert "v2v, RPC requests answered per second (M)" in r.stdout


@pytest.fixture(scope="module")
def test_image():
    sys.path.insert(0, str(harness.ROOT / "tests" / "vm"))
    from vmguest import build_image
    return build_image("test")


def vm_samples_ok(res, switches, mode, size_is):
    """What every --guest vm sample and the run's host record must show."""
    host = res["host"]
    assert host["guests"] == "vm" and host["accel"] in ("tcg", "kvm"), host
    assert ("under TCG" in host["note"]) == (host["accel"] == "tcg"), host
    assert host["vhost_net"] == Path("/dev/vhost-net").exists(), host
    assert [s["switch"] for s in res["samples"]] == switches
    for s in res["samples"]:
        assert s["guest"] == "vm" and s["topology"] == "v2v" and s["size_is"] == size_is, s
        assert s[mode]["boot_seconds"] > 0 and s["probe"]["rtt_ns"] > 0, s
        assert "VM on CPU 0" in s["placement"] and "VM on 0" in s["placement"], s
    (e,) = res["summary"]
    assert e["mode"] == mode and set(e["switches"]) == set(switches), e
    return e


@pytest.mark.vm
def test_iperf3_between_vms_through_vswd_and_the_kernel(leaves_nothing, test_image, tmp_path):
    """--guest vm --traffic iperf3: two test-image VMs' kernel TCP through vswd (vhost-user),
    through vswd with offloads=off, and through the kernel bridge (TAPs); the guests' TSO
    shows what each path offered."""
    r = bench("run", "--guest", "vm", "--traffic", "iperf3", "--switch", "vswd,vswd-nooff,kernel",
              "--quick", "--json", tmp_path / "r.json", "--charts", tmp_path / "charts")
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    res = json.loads((tmp_path / "r.json").read_text())
    assert res["config"]["sizes"] == [131072] and res["config"]["recv_core"] == 0
    assert res["host"]["cores"]["iperf3_server"] == 0
    e = vm_samples_ok(res, ["vswd", "vswd-nooff", "kernel"], "iperf3", "tcp_write")
    for s in res["samples"]:
        i = s["iperf3"]
        assert i["generator"] == "iperf3" and i["write_bytes"] == 131072, i
        assert i["bytes"] > 0 and i["seconds"] > 0, i
        assert i["gbps"] == pytest.approx(i["bytes"] * 8 / i["seconds"] / 1e9, rel=0.02), i
        # vswd offers TSO (offloads=on, its default), as a TAP does; offloads=off does not
        assert i["tso"] == ("off" if s["switch"] == "vswd-nooff" else "on"), s
    assert "TAPs" in res["samples"][2]["placement"]
    assert e["unit"] == "Gbit/s" and set(e["ratios"]) == {"vswd/kernel", "vswd/vswd-nooff"}, e
    (rep,) = e["ratios"]["vswd/kernel"]["per_rep"]
    v, k = (e["switches"][sw]["samples"][0] for sw in ("vswd", "kernel"))
    assert rep["ratio"] == pytest.approx(v / k, rel=2e-3), e
    assert "TCP goodput between VMs (iperf3)" in r.stdout and "(Gbit/s," in r.stdout
    if res["host"]["accel"] == "tcg":
        assert f"note: {res['host']['note']}" in r.stdout
    png = tmp_path / "charts" / "v2v-iperf3.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", png


@pytest.mark.vm
def test_udp_and_rpc_between_vms(leaves_nothing, test_image, tmp_path):
    """--guest vm with the guest stack in the VMs (DPDK's virtio PMD on uio_pci_generic):
    gs-udpperf through vswd and OVS, rpc-bench through testpmd, and the VMs' kernel UDP
    request/response (kudp_rr) through the kernel bridge."""
    r = bench("run", "--guest", "vm", "--traffic", "udp", "--switch", "vswd,ovs", "--sizes",
              "64", "--quick", "--json", tmp_path / "u.json")
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    res = json.loads((tmp_path / "u.json").read_text())
    vm_samples_ok(res, ["vswd", "ovs"], "udp", "udp_payload")
    for s in res["samples"]:
        u = s["udp"]
        assert u["generator"] == "gs-udpperf" and 0 < u["received"] <= u["sent"], u
        assert u["mpps"] == pytest.approx(u["received"] / u["send_seconds"] / 1e6, rel=2e-3), u
    r = bench("run", "--guest", "vm", "--traffic", "rpc", "--switch", "testpmd,kernel",
              "--concurrency", "4", "--quick", "--json", tmp_path / "r.json")
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    res = json.loads((tmp_path / "r.json").read_text())
    vm_samples_ok(res, ["testpmd", "kernel"], "rpc", "rpc_message")
    for s in res["samples"]:
        rpc = s["rpc"]
        assert rpc["generator"] == ("kudp_rr" if s["switch"] == "kernel" else "rpc-bench"), s
        assert rpc["completed"] > 0 and rpc["concurrency"] == 4, rpc
        assert 0 < rpc["lat_us"]["p50"] <= rpc["lat_us"]["p99"], rpc


@pytest.mark.vm
def test_loop_and_pvp_with_trafgen_in_a_vm(leaves_nothing, test_image, tmp_path):
    """--guest vm --traffic trafgen: loop's generator is a VM with both ports, pvp's forwarding
    guest a VM on g0 and g1 (trafgen on DPDK's virtio PMD in the VM), through vswd (vring,
    its own ring path, under QEMU's virtio-net device) and the kernel bridge (TAPs);
    closed loop and zero loss. Every frame the host's generator
    gets back in pvp went through the VM's forwarder."""
    r = bench("run", "--guest", "vm", "--traffic", "trafgen", "--topology", "loop,pvp",
              "--switch", "vswd,kernel", "--sizes", "64", "--zero-loss", "--quick",
              "--json", tmp_path / "r.json", timeout=1200)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    res = json.loads((tmp_path / "r.json").read_text())
    host = res["host"]
    assert host["guests"] == "vm" and host["cores"]["forwarding_vm"] == 0, host
    assert [(s["topology"], s["switch"]) for s in res["samples"]] == [
        ("loop", "vswd"), ("loop", "kernel"), ("pvp", "vswd"), ("pvp", "kernel")]
    # the VM's virtio PMD (no offloads) gets vswd's own ring path (and keeps it to the end;
    # pvp's host generator has gone by then)
    for s, vm_ports in zip(res["samples"][::2], (("p0", "p1"), ("g0", "g1"))):
        rings = s["switch_facts"]["rings"]
        assert [rings[p] for p in vm_ports] == ["vring", "vring"], s["switch_facts"]
    for s in res["samples"]:
        c = s["closed"]
        assert s["guest"] == "vm" and s["boot_seconds"] > 0, s
        assert c["generator"] == "trafgen" and c["mpps"] > 0 and c["injected"] == 512, c
        assert c["gen_cycles_per_frame"] > 0 and c["own"] == [0, 0], c  # none came back
        assert c["queueing_lat_us"]["p50"] > 0, c
        z = s["zero_loss"]
        assert z["trials"] and all(t["offered_mpps"] > 0 for t in z["trials"]), z
        assert ("generator VM on CPU 0" if s["topology"] == "loop" else
                "generator on CPU 0, forwarding VM on 0") in s["placement"], s
    assert "TAPs" in res["samples"][1]["placement"]
    assert [(e["topology"], e["mode"], set(e["switches"])) for e in res["summary"]] == [
        (t, m, {"vswd", "kernel"}) for t in ("loop", "pvp") for m in ("closed", "zero_loss")]
    assert "pvp, closed loop (Mpps" in r.stdout and "VMs booted in" in r.stderr


def test_loop_variants_vlan_vxlan_and_the_vhost_library(leaves_nothing, tmp_path):
    """bench/loop's modes as switches: each variant brings its baseline (vswd-vlan the plain
    vswd with the generator in the same loop topology, vswd-vxlan plain vswd), keeps every
    frame of the loop (a tagged frame of 1518 bytes too) and has its ratio per repetition."""
    r = bench("run", "--quick", "--switch", "vswd-vlan,vswd-vxlan,vhostlib", "--sizes", "1518",
              "--json", tmp_path / "r.json")
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    assert "lost frames" not in r.stderr, r.stderr
    res = json.loads((tmp_path / "r.json").read_text())
    order = ["vswd-loop", "vswd-vlan", "vswd", "vswd-vxlan", "vhostlib"]
    assert res["config"]["switch"] == order
    assert [s["switch"] for s in res["samples"]] == order
    for s in res["samples"]:
        sample_ok(s)
        assert s["closed"]["generator"] == "testpmd" and s["closed"]["lost"] == {}, s
    vxlan = next(s for s in res["samples"] if s["switch"] == "vswd-vxlan")
    assert vxlan["switch_facts"]["fdb_entries"] >= 4, vxlan  # both guests', in two VLANs
    (e,) = res["summary"]
    assert set(e["ratios"]) == {"vlan/plain", "vxlan/plain", "vswd/vhostlib"}, e
    for name, (a, b) in {"vlan/plain": ("vswd-vlan", "vswd-loop"),
                         "vxlan/plain": ("vswd-vxlan", "vswd")}.items():
        (rep,) = e["ratios"][name]["per_rep"]
        x, y = (e["switches"][sw]["samples"][0] for sw in (a, b))
        assert rep["ratio"] == pytest.approx(x / y, abs=2e-3), e
    assert "vlan/plain" in r.stdout and "vxlan/plain" in r.stdout


def test_interleaved_switches_take_turns_in_one_run(leaves_nothing, tmp_path):
    """--interleave: every switch at once, stopped but for its turn; each turn's frames go round
    through that switch alone (its own pair of the generator's ports), none is lost, and a
    repetition is one round in turned order."""
    r = bench("run", "--interleave", "--switch", "vswd,vswd-novring,ovs,testpmd", "--traffic",
              "trafgen", "--sizes", "64", "--reps", "2", "--seconds", "0.5",
              "--json", tmp_path / "r.json")
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    assert "warning" not in r.stderr, r.stderr
    res = json.loads((tmp_path / "r.json").read_text())
    order = ["vswd", "vswd-novring", "ovs", "testpmd"]
    assert [s["switch"] for s in res["samples"]] == order + order[1:] + order[:1]
    for s in res["samples"]:
        sample_ok(s)
        c = s["closed"]
        assert s["interleaved"] and s["topology"] == "loop" and c["generator"] == "trafgen", s
        assert c["gen_resends"] and c["injected"] == 512 and c["lost_in_loop"] == 0, c
        assert c["own"] == [0, 0] and not c["drain_capped"] and c["gen_cycles_per_frame"] > 0
        assert 0 < c["queueing_lat_us"]["p50"] < 1000, c
    rings = {s["switch"]: s["switch_facts"]["rings"] for s in res["samples"]
             if s["switch"].startswith("vswd")}
    assert rings == {"vswd": {"p0": "vring", "p1": "vring"},
                     "vswd-novring": {"p0": "rte_vhost", "p1": "rte_vhost"}}, rings
    (e,) = res["summary"]
    assert len(e["ratios"]["vswd/ovs"]["per_rep"]) == 2, e


def test_packed_ring_guests_through_every_switch(leaves_nothing, tmp_path):
    """--ring packed: every switch's guests open packed rings (vswd says so of its ports, and
    that vring drives them, or rte_vhost with vring=off) and the loop loses nothing."""
    r = bench("run", "--interleave", "--ring", "packed", "--switch", "vswd,vswd-novring,testpmd",
              "--traffic", "trafgen", "--sizes", "64,1518", "--reps", "1", "--seconds", "0.5",
              "--json", tmp_path / "r.json")
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    assert "guests' virtqueues: packed ring" in r.stdout, r.stdout
    res = json.loads((tmp_path / "r.json").read_text())
    assert res["config"]["ring"] == "packed" and len(res["samples"]) == 6, res["config"]
    for s in res["samples"]:
        sample_ok(s)
        c = s["closed"]
        assert c["lost_in_loop"] == 0 and c["mpps"] > 0, c
        if s["switch"].startswith("vswd"):
            f = s["switch_facts"]
            assert f["layout"] == {"p0": "packed", "p1": "packed"}, f
            want = "rte_vhost" if s["switch"] == "vswd-novring" else "vring"
            assert f["rings"] == {"p0": want, "p1": want}, f


def simulated(knee, noise_above=0.0):
    """A device that loses nothing up to knee frames/s and the excess above it."""
    calls = []

    def trial(rate):
        calls.append(rate)
        return (0.0 if rate <= knee else 100.0 * (rate - knee) / rate + noise_above), None
    return trial, calls


def fake_sample(switch, rep, mpps, cls):
    return {"topology": "loop", "switch": switch, "size": 64, "macs": 1, "rep": rep,
            "closed": {"mpps": mpps}, "probe": {"rtt_ns": 1, "label": cls}}


def test_repetitions_far_apart_in_one_placement_are_called_noisy():
    """vswd's two ~256ns samples are 2x apart (the host moved them); testpmd's differ 2x only
    across placement classes, and within its class by 1.1x: not noisy."""
    samples = [fake_sample("vswd", 1, 4.0, "~256ns"), fake_sample("testpmd", 1, 10.0, "~64ns"),
               fake_sample("vswd", 2, 8.0, "~256ns"), fake_sample("testpmd", 2, 5.0, "~256ns"),
               fake_sample("vswd", 3, 7.0, "~64ns"), fake_sample("testpmd", 3, 5.5, "~256ns")]
    (e,) = report.summarize(samples, ["vswd", "testpmd"])
    assert e["switches"]["vswd"]["spread_in_placement"] == 2.0
    assert e["switches"]["testpmd"]["spread_in_placement"] == 1.1
    assert e["noisy"] == ["vswd"]
    (line,) = [l for l in report.table([e], ["vswd", "testpmd"]) if "noisy" in l]
    assert "vswd 2.0x" in line and "testpmd" not in line
    quiet = [s for s in samples if s["switch"] == "testpmd"]
    (e,) = report.summarize(quiet, ["testpmd"])
    assert e["noisy"] == [] and not any("noisy" in l for l in report.table([e], ["testpmd"]))


def test_steal_is_the_share_of_a_cpus_ticks_the_hypervisor_took():
    before = {0: (100, 1000), 1: (5, 1000)}
    after = {0: (130, 1200), 1: (5, 1200)}   # CPU 0: 30 of 200 ticks stolen
    assert hostinfo.steal_pct(before, after, 0) == 15.0
    assert hostinfo.steal_pct(before, after, 1) == 0.0
    assert hostinfo.steal_pct(before, after, 7) is None  # no such CPU
    now = hostinfo.cpu_times()
    assert os.sched_getaffinity(0) <= set(now) and all(0 <= st <= t for st, t in now.values())


@pytest.mark.parametrize("knee", [1.0e6, 3.3e6, 7.77e6, 9.99e6])
def test_zero_loss_search_finds_the_knee_within_the_resolution(knee):
    trial, calls = simulated(knee)
    res = zeroloss.search(trial, 10e6, resolution_pct=1.0, max_trials=20)
    assert res["rate"] <= knee < res["rate"] + 0.1e6 + 1, res
    assert not res["bounded"] and len(calls) <= 1 + 7, calls  # log2(100) steps after the top
    assert all(l == 0 for r, l, _ in res["trials"] if r <= knee)


def test_zero_loss_search_stops_at_the_trial_limit_and_at_the_top():
    trial, calls = simulated(3.3e6)
    res = zeroloss.search(trial, 10e6, resolution_pct=0.01, max_trials=4)
    assert res["bounded"] and len(calls) == 4 and res["rate"] <= 3.3e6, res
    trial, calls = simulated(20e6)  # the device is faster than the generator: one trial
    res = zeroloss.search(trial, 10e6)
    assert res["rate"] == 10e6 and calls == [10e6] and not res["bounded"]
    trial, calls = simulated(0)  # loses at any rate
    res = zeroloss.search(trial, 10e6, resolution_pct=5)
    assert res["rate"] == 0 and not res["bounded"]
    # a tolerance lets a small loss pass
    trial, _ = simulated(5e6)
    assert zeroloss.search(trial, 10e6, tolerance_pct=60)["rate"] == 10e6


@pytest.mark.parametrize("args,msg", [
    (["--topology", "ring"], "unknown topology 'ring' (have: loop, v2v, pvp)"),
    (["--switch", "vswd,vpp"], "unknown switch 'vpp' (have: vswd, ovs, ovs-flows, testpmd, "
                               "kernel, vswd-nooff, vswd-novring, vswd-loop, vswd-vlan, vswd-vxlan, vhostlib, "
                               "vring)"),
    (["--sizes", "64,9000"], "bad frame size 9000"),
    (["--traffic", "netperf"], "unknown traffic 'netperf'"),
    (["--switch-core", "0"], "--switch-core and --gen-core must differ"),
    (["--switch-core", "57"], "CPU 57 is not one this process may use"),
    (["--macs", "1,70000"], "bad --macs: numbers 1..65536"),
    (["--traffic", "udp", "--topology", "loop"], "--traffic udp runs in the v2v topology only"),
    (["--traffic", "udp", "--zero-loss"], "--traffic udp has no --zero-loss"),
    (["--traffic", "udp", "--sizes", "1500"], "bad UDP payload size 1500: 24..1472"),
    (["--traffic", "rpc", "--topology", "pvp"], "--traffic rpc runs in the v2v topology only"),
    (["--traffic", "rpc", "--macs", "1,16"], "--traffic rpc has no --macs"),
    (["--traffic", "udp", "--switch", "vswd-vxlan"],
     "--switch vswd-vxlan runs in the loop topology only (and --traffic udp in v2v only)"),
    (["--switch", "vswd-vlan", "--traffic", "trafgen"],
     "--switch vswd-vlan is measured by testpmd's closed loop only"),
    (["--switch", "vhostlib", "--topology", "pvp"], "--switch vhostlib runs in the loop topology"),
    (["--guest", "container"], "unknown guest 'container' (have: process, vm)"),
    (["--interleave", "--switch", "vswd,kernel", "--traffic", "trafgen"],
     "--switch kernel cannot take turns with others (--interleave: vswd, ovs, ovs-flows, "
     "testpmd, vswd-nooff, vswd-novring, vswd-vxlan, vhostlib, vring)"),
    (["--interleave", "--traffic", "trafgen", "--switch",
      "vswd,vswd-nooff,vswd-novring,vswd-vxlan,ovs,ovs-flows,testpmd,vhostlib,vring"],
     "--interleave takes 8 switches at most (trafgen's 16 ports)"),
    (["--interleave", "--traffic", "trafgen", "--zero-loss"],
     "--interleave runs closed loops in the loop topology with --traffic trafgen"),
    (["--interleave"], "--interleave runs closed loops in the loop topology with --traffic "
                       "trafgen, process guests and one MAC (no --zero-loss)"),
    (["--guest", "vm"], "--guest vm runs --traffic trafgen (loop, pvp: trafgen in the VMs), or "
                        "udp, rpc or iperf3 (between two VMs, v2v)"),
    (["--guest", "vm", "--traffic", "trafgen", "--topology", "v2v"],
     "--guest vm --traffic trafgen runs loop and pvp (between two VMs, v2v: --traffic udp, rpc "
     "or iperf3)"),
    (["--traffic", "iperf3"], "--traffic iperf3 runs in kernel guests: --guest vm"),
    (["--ring", "twisted"], "unknown --ring twisted (split, packed)"),
    (["--guest", "vm", "--traffic", "trafgen", "--ring", "packed"],
     "--ring packed is for process guests: a VM's virtio-net device is QEMU's"),
    (["--guest", "vm", "--traffic", "udp", "--switch", "vswd,vhostlib"],
     "--switch vhostlib has no VM guests (--guest vm: vswd, ovs, ovs-flows, testpmd, kernel, "
     "vswd-nooff, vswd-novring)"),
    (["--guest", "vm", "--traffic", "iperf3", "--zero-loss"],
     "--traffic iperf3 has no --zero-loss: TCP does not lose what it delivers"),
    (["--guest", "vm", "--traffic", "iperf3", "--sizes", "100"],
     "bad iperf3 write size 100: 1024..1048576"),
])
def test_bad_input_is_one_line(leaves_nothing, args, msg):
    r = bench("run", "--quick", *args)
    assert r.returncode == 2 and r.stdout == "", r
    assert msg in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_vm_guests_without_the_test_image_is_one_line(leaves_nothing, tmp_path):
    r = subprocess.run([str(VSW_BENCH), "run", "--guest", "vm", "--traffic", "iperf3"],
                       capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, VSWKIT_BUILD=str(tmp_path)))
    assert r.returncode == 2 and r.stdout == "", r
    assert r.stderr.strip() == (f"vsw-bench: --guest vm needs the test image ({tmp_path}/images/"
                                f"test is missing): ./vswkit image test"), r.stderr


def test_report_of_a_file_that_is_not_a_result(tmp_path):
    (tmp_path / "x.json").write_text('{"a": 1}')
    r = bench("report", tmp_path / "x.json")
    assert r.returncode == 2 and "not a vsw-bench result" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_a_switch_that_fails_to_start_shows_its_log(leaves_nothing):
    r = bench("run", "--quick", "--switch", "vswd", "--vswd-args", "--no-such-option 1")
    assert r.returncode == 2, r
    first, *tail = r.stderr.strip().splitlines()
    assert first.startswith("vsw-bench: vswd did not start"), r.stderr
    assert "the tail of its log" in r.stderr and any("no-such-option" in l for l in tail), r.stderr


def test_ovs_that_fails_to_start_shows_its_log(leaves_nothing, tmp_path):
    """OVS-DPDK that fails half way through its start (ovsdb-server and ovs-vswitchd up, the
    bridge made, then ovs-ofctl fails: a stand-in bound over it in a mount namespace of the
    run's own): one line, the tail of ovs-vswitchd's log, and nothing of it left (processes,
    run directory, namespace, DPDK files)."""
    fake = tmp_path / "ovs-ofctl"
    fake.write_text("#!/bin/sh\necho 'ovs-ofctl: injected failure' >&2\nexit 1\n")
    fake.chmod(0o755)
    r = bench("run", "--quick", "--switch", "ovs", "--sizes", "64",
              wrap=private_mount("/usr/bin/ovs-ofctl", f"--bind {fake}"))
    assert r.returncode == 2, r
    first, *tail = r.stderr.strip().splitlines()
    assert first == ("vsw-bench: ovs did not start: OVS-DPDK did not start: ovs-ofctl "
                     "mod-port flbr failed: ovs-ofctl: injected failure"), r.stderr
    assert tail[0] == "--- the tail of its log:" and len(tail) > 1, r.stderr
    assert any("bridge flbr" in l for l in tail), r.stderr  # ovs-vswitchd had made it


def private_mount(path, what="-t tmpfs none"):
    """Runs vsw-bench in a mount namespace of its own where `path` is an empty tmpfs (or
    what `mount WHAT` mounts)."""
    return ["unshare", "-m", "--propagation", "private", "sh", "-c",
            f'mount {what} "{path}" && exec "$0" "$@"']


def test_no_hugepages_is_one_line(leaves_nothing):
    r = bench("run", "--quick", wrap=private_mount("/sys/kernel/mm/hugepages"))
    assert r.returncode == 2, r
    assert "MiB of hugepages free" in r.stderr and "./vswkit bootstrap" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_ovs_not_installed_says_how_to_install_it(leaves_nothing):
    r = bench("run", "--quick", "--switch", "vswd,ovs",
              wrap=private_mount("/usr/lib/openvswitch-switch-dpdk"))
    assert r.returncode == 2, r
    assert "OVS-DPDK is not installed: DEBIAN_FRONTEND=noninteractive apt-get install" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
