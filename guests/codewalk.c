/* codewalk [MIB=16] [PASSES=1]: writes a `ret` at the start of every 4 KiB page of a MIB region and calls it,
 * PASSES times (0: forever), a line per pass. Each call runs code in a page never run before, so an
 * emulator decodes (and keeps) code for every page: the guest that makes a VMM's decoded-code cache grow
 * with its memory (tests bound that cache, or the worker's memory by its cgroup). */
#include "guest.h"

int guest_main(int argc, char **argv)
{
    u64 mib = arg_u64(argc, argv, 0, 16);
    u64 passes = arg_u64(argc, argv, 1, 1);
    u64 pages = mib << 8;
    volatile u8 *region = (volatile u8 *)alloc_region(mib << 20);
    for (u64 pass = 1; passes == 0 || pass <= passes; pass++) {
        for (u64 p = 0; p < pages; p++) {
            volatile u8 *page = region + (p << 12);
            page[0] = 0xc3; /* ret */
            ((void (*)(void))page)();
        }
        put_str("codewalk pass ");
        put_u64(pass);
        put_str(" pages ");
        put_u64(pages);
        put_char('\n');
    }
    return 0;
}
