/* blk [OPTION=VALUE...] COMMAND ARGS... [COMMAND ARGS...]...: drives a virtio-blk disk with the
 * guest's own driver (lib/virtio_blk.c over modern virtio-pci, polled, interrupts off) and runs the
 * commands in order. The same ELF runs on the VMM and, through its PVH note, under QEMU's -kernel.
 *
 * Commands (SECTORS are 512-byte sectors from start=; SEED any u64):
 *   info                      capacity, block size, queues, features, read-only, serial (GET_ID)
 *   pattern SEED SECTORS      writes the seeded pattern, flushes, reads it back: crc32=, ok or mismatch
 *   check SEED SECTORS        reads and verifies the pattern only (after a migration, a second boot)
 *   crc SECTORS               reads and prints the CRC-32 of the range (zlib's crc32 of those bytes)
 *   seq N                     writes 4 KiB blocks 0..N-1 in order at queue depth 1, block i holding
 *                             SEQ_MAGIC then i in every other u64 (N=0: forever, wrapping over span=);
 *                             gap_us=N waits N microseconds (TSC) after each block, so that the run
 *                             lasts at least N*blocks whatever the host's speed
 *   zero SECTORS              WRITE_ZEROES over the range, then reads it back as zeroes
 *   discard SECTORS           DISCARD of the range (status only)
 *   flush                     one FLUSH
 *   echo WORD                 prints WORD (a marker between phases for a script reading the console)
 *   bench KIND QD LIMIT       KIND randread|randwrite (4 KiB at random aligned offsets in span=),
 *                             seqread|seqwrite (1 MiB in order, wrapping), flush (a 4 KiB write, then
 *                             a timed FLUSH); QD requests in flight; LIMIT a count, or Ns / Nms
 * Options (key=value words) apply to the commands after them; those that open the device (disk,
 * feat, queues, tsc_khz, timeout_ms, fresh_bars) take their last value anywhere. disk=I (the I-th
 * virtio-blk, slot order, default 0); feat=LIST of indirect, event_idx,
 * flush, mq, discard, write_zeroes, or all / none (default flush; VERSION_1, and the informational
 * SIZE_MAX, SEG_MAX, BLK_SIZE, RO are always accepted when offered); queues=N (with mq, default 1);
 * qd=N (pattern, check, crc, zero; default 1); chunk=SECTORS per request there (default 128);
 * start=SECTOR (default 0); span=SECTORS (bench, seq; default to the end of the disk); bs=BYTES
 * (bench, instead of 4 KiB or 1 MiB); seed=N (bench offsets, default 1); tsc_khz=N (the guest's TSC
 * rate; default: measured against the PIT); timeout_ms=N (a request's bound, default 10000);
 * fresh_bars=1 (clear the device's BARs first so that the driver assigns them, as without firmware).
 *
 * Every command prints one line of key=value pairs starting with its name; bench lines carry ops,
 * bytes, ticks (TSC), tsc_khz, us, iops, kib_s and lat_p50_ns/lat_p99_ns (each request's submit to
 * its completion being seen). Exit status: 0, 1 on a data mismatch, 2 on a device error (an error
 * status, a timeout, no device), 4 on bad arguments. No native build: it drives PCI hardware. */
#include "guest.h"
#include "options.h"
#include "virtio_blk.h"

#define SEQ_MAGIC 0x3130515345534b42UL /* "BKSESQ01" */
#define ARENA_BYTES (16UL << 20)
#define MAX_SAMPLES 65536

static struct blk_dev g_blk;
static u8 *g_arena;
static u64 *g_samples;
static u32 g_crc_table[256];
static u64 g_tsc_khz;

static int g_argc;
static char **g_argv;
/* Options are looked up in argv[0..g_opt_end): those before the command that runs. */
static int g_opt_end;

/* ---- arguments ---- */

/* The value of option name=VALUE (the last one given before the running command), or 0. */
static const char *opt(const char *name)
{
    return opt_in(g_opt_end, g_argv, name);
}

static int g_bad_args;

