/* net [OPTION=VALUE...] COMMAND [ARGS]: drives a virtio-net device with the guest's own driver (over the modern
 * virtio-pci core of lib/virtio_pci.c, polled, interrupts off). The same ELF runs on the VMM and, through its PVH
 * note, under QEMU's -kernel (-device virtio-net-pci).
 *
 * Commands (one per run):
 *   info             prints mac=, status=, mtu=, device_features=, driver_features=, then "info ok"
 *   echo N           receives frames and sends each back with the MAC addresses swapped, byte for byte otherwise;
 *                    prints "echo ready" once its receive buffers are posted and "echo done frames=N" after N frames
 *                    (N=0: forever). When the device sets VIRTIO_NET_S_ANNOUNCE (after a migration) it broadcasts one
 *                    frame of ethertype 0x88b5 holding "ANNOUNCE" and its MAC, acknowledges over the control queue
 *                    (VIRTIO_NET_CTRL_ANNOUNCE_ACK) and prints "announce acked"
 *   send N SIZE      sends N broadcast frames of SIZE bytes (ethertype 0x88b5, the frame's number in bytes 14..21,
 *                    then bytes (i + k) & 0xff), prints "send frames=N bytes= us=" after the device took them all
 *   ping N MS        sends N frames (0: without end) to dst=MAC, one every MS milliseconds, and counts the echoes of an echo
 *                    guest: prints "ping ready", "ping progress sent= received= max_gap_ms= recent_gap_ms=" every 100
 *                    frames, then "ping sent= received= lost= max_gap_ms= rtt_p50_us=" (max_gap_ms: the longest time
 *                    without an echo, i.e. how long the peer was out of reach)
 *   garbage          makes a transmit descriptor point outside guest memory and notifies: prints "garbage status=0x..
 *                    needs_reset=1" once the device asked for a reset (exit 0), or "garbage FAIL" (exit 2)
 *   oversize         sends one frame of MTU + 19 bytes (one over what the device passes), then one frame of 60 bytes
 *                    whose payload says "AFTER-OVERSIZE"; prints "oversize sent"
 *   promisc 0|1      VIRTIO_NET_CTRL_RX_PROMISC: prints "promisc ack=0" (0 is VIRTIO_NET_OK)
 * Options: nic=I (the I-th virtio-net, default 0); feat=LIST of mrg, event_idx, indirect, ctrl (CTRL_VQ + CTRL_RX),
 * announce (GUEST_ANNOUNCE, with ctrl), all or none (default all; VERSION_1, MAC, MTU, STATUS always when offered);
 * rxbuf=BYTES each receive buffer (default 2048; without mrg it must hold the MTU's largest frame and the header);
 * promisc=0|1 (sends VIRTIO_NET_CTRL_RX_PROMISC before the command, so that echo receives only frames for its MAC,
 * broadcast and multicast); delay_ms=N (echo: waits N ms after "echo ready" before it takes any frame); timeout_ms=N (a send's or a control
 * command's bound, default 10000); dst=MAC (ping's peer); tsc_khz=N (default: measured against the PIT).
 * Exit status: 0, 2 on a device error or timeout, 4 on bad arguments. No native build: it drives PCI hardware. */
#include "guest.h"
#include "options.h"
#include "virtio_pci.h"

#define VIRTIO_ID_NET_MODERN 0x1041
#define VIRTIO_NET_F_MTU 3
#define VIRTIO_NET_F_MAC 5
#define VIRTIO_NET_F_MRG_RXBUF 15
#define VIRTIO_NET_F_STATUS 16
#define VIRTIO_NET_F_CTRL_VQ 17
#define VIRTIO_NET_F_CTRL_RX 18
#define VIRTIO_NET_F_GUEST_ANNOUNCE 21
#define VIRTIO_NET_S_LINK_UP 1
#define VIRTIO_NET_S_ANNOUNCE 2
#define NET_HDR 12
#define RXQ 0
#define TXQ 1
#define CTRLQ 2
#define TX_SLOTS 64
#define TX_SLOT_BYTES 16384
#define ETHERTYPE_TEST 0x88b5

