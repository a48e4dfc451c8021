/* Modern virtio-pci: capabilities, status handshake, features, split virtqueues; see virtio_pci.h. */
#include "virtio_pci.h"
#include "pci.h"

/* struct virtio_pci_common_cfg offsets (virtio 1.x, 4.1.4.3). */
#define CC_DEVICE_FEATURE_SELECT 0x00
#define CC_DEVICE_FEATURE 0x04
#define CC_DRIVER_FEATURE_SELECT 0x08
#define CC_DRIVER_FEATURE 0x0c
#define CC_MSIX_CONFIG 0x10
#define CC_NUM_QUEUES 0x12
#define CC_DEVICE_STATUS 0x14
#define CC_QUEUE_SELECT 0x16
#define CC_QUEUE_SIZE 0x18
#define CC_QUEUE_MSIX_VECTOR 0x1a
#define CC_QUEUE_ENABLE 0x1c
#define CC_QUEUE_NOTIFY_OFF 0x1e
#define CC_QUEUE_DESC 0x20
#define CC_QUEUE_DRIVER 0x28
#define CC_QUEUE_DEVICE 0x30

#define VIRTIO_PCI_CAP_COMMON_CFG 1
#define VIRTIO_PCI_CAP_NOTIFY_CFG 2
#define VIRTIO_PCI_CAP_ISR_CFG 3
#define VIRTIO_PCI_CAP_DEVICE_CFG 4
#define VIRTIO_MSI_NO_VECTOR 0xffff
#define VRING_USED_F_NO_NOTIFY 1
#define VRING_AVAIL_F_NO_INTERRUPT 1
#define SPIN_LIMIT 10000000UL

static u8 rd8(struct virtio_dev *d, u32 off) { return d->common[off]; }
static u16 rd16(struct virtio_dev *d, u32 off) { return *(volatile u16 *)(d->common + off); }
static u32 rd32(struct virtio_dev *d, u32 off) { return *(volatile u32 *)(d->common + off); }
static void wr8(struct virtio_dev *d, u32 off, u8 v) { d->common[off] = v; }
static void wr16(struct virtio_dev *d, u32 off, u16 v) { *(volatile u16 *)(d->common + off) = v; }
static void wr32(struct virtio_dev *d, u32 off, u32 v) { *(volatile u32 *)(d->common + off) = v; }
static void wr64(struct virtio_dev *d, u32 off, u64 v)
{
    wr32(d, off, (u32)v);
    wr32(d, off + 4, (u32)(v >> 32));
}

static void say(const char *what, u64 v)
{
    put_str("virtio: ");
    put_str(what);
    put_char(' ');
    put_hex(v);
    put_char('\n');
}

/* Maps the vendor capabilities of cfg_type 1..4; the PCI configuration access one (5) and any
 * other type are skipped, as are later duplicates of a type (the spec's order of preference). */
static int map_caps(struct virtio_dev *d)
{
    u8 dev = d->pci_dev;
    u64 bars[6] = {0};
    int seen = 0;
    if (!(pci_read16(dev, 0, PCI_STATUS) & PCI_STATUS_CAP_LIST)) {
        say("no capability list on device", dev);
        return -1;
    }
    u8 ptr = pci_read8(dev, 0, PCI_CAPABILITY_LIST) & 0xfc;
    for (int guard = 0; ptr && guard < 48; guard++) {
        u8 id = pci_read8(dev, 0, ptr), next = pci_read8(dev, 0, ptr + 1) & 0xfc;
        if (id == 0x09) {
            u8 type = pci_read8(dev, 0, ptr + 3), bar = pci_read8(dev, 0, ptr + 4);
            u32 off = pci_read32(dev, 0, ptr + 8);
            if (type >= VIRTIO_PCI_CAP_COMMON_CFG && type <= VIRTIO_PCI_CAP_DEVICE_CFG && !(seen & 1 << type)) {
                if (bar > 5) {
                    say("capability names a BAR above 5:", bar);
                    return -1;
                }
                if (!bars[bar]) {
                    int assigned;
                    bars[bar] = pci_bar_map(dev, bar, &assigned);
                    d->bars_assigned += assigned;
                    if (!bars[bar]) {
                        say("cannot map BAR", bar);
                        return -1;
                    }
                }
                volatile u8 *at = (volatile u8 *)(bars[bar] + off);
                seen |= 1 << type;
                if (type == VIRTIO_PCI_CAP_COMMON_CFG)
                    d->common = at;
                else if (type == VIRTIO_PCI_CAP_NOTIFY_CFG) {
                    d->notify_base = at;
                    d->notify_mul = pci_read32(dev, 0, ptr + 16);
                } else if (type == VIRTIO_PCI_CAP_ISR_CFG)
                    d->isr = at;
                else
                    d->device_cfg = at;
            }
        }
        ptr = next;
    }
    if ((seen & 0x1e) != 0x1e) {
        say("missing virtio capabilities, have mask", (u64)seen);
        return -1;
    }
    pci_enable(dev);
    return 0;
}

