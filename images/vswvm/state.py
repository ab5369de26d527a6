"""One run directory per VM: its state file, console, QMP socket, overlay and logs.

A VM's QEMU is found by the PID in its state file, and only if that PID still runs QEMU with
this run directory on its command line: a recycled PID is never signalled.
"""
import json
import os
import shutil
import signal
import time
from pathlib import Path

RUN_ROOT = Path(os.environ.get("VSW_VM_DIR", "/run/vswkit/vm"))


def rundir(name):
    return RUN_ROOT / name


def load(name):
    try:
        return json.loads((rundir(name) / "vm.json").read_text())
    except (OSError, ValueError):
        return None


def save(name, state):
    p = rundir(name) / "vm.json"
    p.write_text(json.dumps(state, indent=1) + "\n")


def alive(state):
    """True if the state's PID is still this VM's QEMU."""
    pid = state.get("pid") if state else None
    if not pid:
        return False
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return cmd[0].endswith(b"qemu-system-x86_64") and state["rundir"].encode() in b" ".join(cmd)


def names():
    return sorted(p.name for p in RUN_ROOT.glob("*") if (p / "vm.json").exists())


def stop(name, timeout=15):
    """SIGTERM (QEMU exits at once), SIGKILL if it lingers; then the run directory goes."""
    st = load(name)
    if alive(st):
        pid = st["pid"]
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while alive(st) and time.monotonic() < deadline:
            time.sleep(0.05)
        if alive(st):
            os.kill(pid, signal.SIGKILL)
            while alive(st):
                time.sleep(0.05)
    shutil.rmtree(rundir(name), ignore_errors=True)
