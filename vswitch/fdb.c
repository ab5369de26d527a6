/* FDB over rte_hash. The hash maps a (VLAN, MAC) key to a key position; a slot array indexed by that
 * position holds the port and last-seen time. A slot's state is one 16-bit word: the port, with
 * STATIC_BIT for a static entry, or VSW_FDB_NO_PORT when free. Every change is a
 * compare-and-swap of that word, so learners on several PMDs, moves and control-thread changes
 * never see half an update. Only the control thread deletes: it removes the key first, then
 * empties the slot; with an RCU variable rte_hash frees the position after a grace period. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>

#include "fdb.h"

#define STATIC_BIT 0x8000

_Static_assert(sizeof(struct vsw_fdb_key) == 8, "the hash reads a key as 8 bytes");

/* Points where a learner may be stopped between its steps. Empty in vswd; the race unit test
 * (tests/unit/vswitch/test_fdb_race.c) includes this file with FDB_HOOK defined to replay
 * interleavings that a stress run hits too rarely. */
#ifndef FDB_HOOK
#define FDB_HOOK(point, fdb, key, pos) do { } while (0)
#endif
enum { FDB_HOOK_LOOKED_UP, FDB_HOOK_ADDED, FDB_HOOK_CLAIMED };

struct fdb_slot {
	struct vsw_fdb_key key;    /* written before the slot's word is claimed */
	uint16_t word;             /* atomic: port | STATIC_BIT, or VSW_FDB_NO_PORT */
	uint64_t seen;             /* atomic, relaxed: seconds */
};

struct vsw_fdb {
	struct rte_hash *h;
	struct fdb_slot *slots;
	uint32_t nb_slots;
	uint32_t size, port_limit, aging_s;
	uint16_t max_ports;
	uint32_t total;      /* atomic: entries in the table */
	uint32_t gen;        /* atomic: bumped by every change of a MAC's port or presence */
	uint32_t *learned;   /* atomic, per port: learned (non-static) entries */
};

static uint16_t slot_word(const struct fdb_slot *s)
{
	return __atomic_load_n(&s->word, __ATOMIC_ACQUIRE);
}

static uint16_t word_port(uint16_t w)
{
	return w == VSW_FDB_NO_PORT ? VSW_FDB_NO_PORT : (uint16_t)(w & ~STATIC_BIT);
}

static bool word_static(uint16_t w)
{
	return w != VSW_FDB_NO_PORT && (w & STATIC_BIT);
}

static bool word_cas(struct fdb_slot *s, uint16_t from, uint16_t to)
{
	return __atomic_compare_exchange_n(&s->word, &from, to, false, __ATOMIC_ACQ_REL,
					   __ATOMIC_ACQUIRE);
}

static void add_u32(uint32_t *v, int d)
{
	__atomic_fetch_add(v, (uint32_t)d, __ATOMIC_RELAXED);
}

static uint32_t get_u32(const uint32_t *v)
{
	return __atomic_load_n(v, __ATOMIC_RELAXED);
}

/* Takes one place under limit in counter v; false when there is none. Learners on several PMDs
 * reserve before they claim a slot, so the size and per-port bounds hold at every instant. */
static bool reserve(uint32_t *v, uint32_t limit)
{
	uint32_t cur = get_u32(v);

	do {
		if (cur >= limit)
			return false;
	} while (!__atomic_compare_exchange_n(v, &cur, cur + 1, true, __ATOMIC_RELAXED,
					      __ATOMIC_RELAXED));
	return true;
}

/* Uncounts the entry whose slot word was w. */
static void uncount(struct vsw_fdb *fdb, uint16_t w)
{
	if (!word_static(w))
		add_u32(&fdb->learned[word_port(w)], -1);
	add_u32(&fdb->total, -1);
}

static void changed(struct vsw_fdb *fdb)
{
	__atomic_fetch_add(&fdb->gen, 1, __ATOMIC_RELEASE);
}

