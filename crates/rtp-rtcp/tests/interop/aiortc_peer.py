"""Cross-check peer for tern-rtp-rtcp: aiortc's independent RTP/RTCP codecs.

Reads lines "rtp <hex>" / "rtcp <hex>" on stdin and answers each with one JSON line
describing what aiortc decoded plus aiortc's own re-serialisation ("reser"). The line
"gen" makes aiortc build packets itself and print them as JSON lines for tern to parse.
"""
import json
import sys

from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpParameters
from aiortc.rtp import (
    HeaderExtensionsMap, RtcpByePacket, RtcpPacket, RtcpPsfbPacket, RtcpReceiverInfo,
    RtcpRrPacket, RtcpRtpfbPacket, RtcpSdesPacket, RtcpSenderInfo, RtcpSourceInfo,
    RtcpSrPacket, RtpPacket, pack_remb_fci, wrap_rtx,
)

EXT = [
    (1, "urn:ietf:params:rtp-hdrext:sdes:mid"),
    (2, "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"),
    (3, "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id"),
    (4, "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"),
    (5, "urn:ietf:params:rtp-hdrext:toffset"),
    (6, "urn:ietf:params:rtp-hdrext:ssrc-audio-level"),
    (7, "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"),
]
MAP = HeaderExtensionsMap()
MAP.configure(RTCRtpParameters(headerExtensions=[RTCRtpHeaderExtensionParameters(id=i, uri=u) for i, u in EXT]))


def rtp_json(p):
    e = p.extensions
    return {
        "ssrc": p.ssrc, "seq": p.sequence_number, "ts": p.timestamp, "pt": p.payload_type,
        "marker": bool(p.marker), "csrc": list(p.csrc), "payload": p.payload.hex(),
        "padding": p.padding_size, "mid": e.mid, "rid": e.rtp_stream_id,
        "rrid": e.repaired_rtp_stream_id, "abs": e.abs_send_time, "toffset": e.transmission_offset,
        "audio": list(e.audio_level) if e.audio_level is not None else None,
        "twcc": e.transport_sequence_number,
    }


def rtcp_json(p):
    if isinstance(p, RtcpSrPacket):
        s = p.sender_info
        return {"type": "sr", "ssrc": p.ssrc, "ntp": s.ntp_timestamp, "rtp": s.rtp_timestamp,
                "packets": s.packet_count, "octets": s.octet_count, "reports": [r.__dict__ for r in p.reports]}
    if isinstance(p, RtcpRrPacket):
        return {"type": "rr", "ssrc": p.ssrc, "reports": [r.__dict__ for r in p.reports]}
    if isinstance(p, RtcpSdesPacket):
        return {"type": "sdes", "chunks": [{"ssrc": c.ssrc, "items": [[k, v.decode("latin1")] for k, v in c.items]} for c in p.chunks]}
    if isinstance(p, RtcpByePacket):
        return {"type": "bye", "sources": p.sources}
    if isinstance(p, RtcpRtpfbPacket):
        return {"type": "rtpfb", "fmt": p.fmt, "ssrc": p.ssrc, "media": p.media_ssrc, "lost": p.lost}
    if isinstance(p, RtcpPsfbPacket):
        return {"type": "psfb", "fmt": p.fmt, "ssrc": p.ssrc, "media": p.media_ssrc, "fci": p.fci.hex()}
    return {"type": "other"}


def gen():
    out = []
    p = RtpPacket(payload_type=96, marker=1, sequence_number=65535, timestamp=123456, ssrc=0x11223344, payload=b"aiortc")
    p.csrc = [7, 8]
    p.extensions.mid = "video0"
    p.extensions.rtp_stream_id = "hi"
    p.extensions.abs_send_time = 0x123456
    p.extensions.audio_level = (True, 42)
    p.extensions.transport_sequence_number = 4242
    out.append({"kind": "rtp", "hex": p.serialize(MAP).hex(), "expect": rtp_json(p)})
    rtx = wrap_rtx(p, payload_type=97, sequence_number=9, ssrc=0x55667788)
    out.append({"kind": "rtx", "hex": rtx.serialize(MAP).hex(), "expect": rtp_json(p)})
    rb = RtcpReceiverInfo(ssrc=0x11223344, fraction_lost=12, packets_lost=-3, highest_sequence=70000, jitter=33, lsr=0x12345678, dlsr=0x10000)
    comp = [
        RtcpSrPacket(ssrc=1, sender_info=RtcpSenderInfo(ntp_timestamp=0xE1234567_89ABCDEF, rtp_timestamp=9000, packet_count=10, octet_count=1000), reports=[rb]),
        RtcpSdesPacket(chunks=[RtcpSourceInfo(ssrc=1, items=[(1, b"aiortc-cname")])]),
        RtcpRtpfbPacket(fmt=1, ssrc=1, media_ssrc=0x11223344, lost=[100, 101, 105, 140]),
        RtcpPsfbPacket(fmt=1, ssrc=1, media_ssrc=0x11223344),
        RtcpPsfbPacket(fmt=15, ssrc=1, media_ssrc=0, fci=pack_remb_fci(1_500_000, [0x11223344])),
        RtcpByePacket(sources=[1]),
    ]
    out.append({"kind": "rtcp", "hex": b"".join(bytes(x) for x in comp).hex(), "expect": [rtcp_json(x) for x in comp]})
    rr = RtcpRrPacket(ssrc=2, reports=[rb])
    out.append({"kind": "rtcp", "hex": bytes(rr).hex(), "expect": [rtcp_json(rr)]})
    for o in out:
        print(json.dumps(o), flush=True)
    print(json.dumps({"kind": "end"}), flush=True)


for line in sys.stdin:
    cmd, _, arg = line.strip().partition(" ")
    if cmd == "gen":
        gen()
    elif cmd == "rtp":
        p = RtpPacket.parse(bytes.fromhex(arg), MAP)
        print(json.dumps({**rtp_json(p), "reser": p.serialize(MAP).hex()}), flush=True)
    elif cmd == "rtcp":
        ps = RtcpPacket.parse(bytes.fromhex(arg))
        print(json.dumps({"packets": [rtcp_json(p) for p in ps], "reser": b"".join(bytes(p) for p in ps).hex()}), flush=True)
    elif cmd == "quit":
        break
