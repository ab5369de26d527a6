"""What a VM is made of, checked before anything starts: image, NICs, devices, memory, accel.

Every check raises VmError with one line that says what is wrong and what to do.
"""
import hashlib
import os
import re
import socket
import stat
from dataclasses import dataclass, field
from pathlib import Path

from .accel import choose_accel


class VmError(Exception):
    pass


TOP = Path(__file__).resolve().parent.parent.parent
BUILD = Path(os.environ.get("VSWKIT_BUILD", TOP / "build"))
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")
MAC_RE = re.compile(r"^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$")
PCI_RE = re.compile(r"^(?:([0-9a-fA-F]{4}):)?([0-9a-fA-F]{2}):([0-9a-fA-F]{2})\.([0-7])$")


@dataclass
class Image:
    kind: str  # test, box or file
    kernel: Path = None
    initrd: Path = None
    disk: Path = None  # the VM writes to an overlay, never to this file
    disk_format: str = None  # qcow2 or raw, read from the file once
    cmdline: str = ""


@dataclass
class Nic:
    kind: str  # vhost, user or emulated
    mac: str
    path: Path = None  # vhost socket
    mode: str = "server"  # vswd's side, as in vswctl: server = vswd owns the socket
    queues: int = 1
    packed: bool = False  # the packed virtqueue (VIRTIO_F_RING_PACKED) offered to the guest
    mrg_rxbuf: bool = True  # mergeable receive buffers offered (off: a Linux guest with
                            # offloads posts large buffers, as indirect tables)
    model: str = "virtio-net-pci"
    tap: str = None  # emulated NIC: a host TAP interface of this name
    vhost_net: bool = False  # ... served by the kernel's vhost-net


@dataclass
class Spec:
    name: str
    image: Image
    nics: list = field(default_factory=list)
    pci: list = field(default_factory=list)
    viommu: bool = False
    mem: int = 512
    cpus: int = 1
    cmdline: str = ""
    accel: str = "tcg"

    @property
    def machine(self):
        return "q35" if self.viommu else "pc"


def default_mac(name, index):
    """A stable locally administered MAC per VM name and NIC index (52:54:00 is QEMU's OUI)."""
    h = hashlib.sha256(f"{name}/{index}".encode()).digest()
    return "52:54:%02x:%02x:%02x:%02x" % (h[0], h[1], h[2], index & 0xFF)


def image(what):
    if what in ("test", "box"):
        d = BUILD / "images" / what
        if what == "test":
            img = Image("test", d / "vmlinuz", d / "initrd.img",
                        cmdline="console=ttyS0 quiet panic=-1")
        else:
            d = d / "pkg"
            img = Image("box", d / "vmlinuz", d / "initrd.img", d / "box.img", "qcow2",
                        cmdline="root=/dev/vda ro console=ttyS0 net.ifnames=0 panic=-1")
        for f in (img.kernel, img.initrd, img.disk):
            if f and not f.is_file():
                raise VmError(f"image {what} is not built ({f} is missing): run ./vswkit image {what}")
        return img
    p = Path(what)
    if not p.is_file():
        raise VmError(f"image {what}: no such file (use test, box or a disk image file)")
    with open(p, "rb") as f:
        fmt = "qcow2" if f.read(4) == b"QFI\xfb" else "raw"
    if fmt == "raw" and p.stat().st_size % 512:
        raise VmError(f"image {what}: neither qcow2 nor a raw disk")
    return Image("file", disk=p.resolve(), disk_format=fmt)


def _listening(path):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(2)
    try:
        s.connect(str(path))
        return True
    except OSError:
        return False
    finally:
        s.close()


def _opts(text, what):
    """'a=1,b=2' -> dict; a first bare word becomes the key what."""
    out = {}
    for i, part in enumerate(text.split(",")):
        k, eq, v = part.partition("=")
        if not eq:
            if i == 0:
                k, v = what, k
            else:
                raise VmError(f"bad option '{part}' in '{text}' (want key=value)")
        out[k] = v
    return out