static struct virtio_dev g_dev;
static u8 g_mac[6];
static u16 g_mtu = 1500;
static u64 g_rxbuf;
static u8 *g_rx_mem, *g_tx_mem, *g_ctrl_mem;
static u8 g_tx_busy[TX_SLOTS];
static int g_tx_free = TX_SLOTS;
static u64 g_tsc_khz, g_timeout_ms;
static int g_argc;
static char **g_argv;
static int g_bad_args;

/* ---- arguments ---- */

static const char *opt(const char *name)
{
    return opt_in(g_argc, g_argv, name);
}

static void bad(const char *what, const char *value)
{
    opt_report_bad("net", what, value, &g_bad_args);
}

static u64 opt_u64(const char *name, u64 fallback)
{
    return opt_u64_in(g_argc, g_argv, name, fallback, "net", &g_bad_args);
}

static u64 parse_features(const char *s)
{
    u64 mrg = 1UL << VIRTIO_NET_F_MRG_RXBUF, ev = 1UL << VIRTIO_RING_F_EVENT_IDX, ind = 1UL << VIRTIO_RING_F_INDIRECT_DESC;
    u64 ctrl = 1UL << VIRTIO_NET_F_CTRL_VQ | 1UL << VIRTIO_NET_F_CTRL_RX, ann = 1UL << VIRTIO_NET_F_GUEST_ANNOUNCE;
    u64 want = 0;
    if (!s)
        return mrg | ev | ind | ctrl | ann;
    while (*s) {
        char word[16];
        int n = 0;
        while (*s && *s != ',' && n < 15)
            word[n++] = *s++;
        word[n] = 0;
        while (*s && *s != ',')
            s++;
        if (*s == ',')
            s++;
        if (str_eq(word, "all"))
            want |= mrg | ev | ind | ctrl | ann;
        else if (str_eq(word, "mrg"))
            want |= mrg;
        else if (str_eq(word, "event_idx"))
            want |= ev;
        else if (str_eq(word, "indirect"))
            want |= ind;
        else if (str_eq(word, "ctrl"))
            want |= ctrl;
        else if (str_eq(word, "announce"))
            want |= ann | ctrl;
        else if (!str_eq(word, "none"))
            bad("feature", word);
    }
    return want;
}

static void kv(const char *key, u64 v)
{
    put_char(' ');
    put_str(key);
    put_char('=');
    put_u64(v);
}

static void put_mac(const u8 *m)
{
    const char *hex = "0123456789abcdef";
    for (int i = 0; i < 6; i++) {
        if (i)
            put_char(':');
        put_char(hex[m[i] >> 4]);
        put_char(hex[m[i] & 15]);
    }
}

/* ---- the device ---- */

static u16 cfg_status(void) { return *(volatile u16 *)(g_dev.device_cfg + 6); }

static int net_open(int index, u64 wanted)
{
    if (virtio_find(&g_dev, VIRTIO_ID_NET_MODERN, index, 0))
        return -1;
    wanted |= 1UL << VIRTIO_NET_F_MAC | 1UL << VIRTIO_NET_F_MTU | 1UL << VIRTIO_NET_F_STATUS;
    if (virtio_negotiate(&g_dev, wanted))
        return -1;
    int nq = virtio_has(&g_dev, VIRTIO_NET_F_CTRL_VQ) ? 3 : 2;
    if (virtio_setup_queues(&g_dev, nq))
        return -1;
    for (int i = 0; i < 6; i++)
        g_mac[i] = g_dev.device_cfg[i];
    if (virtio_has(&g_dev, VIRTIO_NET_F_MTU))
        g_mtu = *(volatile u16 *)(g_dev.device_cfg + 10);
    virtio_driver_ok(&g_dev);
    return 0;
}

static u64 max_frame(void) { return (u64)g_mtu + 18; }

