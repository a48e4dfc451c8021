/* abpages [MIB] [PASSES]: QEMU's migration-test idea. Increments byte 0 of every page of a MIB
 * region (default 16) in a loop, printing a line per pass; stops after PASSES (0: forever) and
 * checks that every page saw every pass. */
#include "guest.h"

int guest_main(int argc, char **argv)
{
    u64 mib = arg_u64(argc, argv, 0, 16);
    u64 passes = arg_u64(argc, argv, 1, 0);
    u64 pages = mib << 8;
    u8 *region = alloc_region(mib << 20);
    for (u64 pass = 1; passes == 0 || pass <= passes; pass++) {
        for (u64 p = 0; p < pages; p++)
            region[p << 12]++;
        put_str("abpages pass ");
        put_u64(pass);
        put_char('\n');
    }
    for (u64 p = 0; p < pages; p++)
        if (region[p << 12] != (u8)passes) {
            put_str("abpages: page ");
            put_u64(p);
            put_str(" missed a pass\n");
            return 1;
        }
    put_str("abpages: pages=");
    put_u64(pages);
    put_str(" passes=");
    put_u64(passes);
    put_str(" ok\n");
    return 0;
}
