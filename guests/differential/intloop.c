/* intloop [ROUNDS=12]: an integer benchmark in the CoreMark/Dhrystone style over global arrays with
 * global loop bounds: a linked-list walk, a small matrix multiply (16 and 32-bit), a state machine
 * over text and a bitwise CRC-16. The workers take pointers that may alias the bounds, so gcc -O2
 * reads each bound from memory in the loop test (cmp bound(%rip),%reg; jb/ja: the pattern of issue
 * 11). Prints a checksum per part and round, exits 0. */
#include "guest.h"

/* Each bound is followed by a larger neighbour: a compare that read past its 32-bit operand took its
 * branch by the neighbour and ran off the end of the arrays. */
struct bound {
    u32 n;
    u32 neighbour;
};

struct bound list_len = { 200, 3000 };
struct bound mat_n = { 12, 4000 };
struct bound text_len = { 240, 5000 };
struct bound crc_len = { 256, 6000 };

u32 list_next[256];
u32 list_val[256];
short mat_a[16 * 16], mat_b[16 * 16];
int mat_c[16 * 16];
u8 text[256];

static u32 seed = 0x12345678;

static u32 lcg(void)
{
    seed = seed * 1103515245u + 12345u;
    return seed >> 8;
}

/* External linkage and a pointer argument: gcc cannot prove out never points at a bound. */
u32 list_work(u32 *vals, const u32 *next)
{
    u32 i, p = 0, sum = 0;
    for (i = 0; i < list_len.n; i++) {
        vals[p] = vals[p] * 33u + i;
        sum ^= vals[p] + (sum << 3);
        p = next[p];
    }
    return sum;
}

int matrix_work(int *c, const short *a, const short *b)
{
    u32 i, j, k;
    int acc = 0;
    for (i = 0; i < mat_n.n; i++)
        for (j = 0; j < mat_n.n; j++) {
            int s = 0;
            for (k = 0; k < mat_n.n; k++) s += a[i * 16 + k] * b[k * 16 + j];
            c[i * 16 + j] = s;
            acc += (s >> 2) ^ (int)j;
        }
    return acc;
}

enum state { START, INT, FLOAT, EXP, SCI, BAD };

u32 state_work(u8 *t, u32 *counts)
{
    u32 i;
    enum state s = START;
    for (i = 0; i < text_len.n; i++) {
        u8 ch = t[i];
        if (ch == ',') {
            counts[s]++;
            s = START;
            continue;
        }
        switch (s) {
        case START: s = (ch >= '0' && ch <= '9') ? INT : (ch == '.' ? FLOAT : BAD); break;
        case INT: s = (ch >= '0' && ch <= '9') ? INT : (ch == '.' ? FLOAT : (ch == 'e' ? EXP : BAD)); break;
        case FLOAT: s = (ch >= '0' && ch <= '9') ? FLOAT : (ch == 'e' ? EXP : BAD); break;
        case EXP: s = (ch >= '0' && ch <= '9') ? SCI : BAD; break;
        case SCI: s = (ch >= '0' && ch <= '9') ? SCI : BAD; break;
        default: break;
        }
        t[i] = (u8)(ch ^ (u8)s);
    }
    return counts[INT] * 7 + counts[FLOAT] * 5 + counts[SCI] * 3 + counts[BAD];
}

u16 crc16_work(const u8 *p, u32 *len_seen)
{
    u16 crc = 0xFFFF;
    u32 i;
    for (i = 0; i < crc_len.n; i++) {
        int b;
        crc ^= p[i];
        for (b = 0; b < 8; b++) crc = (crc & 1) ? (u16)((crc >> 1) ^ 0xA001) : (u16)(crc >> 1);
        *len_seen += 1;
    }
    return crc;
}

int guest_main(int argc, char **argv)
{
    u64 rounds = arg_u64(argc, argv, 0, 12);
    u32 i, counts[6];
    static const char digits[] = "0123456789.e,";
    for (i = 0; i < 256; i++) {
        list_next[i] = (i * 97 + 13) & 255;
        list_val[i] = lcg();
        text[i] = (u8)digits[lcg() % 13];
        mat_a[i] = (short)(lcg() & 0x3FF) - 512;
        mat_b[i] = (short)(lcg() & 0x7FF) - 1024;
    }
    for (u64 r = 0; r < rounds; r++) {
        u32 seen = 0;
        for (i = 0; i < 6; i++) counts[i] = 0;
        u32 l = list_work(list_val, list_next);
        int m = matrix_work(mat_c, mat_a, mat_b);
        u32 s = state_work(text, counts);
        u16 c = crc16_work(text, &seen);
        put_str("round ");
        put_u64(r);
        put_str(" list ");
        put_hex(l);
        put_str(" matrix ");
        put_i64(m);
        put_str(" state ");
        put_u64(s);
        put_str(" crc16 ");
        put_hex(c);
        put_str(" seen ");
        put_u64(seen);
        put_char('\n');
        mat_n.n = 8 + (u32)(r % 9);
        list_len.n = 100 + (u32)(r * 13 % 157);
    }
    put_str("intloop done\n");
    return 0;
}
