/* FDB unit tests with a fake clock: learning, moves, statics, aging, limits, flush. */
#include <stdio.h>
#include <sched.h>
#include <stdlib.h>
#include <unistd.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>

#include "check.h"
#include "check_eal.h"
#include "fdb.h"

#include "fdb_calls.h"

static struct vsw_fdb *make(const char *name, uint32_t size, uint32_t limit, uint32_t aging)
{
	struct vsw_fdb_params p = {.size = size, .port_limit = limit, .aging_s = aging, .max_ports = 8};
	struct vsw_fdb *f = vsw_fdb_create(name, &p);

	if (f == NULL) {
		fprintf(stderr, "vsw_fdb_create failed\n");
		exit(1);
	}
	return f;
}

static void test_learn_and_move(void)
{
	struct vsw_fdb *f = make("t_move", 64, 0, 300);

	CHECK(lookup(f, 1) == VSW_FDB_NO_PORT);
	CHECK(learn(f, 1, 2, 10) == VSW_LEARN_NEW);
	CHECK(learn(f, 1, 2, 11) == VSW_LEARN_OK);
	CHECK(lookup(f, 1) == 2);
	CHECK(learn(f, 1, 3, 12) == VSW_LEARN_MOVED);
	CHECK(lookup(f, 1) == 3);
	CHECK(vsw_fdb_count(f, 2) == 0 && vsw_fdb_count(f, 3) == 1);
	CHECK(vsw_fdb_count(f, VSW_FDB_NO_PORT) == 1);
	vsw_fdb_free(f);
}

static void test_static(void)
{
	struct vsw_fdb *f = make("t_static", 64, 0, 5);
	struct rte_ether_addr m = mac(7);

	CHECK(vsw_fdb_add_static(f, K(m), 1) == 0);
	CHECK(learn(f, 7, 4, 100) == VSW_LEARN_OK); /* seen elsewhere: does not move */
	CHECK(lookup(f, 7) == 1);
	CHECK(vsw_fdb_age(f, 1000000) == 0); /* never ages */
	CHECK(lookup(f, 7) == 1);
	CHECK(vsw_fdb_flush(f, VSW_FDB_NO_PORT, VSW_FDB_ANY_VLAN, false) == 0); /* flush keeps statics */
	CHECK(vsw_fdb_flush(f, 1, VSW_FDB_ANY_VLAN, true) == 1);
	CHECK(lookup(f, 7) == VSW_FDB_NO_PORT);
	/* a learned entry becomes static */
	CHECK(learn(f, 8, 2, 1) == VSW_LEARN_NEW);
	m = mac(8);
	CHECK(vsw_fdb_add_static(f, K(m), 3) == 0);
	CHECK(lookup(f, 8) == 3 && vsw_fdb_count(f, 2) == 0);
	vsw_fdb_free(f);
}

static void test_aging(void)
{
	struct vsw_fdb *f = make("t_aging", 64, 0, 300);

	CHECK(learn(f, 1, 0, 1000) == VSW_LEARN_NEW);
	CHECK(learn(f, 2, 0, 1000) == VSW_LEARN_NEW);
	CHECK(learn(f, 2, 0, 1200) == VSW_LEARN_OK); /* refreshed */
	CHECK(vsw_fdb_age(f, 1299) == 0);
	CHECK(vsw_fdb_age(f, 1300) == 1);
	CHECK(lookup(f, 1) == VSW_FDB_NO_PORT && lookup(f, 2) == 0);
	vsw_fdb_set_aging(f, 10);
	CHECK(vsw_fdb_age(f, 1210) == 1);
	CHECK(lookup(f, 2) == VSW_FDB_NO_PORT);
	CHECK(vsw_fdb_count(f, VSW_FDB_NO_PORT) == 0 && vsw_fdb_count(f, 0) == 0);
	vsw_fdb_set_aging(f, 0); /* 0: never */
	CHECK(learn(f, 3, 0, 1) == VSW_LEARN_NEW);
	CHECK(vsw_fdb_age(f, 1u << 30) == 0);
	vsw_fdb_free(f);
}

