/* fdbbench: the MAC table's cost per frame on its own, as vswd's PMD pays it for a burst of
 * one port's frames when its MAC cache (maccache.c) misses: learn the bursts' source keys,
 * look up their destination keys. Two ports, each with --macs addresses that the frames take
 * in rotation (as vsw-bench --macs does), so with many MACs every key is a cache miss. Prints one JSON line: ns per frame (the best of
 * --rounds rounds: the least disturbed by other work on the CPU) and the table's size.
 *
 *   fdbbench EAL-ARGS -- [--macs N] [--size ENTRIES] [--frames N] [--rounds N]
 *
 * Not a test: the figure is for comparing changes to vswitch/fdb.c on one machine. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_malloc.h>

#include "fdb.h"

#define BURST 32

static struct vsw_fdb_key key_of(unsigned port, unsigned i)
{
	/* bytes 2-3 from the counter, as trafgen's --macs frames have them */
	return (struct vsw_fdb_key){
		.mac = {{0x02, 0x00, (uint8_t)(i >> 8), (uint8_t)i, 0xb1, (uint8_t)port}}};
}

int main(int argc, char **argv)
{
	unsigned macs = 65536, size = 262144, rounds = 5;
	uint64_t frames = 20000000, best = UINT64_MAX;
	struct vsw_fdb_key *keys[2], src[BURST], dst[BURST];
	uint16_t out[BURST];
	struct vsw_fdb *fdb;
	int n = rte_eal_init(argc, argv), c;

	if (n < 0) {
		fprintf(stderr, "fdbbench: cannot start DPDK\n");
		return 1;
	}
	argc -= n;
	argv += n;
	while ((c = getopt_long(argc, argv, "", (const struct option[]){
			{"macs", 1, 0, 'm'}, {"size", 1, 0, 's'}, {"frames", 1, 0, 'f'},
			{"rounds", 1, 0, 'r'}, {0}}, NULL)) != -1) {
		switch (c) {
		case 'm': macs = (unsigned)strtoul(optarg, NULL, 0); break;
		case 's': size = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'f': frames = strtoull(optarg, NULL, 0); break;
		case 'r': rounds = (unsigned)strtoul(optarg, NULL, 0); break;
		default:
			fprintf(stderr, "usage: fdbbench EAL-ARGS -- [--macs N] [--size ENTRIES] "
					"[--frames N] [--rounds N]\n");
			return 2;
		}
	}
	if (macs == 0 || macs > 65536 || size < 2 * macs || rounds == 0) {
		fprintf(stderr, "fdbbench: --macs 1..65536, --size at least 2 x --macs\n");
		return 2;
	}
	fdb = vsw_fdb_create("fdbbench", &(struct vsw_fdb_params){.size = size, .max_ports = 2});
	if (fdb == NULL) {
		fprintf(stderr, "fdbbench: cannot create a table of %u entries\n", size);
		return 1;
	}
	for (unsigned p = 0; p < 2; p++) { /* both ports' addresses known, as after warm-up */
		keys[p] = rte_malloc(NULL, sizeof(*keys[p]) * macs, 0);
		if (keys[p] == NULL)
			return 1;
		for (unsigned i = 0; i < macs; i++) {
			keys[p][i] = key_of(p, i);
			vsw_fdb_learn(fdb, &keys[p][i], 1, (uint16_t)p, 1, NULL);
		}
	}
	for (unsigned r = 0, next = 0; r < rounds; r++) {
		uint64_t t0 = rte_rdtsc(), t;

		for (uint64_t f = 0; f < frames; f += BURST) {
			unsigned p = (unsigned)(f / BURST) & 1; /* the ports take turns, as in a loop */

			for (unsigned i = 0; i < BURST; i++) {
				src[i] = keys[p][next];
				dst[i] = keys[!p][next];
				next = next + 1 == macs ? 0 : next + 1;
			}
			vsw_fdb_learn(fdb, src, BURST, (uint16_t)p, 1, NULL);
			vsw_fdb_lookup(fdb, dst, BURST, out);
			if (out[0] != !p) {
				fprintf(stderr, "fdbbench: a lookup found the wrong port\n");
				return 1;
			}
		}
		t = rte_rdtsc() - t0;
		best = t < best ? t : best;
	}
	printf("{\"macs\": %u, \"size\": %u, \"ns_per_frame\": %.2f}\n", macs, size,
	       (double)best * 1e9 / (double)rte_get_tsc_hz() / (double)frames);
	vsw_fdb_free(fdb);
	rte_eal_cleanup();
	return 0;
}
