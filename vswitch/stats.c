/* Counters: each PMD counts for itself; reads sum over PMDs, minus what was there at the last
 * `stats clear` (PMDs' counters are never written by another thread). */
#include <string.h>

#include "vswd.h"

#define SUM(f) t->c.f += c->f;
#define SUB(f) t->c.f = since(t->c.f, p->base.f);
#define ADD(f) sw->c.f += t.c.f;
/* every per-PMD port counter */
#define EACH_COUNTER(X)                                                                            \
	X(rx_packets) X(rx_bytes) X(tx_packets) X(tx_bytes) X(forwarded) X(copies)               \
	X(drop_tx_full) X(drop_malformed) X(drop_learn_limit) X(drop_port_down)                  \
	X(drop_injected) X(drop_hairpin) X(drop_no_egress) X(drop_port_removed) X(drop_vlan)      \
	X(drop_no_copy) X(rx_csum) X(rx_tso) X(tx_csum) X(tx_tso) X(csum_sw) X(gso_frames)        \
	X(gso_segments) X(drop_bad_offload) X(drop_too_big) X(drop_gso_nomem)

/* A counter since its baseline. A counter read below its baseline (a device whose stats read
 * failed and gave 0, or one that reset its own) counts as 0 since then, never as a wrap to
 * 2^64 - k. */
static inline uint64_t since(uint64_t now, uint64_t base)
{
	return now > base ? now - base : 0;
}

static void raw_totals(const struct vsw_port *p, struct vsw_port_totals *t)
{
	int idx = vsw_port_index(p);
	struct rte_eth_stats es;

	memset(t, 0, sizeof(*t));
	for (unsigned i = 0; i < vsw.cfg.n_pmds; i++) {
		const struct vsw_port_counters *c = &vsw.pmds[i].port[idx];

		EACH_COUNTER(SUM)
	}
	if (rte_eth_stats_get(p->port_id, &es) == 0)
		t->drop_no_mbuf = es.rx_nombuf;
}

static void port_totals(const struct vsw_port *p, struct vsw_port_totals *t)
{
	raw_totals(p, t);
	EACH_COUNTER(SUB)
	t->drop_no_mbuf = since(t->drop_no_mbuf, p->base_no_mbuf);
}

static json_t *totals_json(const struct vsw_port_totals *t)
{
	json_t *o = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
			 "s:I, s:I, s:I}}",
			 "rx_packets", (json_int_t)t->c.rx_packets, "rx_bytes",
			 (json_int_t)t->c.rx_bytes, "tx_packets", (json_int_t)t->c.tx_packets,
			 "tx_bytes", (json_int_t)t->c.tx_bytes, "forwarded",
			 (json_int_t)t->c.forwarded, "copies", (json_int_t)t->c.copies, "drops",
			 "tx_full", (json_int_t)t->c.drop_tx_full, "no_mbuf",
			 (json_int_t)t->drop_no_mbuf, "malformed", (json_int_t)t->c.drop_malformed,
			 "learn_limit", (json_int_t)t->c.drop_learn_limit, "port_down",
			 (json_int_t)t->c.drop_port_down, "injected", (json_int_t)t->c.drop_injected,
			 "hairpin", (json_int_t)t->c.drop_hairpin, "no_egress",
			 (json_int_t)t->c.drop_no_egress, "port_removed",
			 (json_int_t)t->c.drop_port_removed, "vlan", (json_int_t)t->c.drop_vlan,
			 "no_copy", (json_int_t)t->c.drop_no_copy);
	json_t *drops = json_object_get(o, "drops");

	json_object_set_new(drops, "bad_offload", json_integer((json_int_t)t->c.drop_bad_offload));
	json_object_set_new(drops, "too_big", json_integer((json_int_t)t->c.drop_too_big));
	json_object_set_new(drops, "gso_nomem", json_integer((json_int_t)t->c.drop_gso_nomem));
	json_object_set_new(o, "offload",
			    json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "rx_csum",
				      (json_int_t)t->c.rx_csum, "rx_tso", (json_int_t)t->c.rx_tso,
				      "tx_csum", (json_int_t)t->c.tx_csum, "tx_tso",
				      (json_int_t)t->c.tx_tso, "csum_sw", (json_int_t)t->c.csum_sw,
				      "gso_frames", (json_int_t)t->c.gso_frames, "gso_segments",
				      (json_int_t)t->c.gso_segments));
	return o;
}

