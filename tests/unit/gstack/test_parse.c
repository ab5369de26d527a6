/* Truncated and malformed headers: each is refused with the right drop counter. */
#include <string.h>
#include <rte_arp.h>
#include <rte_udp.h>
#include "gs_priv.h"
#include "check.h"

static uint8_t pkt[64];
static struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)pkt;

static void good(uint16_t tot)
{
	memset(pkt, 0, sizeof(pkt));
	ip->version_ihl = 0x45;
	ip->total_length = rte_cpu_to_be_16(tot);
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_UDP;
	ip->src_addr = rte_cpu_to_be_32(0x0a000001);
	ip->dst_addr = rte_cpu_to_be_32(0x0a000002);
}

static int check(uint32_t len)
{
	uint16_t hl, tot;

	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	return gs_ipv4_check(pkt, len, true, &hl, &tot);
}

int main(void)
{
	uint16_t hl, tot;

	good(40);
	CHECK_EQ(check(40), 0);
	CHECK_EQ(gs_ipv4_check(pkt, 40, true, &hl, &tot), 0);
	CHECK_EQ(hl, 20);
	CHECK_EQ(tot, 40);
	CHECK_EQ(check(46), 0); /* Ethernet padding after the datagram */
	for (uint32_t len = 0; len < 20; len++)
		CHECK_EQ(check(len), GS_C_rx_malformed); /* truncated header */
	CHECK_EQ(check(39), GS_C_rx_malformed);		 /* total length beyond the data */
	good(40), ip->version_ihl = 0x65;
	CHECK_EQ(check(40), GS_C_rx_malformed); /* version 6 */
	good(40), ip->version_ihl = 0x44;
	CHECK_EQ(check(40), GS_C_rx_malformed); /* IHL < 5 */
	good(40), ip->version_ihl = 0x4f;
	CHECK_EQ(check(40), GS_C_rx_malformed); /* IHL beyond the data */
	good(16);
	CHECK_EQ(check(40), GS_C_rx_malformed); /* total length < header */
	good(40), ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_MF_FLAG);
	CHECK_EQ(check(40), GS_C_rx_frag);
	good(40), ip->fragment_offset = rte_cpu_to_be_16(185);
	CHECK_EQ(check(40), GS_C_rx_frag);
	good(40), ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
	CHECK_EQ(check(40), 0);
	good(40), ip->version_ihl = 0x46;
	CHECK_EQ(check(40), GS_C_rx_ip_options);

	/* UDP: truncated header, length field disagreeing with the datagram. */
	good(28);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);
	udp->dgram_len = rte_cpu_to_be_16(8);
	CHECK_EQ(gs_udp_check(ip, udp, 8, false), 0);
	CHECK_EQ(gs_udp_check(ip, udp, 7, false), GS_C_rx_malformed);
	udp->dgram_len = rte_cpu_to_be_16(9);
	CHECK_EQ(gs_udp_check(ip, udp, 8, false), GS_C_rx_malformed);
	udp->dgram_len = rte_cpu_to_be_16(4);
	CHECK_EQ(gs_udp_check(ip, udp, 8, false), GS_C_rx_malformed);
	CHECK_EQ(gs_icmp_check(udp, 7), GS_C_rx_malformed);

	/* ARP: truncated, wrong hardware/protocol/lengths, unknown opcode. */
	struct rte_arp_hdr a = {.arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER),
				.arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4),
				.arp_hlen = 6,
				.arp_plen = 4,
				.arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REQUEST)};
	CHECK_EQ(gs_arp_check(&a, sizeof(a)), 0);
	CHECK_EQ(gs_arp_check(&a, sizeof(a) - 1), GS_C_arp_malformed);
	struct rte_arp_hdr b = a;
	b.arp_plen = 16;
	CHECK_EQ(gs_arp_check(&b, sizeof(b)), GS_C_arp_malformed);
	b = a, b.arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6);
	CHECK_EQ(gs_arp_check(&b, sizeof(b)), GS_C_arp_malformed);
	b = a, b.arp_opcode = rte_cpu_to_be_16(3);
	CHECK_EQ(gs_arp_check(&b, sizeof(b)), GS_C_arp_malformed);

	/* User input. */
	uint32_t addr;
	uint8_t prefix;
	CHECK_EQ(gs_parse_ipv4("10.1.2.3/24", &addr, &prefix), 0);
	CHECK_EQ(addr, 0x0a010203);
	CHECK_EQ(prefix, 24);
	CHECK_EQ(gs_parse_ipv4("10.1.2.3", &addr, &prefix), 0);
	CHECK_EQ(prefix, 32);
	CHECK(gs_parse_ipv4("10.1.2.300/24", &addr, &prefix) < 0);
	CHECK(gs_parse_ipv4("10.1.2.3/33", &addr, &prefix) < 0);
	CHECK(gs_parse_ipv4("10.1.2.3/", &addr, &prefix) < 0);
	CHECK(gs_parse_ipv4("10.1.2.3/24", &addr, NULL) < 0);
	CHECK(gs_parse_ipv4("", &addr, &prefix) < 0);
	enum gs_mode m;
	CHECK_EQ(gs_mode_parse("2kb", &m), 0);
	CHECK_EQ(m, GS_MODE_2KB);
	CHECK(gs_mode_parse("3kb", &m) < 0);
	return CHECK_DONE();
}
