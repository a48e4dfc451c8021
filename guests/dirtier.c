/* dirtier [WS_MIB] [RATE_MIB_S] [PASSES]: writes a working set of WS_MIB (default 16) page by page
 * at RATE_MIB_S (default 0: unpaced) paced by rdtsc, PASSES times (default 0: forever), printing
 * a line per pass and a checksum at the end. */
#include "guest.h"

int guest_main(int argc, char **argv)
{
    u64 ws_mib = arg_u64(argc, argv, 0, 16);
    u64 rate = arg_u64(argc, argv, 1, 0);
    u64 passes = arg_u64(argc, argv, 2, 0);
    u64 pages = ws_mib << 8;
    u64 *ws = (u64 *)alloc_region(ws_mib << 20);
    /* Pages per millisecond at the requested rate, and TSC ticks per millisecond. */
    u64 pages_per_ms = rate ? (rate << 8) / 1000 : 0;
    if (rate && pages_per_ms == 0)
        pages_per_ms = 1;
    u64 ticks = rate ? tsc_per_ms() : 0;
    u64 deadline = rdtsc() + ticks, in_slice = 0;
    for (u64 pass = 1; passes == 0 || pass <= passes; pass++) {
        for (u64 p = 0; p < pages; p++) {
            ws[p << 9] = pass * 1000003u + p;
            if (rate && ++in_slice == pages_per_ms) {
                in_slice = 0;
                while (rdtsc() < deadline)
                    cpu_relax();
                deadline += ticks;
            }
        }
        put_str("dirtier pass ");
        put_u64(pass);
        put_char('\n');
    }
    u64 sum = 0;
    for (u64 p = 0; p < pages; p++)
        sum += ws[p << 9];
    put_str("dirtier: pages=");
    put_u64(pages);
    put_str(" passes=");
    put_u64(passes);
    put_str(" sum=");
    put_u64(sum);
    put_char('\n');
    return 0;
}
