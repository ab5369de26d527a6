/* The Toeplitz hash against the Microsoft RSS verification suite (IPv4, with and without
 * ports), and the symmetric key's symmetry. */
#include <arpa/inet.h>
#include <string.h>
#include <rte_udp.h>
#include "gs_priv.h"
#include "check.h"

static uint32_t ip(const char *s)
{
	struct in_addr a;
	inet_pton(AF_INET, s, &a);
	return ntohl(a.s_addr);
}

/* The dispatcher's path: headers in an mbuf (a fake one, no EAL), the converted key. */
static uint16_t queue_of(uint32_t s, uint32_t d, uint16_t sp, uint16_t dp, uint16_t frag,
			 unsigned int nq)
{
	static uint8_t buf[64];
	struct rte_mbuf m;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)buf;
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);

	memset(&m, 0, sizeof(m));
	memset(buf, 0, sizeof(buf));
	m.buf_addr = buf;
	m.data_len = m.pkt_len = sizeof(buf);
	ip->version_ihl = 0x45;
	ip->next_proto_id = IPPROTO_UDP;
	ip->fragment_offset = rte_cpu_to_be_16(frag);
	ip->src_addr = rte_cpu_to_be_32(s);
	ip->dst_addr = rte_cpu_to_be_32(d);
	udp->src_port = rte_cpu_to_be_16(sp);
	udp->dst_port = rte_cpu_to_be_16(dp);
	return gs_rss_queue(&m, nq);
}

int main(void)
{
	static const struct {
		const char *dst, *src;
		uint16_t dport, sport;
		uint32_t l4, l3;
	} v[] = {
		{"161.142.100.80", "66.9.149.187", 1766, 2794, 0x51ccc178, 0x323e8fc2},
		{"65.69.140.83", "199.92.111.2", 4739, 14230, 0xc626b0ea, 0xd718262a},
		{"12.22.207.184", "24.19.198.95", 38024, 12898, 0x5c2b394a, 0xd2d0a5de},
		{"209.142.163.6", "38.27.205.30", 2217, 48228, 0xafc7327f, 0x82989176},
		{"202.188.127.2", "153.39.163.191", 1303, 44251, 0x10e828a2, 0x5d1809c5},
	};
	for (unsigned int i = 0; i < RTE_DIM(v); i++) {
		uint32_t s = ip(v[i].src), d = ip(v[i].dst);
		CHECK_EQ(gs_softrss(s, d, v[i].sport, v[i].dport, true, false), v[i].l4);
		CHECK_EQ(gs_softrss(s, d, v[i].sport, v[i].dport, false, false), v[i].l3);
		/* symmetric key: both directions hash alike */
		CHECK_EQ(gs_softrss(s, d, v[i].sport, v[i].dport, true, true),
			 gs_softrss(d, s, v[i].dport, v[i].sport, true, true));
	}
	/* The data path (rte_softrss_be, converted key) picks what the reference hash says. */
	gs_rss_init(false);
	for (unsigned int i = 0; i < RTE_DIM(v); i++) {
		uint32_t s = ip(v[i].src), d = ip(v[i].dst);
		CHECK_EQ(queue_of(s, d, v[i].sport, v[i].dport, 0, 128), v[i].l4 % 128);
		CHECK_EQ(queue_of(s, d, v[i].sport, v[i].dport, 0, 3), v[i].l4 % 128 % 3);
		/* fragments hash on the addresses only, so all of a datagram's go to one core */
		CHECK_EQ(queue_of(s, d, v[i].sport, v[i].dport, RTE_IPV4_HDR_MF_FLAG, 128),
			 v[i].l3 % 128);
	}
	gs_rss_init(true);
	for (unsigned int i = 0; i < RTE_DIM(v); i++) {
		uint32_t s = ip(v[i].src), d = ip(v[i].dst);
		CHECK_EQ(queue_of(s, d, v[i].sport, v[i].dport, 0, 4),
			 queue_of(d, s, v[i].dport, v[i].sport, 0, 4));
	}
	return CHECK_DONE();
}
