/* migdirty [FILL_MIB] [WS_MIB] [RATE_MIB_S] [TSC_PER_MS]: the migration benchmark's guest. Writes
 * every page of FILL_MIB (default 512) once, prints "filled", then rewrites the pages of the first
 * WS_MIB (default 256) of it in a loop at RATE_MIB_S (0: idle, it halts), paced by the TSC,
 * printing "dirtied N" after every MiB so that the host can measure the rate really achieved.
 * TSC_PER_MS, where the VMM knows its guests' TSC rate, replaces the PIT calibration (noisy on a
 * loaded host). The same source runs on the VMM (guests/lib runtime) and under QEMU (pvh_start.S,
 * pvh_rt.c). */
#include "guest.h"

/* An idle guest halts instead of spinning, so it costs the host no CPU. The VMM ends a machine
 * that halts with interrupts off and raises none here, so it halts with them on; under QEMU the
 * BIOS left the PIT ticking and this guest has no IDT, so it halts with them off. */
static void __attribute__((noreturn)) idle(void)
{
    for (;;) {
#ifdef PVH
        __asm__ volatile("cli; hlt");
#else
        __asm__ volatile("sti; hlt");
#endif
    }
}

int guest_main(int argc, char **argv)
{
    u64 fill = arg_u64(argc, argv, 0, 512);
    u64 ws = arg_u64(argc, argv, 1, 256);
    u64 rate = arg_u64(argc, argv, 2, 0);
    u64 fill_pages = fill << 8, ws_pages = ws << 8;
    u64 *mem = (u64 *)alloc_region(fill << 20);
    for (u64 p = 0; p < fill_pages; p++)
        mem[p << 9] = p + 1;
    put_str("filled\n");
    if (rate == 0 || ws_pages == 0 || ws_pages > fill_pages)
        idle();
    u64 per_ms = arg_u64(argc, argv, 3, 0);
    if (per_ms == 0)
        per_ms = tsc_per_ms();
    put_str("tsc_per_ms ");
    put_u64(per_ms);
    put_char('\n');
    u64 ticks_per_page = per_ms * 1000 / (rate << 8);
    u64 deadline = rdtsc();
    u64 mib = 0;
    for (u64 pass = 1;; pass++) {
        for (u64 p = 0; p < ws_pages; p++) {
            mem[p << 9] = pass * 1000003u + p;
            /* A guest descheduled by a loaded host catches up, so the average rate holds. */
            deadline += ticks_per_page;
            while (rdtsc() < deadline)
                cpu_relax();
            if ((p & 255) == 255) {
                put_str("dirtied ");
                put_u64(++mib);
                put_char('\n');
            }
        }
    }
}
