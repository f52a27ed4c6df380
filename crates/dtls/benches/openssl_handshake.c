/* OpenSSL side of `cargo bench -p tern-dtls --bench vs_openssl`: CPU time of complete DTLS 1.2
 * handshakes, client and server in one thread over memory BIOs, with the profile Tern's bench
 * uses: ECDHE-ECDSA-AES128-GCM-SHA256, the given group, P-256 self-signed certificates on both
 * sides (the client certificate requested and accepted as WebRTC does), extended master secret,
 * use_srtp SRTP_AEAD_AES_128_GCM, no cookie exchange, MTU 1200.
 * Prints the best of <rounds> rounds of <n> handshakes in microseconds per handshake:
 *   openssl <group> <us> <version>
 * Usage: openssl_handshake <X25519|P-256> <rounds> <n>
 * (P-256 stays in the group list after X25519: a TLS 1.2 ECDSA certificate's curve must be a
 * supported group, RFC 8422 §5.1.)
 * Build: cc -O2 openssl_handshake.c -lssl -lcrypto
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

static double now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int accept_any(int ok, X509_STORE_CTX *ctx) {
    (void)ok;
    (void)ctx;
    return 1; /* WebRTC checks the fingerprint, not a chain */
}

static void self_signed(EVP_PKEY **key, X509 **cert) {
    *key = EVP_EC_gen("P-256");
    *cert = X509_new();
    X509_set_version(*cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(*cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(*cert), 0);
    X509_gmtime_adj(X509_getm_notAfter(*cert), 86400);
    X509_set_pubkey(*cert, *key);
    X509_NAME *name = X509_get_subject_name(*cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"bench", -1, -1, 0);
    X509_set_issuer_name(*cert, name);
    X509_sign(*cert, *key, EVP_sha256());
}

static SSL_CTX *ctx_for(int server, const char *group) {
    SSL_CTX *ctx = SSL_CTX_new(DTLS_method());
    SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(ctx, DTLS1_2_VERSION);
    SSL_CTX_set_cipher_list(ctx, "ECDHE-ECDSA-AES128-GCM-SHA256");
    SSL_CTX_set1_groups_list(ctx, strcmp(group, "X25519") == 0 ? "X25519:P-256" : group);
    SSL_CTX_set_tlsext_use_srtp(ctx, "SRTP_AEAD_AES_128_GCM");
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_NO_QUERY_MTU);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    EVP_PKEY *key;
    X509 *cert;
    self_signed(&key, &cert);
    SSL_CTX_use_certificate(ctx, cert);
    SSL_CTX_use_PrivateKey(ctx, key);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | (server ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0),
                       accept_any);
    X509_free(cert);
    EVP_PKEY_free(key);
    return ctx;
}

static int handshake(SSL_CTX *cctx, SSL_CTX *sctx) {
    SSL *c = SSL_new(cctx), *s = SSL_new(sctx);
    BIO *c2s = BIO_new(BIO_s_mem()), *s2c = BIO_new(BIO_s_mem());
    BIO_set_mem_eof_return(c2s, -1);
    BIO_set_mem_eof_return(s2c, -1);
    BIO_up_ref(c2s);
    BIO_up_ref(s2c);
    SSL_set_bio(c, s2c, c2s);
    SSL_set_bio(s, c2s, s2c);
    DTLS_set_link_mtu(c, 1200);
    DTLS_set_link_mtu(s, 1200);
    SSL_set_connect_state(c);
    SSL_set_accept_state(s);
    int ok = 0;
    for (int i = 0; i < 20 && !ok; i++) {
        SSL_do_handshake(c);
        SSL_do_handshake(s);
        ok = SSL_is_init_finished(c) && SSL_is_init_finished(s);
    }
    SSL_free(c);
    SSL_free(s);
    return ok;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s <group> <rounds> <n>\n", argv[0]);
        return 2;
    }
    const char *group = argv[1];
    int rounds = atoi(argv[2]), n = atoi(argv[3]);
    SSL_CTX *cctx = ctx_for(0, group), *sctx = ctx_for(1, group);
    if (!handshake(cctx, sctx)) {
        ERR_print_errors_fp(stderr);
        fprintf(stderr, "handshake failed\n");
        return 1;
    }
    double best = 1e300;
    for (int r = 0; r < rounds; r++) {
        double t0 = now_us();
        for (int i = 0; i < n; i++) {
            if (!handshake(cctx, sctx)) {
                fprintf(stderr, "handshake failed\n");
                return 1;
            }
        }
        double per = (now_us() - t0) / n;
        if (per < best) {
            best = per;
        }
    }
    printf("openssl %s %.1f %s\n", group, best, OpenSSL_version(OPENSSL_VERSION));
    SSL_CTX_free(cctx);
    SSL_CTX_free(sctx);
    return 0;
}
