#!/usr/bin/python3
# SPDX-License-Identifier: MIT
#
# Host side of guest-requested hot plug (run.sh --hotplug): follow the
# guest's result channel (a file QEMU's second serial port writes) and turn
# "# mlu-guest: qmp device_del mluN" / "... device_add mluN" lines into QMP
# commands on QEMU's monitor socket.  Card N sits on pcie-root-port mlu_rpN
# (run.sh names them so).  Ends when QEMU closes the socket.
#
# Usage: qmp-agent.py SERIAL_FILE QMP_SOCKET LOG_FILE

import json
import re
import socket
import sys
import time

REQUEST = re.compile(r"^# mlu-guest: qmp (device_del|device_add) mlu([0-9]+)\s*$")


def connect(path, log):
    for _ in range(600):
        try:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.connect(path)
            return sock
        except OSError:
            time.sleep(0.1)
    log.write("qmp-agent: no QMP socket at %s\n" % path)
    sys.exit(1)


class Qmp:
    def __init__(self, sock, log):
        self.sock = sock
        self.log = log
        self.buf = b""
        self.read_reply()                     # greeting
        self.command("qmp_capabilities")

    def read_line(self):
        while b"\n" not in self.buf:
            data = self.sock.recv(4096)
            if not data:
                raise EOFError
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def read_reply(self):
        while True:
            msg = self.read_line()
            if "event" in msg:
                self.log.write("event: %s\n" % json.dumps(msg))
                continue
            return msg

    def command(self, name, **args):
        req = {"execute": name}
        if args:
            req["arguments"] = args
        self.sock.sendall(json.dumps(req).encode() + b"\n")
        reply = self.read_reply()
        self.log.write("%s -> %s\n" % (json.dumps(req), json.dumps(reply)))
        return "error" not in reply


def handle(qmp, action, card):
    dev_id = "mlu%d" % card
    if action == "device_del":
        qmp.command("device_del", id=dev_id)
        return
    # The id stays taken until the guest has released the slot: retry.
    for _ in range(120):
        if qmp.command("device_add", driver="mlu", bus="mlu_rp%d" % card, id=dev_id):
            return
        time.sleep(0.5)


def main():
    serial_file, qmp_path, log_path = sys.argv[1:4]
    with open(log_path, "a", buffering=1) as log:
        qmp = Qmp(connect(qmp_path, log), log)
        pos = 0
        pending = b""
        while True:
            try:
                with open(serial_file, "rb") as f:
                    f.seek(pos)
                    data = f.read()
            except FileNotFoundError:
                data = b""
            pos += len(data)
            pending += data
            *lines, pending = pending.split(b"\n")
            for raw in lines:
                m = REQUEST.match(raw.decode("utf-8", "replace").rstrip("\r"))
                if m:
                    handle(qmp, m.group(1), int(m.group(2)))
            # A closed socket means QEMU exited.
            qmp.sock.settimeout(0.2)
            try:
                data = qmp.sock.recv(4096)
                if not data:
                    return
                qmp.buf += data
            except socket.timeout:
                pass
            except OSError:
                return
            qmp.sock.settimeout(None)


if __name__ == "__main__":
    try:
        main()
    except (EOFError, ConnectionError):
        pass
