/* tcp_timer.c: the retransmission timer (RFC 6298: SRTT/RTTVAR, Karn's rule in the sampling,
 * exponential back-off), zero-window probes (the persist timer), SYN retries, and TIME_WAIT
 * (a FIFO: every entry lives the same time, so the oldest expires first; its length is bounded
 * and the oldest is recycled when full).  A 1 ms tick walks only the connections whose timer is
 * armed. */
#include "tcp_priv.h"

void gs_tcp_timer_arm(struct gs_tcp_sock *s)
{
	if (s->on_timer)
		return;
	s->on_timer = true;
	s->rto_at = gs_now_us() + s->rto_us;
	gs_tcp_list_add(&s->tw->timers, s, GS_TCP_LINK(l_timer));
}

void gs_tcp_timer_stop(struct gs_tcp_sock *s)
{
	if (!s->on_timer)
		return;
	s->on_timer = false;
	s->rto_at = 0;
	gs_tcp_list_del(&s->tw->timers, s, GS_TCP_LINK(l_timer));
}

/* RFC 6298 2.2-2.4, in microseconds. */
void gs_tcp_rtt_sample(struct gs_tcp_sock *s, uint64_t r)
{
	if (!s->srtt_us) {
		s->srtt_us = r;
		s->rttvar_us = r / 2;
	} else {
		uint64_t d = s->srtt_us > r ? s->srtt_us - r : r - s->srtt_us;
		s->rttvar_us = (3 * s->rttvar_us + d) / 4;
		s->srtt_us = (7 * s->srtt_us + r) / 8;
	}
	uint64_t rto = s->srtt_us + RTE_MAX((uint64_t)GS_TCP_TICK_US, 4 * s->rttvar_us);
	s->rto_us = RTE_MIN(RTE_MAX(rto, (uint64_t)s->tw->conf.min_rto_us),
			    (uint64_t)GS_TCP_MAX_RTO_US);
}

static void backoff(struct gs_tcp_sock *s)
{
	s->rto_us = RTE_MIN(s->rto_us * 2, (uint64_t)GS_TCP_MAX_RTO_US); /* RFC 6298 5.5 */
}

/* RFC 1122 4.2.3.2 / RFC 5681 4.2: an ACK for at least every second full segment, and none
 * later than the delay; every delay is the same, so the list is in expiry order. */
void gs_tcp_delack(struct gs_tcp_sock *s)
{
	if (++s->unacked >= 2) {
		gs_tcp_ack_later(s);
		return;
	}
	if (s->on_delack)
		return;
	s->on_delack = true;
	s->delack_at = gs_now_us() + GS_TCP_DELACK_US;
	gs_tcp_list_add(&s->tw->delack, s, GS_TCP_LINK(l_delack));
}

void gs_tcp_delack_stop(struct gs_tcp_sock *s)
{
	s->unacked = 0;
	if (!s->on_delack)
		return;
	s->on_delack = false;
	gs_tcp_list_del(&s->tw->delack, s, GS_TCP_LINK(l_delack));
}

int gs_tcp_set_keepalive(struct gs_tcp_sock *s, uint64_t idle_us, uint64_t intvl_us,
			 unsigned int cnt)
{
	if (idle_us && (!intvl_us || !cnt))
		return -EINVAL;
	gs_tcp_ka_stop(s);
	if (!idle_us || s->state == GS_TCP_LISTEN)
		return idle_us ? -EINVAL : 0;
	s->ka_idle = idle_us;
	s->ka_intvl = intvl_us;
	s->ka_cnt = cnt;
	s->ka_probes = 0;
	s->last_rx = gs_now_us();
	s->on_ka = true;
	gs_tcp_list_add(&s->tw->ka, s, GS_TCP_LINK(l_ka));
	return 0;
}

void gs_tcp_ka_stop(struct gs_tcp_sock *s)
{
	if (!s->on_ka)
		return;
	s->on_ka = false;
	gs_tcp_list_del(&s->tw->ka, s, GS_TCP_LINK(l_ka));
}

/* A probe is a segment one below snd_una with no data: the peer must answer with an ACK. */
static void keepalive(struct gs_tcp_sock *s, uint64_t now)
{
	if (s->state != GS_TCP_ESTABLISHED && s->state != GS_TCP_CLOSE_WAIT &&
	    s->state != GS_TCP_FIN_WAIT_2)
		return;
	if (now < s->last_rx + s->ka_idle + (uint64_t)s->ka_probes * s->ka_intvl)
		return;
	if (s->ka_probes >= s->ka_cnt) {
		s->tw->w->c[GS_C_tcp_ka_timeout]++;
		gs_tcp_send_seg(s, s->snd_nxt, 0, RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG);
		gs_tcp_drop(s, -ETIMEDOUT);
		return;
	}
	s->ka_probes++;
	s->tw->w->c[GS_C_tcp_keepalive]++;
	gs_tcp_send_seg(s, s->snd_una - 1, 0, RTE_TCP_ACK_FLAG);
}

/* A window update after a zero window is one ACK, and a lost one leaves the sender on its
 * persist timer, whose back-off can reach minutes: so the update is sent again (RTO, doubling,
 * up to 6 times) until the peer sends anything. */
#define GS_TCP_WUPD_MAX 6

void gs_tcp_wupd(struct gs_tcp_sock *s)
{
	if (s->on_wupd)
		return;
	s->on_wupd = true;
	s->wupd_n = 0;
	s->wupd_at = gs_now_us() + s->rto_us;
	gs_tcp_list_add(&s->tw->wupd, s, GS_TCP_LINK(l_wupd));
}