int virtio_find(struct virtio_dev *d, u16 device_id, int index, int fresh_bars)
{
    memset(d, 0, sizeof *d);
    int found = 0;
    for (u8 dev = 0; dev < 32; dev++) {
        u32 id = pci_read32(dev, 0, PCI_VENDOR_ID);
        if ((u16)id != VIRTIO_PCI_VENDOR || (u16)(id >> 16) != device_id)
            continue;
        if (found++ != index)
            continue;
        d->pci_dev = dev;
        d->device_id = device_id;
        if (fresh_bars) {
            pci_write16(dev, 0, PCI_COMMAND, pci_read16(dev, 0, PCI_COMMAND) & ~PCI_COMMAND_MEMORY);
            for (int bar = 0; bar < 6; bar++)
                pci_write32(dev, 0, (u8)(PCI_BAR0 + 4 * bar), 0);
        }
        return map_caps(d);
    }
    put_str("virtio: no device ");
    put_hex(device_id);
    put_str(" with index ");
    put_u64((u64)index);
    put_str(" (found ");
    put_u64((u64)found);
    put_str(")\n");
    return -1;
}

u8 virtio_status(struct virtio_dev *d) { return rd8(d, CC_DEVICE_STATUS); }

int virtio_reset(struct virtio_dev *d)
{
    wr8(d, CC_DEVICE_STATUS, 0);
    for (u64 i = 0; i < SPIN_LIMIT; i++)
        if (rd8(d, CC_DEVICE_STATUS) == 0)
            return 0;
    say("reset timed out, status", rd8(d, CC_DEVICE_STATUS));
    return -1;
}