static void bad(const char *what, const char *value)
{
    opt_report_bad("blk", what, value, &g_bad_args);
}

static u64 opt_u64(const char *name, u64 fallback)
{
    return opt_u64_in(g_opt_end, g_argv, name, fallback, "blk", &g_bad_args);
}

static const struct {
    const char *name;
    int bit;
} g_feature_names[] = {
    {"indirect", VIRTIO_RING_F_INDIRECT_DESC}, {"event_idx", VIRTIO_RING_F_EVENT_IDX},
    {"flush", VIRTIO_BLK_F_FLUSH},             {"mq", VIRTIO_BLK_F_MQ},
    {"discard", VIRTIO_BLK_F_DISCARD},         {"write_zeroes", VIRTIO_BLK_F_WRITE_ZEROES},
};
#define NFEATURES (int)(sizeof g_feature_names / sizeof g_feature_names[0])

static u64 parse_features(const char *s)
{
    u64 all = 0, want = 0;
    for (int i = 0; i < NFEATURES; i++)
        all |= 1UL << g_feature_names[i].bit;
    if (!s)
        return 1UL << VIRTIO_BLK_F_FLUSH;
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
        int known = 0;
        if (str_eq(word, "all"))
            want |= all, known = 1;
        else if (str_eq(word, "none"))
            known = 1;
        for (int i = 0; i < NFEATURES; i++)
            if (str_eq(word, g_feature_names[i].name))
                want |= 1UL << g_feature_names[i].bit, known = 1;
        if (!known)
            bad("feature", word);
    }
    return want;
}

/* A LIMIT: a count, or a duration with an s or ms suffix (then *ticks is set and the count is 0). */
static int parse_limit(const char *s, u64 *count, u64 *ticks)
{
    char digits[24];
    int n = 0;
    while (s[n] >= '0' && s[n] <= '9' && n < 23) {
        digits[n] = s[n];
        n++;
    }
    digits[n] = 0;
    u64 v;
    if (!parse_u64(digits, &v))
        return 0;
    *count = 0;
    *ticks = 0;
    if (s[n] == 0)
        *count = v;
    else if (str_eq(s + n, "s"))
        *ticks = v * 1000 * g_tsc_khz;
    else if (str_eq(s + n, "ms"))
        *ticks = v * g_tsc_khz;
    else
        return 0;
    return v > 0;
}

/* ---- output ---- */

static void kv(const char *key, u64 v)
{
    put_char(' ');
    put_str(key);
    put_char('=');
    put_u64(v);
}

static void kvx(const char *key, u64 v)
{
    put_char(' ');
    put_str(key);
    put_char('=');
    put_hex(v);
}

static u64 ticks_to_ns(u64 ticks) { return ticks * 1000000 / g_tsc_khz; }

/* ---- data ---- */

static void crc_init(void)
{
    for (u32 i = 0; i < 256; i++) {
        u32 c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
        g_crc_table[i] = c;
    }
}

/* Running CRC-32 (IEEE, as zlib): start with 0, feed the bytes in order. */
static u32 crc_update(u32 crc, const u8 *p, u64 n)
{
    crc = ~crc;
    while (n--)
        crc = g_crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return ~crc;
}

/* The pattern's u64 at byte offset 8*k of the disk: splitmix64's finaliser of k + seed * golden. */
static u64 pattern_word(u64 seed, u64 k)
{
    u64 z = k + seed * 0x9e3779b97f4a7c15UL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9UL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebUL;
    return z ^ (z >> 31);
}

static void pattern_fill(u64 seed, u64 sector, u64 *buf, u64 sectors)
{
    u64 k0 = sector * 64;
    for (u64 i = 0; i < sectors * 64; i++)
        buf[i] = pattern_word(seed, k0 + i);
}

/* The first sector of buf (from sector) that differs from the pattern, or ~0. */
static u64 pattern_verify(u64 seed, u64 sector, const u64 *buf, u64 sectors)
{
    u64 k0 = sector * 64;
    for (u64 i = 0; i < sectors * 64; i++)
        if (buf[i] != pattern_word(seed, k0 + i))
            return sector + i / 64;
    return ~0UL;
}