uint32_t vsw_fdb_gen(const struct vsw_fdb *fdb)
{
	return __atomic_load_n(&fdb->gen, __ATOMIC_ACQUIRE);
}

/* One CRC32 over the key's 8 bytes (MAC and VLAN), read with memcpy: rte_hash_crc reads the
 * key in place 4 bytes at a time, and callers' keys need not be aligned (a source MAC at offset
 * 6 of a frame once was: undefined behaviour, UBSan in the fuzz target "l2" found it). */
static uint32_t key_hash(const void *key, uint32_t len, uint32_t init)
{
	uint64_t k;

	(void)len;
	memcpy(&k, key, sizeof(k));
	return rte_hash_crc_8byte(k, init);
}

struct vsw_fdb *vsw_fdb_create(const char *name, const struct vsw_fdb_params *p)
{
	struct rte_hash_parameters hp = {
		.name = name,
		.entries = p->size < 8 ? 8 : p->size,
		.key_len = sizeof(struct vsw_fdb_key),
		.hash_func = key_hash,
		.socket_id = SOCKET_ID_ANY,
		.extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE,
	};
	struct vsw_fdb *fdb;

	if (p->size == 0 || p->max_ports == 0 || p->max_ports >= STATIC_BIT)
		return NULL;
	fdb = rte_zmalloc("vsw_fdb", sizeof(*fdb), 0);
	if (fdb == NULL)
		return NULL;
	if (p->qsbr != NULL)
		hp.extra_flag |= RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF |
				 RTE_HASH_EXTRA_FLAGS_MULTI_WRITER_ADD;
	fdb->h = rte_hash_create(&hp);
	if (fdb->h == NULL)
		goto fail;
	if (p->qsbr != NULL) {
		struct rte_hash_rcu_config rc = {.v = p->qsbr, .mode = RTE_HASH_QSBR_MODE_DQ};
		if (rte_hash_rcu_qsbr_add(fdb->h, &rc) != 0)
			goto fail;
	}
	fdb->nb_slots = (uint32_t)rte_hash_max_key_id(fdb->h) + 1;
	fdb->slots = rte_malloc("vsw_fdb_slots", sizeof(*fdb->slots) * fdb->nb_slots, 0);
	fdb->learned = rte_zmalloc("vsw_fdb_learned", sizeof(uint32_t) * p->max_ports, 0);
	if (fdb->slots == NULL || fdb->learned == NULL)
		goto fail;
	for (uint32_t i = 0; i < fdb->nb_slots; i++)
		fdb->slots[i] = (struct fdb_slot){.word = VSW_FDB_NO_PORT};
	fdb->size = p->size;
	fdb->port_limit = p->port_limit ? p->port_limit : p->size;
	fdb->aging_s = p->aging_s;
	fdb->max_ports = p->max_ports;
	return fdb;
fail:
	vsw_fdb_free(fdb);
	return NULL;
}

void vsw_fdb_free(struct vsw_fdb *fdb)
{
	if (fdb == NULL)
		return;
	rte_hash_free(fdb->h);
	rte_free(fdb->slots);
	rte_free(fdb->learned);
	rte_free(fdb);
}

/* An existing entry seen again on port: refresh it, or move it (statics never move). */
static enum vsw_learn_result refresh(struct vsw_fdb *fdb, struct fdb_slot *s, uint16_t old,
				     uint16_t port, uint64_t now)
{
	if (word_static(old))
		return VSW_LEARN_OK;
	if (old == port) {
		if (__atomic_load_n(&s->seen, __ATOMIC_RELAXED) != now)
			__atomic_store_n(&s->seen, now, __ATOMIC_RELAXED);
		return VSW_LEARN_OK;
	}
	if (!reserve(&fdb->learned[port], fdb->port_limit))
		return VSW_LEARN_LIMIT;
	__atomic_store_n(&s->seen, now, __ATOMIC_RELAXED);
	if (!word_cas(s, old, port)) {
		add_u32(&fdb->learned[port], -1);
		return VSW_LEARN_OK; /* lost a race with another learner or the control thread */
	}
	add_u32(&fdb->learned[old], -1);
	changed(fdb);
	return VSW_LEARN_MOVED;
}

