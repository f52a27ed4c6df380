/* Runs speexdsp's echo canceller over a far-end and a near-end recording, the same way the
 * libwebrtc AEC3 harness and tern-aec's interop test do: 10 ms frames, far end and near end of
 * the same frame together. speexdsp's documented usage: the MDF echo canceller
 * (speex_echo_state_init_mc, 200 ms filter: the 40-45 ms rooms' delay plus their tail, since
 * speexdsp has no delay estimator) followed by the preprocessor with the echo state attached,
 * which suppresses the residual echo. That suppression is part of speexdsp's denoiser, so the
 * denoiser stays on (its defaults: -15 dB noise, -40 dB echo, -15 dB echo with near-end speech);
 * AGC, VAD and dereverberation stay off (their defaults).
 *
 * usage: speexdsp_aec RATE FAR.pcm NEAR.pcm OUT.pcm
 *   *.pcm: raw s16le mono at RATE (16000 or 48000).
 * prints {"frames", "filter_ms", "cpu_s"} (cpu_s: process CPU time of the processing loop).
 */
#define _POSIX_C_SOURCE 199309L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <speex/speex_echo.h>
#include <speex/speex_preprocess.h>

#define FILTER_MS 200

static int16_t *read_pcm(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  size_t cap = 1 << 16, n = 0;
  int16_t *buf = malloc(cap * sizeof *buf);
  unsigned char b[2];
  while (buf && fread(b, 1, 2, f) == 2) {
    if (n == cap) {
      cap *= 2;
      int16_t *nb = realloc(buf, cap * sizeof *buf);
      if (!nb) {
        free(buf);
        buf = NULL;
        break;
      }
      buf = nb;
    }
    buf[n++] = (int16_t)(uint16_t)(b[0] | (b[1] << 8));
  }
  fclose(f);
  *len = n;
  return buf;
}

static double cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: speexdsp_aec RATE FAR.pcm NEAR.pcm OUT.pcm\n");
    return 2;
  }
  int rate = atoi(argv[1]);
  size_t far_len = 0, near_len = 0;
  int16_t *far = NULL, *near = NULL;
  if ((rate != 16000 && rate != 48000) || !(far = read_pcm(argv[2], &far_len)) ||
      !(near = read_pcm(argv[3], &near_len))) {
    fprintf(stderr, "bad rate or unreadable input\n");
    return 2;
  }
  const int frame = rate / 100;
  const int filter = rate * FILTER_MS / 1000;
  const size_t frames = (far_len < near_len ? far_len : near_len) / (size_t)frame;
  int16_t *out = calloc(frames * (size_t)frame + 1, sizeof *out);
  if (!out) return 1;

  SpeexEchoState *echo = speex_echo_state_init_mc(frame, filter, 1, 1);
  SpeexPreprocessState *pre = speex_preprocess_state_init(frame, rate);
  if (!echo || !pre) return 1;
  speex_echo_ctl(echo, SPEEX_ECHO_SET_SAMPLING_RATE, &rate);
  int on = 1, off = 0;
  speex_preprocess_ctl(pre, SPEEX_PREPROCESS_SET_ECHO_STATE, echo);
  speex_preprocess_ctl(pre, SPEEX_PREPROCESS_SET_DENOISE, &on);
  speex_preprocess_ctl(pre, SPEEX_PREPROCESS_SET_AGC, &off);
  speex_preprocess_ctl(pre, SPEEX_PREPROCESS_SET_DEREVERB, &off);

  const double t0 = cpu_now();
  for (size_t f = 0; f < frames; ++f) {
    const size_t at = f * (size_t)frame;
    speex_echo_cancellation(echo, &near[at], &far[at], &out[at]);
    speex_preprocess_run(pre, &out[at]);
  }
  const double cpu = cpu_now() - t0;

  FILE *o = fopen(argv[4], "wb");
  if (!o) return 1;
  for (size_t i = 0; i < frames * (size_t)frame; ++i) {
    const unsigned char b[2] = {(unsigned char)(out[i] & 0xff), (unsigned char)((out[i] >> 8) & 0xff)};
    if (fwrite(b, 1, 2, o) != 2) return 1;
  }
  if (fclose(o) != 0) return 1;
  printf("{\"frames\": %zu, \"filter_ms\": %d, \"cpu_s\": %.4f}\n", frames, FILTER_MS, cpu);
  speex_preprocess_state_destroy(pre);
  speex_echo_state_destroy(echo);
  free(far);
  free(near);
  free(out);
  return 0;
}
