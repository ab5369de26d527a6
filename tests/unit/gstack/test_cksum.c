/* Checksums: a published IPv4 header, UDP and ICMP round trips, corruption detected. */
#include <string.h>
#include <rte_icmp.h>
#include <rte_udp.h>
#include "gs_priv.h"
#include "check.h"

int main(void)
{
	/* The example header from Wikipedia's "IPv4 header checksum": checksum 0xb861. */
	static const uint8_t hdr[20] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
					0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
	uint8_t pkt[20 + 8 + 16];
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)pkt;
	uint16_t hl, tot;

	memcpy(pkt, hdr, sizeof(hdr));
	CHECK_EQ(rte_be_to_cpu_16(rte_ipv4_cksum(ip)), 0xb861);

	/* A UDP datagram: its checksum verifies; one flipped bit does not. */
	ip->total_length = rte_cpu_to_be_16(sizeof(pkt));
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	CHECK_EQ(gs_ipv4_check(pkt, sizeof(pkt), true, &hl, &tot), 0);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(pkt + 20);
	udp->src_port = rte_cpu_to_be_16(1234);
	udp->dst_port = rte_cpu_to_be_16(9000);
	udp->dgram_len = rte_cpu_to_be_16(8 + 16);
	memcpy(udp + 1, "sixteen bytes...", 16);
	udp->dgram_cksum = 0;
	udp->dgram_cksum = rte_ipv4_udptcp_cksum(ip, udp);
	CHECK_EQ(gs_udp_check(ip, udp, 24, true), 0);
	pkt[30] ^= 1;
	CHECK_EQ(gs_udp_check(ip, udp, 24, true), GS_C_rx_bad_cksum);
	CHECK_EQ(gs_udp_check(ip, udp, 24, false), 0); /* offload said good */
	udp->dgram_cksum = 0;				  /* no checksum: accepted */
	CHECK_EQ(gs_udp_check(ip, udp, 24, true), 0);

	/* ICMP echo. */
	struct rte_icmp_hdr *icmp = (struct rte_icmp_hdr *)(pkt + 20);
	memset(icmp, 0, 24);
	icmp->icmp_type = RTE_IP_ICMP_ECHO_REQUEST;
	icmp->icmp_ident = rte_cpu_to_be_16(7);
	icmp->icmp_cksum = gs_icmp_cksum(icmp, 24);
	CHECK_EQ(gs_icmp_check(icmp, 24), 0);
	icmp->icmp_seq_nb = 1;
	CHECK_EQ(gs_icmp_check(icmp, 24), GS_C_rx_bad_cksum);

	/* The device's checksum flags: NONE is valid data with a partial checksum field. */
	CHECK_EQ(gs_rx_cksum_ip(RTE_MBUF_F_RX_IP_CKSUM_GOOD), GS_RX_CKSUM_VALID);
	CHECK_EQ(gs_rx_cksum_ip(RTE_MBUF_F_RX_IP_CKSUM_NONE), GS_RX_CKSUM_VALID);
	CHECK_EQ(gs_rx_cksum_ip(RTE_MBUF_F_RX_IP_CKSUM_BAD), GS_RX_CKSUM_BAD);
	CHECK_EQ(gs_rx_cksum_ip(RTE_MBUF_F_RX_IP_CKSUM_UNKNOWN), GS_RX_CKSUM_VERIFY);
	CHECK_EQ(gs_rx_cksum_ip(RTE_MBUF_F_RX_L4_CKSUM_BAD), GS_RX_CKSUM_VERIFY); /* other field */
	CHECK_EQ(gs_rx_cksum_l4(RTE_MBUF_F_RX_L4_CKSUM_GOOD), GS_RX_CKSUM_VALID);
	CHECK_EQ(gs_rx_cksum_l4(RTE_MBUF_F_RX_L4_CKSUM_NONE | RTE_MBUF_F_RX_IP_CKSUM_BAD),
		 GS_RX_CKSUM_VALID);
	CHECK_EQ(gs_rx_cksum_l4(RTE_MBUF_F_RX_L4_CKSUM_BAD), GS_RX_CKSUM_BAD);
	CHECK_EQ(gs_rx_cksum_l4(RTE_MBUF_F_RX_L4_CKSUM_UNKNOWN), GS_RX_CKSUM_VERIFY);

	/* RTE_IPV4 shifts an int: above 127.x.x.x that overflows (UBSan), so IP4 for those */
#define IP4(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))
	/* Sources never answered: ours, zero, broadcast (limited, our subnet's), multicast. */
	uint32_t self = RTE_IPV4(10, 1, 2, 3), mask = 0xffffff00;
	CHECK(gs_ipv4_src_invalid(self, self, mask));
	CHECK(gs_ipv4_src_invalid(0, self, mask));
	CHECK(gs_ipv4_src_invalid(IP4(255, 255, 255, 255), self, mask));
	CHECK(gs_ipv4_src_invalid(RTE_IPV4(10, 1, 2, 255), self, mask));
	CHECK(gs_ipv4_src_invalid(IP4(224, 0, 0, 1), self, mask));
	CHECK(gs_ipv4_src_invalid(IP4(239, 255, 255, 250), self, mask));
	CHECK(!gs_ipv4_src_invalid(RTE_IPV4(10, 1, 2, 4), self, mask));
	CHECK(!gs_ipv4_src_invalid(RTE_IPV4(10, 1, 3, 255), self, mask)); /* another subnet's */
	CHECK(!gs_ipv4_src_invalid(IP4(192, 0, 2, 1), self, mask));
	CHECK(!gs_ipv4_src_invalid(RTE_IPV4(10, 1, 2, 255), self, 0xffffffff)); /* a /32: a host */

	/* The IPv4 header checksum is checked too. */
	ip->hdr_checksum ^= 0x100;
	CHECK_EQ(gs_ipv4_check(pkt, sizeof(pkt), true, &hl, &tot), GS_C_rx_bad_cksum);
	return CHECK_DONE();
}
