/* Guest side of the runtime: COM1 polled output, the exit port, PIT calibration, a bump allocator. */
#include "guest.h"

extern char _end[];
static int g_cpus = 1;
static u64 g_memory;
static u64 g_next_free;
static u64 g_tsc_per_ms;

static void serial_init(void)
{
    outb(COM1 + 1, 0x00);  /* no interrupts */
    outb(COM1 + 3, 0x80);  /* DLAB */
    outb(COM1 + 0, 0x01);  /* divisor 1: 115200 baud */
    outb(COM1 + 1, 0x00);
    outb(COM1 + 3, 0x03);  /* 8N1 */
    outb(COM1 + 2, 0xc7);  /* FIFOs on and cleared */
    outb(COM1 + 4, 0x0b);  /* DTR, RTS, OUT2 */
}

void put_char(char c)
{
    while ((inb(COM1 + 5) & 0x20) == 0)
        cpu_relax();
    outb(COM1, (u8)c);
}

void guest_exit(int status)
{
    outl(EXIT_PORT, (u32)status);
    for (;;)
        __asm__ volatile("cli; hlt");
}

int cpu_count(void) { return g_cpus; }

u8 *alloc_region(u64 bytes)
{
    u64 start = (g_next_free + 4095) & ~4095UL;
    if (bytes > g_memory || start > g_memory - bytes) {
        put_str("alloc_region: out of guest memory\n");
        guest_exit(3);
    }
    g_next_free = start + bytes;
    return (u8 *)start;  /* fresh guest memory past the image reads as zero */
}

/* Counts PIT channel 2 ticks (1.193182 MHz) for about 10 ms against the TSC; channel 2 is gated
 * by port 0x61 and read back with latch commands, so no interrupt is involved. Where the PIT does
 * not count, it assumes 1,000,000 ticks per millisecond. */
u64 tsc_per_ms(void)
{
    if (g_tsc_per_ms)
        return g_tsc_per_ms;
    outb(0x61, (inb(0x61) & ~0x02) | 0x01);
    outb(0x43, 0xb4);                  /* channel 2, lo/hi, mode 2, binary */
    outb(0x42, 0xff);
    outb(0x42, 0xff);
    u64 t0 = rdtsc(), elapsed = 0;
    u32 prev = 0xffff;
    for (u64 polls = 0; elapsed < 11932 && (elapsed > 0 || polls < 1000); polls++) {
        outb(0x43, 0x80);              /* latch channel 2 */
        u32 now = inb(0x42);
        now |= (u32)inb(0x42) << 8;
        elapsed += now <= prev ? prev - now : prev + 0x10000 - now;
        prev = now;
    }
    u64 t1 = rdtsc();
    g_tsc_per_ms = elapsed >= 11932 ? (t1 - t0) / 10 : 1000000;
    if (g_tsc_per_ms == 0)
        g_tsc_per_ms = 1;
    return g_tsc_per_ms;
}

void *memset(void *d, int c, u64 n)
{
    u8 *p = d;
    while (n--)
        *p++ = (u8)c;
    return d;
}

void *memcpy(void *d, const void *s, u64 n)
{
    u8 *p = d;
    const u8 *q = s;
    while (n--)
        *p++ = *q++;
    return d;
}

void guest_entry(u64 argc, char **argv, u64 cpu, u64 cpus, u64 memory)
{
    if (cpu != 0) {
        if (guest_ap_main)
            guest_ap_main((int)cpu, (int)argc, argv);
        for (;;)
            __asm__ volatile("sti; hlt");
    }
    g_cpus = (int)cpus;
    g_memory = memory;
    g_next_free = (u64)_end;
    serial_init();
    guest_exit(guest_main((int)argc, argv));
}
