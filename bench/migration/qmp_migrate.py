#!/usr/bin/env python3
"""Drives one QEMU live migration over QMP (unix sockets) for bench/migration/run.

usage: qmp_migrate.py SRC_QMP SERIAL PORT MAX_BANDWIDTH DOWNTIME_MS TIMEOUT_S

Waits until the source guest printed "filled", measures the dirty rate it really achieves from its
"dirtied N" lines over 1.5 s, sets max-bandwidth and downtime-limit, starts `migrate` to
tcp:127.0.0.1:PORT, polls `query-migrate` every 20 ms and prints one line of key=value pairs.
"""
import json
import re
import socket
import sys
import time


class Qmp:
    def __init__(self, path):
        deadline = time.time() + 20
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.connect(path)
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.05)
        self.file = self.sock.makefile("rw")
        json.loads(self.file.readline())  # greeting
        self.call("qmp_capabilities")

    def call(self, name, args=None):
        msg = {"execute": name}
        if args:
            msg["arguments"] = args
        self.file.write(json.dumps(msg) + "\n")
        self.file.flush()
        while True:
            reply = json.loads(self.file.readline())
            if "return" in reply:
                return reply["return"]
            if "error" in reply:
                raise RuntimeError(f"{name}: {reply['error']}")


def last_dirtied(serial):
    with open(serial, "rb") as f:
        found = re.findall(rb"dirtied (\d+)\n", f.read())
    return int(found[-1]) if found else 0


def main():
    qmp_path, serial, port, bandwidth, downtime_ms, timeout = sys.argv[1:7]
    deadline = time.time() + 60
    while b"filled\n" not in open(serial, "rb").read():
        if time.time() > deadline:
            print('converged=0 reason="the guest did not fill its memory"')
            return 1
        time.sleep(0.01)
    time.sleep(0.1)
    before, t0 = last_dirtied(serial), time.time()
    time.sleep(1.5)
    achieved = (last_dirtied(serial) - before) / (time.time() - t0)

    q = Qmp(qmp_path)
    q.call("migrate-set-parameters", {"max-bandwidth": int(bandwidth), "downtime-limit": int(downtime_ms)})
    q.call("migrate", {"uri": f"tcp:127.0.0.1:{port}"})
    end = time.time() + float(timeout)
    info = {}
    while time.time() < end:
        info = q.call("query-migrate")
        if info.get("status") in ("completed", "failed", "cancelled"):
            break
        time.sleep(0.02)
    status = info.get("status", "none")
    if status not in ("completed", "failed", "cancelled"):
        q.call("migrate_cancel")
    ram = info.get("ram", {})
    print(f"converged={1 if status == 'completed' else 0} achieved_mib_s={achieved:.1f} "
          f"total_ms={info.get('total-time', 0)} downtime_ms={info.get('downtime', 0)} "
          f"wire_bytes={ram.get('transferred', 0)} rounds={ram.get('dirty-sync-count', 0)} status={status}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
