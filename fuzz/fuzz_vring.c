/* Fuzz target "vring": a guest's split or packed rings as vhost/vring.c reads them (the guest
 * writes every descriptor, index and length it sees, so all are hostile).
 *
 * One 16-slot ring over a 64 KB guest memory region at guest address 0x100000. Input: a byte
 * of features (bit 0 mergeable buffers, bit 1 offloads, bit 2 a 12-byte header without
 * mergeable buffers (version 1), bit 3 the packed ring, bit 4 in-order, bits 5-7 slots fewer
 * than 16 in a packed ring, whose size need not be a power of 2), 16 descriptors of 16 bytes
 * (address as an offset from the region's start, so most land inside it and some do not;
 * length; flags (a packed ring's wrap bits among them); next, or a packed ring's buffer id),
 * 16 avail entries (a split ring's), the avail index (a split ring's), the position the ring
 * starts at (a packed ring's: modulo its size, bit 15 the wrap counter); with offloads, 64 bytes that
 * open every descriptor's buffer (a transmitted frame's virtio-net header and headers, all
 * hostile); then operations: a byte, bit 7 set to receive (bits 0-5: how many frames the
 * switch sends the guest, whose lengths come in two bytes each; bit 6: as TCP/IPv4 frames
 * with the checksum and segmentation flags the switch would give them) or clear to transmit
 * (the rest: how many frames to take).
 * Every mbuf must be back in the pool after each input, every frame taken must be a sound
 * mbuf chain, and the used index must have moved by what was published (in a packed ring:
 * stay in the ring and level with the avail position, as the switch uses buffers in order). */
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_ring.h>

#include <rte_eal.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>

#include "vring.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SLOTS 16
#define GPA 0x100000ULL
#define MEM (64 * 1024)

static struct rte_mempool *pool;
static unsigned baseline;
static uint8_t guest_mem[MEM] __attribute__((aligned(4096))); /* as an mmap'd region */
static struct vring_desc desc[SLOTS];
static struct vring_packed_desc pdesc[SLOTS];
static struct vring_packed_desc_event driver_event = {.flags = VRING_PACKED_EVENT_FLAG_DISABLE};
static struct vring_avail *avail; /* with SLOTS entries */
static struct vring_used *used;
static struct rte_vhost_memory *mem; /* one region */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char *eal[] = {"fuzz",		 "--no-huge",	     "-m", "128", "--no-pci", "--no-shconf",
		       "--no-telemetry", "--log-level=crit", "-l", "0",	  NULL};

	(void)argc, (void)argv;
	if (rte_eal_init(10, eal) < 0)
		abort();
	/* 512-byte buffers: frames of a few hundred bytes already chain */
	pool = rte_pktmbuf_pool_create("fz", 1023, 0, 0, 512 + RTE_PKTMBUF_HEADROOM, 0);
	if (pool == NULL)
		abort();
	baseline = rte_mempool_in_use_count(pool);
	avail = calloc(1, sizeof(*avail) + SLOTS * sizeof(avail->ring[0]));
	used = calloc(1, sizeof(*used) + SLOTS * sizeof(used->ring[0]));
	mem = calloc(1, sizeof(*mem) + sizeof(mem->regions[0]));
	if (avail == NULL || used == NULL || mem == NULL)
		abort();
	mem->nregions = 1;
	mem->regions[0] = (struct rte_vhost_mem_region){
		.guest_phys_addr = GPA, .host_user_addr = (uintptr_t)guest_mem, .size = MEM};
	return 0;
}

static uint16_t take16(const uint8_t **d, size_t *n)
{
	uint16_t v = 0;

	if (*n >= 2) {
		memcpy(&v, *d, 2);
		*d += 2, *n -= 2;
	}
	return v;
}

static uint32_t take32(const uint8_t **d, size_t *n)
{
	uint32_t v = 0;

	if (*n >= 4) {
		memcpy(&v, *d, 4);
		*d += 4, *n -= 4;
	}
	return v;
}

/* The ring's positions after an operation that started with the used index at before. */
static void check_used(const struct vr_queue *q, uint16_t before)
{
	if (q->packed ? q->last_used >= q->size || q->last_avail != q->last_used ||
				q->avail_wrap != q->used_wrap
		      : used->idx != q->last_used || (uint16_t)(q->last_used - before) > SLOTS)
		abort();
}

static void transmit(struct vr_queue *q, unsigned n)
{
	struct rte_mbuf *pkts[64];
	uint16_t before = q->last_used, got = vr_dequeue(q, pool, pkts, (uint16_t)n);
	const char *why;

	for (uint16_t i = 0; i < got; i++)
		if (rte_mbuf_check(pkts[i], 1, &why) != 0 || pkts[i]->pkt_len == 0)
			abort();
	rte_pktmbuf_free_bulk(pkts, got);
	check_used(q, before);
}

