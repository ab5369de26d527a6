"""KVM where it works, TCG otherwise.

/dev/kvm can exist where KVM guests do not run (nested virtualization that hangs), so `auto` and
`kvm` run a probe: a 64 KiB firmware whose reset vector writes one byte to the serial port. If the
byte does not arrive within a few seconds, KVM does not work here. The probe's vCPU is the one
VMs get (KVM_CPU): a nested KVM seen here runs QEMU's default model but aborts on `-cpu host`
("failed to set MSR 0x10a"), so a probe on the default model passed and every VM then died.
"""
import os
import subprocess
import tempfile
import time
from pathlib import Path

PROBE_SECONDS = 5
KVM_CPU = "host"  # the vCPU model of a VM under KVM (qemu.py, domxml.py's host-passthrough)


def _probe_kvm():
    """None if a KVM guest runs here, else why not."""
    if not os.path.exists("/dev/kvm"):
        return "/dev/kvm does not exist"
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return "/dev/kvm is not accessible"
    with tempfile.TemporaryDirectory(prefix="vsw-vm-kvm") as d:
        fw = bytearray(b"\xf4" * 65536)  # hlt everywhere
        # at the reset vector: mov dx, 0x3f8; mov al, 'K'; out dx, al; hlt
        fw[0xFFF0:0xFFF7] = bytes([0xBA, 0xF8, 0x03, 0xB0, 0x4B, 0xEE, 0xF4])
        Path(d, "fw.bin").write_bytes(fw)
        out = Path(d, "out")
        p = subprocess.Popen(["qemu-system-x86_64", "-accel", "kvm", "-cpu", KVM_CPU,
                              "-bios", f"{d}/fw.bin",
                              "-display", "none", "-nodefaults", "-m", "16", "-no-reboot",
                              "-serial", f"file:{out}"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + PROBE_SECONDS
        try:
            while time.monotonic() < deadline and p.poll() is None:
                if out.exists() and out.read_bytes() == b"K":
                    return None
                time.sleep(0.05)
            if p.poll() is not None:
                err = p.stderr.read().decode(errors="replace").strip().splitlines()
                return err[-1] if err else f"QEMU exited with {p.returncode}"
            return f"a KVM guest did not run within {PROBE_SECONDS} s (nested KVM?)"
        finally:
            if p.poll() is None:
                p.kill()
            p.wait()


def choose_accel(asked, error):
    if asked == "tcg":
        return "tcg"
    why = _probe_kvm()
    if why is None:
        return "kvm"
    if asked == "kvm":
        raise error(f"--accel kvm: KVM does not work here: {why} (use --accel tcg or auto)")
    return "tcg"
