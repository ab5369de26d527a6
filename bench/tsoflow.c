/* tsoflow: one TCP/IPv4 byte stream, without a TCP stack, over a virtio_user port: the sender
 * of large TCP frames a guest with TSO hands to its vhost backend, and the receiver that checks
 * what arrives. For vswd's offload tests and bench/tso.
 *
 *   tsoflow EAL... -- --tx --dst MAC [--size B] [--mss N] [--frames N | --seconds S]
 *                     [--gap US] [--offloads on|off] [--bad mss|len] [--ipv6]
 *   tsoflow EAL... -- --rx [--offloads on|off] [--expect BYTES] [--seconds S] [--ipv6]
 *                     [--mbufs N]
 *
 * Sender: frames of --size payload bytes (default 64000) from one stream; with offloads (the
 * default) as single TSO frames with the MSS (--mss, default 1448) for the peer to cut (or, if
 * --size is one MSS or less, with their checksum left to the peer), without as MSS-sized frames
 * with their checksums filled here; --gap sleeps between frames (a receiver sharing the core,
 * with no TCP to resend what its full ring refused). --bad sends frames with an impossible MSS
 * (8) or an IP length past the data. Receiver: checks each frame's IPv4 checksum, its TCP
 * checksum (unless the device says the data is valid and the sum partial) and every payload
 * byte against the stream's pattern, until --expect payload bytes or --seconds without one
 * once the stream has begun.
 * Both print one JSON object. */
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>

#define BURST 32
#define ISN 1000u
#define MAX_SIZE 65000
#define L3LEN (opt.ipv6 ? sizeof(struct rte_ipv6_hdr) : sizeof(struct rte_ipv4_hdr))
#define HDRS (RTE_ETHER_HDR_LEN + L3LEN + sizeof(struct rte_tcp_hdr))
#define MAX_HDRS (RTE_ETHER_HDR_LEN + sizeof(struct rte_ipv6_hdr) + sizeof(struct rte_tcp_hdr))

static volatile bool stop;
static struct {
	bool tx, offloads, ipv6;
	struct rte_ether_addr dst;
	unsigned size, mss, seconds, gap_us, mbufs;
	uint64_t frames, expect;
	const char *bad;
} opt = {.offloads = true, .size = 64000, .mss = 1448, .mbufs = 8191};

static void on_signal(int sig)
{
	(void)sig;
	stop = true;
}

static __rte_noreturn void die(const char *msg)
{
	fprintf(stderr, "tsoflow: %s\n", msg);
	exit(2);
}

/* The stream's bytes: byte o is o mod 251 (a prime period shows a byte out of place); the
 * bytes from offset o are pattern + o % 251. */
#define PERIOD 251
static uint8_t pattern[MAX_SIZE + PERIOD];

static void pattern_init(void)
{
	for (unsigned i = 0; i < sizeof(pattern); i++)
		pattern[i] = (uint8_t)(i % PERIOD);
}

