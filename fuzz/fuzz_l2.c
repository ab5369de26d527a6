/* Fuzz target "l2": bursts of frames through vswd's L2 stages (l2.c).
 *
 * vswd's frame checks and L2 stages (vsw_l2_input: check, learn, look up,
 * forward, flood) on bursts of arbitrary frames, over three net_null ports (in-memory
 * devices that free what they are sent).  After each input every mbuf must be back in the
 * pool and each port's books must balance (rx = forwarded + ingress drops): either failing
 * is a crash.
 *
 * Input: one byte of settings (ingress port: bits 0-1; links down: bits 2-4; ports whose peer
 * takes checksum and TCP segmentation offload: bits 5-7; bits 0 and 1 both set: VLAN settings
 * on p1, an access port of VLAN 10, and p2, a trunk of 10 and 20 with native 30, so that
 * vlan_dp.c's tag parsing, membership and tagged flood copies run), then frames, each a 2-byte
 * big-endian length (bit 15: as a chain of two segments; bit 14: end the burst after this
 * frame; bit 13: with a partial checksum, as a guest with offloads sends it; bit 12: as a
 * large TCP frame, its MSS 8 times its last byte) and that many bytes (the low 12 bits). */
#include <stdlib.h>
#include <string.h>

#include "fuzz_record.h"
#include "vsw_env.h"

#define PORTS 3

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct vsw_pmd *pmd;
static unsigned baseline;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[VSW_ERR_LEN], line[64];
	json_t *out;

	(void)argc, (void)argv;
	fz_vsw_init("fuzz_l2");
	for (int i = 0; i < PORTS; i++) {
		snprintf(line, sizeof(line), "port add p%d dpdk dev=net_null%d", i, i);
		if (vsw_cmd_line(line, &out, err, sizeof(err)) != 0) {
			fprintf(stderr, "fuzz_l2: %s\n", err);
			exit(1);
		}
		json_decref(out);
	}
	pmd = fz_vsw_pmd();
	baseline = rte_mempool_in_use_count(vsw.pool);
	return 0;
}

static bool vlans_on;

static void set_vlans(bool on)
{
	const char *cmds[2][2] = {{"port set p1 vlan=none", "port set p2 vlan=none"},
				  {"port set p1 vlan=10", "port set p2 trunks=10,20 native=30"}};
	char err[VSW_ERR_LEN], line[64];
	json_t *out;

	for (int i = 0; i < 2; i++) {
		snprintf(line, sizeof(line), "%s", cmds[on][i]);
		if (vsw_cmd_line(line, &out, err, sizeof(err)) != 0) {
			fprintf(stderr, "fuzz_l2: %s\n", err);
			exit(1);
		}
		json_decref(out);
	}
	vlans_on = on;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct vsw_dp_table *t;
	struct rte_mbuf *pkts[VSW_BURST];
	uint16_t in, n = 0, hdr, len;
	const uint8_t *bytes;
	uint64_t now = 1000;

	if (size < 1)
		return 0;
	if (((data[0] & 3) == 3) != vlans_on)
		set_vlans(!vlans_on);
	t = vsw.dp;
	in = t->active[data[0] % PORTS];
	for (unsigned i = 0; i < PORTS; i++) {
		vsw.link_up[t->active[i]] = !(data[0] >> (2 + i) & 1);
		vsw.tx_caps[t->active[i]] = data[0] >> (5 + i) & 1 ? VSW_OL_CSUM | VSW_OL_TSO : 0;
	}
	data++, size--;
	while (fuzz_record(&data, &size, &hdr, &bytes, &len)) {
		struct rte_mbuf *m = fz_frame(bytes, len, hdr & 0x8000);

		if (hdr & 0x2000)
			m->ol_flags |= RTE_MBUF_F_RX_L4_CKSUM_NONE;
		if ((hdr & 0x1000) && len > 0) {
			m->ol_flags |= RTE_MBUF_F_RX_LRO | RTE_MBUF_F_RX_L4_CKSUM_NONE;
			m->tso_segsz = (uint16_t)(bytes[len - 1] * 8);
		}
		pkts[n++] = m;
		if (n == VSW_BURST || (hdr & 0x4000) || size < 2) {
			vsw_l2_input(pmd, t, in, pkts, n, now++);
			vsw_tx_flush_all(pmd, t);
			n = 0;
		}
	}
	for (unsigned i = 0; i < PORTS; i++)
		fz_books(pmd, t->active[i]);
	fz_pool_check(baseline);
	vsw_fdb_flush(vsw.fdb, VSW_FDB_NO_PORT, VSW_FDB_ANY_VLAN, true);
	memset(pmd->port, 0, sizeof(pmd->port));
	memset(pmd->l2c, 0, sizeof(pmd->l2c));
	return 0;
}
