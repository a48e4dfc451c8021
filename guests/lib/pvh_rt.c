/* C side of the PVH entry (lib/pvh_start.S): reads the command line and the memory map from
 * QEMU's hvm_start_info and starts the runtime as the VMM would (argc, argv, vCPU 0 of 1, memory). */
#include "guest.h"

struct hvm_start_info {
    u32 magic, version, flags, nr_modules;
    u64 modlist_paddr, cmdline_paddr, rsdp_paddr, memmap_paddr;
    u32 memmap_entries, reserved;
};

struct hvm_memmap_entry {
    u64 addr, size;
    u32 type, reserved;
};

void guest_entry(u64 argc, char **argv, u64 cpu, u64 cpus, u64 memory);
void pvh_main(struct hvm_start_info *si);

static char g_cmdline[1024];
static char *g_argv[64];

void pvh_main(struct hvm_start_info *si)
{
    u64 argc = 0;
    if (si->cmdline_paddr) {
        const char *src = (const char *)si->cmdline_paddr;
        u64 n = 0;
        while (src[n] && n < sizeof g_cmdline - 1) {
            g_cmdline[n] = src[n];
            n++;
        }
        for (u64 i = 0; i < n && argc < 64; i++) {
            if (g_cmdline[i] == ' ') {
                g_cmdline[i] = 0;
                continue;
            }
            if (i == 0 || g_cmdline[i - 1] == 0)
                g_argv[argc++] = &g_cmdline[i];
        }
    }
    u64 memory = 64UL << 20;
    if (si->version >= 1 && si->memmap_paddr) {
        struct hvm_memmap_entry *e = (struct hvm_memmap_entry *)si->memmap_paddr;
        for (u32 i = 0; i < si->memmap_entries; i++)
            if (e[i].type == 1 && e[i].addr + e[i].size > memory && e[i].addr + e[i].size <= (4UL << 30))
                memory = e[i].addr + e[i].size;
    }
    guest_entry(argc, g_argv, 0, 1, memory);
}
