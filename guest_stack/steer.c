/* steer.c: a UDP port to one worker.  An RPC endpoint (and later a TCP listener) lives on one
 * worker and must see all of its datagrams there, whatever the 5-tuple hash says. */
#include <rte_ethdev.h>
#include <rte_flow.h>
#include "gs_priv.h"

static int steer_hw(uint16_t port, uint16_t queue)
{
	struct rte_flow_attr attr = {.ingress = 1};
	struct rte_flow_item_udp spec = {.hdr.dst_port = rte_cpu_to_be_16(port)};
	struct rte_flow_item_udp mask = {.hdr.dst_port = RTE_BE16(0xffff)};
	struct rte_flow_item pattern[] = {
		{.type = RTE_FLOW_ITEM_TYPE_ETH},
		{.type = RTE_FLOW_ITEM_TYPE_IPV4},
		{.type = RTE_FLOW_ITEM_TYPE_UDP, .spec = &spec, .mask = &mask},
		{.type = RTE_FLOW_ITEM_TYPE_END},
	};
	struct rte_flow_action_queue q = {.index = queue};
	struct rte_flow_action actions[] = {
		{.type = RTE_FLOW_ACTION_TYPE_QUEUE, .conf = &q},
		{.type = RTE_FLOW_ACTION_TYPE_END},
	};
	struct rte_flow_error err;

	if (!rte_flow_create(gs_st.port, &attr, pattern, actions, &err)) {
		GS_LOG(ERR, "steering UDP port %u to queue %u: %s", port, queue,
		       err.message ? err.message : "not supported by the device");
		return -ENOTSUP;
	}
	return 0;
}

int gs_udp_steer(uint16_t port, unsigned int worker)
{
	if (worker >= gs_st.nworkers)
		return -EINVAL;
	if (gs_st.nworkers == 1)
		return 0;
	/* the table also tells datagrams to our own address where to go (and a fake device) */
	if (gs_st.hw_rss && gs_st.ethdev) {
		int rc = steer_hw(port, (uint16_t)worker);
		if (rc < 0)
			return rc;
	}
	gs_st.steer_udp[port] = (uint8_t)(worker + 1);
	return 0;
}
