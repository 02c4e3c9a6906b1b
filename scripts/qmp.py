#!/usr/bin/env python3
"""QMP client for memory hot(un)plug in the test guests.

Used two ways: as a library by scripts/guest (the test runner), and as a
command for people driving a guest by hand:

    scripts/qmp.py SOCKET dimm-add 128M [NODE]
    scripts/qmp.py SOCKET dimm-del dimm0 [TIMEOUT]
    scripts/qmp.py SOCKET dimm-info dimm0
    scripts/qmp.py SOCKET vmem-set vm0 2G
    scripts/qmp.py SOCKET vmem-size vm0
    scripts/qmp.py SOCKET vmem-wait vm0 2G [TIMEOUT]
    scripts/qmp.py SOCKET vmem-add 1G [REQUESTED]
    scripts/qmp.py SOCKET memdevs

A DIMM is a memory-backend-ram object plus a pc-dimm device; removing one is
device_del, which only completes once the guest has offlined and ejected the
memory (QEMU then sends DEVICE_DELETED), after which the backend goes too.
vmem-add hot-adds a virtio-mem-pci device the same way (ids vmh0, vmh1, ...;
the guest sees a PCI device appear); QEMU 7.2 cannot remove one again.
"""

import json
import re
import select
import socket
import sys
import time


class QMPError(Exception):
    pass


def parse_size(text):
    """'128M' -> bytes. Plain numbers are bytes."""
    m = re.fullmatch(r"(\d+)([KMGT]?)i?B?", str(text).strip(), re.IGNORECASE)
    if not m:
        raise QMPError(f"not a size: {text!r}")
    shift = {"": 0, "K": 10, "M": 20, "G": 30, "T": 40}[m.group(2).upper()]
    return int(m.group(1)) << shift


class QMP:
    def __init__(self, path, timeout=30.0):
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.connect(path)
                break
            except OSError:
                self.sock.close()
                if time.monotonic() > deadline:
                    raise QMPError(f"cannot connect to QMP socket {path}")
                time.sleep(0.1)
        # Our own line buffer over the raw socket: a file object from
        # makefile() is unusable after one read timed out, and event waits
        # must time out.
        self.buf = b""
        self.events = []
        self._read()  # greeting
        self.cmd("qmp_capabilities")

    def close(self):
        self.sock.close()

    def _read(self, timeout=None):
        """The next message, or None when `timeout` seconds pass first."""
        while b"\n" not in self.buf:
            if timeout is not None and not select.select([self.sock], [], [], timeout)[0]:
                return None
            data = self.sock.recv(65536)
            if not data:
                raise QMPError("QMP connection closed")
            self.buf += data
        line, _, self.buf = self.buf.partition(b"\n")
        return json.loads(line)

    def cmd(self, name, **args):
        msg = {"execute": name}
        if args:
            msg["arguments"] = args
        self.sock.sendall((json.dumps(msg) + "\n").encode())
        while True:
            reply = self._read()
            if "event" in reply:
                self.events.append(reply)
                continue
            if "error" in reply:
                raise QMPError(f"{name}: {reply['error'].get('desc', reply['error'])}")
            return reply.get("return")

    def wait_event(self, name, match, timeout):
        """Wait for an event whose data contains `match`."""
        deadline = time.monotonic() + timeout
        while True:
            for ev in self.events:
                data = ev.get("data", {})
                if ev["event"] == name and all(data.get(k) == v for k, v in match.items()):
                    self.events.remove(ev)
                    return ev
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            msg = self._read(timeout=left)
            if msg is not None:
                self.events.append(msg)

    # --- memory devices -------------------------------------------------------

    def memdevs(self):
        return self.cmd("query-memory-devices")

    def _objects(self):
        return {o["name"] for o in self.cmd("qom-list", path="/objects")}

    def _next_dimm_id(self):
        # A backend can outlive its DIMM (device_del that completed after a
        # timed-out wait): such an id is not free yet.
        used = {d["data"].get("id") for d in self.memdevs()}
        objects = self._objects()
        n = 0
        while f"dimm{n}" in used or f"dimm{n}-mem" in objects:
            n += 1
        return f"dimm{n}"

    def dimm_add(self, size, node=None):
        dev = self._next_dimm_id()
        self.cmd("object-add", **{"qom-type": "memory-backend-ram", "id": f"{dev}-mem",
                                  "size": parse_size(size)})
        args = {"driver": "pc-dimm", "id": dev, "memdev": f"{dev}-mem"}
        if node is not None:
            args["node"] = int(node)
        try:
            self.cmd("device_add", **args)
        except QMPError:
            self.cmd("object-del", id=f"{dev}-mem")
            raise
        return dev

    def dimm_info(self, dev):
        for d in self.memdevs():
            if d["type"] == "dimm" and d["data"].get("id") == dev:
                return d["data"]["addr"], d["data"]["size"]
        raise QMPError(f"no DIMM {dev}")

    def dimm_del(self, dev, timeout=60.0):
        try:
            self.dimm_info(dev)
        except QMPError:
            # Gone since an earlier wait gave up: only its backend is left.
            if f"{dev}-mem" not in self._objects():
                raise
            self.cmd("object-del", id=f"{dev}-mem")
            return
        self.cmd("device_del", id=dev)
        if self.wait_event("DEVICE_DELETED", {"device": dev}, timeout) is None:
            raise QMPError(f"{dev}: guest did not release it within {timeout:g} s")
        self.cmd("object-del", id=f"{dev}-mem")

    def vmem_add(self, size, requested="0"):
        objects = self._objects()
        n = 0
        while f"vmh{n}-mem" in objects:
            n += 1
        dev = f"vmh{n}"
        self.cmd("object-add", **{"qom-type": "memory-backend-ram", "id": f"{dev}-mem",
                                  "size": parse_size(size)})
        try:
            self.cmd("device_add", driver="virtio-mem-pci", id=dev, memdev=f"{dev}-mem",
                     **{"requested-size": parse_size(requested)})
        except QMPError:
            self.cmd("object-del", id=f"{dev}-mem")
            raise
        return dev

    def vmem_set(self, dev, size):
        self.cmd("qom-set", path=dev, property="requested-size", value=parse_size(size))

    def vmem_size(self, dev):
        return int(self.cmd("qom-get", path=dev, property="size"))

    def vmem_wait(self, dev, size, timeout=60.0):
        want = parse_size(size)
        deadline = time.monotonic() + timeout
        while True:
            got = self.vmem_size(dev)
            if got == want or time.monotonic() > deadline:
                return got, got == want
            time.sleep(0.25)


