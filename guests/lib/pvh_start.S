/* Entry for QEMU's -kernel PVH boot: QEMU enters pvh_entry32 in 32-bit protected mode, paging off,
 * with ebx = the hvm_start_info. This maps the first 4 GiB with 2 MiB pages, enters long mode and
 * calls pvh_main(start_info) in C on a stack in .bss. Linked into a guest beside lib/start.S
 * (pvh.ld), the same ELF also runs on the VMM, which enters _start (the ELF entry) in 64-bit mode. */
    .section .note.Xen, "a"
    .align 4
    .long 4                      /* name size: "Xen\0" */
    .long 4                      /* descriptor size */
    .long 18                     /* XEN_ELFNOTE_PHYS32_ENTRY */
    .asciz "Xen"
    .long pvh_entry32
    .align 4

    .section .text.start, "ax"
    .code32
    .global pvh_entry32
pvh_entry32:
    cli
    mov %ebx, %esi
    movl $pdpt, %eax
    orl $3, %eax
    movl %eax, pml4
    movl $pd, %eax
    orl $3, %eax
    xorl %ecx, %ecx
1:  movl %eax, pdpt(,%ecx,8)
    addl $4096, %eax
    incl %ecx
    cmpl $4, %ecx
    jne 1b
    movl $0x83, %eax             /* present, writable, 2 MiB */
    xorl %ecx, %ecx
2:  movl %eax, pd(,%ecx,8)
    movl $0, pd+4(,%ecx,8)
    addl $0x200000, %eax
    incl %ecx
    cmpl $2048, %ecx
    jne 2b
    movl %cr4, %eax
    orl $0x20, %eax              /* PAE */
    movl %eax, %cr4
    movl $pml4, %eax
    movl %eax, %cr3
    movl $0xc0000080, %ecx       /* EFER */
    rdmsr
    orl $0x100, %eax             /* LME */
    wrmsr
    movl %cr0, %eax
    orl $0x80000001, %eax        /* PG, PE */
    movl %eax, %cr0
    lgdt gdt_desc
    ljmp $0x08, $entry64

    .code64
entry64:
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movw %ax, %fs
    movw %ax, %gs
    movq $stack_top, %rsp
    movl %esi, %edi
    call pvh_main
3:  cli
    hlt
    jmp 3b

    .section .rodata
    .align 8
gdt:
    .quad 0
    .quad 0x00af9a000000ffff     /* 64-bit code */
    .quad 0x00cf92000000ffff     /* data */
gdt_desc:
    .word gdt_desc - gdt - 1
    .long gdt

    .section .bss
    .align 4096
pml4: .skip 4096
pdpt: .skip 4096
pd:   .skip 4096 * 4
stack: .skip 65536
stack_top:
    .section .note.GNU-stack, "", @progbits
