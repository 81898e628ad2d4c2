// Linux calls that Swift's Glibc module leaves out (epoll, eventfd, signalfd, accept4).
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <signal.h>
int accept4(int, struct sockaddr *, socklen_t *, int);
