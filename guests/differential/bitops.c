/* bitops [N=20000]: bit tricks at every operand size over pseudo-random and edge values: bit scans
 * (bsf/bsr via __builtin_ctz/clz), byte swaps, rotates, population counts by hand, variable shifts
 * (shl/shr/sar), signed and unsigned division and remainder (div/idiv at 32 and 64 bits), 64x64->128
 * multiplies, overflow checks (jo/seto), min/max/abs (cmov), sign and zero extension from 8 and 16
 * bits, and 8/16-bit wrapping arithmetic; prints a checksum per group, exits 0. */
#include "guest.h"

typedef unsigned __int128 u128;
typedef __int128 i128;

static u64 s = 0x243F6A8885A308D3ull;

static u64 next(void)
{
    s += 0x9E3779B97F4A7C15ull;
    u64 z = s;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static const u64 edges[] = { 0, 1, 2, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFFFFFF, 0x80000000ull,
                             0xFFFFFFFFull, 0x100000000ull, 0x7FFFFFFFFFFFFFFFull, 0x8000000000000000ull, ~0ull };

static u64 value(u64 i)
{
    u64 r = next();
    switch (i & 7) {
    case 0: return edges[r & 15];
    case 1: return r & 0xFF;
    case 2: return r & 0xFFFF;
    case 3: return r & 0xFFFFFFFF;
    default: return r;
    }
}

static u32 popcount64(u64 x)
{
    u32 n = 0;
    while (x) {
        x &= x - 1;
        n++;
    }
    return n;
}

static u64 mix(u64 h, u64 v) { return (h ^ v) * 0x100000001b3ull + (h >> 29); }

static void line(const char *name, u64 v)
{
    put_str(name);
    put_char(' ');
    put_hex(v);
    put_char('\n');
}

int guest_main(int argc, char **argv)
{
    u64 n = arg_u64(argc, argv, 0, 20000);
    u64 scan = 0, swap = 0, rot = 0, pop = 0, shift = 0, divs = 0, mul = 0, ovf = 0, minmax = 0, ext = 0, small = 0;
    for (u64 i = 0; i < n; i++) {
        u64 a = value(i), b = value(i + 3);
        u32 a32 = (u32)a, b32 = (u32)b;
        unsigned c = (unsigned)(b & 127);
        if (a) scan = mix(scan, (u64)__builtin_ctzll(a) << 8 | (u64)__builtin_clzll(a));
        if (a32) scan = mix(scan, (u64)__builtin_ctz(a32) << 8 | (u64)__builtin_clz(a32));
        swap = mix(swap, __builtin_bswap64(a) ^ __builtin_bswap32(b32) ^ __builtin_bswap16((u16)a));
        rot = mix(rot, ((a << (c & 63)) | (a >> ((64 - (c & 63)) & 63))) ^ ((a32 >> (c & 31)) | (a32 << ((32 - (c & 31)) & 31))));
        pop = mix(pop, popcount64(a) * 65 + popcount64(b32));
        shift = mix(shift, (a << (c & 63)) ^ (a >> (c & 63)) ^ (u64)((i64)a >> (c & 63)) ^ (u64)((int)a32 >> (c & 31)) ^ (u64)(a32 << (c & 31)));
        if (b) divs = mix(divs, a / b + a % b);
        if (b32) divs = mix(divs, a32 / b32 + a32 % b32);
        if (b && !((i64)a == (i64)0x8000000000000000ull && (i64)b == -1)) divs = mix(divs, (u64)((i64)a / (i64)b) ^ (u64)((i64)a % (i64)b));
        if (b32 && !((int)a32 == (int)0x80000000u && (int)b32 == -1)) divs = mix(divs, (u64)(u32)((int)a32 / (int)b32) ^ (u64)(u32)((int)a32 % (int)b32));
        u128 p = (u128)a * b;
        i128 q = (i128)(i64)a * (i64)b;
        mul = mix(mul, (u64)p ^ (u64)(p >> 64) ^ (u64)(q >> 64) ^ (u64)(a32 * b32));
        i64 r64;
        int r32;
        short r16;
        ovf = mix(ovf, (u64)__builtin_add_overflow((i64)a, (i64)b, &r64) << 3 | (u64)__builtin_sub_overflow((int)a32, (int)b32, &r32) << 2
                           | (u64)__builtin_mul_overflow((short)a, (short)b, &r16) << 1 | (u64)__builtin_add_overflow(a, b, (u64 *)&r64));
        ovf = mix(ovf, (u64)r64 ^ (u64)(u32)r32 ^ (u64)(u16)r16);
        i64 sa = (i64)a, sb = (i64)b;
        minmax = mix(minmax, (u64)(sa < sb ? sa : sb) ^ (a > b ? a : b) ^ (sa < 0 ? 0 - a : a) ^ (u64)((int)a32 < (int)b32 ? (int)b32 : (int)a32));
        ext = mix(ext, (u64)(i64)(signed char)a ^ (u64)(i64)(short)b ^ (u64)(u8)(a >> 8) ^ (u64)(u16)(b >> 16) ^ (u64)(i64)(int)a32);
        u8 x8 = (u8)a, y8 = (u8)b;
        u16 x16 = (u16)a, y16 = (u16)b;
        small = mix(small, (u64)(u8)(x8 + y8) << 48 | (u64)(u8)(x8 * y8) << 40 | (u64)(u16)(x16 - y16) << 16 | (u16)((u32)x16 * y16 + (x8 < y8)));
    }
    line("scan", scan);
    line("swap", swap);
    line("rotate", rot);
    line("popcount", pop);
    line("shift", shift);
    line("divide", divs);
    line("multiply", mul);
    line("overflow", ovf);
    line("minmax", minmax);
    line("extend", ext);
    line("small", small);
    put_str("bitops done\n");
    return 0;
}