/* Posts every receive buffer: descriptor i is buffer i, one device-writable descriptor each. */
static int rx_setup(void)
{
    struct virtq *q = &g_dev.vq[RXQ];
    if (!virtio_has(&g_dev, VIRTIO_NET_F_MRG_RXBUF) && g_rxbuf < max_frame() + NET_HDR) {
        put_str("net: rxbuf= is smaller than a frame and its header without mrg\n");
        return -1;
    }
    if (g_rxbuf < NET_HDR) {
        put_str("net: rxbuf= is smaller than the header\n");
        return -1;
    }
    g_rx_mem = alloc_region(g_rxbuf * q->size);
    for (u16 i = 0; i < q->size; i++) {
        q->desc[i].addr = (u64)(g_rx_mem + g_rxbuf * i);
        q->desc[i].len = (u32)g_rxbuf;
        q->desc[i].flags = VRING_DESC_F_WRITE;
        q->desc[i].next = 0;
        virtq_push(q, i);
    }
    virtq_kick(&g_dev, q);
    return 0;
}

/* Takes back transmit slots the device finished with. */
static void tx_reclaim(void)
{
    u32 id, len;
    while (virtq_pop(&g_dev, &g_dev.vq[TXQ], &id, &len))
        if (id < TX_SLOTS && g_tx_busy[id]) {
            g_tx_busy[id] = 0;
            g_tx_free++;
        }
}

/* A free transmit slot (its header cleared), waiting for one up to the timeout: its index, or -1. */
static int tx_slot(void)
{
    u64 deadline = rdtsc() + g_timeout_ms * g_tsc_khz;
    while (!g_tx_free) {
        tx_reclaim();
        if (!g_tx_free && rdtsc() > deadline) {
            put_str("net: transmit timed out\n");
            return -1;
        }
    }
    for (int i = 0; i < TX_SLOTS; i++)
        if (!g_tx_busy[i]) {
            memset(g_tx_mem + (u64)i * TX_SLOT_BYTES, 0, NET_HDR);
            return i;
        }
    return -1;
}

/* Queues slot s holding a header and a frame of len bytes (no kick). */
static void tx_submit(int s, u64 len)
{
    struct virtq *q = &g_dev.vq[TXQ];
    q->desc[s].addr = (u64)(g_tx_mem + (u64)s * TX_SLOT_BYTES);
    q->desc[s].len = (u32)(NET_HDR + len);
    q->desc[s].flags = 0;
    q->desc[s].next = 0;
    g_tx_busy[s] = 1;
    g_tx_free--;
    virtq_push(q, (u16)s);
}

static u8 *tx_frame(int s) { return g_tx_mem + (u64)s * TX_SLOT_BYTES + NET_HDR; }

/* Waits until every transmit slot is back. */
static int tx_flush(void)
{
    virtq_kick(&g_dev, &g_dev.vq[TXQ]);
    u64 deadline = rdtsc() + g_timeout_ms * g_tsc_khz;
    while (g_tx_free < TX_SLOTS) {
        tx_reclaim();
        if (rdtsc() > deadline) {
            put_str("net: transmit flush timed out\n");
            return -1;
        }
    }
    return 0;
}

/* One control command with data: the ack (0 = VIRTIO_NET_OK), or -1 on a timeout. */
static int ctrl(u8 cls, u8 cmd, const u8 *data, u32 len)
{
    struct virtq *q = &g_dev.vq[CTRLQ];
    if (!virtio_has(&g_dev, VIRTIO_NET_F_CTRL_VQ)) {
        put_str("net: no control queue negotiated\n");
        return -1;
    }
    u8 *m = g_ctrl_mem;
    m[0] = cls;
    m[1] = cmd;
    memcpy(m + 16, data, len);
    m[512] = 0xff;
    q->desc[0] = (struct vring_desc){(u64)m, 2, VRING_DESC_F_NEXT, 1};
    u16 next_ack = 1;
    if (len) {
        q->desc[1] = (struct vring_desc){(u64)(m + 16), len, VRING_DESC_F_NEXT, 2};
        next_ack = 2;
    } else
        q->desc[0].next = 1;
    q->desc[next_ack] = (struct vring_desc){(u64)(m + 512), 1, VRING_DESC_F_WRITE, 0};
    virtq_push(q, 0);
    virtq_kick(&g_dev, q);
    u64 deadline = rdtsc() + g_timeout_ms * g_tsc_khz;
    u32 id, l;
    while (!virtq_pop(&g_dev, q, &id, &l))
        if (rdtsc() > deadline) {
            put_str("net: control command timed out\n");
            return -1;
        }
    return *(volatile u8 *)(m + 512);
}

