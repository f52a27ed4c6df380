/*
 * usrsctp_echo: a usrsctp (libusrsctp-dev) peer for tern-sctp's interop test.
 *
 * SCTP packets travel as plain UDP payloads between 127.0.0.1:<local> and
 * 127.0.0.1:<remote> (usrsctp's AF_CONN "lower layer" mode, the way WebRTC stacks
 * feed it DTLS records). It behaves as a minimal WebRTC data-channel peer:
 *   - connects actively (so both sides send INIT at once),
 *   - answers DCEP DATA_CHANNEL_OPEN with DATA_CHANNEL_ACK,
 *   - once up, opens channel 1 ("from-usrsctp") and sends "hello from usrsctp",
 *   - echoes every user message on its stream with its PPID and ordering,
 *   - on the text "close-me" resets its outgoing stream; on an incoming stream reset it
 *     resets its own outgoing stream (RFC 8831 §6.7).
 * Usage: usrsctp_echo [idata] <local-udp-port> <remote-udp-port>
 *   idata: offer I-DATA / I-FORWARD-TSN (RFC 8260; fragment interleave level 2) and send
 *          with the round-robin stream scheduler, so usrsctp interleaves messages too.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <usrsctp.h>

static int udp_fd;
static struct socket *sock;
static void *const CONN_ADDR = (void *)0x1;

struct pending { uint8_t *buf; size_t len, cap; };
static struct pending pending[65536];
static uint8_t reset_sent[65536];

static int conn_output(void *addr, void *buf, size_t len, uint8_t tos, uint8_t set_df) {
    (void)addr; (void)tos; (void)set_df;
    if (send(udp_fd, buf, len, 0) < 0) return errno;
    return 0;
}

static void send_msg(uint16_t sid, uint32_t ppid, const void *buf, size_t len, int unordered) {
    struct sctp_sndinfo info;
    memset(&info, 0, sizeof info);
    info.snd_sid = sid;
    info.snd_ppid = htonl(ppid);
    info.snd_flags = unordered ? SCTP_UNORDERED : 0;
    ssize_t n = usrsctp_sendv(sock, buf, len, NULL, 0, &info, sizeof info, SCTP_SENDV_SNDINFO, 0);
    if (n < 0 || (size_t)n != len) {
        fprintf(stderr, "sendv sid %u len %zu: %zd %s\n", sid, len, n, strerror(errno));
    }
}

static void reset_outgoing(uint16_t sid) {
    if (reset_sent[sid]) return;
    reset_sent[sid] = 1;
    size_t sz = sizeof(struct sctp_reset_streams) + sizeof(uint16_t);
    struct sctp_reset_streams *srs = calloc(1, sz);
    srs->srs_flags = SCTP_STREAM_RESET_OUTGOING;
    srs->srs_number_streams = 1;
    srs->srs_stream_list[0] = sid;
    if (usrsctp_setsockopt(sock, IPPROTO_SCTP, SCTP_RESET_STREAMS, srs, (socklen_t)sz) < 0) {
        fprintf(stderr, "reset %u: %s\n", sid, strerror(errno));
    }
    free(srs);
}

static void on_message(uint16_t sid, uint32_t ppid, int unordered, const uint8_t *buf, size_t len) {
    if (ppid == 50) {
        if (len > 0 && buf[0] == 0x03) {
            uint8_t ack = 0x02;
            reset_sent[sid] = 0;
            send_msg(sid, 50, &ack, 1, 0);
        }
        return;
    }
    if (ppid == 51 && len == 8 && memcmp(buf, "close-me", 8) == 0) {
        reset_outgoing(sid);
        return;
    }
    send_msg(sid, ppid, buf, len, unordered);
}

static void on_up(void) {
    static const char label[] = "from-usrsctp";
    uint8_t open[12 + sizeof label - 1];
    memset(open, 0, sizeof open);
    open[0] = 0x03;             /* DATA_CHANNEL_OPEN */
    open[1] = 0x00;             /* reliable, ordered */
    open[9] = sizeof label - 1; /* label length */
    memcpy(open + 12, label, sizeof label - 1);
    send_msg(1, 50, open, sizeof open, 0);
    send_msg(1, 51, "hello from usrsctp", 18, 0);
    printf("UP\n");
    fflush(stdout);
}