void gs_tcp_wupd_stop(struct gs_tcp_sock *s)
{
	if (!s->on_wupd)
		return;
	s->on_wupd = false;
	gs_tcp_list_del(&s->tw->wupd, s, GS_TCP_LINK(l_wupd));
}

static void wupd_fire(struct gs_tcp_sock *s, uint64_t now)
{
	if (now < s->wupd_at)
		return;
	if (++s->wupd_n > GS_TCP_WUPD_MAX) {
		gs_tcp_wupd_stop(s);
		return;
	}
	gs_tcp_send_seg(s, s->snd_nxt, 0, RTE_TCP_ACK_FLAG);
	s->wupd_at = now + (s->rto_us << s->wupd_n);
}

/* An orphan in FIN_WAIT_2 (the application closed, the peer took our FIN but never sends its
 * own) would stay for ever: it goes after as long as TIME_WAIT lasts (Linux's tcp_fin_timeout
 * is its TIME_WAIT's 60 s too), counted in tcp_fw2_timeout. A FIFO, as TIME_WAIT. */
void gs_tcp_fw2_orphan(struct gs_tcp_sock *s)
{
	if (s->state != GS_TCP_FIN_WAIT_2 || !s->user_closed || s->on_fw2)
		return;
	s->on_fw2 = true;
	s->tw_at = gs_now_us() + s->tw->conf.time_wait_us;
	gs_tcp_list_add(&s->tw->fw2, s, GS_TCP_LINK(l_tw));
}

void gs_tcp_fw2_stop(struct gs_tcp_sock *s)
{
	if (!s->on_fw2)
		return;
	s->on_fw2 = false;
	gs_tcp_list_del(&s->tw->fw2, s, GS_TCP_LINK(l_tw));
}

void gs_tcp_enter_tw(struct gs_tcp_sock *s)
{
	struct gs_tcp_wk *tw = s->tw;

	gs_tcp_timer_stop(s);
	gs_tcp_fw2_stop(s);
	gs_tcp_set_state(s, GS_TCP_TIME_WAIT);
	s->tw_at = gs_now_us() + tw->conf.time_wait_us;
	if (s->on_tw)
		gs_tcp_list_del(&tw->tw, s, GS_TCP_LINK(l_tw)); /* restarted: to the tail */
	s->on_tw = true;
	gs_tcp_list_add(&tw->tw, s, GS_TCP_LINK(l_tw));
	if (tw->tw.n > tw->conf.max_time_wait) {
		tw->w->c[GS_C_tcp_tw_recycled]++;
		gs_tcp_drop(tw->tw.head, 0);
	}
}

static void fire(struct gs_tcp_sock *s)
{
	struct gs_worker *w = s->tw->w;

	gs_tcp_timer_stop(s);
	if (s->state == GS_TCP_SYN_SENT || s->state == GS_TCP_SYN_RCVD) {
		if (++s->rexmits > GS_TCP_MAX_SYN_REXMIT) {
			gs_tcp_drop(s, -ETIMEDOUT);
			return;
		}
		w->c[GS_C_tcp_rto]++;
		w->c[GS_C_tcp_rexmit]++;
		backoff(s);
		s->snd_nxt = s->iss;
		gs_tcp_output(s);
		return;
	}
	bool pending = SEQ_LT(s->snd_una, gs_tcp_data_end(s)) || s->fin_queued;
	if (s->snd_wnd == 0 && s->snd_max == s->snd_una && pending) {
		/* persist: a probe the peer must answer with its window (seq one below una) */
		w->c[GS_C_tcp_zwp]++;
		gs_tcp_send_seg(s, s->snd_una - 1, 0, RTE_TCP_ACK_FLAG);
		backoff(s);
		gs_tcp_timer_arm(s);
		return;
	}
	if (s->snd_max == s->snd_una)
		return; /* nothing outstanding any more */
	if (++s->rexmits > GS_TCP_MAX_REXMIT) {
		gs_tcp_send_seg(s, s->snd_nxt, 0, RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG);
		gs_tcp_drop(s, -ETIMEDOUT);
		return;
	}
	w->c[GS_C_tcp_rto]++;
	gs_tcp_cc_rto(s);
	backoff(s);
	s->rtt_timing = false; /* Karn: nothing sent before now is timed */
	s->snd_nxt = s->snd_una; /* go back N: resend from the first unacknowledged byte */
	gs_tcp_output(s);
}

void gs_tcp_tick(struct gs_tcp_wk *tw)
{
	uint64_t now = gs_now_us();

	if (now < tw->next_tick)
		return;
	tw->next_tick = now + GS_TCP_TICK_US;
	while (tw->tw.head && tw->tw.head->tw_at <= now)
		gs_tcp_drop(tw->tw.head, 0);
	while (tw->fw2.head && tw->fw2.head->tw_at <= now) {
		tw->w->c[GS_C_tcp_fw2_timeout]++;
		gs_tcp_drop(tw->fw2.head, 0);
	}
	while (tw->delack.head && tw->delack.head->delack_at <= now) {
		struct gs_tcp_sock *s = tw->delack.head;
		gs_tcp_delack_stop(s);
		gs_tcp_ack_later(s);
	}
	for (struct gs_tcp_sock *s = tw->wupd.head, *next; s; s = next) {
		next = s->l_wupd.next;
		wupd_fire(s, now);
	}
	for (struct gs_tcp_sock *s = tw->ka.head, *next; s; s = next) {
		next = s->l_ka.next;
		keepalive(s, now); /* may drop s: only s leaves the list */
	}
	for (struct gs_tcp_sock *s = tw->timers.head, *next; s; s = next) {
		next = s->l_timer.next;
		if (s->rto_at <= now)
			fire(s); /* only s changes lists (re-armed at the tail, or gone) */
	}
}