static void test_limits(void)
{
	struct vsw_fdb *f = make("t_limits", 10, 3, 0);
	struct rte_ether_addr m;

	for (unsigned i = 0; i < 3; i++)
		CHECK(learn(f, 100 + i, 1, 0) == VSW_LEARN_NEW);
	CHECK(learn(f, 103, 1, 0) == VSW_LEARN_LIMIT);
	CHECK(lookup(f, 103) == VSW_FDB_NO_PORT);
	CHECK(learn(f, 100, 2, 0) == VSW_LEARN_MOVED); /* frees one place on port 1 */
	CHECK(learn(f, 103, 1, 0) == VSW_LEARN_NEW);
	CHECK(learn(f, 200, 2, 0) == VSW_LEARN_NEW);
	CHECK(learn(f, 201, 2, 0) == VSW_LEARN_NEW);
	CHECK(learn(f, 202, 2, 0) == VSW_LEARN_LIMIT); /* port 2 holds 3 now */
	CHECK(learn(f, 300, 3, 0) == VSW_LEARN_NEW);
	CHECK(learn(f, 301, 3, 0) == VSW_LEARN_NEW);
	CHECK(learn(f, 302, 3, 0) == VSW_LEARN_NEW);
	CHECK(learn(f, 400, 4, 0) == VSW_LEARN_NEW);   /* 10 entries: full */
	CHECK(learn(f, 401, 4, 0) == VSW_LEARN_FULL);
	m = mac(402);
	CHECK(vsw_fdb_add_static(f, K(m), 4) == -ENOSPC);
	m = mac(300);
	CHECK(vsw_fdb_del(f, K(m)) == 0);
	CHECK(vsw_fdb_del(f, K(m)) == -ENOENT);
	CHECK(learn(f, 401, 4, 0) == VSW_LEARN_NEW);
	CHECK(vsw_fdb_flush(f, 3, VSW_FDB_ANY_VLAN, false) == 2);
	CHECK(vsw_fdb_count(f, VSW_FDB_NO_PORT) == 8);
	CHECK(vsw_fdb_flush(f, VSW_FDB_NO_PORT, VSW_FDB_ANY_VLAN, false) == 8);
	CHECK(vsw_fdb_count(f, VSW_FDB_NO_PORT) == 0);
	vsw_fdb_free(f);
}

static int count_cb(const struct vsw_fdb_entry *e, void *arg)
{
	unsigned *n = arg;

	if (e->port == 5 && e->age_s == 7)
		(*n)++;
	return 0;
}

static void test_bulk_and_walk(void)
{
	struct vsw_fdb *f = make("t_bulk", 256, 0, 0);
	struct vsw_fdb_key p[100];
	enum vsw_learn_result r[100];
	uint16_t out[100];
	unsigned n = 0;

	for (unsigned i = 0; i < 100; i++)
		p[i] = (struct vsw_fdb_key){.mac = mac(1000 + i)};
	vsw_fdb_learn(f, p, 100, 5, 3, r); /* more than one rte_hash bulk */
	for (unsigned i = 0; i < 100; i++)
		CHECK(r[i] == VSW_LEARN_NEW);
	vsw_fdb_lookup(f, p, 100, out);
	for (unsigned i = 0; i < 100; i++)
		CHECK(out[i] == 5);
	vsw_fdb_walk(f, VSW_FDB_NO_PORT, 10, count_cb, &n);
	CHECK(n == 100);
	vsw_fdb_free(f);
}

/* Readers cache lookups by generation: every change of a MAC's port or presence must bump it,
 * a plain refresh must not. */
static int count_all_cb(const struct vsw_fdb_entry *e, void *arg)
{
	unsigned *n = arg;

	(*n) += e->vlan == 10 || e->vlan == 20;
	return 0;
}

