"""The tools' command lines: --help, and one clear line with exit 2 on bad input."""
import subprocess

import pytest

from gsguest import tool

TOOLS = ["gs-echo", "gs-ping", "gs-udpperf"]
DEV = ["--dev", "net_virtio_user0,path=/nonexistent.sock"]


def run(*argv):
    return subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=30)


@pytest.mark.parametrize("name", TOOLS)
def test_help(name):
    r = run(tool(name), "--help")
    assert r.returncode == 0
    for opt in ("--dev", "--ip", "--mac", "--gw", "--cores", "--mode", "--json", "--busy-poll"):
        assert opt in r.stdout


@pytest.mark.parametrize("name", TOOLS)
@pytest.mark.parametrize("args,words", [
    (["--ip", "10.0.0.300/24", *DEV], "--ip"),
    (["--ip", "10.0.0.2/40", *DEV], "--ip"),
    (["--ip", "10.0.0.2/24", "--mac", "02:00:zz:00:00:01", *DEV], "--mac"),
    (["--ip", "10.0.0.2/24", "--mode", "3kb", *DEV], "--mode"),
    (["--ip", "10.0.0.2/24"], "--dev"),
    (["--ip", "10.0.0.2/24", "--gw", "nowhere", *DEV], "--gw"),
    (["--ip", "10.0.0.2/24", "--frobnicate", *DEV], "--frobnicate"),
])
def test_bad_input_one_line_exit_2(name, args, words):
    r = run(tool(name), *args)
    assert r.returncode == 2, r
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0] and lines[0].startswith(name), r.stderr
    assert r.stdout == ""


def test_tool_specific_bad_input():
    base = ["--ip", "10.0.0.2/24", *DEV]
    for argv, words in [
        ([tool("gs-ping"), *base], "--dst"),
        ([tool("gs-ping"), *base, "--dst", "10.0.0.1", "--count", "x"], "'x'"),
        ([tool("gs-udpperf"), *base], "--send or --recv"),
        ([tool("gs-udpperf"), *base, "--send"], "--dst"),
        ([tool("gs-udpperf"), *base, "--recv", "--size", "8"], "--size"),
        ([tool("gs-echo"), *base, "--port", "70000"], "--port"),
    ]:
        r = run(*argv)
        assert r.returncode == 2 and words in r.stderr and len(r.stderr.splitlines()) == 1, r


def test_missing_device_fails_cleanly_and_leaves_nothing():
    r = run(tool("gs-echo"), "--ip", "10.0.0.2/24", *DEV)
    assert r.returncode == 1
    assert "cannot" in r.stderr or "failed" in r.stderr
