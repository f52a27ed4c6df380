// Captures real SDP from the Node WebRTC stacks installed for interop, for tests/corpus.rs.
//
//   NODE_PATH=/work/main/target/interop/node/node_modules \
//     node crates/sdp/tests/vectors/capture/capture.js <stack> <what> [out-dir]
//
// <stack>: werift | datachannel | wrtc. <what>:
//   offer-data     a data channel only
//   offer-av-data  audio + video transceivers (sendrecv) + a data channel
//   answer-av-data an answer to tests/vectors/chromium-156-offer-av-data.sdp
// Waits for ICE gathering to complete (loopback where the stack allows binding) and writes
// localDescription.sdp byte for byte to <out-dir>/<stack>-<version>-<what>.sdp (or stdout
// without out-dir). Closes its connections and exits.
'use strict';

const fs = require('fs');
const path = require('path');

const [stack, what, outDir] = process.argv.slice(2);
const IP = '127.0.0.1';
const sleep = ms => new Promise(r => setTimeout(r, ms));
// Major.minor of an installed package (read from disk: some `exports` hide package.json).
const version = name => {
  for (const dir of (process.env.NODE_PATH || '').split(path.delimiter)) {
    const file = path.join(dir, name, 'package.json');
    if (fs.existsSync(file)) return JSON.parse(fs.readFileSync(file, 'utf8')).version.split('.').slice(0, 2).join('.');
  }
  throw new Error(`${name} not found on NODE_PATH`);
};
const chromiumOffer = () =>
  fs.readFileSync(path.join(__dirname, '..', 'chromium-156-offer-av-data.sdp'), 'utf8');

async function gathered(stateOf) {
  for (let i = 0; i < 500 && stateOf() !== 'complete'; i++) await sleep(20);
  if (stateOf() !== 'complete') throw new Error(`gathering still ${stateOf()} after 10 s`);
}

// The W3C API (werift, @roamhq/wrtc, node-datachannel's polyfill).
async function w3c(RTCPeerConnection, config, media) {
  const pc = new RTCPeerConnection(config);
  try {
    if (what === 'answer-av-data') {
      await pc.setRemoteDescription({ type: 'offer', sdp: chromiumOffer() });
      await pc.setLocalDescription(await pc.createAnswer());
    } else {
      if (what === 'offer-av-data') media(pc);
      pc.createDataChannel('capture');
      await pc.setLocalDescription(await pc.createOffer());
    }
    await gathered(() => pc.iceGatheringState);
    return pc.localDescription.sdp;
  } finally {
    pc.close();
  }
}

// libdatachannel's own API: its W3C polyfill has no addTransceiver, the native one has addTrack.
async function datachannelNative() {
  const ndc = require('node-datachannel');
  const pc = new ndc.PeerConnection('capture', { iceServers: [], bindAddress: IP });
  try {
    const audio = new ndc.Audio('0', 'SendRecv');
    audio.addOpusCodec(111);
    audio.addSSRC(1111, 'capture-audio', 'capture-stream', 'capture-audio');
    pc.addTrack(audio);
    const video = new ndc.Video('1', 'SendRecv');
    video.addVP8Codec(96);
    video.addSSRC(2222, 'capture-video', 'capture-stream', 'capture-video');
    pc.addTrack(video);
    pc.createDataChannel('capture');
    pc.setLocalDescription();
    await gathered(() => pc.gatheringState());
    return pc.localDescription().sdp;
  } finally {
    pc.close();
  }
}

async function capture() {
  if (stack === 'werift') {
    const werift = require('werift');
    const config = {
      iceServers: [],
      iceAdditionalHostAddresses: [IP],
      iceUseIpv6: false,
      codecs: {
        audio: [new werift.RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: 48000, channels: 2 })],
        video: [
          new werift.RTCRtpCodecParameters({
            mimeType: 'video/VP8',
            clockRate: 90000,
            rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }],
          }),
        ],
      },
    };
    const media = pc => {
      pc.addTransceiver('audio', { direction: 'sendrecv' });
      pc.addTransceiver('video', { direction: 'sendrecv' });
    };
    return [`werift-${version('werift')}`, await w3c(werift.RTCPeerConnection, config, media)];
  }
  if (stack === 'datachannel') {
    const name = `libdatachannel-${version('node-datachannel')}`;
    if (what === 'offer-av-data') return [name, await datachannelNative()];
    const { RTCPeerConnection } = require('node-datachannel/polyfill');
    return [name, await w3c(RTCPeerConnection, { iceServers: [], bindAddress: IP }, null)];
  }
  if (stack === 'wrtc') {
    // libwebrtc gathers every interface's address; it has no bind option.
    const { RTCPeerConnection } = require('@roamhq/wrtc');
    const media = pc => {
      pc.addTransceiver('audio', { direction: 'sendrecv' });
      pc.addTransceiver('video', { direction: 'sendrecv' });
    };
    return [`roamhq-wrtc-${version('@roamhq/wrtc')}`, await w3c(RTCPeerConnection, { iceServers: [] }, media)];
  }
  throw new Error(`unknown stack ${stack}`);
}

capture().then(
  ([name, sdp]) => {
    if (outDir) {
      const file = path.join(outDir, `${name}-${what}.sdp`);
      fs.writeFileSync(file, sdp);
      process.stderr.write(`wrote ${file}\n`);
    } else {
      process.stdout.write(sdp);
    }
    // Native stacks keep threads alive after close(); everything is closed, so leave.
    setTimeout(() => process.exit(0), 200);
  },
  e => {
    process.stderr.write(`${stack} ${what}: ${e && e.stack ? e.stack : e}\n`);
    process.exit(1);
  },
);