/* ---- commands ---- */

static int cmd_info(void)
{
    put_str("info mac=");
    put_mac(g_mac);
    kv("status", cfg_status());
    kv("mtu", g_mtu);
    put_str(" device_features=");
    put_hex(g_dev.device_features);
    put_str(" driver_features=");
    put_hex(g_dev.driver_features);
    put_str(" info ok\n");
    return 0;
}

static int announce(void)
{
    int s = tx_slot();
    if (s < 0)
        return -1;
    u8 *f = tx_frame(s);
    memset(f, 0xff, 6);
    memcpy(f + 6, g_mac, 6);
    f[12] = ETHERTYPE_TEST >> 8;
    f[13] = ETHERTYPE_TEST & 0xff;
    memcpy(f + 14, "ANNOUNCE", 8);
    memcpy(f + 22, g_mac, 6);
    memset(f + 28, 0, 32);
    tx_submit(s, 60);
    virtq_kick(&g_dev, &g_dev.vq[TXQ]);
    int ack = ctrl(3, 0, 0, 0); /* VIRTIO_NET_CTRL_ANNOUNCE, _ACK */
    put_str("announce acked");
    kv("ack", (u64)ack);
    put_char('\n');
    return ack == 0 ? 0 : -1;
}

static int cmd_echo(u64 n)
{
    struct virtq *rx = &g_dev.vq[RXQ];
    int mrg = virtio_has(&g_dev, VIRTIO_NET_F_MRG_RXBUF);
    int can_announce = virtio_has(&g_dev, VIRTIO_NET_F_GUEST_ANNOUNCE);
    if (rx_setup())
        return 2;
    put_str("echo ready\n");
    u64 delay = opt_u64("delay_ms", 0);
    if (delay) {
        u64 until = rdtsc() + delay * g_tsc_khz;
        while (rdtsc() < until)
            cpu_relax();
    }
    u64 frames = 0, idle = 0, checked = rdtsc();
    while (!n || frames < n) {
        u32 id, len;
        if (!virtq_pop(&g_dev, rx, &id, &len)) {
            tx_reclaim();
            /* Now and then (a config read is an exit to the VMM), look for an announce request: every 100 ms while
             * frames keep coming (a peer pinging it while it migrates), and after 200000 idle polls. */
            if (can_announce && (++idle % 200000 == 0 || rdtsc() - checked > 100 * g_tsc_khz)) {
                checked = rdtsc();
                if ((cfg_status() & VIRTIO_NET_S_ANNOUNCE) && announce())
                    return 2;
            }
            cpu_relax();
            continue;
        }
        idle = 0;
        if (id >= rx->size || len < NET_HDR || len > g_rxbuf) {
            put_str("net: bad used entry id=");
            put_u64(id);
            kv("len", len);
            put_char('\n');
            return 2;
        }
        u8 *first = g_rx_mem + g_rxbuf * id;
        u16 nbuf = mrg ? *(u16 *)(first + 10) : 1;
        int s = tx_slot();
        if (s < 0)
            return 2;
        u8 *out = tx_frame(s);
        u64 got = len - NET_HDR;
        if (got > TX_SLOT_BYTES - NET_HDR) {
            put_str("net: frame too large for a transmit slot\n");
            return 2;
        }
        memcpy(out, first + NET_HDR, got);
        u16 reposted[256];
        int nre = 0;
        reposted[nre++] = (u16)id;
        for (u16 b = 1; b < nbuf; b++) {
            u64 deadline = rdtsc() + g_timeout_ms * g_tsc_khz;
            while (!virtq_pop(&g_dev, rx, &id, &len))
                if (rdtsc() > deadline) {
                    put_str("net: a merged frame's next buffer never came\n");
                    return 2;
                }
            if (id >= rx->size || len > g_rxbuf || got + len > TX_SLOT_BYTES - NET_HDR || nre >= 256) {
                put_str("net: bad merged buffer\n");
                return 2;
            }
            memcpy(out + got, g_rx_mem + g_rxbuf * id, len);
            got += len;
            reposted[nre++] = (u16)id;
        }
        for (int i = 0; i < nre; i++)
            virtq_push(rx, reposted[i]);
        virtq_kick(&g_dev, rx);
        if (got >= 12) {
            u8 t[6];
            memcpy(t, out, 6);
            memcpy(out, out + 6, 6);
            memcpy(out + 6, t, 6);
        }
        tx_submit(s, got);
        virtq_kick(&g_dev, &g_dev.vq[TXQ]);
        frames++;
    }
    if (tx_flush())
        return 2;
    put_str("echo done");
    kv("frames", frames);
    put_char('\n');
    return 0;
}