static u64 g_rng;

static u64 rng_next(void)
{
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return g_rng;
}

static void sort_u64(u64 *a, u64 n)
{
    /* Shell sort with Ciura's gaps extended: enough for the few thousand samples of a run. */
    static const u64 gaps[] = {88573, 39366, 17496, 7776, 3456, 1536, 701, 301, 132, 57, 23, 10, 4, 1};
    for (u64 g = 0; g < sizeof gaps / sizeof gaps[0]; g++)
        for (u64 i = gaps[g]; i < n; i++) {
            u64 v = a[i], j = i;
            for (; j >= gaps[g] && a[j - gaps[g]] > v; j -= gaps[g])
                a[j] = a[j - gaps[g]];
            a[j] = v;
        }
}

/* ---- commands ---- */

static int request_failed(const char *cmd, u32 status, u64 sector)
{
    put_str(cmd);
    put_str(" FAIL");
    if (status == BLK_TIMEOUT)
        put_str(" timeout");
    else if (status == BLK_BAD_USED)
        put_str(" bad_used_id");
    else
        kv("status", status);
    kv("sector", sector);
    put_char('\n');
    return 2;
}

static int cmd_info(void)
{
    struct blk_dev *b = &g_blk;
    put_str("info");
    kv("capacity", b->capacity);
    kv("blk_size", b->blk_size);
    kv("size_max", b->size_max);
    kv("seg_max", b->seg_max);
    kv("num_queues", b->num_queues);
    kv("queues", (u64)b->v.nqueues);
    kv("queue_size", b->v.vq[0].size);
    kv("ro", (u64)virtio_has(&b->v, VIRTIO_BLK_F_RO));
    kvx("device_features", b->v.device_features);
    kvx("driver_features", b->v.driver_features);
    kv("bars_assigned", (u64)b->v.bars_assigned);
    kvx("common_cfg", (u64)b->v.common);
    kv("pci_slot", b->v.pci_dev);
    char id[21];
    memset(id, 0, sizeof id);
    u32 st = blk_sync(b, VIRTIO_BLK_T_GET_ID, 0, id, 20);
    put_str(" serial=");
    if (st == VIRTIO_BLK_S_OK) {
        for (int i = 0; i < 20 && id[i]; i++)
            put_char(id[i] > ' ' && id[i] < 127 ? id[i] : '?');
    } else {
        put_str("(status ");
        put_u64(st);
        put_char(')');
    }
    put_str(" ok\n");
    return 0;
}

/* Streams chunks of a range through qd slots, consuming completions in order: the shared loop of
 * pattern, check, crc and zero. mode: 'w' writes the pattern, 'r' reads (verify when seed_valid),
 * 'z' issues WRITE_ZEROES. */
struct stream {
    const char *cmd;
    char mode;
    int verify, zeroes;
    u64 seed, start, sectors, chunk;
    u32 crc;
    u64 mismatch;
};

