/* rpc-echo-server: the smallest RPC server on the guest stack.  Every request of type 1 is
 * answered with its own bytes.
 *
 *   rpc-echo-server DEV IP/PREFIX [PORT]
 *   rpc-echo-server net_virtio_user0,path=/tmp/vm1.sock 10.0.0.1/24
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "gstack.h"
#include "rpc.h"

#define ECHO 1

/* A handler runs once per request, on the endpoint's thread.  A single-packet request's bytes
 * sit in the received packet (no copy) and are valid until the handler returns. */
static void echo(struct rpc *rpc, struct rpc_req *req, void *ctx)
{
	const struct rpc_msgbuf *in = rpc_req_msgbuf(req);
	/* one packet's worth comes pre-allocated; larger responses get a buffer the engine frees */
	struct rpc_msgbuf *out = in->size <= rpc_pkt_payload(rpc) ? rpc_req_pre_resp(req)
								   : rpc_msgbuf_alloc(rpc, in->size);

	(void)ctx;
	if (!out)
		return; /* out of memory: no answer, the client's session times out */
	rpc_msgbuf_resize(out, in->size);
	memcpy(out->data, in->data, in->size);
	rpc_enqueue_response(rpc, req, out);
}

/* One endpoint per worker; this example runs one worker. */
static int serve(struct gs_worker *w, void *arg)
{
	struct rpc_conf conf = {.udp_port = *(uint16_t *)arg};
	struct rpc *rpc = rpc_create_gs(w, &conf);

	if (!rpc)
		return -errno;
	rpc_register_handler(rpc, ECHO, echo, NULL);
	while (gs_running()) /* poll; the idle back-off sleeps while nothing arrives */
		gs_idle(w, rpc_run_event_loop_once(rpc));
	rpc_destroy(rpc);
	return 0;
}

static void on_signal(int sig)
{
	(void)sig;
	gs_stop();
}

int main(int argc, char **argv)
{
	struct gs_conf conf = {.mode = GS_MODE_SINGLE};
	uint16_t port = argc > 3 ? (uint16_t)atoi(argv[3]) : 31850;

	if (argc < 3 || gs_parse_ipv4(argv[2], &conf.ip, &conf.prefix) < 0 || !port) {
		fprintf(stderr, "usage: rpc-echo-server DEV IP/PREFIX [PORT]\n");
		return 2;
	}
	conf.dev = argv[1];
	if (gs_eal_init(argv[0], conf.dev, NULL, 0, NULL) < 0 || gs_init(&conf) < 0) {
		fprintf(stderr, "rpc-echo-server: cannot start the stack on %s\n", conf.dev);
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	printf("rpc-echo-server: %s, UDP port %u; Ctrl-C stops\n", argv[2], port);
	fflush(stdout);
	int rc = gs_run(serve, &port);
	gs_fini();
	gs_eal_cleanup();
	return rc < 0 ? 1 : 0;
}
