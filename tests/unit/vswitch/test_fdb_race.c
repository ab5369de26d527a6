/* FDB races replayed one step at a time: fdb.c is built here with FDB_HOOK stopping a learner
 * between its steps, while "another PMD" and "the control thread" act, all on this thread. The
 * case is issue 10's: a learner claims a slot whose key the control thread deletes, another PMD
 * moves the entry before the learner gives the slot back, and later removals and recycled
 * positions must not leave orphans or stale ports. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <rte_eal.h>
#include <rte_ether.h>
#include <rte_hash.h>

#include "check.h"
#include "check_eal.h"

struct vsw_fdb;
struct vsw_fdb_key;
static void race_hook(int point, struct vsw_fdb *fdb, const struct vsw_fdb_key *key,
		      int32_t pos);
#define FDB_HOOK(point, fdb, mac, pos) race_hook(point, fdb, mac, pos)
#include "fdb.c"

#include "fdb_calls.h"

#define M 7
static int script; /* 0: hooks off; 1..: the step the replay is at */
static int32_t b_pos = -1; /* where "PMD B" found M, before the control thread deleted it */

static void race_hook(int point, struct vsw_fdb *fdb, const struct vsw_fdb_key *m, int32_t pos)
{
	struct rte_ether_addr want = mac(M);
	int step = script;

	if (step == 0 || !rte_is_same_ether_addr(&m->mac, &want) || m->vlan != 0)
		return;
	script = 0; /* what runs here is not replayed */
	if (step == 1 && point == FDB_HOOK_LOOKED_UP && pos < 0) {
		/* A missed M. PMD C learns it on port 2 meanwhile. */
		CHECK(learn(fdb, M, 2, 1) == VSW_LEARN_NEW);
		step = 2;
	} else if (step == 2 && point == FDB_HOOK_ADDED) {
		/* A's add found C's key. PMD B looks M up; then the control thread deletes M. */
		b_pos = rte_hash_lookup(fdb->h, m);
		CHECK(b_pos == pos);
		CHECK(vsw_fdb_del(fdb, m) == 0);
		step = 3;
	} else if (step == 3 && point == FDB_HOOK_CLAIMED) {
		/* A claimed the emptied slot for port 0; B, with the position it found, moves M to
		 * port 1 before A sees that the key is gone. */
		CHECK(refresh(fdb, &fdb->slots[b_pos], slot_word(&fdb->slots[b_pos]), 1, 1) ==
		      VSW_LEARN_MOVED);
		step = 4;
	}
	script = step;
}

static int audit(struct vsw_fdb *f, struct vsw_fdb_audit *a, uint32_t *learned)
{
	a->learned = learned;
	return vsw_fdb_audit(f, a);
}

static void test_giveback_after_move(void)
{
	struct vsw_fdb_params p = {.size = 8, .port_limit = 0, .aging_s = 0, .max_ports = 8};
	struct vsw_fdb *f = vsw_fdb_create("t_race", &p);
	struct vsw_fdb_audit a;
	uint32_t learned[8];
	unsigned stale = 0;

	CHECK(f != NULL);
	script = 1;
	CHECK(learn(f, M, 0, 1) == VSW_LEARN_OK); /* A gives the slot back */
	CHECK_EQ(script, 4); /* the whole interleaving ran */
	script = 0;
	/* Nothing is left: the moved slot went back with the key, and is not counted. */
	CHECK(audit(f, &a, learned) == 0);
	CHECK_EQ(a.orphans, 0);
	CHECK_EQ(a.live, 0);
	CHECK_EQ(vsw_fdb_count(f, VSW_FDB_NO_PORT), 0);
	CHECK_EQ(vsw_fdb_count(f, 1), 0);
	CHECK(lookup(f, M) == VSW_FDB_NO_PORT);

	/* M comes back on port 3; then port 1 is flushed: M must stay reachable on port 3. */
	CHECK(learn(f, M, 3, 2) == VSW_LEARN_NEW);
	vsw_fdb_flush(f, 1, VSW_FDB_ANY_VLAN, false);
	CHECK(lookup(f, M) == 3);
	CHECK(audit(f, &a, learned) == 0);
	CHECK_EQ(a.orphans, 0);
	CHECK_EQ(a.bad_keys, 0);

	/* Every position of the table is handed out again: a new MAC never gets a stale port. */
	for (unsigned i = 0; i < 64; i++) {
		struct rte_ether_addr x = mac(1000 + i);

		if (learn(f, 1000 + i, 4, 3) == VSW_LEARN_FULL)
			continue;
		stale += lookup(f, 1000 + i) != 4;
		vsw_fdb_del(f, K(x));
	}
	CHECK_EQ(stale, 0);
	CHECK(audit(f, &a, learned) == 0);
	CHECK_EQ(a.orphans, 0);
	CHECK_EQ(a.bad_keys, 0);
	if (check_failures)
		fprintf(stderr, "audit: keys %u bad %u idle %u live %u orphans %u total %u\n", a.keys,
			a.bad_keys, a.idle_keys, a.live, a.orphans, vsw_fdb_count(f, VSW_FDB_NO_PORT));
	vsw_fdb_free(f);
}

int main(int argc, char **argv)
{
	char *eal[] = {argv[0], "--no-huge", "-m", "64", "--no-pci", "--no-shconf", "--no-telemetry",
		       "--log-level", "error", "--lcores", "0@0"};

	(void)argc;
	if (check_eal_init((int)RTE_DIM(eal), eal, "vsw_fdb_race") < 0) {
		fprintf(stderr, "EAL init failed\n");
		return 1;
	}
	test_giveback_after_move();
	rte_eal_cleanup();
	rmdir(rte_eal_get_runtime_dir());
	return CHECK_DONE();
}