static int stream_run(struct stream *st)
{
    struct blk_dev *b = &g_blk;
    int qd = (int)opt_u64("qd", 1);
    u64 nchunks = (st->sectors + st->chunk - 1) / st->chunk;
    u8 done[BLK_MAX_SLOTS];
    u64 next_submit = 0, next_consume = 0;
    st->crc = 0;
    st->mismatch = ~0UL;
    memset(done, 0, sizeof done);
    while (next_consume < nchunks) {
        while (next_submit < nchunks && next_submit < next_consume + (u64)qd) {
            int s = (int)(next_submit % (u64)qd);
            u64 sec = st->start + next_submit * st->chunk;
            u64 n = st->sectors - next_submit * st->chunk;
            if (n > st->chunk)
                n = st->chunk;
            u8 *buf = g_arena + (u64)s * st->chunk * 512;
            if (st->mode == 'w')
                pattern_fill(st->seed, sec, (u64 *)buf, n);
            u32 type = st->mode == 'w' ? VIRTIO_BLK_T_OUT : st->mode == 'z' ? VIRTIO_BLK_T_WRITE_ZEROES : VIRTIO_BLK_T_IN;
            blk_submit(b, s, type, sec, buf, (u32)(n * 512));
            next_submit++;
        }
        blk_kick(b);
        u32 status;
        int s = blk_wait(b, &status);
        if (s < 0 || status != VIRTIO_BLK_S_OK)
            return request_failed(st->cmd, status, s < 0 ? 0 : b->slots[s].hdr.sector);
        done[s] = 1;
        while (next_consume < nchunks && done[next_consume % (u64)qd]) {
            int c = (int)(next_consume % (u64)qd);
            done[c] = 0;
            u64 sec = st->start + next_consume * st->chunk;
            u64 n = st->sectors - next_consume * st->chunk;
            if (n > st->chunk)
                n = st->chunk;
            const u8 *buf = g_arena + (u64)c * st->chunk * 512;
            if (st->mode == 'r') {
                st->crc = crc_update(st->crc, buf, n * 512);
                if (st->verify && st->mismatch == ~0UL)
                    st->mismatch = pattern_verify(st->seed, sec, (const u64 *)buf, n);
                if (st->zeroes && st->mismatch == ~0UL)
                    for (u64 i = 0; i < n * 512; i++)
                        if (buf[i]) {
                            st->mismatch = sec + i / 512;
                            break;
                        }
            }
            next_consume++;
        }
    }
    return 0;
}

static int range_ok(const char *cmd, u64 start, u64 sectors, u64 chunk)
{
    if (sectors == 0 || start > g_blk.capacity || sectors > g_blk.capacity - start) {
        put_str(cmd);
        put_str(" FAIL range outside the disk");
        kv("start", start);
        kv("sectors", sectors);
        kv("capacity", g_blk.capacity);
        put_char('\n');
        return 0;
    }
    u64 qd = opt_u64("qd", 1);
    if (chunk == 0 || qd == 0 || qd > (u64)g_blk.nslots || chunk * 512 * qd > ARENA_BYTES) {
        put_str(cmd);
        put_str(" FAIL chunk or qd is 0, or chunk times qd exceeds the 16 MiB buffer arena\n");
        return 0;
    }
    return 1;
}

static int flush_if_negotiated(const char *cmd)
{
    if (!virtio_has(&g_blk.v, VIRTIO_BLK_F_FLUSH))
        return 0;
    u32 st = blk_sync(&g_blk, VIRTIO_BLK_T_FLUSH, 0, 0, 0);
    return st == VIRTIO_BLK_S_OK ? 0 : request_failed(cmd, st, 0);
}

static void end_range(const char *cmd, struct stream *st, int with_seed)
{
    put_str(cmd);
    if (with_seed)
        kv("seed", st->seed);
    kv("start", st->start);
    kv("sectors", st->sectors);
    kvx("crc32", st->crc);
}

static int cmd_range(const char *cmd, char kind, u64 seed, u64 sectors)
{
    struct stream st = {.cmd = cmd, .seed = seed, .start = opt_u64("start", 0), .sectors = sectors, .chunk = opt_u64("chunk", 128)};
    if (!range_ok(cmd, st.start, sectors, st.chunk))
        return 2;
    int rc;
    if (kind == 'p' || kind == 'z') {
        st.mode = kind == 'p' ? 'w' : 'z';
        if ((rc = stream_run(&st)) || (rc = flush_if_negotiated(cmd)))
            return rc;
    }
    st.mode = 'r';
    st.verify = kind == 'p' || kind == 'c';
    st.zeroes = kind == 'z';
    if ((rc = stream_run(&st)))
        return rc;
    end_range(cmd, &st, kind == 'p' || kind == 'c');
    if (st.mismatch != ~0UL) {
        put_str(" mismatch");
        kv("sector", st.mismatch);
        put_char('\n');
        return 1;
    }
    put_str(" ok\n");
    return 0;
}

