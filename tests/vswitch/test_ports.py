"""The port table's edges: as many ports as DPDK has ethdevs (32 in Debian's build) and a clear
refusal past them; a device whose probe makes several ethdevs gives the port one of them and
closes the others, and its removal takes the device only with its last ethdev. Telemetry gives
the port lists a page at a time, so that a full table never overflows its 16 KB reply."""

from harness import one_line

ETHDEVS = 32  # RTE_MAX_ETHPORTS in Debian's DPDK 22.11


def test_as_many_ports_as_ethdevs_then_a_clear_refusal(vswd):
    for i in range(ETHDEVS):
        vswd.ctl("port", "add", f"p{i}", "vhost", f"path=p{i}.sock")
    msg = one_line(vswd.ctl_fail("port", "add", "one-more", "vhost", "path=more.sock"))
    assert msg == f"vswctl: no room for another port ({ETHDEVS} at most)"
    assert not (vswd.workdir / "more.sock").exists()
    assert len(vswd.ctl("port", "list")) == ETHDEVS
    for cmd in ("/vswkit/stats", "/vswkit/ports"):  # 12 a page: 12, 12, 8
        names, start = [], 0
        for want in (12, 12, 8):
            (page,) = vswd.telemetry(f"{cmd},from={start}", timeout=30)
            more = page.pop("more")
            assert len(page) == want and more["total"] == ETHDEVS and more["from"] == start
            names += [row["name"] for row in page.values()]
            start = more["next"]
        assert start == 0 and sorted(names) == sorted(f"p{i}" for i in range(ETHDEVS))
    vswd.ctl("port", "del", "p7")                    # a freed slot is usable again
    vswd.ctl("port", "add", "again", "vhost", "path=again.sock")
    assert vswd.port("again")["link"] == "down"

def test_multi_port_device_gives_one_ethdev(vswd):
    # net_ring makes one ethdev per nodeaction: two from one probe
    spec = "dev=net_ring_mp,nodeaction=vswmpA:0:CREATE,nodeaction=vswmpB:0:CREATE"
    vswd.ctl("port", "add", "mp", "dpdk", spec)
    first = vswd.port("mp")["ethdev"]
    assert first == 0
    # the sibling was closed: the next port gets ethdev 1, not 2
    vswd.ctl("port", "add", "n", "dpdk", "dev=net_null_mp0,no-rx=1")
    assert vswd.port("n")["ethdev"] == 1
    vswd.ctl("port", "del", "mp")                    # its last ethdev: the device goes too
    vswd.ctl("port", "add", "mp", "dpdk", spec)      # so the same device probes again
    assert vswd.port("mp")["ethdev"] == 0
    assert vswd.port("n")["link"] == "up"            # the other device's port untouched
