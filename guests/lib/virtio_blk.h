/* virtio-blk over virtio_pci.h: configuration, and requests in fixed slots so that several are
 * in flight (one slot per outstanding request, spread round-robin over the queues), each either
 * a chain of direct descriptors or one indirect descriptor. Completion is polled with a bound. */
#ifndef VIRTIO_BLK_H
#define VIRTIO_BLK_H
#include "virtio_pci.h"

#define VIRTIO_ID_BLOCK_MODERN 0x1042

#define VIRTIO_BLK_F_SIZE_MAX 1
#define VIRTIO_BLK_F_SEG_MAX 2
#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH 9
#define VIRTIO_BLK_F_MQ 12
#define VIRTIO_BLK_F_DISCARD 13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_T_FLUSH 4
#define VIRTIO_BLK_T_GET_ID 8
#define VIRTIO_BLK_T_DISCARD 11
#define VIRTIO_BLK_T_WRITE_ZEROES 13

#define VIRTIO_BLK_S_OK 0
#define VIRTIO_BLK_S_IOERR 1
#define VIRTIO_BLK_S_UNSUPP 2
/* Not a device status: the driver gave up waiting (see blk_wait). */
#define BLK_TIMEOUT 0x100
#define BLK_BAD_USED 0x101

#define BLK_MAX_SLOTS 64

struct blk_req_hdr {
    u32 type, reserved;
    u64 sector;
};

struct blk_discard_seg {
    u64 sector;
    u32 num_sectors, flags;
};

struct blk_slot {
    struct blk_req_hdr hdr;
    struct blk_discard_seg seg;
    struct vring_desc table[3];   /* the indirect table */
    volatile u8 status;
    u8 busy;
    u8 queue;
    u64 started;                  /* rdtsc at submission */
};

struct blk_dev {
    struct virtio_dev v;
    u64 capacity;                 /* 512-byte sectors */
    u32 blk_size, size_max, seg_max;
    u16 num_queues;               /* the device's, 1 without MQ */
    int indirect;
    int nslots;
    u64 spin_limit;               /* TSC ticks blk_wait spins before it reports a timeout */
    struct blk_slot *slots;
};

/* Finds the index-th virtio-blk, negotiates (VERSION_1 and the wanted features it offers), sets
 * up queues (capped by num_queues), reads the configuration, DRIVER_OK. 0 or negative.
 * fresh_bars: see virtio_find. */
int blk_open(struct blk_dev *b, int index, int fresh_bars, u64 wanted, int queues, int slots, u64 spin_ticks);
/* Starts request type on slot s: data (may be 0 with len 0) is read by the device for OUT,
 * DISCARD, WRITE_ZEROES (which take a range: sector and len/512 sectors, not data), written by it
 * for IN and GET_ID. The caller kicks (blk_kick) after a batch. */
void blk_submit(struct blk_dev *b, int s, u32 type, u64 sector, void *data, u32 len);
void blk_kick(struct blk_dev *b);
/* Waits for any completion: returns the slot and sets *status (a VIRTIO_BLK_S_* or BLK_TIMEOUT,
 * BLK_BAD_USED with slot -1). */
int blk_wait(struct blk_dev *b, u32 *status);
/* Submits on slot 0, kicks and waits: the status. */
u32 blk_sync(struct blk_dev *b, u32 type, u64 sector, void *data, u32 len);

#endif
