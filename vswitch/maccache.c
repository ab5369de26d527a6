/* The PMD's MAC cache (maccache.h): 4-way sets of 16-byte entries, one cache line a set. A
 * burst's keys are hashed and their sets prefetched first, so that the misses overlap. */
#include <string.h>

#include <rte_common.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>
#include <rte_prefetch.h>

#include "maccache.h"

#define WAYS 4
#define BURST_MAX 64

struct entry {
	uint64_t key;  /* the FDB key's 8 bytes */
	uint32_t gen;  /* the FDB generation + 1 it was filled under; 0: empty */
	uint16_t port; /* where the MAC lives */
	uint16_t sec;  /* (uint16_t)(second + 1) it was refreshed in on `port`; 0: not by us */
};

struct set {
	struct entry e[WAYS];
} __rte_cache_aligned;

struct vsw_mac_cache {
	uint32_t mask; /* sets - 1 */
	uint32_t next; /* the way a full set gives up next */
	struct set sets[];
};

_Static_assert(sizeof(struct set) == RTE_CACHE_LINE_SIZE, "a set is one cache line");

struct vsw_mac_cache *vsw_mac_cache_create(uint32_t entries, int socket)
{
	uint32_t sets = rte_align32pow2(RTE_MAX(entries, 1024u)) / WAYS;
	struct vsw_mac_cache *c = rte_zmalloc_socket(
	    "vsw_mac_cache", sizeof(*c) + sets * sizeof(struct set), RTE_CACHE_LINE_SIZE, socket);

	if (c != NULL)
		c->mask = sets - 1;
	return c;
}

void vsw_mac_cache_free(struct vsw_mac_cache *c)
{
	rte_free(c);
}

static uint64_t key_word(const struct vsw_fdb_key *k)
{
	uint64_t w;

	memcpy(&w, k, sizeof(w));
	return w;
}

/* Hashes the keys and prefetches their sets. */
static void sets_of(struct vsw_mac_cache *c, const struct vsw_fdb_key *keys, unsigned n,
		    uint64_t *w, struct set **s)
{
	for (unsigned i = 0; i < n; i++) {
		w[i] = key_word(&keys[i]);
		s[i] = &c->sets[rte_hash_crc_8byte(w[i], 0) & c->mask];
		rte_prefetch0(s[i]);
	}
}

static struct entry *find(struct set *s, uint64_t w, uint32_t g)
{
	for (unsigned j = 0; j < WAYS; j++)
		if (s->e[j].key == w && s->e[j].gen == g)
			return &s->e[j];
	return NULL;
}

/* The entry for w in s: its own, an empty or stale one, or the next way in turn. */
static struct entry *slot(struct vsw_mac_cache *c, struct set *s, uint64_t w, uint32_t g)
{
	struct entry *free = NULL;

	for (unsigned j = 0; j < WAYS; j++) {
		if (s->e[j].key == w)
			return &s->e[j];
		if (free == NULL && s->e[j].gen != g)
			free = &s->e[j];
	}
	return free != NULL ? free : &s->e[c->next++ % WAYS];
}

void vsw_mac_cache_learn(struct vsw_mac_cache *c, struct vsw_fdb *fdb,
			 const struct vsw_fdb_key *keys, unsigned n, uint16_t in, uint64_t now,
			 uint32_t gen, enum vsw_learn_result *results)
{
	uint64_t w[BURST_MAX];
	struct set *s[BURST_MAX];
	struct vsw_fdb_key miss[BURST_MAX];
	enum vsw_learn_result r[BURST_MAX];
	uint16_t port[BURST_MAX];
	unsigned at[BURST_MAX], m = 0, ok = 0;
	const uint32_t g = gen + 1;
	const uint16_t sec = (uint16_t)(now + 1);

	if (n > BURST_MAX) { /* not from l2.c: bursts are VSW_BURST */
		vsw_fdb_learn(fdb, keys, n, in, now, results);
		return;
	}
	sets_of(c, keys, n, w, s);
	for (unsigned i = 0; i < n; i++) {
		const struct entry *e = find(s[i], w[i], g);

		if (e != NULL && e->port == in && e->sec == sec && sec != 0) {
			results[i] = VSW_LEARN_OK;
			continue;
		}
		miss[m] = keys[i];
		at[m++] = i;
	}
	if (m == 0)
		return;
	vsw_fdb_learn(fdb, miss, m, in, now, r);
	/* What is cached is where the FDB has the MAC: a static entry elsewhere is learned "OK"
	 * on `in` without moving. So the keys learned OK are looked up once more (only on a
	 * miss: a second a key, or after a change); new, moved or refused ones are not cached
	 * (the generation changed, or the FDB said no). */
	for (unsigned k = 0; k < m; k++) {
		results[at[k]] = r[k];
		if (r[k] == VSW_LEARN_OK) {
			miss[ok] = miss[k];
			at[ok++] = at[k];
		}
	}
	vsw_fdb_lookup(fdb, miss, ok, port);
	for (unsigned k = 0; k < ok; k++) {
		unsigned i = at[k];

		if (port[k] != VSW_FDB_NO_PORT)
			*slot(c, s[i], w[i], g) = (struct entry){
			    .key = w[i], .gen = g, .port = port[k], .sec = port[k] == in ? sec : 0};
	}
}

void vsw_mac_cache_lookup(struct vsw_mac_cache *c, struct vsw_fdb *fdb,
			  const struct vsw_fdb_key *keys, unsigned n, uint32_t gen, uint16_t *out)
{
	uint64_t w[BURST_MAX];
	struct set *s[BURST_MAX];
	struct vsw_fdb_key miss[BURST_MAX];
	uint16_t found[BURST_MAX];
	unsigned at[BURST_MAX], m = 0;
	const uint32_t g = gen + 1;

	if (n > BURST_MAX) {
		vsw_fdb_lookup(fdb, keys, n, out);
		return;
	}
	sets_of(c, keys, n, w, s);
	for (unsigned i = 0; i < n; i++) {
		const struct entry *e = find(s[i], w[i], g);

		if (e != NULL) {
			out[i] = e->port;
			continue;
		}
		miss[m] = keys[i];
		at[m++] = i;
	}
	if (m == 0)
		return;
	vsw_fdb_lookup(fdb, miss, m, found);
	for (unsigned k = 0; k < m; k++) {
		unsigned i = at[k];

		out[i] = found[k];
		if (found[k] != VSW_FDB_NO_PORT) /* unknown: flooded; its learning moves gen */
			*slot(c, s[i], w[i], g) =
			    (struct entry){.key = w[i], .gen = g, .port = found[k]};
	}
}
