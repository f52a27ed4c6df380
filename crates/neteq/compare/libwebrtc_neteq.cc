// Replays a packet stream through libwebrtc's NetEq (Debian libtgowt-dev, a 2023 libwebrtc) on
// a simulated clock, the same way `neteq_compare tern` replays it through tern-neteq: before the
// 10 ms pull at tick k, every packet whose (tick-quantized) arrival is <= k*10 ms is inserted.
//
// usage: libwebrtc_neteq STREAM OUT.pcm > stats.json
//   STREAM: text written by `cargo run -p tern-neteq --example neteq_compare -- prepare`:
//     "frames N" then lines "arrival_ms seq rtp_ts payload_hex", sorted by arrival.
//   OUT.pcm: raw s16le mono at the decoder's output rate (48 kHz for Opus).
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "api/audio/audio_frame.h"
#include "api/audio_codecs/audio_decoder_factory_template.h"
#include "api/audio_codecs/opus/audio_decoder_opus.h"
#include "api/neteq/neteq.h"
#include "api/rtp_headers.h"
#include "modules/audio_coding/neteq/default_neteq_factory.h"
#include "system_wrappers/include/clock.h"

namespace {

struct StreamPacket {
  int64_t arrival_ms;
  uint16_t seq;
  uint32_t ts;
  std::vector<uint8_t> payload;
};

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool read_stream(const char* path, int64_t* frames, std::vector<StreamPacket>* packets) {
  std::ifstream in(path);
  if (!in) return false;
  std::string line;
  *frames = -1;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    if (line.rfind("frames ", 0) == 0) {
      std::string word;
      fields >> word >> *frames;
      continue;
    }
    StreamPacket p;
    uint32_t seq = 0;
    std::string hex;
    if (!(fields >> p.arrival_ms >> seq >> p.ts >> hex) || hex.size() % 2 != 0) return false;
    p.seq = static_cast<uint16_t>(seq);
    for (size_t i = 0; i < hex.size(); i += 2) {
      int hi = hex_value(hex[i]), lo = hex_value(hex[i + 1]);
      if (hi < 0 || lo < 0) return false;
      p.payload.push_back(static_cast<uint8_t>(hi * 16 + lo));
    }
    packets->push_back(std::move(p));
  }
  return *frames >= 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s STREAM OUT.pcm\n", argv[0]);
    return 2;
  }
  int64_t frames = 0;
  std::vector<StreamPacket> packets;
  if (!read_stream(argv[1], &frames, &packets)) {
    std::fprintf(stderr, "cannot read packet stream %s\n", argv[1]);
    return 2;
  }
  FILE* out = std::fopen(argv[2], "wb");
  if (!out) {
    std::fprintf(stderr, "cannot write %s\n", argv[2]);
    return 2;
  }

  webrtc::SimulatedClock clock(0);
  webrtc::NetEq::Config config;  // libwebrtc defaults: 200 packets, no fast accelerate
  config.sample_rate_hz = 48000;
  // The builtin factory of this build leaves Opus out (no WEBRTC_USE_BUILTIN_OPUS): name it.
  auto neteq = webrtc::DefaultNetEqFactory().CreateNetEq(
      config, webrtc::CreateAudioDecoderFactory<webrtc::AudioDecoderOpus>(), &clock);
  const int kPayloadType = 111;
  if (!neteq->RegisterPayloadType(kPayloadType, webrtc::SdpAudioFormat("opus", 48000, 2))) {
    std::fprintf(stderr, "cannot register opus\n");
    return 1;
  }

  size_t next = 0;
  webrtc::AudioFrame frame;
  for (int64_t k = 0; k < frames; ++k) {
    int64_t now_ms = k * 10;
    while (next < packets.size() && packets[next].arrival_ms <= now_ms) {
      const StreamPacket& p = packets[next++];
      webrtc::RTPHeader header;
      header.payloadType = kPayloadType;
      header.sequenceNumber = p.seq;
      header.timestamp = p.ts;
      header.ssrc = 0x1234;
      neteq->InsertPacket(header, rtc::ArrayView<const uint8_t>(p.payload.data(), p.payload.size()));
    }
    bool muted = false;
    if (neteq->GetAudio(&frame, &muted) != webrtc::NetEq::kOK) {
      std::fprintf(stderr, "GetAudio failed at tick %lld\n", static_cast<long long>(k));
      return 1;
    }
    if (frame.sample_rate_hz_ != 48000 || frame.num_channels_ != 1) {
      // Before the first packet NetEq may still report its initial rate: emit silence at 48 kHz.
      std::vector<int16_t> silence(480, 0);
      std::fwrite(silence.data(), sizeof(int16_t), silence.size(), out);
    } else {
      const int16_t* data = muted ? nullptr : frame.data();
      std::vector<int16_t> samples(frame.samples_per_channel_, 0);
      if (data) samples.assign(data, data + frame.samples_per_channel_);
      std::fwrite(samples.data(), sizeof(int16_t), samples.size(), out);
    }
    clock.AdvanceTimeMilliseconds(10);
  }
  std::fclose(out);

  webrtc::NetEqLifetimeStatistics life = neteq->GetLifetimeStatistics();
  webrtc::NetEqOperationsAndState ops = neteq->GetOperationsAndState();
  double emitted = static_cast<double>(life.jitter_buffer_emitted_count);
  std::printf(
      "{\"engine\":\"libwebrtc\",\"mean_delay_ms\":%.3f,\"mean_target_delay_ms\":%.3f,"
      "\"total_samples\":%llu,\"concealed_samples\":%llu,\"silent_concealed_samples\":%llu,"
      "\"concealment_events\":%llu,\"inserted_samples\":%llu,\"removed_samples\":%llu,"
      "\"packets_discarded\":%llu,\"buffer_flushes\":%llu,\"emitted\":%llu}\n",
      emitted > 0 ? life.jitter_buffer_delay_ms / emitted : 0.0,
      emitted > 0 ? life.jitter_buffer_target_delay_ms / emitted : 0.0,
      static_cast<unsigned long long>(life.total_samples_received),
      static_cast<unsigned long long>(life.concealed_samples),
      static_cast<unsigned long long>(life.silent_concealed_samples),
      static_cast<unsigned long long>(life.concealment_events),
      static_cast<unsigned long long>(life.inserted_samples_for_deceleration),
      static_cast<unsigned long long>(life.removed_samples_for_acceleration),
      static_cast<unsigned long long>(life.packets_discarded),
      static_cast<unsigned long long>(ops.packet_buffer_flushes),
      static_cast<unsigned long long>(life.jitter_buffer_emitted_count));
  return 0;
}
