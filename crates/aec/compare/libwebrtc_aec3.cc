// Runs libwebrtc's echo canceller (AEC3, through the audio processing module) over a far-end and
// a near-end recording, the same way tern-aec's interop test runs AudioProcessor over them:
// 10 ms frames, render first, then capture. Only echo cancellation is on (no high-pass, noise
// suppression or gain control), stream delay hint 0: AEC3 estimates the delay itself.
//
// usage: libwebrtc_aec3 RATE FAR.pcm NEAR.pcm OUT.pcm
//   *.pcm: raw s16le mono at RATE (16000 or 48000).
// prints {"frames", "delay_ms", "cpu_s"} (cpu_s: process CPU time of the processing loop).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <time.h>
#include <vector>

#include "modules/audio_processing/include/audio_processing.h"

namespace {

bool read_pcm(const char* path, std::vector<int16_t>* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  out->resize(bytes.size() / 2);
  for (size_t i = 0; i < out->size(); ++i) {
    (*out)[i] = static_cast<int16_t>(static_cast<uint8_t>(bytes[2 * i]) |
                                     (static_cast<uint16_t>(static_cast<uint8_t>(bytes[2 * i + 1])) << 8));
  }
  return true;
}

double cpu_now() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::cerr << "usage: libwebrtc_aec3 RATE FAR.pcm NEAR.pcm OUT.pcm\n";
    return 2;
  }
  const int rate = std::atoi(argv[1]);
  std::vector<int16_t> far, near;
  if ((rate != 16000 && rate != 48000) || !read_pcm(argv[2], &far) || !read_pcm(argv[3], &near)) {
    std::cerr << "bad rate or unreadable input\n";
    return 2;
  }
  rtc::scoped_refptr<webrtc::AudioProcessing> apm = webrtc::AudioProcessingBuilder().Create();
  webrtc::AudioProcessing::Config config;
  config.echo_canceller.enabled = true;
  config.echo_canceller.mobile_mode = false;
  config.high_pass_filter.enabled = false;
  config.noise_suppression.enabled = false;
  config.gain_controller1.enabled = false;
  config.gain_controller2.enabled = false;
  apm->ApplyConfig(config);
  const webrtc::StreamConfig stream(rate, 1);
  const size_t frame = static_cast<size_t>(rate / 100);
  const size_t frames = std::min(far.size(), near.size()) / frame;
  std::vector<int16_t> out(frames * frame);
  std::vector<int16_t> render(frame);
  const double t0 = cpu_now();
  for (size_t f = 0; f < frames; ++f) {
    if (apm->ProcessReverseStream(&far[f * frame], stream, stream, render.data()) != 0) return 1;
    apm->set_stream_delay_ms(0);
    if (apm->ProcessStream(&near[f * frame], stream, stream, &out[f * frame]) != 0) return 1;
  }
  const double cpu = cpu_now() - t0;
  std::ofstream o(argv[4], std::ios::binary);
  for (int16_t s : out) {
    const char b[2] = {static_cast<char>(s & 0xff), static_cast<char>((s >> 8) & 0xff)};
    o.write(b, 2);
  }
  const webrtc::AudioProcessingStats stats = apm->GetStatistics();
  std::printf("{\"frames\": %zu, \"delay_ms\": %d, \"cpu_s\": %.4f}\n", frames,
              stats.delay_ms.value_or(-1), cpu);
  return 0;
}
