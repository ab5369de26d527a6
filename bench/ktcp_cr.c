/* ktcp_cr: the kernel's short-connection rate for bench/tcp, the peer of gs-tcpperf
 * --connections (same exchange: connect, write BYTES, shutdown, read the echo to EOF, close).
 *   ktcp_cr server PORT MAX_S
 *       accepts on PORT, echoes what each connection sends and closes it at the peer's FIN,
 *       until SIGTERM/SIGINT or MAX_S seconds; prints {"role":"server","ready":true} once
 *       listening.  One thread, non-blocking sockets on epoll.
 *   ktcp_cr client DST PORT BYTES CONCURRENCY SECONDS
 *       keeps CONCURRENCY connections open at a time, each as above, for SECONDS; one thread,
 *       non-blocking sockets on epoll.  Prints one JSON line: connections, echoed (answer equal
 *       to the request), failed, seconds, conns_per_sec.
 * In C, not python: the kernel side must cost what the kernel costs, not an interpreter. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONC 1024
#define MAX_BYTES 200
#define MAX_EV 256

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct conn {
	int fd;
	unsigned int got;
	char buf[MAX_BYTES];
};

static int server(int port, double max_s)
{
	static struct conn c[65536];
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	struct epoll_event ev[MAX_EV];
	int one = 1, lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), ep = epoll_create1(0);
	double end = now_s() + max_s;
	char buf[4096];

	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(lfd, 4096) < 0)
		return perror("ktcp_cr: bind/listen"), 1;
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &(struct epoll_event){.events = EPOLLIN, .data.fd = lfd});
	printf("{\"role\":\"server\",\"ready\":true}\n");
	fflush(stdout);
	while (!stop && now_s() < end) {
		int n = epoll_wait(ep, ev, MAX_EV, 100);
		for (int i = 0; i < n; i++) {
			int fd = ev[i].data.fd;
			if (fd == lfd) {
				int s;
				while ((s = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
					if (s >= (int)(sizeof(c) / sizeof(c[0]))) {
						close(s);
						continue;
					}
					setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
					epoll_ctl(ep, EPOLL_CTL_ADD, s,
						  &(struct epoll_event){.events = EPOLLIN, .data.fd = s});
				}
				continue;
			}
			ssize_t r;
			while ((r = read(fd, buf, sizeof(buf))) > 0)
				if (write(fd, buf, (size_t)r) != r)
					break;
			if (r == 0 || (r < 0 && errno != EAGAIN)) /* FIN (all echoed) or error */
				close(fd);
		}
	}
	return 0;
}

static int start(struct conn *c, int ep, const struct sockaddr_in *dst)
{
	int one = 1;

	c->got = 0;
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (c->fd < 0)
		return -1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (const struct sockaddr *)dst, sizeof(*dst)) < 0 && errno != EINPROGRESS) {
		close(c->fd);
		c->fd = -1;
		return -1;
	}
	epoll_ctl(ep, EPOLL_CTL_ADD, c->fd,
		  &(struct epoll_event){.events = EPOLLOUT | EPOLLIN, .data.ptr = c});
	return 0;
}

static int client(const char *dst_s, int port, int bytes, int conc, double secs)
{
	static struct conn c[MAX_CONC];
	struct sockaddr_in dst = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	struct epoll_event ev[MAX_EV];
	char req[MAX_BYTES];
	unsigned long long ok = 0, echoed = 0, failed = 0;
	int ep = epoll_create1(0);

	if (inet_pton(AF_INET, dst_s, &dst.sin_addr) != 1)
		return fprintf(stderr, "ktcp_cr: bad address %s\n", dst_s), 1;
	for (int i = 0; i < bytes; i++)
		req[i] = (char)('a' + i % 26);
	double t0 = now_s(), end = t0 + secs, t1;
	for (int i = 0; i < conc; i++)
		if (start(&c[i], ep, &dst) < 0)
			failed++;
	while (!stop && (t1 = now_s()) < end) {
		int n = epoll_wait(ep, ev, MAX_EV, 100);
		for (int i = 0; i < n; i++) {
			struct conn *k = ev[i].data.ptr;
			bool over = false, bad = false;
			if (ev[i].events & EPOLLOUT) { /* connected (or refused) */
				int err = 0;
				socklen_t l = sizeof(err);
				getsockopt(k->fd, SOL_SOCKET, SO_ERROR, &err, &l);
				if (err || write(k->fd, req, (size_t)bytes) != bytes)
					over = bad = true;
				else {
					shutdown(k->fd, SHUT_WR);
					epoll_ctl(ep, EPOLL_CTL_MOD, k->fd,
						  &(struct epoll_event){.events = EPOLLIN, .data.ptr = k});
				}
			}
			if (!over && (ev[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))) {
				ssize_t r;
				while ((r = read(k->fd, k->buf + k->got, MAX_BYTES - k->got)) > 0)
					k->got += (unsigned int)r;
				if (r == 0)
					over = true;
				else if (errno != EAGAIN)
					over = bad = true;
			}
			if (!over)
				continue;
			close(k->fd);
			if (bad || !k->got)
				failed++;
			else
				ok++, echoed += k->got == (unsigned int)bytes && !memcmp(k->buf, req, bytes);
			if (start(k, ep, &dst) < 0)
				failed++;
		}
	}
	t1 = now_s();
	printf("{\"role\":\"client\",\"connections\":%llu,\"echoed\":%llu,\"failed\":%llu,"
	       "\"seconds\":%.6f,\"conns_per_sec\":%.1f}\n",
	       ok, echoed, failed, t1 - t0, (double)ok / (t1 - t0));
	return 0;
}

int main(int argc, char **argv)
{
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	if (argc == 4 && !strcmp(argv[1], "server"))
		return server(atoi(argv[2]), atof(argv[3]));
	if (argc == 7 && !strcmp(argv[1], "client")) {
		int bytes = atoi(argv[4]), conc = atoi(argv[5]);
		if (bytes < 1 || bytes > MAX_BYTES || conc < 1 || conc > MAX_CONC)
			return fprintf(stderr, "ktcp_cr: want BYTES 1-%d, CONCURRENCY 1-%d\n",
				       MAX_BYTES, MAX_CONC), 1;
		return client(argv[2], atoi(argv[3]), bytes, conc, atof(argv[6]));
	}
	fprintf(stderr, "usage: ktcp_cr server PORT MAX_S | ktcp_cr client DST PORT BYTES "
			"CONCURRENCY SECONDS\n");
	return 2;
}
