"""The kernel's side of the TCP interop tests, run inside a test namespace (one JSON line out).

  ktcp.py echo HOST PORT BYTES       send BYTES random bytes, shut down writing, read the echo
                                     to EOF: both digests and counts
  ktcp.py refused HOST PORT          connect to a closed port: refused by an RST?
  ktcp.py many HOST PORT N           N short echo connections, one after another
  ktcp.py rfc5961 HOST PORT MAC     a live echo connection, then forged segments (scapy) that
                                     must not break it: RST and SYN with the wrong sequence,
                                     an ACK of unsent data, data out of the window; the
                                     connection still echoes; then an exact RST resets it
  ktcp.py mangled HOST PORT MAC N    N bytes by hand (scapy): shuffled, duplicated and
                                     overlapping segments, FIN; the server's answer
  ktcp.py sink PORT [N]              accept N connections (default 1), read each to EOF, answer
                                     "BYTES SHA256\\n" on the half-closed connection, close
"""
import hashlib
import json
import os
import socket
import sys
import threading
import time


def echo(host, port, nbytes):
    data = os.urandom(nbytes)
    s = socket.create_connection((host, port), timeout=120)
    sent_err = []

    def sender():
        try:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
        except OSError as e:
            sent_err.append(repr(e))

    t0 = time.time()
    t = threading.Thread(target=sender)
    t.start()
    h, got = hashlib.sha256(), 0
    first_diff = None
    while True:
        try:
            b = s.recv(1 << 20)
        except OSError as e:
            return {"sent": nbytes, "received": got, "equal": False, "error": repr(e)}
        if not b:
            break
        if first_diff is None and b != data[got:got + len(b)]:
            first_diff = got + next(i for i in range(len(b)) if b[i:i + 1] != data[got + i:got + i + 1])
        h.update(b)
        got += len(b)
    t.join()
    s.close()
    return {"sent": nbytes, "received": got, "equal": h.digest() == hashlib.sha256(data).digest(),
            "first_diff": first_diff, "send_error": sent_err, "seconds": time.time() - t0}


def refused(host, port):
    s = socket.socket()
    s.settimeout(10)
    try:
        s.connect((host, port))
        return {"refused": False, "error": "connected"}
    except ConnectionRefusedError:
        return {"refused": True}
    except OSError as e:
        return {"refused": False, "error": repr(e)}
    finally:
        s.close()


def many(host, port, n):
    ok = bad = 0
    errors = []
    t0 = time.time()
    for i in range(n):
        msg = f"hello {i}\n".encode()
        try:
            s = socket.create_connection((host, port), timeout=10)
            s.sendall(msg)
            s.shutdown(socket.SHUT_WR)
            got = b""
            while True:
                b = s.recv(4096)
                if not b:
                    break
                got += b
            s.close()
            if got == msg:
                ok += 1
            else:
                bad += 1
        except OSError as e:
            bad += 1
            if len(errors) < 5:
                errors.append(f"{i}: {e!r}")
    return {"ok": ok, "bad": bad, "errors": errors, "seconds": time.time() - t0}


def sink(port, n=1):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", port))
    ls.listen(n)
    ls.settimeout(120)
    print("ready", flush=True)
    results = []

    def serve(c, peer):
        c.settimeout(120)
        h, got = hashlib.sha256(), 0
        while True:
            b = c.recv(1 << 20)
            if not b:
                break
            h.update(b)
            got += len(b)
        c.sendall(f"{got} {h.hexdigest()}\n".encode())  # on the half-closed connection
        c.close()
        results.append({"received": got, "sha256": h.hexdigest(), "peer": list(peer)})

    threads = []
    for _ in range(n):
        t = threading.Thread(target=serve, args=ls.accept())
        t.start()
        threads.append(t)
    for t in threads:
        t.join()
    ls.close()
    return results[0] if n == 1 else {"streams": results}


def rfc5961(host, port, mac):
    from scapy.all import AsyncSniffer, Ether, IP, TCP, Raw, sendp, conf
    conf.verb = 0
    sn = AsyncSniffer(iface="eth0", store=True,
                      lfilter=lambda p: TCP in p and p[IP].src == host and p[TCP].sport == port)
    sn.start()
    time.sleep(0.5)
    s = socket.create_connection((host, port), timeout=10)
    s.sendall(b"one")
    assert s.recv(100) == b"one"
    time.sleep(0.3)
    lport = s.getsockname()[1]
    last = [p for p in sn.stop() if p[TCP].dport == lport][-1]
    g, k = last[TCP].seq, last[TCP].ack  # the guest's next sequence number, and ours
    base = Ether(dst=mac) / IP(src=s.getsockname()[0], dst=host)

    def forge(**kw):
        sendp(base / TCP(sport=lport, dport=port, window=65000, **kw), iface="eth0")
        time.sleep(0.1)

    forge(flags="R", seq=k + 1000)  # in the window, not exact: a challenge ACK
    forge(flags="R", seq=(k + 2 ** 31) % 2 ** 32)  # outside: dropped quietly
    forge(flags="S", seq=k + 5)  # SYN on a synchronized connection: a challenge ACK
    forge(flags="A", seq=k, ack=(g + 100000) % 2 ** 32)  # acknowledges what was never sent
    sendp(base / TCP(sport=lport, dport=port, flags="A", seq=(k + 10 ** 7) % 2 ** 32, ack=g)
          / Raw(b"zzz"), iface="eth0")  # far beyond the window
    time.sleep(0.2)
    s.sendall(b"two")
    survived = s.recv(100) == b"two"
    forge(flags="R", seq=k + 3)  # exact: the guest forgets the connection
    time.sleep(0.3)
    try:
        s.sendall(b"three")  # the guest has no connection: its RST resets ours
        got = s.recv(100)
        reset = False
    except ConnectionResetError:
        reset, got = True, b""
    s.close()
    return {"survived": survived, "reset": reset, "got": got.decode(errors="replace")}


