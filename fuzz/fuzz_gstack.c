/* Fuzz target "gstack": frames into the guest stack (Ethernet, ARP, IPv4, ICMP, UDP).
 *
 * The guest stack's input on frames from the wire, through the real stack on the unit tests' fake
 * device and clock (fakedev.h), single mode, with a UDP socket bound on port 5000 and ICMP replies
 * listened for.
 *
 * Input: frames, each a 2-byte big-endian header and its bytes: bits 0-11 the length; bit 12
 * "fix the checksums" (the harness computes the IPv4 header and UDP/ICMP checksums, so the
 * fuzzer gets past them); bit 13 "a second passes first"; bits 14-15 the receive checksum
 * flags the device sets (UNKNOWN, GOOD, BAD, NONE). */
#include <stdlib.h>

#include "check_eal.h"
#include "fakedev.h"
#include "fuzz_record.h"

int LLVMFuzzerInitialize(int *argc, char **argv[]);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SEC 1000000ULL

static struct fakedev dev;
static struct gs_worker *w;
static struct gs_udp_sock *sock;
static unsigned baseline;

static const uint64_t rx_flags[4] = {
    RTE_MBUF_F_RX_IP_CKSUM_UNKNOWN | RTE_MBUF_F_RX_L4_CKSUM_UNKNOWN,
    RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_GOOD,
    RTE_MBUF_F_RX_IP_CKSUM_BAD | RTE_MBUF_F_RX_L4_CKSUM_BAD,
    RTE_MBUF_F_RX_IP_CKSUM_NONE | RTE_MBUF_F_RX_L4_CKSUM_NONE,
};

static void drain(void)
{
	struct rte_mbuf *pkts[32];
	struct gs_echo_reply r;
	uint16_t n;

	fake_drop_sent(&dev);
	while ((n = gs_udp_recv(sock, pkts, 32)) > 0)
		rte_pktmbuf_free_bulk(pkts, n);
	while (gs_icmp_recv_reply(w, &r) == 0)
		;
}

int LLVMFuzzerInitialize(int *argc, char **argv[])
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

	(void)argc, (void)argv;
	if (check_eal_init(RTE_DIM(eal) - 1, eal, "fuzz_gstack") < 0)
		exit(1);
	dev.now = SEC;
	if (gs_init_dev(&conf, &fake_ops, &dev) != 0)
		exit(1);
	w = gs_st.w[0];
	sock = gs_udp_bind(w, 5000);
	if (sock == NULL)
		exit(1);
	gs_icmp_listen(w);
	drain();
	baseline = rte_mempool_in_use_count(gs_st.pool);
	return 0;
}

/* The checksums a correct sender would have put in, where the frame holds what they cover. */
static void fix_cksums(struct rte_mbuf *m)
{
	uint32_t len = rte_pktmbuf_data_len(m);
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	uint32_t ihl, tot;

	if (len < sizeof(*eth) + sizeof(*ip) ||
	    eth->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4))
		return;
	ihl = (ip->version_ihl & 0xfu) * 4u;
	tot = rte_be_to_cpu_16(ip->total_length);
	if (ihl < sizeof(*ip) || sizeof(*eth) + ihl > len)
		return;
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	if (tot < ihl || sizeof(*eth) + tot > len)
		return;
	if (ip->next_proto_id == IPPROTO_UDP && tot >= ihl + sizeof(struct rte_udp_hdr) &&
	    ihl == sizeof(*ip)) {
		struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);

		udp->dgram_cksum = 0;
		udp->dgram_cksum = rte_ipv4_udptcp_cksum(ip, udp);
	} else if (ip->next_proto_id == IPPROTO_ICMP && tot >= ihl + sizeof(struct rte_icmp_hdr)) {
		struct rte_icmp_hdr *icmp = (struct rte_icmp_hdr *)((uint8_t *)ip + ihl);

		icmp->icmp_cksum = 0;
		icmp->icmp_cksum = gs_icmp_cksum(icmp, tot - ihl);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned frames = 0;
	const uint8_t *bytes;
	uint16_t hdr, len;

	dev.now += 600 * SEC; /* what the last input taught the stack has aged out by now */
	while (frames < FAKE_QLEN / 2 && fuzz_record(&data, &size, &hdr, &bytes, &len)) {
		struct rte_mbuf *m = fuzz_mbuf(gs_st.pool, bytes, len);

		m->ol_flags = rx_flags[hdr >> 14];
		if (hdr & 0x1000)
			fix_cksums(m);
		if (hdr & 0x2000)
			dev.now += SEC;
		peer_put(&dev, 0, m);
		frames++;
		/* one poll per frame: what the stack sends in answer is taken from the device */
		gs_poll(w);
		drain();
	}
	while (dev.rx_head[0] != dev.rx_tail[0]) {
		gs_poll(w);
		drain();
	}
	/* a frame held for an ARP resolution is freed when it fails, within a few seconds */
	for (int i = 0; i < 10 && rte_mempool_in_use_count(gs_st.pool) != baseline; i++) {
		dev.now += SEC;
		gs_poll(w);
		drain();
	}
	if (rte_mempool_in_use_count(gs_st.pool) != baseline)
		abort(); /* an mbuf the stack kept (or freed twice) */
	return 0;
}
