/* netif_rss.c: the dispatcher of the multi-core modes.  The RX side reads the single-queue
 * vNIC, filters by MAC and IP and puts each packet on the RX ring of the worker its Toeplitz
 * hash picks (ARP goes to every worker); the TX side drains the workers' TX rings round-robin
 * to the NIC.  `1kb`: one lcore does both; `2kb`: one lcore each.  Also gs_run()/gs_stop(). */
#include <string.h>
#include <rte_lcore.h>
#include "gs_priv.h"

struct gs_txq {
	uint16_t n;
	struct rte_mbuf *m[GS_BURST];
};

static unsigned int disp_rx(struct gs_disp *d)
{
	struct rte_mbuf *pkts[GS_BURST], *stage[GS_MAX_WORKERS][GS_BURST];
	unsigned int cnt[GS_MAX_WORKERS] = {0}, nw = gs_st.nworkers;
	uint16_t nb = gs_st.dev.rx(gs_st.dev_ctx, 0, pkts, GS_BURST);

	d->c[GS_C_rx_pkts] += nb;
	for (uint16_t i = 0; i < nb; i++) {
		struct rte_mbuf *m = pkts[i];
		switch (gs_l2_classify(m, d->c)) {
		case GS_CLS_IP: {
			unsigned int q = gs_rss_queue(m, nw);
			stage[q][cnt[q]++] = m;
			break;
		}
		case GS_CLS_ARP: /* every worker keeps its own ARP cache: one reference each */
			rte_mbuf_refcnt_update(m, (int16_t)(nw - 1));
			for (unsigned int q = 0; q < nw; q++)
				stage[q][cnt[q]++] = m;
			break;
		default:
			rte_pktmbuf_free(m);
		}
	}
	for (unsigned int q = 0; q < nw; q++) {
		if (!cnt[q])
			continue;
		unsigned int ok =
			rte_ring_enqueue_burst(gs_st.w[q]->rx_ring, (void **)stage[q], cnt[q], NULL);
		d->c[GS_C_rx_ring_full] += cnt[q] - ok;
		for (unsigned int i = ok; i < cnt[q]; i++)
			rte_pktmbuf_free(stage[q][i]);
	}
	return nb;
}

/* What the NIC did not take stays in txq and is retried first: back-pressure, not drops. */
static unsigned int disp_tx(struct gs_disp *d, struct gs_txq *txq)
{
	unsigned int work = 0, nw = gs_st.nworkers;

	for (unsigned int k = 0; k < nw; k++) {
		if (txq->n < GS_BURST) {
			struct rte_ring *r = gs_st.w[(d->rr + k) % nw]->tx_ring;
			txq->n += (uint16_t)rte_ring_dequeue_burst(r, (void **)txq->m + txq->n,
								   GS_BURST - txq->n, NULL);
		}
		if (!txq->n)
			continue;
		uint16_t sent = gs_st.dev.tx(gs_st.dev_ctx, 0, txq->m, txq->n);
		d->c[GS_C_tx_pkts] += sent;
		work += sent;
		txq->n -= sent;
		if (txq->n && sent)
			memmove(txq->m, txq->m + sent, txq->n * sizeof(txq->m[0]));
	}
	d->rr++;
	return work;
}

int gs_disp_main(void *arg)
{
	struct gs_disp *d = arg;
	bool rx = d->lcore == gs_st.rx_lcore, tx = d->lcore == gs_st.tx_lcore;
	struct gs_txq txq = {.n = 0};

	gs_thread_prepare();
	gs_backoff_init(&d->bo, gs_st.conf.busy_poll, gs_st.conf.max_sleep_us);
	GS_LOG(INFO, "dispatcher %s on lcore %u for %u workers", d->role, d->lcore,
	       gs_st.nworkers);
	while (!gs_st.disp_stop) {
		unsigned int work = 0;
		if (rx)
			work += disp_rx(d);
		if (tx)
			work += disp_tx(d, &txq);
		gs_backoff_step(&d->bo, work);
	}
	if (tx) { /* what the workers sent last */
		for (int i = 0; i < 100 && (disp_tx(d, &txq) || txq.n); i++)
			;
		d->c[GS_C_tx_nic_full] += txq.n;
		rte_pktmbuf_free_bulk(txq.m, txq.n);
	}
	return 0;
}

struct run_arg {
	gs_worker_fn fn;
	void *arg;
	struct gs_worker *w;
};

static int worker_main(void *p)
{
	struct run_arg *ra = p;

	gs_thread_prepare();
	int rc = ra->fn(ra->w, ra->arg);
	gs_tx_flush(ra->w);
	if (rc < 0) { /* the others loop on gs_running(): without this gs_run never returns */
		GS_LOG(ERR, "worker %u failed: %s", ra->w->idx, strerror(-rc));
		gs_stop();
	}
	return rc;
}

/* Stops and waits for every lcore launched so far: the caller may gs_fini() (free the rings
 * they use) as soon as gs_run returns. */
static void join(const bool *disp_up, const bool *w_up)
{
	gs_st.stop = true;
	gs_st.disp_stop = true;
	for (unsigned int i = 1; i < gs_st.nworkers; i++)
		if (w_up[i])
			rte_eal_wait_lcore(gs_st.w[i]->lcore);
	for (unsigned int i = 0; i < gs_st.ndisp; i++)
		if (disp_up[i])
			rte_eal_wait_lcore(gs_st.disp[i].lcore);
}

int gs_run(gs_worker_fn fn, void *arg)
{
	struct run_arg ra[GS_MAX_WORKERS];
	bool disp_up[RTE_DIM(gs_st.disp)] = {false}, w_up[GS_MAX_WORKERS] = {false};
	unsigned int main_lcore = rte_get_main_lcore(), lcore = 0;
	int rc = 0, r;

	gs_st.disp_stop = false;
	for (unsigned int i = 0; i < gs_st.ndisp; i++) {
		lcore = gs_st.disp[i].lcore;
		if ((r = rte_eal_remote_launch(gs_disp_main, &gs_st.disp[i], lcore)) < 0)
			goto fail;
		disp_up[i] = true;
	}
	for (unsigned int i = 0; i < gs_st.nworkers; i++) {
		ra[i] = (struct run_arg){fn, arg, gs_st.w[i]};
		lcore = gs_st.w[i]->lcore;
		if (lcore == main_lcore)
			continue;
		if ((r = rte_eal_remote_launch(worker_main, &ra[i], lcore)) < 0)
			goto fail;
		w_up[i] = true;
	}
	rc = worker_main(&ra[0]);
	/* the first error in worker order (the other workers usually just stopped because of it) */
	for (unsigned int i = 1; i < gs_st.nworkers; i++)
		if ((r = rte_eal_wait_lcore(gs_st.w[i]->lcore)) < 0 && !rc)
			rc = r;
	gs_st.disp_stop = true;
	for (unsigned int i = 0; i < gs_st.ndisp; i++)
		rte_eal_wait_lcore(gs_st.disp[i].lcore);
	return rc;
fail:
	GS_LOG(ERR, "cannot launch on lcore %u: %s", lcore, strerror(-r));
	join(disp_up, w_up);
	return r;
}

void gs_stop(void)
{
	gs_st.stop = true;
}

bool gs_running(void)
{
	return !gs_st.stop;
}