static void parse(int argc, char **argv)
{
	static const struct option lo[] = {
		{"tx", 0, 0, 't'},     {"rx", 0, 0, 'r'},	{"dst", 1, 0, 'd'},
		{"size", 1, 0, 's'},   {"mss", 1, 0, 'm'},	{"frames", 1, 0, 'f'},
		{"seconds", 1, 0, 'S'}, {"offloads", 1, 0, 'o'}, {"bad", 1, 0, 'b'},
		{"expect", 1, 0, 'e'}, {"gap", 1, 0, 'g'}, {"ipv6", 0, 0, '6'},
		{"mbufs", 1, 0, 'M'}, {0, 0, 0, 0}};
	bool mode = false;
	int c;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 't': opt.tx = true, mode = true; break;
		case 'r': opt.tx = false, mode = true; break;
		case 'd':
			if (rte_ether_unformat_addr(optarg, &opt.dst) != 0)
				die("bad --dst: a MAC address");
			break;
		case 's': opt.size = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'm': opt.mss = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'f': opt.frames = strtoull(optarg, NULL, 0); break;
		case 'S': opt.seconds = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'e': opt.expect = strtoull(optarg, NULL, 0); break;
		case '6': opt.ipv6 = true; break;
		case 'M': opt.mbufs = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'g': opt.gap_us = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'o':
			if (strcmp(optarg, "on") != 0 && strcmp(optarg, "off") != 0)
				die("bad --offloads: on or off");
			opt.offloads = strcmp(optarg, "on") == 0;
			break;
		case 'b':
			if (strcmp(optarg, "mss") != 0 && strcmp(optarg, "len") != 0)
				die("bad --bad: mss or len");
			opt.bad = optarg;
			break;
		default: die("usage: tsoflow EAL... -- --tx --dst MAC [...] | --rx [...]");
		}
	}
	if (!mode)
		die("--tx or --rx");
	if (opt.size < 1 || opt.size > MAX_SIZE || opt.mss < 8 || opt.mss > 9000)
		die("--size 1 to 65000, --mss 8 to 9000");
	if (opt.tx && opt.frames == 0 && opt.seconds == 0)
		die("--tx needs --frames or --seconds");
}

static void port_init(uint16_t port, struct rte_mempool *pool)
{
	struct rte_eth_conf conf = {0};

	/* what the virtio driver negotiates follows what is asked: TSO and checksums on send,
	 * large frames (GUEST_TSO4) and partial checksums on receive */
	if (opt.offloads && opt.tx)
		conf.txmode.offloads = RTE_ETH_TX_OFFLOAD_TCP_CKSUM | RTE_ETH_TX_OFFLOAD_MULTI_SEGS |
				       (opt.size > opt.mss ? RTE_ETH_TX_OFFLOAD_TCP_TSO : 0);
	if (opt.offloads && !opt.tx)
		conf.rxmode.offloads = RTE_ETH_RX_OFFLOAD_TCP_LRO | RTE_ETH_RX_OFFLOAD_TCP_CKSUM;
	/* as many descriptors as the ring has (virtio_user's queue_size) */
	if (rte_eth_dev_configure(port, 1, 1, &conf) != 0 ||
	    rte_eth_rx_queue_setup(port, 0, 32768, rte_socket_id(), NULL, pool) != 0 ||
	    rte_eth_tx_queue_setup(port, 0, 32768, rte_socket_id(), NULL) != 0 ||
	    rte_eth_dev_start(port) != 0)
		die("cannot set up the port (does the switch offer these offloads?)");
}

/* The IP header of one frame carrying l4 bytes: IPv4 10.9.0.1 to .2, or IPv6 fd00::1 to ::2. */
static void ip_header(void *l3, unsigned l4, bool bad_len)
{
	if (opt.ipv6) {
		struct rte_ipv6_hdr *ip = l3;

		*ip = (struct rte_ipv6_hdr){.vtc_flow = RTE_BE32(6u << 28),
					    .payload_len = rte_cpu_to_be_16((uint16_t)l4),
					    .proto = IPPROTO_TCP, .hop_limits = 64,
					    .src_addr = {0xfd, [15] = 1}, .dst_addr = {0xfd, [15] = 2}};
		if (bad_len)
			ip->payload_len = rte_cpu_to_be_16((uint16_t)(l4 + 100)); /* past the data */
		return;
	}
	struct rte_ipv4_hdr *ip = l3;

	*ip = (struct rte_ipv4_hdr){.version_ihl = RTE_IPV4_VHL_DEF,
				    .total_length = rte_cpu_to_be_16((uint16_t)(sizeof(*ip) + l4)),
				    .time_to_live = 64, .next_proto_id = IPPROTO_TCP,
				    .src_addr = RTE_BE32(RTE_IPV4(10, 9, 0, 1)),
				    .dst_addr = RTE_BE32(RTE_IPV4(10, 9, 0, 2))};
	if (bad_len)
		ip->total_length = rte_cpu_to_be_16((uint16_t)(sizeof(*ip) + l4 + 100));
	ip->hdr_checksum = rte_ipv4_cksum(ip);
}