def run_command(qmp, argv):
    """One hot(un)plug command -> (rc, one-line text). Shared by CLI and runner."""
    if not argv:
        raise QMPError("no command")
    cmd, args = argv[0], argv[1:]
    if cmd == "dimm-add" and 1 <= len(args) <= 2:
        return 0, qmp.dimm_add(*args)
    if cmd == "dimm-del" and 1 <= len(args) <= 2:
        qmp.dimm_del(args[0], float(args[1]) if len(args) > 1 else 60.0)
        return 0, "deleted"
    if cmd == "dimm-info" and len(args) == 1:
        addr, size = qmp.dimm_info(args[0])
        return 0, f"{addr} {size}"
    if cmd == "vmem-set" and len(args) == 2:
        qmp.vmem_set(*args)
        return 0, ""
    if cmd == "vmem-size" and len(args) == 1:
        return 0, str(qmp.vmem_size(args[0]))
    if cmd == "vmem-wait" and 2 <= len(args) <= 3:
        got, ok = qmp.vmem_wait(args[0], args[1], float(args[2]) if len(args) > 2 else 60.0)
        return (0 if ok else 1), str(got)
    if cmd == "vmem-add" and 1 <= len(args) <= 2:
        return 0, qmp.vmem_add(*args)
    if cmd == "memdevs" and not args:
        return 0, json.dumps(qmp.memdevs(), separators=(",", ":"))
    raise QMPError(f"unknown command or wrong arguments: {' '.join(argv)}")


def main(argv):
    if len(argv) < 3 or argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if len(argv) > 1 and argv[1] in ("-h", "--help") else 2
    try:
        qmp = QMP(argv[1], timeout=5.0)
        rc, text = run_command(qmp, argv[2:])
    except (QMPError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    if text:
        print(text)
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv))
