/* Prints the host's TSC rate in kHz, measured against CLOCK_MONOTONIC over 200 ms: the rate a
 * guest under qemu-system-x86_64 -accel tcg reads, since TCG's rdtsc returns the host's TSC. */
#include <stdio.h>
#include <time.h>
#include <x86intrin.h>

int main(void)
{
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    unsigned long long t0 = __rdtsc();
    long ns;
    do {
        clock_gettime(CLOCK_MONOTONIC, &b);
        ns = (b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec);
    } while (ns < 200000000L);
    printf("%llu\n", (__rdtsc() - t0) * 1000000ULL / (unsigned long long)ns);
    return 0;
}