/* One frame: the headers, then len stream bytes from offset off. */
static struct rte_mbuf *make(struct rte_mempool *pool, const struct rte_ether_addr *src,
			     uint64_t off, unsigned len, bool tso)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	struct rte_ether_hdr *eth;
	struct rte_tcp_hdr *tcp;
	void *ip;

	if (m == NULL)
		return NULL;
	if ((eth = (void *)rte_pktmbuf_append(m, (uint16_t)(HDRS + len))) == NULL)
		die("a frame longer than its mbuf");
	ip = eth + 1;
	tcp = (struct rte_tcp_hdr *)((char *)ip + L3LEN);
	*eth = (struct rte_ether_hdr){
		.src_addr = *src, .dst_addr = opt.dst,
		.ether_type = rte_cpu_to_be_16(opt.ipv6 ? RTE_ETHER_TYPE_IPV6 : RTE_ETHER_TYPE_IPV4)};
	ip_header(ip, sizeof(*tcp) + len, opt.bad != NULL && strcmp(opt.bad, "len") == 0);
	*tcp = (struct rte_tcp_hdr){.src_port = RTE_BE16(5001), .dst_port = RTE_BE16(5002),
				    .sent_seq = rte_cpu_to_be_32((uint32_t)(ISN + off)),
				    .recv_ack = RTE_BE32(1), .data_off = 5 << 4,
				    .tcp_flags = RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG,
				    .rx_win = RTE_BE16(65535)};
	memcpy(tcp + 1, pattern + off % PERIOD, len);
	m->l2_len = RTE_ETHER_HDR_LEN;
	m->l3_len = L3LEN;
	m->l4_len = sizeof(*tcp);
	if (tso) {
		/* the driver puts the pseudo-header sum in (rte_eth_tx_prepare) */
		m->ol_flags = (opt.ipv6 ? RTE_MBUF_F_TX_IPV6 : RTE_MBUF_F_TX_IPV4) |
			      RTE_MBUF_F_TX_TCP_CKSUM | RTE_MBUF_F_TX_TCP_SEG;
		m->tso_segsz = opt.bad != NULL && strcmp(opt.bad, "mss") == 0 ? 8 : opt.mss;
	} else if (opt.offloads) { /* a frame of one MSS or less: checksum offload only */
		m->ol_flags = (opt.ipv6 ? RTE_MBUF_F_TX_IPV6 : RTE_MBUF_F_TX_IPV4) |
			      RTE_MBUF_F_TX_TCP_CKSUM;
	} else {
		tcp->cksum = opt.ipv6 ? rte_ipv6_udptcp_cksum(ip, tcp) : rte_ipv4_udptcp_cksum(ip, tcp);
	}
	return m;
}

/* One frame's pieces, as many as a burst holds; a pool that runs dry waits for the driver to
 * give back what it sent. */
static unsigned pieces(struct rte_mempool *pool, const struct rte_ether_addr *src, uint64_t off,
		       unsigned from, unsigned unit, bool tso, struct rte_mbuf **pkts)
{
	unsigned n = 0;

	for (unsigned done = from; done < opt.size && n < BURST; done += unit) {
		struct rte_mbuf *m;

		while ((m = make(pool, src, off + done, RTE_MIN(unit, opt.size - done), tso)) == NULL)
			if (stop || rte_eth_tx_done_cleanup(0, 0, 0) < 0)
				die("out of mbufs");
		pkts[n++] = m;
	}
	return n;
}

