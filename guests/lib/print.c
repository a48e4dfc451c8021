/* Number and string printing and argument parsing, shared by the guest and host builds. */
#include "guest.h"

void put_str(const char *s)
{
    while (*s)
        put_char(*s++);
}

void put_u64(u64 v)
{
    char buf[21];
    int i = 20;
    buf[i] = 0;
    do {
        buf[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    put_str(buf + i);
}

void put_i64(i64 v)
{
    if (v < 0) {
        put_char('-');
        put_u64((u64)0 - (u64)v);
    } else {
        put_u64((u64)v);
    }
}

void put_hex(u64 v)
{
    static const char digits[] = "0123456789abcdef";
    char buf[17];
    for (int i = 15; i >= 0; i--) {
        buf[i] = digits[v & 15];
        v >>= 4;
    }
    buf[16] = 0;
    put_str("0x");
    put_str(buf);
}

u64 arg_u64(int argc, char **argv, int i, u64 fallback)
{
    if (i >= argc || !argv[i][0])
        return fallback;
    u64 v = 0;
    for (const char *p = argv[i]; *p; p++) {
        if (*p < '0' || *p > '9')
            return fallback;
        v = v * 10 + (u64)(*p - '0');
    }
    return v;
}
