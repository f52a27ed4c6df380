"""aiortc_echo: aiortc's own SCTP stack (RTCSctpTransport) as a peer for tern-sctp.

SCTP packets travel as plain UDP payloads between 127.0.0.1:<local> and 127.0.0.1:<remote>;
a stand-in for RTCDtlsTransport hands them to aiortc unencrypted (aiortc's SCTP code is what
is under test, not its DTLS). aiortc plays the DTLS server (odd stream ids) and:
  - starts its association (both sides send INIT),
  - opens channel "from-aiortc" and sends "hello from aiortc" once it is open,
  - echoes every message on channels the test opens; on "close-me" closes that channel.
Usage: python aiortc_echo.py <local-udp-port> <remote-udp-port>
"""
import asyncio
import sys

from aiortc import RTCDataChannel, RTCDataChannelParameters, RTCSctpTransport
from aiortc.rtcsctptransport import RTCSctpCapabilities


class LoopbackDtls:
    """What RTCSctpTransport needs from RTCDtlsTransport, over a UDP socket."""

    def __init__(self, udp):
        self.state = "connected"
        self._role = "server"
        self.udp = udp
        self.receivers = set()

    def _register_data_receiver(self, receiver):
        self.receivers.add(receiver)

    def _unregister_data_receiver(self, receiver):
        self.receivers.discard(receiver)

    async def _send_data(self, data):
        self.udp.sendto(data)


class Udp(asyncio.DatagramProtocol):
    def __init__(self):
        self.queue = asyncio.Queue()

    def datagram_received(self, data, addr):
        self.queue.put_nowait(data)

    def error_received(self, exc):
        pass


async def main(local, remote):
    loop = asyncio.get_running_loop()
    udp, proto = await loop.create_datagram_endpoint(
        Udp, local_addr=("127.0.0.1", local), remote_addr=("127.0.0.1", remote)
    )
    dtls = LoopbackDtls(udp)
    sctp = RTCSctpTransport(dtls)

    @sctp.on("datachannel")
    def on_datachannel(channel):
        @channel.on("message")
        def on_message(message):
            if message == "close-me":
                channel.close()
            else:
                channel.send(message)

    async def deliver():
        # One consumer keeps packets in arrival order.
        while True:
            data = await proto.queue.get()
            for receiver in list(dtls.receivers):
                await receiver._handle_data(data)

    asyncio.ensure_future(deliver())
    await sctp.start(RTCSctpCapabilities(maxMessageSize=262144), 5000)
    own = RTCDataChannel(sctp, RTCDataChannelParameters(label="from-aiortc"))

    @own.on("open")
    def on_open():
        own.send("hello from aiortc")

    print("READY", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2])))