def _crc32c_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ (0x82f63b78 if c & 1 else 0)
        table.append(c)
    return table


CRC32C = _crc32c_table()


def crc32c(data, crc=0xffffffff):
    """CRC32C (Castagnoli) as gs-tcpperf --server answers it; pass the state on to continue,
    and invert it at the end (crc32c_final)."""
    for b in data:
        crc = CRC32C[(crc ^ b) & 0xff] ^ (crc >> 8)
    return crc


def crc32c_final(crc):
    return crc ^ 0xffffffff


def mangled(host, port, mac, nbytes):
    """A stream sent by hand (scapy; the namespace's own RSTs are filtered by the test):
    segments shuffled, some twice, some overlapping their neighbours, then FIN; returns what
    the server answered and what it should have."""
    import random
    from scapy.all import AsyncSniffer, Ether, IP, TCP, Raw, sendp, conf
    conf.verb = 0
    rnd = random.Random(5)
    data = bytes(rnd.getrandbits(8) for _ in range(nbytes))
    sport, s0 = 40000 + rnd.randrange(1000), rnd.getrandbits(32)
    got = []
    sn = AsyncSniffer(iface="eth0", store=False, prn=got.append,
                      lfilter=lambda p: TCP in p and p[IP].src == host and p[TCP].dport == sport)
    sn.start()
    time.sleep(0.5)
    src = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    src.connect((host, 9))
    me = src.getsockname()[0]
    src.close()
    base = Ether(dst=mac) / IP(src=me, dst=host)

    def wait(cond, secs=10):
        end = time.time() + secs
        while time.time() < end:
            r = [p for p in list(got) if cond(p)]
            if r:
                return r
            time.sleep(0.05)
        return []

    sendp(base / TCP(sport=sport, dport=port, flags="S", seq=s0, window=65535), iface="eth0")
    synack = wait(lambda p: p[TCP].flags & 0x12 == 0x12)
    if not synack:
        sn.stop()
        return {"error": "no SYN-ACK"}
    g = synack[0][TCP].seq + 1

    def seg(off, ln, flags="A"):
        return base / TCP(sport=sport, dport=port, flags=flags, seq=(s0 + 1 + off) % 2 ** 32,
                          ack=g, window=65535) / Raw(data[off:off + ln])

    frames = [base / TCP(sport=sport, dport=port, flags="A", seq=s0 + 1, ack=g, window=65535)]
    pieces = [seg(off, 1000) for off in range(0, nbytes, 1000)]
    pieces += [seg(off, 1000) for off in range(0, nbytes, 7000)]  # duplicates
    pieces += [seg(off + 500, 1000) for off in range(0, nbytes - 1500, 5000)]  # overlaps
    rnd.shuffle(pieces)
    frames += pieces
    sendp(frames, iface="eth0")
    fin = base / TCP(sport=sport, dport=port, flags="FA", seq=(s0 + 1 + nbytes) % 2 ** 32,
                     ack=g, window=65535)
    reply = b""
    for _ in range(5):  # the FIN again while the answer has not come (it may be lost)
        sendp(fin, iface="eth0")
        r = wait(lambda p: Raw in p, 3)
        if r:
            reply = bytes(r[0][Raw].load)
            break
    sn.stop()
    return {"reply": reply.decode(errors="replace").strip(), "frames": len(frames),
            "want": f"{nbytes} {crc32c_final(crc32c(data)):08x}"}


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "echo":
        r = echo(args[0], int(args[1]), int(args[2]))
    elif cmd == "refused":
        r = refused(args[0], int(args[1]))
    elif cmd == "many":
        r = many(args[0], int(args[1]), int(args[2]))
    elif cmd == "rfc5961":
        r = rfc5961(args[0], int(args[1]), args[2])
    elif cmd == "mangled":
        r = mangled(args[0], int(args[1]), args[2], int(args[3]))
    elif cmd == "sink":
        r = sink(int(args[0]), int(args[1]) if len(args) > 1 else 1)
    else:
        sys.exit(f"ktcp.py: unknown command '{cmd}'")
    print(json.dumps(r), flush=True)