static void run_tx(uint16_t port, struct rte_mempool *pool)
{
	struct rte_ether_addr src;
	struct rte_mbuf *pkts[BURST];
	uint64_t off = 0, sent = 0, frames = 0, hz = rte_get_tsc_hz(), t0 = rte_rdtsc();
	uint64_t end = opt.seconds ? t0 + opt.seconds * hz : UINT64_MAX;
	const bool tso = opt.offloads && opt.size > opt.mss;
	const unsigned unit = tso ? opt.size : RTE_MIN(opt.size, opt.mss);

	rte_eth_macaddr_get(port, &src);
	while (!stop && rte_rdtsc() < end && (opt.frames == 0 || frames < opt.frames)) {
		/* a whole --size frame each time: as TSO one frame, else MSS-sized pieces */
		for (unsigned from = 0; from < opt.size; from += BURST * unit) {
			unsigned n = pieces(pool, &src, off, from, unit, tso, pkts);

			if (rte_eth_tx_prepare(port, 0, pkts, (uint16_t)n) != n)
				die("the driver refused a frame's offloads");
			unsigned k = 0;

			/* a full ring waits for the switch; a signal ends the wait (a switch gone) */
			while (k < n && !stop)
				k += rte_eth_tx_burst(port, 0, pkts + k, (uint16_t)(n - k));
			if (k < n)
				rte_pktmbuf_free_bulk(pkts + k, n - k);
		}
		/* the sequence number wraps at 4 GB: start the stream over before a frame would
		 * straddle it, so that seq - ISN is the offset the receiver checks against */
		off = off + 2 * opt.size > UINT32_MAX ? 0 : off + opt.size;
		sent += opt.size;
		frames++;
		if (opt.gap_us)
			rte_delay_us_sleep(opt.gap_us);
	}
	double secs = (double)(rte_rdtsc() - t0) / (double)hz;

	/* the last frames may still sit in the ring, and closing the port drops them: give the
	 * switch time to take them (the driver cannot say when it has) */
	for (unsigned i = 0; i < 20 && !stop; i++)
		rte_delay_us_sleep(100000);
	printf("{\"frames\": %" PRIu64 ", \"payload_bytes\": %" PRIu64 ", \"seconds\": %.3f, "
	       "\"tso\": %s}\n",
	       frames, sent, secs, tso ? "true" : "false");
}

struct rx_tally {
	uint64_t frames, payload, large, partial, lro, bad_ip, bad_tcp, bad_data, max_len;
};

static void check(struct rte_mbuf *m, struct rx_tally *t)
{
	uint8_t buf[MAX_HDRS];
	const struct rte_ether_hdr *eth = rte_pktmbuf_read(m, 0, HDRS, buf);
	const void *ip = eth + 1;
	const struct rte_tcp_hdr *tcp = (const void *)((const char *)ip + L3LEN);
	const uint16_t type = opt.ipv6 ? RTE_ETHER_TYPE_IPV6 : RTE_ETHER_TYPE_IPV4;
	const uint8_t proto = opt.ipv6 ? ((const struct rte_ipv6_hdr *)ip)->proto
				       : ((const struct rte_ipv4_hdr *)ip)->next_proto_id;
	uint64_t off;
	unsigned len, hlen = HDRS;
	struct rte_mbuf *s;

	if (eth == NULL || eth->ether_type != rte_cpu_to_be_16(type) || proto != IPPROTO_TCP ||
	    tcp->dst_port != RTE_BE16(5002))
		return; /* not the stream (the switch floods what it does not know) */
	t->frames++;
	t->max_len = RTE_MAX(t->max_len, (uint64_t)m->pkt_len);
	if (!opt.ipv6 && rte_ipv4_cksum(ip) != 0)
		t->bad_ip++;
	if (m->ol_flags & RTE_MBUF_F_RX_LRO)
		t->lro++;
	if ((m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) == RTE_MBUF_F_RX_L4_CKSUM_NONE)
		t->partial++; /* data valid, checksum left to the receiver's offload */
	else if ((opt.ipv6 ? rte_ipv6_udptcp_cksum_mbuf_verify(m, ip, RTE_ETHER_HDR_LEN + L3LEN)
			   : rte_ipv4_udptcp_cksum_mbuf_verify(m, ip, RTE_ETHER_HDR_LEN + L3LEN)) != 0)
		t->bad_tcp++;
	off = (uint32_t)(rte_be_to_cpu_32(tcp->sent_seq) - ISN);
	len = m->pkt_len - HDRS;
	t->payload += len;
	if (len > opt.mss)
		t->large++;
	/* every payload byte, across the chain */
	for (s = m; s != NULL; s = s->next) {
		const uint8_t *p = rte_pktmbuf_mtod(s, const uint8_t *);
		unsigned skip = RTE_MIN(hlen, s->data_len), k = s->data_len - skip;

		if (k > MAX_SIZE || memcmp(p + skip, pattern + off % PERIOD, k) != 0) {
			t->bad_data++;
			return;
		}
		off += k;
		hlen -= skip;
	}
}