static void fill_test_frame(u8 *f, u64 size, u64 seq)
{
    memset(f, 0xff, 6);
    memcpy(f + 6, g_mac, 6);
    f[12] = ETHERTYPE_TEST >> 8;
    f[13] = ETHERTYPE_TEST & 0xff;
    for (u64 k = 14; k < size; k++)
        f[k] = (u8)(seq + k);
    for (int b = 0; b < 8 && 14 + b < (int)size; b++)
        f[14 + b] = (u8)(seq >> (8 * b));
}

static int cmd_send(u64 n, u64 size)
{
    if (size < 14 || size > TX_SLOT_BYTES - NET_HDR) {
        put_str("net: send SIZE must be 14..16372\n");
        return 4;
    }
    u64 t0 = rdtsc();
    for (u64 i = 0; i < n; i++) {
        int s = tx_slot();
        if (s < 0)
            return 2;
        fill_test_frame(tx_frame(s), size, i);
        tx_submit(s, size);
        if (g_tx_free == 0 || i + 1 == n)
            virtq_kick(&g_dev, &g_dev.vq[TXQ]);
    }
    if (tx_flush())
        return 2;
    u64 us = (rdtsc() - t0) * 1000 / g_tsc_khz;
    put_str("send");
    kv("frames", n);
    kv("bytes", n * size);
    kv("us", us);
    put_char('\n');
    return 0;
}

static int mac_eq(const u8 *a, const u8 *b)
{
    for (int i = 0; i < 6; i++)
        if (a[i] != b[i])
            return 0;
    return 1;
}

/* Parses "aa:bb:cc:dd:ee:ff" into m: 1, or 0 when it is not a MAC. */
static int parse_mac(const char *s, u8 *m)
{
    for (int i = 0; i < 6; i++) {
        u8 v = 0;
        for (int k = 0; k < 2; k++) {
            char c = *s++;
            u8 d = c >= '0' && c <= '9' ? (u8)(c - '0') : c >= 'a' && c <= 'f' ? (u8)(c - 'a' + 10)
                 : c >= 'A' && c <= 'F' ? (u8)(c - 'A' + 10) : 0xff;
            if (d == 0xff)
                return 0;
            v = (u8)(v << 4 | d);
        }
        m[i] = v;
        if (i < 5 && *s++ != ':')
            return 0;
    }
    return *s == 0;
}

/* Sends N frames (0: without end) to dst=, one every INTERVAL_MS, and counts their echoes (an echo guest swaps the MAC
 * addresses). The longest time without an echo (from the first send, between echoes, and to the end of the wait for the
 * last ones) is how long the peer was out of reach, e.g. while it migrated. Prints "ping ready", then every 100 frames
 * "ping progress sent=N received=N max_gap_ms=N recent_gap_ms=N" (the figures so far; recent: the longest gap since the
 * previous progress line, one still open included), and at the end "ping sent=N received=N lost=N
 * max_gap_ms=N rtt_p50_us=N". */
