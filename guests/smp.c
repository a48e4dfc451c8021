/* smp [ITERATIONS]: every vCPU adds 1 to a shared counter ITERATIONS times (default 10000) under a
 * lock-cmpxchg spinlock; vCPU 0 waits for all of them and prints the total, exiting 0 when it is
 * exactly cpus * ITERATIONS. */
#include "guest.h"

static volatile u64 counter;
static volatile u32 lock;
static volatile u64 finished;

static void spin_lock(void)
{
    while (!__sync_bool_compare_and_swap(&lock, 0, 1))
        while (lock)
            cpu_relax();
}

static void spin_unlock(void)
{
    __sync_synchronize();
    lock = 0;
}

static void work(u64 iterations)
{
    for (u64 i = 0; i < iterations; i++) {
        spin_lock();
        counter = counter + 1;
        spin_unlock();
    }
    __sync_fetch_and_add(&finished, 1);
}

void guest_ap_main(int cpu, int argc, char **argv)
{
    (void)cpu;
    work(arg_u64(argc, argv, 0, 10000));
}

int guest_main(int argc, char **argv)
{
    u64 iterations = arg_u64(argc, argv, 0, 10000);
    u64 cpus = (u64)cpu_count();
    work(iterations);
    while (finished < cpus)
        cpu_relax();
    put_str("smp: cpus=");
    put_u64(cpus);
    put_str(" iterations=");
    put_u64(iterations);
    put_str(" total=");
    put_u64(counter);
    put_char('\n');
    return counter == cpus * iterations ? 0 : 1;
}
