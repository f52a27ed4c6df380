/* libsrtp side of `cargo bench -p tern-srtp --bench vs_libsrtp`.
 *
 * Protects and unprotects a 1200-byte RTP packet (12-byte header, 1188-byte payload, a fresh
 * sequence number each time) with one sender and one receiver session, exactly as the Rust side
 * of the benchmark does, and prints the best round in ns per protect+unprotect pair:
 *   <figure> <ns>
 * Usage: libsrtp_harness <aes_cm_128_hmac_sha1_80|aead_aes_128_gcm> <rounds> <packets/round>
 * Build: cc -O2 libsrtp_harness.c -I<libsrtp>/include -L<libsrtp> -lsrtp2 -lcrypto
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <srtp2/srtp.h>

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s <figure> <rounds> <packets>\n", argv[0]);
        return 2;
    }
    const char *figure = argv[1];
    int rounds = atoi(argv[2]);
    int packets = atoi(argv[3]);
    int gcm = strcmp(figure, "aead_aes_128_gcm") == 0;
    if (!gcm && strcmp(figure, "aes_cm_128_hmac_sha1_80") != 0) {
        fprintf(stderr, "unknown figure %s\n", figure);
        return 2;
    }
    if (srtp_init() != srtp_err_status_ok) {
        return 1;
    }
    /* Same master key and salt bytes as the Rust side: 0x42 x key, 0x17 x salt. */
    unsigned char key[46];
    int key_len = gcm ? 16 : 16, salt_len = gcm ? 12 : 14;
    memset(key, 0x42, key_len);
    memset(key + key_len, 0x17, salt_len);
    srtp_policy_t tx_policy, rx_policy;
    memset(&tx_policy, 0, sizeof tx_policy);
    if (gcm) {
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&tx_policy.rtp);
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&tx_policy.rtcp);
    } else {
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&tx_policy.rtp);
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&tx_policy.rtcp);
    }
    tx_policy.key = key;
    tx_policy.window_size = 1024;
    tx_policy.ssrc.type = ssrc_any_outbound;
    rx_policy = tx_policy;
    rx_policy.ssrc.type = ssrc_any_inbound;
    srtp_t tx, rx;
    if (srtp_create(&tx, &tx_policy) != srtp_err_status_ok ||
        srtp_create(&rx, &rx_policy) != srtp_err_status_ok) {
        fprintf(stderr, "srtp_create failed (is libsrtp built with OpenSSL for GCM?)\n");
        return 1;
    }
    unsigned char plain[1200];
    memset(plain, 0xab, sizeof plain);
    plain[0] = 0x80;
    plain[1] = 96;
    plain[4] = plain[5] = plain[6] = 0;
    plain[7] = 1;
    plain[8] = 0xca; plain[9] = 0xfe; plain[10] = 0xba; plain[11] = 0xbe;
    unsigned char buf[1300];
    uint16_t seq = 0;
    double best = 1e300;
    for (int r = 0; r < rounds; r++) {
        double t0 = now_ns();
        for (int i = 0; i < packets; i++) {
            memcpy(buf, plain, sizeof plain);
            buf[2] = (unsigned char)(seq >> 8);
            buf[3] = (unsigned char)seq;
            seq++;
            int len = (int)sizeof plain;
            if (srtp_protect(tx, buf, &len) != srtp_err_status_ok) {
                fprintf(stderr, "protect failed\n");
                return 1;
            }
            if (srtp_unprotect(rx, buf, &len) != srtp_err_status_ok || len != 1200) {
                fprintf(stderr, "unprotect failed\n");
                return 1;
            }
        }
        double per = (now_ns() - t0) / packets;
        if (per < best) {
            best = per;
        }
    }
    printf("%s %.1f %s\n", figure, best, srtp_get_version_string());
    srtp_dealloc(tx);
    srtp_dealloc(rx);
    return 0;
}
