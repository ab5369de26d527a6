"""Commands on the test image's serial console (a unix socket QEMU serves).

The image's init reads one command per line from the console, without prompt or echo. Each
command is framed by markers with a token, so its output and exit code are read back exactly.
"""
import os
import re
import socket
import time


class ConsoleError(Exception):
    pass


def run(sock_path, cmd, timeout=60):
    """Runs cmd in the VM; returns (exit code, output)."""
    token = os.urandom(4).hex()
    if "\n" in cmd:
        raise ConsoleError("one line per command")
    # all on one line: the shell runs a line once it has read it whole
    sep = " " if cmd.rstrip().endswith("&") else "; "
    line = (f"echo @@VSW-BEGIN-{token}; {{ {cmd}{sep}}} </dev/null 2>&1; "
            f"echo @@VSW-END-{token} $?\n")
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(0.25)
    try:
        s.connect(str(sock_path))
    except OSError as e:
        raise ConsoleError(f"cannot reach the console at {sock_path}: {e.strerror}") from None
    buf = b""
    deadline = time.monotonic() + timeout
    end = re.compile(rb"@@VSW-END-" + token.encode() + rb" (\d+)\r?\n")
    try:
        s.sendall(line.encode())
        while not end.search(buf):
            if time.monotonic() > deadline:
                raise ConsoleError(f"no answer within {timeout} s to: {cmd}")
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                # The emulated UART sometimes holds the last bytes of output until the next
                # interrupt: an empty line (a no-op for the shell) gives it one.
                s.sendall(b"\n")
                continue
            if not chunk:
                raise ConsoleError("the console closed")
            buf += chunk
    finally:
        s.close()
    text = buf.decode(errors="replace").replace("\r", "")
    begin = text.find(f"@@VSW-BEGIN-{token}\n")
    m = end.search(buf)
    out = text[begin + len(token) + 13:text.find(f"@@VSW-END-{token}")] if begin >= 0 else ""
    return int(m.group(1)), out


def interactive(sock_path):
    """Joins stdin and stdout to the console until end of input."""
    import selectors
    import sys
    s = socket.socket(socket.AF_UNIX)
    s.connect(str(sock_path))
    sel = selectors.DefaultSelector()
    sel.register(s, selectors.EVENT_READ)
    sel.register(sys.stdin, selectors.EVENT_READ)
    while True:
        for key, _ in sel.select():
            if key.fileobj is s:
                data = s.recv(65536)
                if not data:
                    return 0
                sys.stdout.buffer.write(data)
                sys.stdout.flush()
            else:
                data = os.read(sys.stdin.fileno(), 65536)
                if not data:
                    return 0
                s.sendall(data)
