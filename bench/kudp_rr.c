/* kudp_rr: the kernel's UDP request/response for bench/rpc, the peer rpc-bench is compared with.
 *   kudp_rr server PORT MAX_S [busy]
 *       echoes every datagram back to its sender (recvmmsg/sendmmsg in batches of 64) until
 *       SIGTERM/SIGINT or MAX_S seconds; prints {"role":"server","ready":true} once bound.
 *   kudp_rr client DST PORT SIZE CONCURRENCY SECONDS [busy]
 *       one UDP socket keeps CONCURRENCY requests of SIZE bytes in flight: each answer is timed
 *       (send to answer, CLOCK_MONOTONIC) and at once replaced by a new request.  A request not
 *       answered within 50 ms is counted lost and sent again under a new number.
 * With "busy" a side spins on MSG_DONTWAIT instead of sleeping in the kernel (the counterpart of
 * rpc-bench --busy-poll).  The client prints one JSON line: completed, seconds, rps, p50_us,
 * p99_us, p999_us (from a histogram of 0.25 us buckets, as rpc-bench's) and lost. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64
#define MAX_CONC 1024
#define MAX_SIZE 65000
#define HIST_RES 4	 /* buckets per microsecond */
#define HIST_N 400000	 /* up to 100 ms; above counts in the last bucket */
#define LOST_NS 50000000ull

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void set_timeout(int fd, long us)
{
	struct timeval tv = {.tv_sec = us / 1000000, .tv_usec = us % 1000000};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

static int server(int port, double max_s, int busy)
{
	static char buf[BATCH][MAX_SIZE];
	struct sockaddr_in from[BATCH], a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	struct iovec iov[BATCH];
	struct mmsghdr msg[BATCH];
	unsigned long long n_rx = 0;
	int fd = socket(AF_INET, SOCK_DGRAM, 0), big = 8 << 20;
	uint64_t end = now_ns() + (uint64_t)(max_s * 1e9);

	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		return perror("kudp_rr: bind"), 1;
	set_timeout(fd, 100000);
	printf("{\"role\":\"server\",\"ready\":true}\n");
	fflush(stdout);
	while (!stop && now_ns() < end) {
		for (int i = 0; i < BATCH; i++) {
			iov[i] = (struct iovec){buf[i], MAX_SIZE};
			memset(&msg[i], 0, sizeof(msg[i]));
			msg[i].msg_hdr.msg_name = &from[i];
			msg[i].msg_hdr.msg_namelen = sizeof(from[i]);
			msg[i].msg_hdr.msg_iov = &iov[i];
			msg[i].msg_hdr.msg_iovlen = 1;
		}
		int n = recvmmsg(fd, msg, BATCH, busy ? MSG_DONTWAIT : MSG_WAITFORONE, NULL);
		if (n <= 0)
			continue;
		n_rx += (unsigned long long)n;
		for (int i = 0; i < n; i++)
			iov[i].iov_len = msg[i].msg_len;
		for (int sent = 0; sent < n;) {
			int k = sendmmsg(fd, msg + sent, (unsigned int)(n - sent), 0);
			if (k < 0 && errno != EINTR && errno != ENOBUFS && errno != EAGAIN)
				return perror("kudp_rr: sendmmsg"), 1;
			if (k > 0)
				sent += k;
		}
	}
	printf("{\"role\":\"server\",\"handled\":%llu}\n", n_rx);
	return 0;
}

struct slot {
	uint64_t seq, t;
};

static double quantile(const uint64_t *hist, uint64_t n, double q)
{
	uint64_t want = (uint64_t)(q * (double)n), seen = 0;

	for (unsigned int k = 0; k < HIST_N; k++)
		if ((seen += hist[k]) > want || (seen == n && hist[k]))
			return (k + 0.5) / HIST_RES;
	return 0;
}

static int client(const char *dst, int port, int size, int conc, double secs, int busy)
{
	static char rbuf[BATCH][MAX_SIZE], sbuf[MAX_CONC][MAX_SIZE];
	static uint64_t hist[HIST_N];
	static struct slot slot[MAX_CONC];
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	struct iovec riov[BATCH], siov[MAX_CONC];
	struct mmsghdr rmsg[BATCH], smsg[MAX_CONC];
	uint64_t next_seq = 1, done = 0, lost = 0;
	int fd = socket(AF_INET, SOCK_DGRAM, 0), big = 8 << 20, ns = 0;

	if (inet_pton(AF_INET, dst, &to.sin_addr) != 1)
		return fprintf(stderr, "kudp_rr: bad address %s\n", dst), 2;
	if (size < 16 || size > MAX_SIZE || conc < 1 || conc > MAX_CONC)
		return fprintf(stderr, "kudp_rr: size 16-%d, concurrency 1-%d\n", MAX_SIZE, MAX_CONC), 2;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	if (connect(fd, (struct sockaddr *)&to, sizeof(to)) < 0)
		return perror("kudp_rr: connect"), 1;
	set_timeout(fd, 10000);
	memset(smsg, 0, sizeof(smsg));
	for (int i = 0; i < conc; i++) {
		memset(sbuf[i], 0xa5, (size_t)size);
		siov[i] = (struct iovec){sbuf[i], (size_t)size};
	}
	for (int i = 0; i < BATCH; i++) {
		riov[i] = (struct iovec){rbuf[i], MAX_SIZE};
		memset(&rmsg[i], 0, sizeof(rmsg[i]));
		rmsg[i].msg_hdr.msg_iov = &riov[i];
		rmsg[i].msg_hdr.msg_iovlen = 1;
	}
	/* a request carries its slot and its number: 4 + 8 bytes */
#define QUEUE(i)                                                                                   \
	do {                                                                                       \
		uint32_t s_ = (uint32_t)(i);                                                       \
		slot[s_].seq = next_seq++;                                                         \
		slot[s_].t = 0; /* queued, stamped when sent */                                    \
		memcpy(sbuf[s_], &s_, 4);                                                          \
		memcpy(sbuf[s_] + 4, &slot[s_].seq, 8);                                            \
		smsg[ns].msg_hdr.msg_iov = &siov[s_];                                              \
		smsg[ns].msg_hdr.msg_iovlen = 1;                                                   \
		ns++;                                                                              \
	} while (0)
	uint64_t t0 = now_ns(), end = t0 + (uint64_t)(secs * 1e9), last_check = t0, t = t0;
	for (int i = 0; i < conc; i++)
		QUEUE(i);
	while (!stop) {
		if (ns) {
			/* time stamps as late as possible: just before the send */
			t = now_ns();
			for (int k = 0; k < ns; k++) {
				uint32_t s;
				memcpy(&s, smsg[k].msg_hdr.msg_iov->iov_base, 4);
				slot[s].t = t;
			}
			for (int sent = 0; sent < ns;) {
				int k = sendmmsg(fd, smsg + sent, (unsigned int)(ns - sent), 0);
				if (k < 0 && errno != EINTR && errno != ENOBUFS && errno != EAGAIN)
					return perror("kudp_rr: sendmmsg"), 1;
				if (k > 0)
					sent += k;
			}
			ns = 0;
		}
		int n = recvmmsg(fd, rmsg, BATCH, busy ? MSG_DONTWAIT : MSG_WAITFORONE, NULL);
		t = now_ns();
		if (t >= end)
			break;
		for (int i = 0; i < n; i++) {
			uint32_t s;
			uint64_t seq;
			if (rmsg[i].msg_len != (unsigned int)size)
				continue;
			memcpy(&s, rbuf[i], 4);
			memcpy(&seq, rbuf[i] + 4, 8);
			if (s >= (uint32_t)conc || slot[s].seq != seq)
				continue; /* an answer to a request already given up */
			uint64_t q = (t - slot[s].t) * HIST_RES / 1000;
			hist[q < HIST_N ? q : HIST_N - 1]++;
			done++;
			QUEUE(s);
		}
		if (t - last_check > LOST_NS / 5) {
			last_check = t;
			for (int i = 0; i < conc; i++)
				if (slot[i].t && t - slot[i].t > LOST_NS) {
					lost++;
					QUEUE(i);
				}
		}
	}
	double s = (double)(t - t0) / 1e9;
	printf("{\"role\":\"client\",\"size\":%d,\"concurrency\":%d,\"busy\":%s,\"completed\":%llu,"
	       "\"lost\":%llu,\"seconds\":%.6f,\"rps\":%.1f,\"p50_us\":%.3f,\"p99_us\":%.3f,"
	       "\"p999_us\":%.3f}\n",
	       size, conc, busy ? "true" : "false", (unsigned long long)done,
	       (unsigned long long)lost, s, (double)done / s, quantile(hist, done, 0.5),
	       quantile(hist, done, 0.99), quantile(hist, done, 0.999));
	return 0;
}

int main(int argc, char **argv)
{
	struct sigaction sa = {.sa_handler = on_signal};

	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if ((argc == 4 || argc == 5) && strcmp(argv[1], "server") == 0)
		return server(atoi(argv[2]), atof(argv[3]), argc == 5 && !strcmp(argv[4], "busy"));
	if ((argc == 7 || argc == 8) && strcmp(argv[1], "client") == 0)
		return client(argv[2], atoi(argv[3]), atoi(argv[4]), atoi(argv[5]), atof(argv[6]),
			      argc == 8 && !strcmp(argv[7], "busy"));
	fprintf(stderr, "usage: kudp_rr server PORT MAX_S [busy] | kudp_rr client DST PORT SIZE "
			"CONCURRENCY SECONDS [busy]\n");
	return 2;
}
