"""Who uses a device: processes holding its IOMMU group's /dev/vfio/N (QEMU, a DPDK app), and
libvirt domains that define it as a PCI hostdev. Shown before vsw-host refuses to touch it."""

import os
import re

HOSTDEV_RE = re.compile(r"<hostdev\b[^>]*\btype=['\"]pci['\"][^>]*>(.*?)</hostdev>", re.S)
ADDRESS_RE = re.compile(r"<address\b([^>]*)/?>")
ATTR_RE = re.compile(r"(\w+)=['\"]([^'\"]*)['\"]")


def vfio_holders(host):
    """{IOMMU group: ['PID (COMM)', ...]} of the processes holding /dev/vfio/N open (QEMU,
    a DPDK app), from every /proc/PID/fd."""
    out = {}
    for pid in host.listdir(host.proc_root):
        if not pid.isdigit():
            continue
        fd_dir = host.proc(pid, "fd")
        groups = set()
        for fd in host.listdir(fd_dir):
            try:
                target = os.readlink(os.path.join(fd_dir, fd))
            except OSError:
                continue
            if target.startswith("/dev/vfio/") and target != "/dev/vfio/vfio":
                groups.add(target[len("/dev/vfio/"):])
        for group in groups:
            out.setdefault(group, []).append(f"{pid} ({host.read(host.proc(pid, 'comm'), '?')})")
    return out


def vfio_users(host, group):
    return vfio_holders(host).get(group, [])


def libvirt_hostdevs(host):
    """{PCI address: [domain, ...]} from the domains libvirt defines (ETC/libvirt/qemu/*.xml)."""
    out = {}
    folder = host.etc("libvirt", "qemu")
    for name in host.listdir(folder):
        if not name.endswith(".xml"):
            continue
        text = host.read(os.path.join(folder, name), "") or ""
        m = re.search(r"<name>([^<]+)</name>", text)
        domain = m.group(1) if m else name[:-4]
        for body in HOSTDEV_RE.findall(text):
            for attrs in ADDRESS_RE.findall(body):
                a = dict(ATTR_RE.findall(attrs))
                try:
                    addr = f"{int(a.get('domain', '0'), 16):04x}:{int(a['bus'], 16):02x}:" \
                           f"{int(a['slot'], 16):02x}.{int(a['function'], 16)}"
                except (KeyError, ValueError):
                    continue
                out.setdefault(addr, []).append(domain)
    return out


def users(host, dev, holders=None, hostdevs=None):
    """What uses DEV, one phrase each: 'pid 4242 (qemu-system-x86) through /dev/vfio/3',
    'libvirt domain vm1 (hostdev)'."""
    holders = vfio_holders(host) if holders is None else holders
    hostdevs = libvirt_hostdevs(host) if hostdevs is None else hostdevs
    group = dev.iommu_group
    out = [f"pid {u} through /dev/vfio/{group}" for u in holders.get(group, [])] if group else []
    return out + [f"libvirt domain {d} (hostdev)" for d in hostdevs.get(dev.addr, [])]
