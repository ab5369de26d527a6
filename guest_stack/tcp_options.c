/* tcp_options.c: TCP options in and out (MSS, window scale, SACK-permitted and SACK blocks,
 * timestamps).  A malformed option list (a length of 0 or 1, or one
 * that runs past the header, or a known option with the wrong length) drops the segment, as
 * Linux does for SYNs; unknown options are skipped by their length. */
#include <string.h>
#include "tcp_priv.h"

enum { OPT_EOL = 0, OPT_NOP = 1, OPT_MSS = 2, OPT_WS = 3, OPT_SACK_OK = 4, OPT_SACK = 5, OPT_TS = 8 };

int gs_tcp_opts_parse(const struct rte_tcp_hdr *th, uint32_t hlen, struct gs_tcp_opts *o)
{
	const uint8_t *p = (const uint8_t *)(th + 1), *end = (const uint8_t *)th + hlen;

	memset(o, 0, sizeof(*o));
	o->wscale = -1;
	while (p < end) {
		if (*p == OPT_EOL)
			break;
		if (*p == OPT_NOP) {
			p++;
			continue;
		}
		if (end - p < 2 || p[1] < 2 || p[1] > end - p)
			return -EINVAL;
		uint8_t kind = p[0], len = p[1];
		switch (kind) {
		case OPT_MSS:
			if (len != 4)
				return -EINVAL;
			o->mss = (uint16_t)(p[2] << 8 | p[3]);
			break;
		case OPT_WS:
			if (len != 3)
				return -EINVAL;
			o->wscale = (int8_t)RTE_MIN(p[2], 14); /* RFC 7323 2.3 */
			break;
		case OPT_SACK_OK:
			if (len != 2)
				return -EINVAL;
			o->sack_ok = true;
			break;
		case OPT_SACK:
			if ((len - 2) % 8 != 0 || len < 10)
				return -EINVAL;
			o->nsack = (uint8_t)RTE_MIN((len - 2) / 8, 4);
			for (unsigned int i = 0; i < 2u * o->nsack; i++) {
				uint32_t v;
				memcpy(&v, p + 2 + 4 * i, 4);
				o->sack[i] = rte_be_to_cpu_32(v);
			}
			break;
		case OPT_TS:
			if (len != 10)
				return -EINVAL;
			o->ts = true;
			memcpy(&o->tsval, p + 2, 4);
			memcpy(&o->tsecr, p + 6, 4);
			o->tsval = rte_be_to_cpu_32(o->tsval);
			o->tsecr = rte_be_to_cpu_32(o->tsecr);
			break;
		default:
			break;
		}
		p += len;
	}
	return 0;
}

static uint8_t *put_ts(uint8_t *p, uint32_t tsval, uint32_t tsecr)
{
	p[0] = OPT_TS;
	p[1] = 10;
	tsval = rte_cpu_to_be_32(tsval);
	tsecr = rte_cpu_to_be_32(tsecr);
	memcpy(p + 2, &tsval, 4);
	memcpy(p + 6, &tsecr, 4);
	return p + 10;
}

/* The options of our SYN or SYN-ACK, laid out as Linux's: MSS, SACK-permitted and timestamps
 * (when offered: ts != NULL), window scale when wscale >= 0.  Returns their length (<= 20). */
uint8_t gs_tcp_opts_syn(uint8_t *p, uint16_t mss, int wscale, bool sack, const uint32_t *ts)
{
	uint8_t *q = p;

	*q++ = OPT_MSS;
	*q++ = 4;
	*q++ = (uint8_t)(mss >> 8);
	*q++ = (uint8_t)mss;
	if (sack && ts) {
		*q++ = OPT_SACK_OK;
		*q++ = 2;
	} else if (ts || sack) {
		*q++ = OPT_NOP;
		*q++ = OPT_NOP;
		if (sack) {
			*q++ = OPT_SACK_OK;
			*q++ = 2;
		}
	}
	if (ts)
		q = put_ts(q, ts[0], ts[1]);
	if (wscale >= 0) {
		*q++ = OPT_NOP;
		*q++ = OPT_WS;
		*q++ = 3;
		*q++ = (uint8_t)wscale;
	}
	return (uint8_t)(q - p);
}

/* The options of any other segment: timestamps, and SACK blocks (RFC 2018; start/end pairs in
 * host order, as many as fit in 40 bytes).  Returns their length. */
uint8_t gs_tcp_opts_data(uint8_t *p, const uint32_t *ts, const uint32_t *blocks,
			 unsigned int nblocks)
{
	uint8_t *q = p;

	if (ts) {
		*q++ = OPT_NOP;
		*q++ = OPT_NOP;
		q = put_ts(q, ts[0], ts[1]);
	}
	nblocks = RTE_MIN(nblocks, ts ? 3u : 4u);
	if (nblocks) {
		*q++ = OPT_NOP;
		*q++ = OPT_NOP;
		*q++ = OPT_SACK;
		*q++ = (uint8_t)(2 + 8 * nblocks);
		for (unsigned int i = 0; i < 2 * nblocks; i++) {
			uint32_t v = rte_cpu_to_be_32(blocks[i]);
			memcpy(q, &v, 4);
			q += 4;
		}
	}
	return (uint8_t)(q - p);
}