def nic(text, name, index):
    """--nic vhost=SOCK[,mode=server|client][,mac=MAC][,queues=N][,packed=on|off]
    [,mrg_rxbuf=on|off] or --nic user."""
    if text == "user":
        return Nic("user", default_mac(name, index), model="virtio-net-pci")
    o = _opts(text, "kind")
    if "vhost" not in o:
        raise VmError(f"--nic {text}: want vhost=SOCK[,mode=server|client][,mac=MAC][,queues=N]"
                      f"[,packed=on|off][,mrg_rxbuf=on|off] or user")
    unknown = set(o) - {"vhost", "mode", "mac", "queues", "packed", "mrg_rxbuf"}
    if unknown:
        raise VmError(f"--nic {text}: unknown option {sorted(unknown)[0]}")
    n = Nic("vhost", o.get("mac", default_mac(name, index)), Path(o["vhost"]).absolute(),
            o.get("mode", "server"))
    if not MAC_RE.match(n.mac) or int(n.mac[:2], 16) & 1:
        raise VmError(f"--nic {text}: '{n.mac}' is not a unicast MAC address")
    try:
        n.queues = int(o.get("queues", "1"))
        assert 1 <= n.queues <= 16
    except (ValueError, AssertionError):
        raise VmError(f"--nic {text}: queues must be 1-16") from None
    for k in ("packed", "mrg_rxbuf"):
        if o.get(k, "on") not in ("on", "off"):
            raise VmError(f"--nic {text}: {k} must be on or off")
    n.packed = o.get("packed") == "on"
    n.mrg_rxbuf = o.get("mrg_rxbuf") != "off"
    if n.mode == "server":
        # vswd owns the socket (vswctl port add ... mode=server): it must be serving now
        if not n.path.exists():
            raise VmError(f"vhost socket {n.path} does not exist: add the vswd port first "
                          f"(vswctl port add NAME vhost path={n.path}) or use mode=client")
        if not stat.S_ISSOCK(n.path.stat().st_mode) or not _listening(n.path):
            raise VmError(f"nothing serves vhost socket {n.path}: is vswd running with that port?")
    elif n.mode == "client":
        # QEMU owns the socket and vswd connects (vswctl port add ... mode=client)
        if not n.path.parent.is_dir():
            raise VmError(f"vhost socket {n.path}: directory {n.path.parent} does not exist")
        if n.path.exists() and _listening(n.path):
            raise VmError(f"vhost socket {n.path} is in use by another process")
    else:
        raise VmError(f"--nic {text}: mode must be server or client (vswd's side of the socket)")
    return n


def emulated(text, name, index):
    """--emulated-nic MODEL[,tap=IFNAME[,vhost=on|off]][,mac=MAC]: a NIC QEMU emulates (e1000e,
    virtio-net-pci...); vhost=on has the kernel's vhost-net serve a virtio NIC's TAP."""
    o = _opts(text, "model")
    unknown = set(o) - {"model", "tap", "mac", "vhost"}
    if unknown:
        raise VmError(f"--emulated-nic {text}: unknown option {sorted(unknown)[0]}")
    if not re.match(r"^[a-z0-9-]+$", o["model"]):
        raise VmError(f"--emulated-nic {text}: bad model name")
    mac = o.get("mac", default_mac(name, index))
    if not MAC_RE.match(mac):
        raise VmError(f"--emulated-nic {text}: '{mac}' is not a MAC address")
    tap = o.get("tap")
    if tap is not None and not re.match(r"^[A-Za-z0-9_.-]{1,15}$", tap):
        raise VmError(f"--emulated-nic {text}: bad interface name '{tap}'")
    vhost = o.get("vhost", "off")
    if vhost not in ("on", "off"):
        raise VmError(f"--emulated-nic {text}: vhost must be on or off")
    if vhost == "on":
        if tap is None or not o["model"].startswith("virtio-net"):
            raise VmError(f"--emulated-nic {text}: vhost=on needs tap= and a virtio-net model")
        if not os.path.exists("/dev/vhost-net"):
            raise VmError(f"--emulated-nic {text}: /dev/vhost-net is missing (modprobe vhost_net)")
    return Nic("emulated", mac, model=o["model"], tap=tap, vhost_net=vhost == "on")


def pci(addr):
    """--pci ADDR: a host device bound to vfio-pci, passed through."""
    m = PCI_RE.match(addr)
    if not m:
        raise VmError(f"--pci {addr}: not a PCI address (want DDDD:BB:SS.F)")
    full = f"{m.group(1) or '0000'}:{m.group(2)}:{m.group(3)}.{m.group(4)}".lower()
    dev = Path("/sys/bus/pci/devices") / full
    if not dev.exists():
        raise VmError(f"--pci {full}: no such PCI device on this host")
    drv = dev / "driver"
    bound = drv.resolve().name if drv.exists() else None
    if bound != "vfio-pci":
        raise VmError(f"--pci {full}: bound to {bound or 'no driver'}, not vfio-pci "
                      f"(vsw-host bind {full} --driver vfio-pci)")
    return full


def build(args):
    if not NAME_RE.match(args.name):
        raise VmError(f"bad VM name '{args.name}' (letters, digits, _ . -; at most 32)")
    if not 64 <= args.mem <= 65536:
        raise VmError(f"--mem {args.mem}: want 64-65536 MB")
    if not 1 <= args.cpus <= 64:
        raise VmError(f"--cpus {args.cpus}: want 1-64")
    spec = Spec(args.name, image(args.image), mem=args.mem, cpus=args.cpus,
                cmdline=args.cmdline or "", viommu=args.viommu)
    for t in args.nic or []:
        spec.nics.append(nic(t, args.name, len(spec.nics)))
    for t in args.emulated_nic or []:
        spec.nics.append(emulated(t, args.name, len(spec.nics)))
    spec.pci = [pci(a) for a in args.pci or []]
    if spec.cmdline and not spec.image.kernel:
        raise VmError("--cmdline needs an image with a kernel (test or box)")
    spec.accel = choose_accel(args.accel, VmError)
    return spec
