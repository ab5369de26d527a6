/* VXLAN (RFC 7348) ports, shared by port_vxlan.c (the kind: settings, the ring ethdev) and
 * vxlan.c (the data path: decapsulation on the underlay, encapsulation, ARP).
 *
 * A vxlan port is an ethdev like every port: a net_ring pair. The switch sends to it as to any
 * port; vsw_vxlan_poll takes those frames off its tx ring, encapsulates them and sends them on
 * the underlay port. What the underlay receives for the local address and UDP port is
 * decapsulated onto its rx ring, where the PMD receives it as from any port. So forwarding,
 * flooding, VLANs, counters and capture treat it as they treat the others. */
#ifndef VSW_VXLAN_H
#define VSW_VXLAN_H

#include <string.h>

#include <rte_hash_crc.h>
#include <rte_ip.h>
#include <rte_ring.h>
#include <rte_udp.h>
#include <rte_vxlan.h>

#include "vswd.h"

#define VX_MAX_REMOTES 8
#define VX_MAC_SLOTS 4096 /* inner MAC -> remote, direct-mapped */
#define VX_HDR_LEN                                                                                 \
	(RTE_ETHER_HDR_LEN + sizeof(struct rte_ipv4_hdr) + sizeof(struct rte_udp_hdr) +            \
	 sizeof(struct rte_vxlan_hdr))

/* A remote VTEP. Its MAC is resolved by ARP on the underlay and kept fresh; any PMD may learn
 * it, so it is one atomic word: the MAC in the low 48 bits, VX_MAC_VALID when known. */
#define VX_MAC_VALID (1ULL << 63)
struct vx_remote {
	uint32_t ip;	  /* network order */
	uint64_t mac;	  /* atomic */
	uint64_t seen_s;  /* atomic: when its MAC was last heard */
	uint64_t asked_s; /* atomic: when it was last asked for (one PMD asks: compare-and-swap) */
};

/* Counters one PMD keeps for one remote (summed when read) */
struct vx_remote_counters {
	uint64_t tx_packets, tx_bytes, rx_packets, rx_bytes, unresolved;
};

/* Frames for the local address that are not taken (counted on the vxlan port) */
struct vx_drops {
	uint64_t malformed, wrong_vni, unknown_remote, rx_full;
};

/* One PMD's outer headers for one remote, built once per remote MAC: a frame gets a copy, its
 * lengths, source port and a checksum finished from ip_sum. Writing the header field by field
 * and reading it back for the checksum stalled on the stores (perf: 60 % of the
 * encapsulation's time, at one store). */
struct vx_tmpl {
	uint8_t hdr[VX_HDR_LEN];
	uint32_t ip_sum; /* the outer IPv4 header's 16-bit word sum, its length and checksum 0 */
	uint64_t mac;	 /* the remote's MAC word it was built for; 0: none yet */
};

struct vx_pmd {
	struct vx_remote_counters r[VX_MAX_REMOTES];
	struct vx_tmpl tmpl[VX_MAX_REMOTES];
	struct vx_drops d;
} __rte_cache_aligned;

struct vsw_vxlan {
	uint16_t idx, underlay; /* port indexes */
	uint16_t underlay_port_id;
	uint32_t vni;			 /* 24 bits */
	uint32_t local;			 /* network order */
	uint16_t dstport;		 /* host order */
	bool udpcsum; /* outer UDP checksum computed; else 0, as RFC 7348 advises for IPv4 */
	struct rte_ether_addr local_mac; /* the underlay port's */
	unsigned n_remotes;
	struct vx_remote r[VX_MAX_REMOTES];
	struct rte_ring *rx, *tx;    /* the ring ethdev's: decapsulated in, to encapsulate out */
	uint64_t macs[VX_MAC_SLOTS]; /* atomic: inner MAC | (remote + 1) << 48 */
	struct vx_pmd pmd[VSW_MAX_PMDS];
};

/* A MAC as 48 bits of a word (two loads: this runs for every frame), and its slot in macs[] */
static inline uint64_t vx_mac48(const struct rte_ether_addr *a)
{
	uint32_t hi;
	uint16_t lo;

	memcpy(&hi, a->addr_bytes, 4);
	memcpy(&lo, a->addr_bytes + 4, 2);
	return (uint64_t)rte_be_to_cpu_32(hi) << 16 | rte_be_to_cpu_16(lo);
}

static inline unsigned vx_mac_slot(uint64_t m)
{
	return rte_hash_crc_8byte(m, 0) % VX_MAC_SLOTS;
}

#endif
