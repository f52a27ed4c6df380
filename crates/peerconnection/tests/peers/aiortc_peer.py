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

    return pc


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
