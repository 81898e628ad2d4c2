#define _GNU_SOURCE
// The real kernel's side of txbench's loopback figure: one thread sends 18-byte UDP datagrams to
// its own socket on 127.0.0.1:5000 (sendmmsg, batches of 64) and reads them back (recvmmsg), for a
// number of seconds; prints datagrams/s and ns per datagram (sendto and recvfrom included, as the
// model's figure includes its send and recv calls). Run it in a namespace of its own (lo up):
//   ip netns add u; ip -n u link set lo up; ip netns exec u ./udplo 5
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

int main(int argc, char **argv) {
    double secs = argc > 1 ? atof(argv[1]) : 5;
    int rx = socket(AF_INET, SOCK_DGRAM, 0), tx = socket(AF_INET, SOCK_DGRAM, 0);
    int big = 1 << 26;
    setsockopt(rx, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big);
    setsockopt(tx, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof big);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(5000)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (bind(rx, (struct sockaddr *)&a, sizeof a) != 0) { perror("bind"); return 1; }
    enum { B = 64 };
    char payload[18], bufs[B][64];
    memset(payload, 'a', sizeof payload);
    struct iovec siov = {payload, sizeof payload}, riov[B];
    struct mmsghdr sm[B], rm[B];
    for (int i = 0; i < B; i++) {
        sm[i] = (struct mmsghdr){.msg_hdr = {.msg_name = &a, .msg_namelen = sizeof a, .msg_iov = &siov, .msg_iovlen = 1}};
        riov[i] = (struct iovec){bufs[i], sizeof bufs[i]};
        rm[i] = (struct mmsghdr){.msg_hdr = {.msg_iov = &riov[i], .msg_iovlen = 1}};
    }
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    long n = 0;
    double el = 0;
    while (el < secs) {
        int s = sendmmsg(tx, sm, B, 0);
        int got = 0;
        while (got < s) { int r = recvmmsg(rx, rm, B, MSG_DONTWAIT, NULL); if (r <= 0) break; got += r; }
        n += got;
        clock_gettime(CLOCK_MONOTONIC, &t);
        el = (t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) / 1e9;
    }
    printf("kernel over lo: %ld datagrams in %.2f s: %.2f M datagrams/s, %.0f ns/datagram (send and receive calls included)\n", n, el, n / el / 1e6, el * 1e9 / n);
    return 0;
}
