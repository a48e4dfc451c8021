/* PCI configuration mechanism 1 and BAR assignment; see pci.h. */
#include "pci.h"

static inline void outl_(u16 port, u32 v) { __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }
static inline u32 inl_(u16 port) { u32 v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port)); return v; }

static void cfg_select(u8 dev, u8 fn, u8 off)
{
    outl_(0xcf8, 0x80000000u | (u32)dev << 11 | (u32)fn << 8 | (off & 0xfc));
}

u32 pci_read32(u8 dev, u8 fn, u8 off)
{
    cfg_select(dev, fn, off);
    return inl_(0xcfc);
}

u16 pci_read16(u8 dev, u8 fn, u8 off) { return (u16)(pci_read32(dev, fn, off) >> ((off & 2) * 8)); }
u8 pci_read8(u8 dev, u8 fn, u8 off) { return (u8)(pci_read32(dev, fn, off) >> ((off & 3) * 8)); }

void pci_write32(u8 dev, u8 fn, u8 off, u32 v)
{
    cfg_select(dev, fn, off);
    outl_(0xcfc, v);
}

/* A read-modify-write of the dword: the registers written this way (command) have no
 * write-one-to-clear neighbours that matter here (the status register's error bits are 0). */
void pci_write16(u8 dev, u8 fn, u8 off, u16 v)
{
    u32 d = pci_read32(dev, fn, off);
    int shift = (off & 2) * 8;
    d = (d & ~(0xffffu << shift)) | (u32)v << shift;
    if ((off & ~3) == PCI_COMMAND)
        d &= 0x0000ffffu; /* never write ones back into the status register's RW1C bits */
    pci_write32(dev, fn, off, d);
}

/* Memory BARs assigned on bus 0 (by firmware, the VMM or this driver), which new ones avoid. */
static struct {
    u64 base, size;
} g_used[32 * 6];
static int g_nused = -1;

/* Raw address and size of a memory BAR; size 0 when it does not exist or is an I/O BAR. */
static u64 bar_probe(u8 dev, int bar, u64 *size, int *is64)
{
    u8 off = (u8)(PCI_BAR0 + 4 * bar);
    u32 lo = pci_read32(dev, 0, off);
    *size = 0;
    *is64 = 0;
    if (lo & 1)
        return 0;
    *is64 = ((lo >> 1) & 3) == 2;
    u32 hi = *is64 ? pci_read32(dev, 0, off + 4) : 0;
    u16 cmd = pci_read16(dev, 0, PCI_COMMAND);
    pci_write16(dev, 0, PCI_COMMAND, cmd & ~PCI_COMMAND_MEMORY);
    pci_write32(dev, 0, off, 0xffffffffu);
    u32 mlo = pci_read32(dev, 0, off) & ~0xfu;
    u32 mhi = 0xffffffffu;
    if (*is64) {
        pci_write32(dev, 0, off + 4, 0xffffffffu);
        mhi = pci_read32(dev, 0, off + 4);
        pci_write32(dev, 0, off + 4, hi);
    }
    pci_write32(dev, 0, off, lo);
    pci_write16(dev, 0, PCI_COMMAND, cmd);
    u64 mask = (u64)mhi << 32 | mlo;
    if (mlo == 0 && (!*is64 || mhi == 0))
        return 0;
    *size = ~mask + 1;
    if (!*is64)
        *size &= 0xffffffffu;
    return ((u64)hi << 32 | lo) & ~0xfUL;
}

static void used_init(void)
{
    g_nused = 0;
    for (u8 dev = 0; dev < 32; dev++) {
        if (pci_read16(dev, 0, PCI_VENDOR_ID) == 0xffff)
            continue;
        for (int bar = 0; bar < 6; bar++) {
            u64 size;
            int is64;
            u64 addr = bar_probe(dev, bar, &size, &is64);
            if (size && addr) {
                g_used[g_nused].base = addr;
                g_used[g_nused++].size = size;
            }
            bar += is64;
        }
    }
}

/* The lowest naturally aligned place for size bytes in the window that no BAR overlaps, or 0. */
static u64 find_gap(u64 size)
{
    u64 at = (PCI_ASSIGN_WINDOW + size - 1) & ~(size - 1);
    for (int moved = 1; moved && at + size <= PCI_ASSIGN_LIMIT;) {
        moved = 0;
        for (int i = 0; i < g_nused; i++)
            if (at < g_used[i].base + g_used[i].size && g_used[i].base < at + size) {
                at = (g_used[i].base + g_used[i].size + size - 1) & ~(size - 1);
                moved = 1;
            }
    }
    return at + size <= PCI_ASSIGN_LIMIT ? at : 0;
}

u64 pci_bar_map(u8 dev, int bar, int *assigned)
{
    u64 size;
    int is64;
    u64 addr = bar_probe(dev, bar, &size, &is64);
    *assigned = 0;
    if (size == 0)
        return 0;
    if (addr != 0 && addr + size <= (4UL << 30))
        return addr;
    if (g_nused < 0)
        used_init();
    addr = find_gap(size);
    if (addr == 0 || g_nused == (int)(sizeof g_used / sizeof g_used[0]))
        return 0;
    g_used[g_nused].base = addr;
    g_used[g_nused++].size = size;
    u8 off = (u8)(PCI_BAR0 + 4 * bar);
    u16 cmd = pci_read16(dev, 0, PCI_COMMAND);
    pci_write16(dev, 0, PCI_COMMAND, cmd & ~PCI_COMMAND_MEMORY);
    pci_write32(dev, 0, off, (u32)addr | (pci_read32(dev, 0, off) & 0xf));
    if (is64)
        pci_write32(dev, 0, off + 4, (u32)(addr >> 32));
    pci_write16(dev, 0, PCI_COMMAND, cmd);
    *assigned = 1;
    return addr;
}

void pci_enable(u8 dev)
{
    pci_write16(dev, 0, PCI_COMMAND, pci_read16(dev, 0, PCI_COMMAND) | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
}
