/* arp.c: ARP on the wire: answer requests for our address, learn senders, send requests and the
 * gratuitous ARP.  The cache itself is arp_cache.c.  m's data starts at the ARP header; in the
 * multi-core modes every worker gets a reference to the same ARP packet, so m is read-only. */
#include <rte_arp.h>
#include "gs_priv.h"

/* A frame whose ARP sender MAC is not a unicast address, or not the frame's own source, is
 * forged or broken: it must not point a neighbour anywhere. */
int gs_arp_sender_check(const struct rte_ether_addr *eth_src, const struct rte_arp_hdr *a)
{
	const struct rte_ether_addr *sha = &a->arp_data.arp_sha;

	if (!rte_is_valid_assigned_ether_addr(sha) || !rte_is_same_ether_addr(sha, eth_src))
		return GS_C_arp_bad_sender;
	return 0;
}

/* A neighbour can only be a unicast host: not 0.0.0.0 (an RFC 5227 probe), not us, not a
 * multicast, experimental or broadcast address (224.0.0.0 and up; not RTE_IPV4(224, ...),
 * whose int shift overflows: undefined behaviour, found by UBSan). */
bool gs_arp_learnable(uint32_t sip)
{
	return sip && sip != gs_st.ip && sip < 0xe0000000u;
}

/* Only a request to us makes an entry (we answer it and will talk back); anything else,
 * gratuitous or unsolicited, only refreshes what we know. */
static void learn(struct gs_worker *w, const struct rte_arp_hdr *a, uint32_t sip, bool create)
{
	if (gs_arp_learnable(sip) &&
	    gs_arp_learn(&w->arp, sip, &a->arp_data.arp_sha, gs_now_us(), create) == -EBUSY)
		w->c[GS_C_arp_locked]++;
}

void gs_arp_input(struct gs_worker *w, struct rte_mbuf *m)
{
	const struct rte_arp_hdr *a = rte_pktmbuf_mtod(m, const struct rte_arp_hdr *);
	/* gs_l2_classify only moved the data start past the Ethernet header: it is still there */
	const struct rte_ether_hdr *eth =
	    rte_pktmbuf_mtod_offset(m, const struct rte_ether_hdr *, -RTE_ETHER_HDR_LEN);
	int why = gs_arp_check(a, rte_pktmbuf_data_len(m));

	if (!why)
		why = gs_arp_sender_check(&eth->src_addr, a);
	/* every worker sees every ARP frame: a dropped one is counted once, by worker 0 */
	if (why) {
		w->c[why] += w->idx == 0;
		goto out;
	}
	uint32_t sip = rte_be_to_cpu_32(a->arp_data.arp_sip);
	uint32_t tip = rte_be_to_cpu_32(a->arp_data.arp_tip);
	bool request = a->arp_opcode == rte_cpu_to_be_16(RTE_ARP_OP_REQUEST);
	bool for_us = tip == gs_st.ip && sip != gs_st.ip;

	learn(w, a, sip, for_us && request);
	if (!for_us) {
		w->c[GS_C_arp_other_host] += w->idx == 0;
		goto out;
	}
	if (!request) {
		w->c[GS_C_arp_reply_rx]++;
		goto out;
	}
	w->c[GS_C_arp_request_rx]++;
	if (w->idx == 0) /* every worker sees the request; one answers (a probe too: RFC 5227) */
		gs_arp_send(w, RTE_ARP_OP_REPLY, sip, &a->arp_data.arp_sha, false);
out:
	rte_pktmbuf_free(m);
}

/* A request (tha NULL: broadcast; tip == our IP: gratuitous) or a reply to tha.  `direct`
 * sends on queue 0 at once, before any thread polls. */
void gs_arp_send(struct gs_worker *w, uint16_t op, uint32_t tip, const struct rte_ether_addr *tha,
		 uint16_t direct)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(w->pool);
	static const struct rte_ether_addr bcast = {
	    .addr_bytes = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};

	if (!m) {
		w->c[GS_C_no_mbuf]++;
		return;
	}
	struct rte_arp_hdr *a = (struct rte_arp_hdr *)rte_pktmbuf_append(m, sizeof(*a));
	a->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
	a->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	a->arp_hlen = RTE_ETHER_ADDR_LEN;
	a->arp_plen = 4;
	a->arp_opcode = rte_cpu_to_be_16(op);
	a->arp_data.arp_sha = gs_st.mac;
	a->arp_data.arp_sip = gs_st.ip_be;
	memset(&a->arp_data.arp_tha, 0, sizeof(a->arp_data.arp_tha));
	if (tha)
		a->arp_data.arp_tha = *tha;
	a->arp_data.arp_tip = rte_cpu_to_be_32(tip);
	w->c[op == RTE_ARP_OP_REPLY ? GS_C_arp_reply_tx : GS_C_arp_request_tx]++;
	m->packet_type = RTE_PTYPE_L2_ETHER_ARP;
	if (!direct) {
		gs_eth_xmit(w, m, tha ? tha : &bcast);
		return;
	}
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)rte_pktmbuf_prepend(m, sizeof(*eth));
	eth->dst_addr = bcast;
	eth->src_addr = gs_st.mac;
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP);
	if (gs_st.dev.tx(gs_st.dev_ctx, 0, &m, 1) != 1) {
		w->c[GS_C_tx_nic_full]++;
		rte_pktmbuf_free(m);
	} else {
		w->c[GS_C_tx_pkts]++;
	}
}
