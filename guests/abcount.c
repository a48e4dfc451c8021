/* abcount [SLOTS=4] [N=0]: a counter kept in SLOTS pages 260 KiB apart (so in different 256 KiB migration
 * groups), written slot after slot on every iteration and checked before the next: all slots must hold the
 * same value. It prints `count N` as the counter guest does (N times; 0: forever); when it finds two slots
 * that differ (a live migration that lost a page or carried an older copy of one) it prints
 * `ab-bad count=N slot=K saw=V` and then repeats that line forever, so that any later tail of the console
 * shows it. */
#include "guest.h"

#define STRIDE ((256u + 4u) << 10)
#define MAX_SLOTS 16

int guest_main(int argc, char **argv)
{
    u64 slots = arg_u64(argc, argv, 0, 4);
    u64 n = arg_u64(argc, argv, 1, 0);
    if (slots < 2)
        slots = 2;
    if (slots > MAX_SLOTS)
        slots = MAX_SLOTS;
    u8 *region = alloc_region(slots * STRIDE);
    volatile u64 *slot[MAX_SLOTS];
    for (u64 k = 0; k < slots; k++)
        slot[k] = (volatile u64 *)(region + k * STRIDE);
    for (;;) {
        u64 count = *slot[0];
        for (u64 k = 1; k < slots; k++) {
            u64 seen = *slot[k];
            if (seen != count) {
                for (;;) {
                    put_str("ab-bad count=");
                    put_u64(count);
                    put_str(" slot=");
                    put_u64(k);
                    put_str(" saw=");
                    put_u64(seen);
                    put_char('\n');
                    for (volatile u64 spin = 0; spin < 50000000; spin++)
                        cpu_relax();
                }
            }
        }
        if (n != 0 && count >= n)
            return 0;
        count++;
        for (u64 k = 0; k < slots; k++)
            *slot[k] = count;
        put_str("count ");
        put_u64(count);
        put_char('\n');
    }
}