/* A frame from the switch with offload flags: sane headers, as vswitch/offload.c makes
 * them (the guest's side is the hostile one). */
static void offloaded(struct rte_mbuf *m)
{
	struct {
		struct rte_ether_hdr eth;
		struct rte_ipv4_hdr ip;
		struct rte_tcp_hdr tcp;
	} h = {
		.eth.ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4),
		.ip = {.version_ihl = 0x45, .time_to_live = 64, .next_proto_id = IPPROTO_TCP},
		.tcp.data_off = 0x50,
	};

	_Static_assert(sizeof(h) == 54, "no padding between the headers");
	if (m->data_len < sizeof(h))
		return;
	h.ip.total_length = rte_cpu_to_be_16((uint16_t)(m->pkt_len - sizeof(h.eth)));
	memcpy(rte_pktmbuf_mtod(m, void *), &h, sizeof(h));
	m->l2_len = sizeof(h.eth);
	m->l3_len = sizeof(h.ip);
	m->l4_len = sizeof(h.tcp);
	m->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_TCP_CKSUM;
	if (m->pkt_len > 1514) {
		m->ol_flags |= RTE_MBUF_F_TX_TCP_SEG;
		m->tso_segsz = 1000;
	}
}

static void receive(struct vr_queue *q, unsigned n, bool ol, const uint8_t **d, size_t *size)
{
	struct rte_mbuf *pkts[64];
	uint16_t before = q->last_used;

	for (unsigned i = 0; i < n; i++) {
		uint16_t len = take16(d, size) % 3000 + 1;

		pkts[i] = rte_pktmbuf_alloc(pool);
		if (pkts[i] == NULL)
			abort();
		for (struct rte_mbuf *last = pkts[i]; len > 0;) { /* chains past 512 bytes */
			uint16_t c = RTE_MIN(len, rte_pktmbuf_tailroom(last));

			memset(rte_pktmbuf_mtod_offset(last, char *, last->data_len), 0x5a, c);
			last->data_len = (uint16_t)(last->data_len + c);
			pkts[i]->pkt_len += c;
			len = (uint16_t)(len - c);
			if (len > 0) {
				struct rte_mbuf *next = rte_pktmbuf_alloc(pool);

				if (next == NULL || rte_pktmbuf_chain(pkts[i], next) != 0)
					abort();
				last = next;
			}
		}
		if (ol)
			offloaded(pkts[i]);
	}
	vr_enqueue(q, pkts, (uint16_t)n);
	rte_pktmbuf_free_bulk(pkts, n);
	check_used(q, before);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vr_queue q = {0};
	uint8_t features;

	if (size < 1 + sizeof(desc))
		return 0;
	features = *data++, size--;
	for (int i = 0; i < SLOTS; i++) {
		desc[i].addr = GPA + take32(&data, &size) % (MEM + 4096);
		desc[i].len = take32(&data, &size) % (MEM + 4096);
		desc[i].flags = take16(&data, &size);
		desc[i].next = take16(&data, &size);
		pdesc[i] = (struct vring_packed_desc){.addr = desc[i].addr, .len = desc[i].len,
						      .flags = desc[i].flags, .id = desc[i].next};
	}
	for (int i = 0; i < SLOTS; i++)
		avail->ring[i] = take16(&data, &size);
	avail->idx = take16(&data, &size);
	avail->flags = VRING_AVAIL_F_NO_INTERRUPT;
	q.last_avail = q.last_used = take16(&data, &size);
	used->idx = q.last_used;
	q.packed = features & 8;
	if (q.packed) {
		q.size = (uint16_t)(SLOTS - (features >> 5));
		q.avail_wrap = q.used_wrap = q.last_avail >> 15;
		q.last_avail = q.last_used = (uint16_t)((q.last_avail & 0x7fff) % q.size);
		q.pdesc = pdesc;
		q.driver_event = &driver_event;
	} else {
		q.size = SLOTS;
		q.desc = desc;
		q.avail = avail;
		q.used = used;
	}
	q.mask = SLOTS - 1;
	q.in_order = features & 16;
	q.mrg = features & 1;
	q.ol = features & 2;
	q.hdr_len = q.mrg || (features & 4) ? 12 : 10;
	if (q.ol && size >= 64) {
		for (int i = 0; i < SLOTS; i++)
			if (desc[i].addr - GPA + 64 <= MEM)
				memcpy(guest_mem + (desc[i].addr - GPA), data, 64);
		data += 64, size -= 64;
	}
	q.vid = -1;
	q.mem = mem;
	while (size > 0) {
		uint8_t op = *data++;

		size--;
		if (op & 0x80)
			receive(&q, (op & 0x3f) % 33, op & 0x40, &data, &size);
		else
			transmit(&q, op % 65);
	}
	if (rte_mempool_in_use_count(pool) != baseline)
		abort();
	return 0;
}