static int cmd_ping(u64 n, u64 interval_ms)
{
    u8 dst[6];
    const char *d = opt("dst");
    if (!d || !parse_mac(d, dst)) {
        put_str("net: ping needs dst=MAC\n");
        return 4;
    }
    if (interval_ms == 0) {
        put_str("net: ping INTERVAL_MS must be at least 1\n");
        return 4;
    }
    struct virtq *rx = &g_dev.vq[RXQ];
    if (rx_setup())
        return 2;
    put_str("ping ready\n");
    static u32 rtt_us[4096];
    u64 sent = 0, received = 0, nrtt = 0, max_gap = 0, recent_gap = 0;
    u64 t0 = rdtsc(), last = t0, next = t0, wait_until = 0;
    for (;;) {
        u64 now = rdtsc();
        if ((n == 0 || sent < n) && now >= next) {
            int s = tx_slot();
            if (s < 0)
                return 2;
            u8 *f = tx_frame(s);
            memcpy(f, dst, 6);
            memcpy(f + 6, g_mac, 6);
            f[12] = ETHERTYPE_TEST >> 8;
            f[13] = ETHERTYPE_TEST & 0xff;
            memcpy(f + 14, &sent, 8);
            memcpy(f + 22, &now, 8);
            memset(f + 30, 0, 30);
            tx_submit(s, 60);
            virtq_kick(&g_dev, &g_dev.vq[TXQ]);
            sent++;
            next += interval_ms * g_tsc_khz;
            if (sent % 100 == 0) {
                u64 open_gap = now - last;
                put_str("ping progress");
                kv("sent", sent);
                kv("received", received);
                kv("max_gap_ms", (open_gap > max_gap ? open_gap : max_gap) / g_tsc_khz);
                kv("recent_gap_ms", (open_gap > recent_gap ? open_gap : recent_gap) / g_tsc_khz);
                put_char('\n');
                recent_gap = 0;
            }
            if (sent == n)
                wait_until = now + 1000 * g_tsc_khz;
        }
        if (n && sent == n && now >= wait_until)
            break;
        u32 id, len;
        if (!virtq_pop(&g_dev, rx, &id, &len)) {
            tx_reclaim();
            cpu_relax();
            continue;
        }
        if (id >= rx->size || len > g_rxbuf) {
            put_str("net: bad used entry\n");
            return 2;
        }
        u8 *fr = g_rx_mem + g_rxbuf * id + NET_HDR;
        /* Only a single-buffer echo of ours counts: to our MAC, from dst, our ethertype. */
        if (len >= NET_HDR + 30 && mac_eq(fr, g_mac) && mac_eq(fr + 6, dst)
            && fr[12] == (ETHERTYPE_TEST >> 8) && fr[13] == (ETHERTYPE_TEST & 0xff)) {
            u64 stamp;
            memcpy(&stamp, fr + 22, 8);
            now = rdtsc();
            if (now - last > max_gap)
                max_gap = now - last;
            if (now - last > recent_gap)
                recent_gap = now - last;
            last = now;
            if (nrtt < sizeof rtt_us / sizeof rtt_us[0] && stamp <= now)
                rtt_us[nrtt++] = (u32)((now - stamp) * 1000 / g_tsc_khz);
            received++;
        }
        virtq_push(rx, (u16)id);
        virtq_kick(&g_dev, rx);
    }
    u64 end = rdtsc();
    if (end - last > max_gap)
        max_gap = end - last;
    /* The median round trip: a partial selection sort is enough for a few thousand samples. */
    u64 p50 = 0;
    if (nrtt) {
        for (u64 i = 0; i <= nrtt / 2; i++)
            for (u64 j = i + 1; j < nrtt; j++)
                if (rtt_us[j] < rtt_us[i]) {
                    u32 t = rtt_us[i];
                    rtt_us[i] = rtt_us[j];
                    rtt_us[j] = t;
                }
        p50 = rtt_us[nrtt / 2];
    }
    if (tx_flush())
        return 2;
    put_str("ping");
    kv("sent", sent);
    kv("received", received);
    kv("lost", received < sent ? sent - received : 0);
    kv("max_gap_ms", max_gap / g_tsc_khz);
    kv("rtt_p50_us", p50);
    put_char('\n');
    return received ? 0 : 2;
}