static int cmd_discard(u64 sectors)
{
    u64 start = opt_u64("start", 0);
    if (!range_ok("discard", start, sectors, 1))
        return 2;
    u32 st = blk_sync(&g_blk, VIRTIO_BLK_T_DISCARD, start, 0, (u32)(sectors * 512));
    put_str("discard");
    kv("start", start);
    kv("sectors", sectors);
    kv("status", st);
    put_str(st == VIRTIO_BLK_S_OK ? " ok\n" : " FAIL\n");
    return st == VIRTIO_BLK_S_OK ? 0 : 2;
}

static int cmd_seq(u64 n)
{
    struct blk_dev *b = &g_blk;
    u64 start = opt_u64("start", 0);
    u64 span = opt_u64("span", start < b->capacity ? b->capacity - start : 0) / 8;
    if (span == 0 || start + span * 8 > b->capacity || (n && n > span)) {
        put_str("seq FAIL the blocks do not fit in span= (4 KiB each)\n");
        return 2;
    }
    u64 gap_ticks = opt_u64("gap_us", 0) * g_tsc_khz / 1000;
    u64 *buf = (u64 *)g_arena;
    for (u64 i = 0; n == 0 || i < n; i++) {
        buf[0] = SEQ_MAGIC;
        for (int w = 1; w < 512; w++)
            buf[w] = i;
        u64 sector = start + (i % span) * 8;
        u32 st = blk_sync(b, VIRTIO_BLK_T_OUT, sector, buf, 4096);
        if (st != VIRTIO_BLK_S_OK)
            return request_failed("seq", st, sector);
        for (u64 t0 = rdtsc(); gap_ticks && rdtsc() - t0 < gap_ticks;)
            __asm__ volatile("pause");
        if ((i & 255) == 255) {
            put_str("seq written=");
            put_u64(i + 1);
            put_char('\n');
        }
    }
    int rc = flush_if_negotiated("seq");
    if (rc)
        return rc;
    put_str("seq");
    kv("written", n);
    put_str(" ok\n");
    return 0;
}