static int receive_cb(struct socket *s, union sctp_sockstore addr, void *data, size_t len,
                      struct sctp_rcvinfo rcv, int flags, void *ulp_info) {
    (void)s; (void)addr; (void)ulp_info;
    if (data == NULL) {
        printf("CLOSED\n");
        fflush(stdout);
        return 1;
    }
    if (flags & MSG_NOTIFICATION) {
        union sctp_notification *n = data;
        if (n->sn_header.sn_type == SCTP_ASSOC_CHANGE) {
            if (n->sn_assoc_change.sac_state == SCTP_COMM_UP) on_up();
            if (n->sn_assoc_change.sac_state == SCTP_SHUTDOWN_COMP) { printf("SHUTDOWN\n"); fflush(stdout); }
        } else if (n->sn_header.sn_type == SCTP_STREAM_RESET_EVENT) {
            struct sctp_stream_reset_event *e = &n->sn_strreset_event;
            if (e->strreset_flags & SCTP_STREAM_RESET_INCOMING_SSN) {
                size_t count = (e->strreset_length - sizeof *e) / sizeof(uint16_t);
                for (size_t i = 0; i < count; i++) reset_outgoing(e->strreset_stream_list[i]);
            }
        }
        free(data);
        return 1;
    }
    struct pending *p = &pending[rcv.rcv_sid];
    if (p->len + len > p->cap) {
        p->cap = (p->len + len) * 2;
        p->buf = realloc(p->buf, p->cap);
    }
    memcpy(p->buf + p->len, data, len);
    p->len += len;
    if (flags & MSG_EOR) {
        on_message(rcv.rcv_sid, ntohl(rcv.rcv_ppid), rcv.rcv_flags & SCTP_UNORDERED, p->buf, p->len);
        p->len = 0;
    }
    free(data);
    return 1;
}

static void *udp_reader(void *arg) {
    (void)arg;
    static uint8_t buf[65536];
    for (;;) {
        ssize_t n = recv(udp_fd, buf, sizeof buf, 0);
        if (n > 0) usrsctp_conninput(CONN_ADDR, buf, (size_t)n, 0);
        else if (n < 0 && errno != EINTR && errno != ECONNREFUSED) return NULL;
    }
}

static void setopt(int level, int name, const void *v, socklen_t len) {
    if (usrsctp_setsockopt(sock, level, name, v, len) < 0) {
        fprintf(stderr, "setsockopt %d: %s\n", name, strerror(errno));
        exit(1);
    }
}

#ifndef SCTP_INTERLEAVING_SUPPORTED
#define SCTP_INTERLEAVING_SUPPORTED 0x00001206 /* not in the public usrsctp.h of 0.9.5 */
#endif

