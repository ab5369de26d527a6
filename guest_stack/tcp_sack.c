/* tcp_sack.c: the sender's SACK scoreboard (RFC 2018, RFC 6675 cut down): the ranges the peer
 * reported holding beyond snd_una, merged and sorted, so that fast recovery resends each hole
 * once, in order, one per duplicate ACK, instead of NewReno's one hole per round trip. */
#include "tcp_priv.h"

static void trim(struct gs_tcp_sock *s)
{
	unsigned int keep = 0;

	for (unsigned int i = 0; i < s->nsacked; i++) {
		uint32_t st = s->sacked[2 * i], en = s->sacked[2 * i + 1];
		if (SEQ_LEQ(en, s->snd_una))
			continue;
		if (SEQ_LT(st, s->snd_una))
			st = s->snd_una;
		s->sacked[2 * keep] = st;
		s->sacked[2 * keep + 1] = en;
		keep++;
	}
	s->nsacked = keep;
}

static void add(struct gs_tcp_sock *s, uint32_t st, uint32_t en)
{
	unsigned int i = 0, n = s->nsacked;

	while (i < n && SEQ_LT(s->sacked[2 * i], st))
		i++;
	if (n == GS_TCP_SACKED_MAX)
		return; /* full: what is missed is resent by the RTO or as NewReno would */
	memmove(&s->sacked[2 * i + 2], &s->sacked[2 * i], (n - i) * 2 * sizeof(uint32_t));
	s->sacked[2 * i] = st;
	s->sacked[2 * i + 1] = en;
	n++;
	/* merge overlapping or touching neighbours */
	unsigned int out = 0;
	for (unsigned int j = 0; j < n; j++) {
		if (out && SEQ_LEQ(s->sacked[2 * j], s->sacked[2 * out - 1])) {
			if (SEQ_GT(s->sacked[2 * j + 1], s->sacked[2 * out - 1]))
				s->sacked[2 * out - 1] = s->sacked[2 * j + 1];
			continue;
		}
		s->sacked[2 * out] = s->sacked[2 * j];
		s->sacked[2 * out + 1] = s->sacked[2 * j + 1];
		out++;
	}
	s->nsacked = out;
}

uint32_t gs_tcp_sack_bytes(const struct gs_tcp_sock *s)
{
	uint32_t n = 0;

	for (unsigned int i = 0; i < s->nsacked; i++)
		n += s->sacked[2 * i + 1] - s->sacked[2 * i];
	return n;
}

/* Blocks outside (snd_una, snd_max] are ignored (old, or forged: RFC 2883's D-SACK too).
 * Returns how many bytes the blocks newly reported held. */
uint32_t gs_tcp_sack_update(struct gs_tcp_sock *s, const struct gs_tcp_opts *o)
{
	uint32_t before = gs_tcp_sack_bytes(s);

	for (unsigned int i = 0; i < o->nsack; i++) {
		uint32_t st = o->sack[2 * i], en = o->sack[2 * i + 1];
		if (SEQ_GEQ(st, en) || SEQ_LEQ(en, s->snd_una) || SEQ_GT(en, s->snd_max) ||
		    SEQ_LT(st, s->snd_una))
			continue;
		add(s, st, en);
	}
	trim(s);
	uint32_t after = gs_tcp_sack_bytes(s);
	return after > before ? after - before : 0;
}

void gs_tcp_sack_clear(struct gs_tcp_sock *s)
{
	s->nsacked = 0;
}

int gs_tcp_sack_hole(const struct gs_tcp_sock *s, uint32_t from, uint32_t max, uint32_t *seq,
		     uint32_t *len)
{
	uint32_t at = SEQ_LT(from, s->snd_una) ? s->snd_una : from;

	for (unsigned int i = 0; i < s->nsacked; i++) {
		uint32_t st = s->sacked[2 * i], en = s->sacked[2 * i + 1];
		if (SEQ_GEQ(at, en))
			continue;
		if (SEQ_GEQ(at, st)) { /* inside a SACKed range: the hole starts after it */
			at = en;
			continue;
		}
		*seq = at;
		*len = RTE_MIN(st - at, max);
		return 0;
	}
	return -ENOENT; /* nothing is known lost beyond the last SACKed byte */
}
