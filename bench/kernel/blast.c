#define _GNU_SOURCE
// Sends one prebuilt UDP frame as fast as it can on an interface (AF_PACKET, sendmmsg batches of
// 64) for a number of seconds: the sender of bench/kernel_nft.sh. Prints frames sent.
//   blast IFNAME SECONDS
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

static unsigned short csum(const unsigned char *p, int n) {
    unsigned long s = 0;
    for (int i = 0; i < n; i += 2) s += (p[i] << 8) | p[i + 1];
    while (s >> 16) s = (s & 0xffff) + (s >> 16);
    return (unsigned short)~s;
}

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: blast IFNAME SECONDS\n"); return 2; }
    int fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
    if (fd < 0) { perror("socket"); return 1; }
    struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_ifindex = (int)if_nametoindex(argv[1]), .sll_halen = 6 };
    if (!sll.sll_ifindex) { perror("if_nametoindex"); return 1; }
    // 60 bytes: Ethernet, IPv4 198.18.0.9 -> 198.18.0.1, UDP 40000 -> 80, 18 bytes of payload.
    unsigned char f[60] = { 0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0xff, 0x01, 0x08, 0x00,
                            0x45, 0, 0, 46, 0, 0, 0x40, 0, 64, 17, 0, 0, 198, 18, 0, 9, 198, 18, 0, 1,
                            0x9c, 0x40, 0, 80, 0, 26, 0, 0 };
    unsigned short c = csum(f + 14, 20);
    f[24] = c >> 8; f[25] = c & 0xff;
    struct iovec iov = { f, sizeof f };
    struct mmsghdr m[64];
    for (int i = 0; i < 64; i++) {
        memset(&m[i], 0, sizeof m[i]);
        m[i].msg_hdr.msg_name = &sll; m[i].msg_hdr.msg_namelen = sizeof sll;
        m[i].msg_hdr.msg_iov = &iov; m[i].msg_hdr.msg_iovlen = 1;
    }
    double secs = atof(argv[2]);
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    long sent = 0;
    for (;;) {
        int n = sendmmsg(fd, m, 64, 0);
        if (n > 0) sent += n;
        clock_gettime(CLOCK_MONOTONIC, &t);
        if ((t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) / 1e9 >= secs) break;
    }
    printf("%ld\n", sent);
    return 0;
}
