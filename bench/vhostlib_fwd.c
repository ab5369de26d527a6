/* vhostlib-fwd: io-forwarding between two vhost-user sockets on the rte_vhost library itself,
 * without the net_vhost PMD. Not a switch: the yardstick for the choice of vhost port backend
 * (bench/loop runs it beside testpmd io-forwarding, which drives the same sockets through the
 * PMD).
 *
 * With --vring it drives the guests' split rings itself (vhost/vring.c) and leaves rte_vhost
 * the protocol only: the yardstick for that module.
 *
 * usage: vhostlib-fwd EAL-ARGS -- [--vring] SOCK0 SOCK1   (server sockets; SIGINT/SIGTERM stop it) */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_pause.h>
#include <rte_vhost.h>

#include "vring.h"

#define BURST 32
#define GUEST_TXQ 1 /* the guest's transmit ring: we dequeue from it */
#define GUEST_RXQ 0 /* the guest's receive ring: we enqueue to it */

static const char *paths[2];
static int vids[2] = {-1, -1};
static volatile bool stop;
static bool use_vring;
static struct vr_queue rings[2][2]; /* [side][GUEST_RXQ or GUEST_TXQ] */
static int busy;                    /* the forwarding loop is using some side's rings */
static struct rte_mempool *pool;

static int side(int vid)
{
	char path[PATH_MAX];

	if (rte_vhost_get_ifname(vid, path, sizeof(path)) != 0)
		return -1;
	return strcmp(path, paths[0]) == 0 ? 0 : strcmp(path, paths[1]) == 0 ? 1 : -1;
}

static int new_device(int vid)
{
	int s = side(vid);

	if (s < 0)
		return 0;
	if (!use_vring) { /* as net_vhost and vring do: the switch polls, guests need not kick */
		rte_vhost_enable_guest_notification(vid, GUEST_RXQ, 0);
		rte_vhost_enable_guest_notification(vid, GUEST_TXQ, 0);
	}
	if (use_vring && (vr_attach(&rings[s][GUEST_RXQ], vid, GUEST_RXQ) != 0 ||
			  vr_attach(&rings[s][GUEST_TXQ], vid, GUEST_TXQ) != 0)) {
		vr_detach(&rings[s][GUEST_RXQ], vid, GUEST_RXQ);
		fprintf(stderr, "vhostlib-fwd: %s: the guest negotiated what vring cannot drive\n",
			paths[s]);
		return -1;
	}
	__atomic_store_n(&vids[s], vid, __ATOMIC_RELEASE);
	return 0;
}

static void destroy_device(int vid)
{
	int s = side(vid);

	if (s < 0)
		return;
	__atomic_store_n(&vids[s], -1, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(&busy, __ATOMIC_SEQ_CST))
		rte_pause();
	if (use_vring) {
		vr_detach(&rings[s][GUEST_RXQ], vid, GUEST_RXQ);
		vr_detach(&rings[s][GUEST_TXQ], vid, GUEST_TXQ);
	}
}

static const struct rte_vhost_device_ops ops = {
	.new_device = new_device,
	.destroy_device = destroy_device,
};

static int forward(void *arg)
{
	struct rte_mbuf *pkts[BURST];
	uint64_t polls = 0, empty = 0, frames = 0;

	(void)arg;
	while (!stop) {
		for (int from = 0; from < 2; from++) {
			int in, out;
			uint16_t n;

			__atomic_store_n(&busy, 1, __ATOMIC_SEQ_CST);
			in = __atomic_load_n(&vids[from], __ATOMIC_SEQ_CST);
			out = __atomic_load_n(&vids[!from], __ATOMIC_SEQ_CST);
			if (in >= 0 && out >= 0) {
				if (use_vring) {
					n = vr_dequeue(&rings[from][GUEST_TXQ], pool, pkts, BURST);
					if (n > 0)
						vr_enqueue(&rings[!from][GUEST_RXQ], pkts, n);
				} else {
					n = rte_vhost_dequeue_burst(in, GUEST_TXQ, pool, pkts, BURST);
					if (n > 0) /* copies */
						rte_vhost_enqueue_burst(out, GUEST_RXQ, pkts, n);
				}
				polls++;
				empty += n == 0;
				frames += n;
				if (n > 0)
					rte_pktmbuf_free_bulk(pkts, n);
			}
			__atomic_store_n(&busy, 0, __ATOMIC_RELEASE);
		}
	}
	/* what the tests check (no frame refused or dropped) and what tells a switch that idles */
	printf("{\"frames\": %" PRIu64 ", \"polls\": %" PRIu64 ", \"empty_polls\": %" PRIu64
	       ", \"bad\": %" PRIu64 ", \"dropped\": %" PRIu64 "}\n",
	       frames, polls, empty, rings[0][0].bad + rings[0][1].bad + rings[1][0].bad +
	       rings[1][1].bad, rings[0][0].dropped + rings[1][0].dropped);
	fflush(stdout);
	return 0;
}

static void on_signal(int sig)
{
	(void)sig;
	stop = true;
}

int main(int argc, char **argv)
{
	int n = rte_eal_init(argc, argv);
	unsigned lcore;

	if (n < 0) {
		fprintf(stderr, "vhostlib-fwd: cannot start DPDK\n");
		return 1;
	}
	use_vring = argc - n == 4 && strcmp(argv[n + 1], "--vring") == 0;
	if (argc - n != 3 + use_vring || rte_lcore_count() < 2) {
		fprintf(stderr, "usage: vhostlib-fwd EAL-ARGS (two lcores) -- [--vring] SOCK0 SOCK1\n");
		return 2;
	}
	paths[0] = argv[n + 1 + use_vring];
	paths[1] = argv[n + 2 + use_vring];
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	pool = rte_pktmbuf_pool_create("fwd", 16383, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				       (int)rte_socket_id());
	for (int i = 0; i < 2 && pool != NULL; i++) {
		unlink(paths[i]);
		if (rte_vhost_driver_register(paths[i], 0) != 0 ||
		    rte_vhost_driver_callback_register(paths[i], &ops) != 0 ||
		    /* the same features either way, so that only the rings' driving differs */
		    rte_vhost_driver_disable_features(paths[i], vr_unsupported_features()) != 0 ||
		    rte_vhost_driver_start(paths[i]) != 0) {
			fprintf(stderr, "vhostlib-fwd: cannot serve %s\n", paths[i]);
			return 1;
		}
	}
	lcore = rte_get_next_lcore(-1, 1, 0);
	rte_eal_remote_launch(forward, NULL, lcore);
	while (!stop)
		sleep(1);
	rte_eal_mp_wait_lcore();
	for (int i = 0; i < 2; i++)
		rte_vhost_driver_unregister(paths[i]);
	rte_eal_cleanup();
	return 0;
}