static enum vsw_learn_result insert(struct vsw_fdb *fdb, const struct vsw_fdb_key *key,
				    uint16_t port, uint64_t now)
{
	struct fdb_slot *s;
	int32_t pos;

	uint16_t w;

	/* counted first (reserved under the bounds), so that a removal racing the claim never
	 * takes a count below zero and two learners never both take the last place */
	if (!reserve(&fdb->total, fdb->size))
		return VSW_LEARN_FULL;
	if (!reserve(&fdb->learned[port], fdb->port_limit)) {
		add_u32(&fdb->total, -1);
		return VSW_LEARN_LIMIT;
	}
	pos = rte_hash_add_key(fdb->h, key);
	if (pos < 0) {
		uncount(fdb, port);
		return VSW_LEARN_FULL;
	}
	FDB_HOOK(FDB_HOOK_ADDED, fdb, key, pos);
	s = &fdb->slots[pos];
	s->key = *key; /* the same key as any owner of this position */
	__atomic_store_n(&s->seen, now, __ATOMIC_RELAXED);
	if (!word_cas(s, VSW_FDB_NO_PORT, port)) {
		uncount(fdb, port); /* another learner, or a static add, got it first */
		return VSW_LEARN_OK;
	}
	changed(fdb);
	FDB_HOOK(FDB_HOOK_CLAIMED, fdb, key, pos);
	/* The control thread may have deleted the key between add and claim: then this slot has
	 * no key and must not stay. Meanwhile another PMD may have moved it (it found the key
	 * before the delete), so give it back with an exchange, whatever it holds now: whoever
	 * empties it (this, or that removal) uncounts what it held. */
	if (rte_hash_lookup(fdb->h, key) != pos) {
		w = __atomic_exchange_n(&s->word, VSW_FDB_NO_PORT, __ATOMIC_ACQ_REL);
		if (w != VSW_FDB_NO_PORT) {
			uncount(fdb, w);
			changed(fdb);
		}
		return VSW_LEARN_OK;
	}
	return VSW_LEARN_NEW;
}

/* rte_hash's bulk calls take an array of key pointers */
static void key_ptrs(const struct vsw_fdb_key *keys, unsigned k, const void **kp)
{
	for (unsigned i = 0; i < k; i++)
		kp[i] = &keys[i];
}

void vsw_fdb_learn(struct vsw_fdb *fdb, const struct vsw_fdb_key *keys, unsigned n,
		   uint16_t port, uint64_t now, enum vsw_learn_result *results)
{
	int32_t pos[RTE_HASH_LOOKUP_BULK_MAX];
	const void *kp[RTE_HASH_LOOKUP_BULK_MAX];

	while (n > 0) {
		unsigned k = RTE_MIN(n, (unsigned)RTE_HASH_LOOKUP_BULK_MAX);

		key_ptrs(keys, k, kp);
		rte_hash_lookup_bulk(fdb->h, kp, k, pos);
		for (unsigned i = 0; i < k; i++) {
			enum vsw_learn_result r;
			uint16_t old = VSW_FDB_NO_PORT;

			FDB_HOOK(FDB_HOOK_LOOKED_UP, fdb, &keys[i], pos[i]);
			if (pos[i] >= 0)
				old = slot_word(&fdb->slots[pos[i]]);
			if (old != VSW_FDB_NO_PORT)
				r = refresh(fdb, &fdb->slots[pos[i]], old, port, now);
			else
				r = insert(fdb, &keys[i], port, now);
			if (results != NULL)
				results[i] = r;
		}
		keys += k;
		n -= k;
		if (results != NULL)
			results += k;
	}
}

