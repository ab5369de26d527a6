/* Fuzz target "vxlan": packets into a VXLAN underlay and frames into its tunnels (vxlan.c).
 *
 * Two tunnels share one local address over the underlay p0 (net_null, VLAN 100): vx, VNI 42
 * with remotes 10.80.0.2 and 10.80.0.3, in VLAN 10 with guest port p1; vy, VNI 43 with remote
 * 10.80.0.2 and udpcsum=on, in VLAN 20 with guest port p2. What p0 receives is decapsulated
 * (or is ARP: answered, or a remote's MAC learned) and switched as its tunnel's input; what the
 * guests send into a tunnel is encapsulated to one remote or to all (head-end replication),
 * once they are resolved; vsw_vxlan_poll asks for the unresolved ones. After each input every
 * mbuf must be back in the pool and every port's books must balance: either failing is a
 * crash.
 *
 * Input: one byte (the guest port that sends: bit 0, p1 or p2), then frames as fuzz_l2's records: a 2-byte big-endian header (bit 15: as a chain
 * of two segments; bit 14: end the burst after this frame; bit 13: from the underlay, else
 * from the guest port) and that many bytes (the low 12 bits). A change of sender ends the
 * burst too. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_record.h"
#include "vsw_env.h"
#include "vxlan.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct vsw_pmd *pmd;
static unsigned baseline;
static uint16_t under, guest[2];

static const char *const setup[] = {
    "port add p0 dpdk dev=net_null0 vlan=100",
    "port add p1 dpdk dev=net_null1 vlan=10",
    "port add p2 dpdk dev=net_null2 vlan=20",
    "port add vx vxlan vni=42 local=10.80.0.1 remotes=10.80.0.2,10.80.0.3 underlay=p0 vlan=10",
    "port add vy vxlan vni=43 local=10.80.0.1 remotes=10.80.0.2 underlay=p0 vlan=20 udpcsum=on",
};

static uint16_t port_idx(const char *name)
{
	const struct vsw_port *p = vsw_port_find(name);

	if (p == NULL)
		exit(1);
	return (uint16_t)(p - vsw.ports);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[VSW_ERR_LEN], line[128];
	json_t *out;

	(void)argc, (void)argv;
	fz_vsw_init("fuzz_vxlan");
	for (unsigned i = 0; i < RTE_DIM(setup); i++) {
		snprintf(line, sizeof(line), "%s", setup[i]);
		if (vsw_cmd_line(line, &out, err, sizeof(err)) != 0) {
			fprintf(stderr, "fuzz_vxlan: %s\n", err);
			exit(1);
		}
		json_decref(out);
	}
	under = port_idx("p0");
	guest[0] = port_idx("p1");
	guest[1] = port_idx("p2");
	pmd = fz_vsw_pmd();
	baseline = rte_mempool_in_use_count(vsw.pool);
	return 0;
}

/* Each input starts from scratch: no remote resolved, no MAC learned. */
static void forget(const struct vsw_dp_table *t)
{
	for (unsigned v = 0; v < t->n_vxlan; v++) {
		struct vsw_vxlan *vx = t->vxlan[v];

		for (unsigned r = 0; r < vx->n_remotes; r++)
			vx->r[r].mac = vx->r[r].seen_s = vx->r[r].asked_s = 0;
		memset(vx->macs, 0, sizeof(vx->macs));
		memset(vx->pmd, 0, sizeof(vx->pmd));
	}
	vsw_fdb_flush(vsw.fdb, VSW_FDB_NO_PORT, VSW_FDB_ANY_VLAN, true);
	memset(pmd->port, 0, sizeof(pmd->port));
	memset(pmd->l2c, 0, sizeof(pmd->l2c));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct vsw_dp_table *t = vsw.dp;
	struct rte_mbuf *pkts[VSW_BURST];
	uint16_t in = 0, n = 0, hdr, len, from;
	const uint8_t *bytes;
	uint64_t now = 1000;

	if (size < 1)
		return 0;
	from = guest[data[0] & 1];
	for (unsigned i = 0; i < t->n_active; i++)
		vsw.link_up[t->active[i]] = true;
	data++, size--;
	while (fuzz_record(&data, &size, &hdr, &bytes, &len)) {
		uint16_t src = hdr & 0x2000 ? under : from;

		if (n != 0 && src != in) { /* the other side's burst: this one goes first */
			vsw_l2_input(pmd, t, in, pkts, n, now);
			vsw_tx_flush_all(pmd, t);
			n = 0;
		}
		in = src;
		pkts[n++] = fz_frame(bytes, len, hdr & 0x8000);
		if (n == VSW_BURST || (hdr & 0x4000) || size < 2) {
			vsw_l2_input(pmd, t, in, pkts, n, now);
			vsw_tx_flush_all(pmd, t);
			vsw_vxlan_poll(pmd, t, now++); /* ARP for the remotes not yet resolved */
			n = 0;
		}
	}
	for (unsigned i = 0; i < t->n_active; i++)
		fz_books(pmd, t->active[i]);
	fz_pool_check(baseline);
	forget(t);
	return 0;
}
