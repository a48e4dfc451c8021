/* virtio-blk requests over split virtqueues; see virtio_blk.h. */
#include "virtio_blk.h"

static u32 cfg32(struct blk_dev *b, u32 off) { return *(volatile u32 *)(b->v.device_cfg + off); }
static u16 cfg16(struct blk_dev *b, u32 off) { return *(volatile u16 *)(b->v.device_cfg + off); }
static u8 generation(struct blk_dev *b) { return b->v.common[0x15]; }

/* Slots per queue that its descriptors allow: one descriptor each with INDIRECT_DESC, else three. */
static int per_queue(struct blk_dev *b, struct virtq *q) { return b->indirect ? q->size : q->size / 3; }

int blk_open(struct blk_dev *b, int index, int fresh_bars, u64 wanted, int queues, int slots, u64 spin_ticks)
{
    memset(b, 0, sizeof *b);
    if (virtio_find(&b->v, VIRTIO_ID_BLOCK_MODERN, index, fresh_bars))
        return -1;
    wanted |= 1UL << VIRTIO_BLK_F_SIZE_MAX | 1UL << VIRTIO_BLK_F_SEG_MAX | 1UL << VIRTIO_BLK_F_BLK_SIZE |
              1UL << VIRTIO_BLK_F_RO;
    if (virtio_negotiate(&b->v, wanted))
        return -1;
    b->num_queues = virtio_has(&b->v, VIRTIO_BLK_F_MQ) ? cfg16(b, 34) : 1;
    if (b->num_queues == 0)
        b->num_queues = 1;
    if (queues > b->num_queues)
        queues = b->num_queues;
    if (queues < 1)
        queues = 1;
    if (virtio_setup_queues(&b->v, queues))
        return -1;
    b->indirect = virtio_has(&b->v, VIRTIO_RING_F_INDIRECT_DESC);
    int room = 0;
    for (int i = 0; i < queues; i++)
        room += per_queue(b, &b->v.vq[i]);
    if (slots < 1 || slots > BLK_MAX_SLOTS || slots > room) {
        put_str("blk: cannot keep ");
        put_u64((u64)slots);
        put_str(" requests in flight (room for ");
        put_u64((u64)(room < BLK_MAX_SLOTS ? room : BLK_MAX_SLOTS));
        put_str(")\n");
        return -1;
    }
    b->nslots = slots;
    b->slots = (struct blk_slot *)alloc_region(sizeof(struct blk_slot) * BLK_MAX_SLOTS);
    for (int s = 0; s < BLK_MAX_SLOTS; s++)
        b->slots[s].queue = (u8)(s % queues);
    u8 g;
    do {
        g = generation(b);
        b->capacity = (u64)cfg32(b, 4) << 32 | cfg32(b, 0);
    } while (g != generation(b));
    b->size_max = virtio_has(&b->v, VIRTIO_BLK_F_SIZE_MAX) ? cfg32(b, 8) : 0;
    b->seg_max = virtio_has(&b->v, VIRTIO_BLK_F_SEG_MAX) ? cfg32(b, 12) : 0;
    b->blk_size = virtio_has(&b->v, VIRTIO_BLK_F_BLK_SIZE) ? cfg32(b, 20) : 512;
    b->spin_limit = spin_ticks;
    virtio_driver_ok(&b->v);
    return 0;
}

static void fill(struct vring_desc *d, void *addr, u32 len, u16 flags, u16 next)
{
    d->addr = (u64)addr;
    d->len = len;
    d->flags = flags;
    d->next = next;
}

void blk_submit(struct blk_dev *b, int s, u32 type, u64 sector, void *data, u32 len)
{
    struct blk_slot *sl = &b->slots[s];
    struct virtq *q = &b->v.vq[sl->queue];
    u16 local = (u16)(s / b->v.nqueues);
    sl->hdr.type = type;
    sl->hdr.reserved = 0;
    sl->hdr.sector = sector;
    sl->status = 0xff;
    sl->busy = 1;
    if (type == VIRTIO_BLK_T_DISCARD || type == VIRTIO_BLK_T_WRITE_ZEROES) {
        sl->seg.sector = sector;
        sl->seg.num_sectors = len / 512;
        sl->seg.flags = 0;
        sl->hdr.sector = 0;
        data = &sl->seg;
        len = sizeof sl->seg;
    }
    u16 data_flags = (type == VIRTIO_BLK_T_IN || type == VIRTIO_BLK_T_GET_ID) ? VRING_DESC_F_WRITE : 0;
    /* The chain: header, data (when there is any), status; built in the slot's indirect table or
     * in its three descriptors of the ring. */
    struct vring_desc *t = b->indirect ? sl->table : &q->desc[local * 3];
    u16 base = b->indirect ? 0 : (u16)(local * 3);
    int n = 0;
    fill(&t[n], &sl->hdr, sizeof sl->hdr, VRING_DESC_F_NEXT, (u16)(base + n + 1));
    n++;
    if (len) {
        fill(&t[n], data, len, data_flags | VRING_DESC_F_NEXT, (u16)(base + n + 1));
        n++;
    }
    fill(&t[n], (void *)&sl->status, 1, VRING_DESC_F_WRITE, 0);
    n++;
    u16 head = base;
    if (b->indirect) {
        head = local;
        fill(&q->desc[local], sl->table, (u32)(n * sizeof(struct vring_desc)), VRING_DESC_F_INDIRECT, 0);
    }
    sl->started = rdtsc();
    virtq_push(q, head);
}

void blk_kick(struct blk_dev *b)
{
    for (int i = 0; i < b->v.nqueues; i++)
        virtq_kick(&b->v, &b->v.vq[i]);
}

int blk_wait(struct blk_dev *b, u32 *status)
{
    u64 deadline = rdtsc() + b->spin_limit;
    for (u64 polls = 0;; polls++) {
        for (int i = 0; i < b->v.nqueues; i++) {
            u32 id, len;
            if (!virtq_pop(&b->v, &b->v.vq[i], &id, &len))
                continue;
            u32 local = b->indirect ? id : id / 3;
            int s = (int)(local * (u32)b->v.nqueues + (u32)i);
            if ((!b->indirect && id % 3) || s >= b->nslots || !b->slots[s].busy) {
                put_str("blk: device returned a used id that is not in flight: ");
                put_u64(id);
                put_char('\n');
                *status = BLK_BAD_USED;
                return -1;
            }
            b->slots[s].busy = 0;
            *status = b->slots[s].status;
            return s;
        }
        if ((polls & 255) == 255 && rdtsc() > deadline) {
            put_str("blk: timeout waiting for a completion, device status ");
            put_hex(virtio_status(&b->v));
            put_str((virtio_status(&b->v) & VIRTIO_STATUS_NEEDS_RESET) ? " (NEEDS_RESET)\n" : "\n");
            *status = BLK_TIMEOUT;
            return -1;
        }
        cpu_relax();
    }
}

u32 blk_sync(struct blk_dev *b, u32 type, u64 sector, void *data, u32 len)
{
    u32 status;
    blk_submit(b, 0, type, sector, data, len);
    blk_kick(b);
    int s = blk_wait(b, &status);
    return s == 0 ? status : (s < 0 ? status : BLK_BAD_USED);
}
