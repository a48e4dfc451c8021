/* timer [N] [EVERY]: programs the PIC (IRQ0 at vector 0x20) and PIT channel 0 at about 1 kHz, takes N
 * (default 100) timer interrupts through its own IDT while halting, and prints the count. With EVERY > 0 it also
 * prints "ticks K" each time K, a multiple of EVERY, interrupts have been taken (a progress line a migration test can
 * follow from source to target without knowing how fast this host delivers interrupts). */
#include "guest.h"

#define VECTOR 0x20

volatile u64 ticks;
void timer_isr(void);

__asm__(
    ".text\n"
    ".global timer_isr\n"
    "timer_isr:\n"
    "    push %rax\n"
    "    lock incq ticks(%rip)\n"
    "    mov $0x20, %al\n"
    "    out %al, $0x20\n"   /* non-specific EOI to the master PIC */
    "    pop %rax\n"
    "    iretq\n");

struct __attribute__((packed)) gate {
    u16 offset_low, selector;
    u8 ist, type;
    u16 offset_mid;
    u32 offset_high, reserved;
};

static struct gate idt[VECTOR + 1];

static void set_gate(int vector, void (*handler)(void))
{
    u64 a = (u64)handler;
    idt[vector] = (struct gate){ (u16)a, 0x08, 0, 0x8e, (u16)(a >> 16), (u32)(a >> 32), 0 };
}

static void pic_init(void)
{
    outb(0x20, 0x11); outb(0xa0, 0x11);   /* ICW1: edge, cascade, ICW4 */
    outb(0x21, 0x20); outb(0xa1, 0x28);   /* ICW2: vectors 0x20 and 0x28 */
    outb(0x21, 0x04); outb(0xa1, 0x02);   /* ICW3: slave on IRQ2 */
    outb(0x21, 0x01); outb(0xa1, 0x01);   /* ICW4: 8086 mode */
    outb(0x21, 0xfe); outb(0xa1, 0xff);   /* only IRQ0 */
}

static void pit_init(u16 divisor)
{
    outb(0x43, 0x34);                     /* channel 0, lo/hi, mode 2 */
    outb(0x40, (u8)divisor);
    outb(0x40, (u8)(divisor >> 8));
}

int guest_main(int argc, char **argv)
{
    u64 n = arg_u64(argc, argv, 0, 100);
    u64 every = arg_u64(argc, argv, 1, 0);
    u64 next = every;
    struct __attribute__((packed)) { u16 limit; u64 base; } idtr = { sizeof idt - 1, (u64)idt };
    set_gate(VECTOR, timer_isr);
    __asm__ volatile("lidt %0" : : "m"(idtr));
    pic_init();
    pit_init(1193);
    __asm__ volatile("sti");
    while (ticks < n) {
        __asm__ volatile("hlt");
        if (every && ticks >= next && next <= n) {
            put_str("ticks ");
            put_u64(next);
            put_str("\n");
            next += every;
        }
    }
    __asm__ volatile("cli");
    put_str("timer: ");
    put_u64(n);
    put_str(" interrupts taken\n");
    return ticks >= n ? 0 : 1;
}
