/* The tiny runtime of the test guests: serial console, exit, timestamps, argument parsing.
 * A guest defines guest_main(argc, argv), run on vCPU 0, and may define guest_ap_main, run on
 * every other vCPU. Built with -DHOST the same program runs as a Linux process (lib/host_rt.c). */
#ifndef GUEST_H
#define GUEST_H

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long u64;
typedef long i64;

int guest_main(int argc, char **argv);
void guest_ap_main(int cpu, int argc, char **argv) __attribute__((weak));

void put_char(char c);
void put_str(const char *s);
void put_u64(u64 v);
void put_i64(i64 v);
void put_hex(u64 v);
void guest_exit(int status) __attribute__((noreturn));

/* The number of vCPUs the VMM started (GUEST_CPUS in the environment on the host). */
int cpu_count(void);
/* Parses a decimal argument; returns fallback when argv has no index i or it is not a number. */
u64 arg_u64(int argc, char **argv, int i, u64 fallback);
/* Memory for a guest's data: whole pages after the image (guest) or from the heap (host), zeroed. */
u8 *alloc_region(u64 bytes);
/* Timestamp counter ticks per millisecond (PIT-calibrated in the guest). */
u64 tsc_per_ms(void);

static inline u64 rdtsc(void)
{
    u32 lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (u64)hi << 32 | lo;
}

static inline void cpu_relax(void) { __asm__ volatile("pause" ::: "memory"); }

#ifndef HOST
#define COM1 0x3f8
#define EXIT_PORT 0xf4

static inline void outb(u16 port, u8 v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outl(u16 port, u32 v) { __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }
static inline u8 inb(u16 port) { u8 v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }

void *memset(void *d, int c, u64 n);
void *memcpy(void *d, const void *s, u64 n);
#endif

#endif
