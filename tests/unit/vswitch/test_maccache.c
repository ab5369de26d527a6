/* The PMD's MAC cache (vswitch/maccache.c) in front of the FDB: every answer equals the FDB's
 * (static entries elsewhere, moves, removals, limits), hits skip the FDB, a key is refreshed
 * in the FDB once a second, and a burst larger than the cache's sets stays right. */
#include <stdio.h>
#include <rte_eal.h>
#include <rte_malloc.h>

#include "check.h"
#include "check_eal.h"
#include "fdb.h"
#include "maccache.h"

#include "fdb_calls.h"

static struct vsw_fdb *fdb;
static struct vsw_mac_cache *mc;

static enum vsw_learn_result c_learn(unsigned n, uint16_t port, uint64_t now)
{
	enum vsw_learn_result r;

	vsw_mac_cache_learn(mc, fdb, K(mac(n)), 1, port, now, vsw_fdb_gen(fdb), &r);
	return r;
}

static uint16_t c_lookup(unsigned n)
{
	uint16_t port;

	vsw_mac_cache_lookup(mc, fdb, K(mac(n)), 1, vsw_fdb_gen(fdb), &port);
	return port;
}

struct age_of {
	struct rte_ether_addr m;
	uint64_t age;
};

static int find_age(const struct vsw_fdb_entry *e, void *arg)
{
	struct age_of *w = arg;

	if (rte_is_same_ether_addr(&e->mac, &w->m))
		w->age = e->age_s;
	return 0;
}

/* The FDB's age of MAC n at second now (UINT64_MAX: not there) */
static uint64_t fdb_age(unsigned n, uint64_t now)
{
	struct age_of w = {mac(n), UINT64_MAX};

	vsw_fdb_walk(fdb, VSW_FDB_NO_PORT, now, find_age, &w);
	return w.age;
}

static void test_answers_equal_the_fdb(void)
{
	CHECK(c_learn(1, 2, 10) == VSW_LEARN_NEW);
	CHECK(c_lookup(1) == 2 && c_lookup(1) == 2); /* a miss that fills, then a hit */
	CHECK(c_learn(1, 2, 10) == VSW_LEARN_OK);
	CHECK(c_learn(1, 3, 10) == VSW_LEARN_MOVED); /* cached on 2: a move goes to the FDB */
	CHECK(c_lookup(1) == 3 && lookup(fdb, 1) == 3);
	CHECK(c_lookup(99) == VSW_FDB_NO_PORT);

	/* a static entry on port 5 is learned "OK" on port 4 without moving: the cache must not
	 * believe it lives on 4 */
	CHECK(vsw_fdb_add_static(fdb, K(mac(7)), 5) == 0);
	CHECK(c_learn(7, 4, 10) == VSW_LEARN_OK);
	CHECK(c_learn(7, 4, 10) == VSW_LEARN_OK);
	CHECK(c_lookup(7) == 5);

	/* removed behind the cache's back: the generation moves, the answer follows */
	CHECK(c_lookup(1) == 3);
	CHECK(vsw_fdb_del(fdb, K(mac(1))) == 0);
	CHECK(c_lookup(1) == VSW_FDB_NO_PORT);
}

static void test_refreshed_once_a_second(void)
{
	CHECK(c_learn(20, 1, 100) == VSW_LEARN_NEW);
	CHECK(c_learn(20, 1, 100) == VSW_LEARN_OK); /* fills the cache */
	CHECK(fdb_age(20, 105) == 5);
	CHECK(c_learn(20, 1, 100) == VSW_LEARN_OK); /* a hit: the FDB not touched */
	CHECK(c_learn(20, 1, 104) == VSW_LEARN_OK); /* a new second: refreshed in the FDB */
	CHECK(fdb_age(20, 105) == 1);
}

static void test_limits_are_not_cached(void)
{
	struct vsw_fdb_params p = {.size = 64, .port_limit = 1, .max_ports = 8};
	struct vsw_fdb *f = vsw_fdb_create("t_mc_lim", &p);
	enum vsw_learn_result r[2];
	struct vsw_fdb_key k[2] = {{.mac = mac(1)}, {.mac = mac(2)}};

	vsw_mac_cache_learn(mc, f, k, 2, 0, 1, vsw_fdb_gen(f), r);
	CHECK(r[0] == VSW_LEARN_NEW && r[1] == VSW_LEARN_LIMIT);
	vsw_mac_cache_learn(mc, f, k, 2, 0, 1, vsw_fdb_gen(f), r);
	CHECK(r[0] == VSW_LEARN_OK && r[1] == VSW_LEARN_LIMIT);
	vsw_fdb_free(f);
}

/* Many more keys than one set holds, in bursts: every answer right, twice round. */
static void test_many_keys(void)
{
	enum { N = 6000, B = 32 };
	struct vsw_fdb_key k[B];
	enum vsw_learn_result r[B];
	uint16_t out[B];
	unsigned wrong = 0;

	for (unsigned round = 0; round < 3; round++)
		for (unsigned i = 0; i < N; i += B) {
			for (unsigned j = 0; j < B; j++)
				k[j] = (struct vsw_fdb_key){.mac = mac(1000 + i + j), .vlan = 3};
			vsw_mac_cache_learn(mc, fdb, k, B, (uint16_t)(i % 6), 200,
					    vsw_fdb_gen(fdb), r);
			vsw_mac_cache_lookup(mc, fdb, k, B, vsw_fdb_gen(fdb), out);
			for (unsigned j = 0; j < B; j++)
				wrong += out[j] != i % 6 ||
					 r[j] != (round == 0 ? VSW_LEARN_NEW : VSW_LEARN_OK);
		}
	CHECK_EQ(wrong, 0);
}

int main(int argc, char **argv)
{
	char *eal[] = {argv[0], "--no-huge", "-m", "64", "--no-pci", "--no-shconf", "--no-telemetry",
		       "--log-level", "error"};
	struct vsw_fdb_params p = {.size = 8192, .aging_s = 300, .max_ports = 8};

	(void)argc;
	if (check_eal_init((int)RTE_DIM(eal), eal, "vsw_maccache") < 0) {
		fprintf(stderr, "EAL init failed\n");
		return 1;
	}
	fdb = vsw_fdb_create("t_mc", &p);
	mc = vsw_mac_cache_create(1024, SOCKET_ID_ANY);
	if (fdb == NULL || mc == NULL)
		return 1;
	test_answers_equal_the_fdb();
	test_refreshed_once_a_second();
	test_limits_are_not_cached();
	test_many_keys();
	vsw_mac_cache_free(mc);
	vsw_fdb_free(fdb);
	rte_eal_cleanup();
	return CHECK_DONE();
}