static void run_rx(uint16_t port)
{
	struct rte_mbuf *pkts[BURST];
	struct rx_tally t = {0};
	uint64_t hz = rte_get_tsc_hz(), t0 = 0, last = rte_rdtsc();
	const uint64_t idle = (opt.seconds ? opt.seconds : 10) * hz, first = 120 * hz;

	printf("ready\n"); /* the port is up: the sender may start */
	fflush(stdout);
	/* --seconds without a frame ends it, once the stream has started (before: 2 minutes) */
	while (!stop && (opt.expect == 0 || t.payload < opt.expect) &&
	       rte_rdtsc() - last < (t0 ? idle : first)) {
		uint16_t n = rte_eth_rx_burst(port, 0, pkts, BURST);

		if (n == 0)
			continue;
		last = rte_rdtsc();
		if (t0 == 0)
			t0 = last;
		for (uint16_t i = 0; i < n; i++)
			check(pkts[i], &t);
		rte_pktmbuf_free_bulk(pkts, n);
	}
	double secs = t0 ? (double)(last - t0) / (double)hz : 0;

	printf("{\"frames\": %" PRIu64 ", \"payload_bytes\": %" PRIu64 ", \"large\": %" PRIu64
	       ", \"lro\": %" PRIu64 ", \"partial_csum\": %" PRIu64 ", \"bad_ip_csum\": %" PRIu64
	       ", \"bad_tcp_csum\": %" PRIu64 ", \"bad_data\": %" PRIu64 ", \"max_len\": %" PRIu64
	       ", \"seconds\": %.3f, \"gbps\": %.3f}\n",
	       t.frames, t.payload, t.large, t.lro, t.partial, t.bad_ip, t.bad_tcp, t.bad_data,
	       t.max_len, secs, secs > 0 ? (double)t.payload * 8 / secs / 1e9 : 0.0);
}

int main(int argc, char **argv)
{
	struct rte_mempool *pool;
	bool tso;
	int n = rte_eal_init(argc, argv);

	if (n < 0)
		die("cannot start the EAL");
	parse(argc - n, argv + n);
	pattern_init();
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (rte_eth_dev_count_avail() < 1)
		die("no port: give a --vdev net_virtio_user0,path=...");
	/* a TSO sender's mbufs hold a whole 64 KB frame, others' one MSS; a receiver's take 2 KB
	 * pieces. The driver frees what it sent only once most of its ring is used: room for a
	 * ring and more. */
	tso = opt.tx && opt.offloads && opt.size > opt.mss;
	pool = rte_pktmbuf_pool_create("tsoflow", opt.tx ? 2047 : opt.mbufs, 256, 0,
				       tso ? RTE_PKTMBUF_HEADROOM + MAX_HDRS + MAX_SIZE
					   : RTE_MAX((unsigned)RTE_MBUF_DEFAULT_BUF_SIZE,
						     (unsigned)(RTE_PKTMBUF_HEADROOM + MAX_HDRS + opt.mss)),
				       (int)rte_socket_id());
	if (pool == NULL)
		die("cannot make the mbuf pool");
	port_init(0, pool);
	if (opt.tx)
		run_tx(0, pool);
	else
		run_rx(0);
	fflush(stdout);
	rte_eth_dev_stop(0);
	rte_eth_dev_close(0);
	rte_eal_cleanup();
	return 0;
}
