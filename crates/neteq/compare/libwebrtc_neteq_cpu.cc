// CPU time of libwebrtc's NetEq on a packet stream, side by side with `neteq_compare cpu`:
// the same replay as libwebrtc_neteq.cc (whose stream reader and NetEq set-up it reuses), run
// REPS times with a fresh NetEq each time, timing only the insert + 10 ms pull loop (Opus decode
// included) on this thread's CPU clock. No output file is written.
//
// usage: libwebrtc_neteq_cpu STREAM REPS > cpu.json
#define main replay_main
#include "libwebrtc_neteq.cc"
#undef main

#include <ctime>

namespace {
double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}
}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s STREAM REPS\n", argv[0]);
    return 2;
  }
  int64_t frames = 0;
  std::vector<StreamPacket> packets;
  if (!read_stream(argv[1], &frames, &packets)) {
    std::fprintf(stderr, "cannot read packet stream %s\n", argv[1]);
    return 2;
  }
  const int reps = std::atoi(argv[2]);
  const int kPayloadType = 111;
  double cpu = 0.0;
  int64_t checksum = 0;
  for (int r = 0; r < reps; ++r) {
    webrtc::SimulatedClock clock(0);
    webrtc::NetEq::Config config;
    config.sample_rate_hz = 48000;
    auto neteq = webrtc::DefaultNetEqFactory().CreateNetEq(
        config, webrtc::CreateAudioDecoderFactory<webrtc::AudioDecoderOpus>(), &clock);
    if (!neteq->RegisterPayloadType(kPayloadType, webrtc::SdpAudioFormat("opus", 48000, 2))) {
      std::fprintf(stderr, "cannot register opus\n");
      return 1;
    }
    size_t next = 0;
    webrtc::AudioFrame frame;
    const double start = thread_cpu_seconds();
    for (int64_t k = 0; k < frames; ++k) {
      int64_t now_ms = k * 10;
      while (next < packets.size() && packets[next].arrival_ms <= now_ms) {
        const StreamPacket& p = packets[next++];
        webrtc::RTPHeader header;
        header.payloadType = kPayloadType;
        header.sequenceNumber = p.seq;
        header.timestamp = p.ts;
        header.ssrc = 0x1234;
        neteq->InsertPacket(header,
                            rtc::ArrayView<const uint8_t>(p.payload.data(), p.payload.size()));
      }
      bool muted = false;
      if (neteq->GetAudio(&frame, &muted) != webrtc::NetEq::kOK) return 1;
      if (!muted && frame.samples_per_channel_ > 0) checksum += frame.data()[0];
      clock.AdvanceTimeMilliseconds(10);
    }
    cpu += thread_cpu_seconds() - start;
  }
  const double media = static_cast<double>(frames) * reps / 100.0;
  std::printf(
      "{\"engine\":\"libwebrtc\",\"reps\":%d,\"media_s\":%.2f,\"cpu_s\":%.4f,"
      "\"x_real_time\":%.1f,\"checksum\":%lld}\n",
      reps, media, cpu, media / cpu, static_cast<long long>(checksum));
  return 0;
}
