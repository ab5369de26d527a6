/* vring: virtqueues driven by the switch itself, rte_vhost kept for the protocol.
 *
 * rte_vhost 22.11 publishes each burst's used index with a locked add on a line the guest
 * reads, reads descriptors one by one and copies long frames with an rte_memcpy built for
 * SSE4.2 (Debian's -march=corei7). This module reads the guest's rings directly (as SPDK and
 * VPP do): a plain release store of the used index, a batch's descriptors and buffers
 * fetched at once, libc's memcpy for long frames; on the packed ring, where rte_vhost fetches
 * four buffers at a time just before copying them, all of a burst's. It handles the split and
 * the packed ring with or without mergeable buffers, chained and indirect descriptors,
 * in-order (its buffers are used in order anyway), the event index, and checksum
 * and TCP segmentation offloads (the header to and from mbuf flags, as rte_vhost's compliant
 * flags); the caller leaves anything else (UFO, ECN, an IOMMU, dirty logging) to rte_vhost.
 * Every descriptor is checked against the ring and the guest's memory table: a bad one is
 * dropped and counted, never followed. */
#ifndef VHP_VRING_H
#define VHP_VRING_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_mbuf.h>
#include <rte_vhost.h>

struct vr_queue {
	bool packed;         /* VIRTIO_F_RING_PACKED: pdesc and driver_event, else the split ring */
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	struct vring_packed_desc *pdesc;
	struct vring_packed_desc_event *driver_event; /* whether the guest wants interrupts */
	uint16_t size;
	uint16_t mask;       /* size - 1: split rings' sizes are powers of two */
	uint16_t last_avail; /* the next avail entry (packed: descriptor) to take */
	uint16_t last_used;  /* the used index published so far (packed: the next to write) */
	bool avail_wrap;     /* packed: the wrap counters of last_avail and last_used */
	bool used_wrap;
	uint16_t hdr_len;    /* virtio-net header: 12 (mergeable or version 1) or 10 */
	bool mrg;            /* mergeable receive buffers */
	bool in_order;       /* VIRTIO_F_IN_ORDER: a packed transmit ring's burst is one used entry */
	bool event_idx;      /* VIRTIO_RING_F_EVENT_IDX: interrupts as the guest's used_event says */
	bool ol;             /* headers carry offloads: checksums and TCP segmentation */
	int vid;             /* rte_vhost's device, which interrupts the guest; -1: never */
	bool call_pending;   /* an interrupt to retry: rte_vhost's queue lock was taken */
	uint16_t vring_idx;
	struct rte_vhost_memory *mem;
	/* counters, kept across attachments */
	uint64_t frames;     /* taken from the guest (transmit ring), or given it (receive) */
	uint64_t bad;        /* descriptors refused (out of ring, of memory, wrong direction) */
	uint64_t dropped;    /* frames with no room in the guest's receive ring */
	uint64_t no_mbuf;    /* frames left in the guest's ring for want of mbufs */
};

/* The virtio features this module cannot drive: disable them on the socket before starting
 * it, or leave a queue that negotiated any of them to rte_vhost's own burst calls. */
uint64_t vr_unsupported_features(void);

/* Takes ring vring_idx of device vid (a guest's rings are ready when rte_vhost calls
 * new_device) from where rte_vhost left it; turns the guest's kicks off. q starts zeroed or
 * detached. 0, or a negative errno (-ENOTSUP: the guest negotiated what vring cannot drive). */
int vr_attach(struct vr_queue *q, int vid, uint16_t vring_idx);
/* Hands the ring's position back to rte_vhost (for GET_VRING_BASE on a guest's stop or
 * reconnect) and frees the memory table. */
void vr_detach(struct vr_queue *q, int vid, uint16_t vring_idx);

/* Both first make an interrupt left pending (rte_vhost's queue lock was taken):
 * vr_enqueue(q, NULL, 0) makes only that. */
/* Frames the guest transmitted, copied into mbufs from mp: at most n. With offloads, a
 * partial checksum is RX_L4_CKSUM_NONE and a TCP frame to cut RX_LRO with tso_segsz. */
uint16_t vr_dequeue(struct vr_queue *q, struct rte_mempool *mp, struct rte_mbuf **pkts,
		    uint16_t n);
/* Copies frames into the guest's receive buffers; returns how many fit, the first ones (the
 * caller frees all n either way, as after rte_vhost_enqueue_burst). With offloads, TX
 * checksum and TCP_SEG flags go into the header (and write the pseudo-header's sum into the
 * frame); the caller sends them only to a guest that negotiated them. */
uint16_t vr_enqueue(struct vr_queue *q, struct rte_mbuf **pkts, uint16_t n);

#endif
