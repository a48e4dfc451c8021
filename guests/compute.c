/* compute [N]: sorts N pseudo-random numbers with a quicksort, takes a CRC-32 of them and runs
 * them through an open-addressing hash table, prints the results, exits 0. */
#include "guest.h"

#define MAX_N 65536
#define TABLE_BITS 17

static u32 data[MAX_N];
static u32 table[1u << TABLE_BITS];
static u32 crc_table[256];

static u64 state = 88172645463325252ull;

static u32 next_random(void)
{
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return (u32)(state >> 16);
}

static int compare_u32(const void *a, const void *b)
{
    u32 x = *(const u32 *)a, y = *(const u32 *)b;
    return x < y ? -1 : x > y;
}

static void swap(u32 *a, u32 *b)
{
    u32 t = *a;
    *a = *b;
    *b = t;
}

static void quick_sort(u32 *v, long lo, long hi, int (*cmp)(const void *, const void *))
{
    while (lo < hi) {
        u32 pivot = v[lo + (hi - lo) / 2];
        long i = lo, j = hi;
        while (i <= j) {
            while (cmp(&v[i], &pivot) < 0) i++;
            while (cmp(&v[j], &pivot) > 0) j--;
            if (i <= j) swap(&v[i++], &v[j--]);
        }
        if (j - lo < hi - i) {
            quick_sort(v, lo, j, cmp);
            lo = i;
        } else {
            quick_sort(v, i, hi, cmp);
            hi = j;
        }
    }
}

static u32 crc32(const u8 *p, u64 n)
{
    if (!crc_table[1])
        for (u32 i = 0; i < 256; i++) {
            u32 c = i;
            for (int k = 0; k < 8; k++)
                c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
            crc_table[i] = c;
        }
    u32 c = 0xffffffffu;
    while (n--)
        c = crc_table[(c ^ *p++) & 0xff] ^ (c >> 8);
    return c ^ 0xffffffffu;
}

static u32 hash(u32 k)
{
    k ^= k >> 16;
    k *= 0x7feb352du;
    k ^= k >> 15;
    k *= 0x846ca68bu;
    return k ^ (k >> 16);
}

/* Inserts k (nonzero); returns 1 when it was new. */
static int insert(u32 k)
{
    u32 mask = (1u << TABLE_BITS) - 1;
    for (u32 i = hash(k) & mask;; i = (i + 1) & mask) {
        if (table[i] == k) return 0;
        if (table[i] == 0) {
            table[i] = k;
            return 1;
        }
    }
}

static int contains(u32 k)
{
    u32 mask = (1u << TABLE_BITS) - 1;
    for (u32 i = hash(k) & mask; table[i]; i = (i + 1) & mask)
        if (table[i] == k) return 1;
    return 0;
}

int guest_main(int argc, char **argv)
{
    u64 n = arg_u64(argc, argv, 0, 20000);
    if (n < 2 || n > MAX_N) {
        put_str("compute: N must be 2..65536\n");
        return 2;
    }
    for (u64 i = 0; i < n; i++)
        data[i] = next_random() | 1;
    u64 distinct = 0;
    for (u64 i = 0; i < n; i++)
        distinct += (u64)insert(data[i]);
    quick_sort(data, 0, (long)n - 1, compare_u32);
    for (u64 i = 1; i < n; i++)
        if (data[i - 1] > data[i]) {
            put_str("compute: not sorted\n");
            return 1;
        }
    u64 hits = 0;
    for (u64 i = 0; i < n; i++)
        hits += (u64)contains(data[i] ^ (u32)(i & 2));
    put_str("compute: n=");
    put_u64(n);
    put_str(" distinct=");
    put_u64(distinct);
    put_str(" hits=");
    put_u64(hits);
    put_str(" min=");
    put_u64(data[0]);
    put_str(" max=");
    put_u64(data[n - 1]);
    put_str(" crc32=");
    put_hex(crc32((const u8 *)data, n * sizeof data[0]));
    put_char('\n');
    return 0;
}