void vsw_fdb_lookup(struct vsw_fdb *fdb, const struct vsw_fdb_key *keys, unsigned n,
		    uint16_t *out)
{
	int32_t pos[RTE_HASH_LOOKUP_BULK_MAX];
	const void *kp[RTE_HASH_LOOKUP_BULK_MAX];

	while (n > 0) {
		unsigned k = RTE_MIN(n, (unsigned)RTE_HASH_LOOKUP_BULK_MAX);

		key_ptrs(keys, k, kp);
		rte_hash_lookup_bulk(fdb->h, kp, k, pos);
		for (unsigned i = 0; i < k; i++)
			out[i] = pos[i] >= 0 ? word_port(slot_word(&fdb->slots[pos[i]]))
					     : VSW_FDB_NO_PORT;
		keys += k;
		out += k;
		n -= k;
	}
}

int vsw_fdb_add_static(struct vsw_fdb *fdb, const struct vsw_fdb_key *key, uint16_t port)
{
	const uint16_t want = port | STATIC_BIT;

	if (port >= fdb->max_ports)
		return -EINVAL;
	for (;;) {
		int32_t pos = rte_hash_lookup(fdb->h, key);
		struct fdb_slot *s;
		uint16_t old;

		old = pos >= 0 ? slot_word(&fdb->slots[pos]) : VSW_FDB_NO_PORT;
		if (old == VSW_FDB_NO_PORT) {
			/* a new entry: reserved first, as learners do */
			if (!reserve(&fdb->total, fdb->size))
				return -ENOSPC;
			if (pos < 0)
				pos = rte_hash_add_key(fdb->h, key);
			if (pos < 0) {
				add_u32(&fdb->total, -1);
				return -ENOSPC;
			}
			s = &fdb->slots[pos];
			s->key = *key;
			if (!word_cas(s, VSW_FDB_NO_PORT, want)) {
				add_u32(&fdb->total, -1);
				continue; /* a learner took it meanwhile: take it over */
			}
		} else {
			s = &fdb->slots[pos];
			if (!word_cas(s, old, want))
				continue; /* it moved meanwhile */
			if (!word_static(old))
				add_u32(&fdb->learned[old], -1);
		}
		changed(fdb);
		return 0;
	}
}

/* Removes the entry in slot s (control thread only): the key first, so no learner can find the
 * slot again, then the slot's word, whose last value says what to uncount. The key goes only if
 * it maps to this slot: were the MAC's key at another slot, deleting it would orphan that entry.
 * Only this thread deletes keys, so the mapping cannot change between lookup and delete. */
static void remove_slot(struct vsw_fdb *fdb, struct fdb_slot *s)
{
	uint16_t old;

	if (rte_hash_lookup(fdb->h, &s->key) == (int32_t)(s - fdb->slots))
		rte_hash_del_key(fdb->h, &s->key);
	old = __atomic_exchange_n(&s->word, VSW_FDB_NO_PORT, __ATOMIC_ACQ_REL);
	if (old == VSW_FDB_NO_PORT)
		return;
	uncount(fdb, old);
	changed(fdb);
}

int vsw_fdb_del(struct vsw_fdb *fdb, const struct vsw_fdb_key *key)
{
	int32_t pos = rte_hash_lookup(fdb->h, key);

	if (pos < 0 || slot_word(&fdb->slots[pos]) == VSW_FDB_NO_PORT)
		return -ENOENT;
	remove_slot(fdb, &fdb->slots[pos]);
	return 0;
}

unsigned vsw_fdb_flush(struct vsw_fdb *fdb, uint16_t port, uint16_t vlan, bool with_static)
{
	unsigned n = 0;

	for (uint32_t i = 0; i < fdb->nb_slots; i++) {
		struct fdb_slot *s = &fdb->slots[i];
		uint16_t w = slot_word(s);

		if (w == VSW_FDB_NO_PORT || (port != VSW_FDB_NO_PORT && word_port(w) != port) ||
		    (vlan != VSW_FDB_ANY_VLAN && s->key.vlan != vlan))
			continue;
		if (word_static(w) && !with_static)
			continue;
		remove_slot(fdb, s);
		n++;
	}
	return n;
}