static int cmd_bench(const char *kind, u64 qd, const char *limit)
{
    struct blk_dev *b = &g_blk;
    int randomly = str_eq(kind, "randread") || str_eq(kind, "randwrite");
    int seq = str_eq(kind, "seqread") || str_eq(kind, "seqwrite");
    int flush = str_eq(kind, "flush");
    int write = str_eq(kind, "randwrite") || str_eq(kind, "seqwrite");
    u64 count, ticks;
    if (!randomly && !seq && !flush) {
        bad("bench kind", kind);
        return 4;
    }
    if (!parse_limit(limit, &count, &ticks)) {
        bad("bench limit", limit);
        return 4;
    }
    if (qd < 1 || qd > (u64)b->nslots || (flush && qd != 1)) {
        put_str("bench FAIL qd must be 1..qd= (the slots opened)");
        put_str(flush ? ", and 1 for flush\n" : "\n");
        return 4;
    }
    if (flush && !virtio_has(&b->v, VIRTIO_BLK_F_FLUSH)) {
        put_str("bench FAIL flush not negotiated (feat=flush)\n");
        return 2;
    }
    u64 bs = opt_u64("bs", seq ? 1UL << 20 : 4096);
    u64 start = opt_u64("start", 0);
    u64 span = opt_u64("span", start < b->capacity ? b->capacity - start : 0) * 512 / bs;
    if (bs == 0 || bs % 512 || bs * qd > ARENA_BYTES || span == 0 || start + span * bs / 512 > b->capacity) {
        put_str("bench FAIL bs, span or start do not fit (bs a multiple of 512, bs*qd <= 16 MiB)\n");
        return 4;
    }
    g_rng = opt_u64("seed", 1) * 0x9e3779b97f4a7c15UL | 1;
    for (u64 i = 0; write && i < qd * bs / 8; i++)
        ((u64 *)g_arena)[i] = pattern_word(7, i);
    u64 submitted = 0, completed = 0, next_block = 0, nsamples = 0, t0 = rdtsc(), stop = 0;
    int inflight = 0;
    for (;;) {
        u64 now = rdtsc();
        if ((count && submitted >= count) || (ticks && now - t0 >= ticks))
            stop = 1;
        int submitted_any = 0;
        for (int s = 0; !stop && s < (int)qd; s++) {
            if (b->slots[s].busy)
                continue;
            u64 block = seq ? next_block++ % span : rng_next() % span;
            u64 sector = start + block * bs / 512;
            u8 *buf = g_arena + (u64)s * bs;
            if (flush) {
                /* The write that gives the flush something to do is not timed. */
                u32 st = blk_sync(b, VIRTIO_BLK_T_OUT, sector, buf, (u32)bs);
                if (st != VIRTIO_BLK_S_OK)
                    return request_failed("bench", st, sector);
                blk_submit(b, s, VIRTIO_BLK_T_FLUSH, 0, 0, 0);
            } else {
                blk_submit(b, s, write ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN, sector, buf, (u32)bs);
            }
            inflight++;
            submitted++;
            submitted_any = 1;
            if (count && submitted >= count)
                break;
        }
        if (submitted_any)
            blk_kick(b);
        if (inflight == 0)
            break;
        u32 status;
        int s = blk_wait(b, &status);
        if (s < 0 || status != VIRTIO_BLK_S_OK)
            return request_failed("bench", status, s < 0 ? 0 : b->slots[s].hdr.sector);
        u64 lat = rdtsc() - b->slots[s].started;
        if (nsamples < MAX_SAMPLES)
            g_samples[nsamples++] = lat;
        inflight--;
        completed++;
    }
    u64 elapsed = rdtsc() - t0;
    u64 us = ticks_to_ns(elapsed) / 1000;
    sort_u64(g_samples, nsamples);
    put_str("bench op=");
    put_str(kind);
    kv("bs", flush ? 0 : bs);
    kv("qd", qd);
    kv("ops", completed);
    kv("bytes", flush ? 0 : completed * bs);
    kv("ticks", elapsed);
    kv("tsc_khz", g_tsc_khz);
    kv("us", us);
    kv("iops", us ? completed * 1000000 / us : 0);
    kv("kib_s", us && !flush ? completed * bs * 1000000 / 1024 / us : 0);
    kv("lat_p50_ns", nsamples ? ticks_to_ns(g_samples[nsamples / 2]) : 0);
    kv("lat_p99_ns", nsamples ? ticks_to_ns(g_samples[nsamples * 99 / 100]) : 0);
    put_str(" ok\n");
    return 0;
}

static int usage(void)
{
    put_str("usage: blk [OPTION=VALUE...] COMMAND ARGS...; commands: info, pattern SEED SECTORS, check SEED SECTORS,\n"
            "  crc SECTORS, seq N, zero SECTORS, discard SECTORS, flush, echo WORD, bench randread|randwrite|seqread|seqwrite|flush QD LIMIT\n"
            "  options: disk= feat= queues= qd= chunk= start= span= bs= seed= gap_us= tsc_khz= timeout_ms= fresh_bars= (see guests/blk.c)\n");
    return 4;
}

/* The number of positional arguments each command takes. */
static int arity(const char *c)
{
    if (str_eq(c, "info") || str_eq(c, "flush"))
        return 0;
    if (str_eq(c, "crc") || str_eq(c, "seq") || str_eq(c, "zero") || str_eq(c, "discard") || str_eq(c, "echo"))
        return 1;
    if (str_eq(c, "pattern") || str_eq(c, "check"))
        return 2;
    if (str_eq(c, "bench"))
        return 3;
    return -1;
}

