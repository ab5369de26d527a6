"""What is bound where, in dpdk-devbind --status layout, with VFs listed under their PF."""

from . import driverctl, holders, netdev, pci

GROUPS = (("dpdk", "Network devices using DPDK-compatible driver"),
          ("kernel", "Network devices using kernel driver"),
          ("none", "Other Network devices"),
          ("other", "Crypto, DMA and other devices DPDK can drive"))
# besides network devices: encryption (0x10), co-processors (QAT: 0x0b40), DMA engines (0x0801)
OTHER_CLASSES = ("10", "0b40", "0801")


def describe(host, dev, users):
    info = dev.summary()
    info["active"] = any(netdev.routes(host, i) for i in info["interfaces"])
    info["vfs"] = info["vfs"] or []
    info["used_by"] = users(dev)
    return info


def group_of(driver):
    return "dpdk" if driver in pci.DPDK_DRIVERS else "kernel" if driver else "none"


def collect(host):
    """{'dpdk': [...], 'kernel': [...], 'none': [...]}: every device in its own driver's group
    (as dpdk-devbind), VFs too, each VF naming its 'physfn' and each PF its 'vfs'."""
    out = {key: [] for key, _ in GROUPS}
    held, hostdevs = holders.vfio_holders(host), holders.libvirt_hostdevs(host)

    def users(dev):
        return holders.users(host, dev, held, hostdevs)
    for dev in pci.all_devices(host):
        if dev.is_network:
            out[group_of(dev.driver)].append(describe(host, dev, users))
        elif dev.pci_class.startswith(OTHER_CLASSES) or dev.driver in pci.DPDK_DRIVERS:
            out["other"].append(describe(host, dev, users))
    out["overrides"] = driverctl.overrides(host)
    return out


def line(info, indent=""):
    text = f"{indent}{info['pci']} '{info['vendor']}:{info['device']}'"
    if info["interfaces"]:
        text += " if=" + ",".join(info["interfaces"])
    text += f" drv={info['driver'] or '-'} numa={info['numa_node']} iommu_group={info['iommu_group'] or '-'}"
    if info["active"]:
        text += " *Active*"
    if info["used_by"]:
        text += " used by " + ", ".join(info["used_by"])
    return text


def render(data):
    lines = []
    for key, title in GROUPS:
        if key == "other" and not data[key]:
            continue
        lines += ["", title, "=" * len(title)]
        if not data[key]:
            lines.append("<none>")
        here = {info["pci"]: info for info in data[key]}
        for info in data[key]:
            if info["physfn"] in here:
                continue  # shown under its PF
            if info["physfn"]:
                lines.append(line(info, "VF ") + f" pf={info['physfn']}")
            else:
                lines.append(line(info))
            for vf in info["vfs"]:
                if vf in here:
                    lines.append(line(here[vf], "    VF "))
    if data["overrides"]:
        title = "Persisted driver overrides (driverctl)"
        lines += ["", title, "=" * len(title)]
        lines += [f"{addr} -> {driver}" for addr, driver in sorted(data["overrides"].items())]
    return "\n".join(lines[1:])
