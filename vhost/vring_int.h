/* vring's insides, shared by the split ring (vring.c) and the packed ring (vring_packed.c):
 * guest addresses, copies, virtio-net headers and offloads. Not a public header. */
#ifndef VHP_VRING_INT_H
#define VHP_VRING_INT_H

#include <string.h>

#include <linux/virtio_net.h>

#include <rte_memcpy.h>

#include "vring.h"

#define VR_BURST 64  /* frames per call: the used ring is published once a call */
#define MAX_CHAIN 64 /* descriptors one frame may use; longer chains are the guest's fault */

/* Frames are mostly small: rte_memcpy inlines them where libc's memcpy is a call; libc's
 * wins on long copies. */
static inline void vr_copy(void *dst, const void *src, uint32_t len)
{
	if (len <= 256)
		rte_memcpy(dst, src, len);
	else
		memcpy(dst, src, len);
}

/* The host address of len bytes at guest address gpa, or NULL if they are not all in one
 * region of the guest's memory. */
static inline void *vr_hva(const struct rte_vhost_memory *mem, uint64_t gpa, uint32_t len)
{
	for (uint32_t i = 0; i < mem->nregions; i++) {
		const struct rte_vhost_mem_region *r = &mem->regions[i];
		uint64_t off = gpa - r->guest_phys_addr;

		if (gpa >= r->guest_phys_addr && off < r->size && len <= r->size - off)
			return (void *)(uintptr_t)(r->host_user_addr + off);
	}
	return NULL;
}

/* The virtio-net header h of a received frame (num_buffers only with 12-byte headers).
 * Written only where it differs, as rte_vhost does: a buffer the guest used before holds the
 * same header, and a line left unwritten stays in the guest's cache for the read that follows
 * (the guest's driver reads num_buffers first: written here, that read waits for the line to
 * come back). Through memcpy: the guest's buffer may be unaligned. */
static inline void vr_put_hdr(uint8_t *dst, uint16_t hdr_len,
			      const struct virtio_net_hdr_mrg_rxbuf *h)
{
	uint64_t lo, want_lo;
	uint32_t hi, want_hi; /* csum_offset, then num_buffers */
	uint16_t hi16;

	memcpy(&want_lo, h, sizeof(want_lo));
	memcpy(&want_hi, (const uint8_t *)h + 8, sizeof(want_hi));
	memcpy(&lo, dst, sizeof(lo));
	if (lo != want_lo)
		memcpy(dst, &want_lo, sizeof(lo));
	if (hdr_len == sizeof(struct virtio_net_hdr_mrg_rxbuf)) {
		memcpy(&hi, dst + 8, sizeof(hi));
		if (hi != want_hi)
			memcpy(dst + 8, &want_hi, sizeof(want_hi));
	} else {
		memcpy(&hi16, dst + 8, sizeof(hi16));
		if (hi16 != (uint16_t)want_hi)
			memcpy(dst + 8, &want_hi, sizeof(hi16));
	}
}

void vr_offload_to_guest(struct rte_mbuf *m, struct virtio_net_hdr *h);

/* The header a frame gets in the guest's buffers (num_buffers 1). */
static inline void vr_rx_hdr(const struct vr_queue *q, struct rte_mbuf *m,
			     struct virtio_net_hdr_mrg_rxbuf *h)
{
	*h = (struct virtio_net_hdr_mrg_rxbuf){.num_buffers = 1};
	if (q->ol && unlikely(m->ol_flags & (RTE_MBUF_F_TX_L4_MASK | RTE_MBUF_F_TX_TCP_SEG |
					     RTE_MBUF_F_TX_IP_CKSUM)))
		vr_offload_to_guest(m, &h->hdr);
}

/* The offloads a transmitted frame's header raw asks for, as mbuf flags (vring_common.c). */
void vr_offload_from_guest(struct rte_mbuf *m, const uint8_t *raw);

/* Before copying a chain of total bytes (header included) into m: a frame longer than an mbuf
 * gets one buffer of its own (vring_common.c). */
void vr_room_for(struct vr_queue *q, struct rte_mbuf *m, uint64_t total);

/* Copies len bytes at src, the next piece of a transmitted chain, into m: the virtio-net
 * header's bytes into hdr while *skip says some are left, the rest after the data of *seg,
 * chaining mbufs from mp. False if the pool is empty. */
bool vr_take(struct vr_queue *q, struct rte_mbuf *m, struct rte_mbuf **seg,
	     struct rte_mempool *mp, const uint8_t *src, uint32_t len, uint32_t *skip,
	     uint8_t *hdr);

/* Copies what is left of a frame (from *seg at *seg_off) into room bytes at dst: returns how
 * many it wrote, and moves *seg on (NULL once the frame is all copied). */
static inline uint32_t vr_fill(uint8_t *dst, uint32_t room, const struct rte_mbuf **seg,
			       uint32_t *seg_off)
{
	uint32_t written = 0;

	while (room > 0 && *seg != NULL) {
		uint32_t c = RTE_MIN(room, (*seg)->data_len - *seg_off);

		vr_copy(dst, rte_pktmbuf_mtod_offset(*seg, const uint8_t *, *seg_off), c);
		dst += c;
		room -= c;
		written += c;
		*seg_off += c;
		if (*seg_off == (*seg)->data_len) {
			*seg = (*seg)->next;
			*seg_off = 0;
		}
	}
	return written;
}

/* The packed ring's data path (vring_packed.c). */
uint16_t vrp_dequeue(struct vr_queue *q, struct rte_mempool *mp, struct rte_mbuf **pkts,
		     uint16_t n);
uint16_t vrp_enqueue(struct vr_queue *q, struct rte_mbuf **pkts, uint16_t n);
/* Interrupts the guest if it asked to be (vring.c). */
void vr_notify(struct vr_queue *q);

#endif
