/* Fuzz target "rpc": packets into the RPC engine's receive path (rpc_input).
 *
 * Header checks, session management, requests, credit returns, responses, RFRs, on packets from the
 * wire, between a client and a server endpoint on the loopback transport (rpc_tp_loop.c) with its
 * fake clock.  Per input, both endpoints are made afresh, the client connects (the handshake runs),
 * and each packet of the input is given to one of them, then both run their event loops; at the end
 * both are destroyed and every mbuf must be back.
 *
 * Input: packets, each a 2-byte big-endian header and its bytes: bits 0-11 the length; bit 12
 * to the client (else the server); bit 13 from a stranger (else from the peer); bit 14 "make
 * the magic and the session right" (so the fuzzer gets past them); bit 15 "10 ms pass first". */
#include <stdlib.h>
#include <string.h>

#include <rte_ip.h>
#include <rte_mbuf.h>

#include "check_eal.h"
#include "fuzz_record.h"
#include "rpc_priv.h"

int LLVMFuzzerInitialize(int *argc, char **argv[]);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CIP RTE_IPV4(10, 0, 0, 1)
#define SIP RTE_IPV4(10, 0, 0, 2)

static struct rpc_loop_net *net;
static struct rte_mempool *pool;

static void echo(struct rpc *rpc, struct rpc_req *req, void *ctx)
{
	const struct rpc_msgbuf *in = rpc_req_msgbuf(req);
	struct rpc_msgbuf *out = rpc_req_pre_resp(req);

	(void)ctx;
	if (rpc_msgbuf_resize(out, in->size < out->max_size ? in->size : out->max_size) == 0)
		memcpy(out->data, in->data, out->size);
	rpc_enqueue_response(rpc, req, out);
}

int LLVMFuzzerInitialize(int *argc, char **argv[])
{
	char *eal[] = {"fuzz",		 "--no-huge",	     "-m", "256", "--no-pci", "--no-shconf",
		       "--no-telemetry", "--log-level=crit", "-l", "0",	  NULL};

	(void)argc, (void)argv;
	if (check_eal_init(RTE_DIM(eal) - 1, eal, "fuzz_rpc") < 0)
		exit(1);
	net = rpc_loop_net_create();
	pool =
	    rte_pktmbuf_pool_create("fz_rpc", 1023, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	if (net == NULL || pool == NULL)
		exit(1);
	return 0;
}

static void run(struct rpc *a, struct rpc *b, unsigned rounds)
{
	for (unsigned i = 0; i < rounds; i++) {
		rpc_loop_advance(net, 100);
		rpc_run_event_loop_once(a);
		rpc_run_event_loop_once(b);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rpc_conf cc = {.udp_port = 1000}, sc = {.udp_port = 2000};
	const struct rpc_addr saddr = {SIP, 2000}, caddr = {CIP, 1000}, stranger = {CIP, 1001};
	struct rpc *cli = rpc_create_loop(net, CIP, &cc), *srv = rpc_create_loop(net, SIP, &sc);
	const uint8_t *bytes;
	uint16_t hdr, len;
	int s;

	if (cli == NULL || srv == NULL || rpc_register_handler(srv, 1, echo, NULL) != 0)
		abort();
	s = rpc_connect(cli, &saddr);
	for (unsigned i = 0; i < 100 && rpc_session_state(cli, s) != RPC_S_CONNECTED; i++)
		run(cli, srv, 1);
	if (rpc_session_state(cli, s) != RPC_S_CONNECTED)
		abort();
	while (fuzz_record(&data, &size, &hdr, &bytes, &len)) {
		bool to_cli = hdr & 0x1000;
		struct rpc *to = to_cli ? cli : srv;
		struct rte_mbuf *m = fuzz_mbuf(pool, bytes, len);

		if ((hdr & 0x4000) && rte_pktmbuf_data_len(m) >= RPC_HDR) {
			struct rpc_hdr *h = rte_pktmbuf_mtod(m, struct rpc_hdr *);
			const struct rpc_session *cs = rpc_session_get(cli, s);

			h->magic = rte_cpu_to_be_16(RPC_MAGIC);
			if (cs != NULL) /* the client's session number, or the server's for it */
				h->dst_sess = rte_cpu_to_be_16(to_cli ? cs->idx : cs->remote_sess);
		}
		if (hdr & 0x8000)
			rpc_loop_advance(net, 10000);
		rpc_input(to, &m, (hdr & 0x2000) ? &stranger : to_cli ? &saddr : &caddr, 1);
		run(cli, srv, 1);
	}
	run(cli, srv, 10);
	rpc_destroy(cli);
	rpc_destroy(srv);
	if (rpc_loop_mbufs_in_use(net) != 0 || rte_mempool_in_use_count(pool) != 0)
		abort(); /* an mbuf the engine kept (or freed twice) */
	return 0;
}
