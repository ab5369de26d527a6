/* ipv4.c: IPv4 input (header, length and checksum checks; fragments and options are dropped and
 * counted), demultiplexing to ICMP and UDP, the output header, and gs_poll(). */
#include <rte_ethdev.h>
#include <rte_tcp.h>
#include "gs_priv.h"

/* A chained datagram: TCP only, the IP and TCP headers in the first segment. */
static int chain_check(struct rte_mbuf *m, enum gs_rx_cksum ck, uint16_t *hl, uint16_t *tot)
{
	const struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod(m, const struct rte_ipv4_hdr *);
	uint32_t first = rte_pktmbuf_data_len(m);

	if (ip->next_proto_id != IPPROTO_TCP ||
	    first < rte_ipv4_hdr_len(ip) + sizeof(struct rte_tcp_hdr))
		return GS_C_rx_malformed;
	return gs_ipv4_check(ip, rte_pktmbuf_pkt_len(m), ck == GS_RX_CKSUM_VERIFY, hl, tot);
}

void gs_ipv4_input(struct gs_worker *w, struct rte_mbuf **pkts, uint16_t n)
{
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod(m, struct rte_ipv4_hdr *);
		enum gs_rx_cksum ck = gs_rx_cksum_ip(m->ol_flags);
		uint16_t hl, tot;
		int why = ck == GS_RX_CKSUM_BAD
				  ? GS_C_rx_bad_cksum
				  : gs_ipv4_check(ip, rte_pktmbuf_data_len(m),
						  ck == GS_RX_CKSUM_VERIFY, &hl, &tot);
		/* a chain (a large TCP frame from a device with large receive): the headers are
		 * checked in the first segment, the length against the whole */
		if (m->nb_segs > 1 && (why == GS_C_rx_malformed || !why))
			why = chain_check(m, ck, &hl, &tot);
		/* never answered: echo replies, UDP echo; our own address is fine from ourselves */
		if (!why && m->port != GS_PORT_LOOP &&
		    gs_ipv4_src_invalid(rte_be_to_cpu_32(ip->src_addr), gs_st.ip, gs_st.mask))
			why = GS_C_rx_bad_src;
		if (why) {
			w->c[why]++;
			rte_pktmbuf_free(m);
			continue;
		}
		gs_chain_trim(m, rte_pktmbuf_pkt_len(m) - tot); /* Ethernet padding */
		m->l3_len = hl;
		switch (ip->next_proto_id) {
		case IPPROTO_UDP:
			gs_udp_input(w, m, ip);
			break;
		case IPPROTO_ICMP:
			gs_icmp_input(w, m, ip);
			break;
		case IPPROTO_TCP:
			if (w->tcp) {
				gs_tcp_input(w, m, ip);
				break;
			}
			/* this application uses no TCP */
			__attribute__((fallthrough));
		default:
			w->c[GS_C_rx_unknown_proto]++;
			rte_pktmbuf_free(m);
		}
	}
}

/* A 20-byte header for m, whose data starts at it and holds the whole datagram. */
void gs_ipv4_fill(struct rte_mbuf *m, struct rte_ipv4_hdr *ip, rte_be32_t dst, uint8_t proto)
{
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->type_of_service = 0;
	ip->total_length = rte_cpu_to_be_16((uint16_t)rte_pktmbuf_pkt_len(m));
	ip->packet_id = 0;
	ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
	ip->time_to_live = 64;
	ip->next_proto_id = proto;
	ip->hdr_checksum = 0;
	ip->src_addr = gs_st.ip_be;
	ip->dst_addr = dst;
	m->l3_len = sizeof(*ip);
	m->ol_flags = RTE_MBUF_F_TX_IPV4;
	if (gs_st.tx_ol & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM)
		m->ol_flags |= RTE_MBUF_F_TX_IP_CKSUM;
	else
		ip->hdr_checksum = rte_ipv4_cksum(ip);
}

int gs_poll(struct gs_worker *w)
{
	struct rte_mbuf *pkts[GS_BURST];
	uint16_t n = gs_rx_burst(w, pkts, GS_BURST);

	gs_ipv4_input(w, pkts, n);
	gs_udp_deliver(w);
	if (w->tcp)
		gs_tcp_after_burst(w);
	gs_tx_flush(w);
	return n;
}
