/* offer: the virtio features withdrawn from a vhost port's socket before it starts (offer.c
 * says why this cannot wait until after rte_eth_dev_configure). */
#ifndef VHP_OFFER_H
#define VHP_OFFER_H

#include <stdbool.h>
#include <stdint.h>

/* Withdraws the feature bits withdraw from port_id's socket at path when it starts; -1 out of
 * memory. */
int vhp_offer_set(uint16_t port_id, const char *path, uint64_t withdraw);
/* Forgets port_id's entry (the port is gone). */
void vhp_offer_clear(uint16_t port_id);
/* True if port_id's started socket offers none of what was withdrawn. */
bool vhp_offer_in_force(uint16_t port_id);

#endif
