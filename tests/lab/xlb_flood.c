// SPDX-License-Identifier: GPL-2.0
/* xlb_flood.c: the lab's spoofed-flood generator. Sends TCP SYNs and ACKs
 * of random 5-tuples (random source address in a /16, random source port)
 * to one IPv4 address and port through a raw socket, the way a SYN or ACK
 * flood reaches a load balancer: one packet per flow, never a second one.
 * Bounded in count and time; meant for the client namespace of the veth lab
 * (tests/lab/lab.sh) only, with lab addresses.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <linux/types.h>

#define MAX_COUNT   10000000UL
#define MAX_SECONDS 600UL

static const char usage_text[] =
    "Usage: xlb-flood [-n COUNT] [-T SECONDS] [-r PPS] [-s NET] [-f syn|ack|mix] ADDR PORT\n"
    "Sends COUNT (default 200000, at most 10000000) TCP packets to ADDR:PORT from\n"
    "random sources in NET.0.0/16 (default 198.19) and random ports, as fast as the\n"
    "socket takes them or at PPS packets a second (1-10000000), stopping after\n"
    "SECONDS (default 60, at most 600) whatever is left. -f: SYNs, ACKs, or both\n"
    "alternating (default mix). Prints \"sent N in S s\". Needs CAP_NET_RAW; run it\n"
    "in a lab namespace only.\n";

static __u64 rng_state = 0x2545f4914f6cdd1dULL;

static __u64 rng(void)
{
	/* xorshift64*: random enough that no 5-tuple repeats in practice */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int parse_ul(const char *text, unsigned long min, unsigned long max, unsigned long *out)
{
	char *end;

	if (!*text || strspn(text, "0123456789") != strlen(text) || strlen(text) > 10)
		return -1;
	*out = strtoul(text, &end, 10);
	return *out < min || *out > max ? -1 : 0;
}

static __u16 csum_fold(__u32 sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

static __u32 csum_add(__u32 sum, const void *buf, size_t len)
{
	const __u8 *p = buf;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (__u32)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (__u32)(p[len - 1] << 8);
	return sum;
}

struct frame {
	struct iphdr ip;
	struct tcphdr tcp;
} __attribute__((packed));

/* One flood packet: a fresh 5-tuple, SYN or ACK, valid checksums (a
 * backend that gets it answers, as it would a real one). */
static void fill(struct frame *f, __be32 net, __be32 dst, __be16 dport, int syn)
{
	__u64 r = rng();
	struct {
		__be32 src, dst;
		__u8 zero, proto;
		__be16 len;
	} ph;
	__u32 sum;

	memset(f, 0, sizeof(*f));
	f->ip.version = 4;
	f->ip.ihl = 5;
	f->ip.tot_len = htons(sizeof(*f));
	f->ip.id = (__u16)r;
	f->ip.ttl = 64;
	f->ip.protocol = IPPROTO_TCP;
	f->ip.saddr = net | htonl((__u32)(r >> 16) & 0xffff);
	f->ip.daddr = dst;
	f->ip.check = htons(csum_fold(csum_add(0, &f->ip, sizeof(f->ip))));
	f->tcp.source = htons((__u16)(1024 + (r >> 32) % 64511));
	f->tcp.dest = dport;
	f->tcp.seq = htonl((__u32)(r >> 24));
	f->tcp.ack_seq = syn ? 0 : htonl((__u32)r);
	f->tcp.doff = 5;
	f->tcp.syn = !!syn;
	f->tcp.ack = !syn;
	f->tcp.window = htons(65535);
	ph.src = f->ip.saddr;
	ph.dst = f->ip.daddr;
	ph.zero = 0;
	ph.proto = IPPROTO_TCP;
	ph.len = htons(sizeof(f->tcp));
	sum = csum_add(csum_add(0, &ph, sizeof(ph)), &f->tcp, sizeof(f->tcp));
	f->tcp.check = htons(csum_fold(sum));
}

int main(int argc, char **argv)
{
	unsigned long count = 200000, seconds = 60, rate = 0, port, sent = 0;
	const char *net_text = "198.19", *mode = "mix";
	struct sockaddr_in to = {.sin_family = AF_INET};
	char net_full[32];
	struct in_addr net;
	double start, deadline;
	int c, fd, one = 1;

	while ((c = getopt(argc, argv, "n:T:r:s:f:h")) != -1) {
		switch (c) {
		case 'n':
			if (parse_ul(optarg, 1, MAX_COUNT, &count))
				goto usage;
			break;
		case 'T':
			if (parse_ul(optarg, 1, MAX_SECONDS, &seconds))
				goto usage;
			break;
		case 'r':
			if (parse_ul(optarg, 1, MAX_COUNT, &rate))
				goto usage;
			break;
		case 's':
			net_text = optarg;
			break;
		case 'f':
			mode = optarg;
			if (strcmp(mode, "syn") && strcmp(mode, "ack") && strcmp(mode, "mix"))
				goto usage;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		default:
			goto usage;
		}
	}
	if (argc - optind != 2 || inet_pton(AF_INET, argv[optind], &to.sin_addr) != 1 ||
	    parse_ul(argv[optind + 1], 1, 65535, &port))
		goto usage;
	snprintf(net_full, sizeof(net_full), "%s.0.0", net_text);
	if (inet_pton(AF_INET, net_full, &net) != 1)
		goto usage;
	fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
	if (fd < 0 || setsockopt(fd, IPPROTO_IP, IP_HDRINCL, &one, sizeof(one))) {
		fprintf(stderr, "Error: cannot open a raw socket: %s, expected CAP_NET_RAW\n",
			strerror(errno));
		return 1;
	}
	rng_state ^= (__u64)getpid() << 32 ^ (__u64)time(NULL);
	start = now_s();
	deadline = start + (double)seconds;
	while (sent < count) {
		struct frame f;
		int syn = !strcmp(mode, "syn") || (!strcmp(mode, "mix") && (sent & 1) == 0);

		/* The clock every 1024 packets: cheap, and bounded all the same;
		 * with a rate, ahead of it sleeps until it is due. */
		if ((sent & 1023) == 0) {
			double t = now_s(), due = rate ? start + (double)sent / rate : t;

			if (t > deadline)
				break;
			if (due > t)
				usleep((useconds_t)((due - t) * 1e6));
		}
		fill(&f, net.s_addr, to.sin_addr.s_addr, htons((__u16)port), syn);
		if (sendto(fd, &f, sizeof(f), 0, (struct sockaddr *)&to, sizeof(to)) < 0) {
			/* A full queue: back off a little, it is a flood. */
			if (errno == ENOBUFS || errno == EAGAIN) {
				usleep(100);
				continue;
			}
			fprintf(stderr, "Error: send: %s\n", strerror(errno));
			close(fd);
			return 1;
		}
		sent++;
	}
	close(fd);
	printf("sent %lu in %.2f s\n", sent, now_s() - start);
	return sent == count ? 0 : 1;
usage:
	fprintf(stderr, "Error: bad arguments, expected:\n%s", usage_text);
	return 2;
}