int main(int argc, char **argv) {
    int idata = 0;
    const char *ports[2];
    int nports = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "idata") == 0) idata = 1;
        else if (nports < 2) ports[nports++] = argv[i];
        else nports = 3;
    }
    if (nports != 2) {
        fprintf(stderr, "usage: %s [idata] <local-port> <remote-port>\n", argv[0]);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN); /* the test may stop reading our stdout */
    udp_fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in local = { .sin_family = AF_INET, .sin_port = htons(atoi(ports[0])) };
    struct sockaddr_in remote = { .sin_family = AF_INET, .sin_port = htons(atoi(ports[1])) };
    inet_pton(AF_INET, "127.0.0.1", &local.sin_addr);
    inet_pton(AF_INET, "127.0.0.1", &remote.sin_addr);
    if (bind(udp_fd, (struct sockaddr *)&local, sizeof local) < 0) { perror("bind"); return 1; }
    if (connect(udp_fd, (struct sockaddr *)&remote, sizeof remote) < 0) { perror("connect"); return 1; }

    usrsctp_init(0, conn_output, NULL);
    /* Room for whole echoed messages: a non-blocking send never splits one. */
    usrsctp_sysctl_set_sctp_sendspace(8 * 1024 * 1024);
    usrsctp_sysctl_set_sctp_recvspace(8 * 1024 * 1024);
    usrsctp_sysctl_set_sctp_ecn_enable(0);
    usrsctp_register_address(CONN_ADDR);
    pthread_t t;
    pthread_create(&t, NULL, udp_reader, NULL);

    sock = usrsctp_socket(AF_CONN, SOCK_STREAM, IPPROTO_SCTP, receive_cb, NULL, 0, NULL);
    if (!sock) { perror("usrsctp_socket"); return 1; }
    const int on = 1;
    setopt(IPPROTO_SCTP, SCTP_RECVRCVINFO, &on, sizeof on);
    setopt(IPPROTO_SCTP, SCTP_NODELAY, &on, sizeof on);
    const int bufsize = 8 * 1024 * 1024;
    setopt(SOL_SOCKET, SO_SNDBUF, &bufsize, sizeof bufsize);
    setopt(SOL_SOCKET, SO_RCVBUF, &bufsize, sizeof bufsize);
    struct sctp_assoc_value av = { .assoc_id = SCTP_ALL_ASSOC, .assoc_value = SCTP_ENABLE_RESET_STREAM_REQ };
    setopt(IPPROTO_SCTP, SCTP_ENABLE_STREAM_RESET, &av, sizeof av);
    struct sctp_initmsg init = { .sinit_num_ostreams = 1024, .sinit_max_instreams = 1024 };
    setopt(IPPROTO_SCTP, SCTP_INITMSG, &init, sizeof init);
    if (idata) {
        const int level = 2;
        setopt(IPPROTO_SCTP, SCTP_FRAGMENT_INTERLEAVE, &level, sizeof level);
        struct sctp_assoc_value il = { .assoc_id = SCTP_FUTURE_ASSOC, .assoc_value = 1 };
        setopt(IPPROTO_SCTP, SCTP_INTERLEAVING_SUPPORTED, &il, sizeof il);
        struct sctp_assoc_value ss = { .assoc_id = SCTP_FUTURE_ASSOC, .assoc_value = SCTP_SS_ROUND_ROBIN };
        setopt(IPPROTO_SCTP, SCTP_PLUGGABLE_SS, &ss, sizeof ss);
    }
    uint16_t events[] = { SCTP_ASSOC_CHANGE, SCTP_STREAM_RESET_EVENT };
    for (size_t i = 0; i < sizeof events / sizeof events[0]; i++) {
        struct sctp_event ev = { .se_assoc_id = SCTP_ALL_ASSOC, .se_type = events[i], .se_on = 1 };
        setopt(IPPROTO_SCTP, SCTP_EVENT, &ev, sizeof ev);
    }
    struct sockaddr_conn sconn = { .sconn_family = AF_CONN, .sconn_port = htons(5000), .sconn_addr = CONN_ADDR };
    if (usrsctp_bind(sock, (struct sockaddr *)&sconn, sizeof sconn) < 0) { perror("usrsctp_bind"); return 1; }
    usrsctp_set_non_blocking(sock, 1);
    if (usrsctp_connect(sock, (struct sockaddr *)&sconn, sizeof sconn) < 0 && errno != EINPROGRESS) {
        perror("usrsctp_connect");
        return 1;
    }
    /* In COOKIE-WAIT now: an INIT from the test collides instead of being refused. */
    printf("READY\n");
    fflush(stdout);
    for (;;) pause();
}
