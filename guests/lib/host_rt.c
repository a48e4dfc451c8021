/* Host side of the runtime: the same guest program as a Linux process, printing to stdout.
 * GUEST_CPUS in the environment sets cpu_count(); guest_ap_main runs for each extra "vCPU"
 * one after the other before guest_main. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "guest.h"

static int g_cpus = 1;

void put_char(char c) { putchar(c); }

void guest_exit(int status)
{
    fflush(stdout);
    exit(status);
}

int cpu_count(void) { return g_cpus; }

u8 *alloc_region(u64 bytes)
{
    u8 *p = calloc(1, bytes);
    if (!p) {
        put_str("alloc_region: out of memory\n");
        guest_exit(3);
    }
    return p;
}

u64 tsc_per_ms(void)
{
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    u64 t0 = rdtsc();
    do clock_gettime(CLOCK_MONOTONIC, &b);
    while ((b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec) < 10000000L);
    return (rdtsc() - t0) / 10;
}

int main(int argc, char **argv)
{
    const char *cpus = getenv("GUEST_CPUS");
    if (cpus && atoi(cpus) > 0)
        g_cpus = atoi(cpus);
    if (guest_ap_main)
        for (int cpu = 1; cpu < g_cpus; cpu++)
            guest_ap_main(cpu, argc - 1, argv + 1);
    guest_exit(guest_main(argc - 1, argv + 1));
}
