"""Live migration through vswd (`vsw-vm migrate`): a test-image VM whose rings vswd drives
(vring, the default) receives a TCP stream from a kernel in a namespace while QEMU migrates it
to a new QEMU on another vswd port. While QEMU logs dirty pages, the source port's rings must
be rte_vhost's (vring logs nothing; vhost.c hands them over before the message that turns
logging on takes effect), and after it the destination's port is vring's again. The stream
arrives whole and uncorrupted."""
import threading

import harness
import vmguest

SENDER = """
import hashlib, os, socket, sys, time
s = socket.create_connection((sys.argv[1], 5000), timeout=120)
md5, sent = hashlib.md5(), 0
while not os.path.exists(sys.argv[2]):
    b = os.urandom(16384)
    s.sendall(b)
    md5.update(b)
    sent += len(b)
    time.sleep(0.001)  # about 10 MB/s: the stream runs through the whole migration
s.shutdown(socket.SHUT_WR)
s.recv(1)  # until the receiver closes: all of it is there
print(md5.hexdigest(), sent, flush=True)
"""


def test_live_migration_between_vring_ports(vswd, vm, tmp_path):
    ns, dst = harness.Netns(ip="10.0.9.2/24"), None
    try:
        # the namespace's kernel fills in its TCP checksums itself: af_packet carries no
        # offload metadata
        ns.run("ethtool -K eth0 tx off")
        ns.attach(vswd, "ns")
        socks = [vswd.workdir / f"mg{i}.sock" for i in (0, 1)]
        for i, sock in enumerate(socks):
            vswd.ctl("port", "add", f"mg{i}", "vhost", f"path={sock}")
        src = vm("mga", "--nic", f"vhost={socks[0]}", "--mem", "256",
                 "--cmdline", "vsw.role=shell vsw.ip=10.0.9.1/24", wait_boot=300)
        vswd.wait_link("mg0")
        assert vswd.port("mg0")["rings"] == "vring"
        # nc ends when the sender closes, not at its stdin's end (which stays open)
        src.console("sleep 100000 | { nc -l -p 5000 | md5sum > /tmp/md5.part"
                    " && mv /tmp/md5.part /tmp/rx.md5; } >/dev/null 2>&1 &")

        stop = tmp_path / "stop"
        sender = ns.popen([harness.PY, "-c", SENDER, "10.0.9.1", str(stop)], "sender")
        harness.wait_for(lambda: vswd.stats("mg0")["tx_packets"] > 1000, 120,
                         what="the stream flowing into mga")

        seen, done = set(), threading.Event()

        def watch():  # who drives mg0's rings while the migration runs
            while not done.is_set():
                seen.add(vswd.port("mg0")["rings"])
                done.wait(0.05)
        t = threading.Thread(target=watch)
        t.start()
        try:
            dst = src.migrate("mgb", "--nic", f"vhost={socks[1]}")
        finally:
            done.set()
            t.join()
        assert "rte_vhost" in seen, seen

        vswd.wait_link("mg1")
        harness.wait_for(lambda: vswd.stats("mg1")["tx_packets"] > 1000, 120,
                         what="the stream flowing into mgb on mg1")
        assert vswd.port("mg1")["rings"] == "vring"
        assert not vswd.port("mg0")["connected"]
        stop.write_text("")
        sender.wait(120)
        sent_md5 = sender.output().split()[0]
        got = harness.wait_for(lambda: dst.console("cat /tmp/rx.md5 2>/dev/null",
                                                   check=False).split(), 120,
                               what="the stream's md5 in mgb")
        assert got[0] == sent_md5
        # no frame arrived with a bad checksum (a buffer whose page was not logged arrives
        # stale)
        snmp = dst.console("cat /proc/net/snmp").splitlines()
        tcp = [line.split() for line in snmp if line.startswith("Tcp:")]
        assert tcp[1][tcp[0].index("InCsumErrors")] == "0", tcp
        for port in ("mg0", "mg1"):
            assert vswd.port(port)["vring"]["bad_descriptors"] == 0
        mac = dst.info()["nics"][0]["mac"]
        assert vswd.fdb()[mac]["port"] == "mg1"

        # bad input: one line each, and the VM runs on
        r = vmguest.vswvm("migrate", dst.name, "x", "--nic", "vhost=/a", "--nic", "vhost=/b",
                          check=False)
        assert r.returncode == 1 and r.stderr.count("\n") == 1, r.stderr
        assert "give vhost=SOCK for each of" in r.stderr
        r = vmguest.vswvm("migrate", src.name, "x", check=False)
        assert r.returncode == 1 and f"no VM named {src.name}" in r.stderr, r.stderr
        assert dst.info()["state"] == "running"
    finally:
        if dst is not None:
            dst.stop()
        ns.delete()