static json_t *port_json(const struct vsw_port *p)
{
	struct vsw_port_totals t;
	json_t *o;

	port_totals(p, &t);
	o = json_pack("{s:s}", "name", p->name); /* first: the text table's first column */
	json_object_update_new(o, totals_json(&t));
	return o;
}

/* Ports removed since the last `stats clear`: their counters stay in the switch's sums, or a
 * frame one of them received and another port sent would leave the books unbalanced. */
static struct vsw_port_totals retired;

void vsw_stats_retire(const struct vsw_port *p)
{
	struct vsw_port_totals t, *sw = &retired;

	port_totals(p, &t);
	EACH_COUNTER(ADD)
	sw->drop_no_mbuf += t.drop_no_mbuf;
}

/* The whole switch: the sum over the ports present and those removed since `stats clear`. */
static json_t *switch_json(void)
{
	struct vsw_port_totals t, all = retired, *sw = &all;

	for (unsigned i = 0; i < VSW_MAX_PORTS; i++) {
		if (!vsw.ports[i].used)
			continue;
		port_totals(&vsw.ports[i], &t);
		EACH_COUNTER(ADD)
		sw->drop_no_mbuf += t.drop_no_mbuf;
	}
	return totals_json(sw);
}

static json_t *pmd_json(const struct vsw_pmd *pmd)
{
	const struct vsw_pmd_counters *c = &pmd->loop, *b = &pmd->loop_base;
	uint64_t busy = c->busy_cycles - b->busy_cycles, idle = c->idle_cycles - b->idle_cycles;

	return json_pack("{s:i, s:i, s:I, s:I, s:I, s:I, s:f}", "pmd", pmd->index, "lcore",
			 pmd->lcore, "iterations", (json_int_t)(c->iterations - b->iterations),
			 "busy_iterations", (json_int_t)(c->busy_iterations - b->busy_iterations),
			 "packets", (json_int_t)(c->packets - b->packets), "sleeps",
			 (json_int_t)(c->sleeps - b->sleeps), "busy_pct",
			 busy + idle ? 100.0 * (double)busy / (double)(busy + idle) : 0.0);
}

json_t *vsw_stats_json(const struct vsw_port *only)
{
	json_t *ports, *pmds;

	if (only != NULL)
		return port_json(only);
	ports = json_array();
	pmds = json_array();
	for (unsigned i = 0; i < VSW_MAX_PORTS; i++)
		if (vsw.ports[i].used)
			json_array_append_new(ports, port_json(&vsw.ports[i]));
	for (unsigned i = 0; i < vsw.cfg.n_pmds; i++)
		json_array_append_new(pmds, pmd_json(&vsw.pmds[i]));
	return json_pack("{s:o, s:o, s:o, s:{s:s, s:i, s:i}, s:{s:i, s:i, s:i}}", "ports", ports,
			 "switch", switch_json(), "pmds", pmds, "mempool", "name", vsw.pool->name, "size", vsw.pool->size, "in_use",
			 rte_mempool_in_use_count(vsw.pool), "fdb", "entries",
			 vsw_fdb_count(vsw.fdb, VSW_FDB_NO_PORT), "size", vsw.cfg.fdb_size,
			 "aging", vsw_fdb_aging(vsw.fdb));
}

/* The port's counters start again from 0. A failed ethdev stats read keeps the old no_mbuf
 * baseline rather than taking 0 as one. */
static void port_clear(struct vsw_port *p)
{
	struct vsw_port_totals t;
	struct rte_eth_stats es;

	raw_totals(p, &t);
	p->base = t.c;
	if (rte_eth_stats_get(p->port_id, &es) == 0)
		p->base_no_mbuf = es.rx_nombuf;
}

/* Every port and the PMD loop counters, or (only != NULL) one port. */
void vsw_stats_clear(struct vsw_port *only)
{
	if (only != NULL) {
		port_clear(only);
		return;
	}
	for (unsigned i = 0; i < VSW_MAX_PORTS; i++)
		if (vsw.ports[i].used)
			port_clear(&vsw.ports[i]);
	for (unsigned i = 0; i < vsw.cfg.n_pmds; i++)
		vsw.pmds[i].loop_base = vsw.pmds[i].loop;
	memset(&retired, 0, sizeof(retired));
}
