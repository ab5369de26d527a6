/* gs_run ends cleanly when something goes wrong: a worker whose function fails stops the
 * others and gs_run returns its error (instead of waiting forever for workers that loop on
 * gs_running()); a launch that fails part way stops and waits for what was already launched
 * before gs_run returns (the caller's gs_fini frees the rings they use).  Three lcores on two
 * CPUs, 1kb mode with the software-RSS dispatcher on a net_null device: workers on lcores 0
 * and 1, the dispatcher on lcore 2.  alarm() fails the test instead of hanging it. */
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <rte_eal.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include "gs_priv.h"
#include "check.h"
#include "check_eal.h"

static volatile bool release;
static volatile unsigned int ran;

static void on_alarm(int sig)
{
	static const char msg[] = "test_run: timed out: gs_run did not return\n";

	(void)sig;
	if (write(2, msg, sizeof(msg) - 1) < 0)
		_exit(2);
	_exit(1);
}

/* Worker 1 fails at once; worker 0 runs until told to stop, as an application does. */
static int fail_on_1(struct gs_worker *w, void *arg)
{
	(void)arg;
	__atomic_fetch_add(&ran, 1, __ATOMIC_RELAXED);
	if (gs_worker_index(w) == 1)
		return -EIO;
	while (gs_running())
		gs_idle(w, (unsigned int)gs_poll(w));
	return 0;
}

static int busy(void *arg)
{
	(void)arg;
	while (!release)
		usleep(1000);
	return 0;
}

int main(int argc, char **argv)
{
	char *eal[] = {argv[0],
		       "--no-huge",
		       "-m",
		       "256",
		       "--no-pci",
		       "--no-shconf",
		       "--log-level=error",
		       "--lcores=0@(0-1),1@(0-1),2@(0-1)",
		       "--vdev=net_null0,no-rx=1",
		       NULL};
	struct gs_conf conf = {.dev = "net_null0",
			       .ip = RTE_IPV4(10, 0, 0, 1),
			       .prefix = 24,
			       .mode = GS_MODE_1KB,
			       .soft_rss = true,
			       .nb_desc = 256,
			       .ring_size = 256};
	int rc;

	(void)argc;
	if (check_eal_init(RTE_DIM(eal) - 1, eal, "gs_run") < 0)
		return 77; /* skipped: no EAL here */
	signal(SIGALRM, on_alarm);
	CHECK_EQ(gs_init(&conf), 0);
	CHECK_EQ(gs_worker_count(), 2);
	CHECK_EQ(gs_st.ndisp, 1);
	unsigned int disp = gs_st.disp[0].lcore, w1 = gs_st.w[1]->lcore;

	/* A worker's error ends the run and is what gs_run returns. */
	alarm(20);
	rc = gs_run(fail_on_1, NULL);
	alarm(0);
	CHECK_EQ(rc, -EIO);
	CHECK_EQ(ran, 2);
	CHECK_EQ(rte_eal_get_lcore_state(w1), WAIT);
	CHECK_EQ(rte_eal_get_lcore_state(disp), WAIT);

	/* Worker 1's lcore is busy: its launch fails after the dispatcher's. */
	gs_st.stop = false;
	ran = 0;
	CHECK_EQ(rte_eal_remote_launch(busy, NULL, w1), 0);
	alarm(20);
	rc = gs_run(fail_on_1, NULL);
	alarm(0);
	CHECK_EQ(rc, -EBUSY);
	CHECK_EQ(ran, 0);
	CHECK_EQ(rte_eal_get_lcore_state(disp), WAIT); /* stopped before gs_run returned */
	CHECK(!gs_running());

	/* Leave nothing running, fixed or not. */
	gs_st.disp_stop = true;
	rte_eal_wait_lcore(disp);
	release = true;
	rte_eal_wait_lcore(w1);
	gs_fini();
	rte_eal_cleanup();
	return CHECK_DONE();
}
