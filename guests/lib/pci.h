/* PCI configuration mechanism 1 (ports 0xCF8/0xCFC) on bus 0, and memory BARs: what a guest's own
 * drivers need when no firmware ran (our VMM assigns BARs itself; under QEMU the BIOS may or may
 * not have). Guest-only: a host process cannot reach these ports. */
#ifndef PCI_H
#define PCI_H
#include "guest.h"

#define PCI_VENDOR_ID 0x00
#define PCI_DEVICE_ID 0x02
#define PCI_COMMAND 0x04
#define PCI_STATUS 0x06
#define PCI_HEADER_TYPE 0x0e
#define PCI_BAR0 0x10
#define PCI_CAPABILITY_LIST 0x34
#define PCI_COMMAND_MEMORY 0x02
#define PCI_COMMAND_MASTER 0x04
#define PCI_STATUS_CAP_LIST 0x10

/* The window pci_bar_map assigns from: the lowest naturally aligned gap between the BARs already
 * assigned on bus 0, so it never overlaps what firmware or the VMM placed. */
#define PCI_ASSIGN_WINDOW 0xE0000000UL
#define PCI_ASSIGN_LIMIT 0xFEC00000UL

u32 pci_read32(u8 dev, u8 fn, u8 off);
u16 pci_read16(u8 dev, u8 fn, u8 off);
u8 pci_read8(u8 dev, u8 fn, u8 off);
void pci_write32(u8 dev, u8 fn, u8 off, u32 v);
void pci_write16(u8 dev, u8 fn, u8 off, u16 v);

/* The address of memory BAR bar of dev (function 0), assigning one from the window when it has
 * none or it lies above 4 GiB (beyond the guest's identity map under QEMU's PVH entry); sets
 * *assigned when it did. Returns 0 for an I/O BAR, a BAR that does not exist or a full window. */
u64 pci_bar_map(u8 dev, int bar, int *assigned);
/* Turns on memory decoding and bus mastering. */
void pci_enable(u8 dev);

#endif
