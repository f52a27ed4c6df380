"""The aiortc side of suite pc-aiortc (crates/peerconnection/tests/interop_aiortc.rs).

Speaks the line protocol described in tests/peers/common.rs on stdin/stdout: makes or answers an
offer, opens the case's data channel, and echoes every message on every channel (text as text,
binary as binary). Exits at stdin EOF; the test also kills it by PID.
"""

import asyncio
import os
import sys

import aioice.ice

IP = os.environ.get("TERN_INTEROP_IP", "127.0.0.1")
# aioice never gathers loopback (TESTING.md): hand it the one address the test binds.
aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: [IP]

from aiortc import RTCPeerConnection, RTCSessionDescription  # noqa: E402
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack  # noqa: E402

# Decoded frames per kind of the tracks Tern sends (media cases).
frames = {"audio": 0, "video": 0}


def out(*parts):
    print(" ".join(parts), flush=True)


def log(text):
    out("log", str(text).replace("\n", " | "))


def echo(channel):
    log(f"channel {channel.label!r} id={channel.id} ordered={channel.ordered} "
        f"maxRetransmits={channel.maxRetransmits}")

    @channel.on("message")
    def on_message(message):
        channel.send(message)


def make_pc():
    pc = RTCPeerConnection()

    @pc.on("connectionstatechange")
    def on_state():
        log(f"connection {pc.connectionState}")

    @pc.on("datachannel")
    def on_datachannel(channel):
        echo(channel)

    @pc.on("track")
    def on_track(track):
        log(f"track {track.kind} id={track.id}")

        async def consume():
            # Each recv() is one decoded frame: SRTP decrypted, depacketized and decoded.
            while True:
                try:
                    await track.recv()
                except Exception:
                    return
                frames[track.kind] += 1

        asyncio.ensure_future(consume())

    return pc


def add_media(pc):
    # aiortc's own sources: silence (Opus) and a green picture (VP8), 20 ms / 30 fps.
    pc.addTrack(AudioStreamTrack())
    pc.addTrack(VideoStreamTrack())


async def stats(pc):
    report = await pc.getStats()
    inbound = {}
    outbound = {}
    for s in report.values():
        if s.type == "inbound-rtp":
            inbound[s.kind] = inbound.get(s.kind, 0) + s.packetsReceived
        elif s.type == "outbound-rtp":
            outbound[s.kind] = outbound.get(s.kind, 0) + s.packetsSent
    parts = [f"in-{k}={v}" for k, v in sorted(inbound.items())]
    parts += [f"out-{k}={v}" for k, v in sorted(outbound.items())]
    parts += [f"frames-{k}={v}" for k, v in sorted(frames.items())]
    return " ".join(parts)


def open_channel(pc, label, ordered, max_rtx, offering=False):
    if label == "-":
        # An offer needs an m=application for Tern to open its channel on: a "control" channel
        # (unused, like the Chromium page's) puts one there.
        if offering:
            channel = pc.createDataChannel("control")
            channel.on("open", lambda: echo(channel))
        return
    kwargs = {"ordered": ordered == "1"}
    if int(max_rtx) >= 0:
        kwargs["maxRetransmits"] = int(max_rtx)
    channel = pc.createDataChannel(label, **kwargs)
    channel.on("open", lambda: echo(channel))


async def main():
    loop = asyncio.get_running_loop()
    pc = None
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            break
        words = line.split()
        if not words:
            continue
        try:
            if words[0] == "offer":
                pc = make_pc()
                open_channel(pc, *words[1:4], offering=True)
                # aiortc gathers inside setLocalDescription: the description carries candidates.
                await pc.setLocalDescription(await pc.createOffer())
                out("offer", pc.localDescription.sdp.encode().hex())
            elif words[0] == "answer":
                pc = make_pc()
                offer = bytes.fromhex(words[4]).decode()
                await pc.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
                await pc.setLocalDescription(await pc.createAnswer())
                out("answer", pc.localDescription.sdp.encode().hex())
                open_channel(pc, *words[1:4])
            elif words[0] == "media-offer":
                pc = make_pc()
                add_media(pc)
                await pc.setLocalDescription(await pc.createOffer())
                out("offer", pc.localDescription.sdp.encode().hex())
            elif words[0] == "media-answer":
                pc = make_pc()
                offer = bytes.fromhex(words[1]).decode()
                await pc.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
                add_media(pc)
                await pc.setLocalDescription(await pc.createAnswer())
                out("answer", pc.localDescription.sdp.encode().hex())
            elif words[0] == "stats":
                out("stats", await stats(pc))
            elif words[0] == "remote-answer":
                answer = bytes.fromhex(words[1]).decode()
                await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
            else:
                out("error", f"unknown command {words[0]}")
        except Exception as e:  # report, so the test fails with the reason
            out("error", f"{type(e).__name__}: {e}".replace("\n", " | "))
    if pc is not None:
        await pc.close()


asyncio.run(main())