/* The same MAC in two VLANs is two entries on two ports; flushing one VLAN keeps the other. */
static void test_vlans(void)
{
	struct vsw_fdb *f = make("t_vlans", 64, 0, 0);
	struct vsw_fdb_key k10 = *KV(mac(5), 10);
	unsigned n = 0;

	CHECK(learn_v(f, 5, 10, 1, 1) == VSW_LEARN_NEW);
	CHECK(learn_v(f, 5, 20, 2, 1) == VSW_LEARN_NEW);
	CHECK(lookup_v(f, 5, 10) == 1 && lookup_v(f, 5, 20) == 2);
	CHECK(lookup(f, 5) == VSW_FDB_NO_PORT && lookup_v(f, 5, 30) == VSW_FDB_NO_PORT);
	CHECK(learn_v(f, 5, 10, 1, 2) == VSW_LEARN_OK); /* no move: VLAN 20's entry is another */
	vsw_fdb_walk(f, VSW_FDB_NO_PORT, 10, count_all_cb, &n);
	CHECK(n == 2);
	CHECK(vsw_fdb_flush(f, VSW_FDB_NO_PORT, 20, false) == 1);
	CHECK(lookup_v(f, 5, 10) == 1 && lookup_v(f, 5, 20) == VSW_FDB_NO_PORT);
	CHECK(vsw_fdb_add_static(f, KV(mac(6), 20), 3) == 0);
	CHECK(vsw_fdb_del(f, KV(mac(6), 10)) == -ENOENT);
	CHECK(vsw_fdb_del(f, KV(mac(6), 20)) == 0);
	CHECK(vsw_fdb_del(f, &k10) == 0 && vsw_fdb_count(f, VSW_FDB_NO_PORT) == 0);
	vsw_fdb_free(f);
}

static void test_generation(void)
{
	struct vsw_fdb *f = make("t_gen", 64, 0, 10);
	struct rte_ether_addr m = mac(9);
	uint32_t g = vsw_fdb_gen(f);

	CHECK(learn(f, 1, 0, 1) == VSW_LEARN_NEW && vsw_fdb_gen(f) != g);
	g = vsw_fdb_gen(f);
	CHECK(learn(f, 1, 0, 2) == VSW_LEARN_OK && vsw_fdb_gen(f) == g);
	CHECK(learn(f, 1, 1, 3) == VSW_LEARN_MOVED && vsw_fdb_gen(f) != g);
	g = vsw_fdb_gen(f);
	CHECK(vsw_fdb_add_static(f, K(m), 2) == 0 && vsw_fdb_gen(f) != g);
	g = vsw_fdb_gen(f);
	CHECK(vsw_fdb_del(f, K(m)) == 0 && vsw_fdb_gen(f) != g);
	g = vsw_fdb_gen(f);
	CHECK(vsw_fdb_age(f, 100) == 1 && vsw_fdb_gen(f) != g);
	vsw_fdb_free(f);
}

/* Two lcores (on two CPUs shared with this thread, so preempted anywhere) learn and move a set of
 * MACs, and both move one MAC (MOVER) between ports on every turn, while this thread adds
 * statics, deletes (MOVER too), flushes and ages. The counts never pass the size and per-port
 * bounds, even while learners race; at quiescent points and at the end the counts equal a scan
 * of the table, every key maps to a slot holding that MAC and every live slot is reached by its
 * key. */
#define MOVER 100
#define STRESS_SIZE 48
#define STRESS_LIMIT 14

struct stress {
	struct vsw_fdb *f;
	struct rte_rcu_qsbr *q;
	volatile bool stop;
	volatile bool pause;
	unsigned paused; /* atomic: learners parked while pause is set */
};

