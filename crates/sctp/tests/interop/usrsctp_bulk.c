/*
 * usrsctp_bulk: a usrsctp (libusrsctp-dev) bulk sender or receiver for tern-sctp's
 * side-by-side throughput bench (benches/vs_usrsctp.rs). SCTP packets are plain UDP
 * payloads between 127.0.0.1 ports, as in usrsctp_echo.c.
 *
 *   usrsctp_bulk send <count> <size> <local-port> <remote-port>
 *       once up, sends <count> messages of <size> bytes, PPID 53 (binary), reliable and
 *       ordered on stream 0 (a negotiated data channel: no DCEP), then waits for the text
 *       "done" from the receiver and prints "ELAPSED <microseconds>" from the first send.
 *   usrsctp_bulk recv <total-bytes> <local-port> <remote-port>
 *       counts PPID 53 payload bytes on stream 0; at <total-bytes> sends "done" (PPID 51).
 * Both connect actively (INIT collision, as WebRTC peers do) and print READY once bound.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <usrsctp.h>

static int udp_fd;
static struct socket *sock;
static void *const CONN_ADDR = (void *)0x2;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int up, done;
static unsigned long long received, target;

static int conn_output(void *addr, void *buf, size_t len, uint8_t tos, uint8_t set_df) {
    (void)addr; (void)tos; (void)set_df;
    if (send(udp_fd, buf, len, 0) < 0) return errno;
    return 0;
}

static void send_msg(uint32_t ppid, const void *buf, size_t len) {
    struct sctp_sndinfo info;
    memset(&info, 0, sizeof info);
    info.snd_sid = 0;
    info.snd_ppid = htonl(ppid);
    for (;;) {
        ssize_t n = usrsctp_sendv(sock, buf, len, NULL, 0, &info, sizeof info, SCTP_SENDV_SNDINFO, 0);
        if (n == (ssize_t)len) return;
        if (n < 0 && (errno == EWOULDBLOCK || errno == EAGAIN || errno == ENOBUFS)) {
            usleep(50);
            continue;
        }
        fprintf(stderr, "sendv len %zu: %zd %s\n", len, n, strerror(errno));
        exit(1);
    }
}

static void signal_flag(int *flag) {
    pthread_mutex_lock(&lock);
    *flag = 1;
    pthread_cond_broadcast(&cond);
    pthread_mutex_unlock(&lock);
}

static void wait_flag(int *flag) {
    pthread_mutex_lock(&lock);
    while (!*flag) pthread_cond_wait(&cond, &lock);
    pthread_mutex_unlock(&lock);
}

static int receive_cb(struct socket *s, union sctp_sockstore addr, void *data, size_t len,
                      struct sctp_rcvinfo rcv, int flags, void *ulp_info) {
    (void)s; (void)addr; (void)ulp_info;
    if (data == NULL) return 1;
    if (flags & MSG_NOTIFICATION) {
        union sctp_notification *n = data;
        if (n->sn_header.sn_type == SCTP_ASSOC_CHANGE &&
            n->sn_assoc_change.sac_state == SCTP_COMM_UP) signal_flag(&up);
        free(data);
        return 1;
    }
    uint32_t ppid = ntohl(rcv.rcv_ppid);
    if (ppid == 53 && target > 0) {
        received += len;
        if (received >= target && !done) {
            done = 1;
            send_msg(51, "done", 4);
            printf("RECEIVED %llu\n", received);
            fflush(stdout);
        }
    } else if (ppid == 51 && len == 4 && memcmp(data, "done", 4) == 0) {
        signal_flag(&done);
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

static unsigned long long now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (unsigned long long)ts.tv_sec * 1000000ull + (unsigned long long)ts.tv_nsec / 1000;
}

int main(int argc, char **argv) {
    int sender = argc == 6 && strcmp(argv[1], "send") == 0;
    int receiver = argc == 5 && strcmp(argv[1], "recv") == 0;
    if (!sender && !receiver) {
        fprintf(stderr, "usage: %s send <count> <size> <local> <remote> | recv <bytes> <local> <remote>\n", argv[0]);
        return 2;
    }
    unsigned long count = 0, size = 0;
    if (sender) {
        count = strtoul(argv[2], NULL, 10);
        size = strtoul(argv[3], NULL, 10);
    } else {
        target = strtoull(argv[2], NULL, 10);
    }
    const char *lport = argv[argc - 2], *rport = argv[argc - 1];
    signal(SIGPIPE, SIG_IGN);
    udp_fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in local = { .sin_family = AF_INET, .sin_port = htons(atoi(lport)) };
    struct sockaddr_in remote = { .sin_family = AF_INET, .sin_port = htons(atoi(rport)) };
    inet_pton(AF_INET, "127.0.0.1", &local.sin_addr);
    inet_pton(AF_INET, "127.0.0.1", &remote.sin_addr);
    if (bind(udp_fd, (struct sockaddr *)&local, sizeof local) < 0) { perror("bind"); return 1; }
    if (connect(udp_fd, (struct sockaddr *)&remote, sizeof remote) < 0) { perror("connect"); return 1; }

    usrsctp_init(0, conn_output, NULL);
    /* The same windows as tern-sctp's defaults: 4 MiB receive window. */
    usrsctp_sysctl_set_sctp_sendspace(4 * 1024 * 1024);
    usrsctp_sysctl_set_sctp_recvspace(4 * 1024 * 1024);
    usrsctp_sysctl_set_sctp_ecn_enable(0);
    usrsctp_register_address(CONN_ADDR);
    pthread_t t;
    pthread_create(&t, NULL, udp_reader, NULL);

    sock = usrsctp_socket(AF_CONN, SOCK_STREAM, IPPROTO_SCTP, receive_cb, NULL, 0, NULL);
    if (!sock) { perror("usrsctp_socket"); return 1; }
    const int on = 1;
    setopt(IPPROTO_SCTP, SCTP_RECVRCVINFO, &on, sizeof on);
    setopt(IPPROTO_SCTP, SCTP_NODELAY, &on, sizeof on);
    const int bufsize = 4 * 1024 * 1024;
    setopt(SOL_SOCKET, SO_SNDBUF, &bufsize, sizeof bufsize);
    setopt(SOL_SOCKET, SO_RCVBUF, &bufsize, sizeof bufsize);
    struct sctp_initmsg init = { .sinit_num_ostreams = 1024, .sinit_max_instreams = 1024 };
    setopt(IPPROTO_SCTP, SCTP_INITMSG, &init, sizeof init);
    struct sctp_event ev = { .se_assoc_id = SCTP_ALL_ASSOC, .se_type = SCTP_ASSOC_CHANGE, .se_on = 1 };
    setopt(IPPROTO_SCTP, SCTP_EVENT, &ev, sizeof ev);
    struct sockaddr_conn sconn = { .sconn_family = AF_CONN, .sconn_port = htons(5000), .sconn_addr = CONN_ADDR };
    if (usrsctp_bind(sock, (struct sockaddr *)&sconn, sizeof sconn) < 0) { perror("usrsctp_bind"); return 1; }
    usrsctp_set_non_blocking(sock, 1);
    if (usrsctp_connect(sock, (struct sockaddr *)&sconn, sizeof sconn) < 0 && errno != EINPROGRESS) {
        perror("usrsctp_connect");
        return 1;
    }
    printf("READY\n");
    fflush(stdout);
    if (receiver) {
        for (;;) pause();
    }
    wait_flag(&up);
    usrsctp_set_non_blocking(sock, 0); /* sendv waits for send-buffer space */
    uint8_t *msg = malloc(size);
    for (unsigned long i = 0; i < size; i++) msg[i] = (uint8_t)(i * 7);
    unsigned long long start = now_us();
    for (unsigned long i = 0; i < count; i++) send_msg(53, msg, size);
    wait_flag(&done);
    printf("ELAPSED %llu\n", now_us() - start);
    fflush(stdout);
    for (;;) pause();
}