static int cmd_garbage(void)
{
    struct virtq *q = &g_dev.vq[TXQ];
    q->desc[0] = (struct vring_desc){0x7fff00000000UL, 64, 0, 0};
    virtq_push(q, 0);
    virtq_kick(&g_dev, q);
    u64 deadline = rdtsc() + g_timeout_ms * g_tsc_khz;
    while (rdtsc() < deadline) {
        u8 st = virtio_status(&g_dev);
        if (st & VIRTIO_STATUS_NEEDS_RESET) {
            put_str("garbage status=");
            put_hex(st);
            put_str(" needs_reset=1\n");
            return 0;
        }
    }
    put_str("garbage FAIL the device never asked for a reset\n");
    return 2;
}

static int cmd_oversize(void)
{
    int s = tx_slot();
    if (s < 0)
        return 2;
    fill_test_frame(tx_frame(s), max_frame() + 1, 0);
    tx_submit(s, max_frame() + 1);
    s = tx_slot();
    if (s < 0)
        return 2;
    fill_test_frame(tx_frame(s), 60, 1);
    memcpy(tx_frame(s) + 22, "AFTER-OVERSIZE", 14);
    tx_submit(s, 60);
    if (tx_flush())
        return 2;
    put_str("oversize sent\n");
    return 0;
}

static int usage(void)
{
    put_str("usage: net [OPTION=VALUE...] info | echo N | send N SIZE | ping N INTERVAL_MS | garbage | oversize | promisc 0|1\n"
            "  options: nic= feat= rxbuf= delay_ms= timeout_ms= tsc_khz= (see guests/net.c)\n");
    return 4;
}

int guest_main(int argc, char **argv)
{
    g_argc = argc;
    g_argv = argv;
    char *words[4];
    int nwords = 0;
    for (int i = 0; i < argc; i++)
        if (!has_eq(argv[i])) {
            if (nwords == 4)
                return usage();
            words[nwords++] = argv[i];
        }
    if (nwords == 0)
        return usage();
    u64 wanted = parse_features(opt("feat"));
    u64 nic = opt_u64("nic", 0);
    g_rxbuf = opt_u64("rxbuf", 2048);
    g_timeout_ms = opt_u64("timeout_ms", 10000);
    g_tsc_khz = opt_u64("tsc_khz", 0);
    opt_u64("delay_ms", 0);
    const char *promisc = opt("promisc");
    u64 a = 0, b = 0;
    const char *c = words[0];
    int arity = str_eq(c, "echo") || str_eq(c, "promisc") ? 1 : str_eq(c, "send") || str_eq(c, "ping") ? 2
              : str_eq(c, "info") || str_eq(c, "garbage") || str_eq(c, "oversize") ? 0 : -1;
    if (arity < 0)
        bad("command", c);
    else if (nwords != arity + 1 || (arity >= 1 && !parse_u64(words[1], &a)) || (arity == 2 && !parse_u64(words[2], &b)))
        bad("arguments for", c);
    if (g_bad_args)
        return usage();
    if (g_tsc_khz == 0)
        g_tsc_khz = tsc_per_ms();
    if (net_open((int)nic, wanted))
        return 2;
    g_tx_mem = alloc_region((u64)TX_SLOTS * TX_SLOT_BYTES);
    g_ctrl_mem = alloc_region(4096);
    if (promisc) {
        int ack = ctrl(0, 0, (const u8 *)&(u8){(u8)(promisc[0] != '0')}, 1);
        if (ack != 0) {
            put_str("net: promisc= was refused\n");
            return 2;
        }
    }
    if (str_eq(c, "info"))
        return cmd_info();
    if (str_eq(c, "echo"))
        return cmd_echo(a);
    if (str_eq(c, "send"))
        return cmd_send(a, b);
    if (str_eq(c, "ping"))
        return cmd_ping(a, b);
    if (str_eq(c, "garbage"))
        return cmd_garbage();
    if (str_eq(c, "oversize"))
        return cmd_oversize();
    int ack = ctrl(0, 0, (const u8 *)&(u8){(u8)(a != 0)}, 1);
    put_str("promisc");
    kv("ack", (u64)(ack < 0 ? 255 : ack));
    put_char('\n');
    return ack == 0 ? 0 : 2;
}