static int stress_learner(void *arg)
{
	struct stress *st = arg;
	unsigned id = rte_lcore_id() - 1, r = rte_lcore_id() * 7919, turn = 0;

	rte_rcu_qsbr_thread_register(st->q, id);
	rte_rcu_qsbr_thread_online(st->q, id);
	while (!st->stop) {
		if (st->pause) {
			__atomic_fetch_add(&st->paused, 1, __ATOMIC_ACQ_REL);
			while (st->pause && !st->stop)
				sched_yield();
			__atomic_fetch_sub(&st->paused, 1, __ATOMIC_ACQ_REL);
		}
		r = r * 1103515245 + 12345;
		learn(st->f, (r >> 8) % 64, (uint16_t)((r >> 16) % 4), (r >> 20) % 50);
		/* the learners move MOVER over all four ports, against each other */
		learn(st->f, MOVER, (uint16_t)((id * 2 + turn++) % 4), (r >> 20) % 50);
		rte_rcu_qsbr_quiescent(st->q, id);
	}
	rte_rcu_qsbr_thread_offline(st->q, id);
	rte_rcu_qsbr_thread_unregister(st->q, id);
	return 0;
}

struct tally {
	unsigned learned[8], total, seen[128];
};

static int tally_cb(const struct vsw_fdb_entry *e, void *arg)
{
	struct tally *t = arg;

	t->total++;
	if (!e->is_static)
		t->learned[e->port]++;
	t->seen[e->mac.addr_bytes[5] % 128]++;
	return 0;
}

/* Checks made while no learner runs; returns the number of failed checks. */
static int stress_audit(struct vsw_fdb *f, const char *when)
{
	uint32_t learned[8];
	struct vsw_fdb_audit a = {.learned = learned};
	int before = check_failures, rc = vsw_fdb_audit(f, &a);
	struct tally t = {0};

	vsw_fdb_walk(f, VSW_FDB_NO_PORT, 0, tally_cb, &t);
	CHECK_EQ(a.bad_keys, 0);    /* every key maps to a slot whose MAC is that key */
	CHECK_EQ(a.orphans, 0);     /* every live slot is reached by its MAC's key */
	CHECK_EQ(a.keys, a.live + a.idle_keys);
	CHECK_EQ(a.live, vsw_fdb_count(f, VSW_FDB_NO_PORT)); /* size exact */
	CHECK_EQ(t.total, vsw_fdb_count(f, VSW_FDB_NO_PORT));
	CHECK(vsw_fdb_count(f, VSW_FDB_NO_PORT) <= STRESS_SIZE); /* --fdb-size holds */
	for (uint16_t port = 0; port < 8; port++) {
		CHECK_EQ(learned[port], vsw_fdb_count(f, port)); /* per-port count exact */
		CHECK_EQ(t.learned[port], vsw_fdb_count(f, port));
		CHECK(vsw_fdb_count(f, port) <= STRESS_LIMIT); /* per-port limit holds */
	}
	for (unsigned i = 0; i < 128; i++)
		CHECK(t.seen[i] <= 1);
	CHECK(rc == 0);
	if (check_failures != before)
		fprintf(stderr, "stress audit %s: keys %u bad %u idle %u live %u orphans %u static %u "
			"total %u learned %u/%u/%u/%u (counted %u/%u/%u/%u)\n", when, a.keys,
			a.bad_keys, a.idle_keys, a.live, a.orphans, a.statics,
			vsw_fdb_count(f, VSW_FDB_NO_PORT), learned[0], learned[1], learned[2],
			learned[3], vsw_fdb_count(f, 0), vsw_fdb_count(f, 1), vsw_fdb_count(f, 2),
			vsw_fdb_count(f, 3));
	return check_failures - before;
}

