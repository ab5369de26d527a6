/* The input the frame targets (l2, gstack, rpc) share: records, each a 2-byte big-endian header
 * whose low 12 bits are a length (the target gives the high 4 their meaning) and that many
 * bytes (fewer if the input ends first). */
#ifndef VSW_FUZZ_RECORD_H
#define VSW_FUZZ_RECORD_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <rte_mbuf.h>

/* The next record: its header, bytes and length; false when no header is left. */
static inline bool fuzz_record(const uint8_t **data, size_t *size, uint16_t *hdr,
			       const uint8_t **bytes, uint16_t *len)
{
	if (*size < 2)
		return false;
	*hdr = (uint16_t)((*data)[0] << 8 | (*data)[1]);
	*len = *hdr & 0xfff;
	*data += 2, *size -= 2;
	if (*len > *size)
		*len = (uint16_t)*size;
	*bytes = *data;
	*data += *len, *size -= *len;
	return true;
}

/* One mbuf from pool holding the bytes (cut to its room); a pool that runs dry is a leak. */
static inline struct rte_mbuf *fuzz_mbuf(struct rte_mempool *pool, const uint8_t *bytes,
					 uint16_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);

	if (m == NULL)
		abort();
	if (len > rte_pktmbuf_tailroom(m))
		len = rte_pktmbuf_tailroom(m);
	memcpy(rte_pktmbuf_append(m, len), bytes, len);
	return m;
}

#endif
