/* The datapath table: which rx queues each PMD polls and how it transmits on each port. The
 * control thread builds a new table on every port change, publishes it, and returns once every
 * PMD has passed a quiescent state (RCU): forwarding never stops for a port change. Two tables
 * take turns, so publishing needs no allocation and cannot fail. */
#include <errno.h>
#include <string.h>

#include <rte_malloc.h>

#include "vxlan.h"

static struct vsw_dp_table *tables[2];

int vsw_dp_init(void)
{
	size_t sz = rte_rcu_qsbr_get_memsize(vsw.cfg.n_pmds);

	vsw.qsbr = rte_zmalloc("vsw_qsbr", sz, RTE_CACHE_LINE_SIZE);
	for (int i = 0; i < 2; i++)
		tables[i] = rte_malloc("vsw_dp", sizeof(*tables[i]), RTE_CACHE_LINE_SIZE);
	if (vsw.qsbr == NULL || tables[0] == NULL || tables[1] == NULL ||
	    rte_rcu_qsbr_init(vsw.qsbr, vsw.cfg.n_pmds) != 0)
		return -ENOMEM;
	vsw_dp_publish();
	return 0;
}

void vsw_dp_publish(void)
{
	struct vsw_dp_table *t = vsw.dp == tables[0] ? tables[1] : tables[0];
	unsigned rr = 0, n_pmds = vsw.cfg.n_pmds, nq;
	uint16_t txqs[VSW_MAX_PMDS];

	memset(t, 0, sizeof(*t));
	for (unsigned idx = 0; idx < VSW_MAX_PORTS; idx++) {
		const struct vsw_port *p = &vsw.ports[idx];
		struct vsw_dp_port *dp = &t->ports[idx];

		dp->port_id = RTE_MAX_ETHPORTS;
		if (!p->used)
			continue;
		dp->port_id = p->port_id;
		dp->vhost = p->ops == &vsw_port_vhost;
		dp->loss_thresh = vsw_loss_thresh(p);
		dp->loss_seed = p->loss_seed;
		dp->loss_gen = p->loss_gen;
		vsw_vlan_dp(p, &t->vlan[idx]);
		if (p->vx != NULL)
			t->vxlan[t->n_vxlan++] = dp->vx = p->vx;
		/* PMDs spread over the tx queues the peer uses; fewer queues than PMDs share them */
		nq = 0;
		for (uint16_t q = 0; q < p->nb_txq; q++)
			if (p->txq_mask == 0 || (p->txq_mask & (1u << q)))
				txqs[nq++] = q;
		if (nq == 0)
			txqs[nq++] = 0;
		for (unsigned i = 0; i < n_pmds; i++)
			dp->txq[i] = txqs[i % nq];
		/* a port whose queue map can change takes the lock too: during a change one PMD
		 * may still send by the old map while another sends by the new */
		dp->txq_lock = nq < n_pmds || (n_pmds > 1 && p->ops->poll_txqs != NULL)
				       ? (rte_spinlock_t *)p->txq_lock : NULL;
		t->active[t->n_active++] = (uint16_t)idx;
		for (uint16_t q = 0; q < p->nb_rxq; q++) {
			unsigned pmd = rr++ % n_pmds;

			t->pmd[pmd].q[t->pmd[pmd].n++] =
				(struct vsw_dp_rxq){.idx = (uint16_t)idx, .port_id = p->port_id, .queue = q};
		}
	}
	t->vlans = vsw_vlan_any();
	for (unsigned i = 0; i < t->n_vxlan; i++)
		t->ports[t->vxlan[i]->underlay].underlay = true;
	__atomic_store_n(&vsw.dp, t, __ATOMIC_RELEASE);
	/* after this no PMD uses the other table: the next publish may overwrite it */
	rte_rcu_qsbr_synchronize(vsw.qsbr, RTE_QSBR_THRID_INVALID);
}

void vsw_dp_fini(void)
{
	vsw.dp = NULL;
	for (int i = 0; i < 2; i++) {
		rte_free(tables[i]);
		tables[i] = NULL;
	}
	rte_free(vsw.qsbr);
	vsw.qsbr = NULL;
}
