/* cksum.c: header checks and checksums.  Pure functions over a buffer and a length, so the unit
 * tests can feed them truncated and malformed headers without an EAL.  Each returns 0 or the
 * counter of the drop cause. */
#include <rte_arp.h>
#include <rte_icmp.h>
#include <rte_mbuf_core.h>
#include <rte_udp.h>
#include "gs_priv.h"

int gs_ipv4_check(const void *buf, uint32_t len, bool verify_cksum, uint16_t *l3len,
		  uint16_t *tot_len)
{
	const struct rte_ipv4_hdr *ip = buf;

	if (len < sizeof(*ip) || (ip->version_ihl >> 4) != 4)
		return GS_C_rx_malformed;
	uint32_t hl = rte_ipv4_hdr_len(ip);
	uint32_t tot = rte_be_to_cpu_16(ip->total_length);
	if (hl < sizeof(*ip) || hl > len || tot < hl || tot > len)
		return GS_C_rx_malformed;
	if (verify_cksum && rte_raw_cksum(ip, hl) != 0xffff)
		return GS_C_rx_bad_cksum;
	if (gs_ipv4_is_frag(ip))
		return GS_C_rx_frag;
	if (hl != sizeof(*ip))
		return GS_C_rx_ip_options;
	*l3len = (uint16_t)hl;
	*tot_len = (uint16_t)tot;
	return 0;
}

int gs_udp_check(const struct rte_ipv4_hdr *ip, const void *l4, uint32_t l4len, bool verify)
{
	const struct rte_udp_hdr *udp = l4;

	if (l4len < sizeof(*udp) || rte_be_to_cpu_16(udp->dgram_len) != l4len)
		return GS_C_rx_malformed;
	if (verify && udp->dgram_cksum != 0 && rte_ipv4_udptcp_cksum_verify(ip, l4) != 0)
		return GS_C_rx_bad_cksum;
	return 0;
}

int gs_icmp_check(const void *l4, uint32_t l4len)
{
	if (l4len < sizeof(struct rte_icmp_hdr))
		return GS_C_rx_malformed;
	if (rte_raw_cksum(l4, l4len) != 0xffff)
		return GS_C_rx_bad_cksum;
	return 0;
}

int gs_arp_check(const void *buf, uint32_t len)
{
	const struct rte_arp_hdr *a = buf;

	if (len < sizeof(*a) || a->arp_hardware != rte_cpu_to_be_16(RTE_ARP_HRD_ETHER) ||
	    a->arp_protocol != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) ||
	    a->arp_hlen != RTE_ETHER_ADDR_LEN || a->arp_plen != 4)
		return GS_C_arp_malformed;
	if (a->arp_opcode != rte_cpu_to_be_16(RTE_ARP_OP_REQUEST) &&
	    a->arp_opcode != rte_cpu_to_be_16(RTE_ARP_OP_REPLY))
		return GS_C_arp_malformed;
	return 0;
}

/* A source nobody may answer (RFC 1122 3.2.1.3): our own address, 0.0.0.0, multicast, the
 * limited or our subnet's broadcast; an answer would loop back to us or reach many hosts.
 * Linux drops these as martians too.  Host byte order. */
bool gs_ipv4_src_invalid(uint32_t src, uint32_t self, uint32_t mask)
{
	bool multicast = (src & 0xf0000000) == 0xe0000000;
	bool subnet_bcast = mask < 0xfffffffe && ((src ^ self) & mask) == 0 && (src | mask) == ~0u;

	return src == self || src == 0 || src == ~0u || multicast || subnet_bcast;
}

/* The ICMP checksum over len bytes whose checksum field is zero. */
uint16_t gs_icmp_cksum(const void *icmp, uint32_t len)
{
	return (uint16_t)~rte_raw_cksum(icmp, len);
}

/* GOOD, and NONE: a checksum-offloading peer (virtio NEEDS_CSUM) sent valid data whose checksum
 * field is only partial, so verifying it would reject good packets.  UNKNOWN: check ourselves. */
static enum gs_rx_cksum rx_cksum(uint64_t flags, uint64_t bad, uint64_t good)
{
	if (flags == bad)
		return GS_RX_CKSUM_BAD;
	if (flags == good || flags == (bad | good)) /* (bad | good) is NONE */
		return GS_RX_CKSUM_VALID;
	return GS_RX_CKSUM_VERIFY;
}

enum gs_rx_cksum gs_rx_cksum_ip(uint64_t ol_flags)
{
	return rx_cksum(ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK, RTE_MBUF_F_RX_IP_CKSUM_BAD,
			RTE_MBUF_F_RX_IP_CKSUM_GOOD);
}

enum gs_rx_cksum gs_rx_cksum_l4(uint64_t ol_flags)
{
	return rx_cksum(ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK, RTE_MBUF_F_RX_L4_CKSUM_BAD,
			RTE_MBUF_F_RX_L4_CKSUM_GOOD);
}
