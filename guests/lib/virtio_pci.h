/* A small modern (1.x) virtio-pci driver core: finds a device by its PCI device id, maps the
 * common, notify, ISR and device configuration structures from its vendor capabilities, runs
 * the status handshake and feature negotiation, and drives split virtqueues by polling (the
 * guest keeps interrupts off and asks the device not to send any). Guest-only. */
#ifndef VIRTIO_PCI_H
#define VIRTIO_PCI_H
#include "guest.h"

#define VIRTIO_PCI_VENDOR 0x1af4

/* Device status bits. */
#define VIRTIO_STATUS_ACKNOWLEDGE 1
#define VIRTIO_STATUS_DRIVER 2
#define VIRTIO_STATUS_DRIVER_OK 4
#define VIRTIO_STATUS_FEATURES_OK 8
#define VIRTIO_STATUS_NEEDS_RESET 0x40
#define VIRTIO_STATUS_FAILED 0x80

/* Transport feature bits. */
#define VIRTIO_RING_F_INDIRECT_DESC 28
#define VIRTIO_RING_F_EVENT_IDX 29
#define VIRTIO_F_VERSION_1 32

/* Split ring descriptor flags. */
#define VRING_DESC_F_NEXT 1
#define VRING_DESC_F_WRITE 2
#define VRING_DESC_F_INDIRECT 4

#define VIRTIO_MAX_QUEUES 8
#define VIRTIO_MAX_QUEUE_SIZE 256

struct vring_desc {
    u64 addr;
    u32 len;
    u16 flags, next;
};

struct virtq {
    u16 size;
    u16 index;
    struct vring_desc *desc;
    volatile u16 *avail;     /* flags, idx, ring[size], used_event */
    volatile u16 *used;      /* flags, idx, then {u32 id, u32 len}[size], avail_event */
    volatile u16 *notify;
    u16 avail_idx;           /* the driver's copy of avail->idx */
    u16 kicked_idx;          /* avail->idx at the last notification */
    u16 last_used;           /* used entries consumed */
};

struct virtio_dev {
    u8 pci_dev;
    u16 device_id;
    volatile u8 *common, *isr, *device_cfg;
    volatile u8 *notify_base;
    u32 notify_mul;
    int bars_assigned;       /* how many BARs this driver had to assign itself */
    u64 device_features, driver_features;
    int nqueues;
    struct virtq vq[VIRTIO_MAX_QUEUES];
};

/* Finds the index-th device (0-based, bus 0, slot order) with PCI device id device_id and maps
 * its structures. fresh_bars clears its BARs first, as if no firmware had run, so that the driver
 * assigns them (QEMU's BIOS assigns them before a PVH kernel starts: this exercises that path).
 * Returns 0, or a negative value with a line printed saying why. */
int virtio_find(struct virtio_dev *d, u16 device_id, int index, int fresh_bars);
/* Reset, ACKNOWLEDGE, DRIVER, reads the device features, accepts VERSION_1 and those of wanted
 * that the device offers, FEATURES_OK and checks that it stuck. Returns 0 or negative. */
int virtio_negotiate(struct virtio_dev *d, u64 wanted);
/* Sets up queues 0..n-1 of min(device maximum, VIRTIO_MAX_QUEUE_SIZE) entries each. */
int virtio_setup_queues(struct virtio_dev *d, int n);
/* DRIVER_OK. */
void virtio_driver_ok(struct virtio_dev *d);
u8 virtio_status(struct virtio_dev *d);
/* Resets the device (status 0, waits until it reads 0). */
int virtio_reset(struct virtio_dev *d);
/* Makes head visible in q's available ring (no notification yet). */
void virtq_push(struct virtq *q, u16 head);
/* Notifies the device of the heads pushed since the last kick, unless it suppressed notifications
 * (the used ring's NO_NOTIFY flag, or avail_event under EVENT_IDX). */
void virtq_kick(struct virtio_dev *d, struct virtq *q);
/* Takes one used entry: returns 1 with its id and length, or 0 when there is none. */
int virtq_pop(struct virtio_dev *d, struct virtq *q, u32 *id, u32 *len);

static inline int virtio_has(const struct virtio_dev *d, int bit) { return (int)(d->driver_features >> bit) & 1; }

/* A full barrier: orders the avail index store before the loads of the notification
 * suppression fields (x86 keeps other orders; the compiler is told not to reorder). */
static inline void virtio_mb(void) { __asm__ volatile("lock; addl $0, (%%rsp)" ::: "memory", "cc"); }
static inline void virtio_cb(void) { __asm__ volatile("" ::: "memory"); }

#endif
