/* counter [N]: increments a counter in memory and prints each value, N times (0: forever). */
#include "guest.h"

static volatile u64 counter;

int guest_main(int argc, char **argv)
{
    u64 n = arg_u64(argc, argv, 0, 0);
    while (n == 0 || counter < n) {
        counter++;
        put_str("count ");
        put_u64(counter);
        put_char('\n');
    }
    return 0;
}
