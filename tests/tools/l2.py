#!/usr/bin/python3
"""Raw Ethernet frames on an interface, for tests run inside a namespace.

  l2.py send IFACE HEX [HEX...]   send each frame (hex) once
  l2.py sniff IFACE SECONDS       print "ready", then one line per received frame as it comes,
                                  for at most SECONDS
"""
import select
import socket
import sys
import time

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


def main(argv):
    if len(argv) < 3 or argv[0] not in ("send", "sniff"):
        sys.exit("usage: l2.py send IFACE HEX... | l2.py sniff IFACE SECONDS")
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((argv[1], 0))
    if argv[0] == "send":
        for h in argv[2:]:
            s.send(bytes.fromhex(h))
        return
    end = time.monotonic() + float(argv[2])
    print("ready", flush=True)
    while (left := end - time.monotonic()) > 0:
        if select.select([s], [], [], left)[0]:
            data, addr = s.recvfrom(65535)
            if addr[2] != PACKET_OUTGOING:
                print(data.hex(), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
