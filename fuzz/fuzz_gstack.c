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
#include "fuzz_gs.h"

int LLVMFuzzerInitialize(int *argc, char **argv[]);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SEC FUZZ_SEC

static struct fakedev dev;
static struct gs_worker *w;
static struct gs_udp_sock *sock;
static unsigned baseline;

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
	(void)argc, (void)argv;
	w = fuzz_gs_init("fuzz_gstack", &dev);
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
	uint32_t ihl, tot;
	struct rte_ipv4_hdr *ip = fuzz_fix_ipv4(m, &ihl, &tot);

	if (ip == NULL)
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

static void step(void)
{
	gs_poll(w);
	drain();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned frames = 0;
	const uint8_t *bytes;
	uint16_t hdr, len;

	dev.now += 600 * SEC; /* what the last input taught the stack has aged out by now */
	while (frames < FAKE_QLEN / 2 && fuzz_record(&data, &size, &hdr, &bytes, &len)) {
		struct rte_mbuf *m = fuzz_mbuf(gs_st.pool, bytes, len);

		m->ol_flags = fuzz_rx_flags[hdr >> 14];
		if (hdr & 0x1000)
			fix_cksums(m);
		if (hdr & 0x2000)
			dev.now += SEC;
		peer_put(&dev, 0, m);
		frames++;
		step(); /* one poll per frame: what the stack sends in answer is taken away */
	}
	while (dev.rx_head[0] != dev.rx_tail[0])
		step();
	fuzz_gs_settle(&dev, baseline, step);
	return 0;
}
