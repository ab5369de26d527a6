/* Fuzz target "tcp": segments into the guest stack's TCP (listener, handshake, data, SACK, FIN).
 *
 * The real stack on the unit tests' fake device and clock (fakedev.h), single mode, small
 * buffers, a listener on port 80 whose application accepts everything, echoes what it reads,
 * shuts its side down on the peer's FIN; at the end of an input every connection is aborted
 * and the listener closed: the table must be empty and every mbuf back.
 *
 * Input: frames, each a 2-byte big-endian header and its bytes: bits 0-11 the length; bit 12
 * "fix": the harness computes the IPv4 and TCP checksums, and a TCP segment's sequence and
 * acknowledgment numbers become offsets from what the stack last acknowledged and last sent on
 * that port pair (so that the fuzzer, which cannot know the stack's random initial sequence
 * number, gets past the handshake and into the windows); bit 13 "200 ms pass first" (timers);
 * bits 14-15 the receive checksum flags the device sets (UNKNOWN, GOOD, BAD, NONE). */
#include <rte_tcp.h>

#include "fuzz_gs.h"

int LLVMFuzzerInitialize(int *argc, char **argv[]);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SEC FUZZ_SEC
#define MAX_CONNS 16

static struct fakedev dev;
static struct gs_worker *w;
static unsigned baseline;

/* What the stack last sent per peer port (direct-mapped): its ACK and the end of its data. */
static struct {
	uint16_t port;
	bool set;
	uint32_t ack, end;
} last[64];

static struct gs_tcp_sock *listener, *conns[MAX_CONNS];
static unsigned int nconns;

/* TCP segments the stack sent: remembered for the "fix" bit, then freed. */
static void drain_sent(void)
{
	struct rte_mbuf *m;

	while ((m = fake_sent(&dev))) {
		struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
		if (eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) &&
		    ip->next_proto_id == IPPROTO_TCP) {
			struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)(ip + 1);
			uint32_t len = rte_be_to_cpu_16(ip->total_length) - sizeof(*ip) -
				       (uint32_t)(th->data_off >> 4) * 4;
			uint16_t port = rte_be_to_cpu_16(th->dst_port);
			__typeof__(last[0]) *e = &last[port % RTE_DIM(last)];
			e->port = port;
			e->set = true;
			e->ack = rte_be_to_cpu_32(th->recv_ack);
			e->end = rte_be_to_cpu_32(th->sent_seq) + len +
				 !!(th->tcp_flags & (RTE_TCP_SYN_FLAG | RTE_TCP_FIN_FLAG));
		}
		rte_pktmbuf_free(m);
	}
}

/* The application: accept, echo, half-close on the peer's FIN. */
static void app(void)
{
	struct gs_tcp_event ev[32];
	static uint8_t buf[4096];
	unsigned int n = gs_tcp_wait(w, ev, RTE_DIM(ev));

	for (unsigned int i = 0; i < n; i++) {
		struct gs_tcp_sock *s = ev[i].s;
		if (s == listener) {
			struct gs_tcp_sock *c;
			while ((c = gs_tcp_accept(listener))) {
				if (nconns < MAX_CONNS)
					conns[nconns++] = c;
				else
					gs_tcp_abort(c);
			}
			continue;
		}
		if (ev[i].events & (GS_TCP_EV_IN | GS_TCP_EV_HUP)) {
			long r;
			while ((r = gs_tcp_read(s, buf, sizeof(buf))) > 0)
				gs_tcp_write(s, buf, (size_t)r); /* what does not fit is dropped */
			if (r == 0)
				gs_tcp_shutdown(s);
		}
	}
}

static void step(void)
{
	gs_poll(w);
	app();
	gs_poll(w); /* what the application wrote goes out */
	drain_sent();
}

int LLVMFuzzerInitialize(int *argc, char **argv[])
{
	struct gs_tcp_conf tc = {.max_socks = 2 * MAX_CONNS,
				 .sndbuf = 16384,
				 .rcvbuf = 16384,
				 .time_wait_us = 2 * SEC};

	(void)argc, (void)argv;
	if (gs_tcp_configure(&tc) != 0)
		exit(1);
	w = fuzz_gs_init("fuzz_tcp", &dev);
	peer_arp(&dev, RTE_ARP_OP_REQUEST); /* the peer's MAC is known: answers go at once */
	step();
	baseline = rte_mempool_in_use_count(gs_st.pool);
	return 0;
}

/* Checksums as a correct sender computes them; sequence numbers made relative (see above). */
static void fix(struct rte_mbuf *m)
{
	uint32_t ihl, tot;
	struct rte_ipv4_hdr *ip = fuzz_fix_ipv4(m, &ihl, &tot);

	if (ip == NULL || ihl != sizeof(*ip) || ip->next_proto_id != IPPROTO_TCP ||
	    tot < sizeof(*ip) + sizeof(struct rte_tcp_hdr))
		return;
	struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)(ip + 1);
	uint16_t port = rte_be_to_cpu_16(th->src_port);
	__typeof__(last[0]) *e = &last[port % RTE_DIM(last)];
	if (e->set && e->port == port) {
		th->sent_seq = rte_cpu_to_be_32(e->ack + rte_be_to_cpu_32(th->sent_seq));
		th->recv_ack = rte_cpu_to_be_32(e->end + rte_be_to_cpu_32(th->recv_ack));
	}
	th->cksum = 0;
	th->cksum = rte_ipv4_udptcp_cksum(ip, th);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned frames = 0, tw;
	const uint8_t *bytes;
	uint16_t hdr, len;

	memset(last, 0, sizeof(last));
	peer_arp(&dev, RTE_ARP_OP_REQUEST); /* the peer's MAC stays known (TCP is the target) */
	step();
	listener = gs_tcp_listen(w, 80, 4);
	if (listener == NULL)
		abort();
	while (frames < FAKE_QLEN / 2 && fuzz_record(&data, &size, &hdr, &bytes, &len)) {
		struct rte_mbuf *m = fuzz_mbuf(gs_st.pool, bytes, len);

		m->ol_flags = fuzz_rx_flags[hdr >> 14];
		if (hdr & 0x1000)
			fix(m);
		if (hdr & 0x2000)
			dev.now += SEC / 5;
		peer_put(&dev, 0, m);
		frames++;
		step(); /* one poll per frame: the answers are read before the next is built */
	}
	while (dev.rx_head[0] != dev.rx_tail[0])
		step();
	/* every connection goes: aborted, the listener's half-open ones with it, TIME_WAIT out */
	for (unsigned int i = 0; i < nconns; i++)
		gs_tcp_abort(conns[i]);
	nconns = 0;
	gs_tcp_close(listener);
	dev.now += 3 * SEC;
	step();
	dev.now += 3 * SEC;
	step();
	if (gs_tcp_conns(w, &tw) != 0)
		abort(); /* a connection the stack lost track of */
	fuzz_gs_settle(&dev, baseline, step);
	return 0;
}