static void test_concurrent(void)
{
	struct stress st = {0};
	struct vsw_fdb_params p = {.size = STRESS_SIZE, .port_limit = STRESS_LIMIT, .aging_s = 10,
				   .max_ports = 8};
	unsigned lcore, r = 1, audits = 0, failed = 0, over_size = 0, over_limit = 0;
	uint64_t hz = rte_get_timer_hz(), start = rte_get_timer_cycles(), end = start + 6 * hz;
	uint64_t next_audit = start + hz / 20;

	st.q = rte_zmalloc(NULL, rte_rcu_qsbr_get_memsize(rte_lcore_count() - 1),
			   RTE_CACHE_LINE_SIZE);
	rte_rcu_qsbr_init(st.q, rte_lcore_count() - 1);
	p.qsbr = st.q;
	st.f = vsw_fdb_create("t_stress", &p);
	CHECK(st.f != NULL);
	RTE_LCORE_FOREACH_WORKER(lcore) rte_eal_remote_launch(stress_learner, &st, lcore);
	while (rte_get_timer_cycles() < end) {
		struct rte_ether_addr m;

		r = r * 1103515245 + 12345;
		m = mac((r >> 8) % 64);
		switch ((r >> 16) % 6) {
		case 0: vsw_fdb_add_static(st.f, K(m), (uint16_t)((r >> 20) % 4)); break;
		case 1: vsw_fdb_del(st.f, K(m)); break;
		case 2: m = mac(MOVER); vsw_fdb_del(st.f, K(m)); break;
		case 3: vsw_fdb_flush(st.f, (uint16_t)((r >> 20) % 4), VSW_FDB_ANY_VLAN, (r >> 24) & 1); break;
		default: vsw_fdb_age(st.f, (r >> 20) % 80); break;
		}
		/* let the learners fill the table between changes, so they race at its bounds */
		rte_delay_us_block(1 + (r >> 26) % 16);
		/* counts are taken before a claim, under the bounds: they hold at every instant */
		over_size += vsw_fdb_count(st.f, VSW_FDB_NO_PORT) > STRESS_SIZE;
		for (uint16_t port = 0; port < 4; port++)
			over_limit += vsw_fdb_count(st.f, port) > STRESS_LIMIT;
		if (rte_get_timer_cycles() >= next_audit) {
			/* a quiescent point: park the learners, check, let them go on */
			st.pause = true;
			while (__atomic_load_n(&st.paused, __ATOMIC_ACQUIRE) < rte_lcore_count() - 1)
				rte_pause();
			if (stress_audit(st.f, "at a quiescent point") != 0 && failed++ == 0)
				fprintf(stderr, "first failed audit after %.2f s\n",
					(double)(rte_get_timer_cycles() - start) / (double)hz);
			audits++;
			st.pause = false;
			while (__atomic_load_n(&st.paused, __ATOMIC_ACQUIRE) != 0)
				rte_pause();
			next_audit = rte_get_timer_cycles() + hz / 20;
		}
	}
	st.stop = true;
	rte_eal_mp_wait_lcore();
	stress_audit(st.f, "at the end");
	CHECK_EQ(over_size, 0);
	CHECK_EQ(over_limit, 0);
	printf("stress: %u audits, %u failed; size passed %u times, a port limit %u times\n",
	       audits, failed, over_size, over_limit);
	vsw_fdb_free(st.f);
	rte_free(st.q);
}

int main(int argc, char **argv)
{
	char *eal[] = {argv[0], "--no-huge", "-m", "64", "--no-pci", "--no-shconf", "--no-telemetry",
		       "--log-level", "error",
		       "--lcores", "(0-2)@(0-1)"};

	(void)argc;
	if (check_eal_init((int)RTE_DIM(eal), eal, "vsw_fdb") < 0) {
		fprintf(stderr, "EAL init failed\n");
		return 1;
	}
	test_learn_and_move();
	test_static();
	test_aging();
	test_limits();
	test_bulk_and_walk();
	test_vlans();
	test_generation();
	test_concurrent();
	rte_eal_cleanup();
	rmdir(rte_eal_get_runtime_dir()); /* leave nothing in /var/run/dpdk */
	return CHECK_DONE();
}
