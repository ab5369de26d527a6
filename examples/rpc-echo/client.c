/* rpc-echo-client: sends one message to rpc-echo-server and prints the answer.
 *
 *   rpc-echo-client DEV IP/PREFIX SERVER_IP MESSAGE [PORT]
 *   rpc-echo-client net_virtio_user0,path=/tmp/vm2.sock 10.0.0.2/24 10.0.0.1 hello
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "gstack.h"
#include "rpc.h"

#define ECHO 1

struct call {
	const char *msg;
	struct rpc_addr server;
	int done, err;
};

/* The continuation: runs once, when the response is in resp or the request failed. */
static void done(struct rpc *rpc, void *tag, int err)
{
	struct call *c = tag;

	(void)rpc;
	c->done = 1;
	c->err = err;
}

static int client(struct gs_worker *w, void *arg)
{
	struct call *c = arg;
	struct rpc_conf conf = {.udp_port = (uint16_t)(c->server.port + 1)};
	struct rpc *rpc = rpc_create_gs(w, &conf);
	uint32_t len = (uint32_t)strlen(c->msg);

	if (!rpc)
		return -errno;
	struct rpc_msgbuf *req = rpc_msgbuf_alloc(rpc, len), *resp = rpc_msgbuf_alloc(rpc, len);
	memcpy(req->data, c->msg, len);
	/* the handshake travels on the data path; a request may be enqueued before it ends */
	int s = rpc_connect(rpc, &c->server);
	c->err = s < 0 ? s : rpc_enqueue_request(rpc, s, ECHO, req, resp, done, c);
	while (!c->err && !c->done && gs_running())
		gs_idle(w, rpc_run_event_loop_once(rpc));
	if (c->done && !c->err)
		printf("%.*s\n", (int)resp->size, (const char *)resp->data);
	else
		fprintf(stderr, "rpc-echo-client: %s\n", strerror(c->err ? -c->err : EINTR));
	rpc_msgbuf_free(rpc, req);
	rpc_msgbuf_free(rpc, resp);
	rpc_destroy(rpc);
	return c->done && !c->err ? 0 : -1;
}

int main(int argc, char **argv)
{
	struct gs_conf conf = {.mode = GS_MODE_SINGLE};
	struct call c = {.server.port = argc > 5 ? (uint16_t)atoi(argv[5]) : 31850};
	uint8_t plen;

	if (argc < 5 || gs_parse_ipv4(argv[2], &conf.ip, &conf.prefix) < 0 ||
	    gs_parse_ipv4(argv[3], &c.server.ip, &plen) < 0 || !c.server.port) {
		fprintf(stderr, "usage: rpc-echo-client DEV IP/PREFIX SERVER_IP MESSAGE [PORT]\n");
		return 2;
	}
	conf.dev = argv[1];
	c.msg = argv[4];
	if (gs_eal_init(argv[0], conf.dev, NULL, 0, NULL) < 0 || gs_init(&conf) < 0) {
		fprintf(stderr, "rpc-echo-client: cannot start the stack on %s\n", conf.dev);
		return 1;
	}
	int rc = gs_run(client, &c);
	gs_fini();
	gs_eal_cleanup();
	return rc < 0 ? 1 : 0;
}
