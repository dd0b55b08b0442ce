/* Planted bug (survive-reset): ok_poll.c without `signal(SIGPIPE, SIG_IGN)` and without
 * MSG_NOSIGNAL, as a C server written without thinking of SIGPIPE is.  Correct otherwise.  A
 * send() to a client that half-closed and then reset, while the server still owes it replies,
 * raises SIGPIPE, whose default action ends the process: in a shell, and so under the suite.
 * (The first send() after a reset in an open connection fails with ECONNRESET instead: only a
 * reset after the client's FIN, the server in CLOSE_WAIT, turns the next send into EPIPE.)
 * Build: cc sigpipe_dies.c -o sigpipe_dies      Usage: ./sigpipe_dies PORT [HOST]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAXFD 4096
#define CHUNK 65536
#define LIMIT (1 << 20)

struct conn { char *buf; size_t len, off, cap; int eof; };
static struct pollfd pfd[MAXFD];
static struct conn conns[MAXFD];
static int n = 1; /* pfd[0] is the listener */

static void drop(int i) {
    close(pfd[i].fd);
    free(conns[i].buf);
    n--;
    pfd[i] = pfd[n];
    conns[i] = conns[n];
    pfd[0].events = POLLIN; /* room again if accept had hit a limit */
}

/* Returns 0 if connection i was closed (the slot now holds another connection). */
static int serve(int i, short rev) {
    struct conn *c = &conns[i];
    static char tmp[CHUNK];
    if ((rev & (POLLIN | POLLHUP | POLLERR)) && !c->eof && c->len - c->off < LIMIT) {
        ssize_t r = recv(pfd[i].fd, tmp, CHUNK, 0);
        if (r == 0) c->eof = 1;
        else if (r < 0 && errno != EAGAIN && errno != EINTR) { drop(i); return 0; }
        else if (r > 0) {
            if (c->len + r > c->cap && c->off) { /* reuse the space already sent */
                memmove(c->buf, c->buf + c->off, c->len - c->off);
                c->len -= c->off;
                c->off = 0;
            }
            if (c->len + r > c->cap) {
                size_t cap = (c->len + r) * 2;
                char *b = realloc(c->buf, cap);
                if (!b) { drop(i); return 0; }
                c->buf = b;
                c->cap = cap;
            }
            for (ssize_t k = 0; k < r; k++)
                c->buf[c->len++] = tmp[k] >= 'a' && tmp[k] <= 'z' ? tmp[k] - 32 : tmp[k];
        }
    }
    if (c->len > c->off) {
        ssize_t w = send(pfd[i].fd, c->buf + c->off, c->len - c->off, 0);
        if (w < 0 && errno != EAGAIN && errno != EINTR) { drop(i); return 0; }
        if (w > 0) c->off += w;
        if (c->off == c->len) c->off = c->len = 0;
    }
    if (c->eof && c->len == c->off) { drop(i); return 0; }
    pfd[i].events = (c->eof || c->len - c->off >= LIMIT ? 0 : POLLIN)
                  | (c->len > c->off ? POLLOUT : 0);
    return 1;
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: %s PORT [HOST]\n", argv[0]); return 2; }
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(atoi(argv[1])) };
    if (inet_pton(AF_INET, argc > 2 ? argv[2] : "127.0.0.1", &sa.sin_addr) != 1) {
        fprintf(stderr, "bad host (an IPv4 address is expected)\n");
        return 2;
    }
    int one = 1, ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof sa) || listen(ls, 512)) {
        perror("listen");
        return 1;
    }
    pfd[0] = (struct pollfd){ .fd = ls, .events = POLLIN };
    for (;;) {
        if (poll(pfd, n, -1) < 0) { if (errno == EINTR) continue; perror("poll"); return 1; }
        for (int i = n - 1; i >= 1; i--) /* backwards: drop() moves the last slot into i */
            if (pfd[i].revents) serve(i, pfd[i].revents);
        if (pfd[0].revents & POLLIN) {
            while (n < MAXFD) {
                int fd = accept4(ls, NULL, NULL, SOCK_NONBLOCK);
                if (fd < 0) {
                    if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                        pfd[0].events = 0; /* until a connection closes (drop) */
                    break;
                }
                pfd[n] = (struct pollfd){ .fd = fd, .events = POLLIN };
                conns[n++] = (struct conn){ 0 };
            }
            if (n == MAXFD) pfd[0].events = 0;
        }
    }
}
