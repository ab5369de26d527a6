"""TEST DOUBLE: the host commands vsw-host runs, modelled against a fake tree (see fake_kernel).

A test must never reconfigure the machine's real interfaces or mounts, nor depend on the
machine's real qemu and libvirtd, so against a fake tree runner.Runner hands commands here:

  mkdir -p DIR                      nothing (the fake has no /dev)
  mount -t hugetlbfs -o pagesize=S nodev DIR
                                    adds DIR to the fake /proc/mounts; fails when mount_fails
  umount DIR                        removes it; "target is busy" for DIRs in mount_busy,
                                    "not mounted" when it is not in /proc/mounts
  modprobe M                        creates drivers/M when M is in loadable, else "not found"
  ip link set IF vf N ARGS...       remembers mac/vlan/trust/spoofchk of VF N in the PF's
                                    .fake-vf-settings.json; "Operation not supported" for the
                                    settings listed in vf_unsupported
  ip -j link show dev IF            vfinfo_list as iproute2 prints it
  X --version                       the text in tools[X]; a tool not listed is not installed

Each returns (exit status, stdout, stderr) as the real command would.
"""

import json
import os

from .fake_files import get, put


class FakeCommands:
    def __init__(self, kernel):
        self.k = kernel
        self.config = kernel.config

    def run(self, argv):
        name = argv[0]
        if name == "mkdir":
            return 0, "", ""
        if name == "mount":
            return self.mount(argv)
        if name == "umount":
            return self.umount(argv[-1])
        if name == "modprobe":
            return self.modprobe(argv[-1])
        if name == "ip" and argv[1:3] == ["link", "set"] and len(argv) > 5 and argv[4] == "vf":
            return self.set_vf(argv[3], int(argv[5]), argv[6:])
        if name == "ip" and "show" in argv:
            return self.show_link(argv[-1])
        if len(argv) == 2 and argv[1] == "--version":
            text = self.config.get("tools", {}).get(name)
            return (0, text + "\n", "") if text else (127, "", f"{name}: not found")
        return 127, "", f"{name}: the fake kernel does not model this command"

    # mounts ----------------------------------------------------------------------
    def mounts_path(self):
        return os.path.join(self.k.proc, "mounts")

    def mount(self, argv):
        target = argv[-1]
        if target in self.config.get("mount_fails", []):
            return 32, "", f"mount: {target}: permission denied."
        opts = argv[argv.index("-o") + 1] if "-o" in argv else "rw"
        with open(self.mounts_path(), "a") as f:
            f.write(f"nodev {target} hugetlbfs rw,relatime,{opts} 0 0\n")
        return 0, "", ""

    def umount(self, target):
        lines = get(self.mounts_path()).splitlines()
        keep = [line for line in lines if line.split()[1:2] != [target]]
        if len(keep) == len(lines):
            return 32, "", f"umount: {target}: not mounted."
        if target in self.config.get("mount_busy", []):
            return 32, "", f"umount: {target}: target is busy."
        put(self.mounts_path(), "\n".join(keep))
        return 0, "", ""

    def modprobe(self, module):
        if module not in self.config.get("loadable", []):
            return 1, "", f"modprobe: FATAL: Module {module} not found in directory " \
                          f"/lib/modules/fake"
        for f in ("bind", "unbind", "new_id", "remove_id", "uevent"):
            put(self.k.drv(module, f), "")
        os.makedirs(os.path.join(self.k.sys, "module", module.replace("-", "_")), exist_ok=True)
        return 0, "", ""

    # per-VF settings through the PF --------------------------------------------
    def pf_of(self, iface):
        path = os.path.join(self.k.sys, "class", "net", iface, "device")
        return os.path.basename(os.path.realpath(path)) if os.path.exists(path) else None

    def settings_path(self, pf):
        return self.k.dev(pf, ".fake-vf-settings.json")

    def settings(self, pf):
        text = get(self.settings_path(pf), "{}")
        return json.loads(text)

    @staticmethod
    def vf_defaults(index):
        """A fresh VF: no MAC, no VLAN, spoof checking on, not trusted."""
        return {"vf": index, "address": "00:00:00:00:00:00", "vlan": 0, "spoofchk": True,
                "trust": False}

    def set_vf(self, iface, index, args):
        pf = self.pf_of(iface)
        if pf is None:
            return 1, "", f'Cannot find device "{iface}"'
        if index >= int(get(self.k.dev(pf, "sriov_numvfs"), "0")):
            return 2, "", "RTNETLINK answers: Invalid argument"
        unsupported = set(self.config.get("vf_unsupported", []))
        pairs = dict(zip(args[::2], args[1::2]))
        if unsupported & set(pairs):
            return 2, "", "RTNETLINK answers: Operation not supported"
        data = self.settings(pf)
        vf = data.get(str(index), self.vf_defaults(index))
        for key, value in pairs.items():
            if key == "mac":
                vf["address"] = value.lower()
            elif key == "vlan":
                vf["vlan"] = int(value)
            elif key in ("trust", "spoofchk"):
                vf[key] = value == "on"
        data[str(index)] = vf
        put(self.settings_path(pf), json.dumps(data, sort_keys=True))
        return 0, "", ""

    def show_link(self, iface):
        pf = self.pf_of(iface)
        if pf is None:
            return 1, "", f'Device "{iface}" does not exist.'
        data = self.settings(pf)
        vfs = []
        for i in range(int(get(self.k.dev(pf, "sriov_numvfs"), "0"))):
            vf = dict(data.get(str(i), self.vf_defaults(i)))
            vlan = vf.pop("vlan")
            if vlan:  # iproute2 prints a vlan_list only for a VF with a VLAN
                vf["vlan_list"] = [{"vlan": vlan}]
            vfs.append(vf)
        return 0, json.dumps([{"ifname": iface, "vfinfo_list": vfs}]), ""
