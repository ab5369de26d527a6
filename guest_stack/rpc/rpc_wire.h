/* rpc_wire.h: the RPC engine's packet format (after Ethernet, IPv4 and UDP).
 *
 *   0      2    3        4         6         8          12        16              24
 *   +------+----+--------+---------+---------+----------+---------+---------------+------
 *   |magic |kind|req_type|dst_sess |src_sess | msg_size | pkt_num |    req_num    | data
 *   +------+----+--------+---------+---------+----------+---------+---------------+------
 *   all fields big-endian; a packet with another magic is dropped and counted.
 *
 * A request of N packets and its response of M packets are one exchange, packets numbered in
 * the order they travel: request packets 0..N-1 (client to server); for each of 0..N-2 the
 * server returns a credit-return packet (CR) with the same number; response packet 0 goes back
 * numbered N-1, in answer to the last request packet; the client pulls each further response
 * packet k (1..M-1) with a request-for-response (RFR) numbered N-1+k, answered by response packet
 * k with that number.  So every packet the client sends is answered by exactly one packet with
 * its number: that pairing is what session credits, RTT samples and go-back-N count on.
 *
 * req_num picks the session's slot (req_num % RPC_WINDOW) and grows by RPC_WINDOW per request on
 * that slot, so a server tells a new request from a retransmitted one.  msg_size is the size of
 * the message the packet is part of (request for REQ, response for RESP; 0 in CR and RFR).
 *
 * Session management (SM) packets: CONNECT carries the client's session number in src_sess,
 * its credits in msg_size and a random token in req_num (a repeated CONNECT gets the same
 * answer); CONNECT_OK carries the server's session number in src_sess; CONNECT_ERR an errno in
 * pkt_num; DISCONNECT / DISCONNECT_OK close a session (dst_sess: the receiver's number).
 */
#ifndef RPC_WIRE_H
#define RPC_WIRE_H

#include <stdint.h>
#include <rte_byteorder.h>

#define RPC_MAGIC 0x7e5c
#define RPC_NO_SESSION 0xffff

enum rpc_kind {
	RPC_K_REQ = 1,
	RPC_K_RFR = 2,
	RPC_K_CR = 3,
	RPC_K_RESP = 4,
	RPC_K_CONNECT = 8,
	RPC_K_CONNECT_OK = 9,
	RPC_K_CONNECT_ERR = 10,
	RPC_K_DISCONNECT = 11,
	RPC_K_DISCONNECT_OK = 12,
};

struct rpc_hdr {
	rte_be16_t magic;
	uint8_t kind;
	uint8_t req_type;
	rte_be16_t dst_sess;
	rte_be16_t src_sess;
	rte_be32_t msg_size;
	rte_be32_t pkt_num;
	rte_be64_t req_num;
} __attribute__((packed));

_Static_assert(sizeof(struct rpc_hdr) == 24, "the RPC header is 24 bytes on the wire");

#endif
