// The Node side of suites pc-libwebrtc-node (@roamhq/wrtc), pc-libdatachannel (node-datachannel)
// and pc-werift (werift): `node node_peer.js wrtc|datachannel|werift`, modules found through
// NODE_PATH (the test sets it from $TERN_NODE_MODULES).
//
// Speaks the line protocol described in tests/peers/common.rs on stdin/stdout through the W3C
// API each stack offers: makes or answers an offer, opens the case's data channel, and echoes
// every message on every channel (text as text, binary as binary). Exits at stdin EOF; the test
// also kills it by PID.
'use strict';

const readline = require('readline');

const stack = process.argv[2];
const IP = process.env.TERN_INTEROP_IP || '127.0.0.1';

const out = (...parts) => process.stdout.write(parts.join(' ') + '\n');
const log = text => out('log', String(text).replace(/\n/g, ' | '));
process.on('uncaughtException', e => out('error', `uncaught ${e && e.stack ? e.stack : e}`.replace(/\n/g, ' | ')));
process.on('unhandledRejection', e => out('error', `unhandled ${e && e.stack ? e.stack : e}`.replace(/\n/g, ' | ')));

let RTCPeerConnection;
let config;
if (stack === 'wrtc') {
  // libwebrtc's native stack; it gathers every interface's address and needs no options.
  ({ RTCPeerConnection } = require('@roamhq/wrtc'));
  config = { iceServers: [] };
} else if (stack === 'datachannel') {
  // libdatachannel (libjuice ICE, usrsctp) through its W3C polyfill; options pass through.
  ({ RTCPeerConnection } = require('node-datachannel/polyfill'));
  config = { iceServers: [], bindAddress: IP };
} else if (stack === 'werift') {
  const werift = require('werift');
  ({ RTCPeerConnection } = werift);
  config = {
    iceServers: [],
    iceAdditionalHostAddresses: [IP],
    iceUseIpv6: false,
    // For the RTP echo case: werift has no codecs, only payload formats to carry.
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
} else {
  out('error', `unknown stack ${stack}`);
  process.exit(2);
}

const sleep = ms => new Promise(r => setTimeout(r, ms));

async function gathered(pc) {
  for (let i = 0; i < 500 && pc.iceGatheringState !== 'complete'; i++) await sleep(20);
  if (pc.iceGatheringState !== 'complete') log(`gathering still ${pc.iceGatheringState} after 10 s`);
}

function echo(dc) {
  try {
    dc.binaryType = 'arraybuffer';
  } catch (e) {
    // werift has no binaryType: it always delivers Buffers.
  }
  log(`channel ${JSON.stringify(dc.label)} id=${dc.id} ordered=${dc.ordered} maxRetransmits=${dc.maxRetransmits}`);
  dc.onmessage = e => {
    const data = e && e.data !== undefined ? e.data : e;
    try {
      if (typeof data === 'string') dc.send(data);
      else if (Buffer.isBuffer(data)) dc.send(data);
      else if (stack === 'wrtc') dc.send(data); // ArrayBuffer
      else dc.send(Buffer.from(data));
    } catch (err) {
      out('error', `echo send failed: ${err}`);
    }
  };
}

// Media cases (wrtc only): decoded frames per kind of the tracks Tern sends, and the sources.
const frames = { audio: 0, video: 0 };
// RTP echo case (werift): packets received per kind and the local tracks that echo them.
const rtpReceived = { audio: 0, video: 0 };
const echoTracks = {};

function addEchoTracks(pc) {
  const { MediaStreamTrack } = require('werift');
  for (const kind of ['audio', 'video']) {
    echoTracks[kind] = new MediaStreamTrack({ kind });
    pc.addTrack(echoTracks[kind]);
  }
}
const sources = [];

function makePc() {
  const pc = new RTCPeerConnection(config);
  pc.onconnectionstatechange = () => log(`connection ${pc.connectionState}`);
  pc.ondatachannel = e => echo(e.channel);
  pc.ontrack = e => {
    const track = e.track;
    log(`track ${track.kind} id=${track.id}`);
    if (stack === 'werift') {
      // RTP echo: every packet Tern sends goes back on our own track of the same kind.
      track.onReceiveRtp.subscribe(rtp => {
        rtpReceived[track.kind] = (rtpReceived[track.kind] || 0) + 1;
        const local = echoTracks[track.kind];
        if (local) local.writeRtp(rtp);
      });
      return;
    }
    if (stack !== 'wrtc') return;
    // libwebrtc's sinks hand over decoded audio (10 ms blocks) and decoded video frames.
    const { RTCAudioSink, RTCVideoSink } = require('@roamhq/wrtc').nonstandard;
    const sink = track.kind === 'audio' ? new RTCAudioSink(track) : new RTCVideoSink(track);
    if (track.kind === 'audio') sink.ondata = () => frames.audio++;
    else sink.onframe = () => frames.video++;
    sources.push({ stop: () => sink.stop() });
  };
  return pc;
}

function addMedia(pc) {
  if (stack !== 'wrtc') throw new Error(`media cases need wrtc, not ${stack}`);
  const { RTCAudioSource, RTCVideoSource } = require('@roamhq/wrtc').nonstandard;
  const audio = new RTCAudioSource();
  const video = new RTCVideoSource();
  pc.addTrack(audio.createTrack());
  pc.addTrack(video.createTrack());
  // A 440 Hz tone in 10 ms blocks, and a moving gradient at 30 fps (320x240 I420).
  let t = 0;
  const samples = new Int16Array(480);
  const audioTimer = setInterval(() => {
    for (let i = 0; i < 480; i++, t++) samples[i] = Math.round(8000 * Math.sin((2 * Math.PI * 440 * t) / 48000));
    audio.onData({ samples, sampleRate: 48000, bitsPerSample: 16, channelCount: 1, numberOfFrames: 480 });
  }, 10);
  const width = 320;
  const height = 240;
  const data = new Uint8ClampedArray(width * height * 1.5);
  let n = 0;
  const videoTimer = setInterval(() => {
    for (let i = 0; i < width * height; i++) data[i] = (i + n * 4) & 0xff;
    data.fill(128, width * height);
    n++;
    video.onFrame({ width, height, data });
  }, 33);
  sources.push({ stop: () => { clearInterval(audioTimer); clearInterval(videoTimer); } });
}

async function stats(pc) {
  const report = await pc.getStats();
  const inbound = {};
  const outbound = {};
  let framesDecoded = 0;
  report.forEach(s => {
    const kind = s.kind || s.mediaType;
    if (s.type === 'inbound-rtp') {
      inbound[kind] = (inbound[kind] || 0) + (s.packetsReceived || 0);
      if (kind === 'video') framesDecoded += s.framesDecoded || 0;
    } else if (s.type === 'outbound-rtp') {
      outbound[kind] = (outbound[kind] || 0) + (s.packetsSent || 0);
    }
  });
  const parts = [];
  for (const k of Object.keys(inbound).sort()) parts.push(`in-${k}=${inbound[k]}`);
  for (const k of Object.keys(outbound).sort()) parts.push(`out-${k}=${outbound[k]}`);
  parts.push(`frames-audio=${frames.audio}`, `frames-video=${frames.video}`, `framesDecoded-video=${framesDecoded}`);
  return parts.join(' ');
}

function openChannel(pc, label, ordered, maxRtx, offering = false) {
  // An offer needs an m=application for Tern to open its channel on: a "control" channel (unused,
  // like the Chromium page's) puts one there.
  if (label === '-') {
    if (offering) echo(pc.createDataChannel('control'));
    return;
  }
  const init = { ordered: ordered === '1' };
  if (Number(maxRtx) >= 0) init.maxRetransmits = Number(maxRtx);
  echo(pc.createDataChannel(label, init));
}

const hex = s => Buffer.from(s, 'utf8').toString('hex');
const unhex = h => Buffer.from(h, 'hex').toString('utf8');

let pc = null;
let queue = Promise.resolve();
const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
rl.on('line', line => {
  // One command at a time, in order.
  queue = queue.then(() => handle(line)).catch(e => out('error', `${e && e.stack ? e.stack : e}`.replace(/\n/g, ' | ')));
});
rl.on('close', () => {
  try {
    for (const s of sources) s.stop();
    if (pc) pc.close();
  } finally {
    setTimeout(() => process.exit(0), 100);
  }
});

async function handle(line) {
  const words = line.trim().split(/\s+/);
  if (words[0] === 'offer') {
    pc = makePc();
    openChannel(pc, words[1], words[2], words[3], true);
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc);
    out('offer', hex(pc.localDescription.sdp));
  } else if (words[0] === 'answer') {
    pc = makePc();
    await pc.setRemoteDescription({ type: 'offer', sdp: unhex(words[4]) });
    await pc.setLocalDescription(await pc.createAnswer());
    await gathered(pc);
    out('answer', hex(pc.localDescription.sdp));
    openChannel(pc, words[1], words[2], words[3]);
  } else if (words[0] === 'media-offer') {
    pc = makePc();
    addMedia(pc);
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc);
    out('offer', hex(pc.localDescription.sdp));
  } else if (words[0] === 'media-answer') {
    pc = makePc();
    await pc.setRemoteDescription({ type: 'offer', sdp: unhex(words[1]) });
    addMedia(pc);
    await pc.setLocalDescription(await pc.createAnswer());
    await gathered(pc);
    out('answer', hex(pc.localDescription.sdp));
  } else if (words[0] === 'rtp-offer') {
    pc = makePc();
    addEchoTracks(pc);
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc);
    out('offer', hex(pc.localDescription.sdp));
  } else if (words[0] === 'rtp-answer') {
    pc = makePc();
    await pc.setRemoteDescription({ type: 'offer', sdp: unhex(words[1]) });
    addEchoTracks(pc);
    await pc.setLocalDescription(await pc.createAnswer());
    await gathered(pc);
    out('answer', hex(pc.localDescription.sdp));
  } else if (words[0] === 'stats' && stack === 'werift') {
    out('stats', `in-audio=${rtpReceived.audio} in-video=${rtpReceived.video}`);
  } else if (words[0] === 'stats') {
    out('stats', await stats(pc));
  } else if (words[0] === 'remote-answer') {
    await pc.setRemoteDescription({ type: 'answer', sdp: unhex(words[1]) });
  } else if (words[0]) {
    out('error', `unknown command ${words[0]}`);
  }
}
