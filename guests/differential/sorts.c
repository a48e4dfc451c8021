/* sorts [N=3000]: heap sort of 64-bit keys, merge sort of signed 32-bit keys, insertion sort of
 * signed 16-bit keys and a counting sort of bytes, over the same pseudo-random data, then binary
 * searches; prints an FNV-1a hash of each sorted array and the search results, exits 0. */
#include "guest.h"

#define MAX_N 4096

static u64 keys64[MAX_N];
static int keys32[MAX_N], tmp32[MAX_N];
static short keys16[MAX_N];
static u8 keys8[MAX_N];
static u32 byte_counts[256];

static u64 rng = 0x9E3779B97F4A7C15ull;

static u64 next(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545F4914F6CDD1Dull;
}

static u64 fnv(const void *p, u64 n)
{
    const u8 *b = p;
    u64 h = 0xcbf29ce484222325ull;
    for (u64 i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

static void sift(u64 *a, long start, long end)
{
    long root = start;
    while (2 * root + 1 <= end) {
        long child = 2 * root + 1;
        if (child + 1 <= end && a[child] < a[child + 1]) child++;
        if (a[root] >= a[child]) return;
        u64 t = a[root];
        a[root] = a[child];
        a[child] = t;
        root = child;
    }
}

static void heap_sort(u64 *a, long n)
{
    for (long s = (n - 2) / 2; s >= 0; s--) sift(a, s, n - 1);
    for (long e = n - 1; e > 0; e--) {
        u64 t = a[0];
        a[0] = a[e];
        a[e] = t;
        sift(a, 0, e - 1);
    }
}

static void merge_sort(int *a, int *t, long lo, long hi)
{
    if (hi - lo < 2) return;
    long mid = lo + (hi - lo) / 2;
    merge_sort(a, t, lo, mid);
    merge_sort(a, t, mid, hi);
    long i = lo, j = mid, k = lo;
    while (i < mid && j < hi) t[k++] = a[i] <= a[j] ? a[i++] : a[j++];
    while (i < mid) t[k++] = a[i++];
    while (j < hi) t[k++] = a[j++];
    for (k = lo; k < hi; k++) a[k] = t[k];
}

static void insertion_sort(short *a, long n)
{
    for (long i = 1; i < n; i++) {
        short v = a[i];
        long j = i - 1;
        while (j >= 0 && a[j] > v) {
            a[j + 1] = a[j];
            j--;
        }
        a[j + 1] = v;
    }
}

static void counting_sort(u8 *a, long n)
{
    for (int i = 0; i < 256; i++) byte_counts[i] = 0;
    for (long i = 0; i < n; i++) byte_counts[a[i]]++;
    long k = 0;
    for (int v = 0; v < 256; v++)
        for (u32 c = 0; c < byte_counts[v]; c++) a[k++] = (u8)v;
}

static long lower_bound(const int *a, long n, int key)
{
    long lo = 0, hi = n;
    while (lo < hi) {
        long mid = (lo + hi) >> 1;
        if (a[mid] < key) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

static void line(const char *name, u64 v)
{
    put_str(name);
    put_char(' ');
    put_hex(v);
    put_char('\n');
}

int guest_main(int argc, char **argv)
{
    long n = (long)arg_u64(argc, argv, 0, 3000);
    if (n > MAX_N) n = MAX_N;
    for (long i = 0; i < n; i++) {
        u64 r = next();
        keys64[i] = r;
        keys32[i] = (int)(r >> 20);
        keys16[i] = (short)(r >> 7);
        keys8[i] = (u8)(r >> 51);
    }
    heap_sort(keys64, n);
    merge_sort(keys32, tmp32, 0, n);
    insertion_sort(keys16, n);
    counting_sort(keys8, n);
    line("heap64", fnv(keys64, (u64)n * 8));
    line("merge32", fnv(keys32, (u64)n * 4));
    line("insertion16", fnv(keys16, (u64)n * 2));
    line("counting8", fnv(keys8, (u64)n));
    long found = 0, sum = 0;
    for (long i = 0; i < 500; i++) {
        int key = (int)(next() >> 20);
        long at = lower_bound(keys32, n, key);
        sum += at;
        found += at < n && keys32[at] == key;
    }
    line("search", (u64)sum * 31 + (u64)found);
    long ok = 1;
    for (long i = 1; i < n; i++) ok &= keys64[i - 1] <= keys64[i] && keys32[i - 1] <= keys32[i] && keys16[i - 1] <= keys16[i] && keys8[i - 1] <= keys8[i];
    line("sorted", (u64)ok);
    put_str("sorts done\n");
    return 0;
}
