/* triple: loads an empty IDT and raises an exception (#UD; a software interrupt would make KVM on
 * SVM try to emulate its delivery and fail), so that the CPU triple faults (a shutdown). */
#include "guest.h"

int guest_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    static const struct __attribute__((packed)) { u16 limit; u64 base; } empty = { 0, 0 };
    put_str("triple: faulting on purpose\n");
    __asm__ volatile("lidt %0; ud2" : : "m"(empty));
    put_str("triple: still running\n");
    return 1;
}
