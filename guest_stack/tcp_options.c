/* tcp_options.c: TCP options in and out.  A malformed option list (a length of 0 or 1, or one
 * that runs past the header, or a known option with the wrong length) drops the segment, as
 * Linux does for SYNs; unknown options are skipped by their length. */
#include <string.h>
#include "tcp_priv.h"

enum { OPT_EOL = 0, OPT_NOP = 1, OPT_MSS = 2, OPT_WS = 3, OPT_SACK_OK = 4, OPT_TS = 8 };

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

/* The options of our SYN or SYN-ACK: MSS, and window scale when wscale >= 0.  Returns their
 * length (a multiple of 4). */
uint8_t gs_tcp_opts_syn(uint8_t *p, uint16_t mss, int wscale)
{
	p[0] = OPT_MSS;
	p[1] = 4;
	p[2] = (uint8_t)(mss >> 8);
	p[3] = (uint8_t)mss;
	if (wscale < 0)
		return 4;
	p[4] = OPT_NOP;
	p[5] = OPT_WS;
	p[6] = 3;
	p[7] = (uint8_t)wscale;
	return 8;
}
