/* Fuzz target "vring": a guest's split rings as vhost/vring.c reads them (the guest writes
 * every descriptor, index and length it sees, so all are hostile).
 *
 * One 16-slot ring over a 64 KB guest memory region at guest address 0x100000. Input: a byte
 * of features (bit 0 mergeable buffers, bit 2 a 12-byte header without mergeable buffers
 * (version 1); bit 1 is unused), 16 descriptors of 16 bytes (address as an offset from the
 * region's start, so most land inside it and some do not; length; flags; next), 16 avail
 * entries, the avail index, the position the ring starts at, then operations: a byte, bit 7
 * set to receive (the rest: how many frames the switch sends the guest, whose lengths come
 * in two bytes each) or clear to transmit (the rest: how many frames to take).
 * Every mbuf must be back in the pool after each input, every frame taken must be a sound
 * mbuf chain, and the used index must have moved by what was published. */
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_ring.h>

#include <rte_eal.h>
#include <rte_mbuf.h>

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

static void transmit(struct vr_queue *q, unsigned n)
{
	struct rte_mbuf *pkts[64];
	uint16_t before = q->last_used, got = vr_dequeue(q, pool, pkts, (uint16_t)n);
	const char *why;

	for (uint16_t i = 0; i < got; i++)
		if (rte_mbuf_check(pkts[i], 1, &why) != 0 || pkts[i]->pkt_len == 0)
			abort();
	rte_pktmbuf_free_bulk(pkts, got);
	if (used->idx != q->last_used || (uint16_t)(q->last_used - before) > SLOTS)
		abort();
}

static void receive(struct vr_queue *q, unsigned n, const uint8_t **d, size_t *size)
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
	}
	vr_enqueue(q, pkts, (uint16_t)n);
	rte_pktmbuf_free_bulk(pkts, n);
	if (used->idx != q->last_used || (uint16_t)(q->last_used - before) > SLOTS)
		abort();
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
	}
	for (int i = 0; i < SLOTS; i++)
		avail->ring[i] = take16(&data, &size);
	avail->idx = take16(&data, &size);
	avail->flags = VRING_AVAIL_F_NO_INTERRUPT;
	q.last_avail = q.last_used = take16(&data, &size);
	used->idx = q.last_used;
	q.desc = desc;
	q.avail = avail;
	q.used = used;
	q.mask = SLOTS - 1;
	q.mrg = features & 1;
	q.hdr_len = q.mrg || (features & 4) ? 12 : 10;
	q.vid = -1;
	q.mem = mem;
	while (size > 0) {
		uint8_t op = *data++;

		size--;
		if (op & 0x80)
			receive(&q, (op & 0x3f) % 33, &data, &size);
		else
			transmit(&q, op % 65);
	}
	if (rte_mempool_in_use_count(pool) != baseline)
		abort();
	return 0;
}
