/* rpc_msgbuf.c: message buffers in hugepage memory, the struct and its data in one allocation. */
#include <rte_malloc.h>
#include "rpc_priv.h"

struct rpc_msgbuf *rpc_msgbuf_alloc(struct rpc *rpc, uint32_t max_size)
{
	struct rpc_msgbuf *mb;

	if (max_size > RPC_MAX_MSG) {
		errno = EMSGSIZE;
		return NULL;
	}
	mb = rte_malloc("rpc_msgbuf", RTE_CACHE_LINE_ROUNDUP(sizeof(*mb)) + max_size,
			RTE_CACHE_LINE_SIZE);
	if (!mb) {
		errno = ENOMEM;
		return NULL;
	}
	mb->data = (uint8_t *)mb + RTE_CACHE_LINE_ROUNDUP(sizeof(*mb));
	mb->size = mb->max_size = max_size;
	mb->priv_flags = 0;
	mb->priv = NULL;
	rpc->c[RPC_C_msgbufs_alive]++;
	return mb;
}

int rpc_msgbuf_free(struct rpc *rpc, struct rpc_msgbuf *mb)
{
	if (!mb)
		return 0;
	if (mb->priv_flags & (RPC_MB_BUSY | RPC_MB_ENGINE | RPC_MB_VIEW))
		return -EBUSY;
	rpc_msgbuf_release(rpc, mb);
	return 0;
}

void rpc_msgbuf_release(struct rpc *rpc, struct rpc_msgbuf *mb)
{
	if (!mb)
		return;
	rpc->c[RPC_C_msgbufs_alive]--;
	rte_free(mb);
}

int rpc_msgbuf_resize(struct rpc_msgbuf *mb, uint32_t size)
{
	if (size > mb->max_size || (mb->priv_flags & RPC_MB_BUSY))
		return -EINVAL;
	mb->size = size;
	return 0;
}
