/* softrss.c: Toeplitz hash over the IPv4 5-tuple (DPDK's rte_softrss), as a NIC computes it
 * for RSS, so one flow always lands on one core.  The symmetric key (0x6d5a repeated) gives
 * both directions of a flow the same hash. */
#include <rte_thash.h>
#include "gs_priv.h"

/* The Microsoft RSS verification key, the default of most NICs. */
static const uint8_t ms_key[GS_RSS_KEY_LEN] = {
	0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3,
	0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3,
	0x80, 0x30, 0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa};
static const uint8_t sym_key[GS_RSS_KEY_LEN] = {
	0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
	0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
	0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a};

/* The key converted for rte_softrss_be(), the faster variant used on the data path. */
static uint32_t key_be[GS_RSS_KEY_LEN / 4];

static inline uint32_t hash_tuple(struct rte_ipv4_tuple *t, bool l4, const uint8_t *key,
				  bool be)
{
	uint32_t len = l4 ? RTE_THASH_V4_L4_LEN : RTE_THASH_V4_L3_LEN;

	return be ? rte_softrss_be((uint32_t *)t, len, key) : rte_softrss((uint32_t *)t, len, key);
}

uint32_t gs_softrss(uint32_t sip, uint32_t dip, uint16_t sport, uint16_t dport, bool l4,
		    bool symmetric)
{
	struct rte_ipv4_tuple t = {.src_addr = sip, .dst_addr = dip};

	t.sport = sport;
	t.dport = dport;
	return hash_tuple(&t, l4, symmetric ? sym_key : ms_key, false);
}

const uint8_t *gs_rss_key(bool symmetric)
{
	return symmetric ? sym_key : ms_key;
}

void gs_rss_init(bool symmetric)
{
	rte_convert_rss_key((const uint32_t *)(symmetric ? sym_key : ms_key), key_be,
			    GS_RSS_KEY_LEN);
}

/* m starts at a (roughly checked) IPv4 header.  Fragments and non-UDP/TCP hash on addresses. */
uint16_t gs_rss_queue(const struct rte_mbuf *m, unsigned int nq)
{
	const struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod(m, const struct rte_ipv4_hdr *);
	struct rte_ipv4_tuple t = {.src_addr = rte_be_to_cpu_32(ip->src_addr),
				   .dst_addr = rte_be_to_cpu_32(ip->dst_addr)};
	uint32_t hl = rte_ipv4_hdr_len(ip);
	bool l4 = (ip->next_proto_id == IPPROTO_UDP || ip->next_proto_id == IPPROTO_TCP) &&
		  !gs_ipv4_is_frag(ip) && rte_pktmbuf_data_len(m) >= hl + 4;

	if (l4) {
		const rte_be16_t *ports = rte_pktmbuf_mtod_offset(m, const rte_be16_t *, hl);
		uint8_t to = ip->next_proto_id == IPPROTO_UDP
				     ? gs_st.steer_udp[rte_be_to_cpu_16(ports[1])]
				     : 0;
		if (to && to <= nq)
			return (uint16_t)(to - 1);
		t.sport = rte_be_to_cpu_16(ports[0]);
		t.dport = rte_be_to_cpu_16(ports[1]);
	}
	/* An indirection table of 128 entries, filled round-robin, as a NIC's RETA. */
	return (uint16_t)((hash_tuple(&t, l4, (const uint8_t *)key_be, true) % GS_RETA_SIZE) % nq);
}

/* Host byte order, as the hash of a TCP/UDP packet from sip:sport to dip:dport. */
uint16_t gs_rss_queue_tuple(uint32_t sip, uint32_t dip, uint16_t sport, uint16_t dport,
			    unsigned int nq)
{
	struct rte_ipv4_tuple t = {.src_addr = sip, .dst_addr = dip};

	t.sport = sport;
	t.dport = dport;
	return (uint16_t)((hash_tuple(&t, true, (const uint8_t *)key_be, true) % GS_RETA_SIZE) % nq);
}
