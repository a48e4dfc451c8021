/* Entry of every guest. The VMM starts each vCPU here in 64-bit mode with
 * rdi = argc, rsi = argv, rdx = vCPU id, rcx = vCPU count, r8 = memory bytes
 * and rsp = a 16-byte aligned stack top of its own, so this calls C directly. */
    .section .text.start, "ax"
    .global _start
_start:
    call guest_entry
1:  cli
    hlt
    jmp 1b
    .section .note.GNU-stack, "", @progbits
