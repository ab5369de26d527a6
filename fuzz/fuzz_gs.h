/* What the guest stack's fuzz targets (gstack, tcp) share: the stack on the fake device and
 * clock (fakedev.h), the receive checksum flags an input chooses, the IPv4 header a "fix"
 * bit repairs, and the end of an input, where every mbuf must be back. */
#ifndef VSW_FUZZ_GS_H
#define VSW_FUZZ_GS_H

#include <stdlib.h>

#include "check_eal.h"
#include "fakedev.h"
#include "fuzz_record.h"

#define FUZZ_SEC 1000000ULL

/* Bits 14-15 of a record's header: the flags the device sets (UNKNOWN, GOOD, BAD, NONE). */
static const uint64_t fuzz_rx_flags[4] = {
    RTE_MBUF_F_RX_IP_CKSUM_UNKNOWN | RTE_MBUF_F_RX_L4_CKSUM_UNKNOWN,
    RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_GOOD,
    RTE_MBUF_F_RX_IP_CKSUM_BAD | RTE_MBUF_F_RX_L4_CKSUM_BAD,
    RTE_MBUF_F_RX_IP_CKSUM_NONE | RTE_MBUF_F_RX_L4_CKSUM_NONE,
};

/* The stack at 10.0.0.1/24 (MAC 02:00:00:00:00:01, gateway .254), single mode; exits on
 * failure (libFuzzer has no other way to say so). */
static inline struct gs_worker *fuzz_gs_init(const char *name, struct fakedev *dev)
{
	char *eal[] = {"fuzz",		 "--no-huge",	     "-m", "128", "--no-pci", "--no-shconf",
		       "--no-telemetry", "--log-level=crit", "-l", "0",	  NULL};
	struct gs_conf conf = {.ip = RTE_IPV4(10, 0, 0, 1),
			       .prefix = 24,
			       .gw = RTE_IPV4(10, 0, 0, 254),
			       .mac = {{0x02, 0, 0, 0, 0, 0x01}},
			       .mac_set = true,
			       .mode = GS_MODE_SINGLE,
			       .busy_poll = true,
			       .nb_desc = 256,
			       .ring_size = 256};

	if (check_eal_init(RTE_DIM(eal) - 1, eal, name) < 0)
		exit(1);
	dev->now = FUZZ_SEC;
	if (gs_init_dev(&conf, &fake_ops, dev) != 0)
		exit(1);
	return gs_st.w[0];
}

/* The IPv4 header checksum as a correct sender computes it; the header when the frame holds
 * all the packet says it has (*ihl, *tot set), else NULL. */
static inline struct rte_ipv4_hdr *fuzz_fix_ipv4(struct rte_mbuf *m, uint32_t *ihl,
						 uint32_t *tot)
{
	uint32_t len = rte_pktmbuf_data_len(m);
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);

	if (len < sizeof(*eth) + sizeof(*ip) ||
	    eth->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4))
		return NULL;
	*ihl = (ip->version_ihl & 0xfu) * 4u;
	*tot = rte_be_to_cpu_16(ip->total_length);
	if (*ihl < sizeof(*ip) || sizeof(*eth) + *ihl > len)
		return NULL;
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	return *tot < *ihl || sizeof(*eth) + *tot > len ? NULL : ip;
}

/* The end of an input: a frame held for an ARP resolution is freed when the resolution fails,
 * within a few seconds (step polls); then every mbuf must be back, or abort. */
static inline void fuzz_gs_settle(struct fakedev *dev, unsigned int baseline, void (*step)(void))
{
	for (int i = 0; i < 10 && rte_mempool_in_use_count(gs_st.pool) != baseline; i++) {
		dev->now += FUZZ_SEC;
		step();
	}
	if (rte_mempool_in_use_count(gs_st.pool) != baseline)
		abort(); /* an mbuf the stack kept (or freed twice) */
}

#endif