unsigned vsw_fdb_age(struct vsw_fdb *fdb, uint64_t now)
{
	unsigned n = 0;

	if (fdb->aging_s == 0)
		return 0;
	for (uint32_t i = 0; i < fdb->nb_slots; i++) {
		struct fdb_slot *s = &fdb->slots[i];
		uint16_t w = slot_word(s);
		uint64_t seen = __atomic_load_n(&s->seen, __ATOMIC_RELAXED);

		if (w == VSW_FDB_NO_PORT || word_static(w) || now < seen + fdb->aging_s)
			continue;
		remove_slot(fdb, s);
		n++;
	}
	return n;
}

void vsw_fdb_set_aging(struct vsw_fdb *fdb, uint32_t aging_s)
{
	fdb->aging_s = aging_s;
}

uint32_t vsw_fdb_aging(const struct vsw_fdb *fdb)
{
	return fdb->aging_s;
}

int vsw_fdb_audit(const struct vsw_fdb *fdb, struct vsw_fdb_audit *a)
{
	uint32_t *learned = a->learned, next = 0;
	const void *key;
	void *data;
	int32_t pos;
	bool ok = true;

	*a = (struct vsw_fdb_audit){.learned = learned};
	memset(learned, 0, sizeof(*learned) * fdb->max_ports);
	while ((pos = rte_hash_iterate(fdb->h, &key, &data, &next)) >= 0) {
		const struct fdb_slot *s = &fdb->slots[pos];

		a->keys++;
		if (memcmp(&s->key, key, sizeof(s->key)) != 0)
			a->bad_keys++;
		else if (slot_word(s) == VSW_FDB_NO_PORT)
			a->idle_keys++;
	}
	for (uint32_t i = 0; i < fdb->nb_slots; i++) {
		const struct fdb_slot *s = &fdb->slots[i];
		uint16_t w = slot_word(s);

		if (w == VSW_FDB_NO_PORT)
			continue;
		a->live++;
		if (word_static(w))
			a->statics++;
		else
			learned[word_port(w)]++;
		if (rte_hash_lookup(fdb->h, &s->key) != (int32_t)i)
			a->orphans++;
	}
	ok = a->bad_keys == 0 && a->orphans == 0 && a->live == get_u32(&fdb->total) &&
	     a->live <= fdb->size;
	for (uint16_t p = 0; p < fdb->max_ports; p++)
		ok = ok && learned[p] == get_u32(&fdb->learned[p]) && learned[p] <= fdb->port_limit;
	return ok ? 0 : -EINVAL;
}

unsigned vsw_fdb_count(const struct vsw_fdb *fdb, uint16_t port)
{
	return port == VSW_FDB_NO_PORT ? get_u32(&fdb->total) : get_u32(&fdb->learned[port]);
}

int vsw_fdb_walk(struct vsw_fdb *fdb, uint16_t port, uint64_t now,
		 int (*fn)(const struct vsw_fdb_entry *e, void *arg), void *arg)
{
	for (uint32_t i = 0; i < fdb->nb_slots; i++) {
		const struct fdb_slot *s = &fdb->slots[i];
		uint16_t w = slot_word(s);
		uint64_t seen = __atomic_load_n(&s->seen, __ATOMIC_RELAXED);
		struct vsw_fdb_entry e;
		int rc;

		if (w == VSW_FDB_NO_PORT || (port != VSW_FDB_NO_PORT && word_port(w) != port))
			continue;
		e = (struct vsw_fdb_entry){.mac = s->key.mac, .vlan = s->key.vlan,
					   .port = word_port(w),
					   .is_static = word_static(w),
					   .age_s = word_static(w) || now < seen ? 0 : now - seen};
		rc = fn(&e, arg);
		if (rc != 0)
			return rc;
	}
	return 0;
}