int virtio_negotiate(struct virtio_dev *d, u64 wanted)
{
    if (virtio_reset(d))
        return -1;
    wr8(d, CC_DEVICE_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
    wr8(d, CC_DEVICE_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    wr32(d, CC_DEVICE_FEATURE_SELECT, 0);
    u64 lo = rd32(d, CC_DEVICE_FEATURE);
    wr32(d, CC_DEVICE_FEATURE_SELECT, 1);
    u64 hi = rd32(d, CC_DEVICE_FEATURE);
    d->device_features = hi << 32 | lo;
    if (!(d->device_features >> VIRTIO_F_VERSION_1 & 1)) {
        say("device does not offer VIRTIO_F_VERSION_1, features", d->device_features);
        wr8(d, CC_DEVICE_STATUS, VIRTIO_STATUS_FAILED);
        return -1;
    }
    d->driver_features = d->device_features & (wanted | 1UL << VIRTIO_F_VERSION_1);
    wr32(d, CC_DRIVER_FEATURE_SELECT, 0);
    wr32(d, CC_DRIVER_FEATURE, (u32)d->driver_features);
    wr32(d, CC_DRIVER_FEATURE_SELECT, 1);
    wr32(d, CC_DRIVER_FEATURE, (u32)(d->driver_features >> 32));
    wr8(d, CC_DEVICE_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
    if (!(rd8(d, CC_DEVICE_STATUS) & VIRTIO_STATUS_FEATURES_OK)) {
        say("device refused FEATURES_OK for features", d->driver_features);
        wr8(d, CC_DEVICE_STATUS, VIRTIO_STATUS_FAILED);
        return -1;
    }
    wr16(d, CC_MSIX_CONFIG, VIRTIO_MSI_NO_VECTOR);
    return 0;
}

int virtio_setup_queues(struct virtio_dev *d, int n)
{
    u16 max = rd16(d, CC_NUM_QUEUES);
    if (n < 1 || n > VIRTIO_MAX_QUEUES || n > max) {
        put_str("virtio: cannot use ");
        put_u64((u64)n);
        put_str(" queues (device has ");
        put_u64(max);
        put_str(")\n");
        return -1;
    }
    for (int i = 0; i < n; i++) {
        struct virtq *q = &d->vq[i];
        wr16(d, CC_QUEUE_SELECT, (u16)i);
        u16 size = rd16(d, CC_QUEUE_SIZE);
        if (size == 0) {
            say("queue not available:", (u64)i);
            return -1;
        }
        if (size > VIRTIO_MAX_QUEUE_SIZE)
            size = VIRTIO_MAX_QUEUE_SIZE;
        while (size & (size - 1))   /* split rings are a power of two long */
            size &= (u16)(size - 1);
        /* One page each for the descriptor table (16 * 256), the available ring and the used ring. */
        u8 *mem = alloc_region(3 * 4096);
        q->size = size;
        q->index = (u16)i;
        q->desc = (struct vring_desc *)mem;
        q->avail = (volatile u16 *)(mem + 4096);
        q->used = (volatile u16 *)(mem + 8192);
        q->avail_idx = q->kicked_idx = q->last_used = 0;
        /* No interrupts wanted: NO_INTERRUPT without EVENT_IDX, used_event kept behind with it. */
        q->avail[0] = virtio_has(d, VIRTIO_RING_F_EVENT_IDX) ? 0 : VRING_AVAIL_F_NO_INTERRUPT;
        q->avail[2 + size] = 0xffff;
        wr16(d, CC_QUEUE_SIZE, size);
        wr16(d, CC_QUEUE_MSIX_VECTOR, VIRTIO_MSI_NO_VECTOR);
        wr64(d, CC_QUEUE_DESC, (u64)q->desc);
        wr64(d, CC_QUEUE_DRIVER, (u64)q->avail);
        wr64(d, CC_QUEUE_DEVICE, (u64)q->used);
        q->notify = (volatile u16 *)(d->notify_base + (u64)rd16(d, CC_QUEUE_NOTIFY_OFF) * d->notify_mul);
        wr16(d, CC_QUEUE_ENABLE, 1);
    }
    d->nqueues = n;
    return 0;
}

void virtio_driver_ok(struct virtio_dev *d)
{
    wr8(d, CC_DEVICE_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
                                 VIRTIO_STATUS_DRIVER_OK);
}

void virtq_push(struct virtq *q, u16 head)
{
    virtio_cb();   /* the descriptors and request the caller wrote (plain stores) come first */
    q->avail[2 + (q->avail_idx & (q->size - 1))] = head;
    virtio_cb();
    q->avail[1] = ++q->avail_idx;
}

/* vring_need_event of the spec (2.7.10): whether old..new crossed event. */
static int need_event(u16 event, u16 new_idx, u16 old_idx) { return (u16)(new_idx - event - 1) < (u16)(new_idx - old_idx); }

void virtq_kick(struct virtio_dev *d, struct virtq *q)
{
    if (q->avail_idx == q->kicked_idx)
        return;
    virtio_mb();
    int notify = virtio_has(d, VIRTIO_RING_F_EVENT_IDX)
                     ? need_event(q->used[2 + 4 * q->size], q->avail_idx, q->kicked_idx)
                     : !(q->used[0] & VRING_USED_F_NO_NOTIFY);
    q->kicked_idx = q->avail_idx;
    if (notify)
        *q->notify = q->index;
}

int virtq_pop(struct virtio_dev *d, struct virtq *q, u32 *id, u32 *len)
{
    if (q->used[1] == q->last_used)
        return 0;
    virtio_cb();
    volatile u32 *e = (volatile u32 *)(q->used + 2) + 2 * (q->last_used & (q->size - 1));
    *id = e[0];
    *len = e[1];
    q->last_used++;
    if (virtio_has(d, VIRTIO_RING_F_EVENT_IDX))
        q->avail[2 + q->size] = (u16)(q->last_used - 1);
    return 1;
}