int guest_main(int argc, char **argv)
{
    g_argc = g_opt_end = argc;
    g_argv = argv;
    char *cmds[64];
    int at[64];   /* each word's index in argv */
    int ncmds = 0;
    for (int i = 0; i < argc && ncmds < 64; i++)
        if (!has_eq(argv[i])) {
            at[ncmds] = i;
            cmds[ncmds++] = argv[i];
        }
    for (int i = 0; i < ncmds;) {
        int n = arity(cmds[i]);
        if (n < 0 || i + n >= ncmds) {
            if (n < 0)
                bad("command", cmds[i]);
            else
                bad("argument count for", cmds[i]);
            return usage();
        }
        i += n + 1;
    }
    if (ncmds == 0)
        return usage();
    u64 wanted = parse_features(opt("feat"));
    u64 disk = opt_u64("disk", 0), queues = opt_u64("queues", 1), qd = opt_u64("qd", 1);
    u64 timeout_ms = opt_u64("timeout_ms", 10000);
    g_tsc_khz = opt_u64("tsc_khz", 0);
    opt_u64("start", 0);
    opt_u64("span", 0);
    opt_u64("chunk", 0);
    opt_u64("bs", 0);
    opt_u64("seed", 0);
    opt_u64("gap_us", 0);
    opt_u64("fresh_bars", 0);
    if (g_bad_args)
        return usage();
    if (g_tsc_khz == 0)
        g_tsc_khz = tsc_per_ms();
    /* The slots opened are the most any command asks for: any qd=, or a bench's QD. */
    u64 slots = qd;
    for (int i = 0; i < argc; i++) {
        g_opt_end = i + 1;
        u64 q = opt_u64("qd", 1);
        if (q > slots)
            slots = q;
    }
    g_opt_end = argc;
    for (int i = 0; i < ncmds; i++)
        if (str_eq(cmds[i], "bench")) {
            u64 q;
            if (!parse_u64(cmds[i + 2], &q)) {
                bad("bench QD", cmds[i + 2]);
                return usage();
            }
            if (q > slots)
                slots = q;
        }
    crc_init();
    if (blk_open(&g_blk, (int)disk, (int)opt_u64("fresh_bars", 0), wanted, (int)queues, (int)slots, timeout_ms * g_tsc_khz))
        return 2;
    g_arena = alloc_region(ARENA_BYTES);
    g_samples = (u64 *)alloc_region(MAX_SAMPLES * sizeof(u64));
    for (int i = 0; i < ncmds;) {
        const char *c = cmds[i];
        u64 a = 0, b2 = 0;
        g_opt_end = at[i];
        int n = arity(c), rc;
        if (n >= 1 && !str_eq(c, "bench") && !str_eq(c, "echo") && !parse_u64(cmds[i + 1], &a)) {
            bad("number", cmds[i + 1]);
            return 4;
        }
        if (n == 2 && !parse_u64(cmds[i + 2], &b2)) {
            bad("number", cmds[i + 2]);
            return 4;
        }
        if (str_eq(c, "info"))
            rc = cmd_info();
        else if (str_eq(c, "echo")) {
            put_str(cmds[i + 1]);
            put_char('\n');
            rc = 0;
        }
        else if (str_eq(c, "pattern"))
            rc = cmd_range(c, 'p', a, b2);
        else if (str_eq(c, "check"))
            rc = cmd_range(c, 'c', a, b2);
        else if (str_eq(c, "crc"))
            rc = cmd_range(c, 'r', 0, a);
        else if (str_eq(c, "zero"))
            rc = cmd_range(c, 'z', 0, a);
        else if (str_eq(c, "discard"))
            rc = cmd_discard(a);
        else if (str_eq(c, "seq"))
            rc = cmd_seq(a);
        else if (str_eq(c, "flush")) {
            rc = flush_if_negotiated(c);
            if (!rc)
                put_str(virtio_has(&g_blk.v, VIRTIO_BLK_F_FLUSH) ? "flush ok\n" : "flush FAIL not negotiated\n");
            rc = rc ? rc : virtio_has(&g_blk.v, VIRTIO_BLK_F_FLUSH) ? 0 : 2;
        } else {
            u64 q = 0;
            parse_u64(cmds[i + 2], &q);
            rc = cmd_bench(cmds[i + 1], q, cmds[i + 3]);
        }
        if (rc)
            return rc;
        i += n + 1;
    }
    return 0;
}
