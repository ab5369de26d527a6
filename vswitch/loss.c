/* Loss injection, for testing what runs over the switch: `port set NAME drop=PERCENT[,seed=N]`
 * makes a port lose that share of the frames it receives, before they are checked or learned,
 * as a lossy wire would. Lost frames count in rx_packets (they were received) and as
 * drops.injected.
 *
 * The setting travels in the datapath table (published by RCU), so PMDs read it without locks.
 * Each PMD draws from its own xorshift64* generator per port and writes nothing shared; it
 * reseeds from the port's seed and its own index whenever the setting changes. So when one PMD
 * polls the port's one rx queue, a seed loses the same frames of the same sequence every time.
 * Without a seed, vswd picks one and `port list` shows it, so a run can be repeated. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_random.h>

#include "vswd.h"

#define PPM 1000000u /* drop is kept in parts per million of frames: 0.0001 % steps */

static uint32_t loss_gen; /* control thread: a new value for every setting made */

static uint64_t splitmix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static inline uint32_t xorshift64s(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return (uint32_t)((x * 0x2545f4914f6cdd1dULL) >> 32);
}

uint16_t vsw_loss_burst(struct vsw_pmd *pmd, const struct vsw_dp_port *dp, uint16_t in,
			struct rte_mbuf **pkts, uint16_t n)
{
	struct vsw_loss_rng *r = &pmd->loss[in];
	struct vsw_port_counters *c = &pmd->port[in];
	struct rte_mbuf *lost[VSW_BURST];
	uint16_t kept = 0, nl = 0;

	if (r->gen != dp->loss_gen) {
		r->s = splitmix64(((uint64_t)pmd->index << 32) | dp->loss_seed);
		if (r->s == 0)
			r->s = 1; /* xorshift never leaves 0 */
		r->gen = dp->loss_gen;
	}
	for (uint16_t i = 0; i < n; i++) {
		if (xorshift64s(&r->s) < dp->loss_thresh) {
			c->rx_bytes += pkts[i]->pkt_len;
			lost[nl++] = pkts[i];
		} else {
			pkts[kept++] = pkts[i];
		}
	}
	c->drop_injected += nl;
	rte_pktmbuf_free_bulk(lost, nl);
	return kept;
}

/* "0", "0.5", "10", "100.0": 0 to 100 with at most 4 decimals, as parts per million. */
static int parse_percent(const char *s, uint32_t *ppm)
{
	uint32_t whole = 0, frac = 0, scale = 10000;
	const char *p = s;

	if (*p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		whole = whole * 10 + (uint32_t)(*p - '0');
		if (whole > 100)
			return -EINVAL;
	}
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++) {
			if (scale == 1)
				return -EINVAL; /* a fifth decimal */
			scale /= 10;
			frac += (uint32_t)(*p - '0') * scale;
		}
	}
	if (*p != '\0' || whole * 10000 + frac > PPM)
		return -EINVAL;
	*ppm = whole * 10000 + frac;
	return 0;
}

static int parse_seed(const char *s, uint32_t *seed)
{
	char *end;
	unsigned long long x;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	x = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || x > UINT32_MAX)
		return -EINVAL;
	*seed = (uint32_t)x;
	return 0;
}

/* One KEY=VALUE of `port set`. */
static int set_one(const struct vsw_port *p, const char *kv, uint32_t *ppm, bool *has_drop,
		   uint32_t *seed, bool *has_seed, char *err, size_t errlen)
{
	const char *v;

	if (vsw_kv(kv, "drop", &v)) {
		*has_drop = true;
		if (parse_percent(v, ppm) == 0)
			return 0;
		snprintf(err, errlen,
			 "bad drop '%s': a percentage from 0 to 100 (e.g. 0.5), "
			 "at most 4 decimals",
			 v);
	} else if (vsw_kv(kv, "seed", &v)) {
		*has_seed = true;
		if (parse_seed(v, seed) == 0)
			return 0;
		snprintf(err, errlen, "bad seed '%s': 0 to 4294967295", v);
	} else {
		snprintf(err, errlen,
			 "unknown setting '%s' for port %s (drop, seed, vlan, trunks, native)", kv,
			 p->name);
	}
	return -EINVAL;
}

int vsw_port_set(struct vsw_port *p, int argc, char **argv, char *err, size_t errlen)
{
	uint32_t ppm = 0, seed = 0;
	bool has_drop = false, has_seed = false;

	if (argc == 0) {
		snprintf(err, errlen, "usage: port set NAME drop=PERCENT[,seed=N] | vlan=ID|none | "
				      "trunks=LIST [native=ID]");
		return -EINVAL;
	}
	/* every word is KEY=VALUE[,KEY=VALUE...]; all are checked before anything changes */
	for (int i = 0; i < argc; i++) {
		char buf[256], *save = NULL, *kv;

		if (snprintf(buf, sizeof(buf), "%s", argv[i]) >= (int)sizeof(buf)) {
			snprintf(err, errlen, "setting too long: '%.32s...'", argv[i]);
			return -EINVAL;
		}
		for (kv = strtok_r(buf, ",", &save); kv != NULL; kv = strtok_r(NULL, ",", &save))
			if (set_one(p, kv, &ppm, &has_drop, &seed, &has_seed, err, errlen) != 0)
				return -EINVAL;
	}
	if (!has_drop) {
		snprintf(err, errlen, "seed= goes with drop=: port set NAME drop=PERCENT[,seed=N]");
		return -EINVAL;
	}
	if (!has_seed)
		seed = (uint32_t)rte_rand();
	p->loss_ppm = ppm;
	p->loss_seed = ppm != 0 ? seed : 0;
	p->loss_gen = ++loss_gen; /* PMDs reseed, even for the same seed: the sequence restarts */
	vsw_dp_publish();
	VSW_LOG(INFO, "port %s: drop %u.%04u%% of received frames, seed %u\n", p->name, ppm / 10000,
		ppm % 10000, p->loss_seed);
	return 0;
}

uint64_t vsw_loss_thresh(const struct vsw_port *p)
{
	/* a draw below it loses the frame: 2^32 (every draw) at 100 % */
	return ((uint64_t)p->loss_ppm << 32) / PPM;
}

void vsw_loss_json(const struct vsw_port *p, json_t *o)
{
	json_t *seed = p->loss_ppm != 0 ? json_integer((json_int_t)p->loss_seed) : json_null();

	json_object_set_new(o, "drop", json_real((double)p->loss_ppm / 10000.0));
	json_object_set_new(o, "drop_seed", seed); /* null: no loss */
}
