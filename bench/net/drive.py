#!/usr/bin/env python3
"""Host side of bench/net: an AF_PACKET socket on IFACE talks to the echo guest at MAC (guests/net.c, "echo 0").

  drive.py IFACE MAC SECONDS SIZE WINDOW PINGS
Round trips: PINGS frames of 64 bytes, one at a time (after 100 untimed), each timed from send to its echo.
Throughput: SECONDS of frames of SIZE bytes with WINDOW in flight, a new one sent for each echo; a window that
gets no echo for 200 ms is refilled (the frames counted lost). Prints one line:
  rtt_p50_us=N rtt_p99_us=N echo_fps=N echo_mbit_s=N lost=N
"""
import select, socket, struct, sys, time

iface, mac, seconds, size, window, pings = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
ETH_P_ALL, PACKET_OUTGOING, ETHERTYPE = 3, 4, 0x88B5
guest = bytes.fromhex(mac.replace(":", ""))
host = bytes.fromhex("026e64000002")
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
s.setsockopt(socket.SOL_SOCKET, 33, 8 << 20)  # SO_RCVBUFFORCE
s.bind((iface, 0))
s.setblocking(False)
poller = select.poll()
poller.register(s, select.POLLIN)


def frame(tag, n):
    head = guest + host + struct.pack("!H", ETHERTYPE) + struct.pack("<Q", tag)
    return head + bytes((tag + i) & 0xFF for i in range(n - len(head)))


def receive(timeout_s):
    """The tag of the next echo (MACs swapped, our ethertype), or None after timeout_s."""
    deadline = time.perf_counter() + timeout_s
    while True:
        try:
            data, addr = s.recvfrom(65536)
        except BlockingIOError:
            left = deadline - time.perf_counter()
            if left <= 0 or not poller.poll(left * 1000):
                return None
            continue
        if addr[2] == PACKET_OUTGOING or len(data) < 22 or data[12:14] != b"\x88\xb5" or data[0:6] != host or data[6:12] != guest:
            continue
        return struct.unpack("<Q", data[14:22])[0]


tag = 0
rtts = []
for i in range(100 + pings):
    tag += 1
    t0 = time.perf_counter_ns()
    s.send(frame(tag, 64))
    while True:
        got = receive(2.0)
        if got is None or got == tag:
            break
    if got is None:
        continue
    if i >= 100:
        rtts.append((time.perf_counter_ns() - t0) / 1000)
rtts.sort()
p = lambda q: rtts[min(len(rtts) - 1, int(len(rtts) * q))] if rtts else 0

payload = frame(0, size)
in_flight = 0
echoed = lost = 0
start = time.perf_counter()
end = start + seconds
while time.perf_counter() < end:
    while in_flight < window:
        tag += 1
        s.send(payload[:14] + struct.pack("<Q", tag) + payload[22:])
        in_flight += 1
    if receive(0.2) is None:
        lost += in_flight
        in_flight = 0
        continue
    echoed += 1
    in_flight -= 1
elapsed = time.perf_counter() - start
while in_flight and receive(0.2) is not None:
    in_flight -= 1
fps = echoed / elapsed
print(f"rtt_p50_us={p(0.5):.0f} rtt_p99_us={p(0.99):.0f} echo_fps={fps:.0f} echo_mbit_s={fps * size * 8 / 1e6:.1f} lost={lost}")
