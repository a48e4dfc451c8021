/* The CPU benchmark workload: quicksort, CRC-32 and an open-addressing hash table over
   pseudo-random data. Freestanding: output goes to the COM1 port 0x3f8. */
typedef unsigned long u64;
typedef unsigned int u32;
typedef unsigned char u8;

static inline void outb(unsigned short port, u8 v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static void puts_(const char *s) { while (*s) outb(0x3f8, (u8)*s++); }
static void puthex(u64 v)
{
    char b[17];
    for (int i = 15; i >= 0; i--) { b[i] = "0123456789abcdef"[v & 15]; v >>= 4; }
    b[16] = 0;
    puts_(b);
}

static u64 rng = 88172645463325252UL;
static u64 next(void) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return rng; }

#define N 200000
static u32 data[N];

static void quicksort(u32 *a, long lo, long hi)
{
    while (lo < hi) {
        u32 p = a[lo + (hi - lo) / 2];
        long i = lo, j = hi;
        while (i <= j) {
            while (a[i] < p) i++;
            while (a[j] > p) j--;
            if (i <= j) { u32 t = a[i]; a[i] = a[j]; a[j] = t; i++; j--; }
        }
        if (j - lo < hi - i) { quicksort(a, lo, j); lo = i; }
        else { quicksort(a, i, hi); hi = j; }
    }
}

static u32 crc_table[256];
static void crc_init(void)
{
    for (u32 n = 0; n < 256; n++) {
        u32 c = n;
        for (int k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[n] = c;
    }
}
static u32 crc32(const u8 *p, u64 len)
{
    u32 c = 0xFFFFFFFFu;
    for (u64 i = 0; i < len; i++) c = crc_table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

#define HBITS 17
#define HSIZE (1u << HBITS)
static u64 keys[HSIZE];
static u64 vals[HSIZE];
static u64 hash(u64 k) { k ^= k >> 33; k *= 0xff51afd7ed558ccdUL; k ^= k >> 33; return k; }
static void hput(u64 k, u64 v)
{
    u64 i = hash(k) & (HSIZE - 1);
    while (keys[i] && keys[i] != k) i = (i + 1) & (HSIZE - 1);
    keys[i] = k;
    vals[i] += v;
}
static u64 hget(u64 k)
{
    u64 i = hash(k) & (HSIZE - 1);
    while (keys[i]) { if (keys[i] == k) return vals[i]; i = (i + 1) & (HSIZE - 1); }
    return 0;
}

int main(void)
{
    puts_("START\n");
    u64 sum = 0;
    crc_init();
    for (int round = 0; round < 4; round++) {
        for (long i = 0; i < N; i++) data[i] = (u32)next();
        quicksort(data, 0, N - 1);
        for (long i = 1; i < N; i++) if (data[i - 1] > data[i]) { puts_("UNSORTED\n"); return 1; }
        sum += crc32((const u8 *)data, sizeof data);
        for (long i = 0; i < 60000; i++) hput((data[i] % 50000) + 1, i);
        for (long i = 0; i < 60000; i++) sum += hget((u64)(i % 50000) + 1);
    }
    puts_("END ");
    puthex(sum);
    puts_("\n");
    return 0;
}
