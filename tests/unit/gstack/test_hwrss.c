/* Hardware RSS takes softrss.c's key: the NIC and the software hash agree, and --symmetric
 * reaches the NIC.  net_null has RSS and many queues (and reports the key it holds); two
 * workers on three lcores in 1kb mode poll their own queues, each with a ring for the ARP that
 * another worker's queue received. */
#include <string.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include "gs_priv.h"
#include "check.h"
#include "check_eal.h"

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
			       .symmetric_rss = true,
			       .nb_desc = 256,
			       .ring_size = 256};
	uint8_t key[GS_RSS_KEY_LEN], sym[GS_RSS_KEY_LEN];
	struct rte_eth_rss_conf rss = {.rss_key = key, .rss_key_len = sizeof(key)};

	(void)argc;
	if (check_eal_init(RTE_DIM(eal) - 1, eal, "gs_hwrss") < 0)
		return 77; /* skipped: no EAL here */
	CHECK_EQ(gs_init(&conf), 0);
	CHECK(gs_st.hw_rss);
	CHECK_EQ(gs_worker_count(), 2);
	CHECK_EQ(gs_st.ndisp, 0);
	for (unsigned int i = 0; i < gs_worker_count(); i++)
		CHECK(gs_st.w[i]->direct && gs_st.w[i]->queue == i && gs_st.w[i]->in_ring);

	for (unsigned int i = 0; i < sizeof(sym); i += 2)
		sym[i] = 0x6d, sym[i + 1] = 0x5a;
	CHECK_EQ(rte_eth_dev_rss_hash_conf_get(gs_port(), &rss), 0);
	CHECK(memcmp(key, sym, sizeof(key)) == 0);
	CHECK(memcmp(gs_rss_key(true), sym, sizeof(sym)) == 0);
	gs_fini();
	rte_eal_cleanup();
	return CHECK_DONE();
}
