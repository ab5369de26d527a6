"""What is bound where, in dpdk-devbind --status layout, with VFs listed under their PF."""

from . import netdev, pci

GROUPS = (("dpdk", "Network devices using DPDK-compatible driver"),
          ("kernel", "Network devices using kernel driver"),
          ("none", "Other Network devices"))


def describe(host, dev):
    info = dev.summary()
    info["active"] = any(netdev.routes(host, i) for i in info["interfaces"])
    return info


def collect(host):
    """{'dpdk': [...], 'kernel': [...], 'none': [...]}; each PF carries its VFs in 'vfs'."""
    out = {key: [] for key, _ in GROUPS}
    for dev in pci.all_devices(host):
        if not dev.is_network or dev.physfn:
            continue
        info = describe(host, dev)
        info["vfs"] = [describe(host, pci.Device(host, a)) for a in dev.virtfns()]
        key = "dpdk" if dev.driver in pci.DPDK_DRIVERS else "kernel" if dev.driver else "none"
        out[key].append(info)
    return out


def line(info, indent=""):
    text = f"{indent}{info['pci']} '{info['vendor']}:{info['device']}'"
    if info["interfaces"]:
        text += " if=" + ",".join(info["interfaces"])
    text += f" drv={info['driver'] or '-'} numa={info['numa_node']} iommu_group={info['iommu_group'] or '-'}"
    if info["active"]:
        text += " *Active*"
    return text


def render(data):
    lines = []
    for key, title in GROUPS:
        lines += ["", title, "=" * len(title)]
        if not data[key]:
            lines.append("<none>")
        for info in data[key]:
            lines.append(line(info))
            for vf in info["vfs"]:
                lines.append(line(vf, "    VF "))
    return "\n".join(lines[1:])
