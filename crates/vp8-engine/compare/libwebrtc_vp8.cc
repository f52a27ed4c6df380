// Differential harness: libwebrtc's VP8 RTP packetizer and depacketizer (Debian libtgowt-dev,
// a 2023 libwebrtc) driven line by line from stdin, so tern-vp8-engine's tests can compare
// both implementations on the same frames and payloads.
//
//   P <max_payload_len> <picture_id|-1> <tl0|-1> <tid|-1> <layer_sync 0|1> <key_idx|-1>
//     <non_reference 0|1> <frame hex>         ->  P <payload hex> <payload hex> ...
//   D <rtp payload hex>                       ->  D ERR
//                                                 D <offset> <first_in_frame> <key> <width>
//                                                   <height> <non_ref> <picture_id> <tl0>
//                                                   <tid> <layer_sync> <key_idx>
//                                                   <partition_id> <beginning_of_partition>
// Absent fields print as -1. One output line per input line.
#include <cstdint>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "modules/rtp_rtcp/source/rtp_format_vp8.h"
#include "modules/rtp_rtcp/source/rtp_packet_to_send.h"
#include "modules/rtp_rtcp/source/rtp_video_header.h"
#include "modules/rtp_rtcp/source/video_rtp_depacketizer_vp8.h"

namespace {

std::vector<uint8_t> FromHex(const std::string& s) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < s.size(); i += 2) {
    out.push_back(static_cast<uint8_t>(std::stoi(s.substr(i, 2), nullptr, 16)));
  }
  return out;
}

std::string ToHex(rtc::ArrayView<const uint8_t> v) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (uint8_t b : v) {
    out.push_back(digits[b >> 4]);
    out.push_back(digits[b & 15]);
  }
  return out;
}

void Packetize(std::istringstream& in) {
  int mtu, pid, tl0, tid, sync, key_idx, non_ref;
  std::string hex;
  in >> mtu >> pid >> tl0 >> tid >> sync >> key_idx >> non_ref >> hex;
  std::vector<uint8_t> frame = FromHex(hex);
  webrtc::RTPVideoHeaderVP8 info;
  info.InitRTPVideoHeaderVP8();
  info.nonReference = non_ref != 0;
  if (pid >= 0) info.pictureId = static_cast<int16_t>(pid);
  if (tl0 >= 0) info.tl0PicIdx = static_cast<int16_t>(tl0);
  if (tid >= 0) {
    info.temporalIdx = static_cast<uint8_t>(tid);
    info.layerSync = sync != 0;
  }
  if (key_idx >= 0) info.keyIdx = key_idx;
  webrtc::RtpPacketizer::PayloadSizeLimits limits;
  limits.max_payload_len = mtu;
  webrtc::RtpPacketizerVp8 packetizer(frame, limits, info);
  std::cout << "P";
  size_t n = packetizer.NumPackets();
  for (size_t i = 0; i < n; ++i) {
    webrtc::RtpPacketToSend packet(nullptr);
    if (!packetizer.NextPacket(&packet)) break;
    std::cout << ' ' << ToHex(packet.payload());
  }
  std::cout << '\n';
}

void Depacketize(std::istringstream& in) {
  std::string hex;
  in >> hex;
  std::vector<uint8_t> payload = FromHex(hex);
  webrtc::RTPVideoHeader header;
  int offset = webrtc::VideoRtpDepacketizerVp8::ParseRtpPayload(payload, &header);
  if (offset <= 0) {
    std::cout << "D ERR\n";
    return;
  }
  const auto& vp8 = absl::get<webrtc::RTPVideoHeaderVP8>(header.video_type_header);
  bool key = header.frame_type == webrtc::VideoFrameType::kVideoFrameKey;
  std::cout << "D " << offset << ' ' << header.is_first_packet_in_frame << ' ' << key << ' '
            << (key ? header.width : -1) << ' ' << (key ? header.height : -1) << ' '
            << vp8.nonReference << ' '
            << (vp8.pictureId == webrtc::kNoPictureId ? -1 : vp8.pictureId) << ' '
            << (vp8.tl0PicIdx == webrtc::kNoTl0PicIdx ? -1 : vp8.tl0PicIdx) << ' '
            << (vp8.temporalIdx == webrtc::kNoTemporalIdx ? -1 : int{vp8.temporalIdx}) << ' '
            << (vp8.temporalIdx == webrtc::kNoTemporalIdx ? -1 : int{vp8.layerSync}) << ' '
            << (vp8.keyIdx == webrtc::kNoKeyIdx ? -1 : vp8.keyIdx) << ' ' << vp8.partitionId
            << ' ' << vp8.beginningOfPartition << '\n';
}

}  // namespace

int main() {
  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream in(line);
    std::string op;
    in >> op;
    if (op == "P") {
      Packetize(in);
    } else if (op == "D") {
      Depacketize(in);
    } else {
      std::cout << "? unknown op\n";
    }
    std::cout.flush();
  }
  return 0;
}
