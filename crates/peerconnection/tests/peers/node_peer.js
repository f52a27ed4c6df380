// The Node side of suites pc-libwebrtc-node (@roamhq/wrtc), pc-libdatachannel (node-datachannel)
// and pc-werift (werift): `node node_peer.js wrtc|datachannel|werift`, modules found through
// NODE_PATH (the test sets it from $TERN_NODE_MODULES).
//
// Speaks the line protocol described in tests/peers/common.rs on stdin/stdout through the W3C
// API each stack offers (node-datachannel's RTP echo case: its native Track API): makes or
// answers an offer, opens the case's data channel, and echoes every message on every channel
// (text as text, binary as binary). Exits at stdin EOF; the test also kills it by PID.
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

// RTP echo case (datachannel): libdatachannel's W3C polyfill has no media, so this case uses
// node-datachannel's native API — one sendrecv Track per m-line, raw RTP in and out. The
// native track hands up RTP that libdatachannel has SRTP-decrypted; each packet is checked (RTP
// version 2, the payload type negotiated for its m-line) and echoed with its payload unchanged,
// rewritten to our own SSRC (announced in our SDP) and our own sequence numbers.
const native = { pc: null, tracks: [], remoteTracks: [], count: { audio: 0, video: 0 }, seqs: {}, bad: [], rtcp: 0 };
const T0 = Date.now();
const OWN_SSRC = { audio: 0x1d000001, video: 0x1d000002 };

function nativePc() {
  const ndc = require('node-datachannel');
  ndc.initLogger(process.env.TERN_LDC_LOG || 'Warning', (level, message) => log(`libdatachannel ${level}: ${message}`));
  const npc = new ndc.PeerConnection('tern-peer', {
    iceServers: [],
    bindAddress: IP,
    disableAutoNegotiation: true,
  });
  npc.onStateChange(state => log(`connection ${state} at ${Date.now() - T0} ms`));
  npc.onIceStateChange(state => log(`ice ${state} at ${Date.now() - T0} ms`));
  npc.onTrack(track => {
    // The same track as addTrack's for that mid, in another wrapper: keep it, since a collected
    // wrapper closes its track.
    native.remoteTracks.push(track);
    log(`track mid=${track.mid()} type=${track.type()} direction=${track.direction()}`);
  });
  native.pc = npc;
  return { ndc, npc };
}

async function nativeGathered(npc) {
  for (let i = 0; i < 500 && npc.gatheringState() !== 'complete'; i++) await sleep(20);
  if (npc.gatheringState() !== 'complete') log(`gathering still ${npc.gatheringState()} after 10 s`);
}

// The m-lines of an SDP: kind, mid, and the payload type of `codec` (opus or VP8).
function mediaSections(sdp) {
  const sections = [];
  for (const section of sdp.split(/\r?\nm=/).slice(1)) {
    const kind = section.split(' ')[0];
    if (kind !== 'audio' && kind !== 'video') continue;
    const mid = (section.match(/a=mid:(\S+)/) || [])[1];
    const codec = kind === 'audio' ? 'opus/48000' : 'VP8/90000';
    const re = new RegExp(`a=rtpmap:(\\d+) ${codec}`, 'i');
    const pt = Number((section.match(re) || [])[1]);
    sections.push({ kind, mid, pt });
  }
  return sections;
}

function nativeTrack(ndc, npc, kind, mid, pt) {
  const media = kind === 'audio' ? new ndc.Audio(mid, 'SendRecv') : new ndc.Video(mid, 'SendRecv');
  if (kind === 'audio') media.addOpusCodec(pt);
  else media.addVP8Codec(pt);
  media.addSSRC(OWN_SSRC[kind], `tern-peer-${kind}`, 'tern-peer', `tern-peer-${kind}`);
  const track = npc.addTrack(media);
  const state = { kind, mid, pt, track, seq: 0 };
  track.onOpen(() => {
    log(`track ${kind} mid=${mid} open at ${Date.now() - T0} ms`);
    state.open = true;
    if (native.tracks.every(t => t.open)) out('ready');
  });
  track.onError(e => out('error', `track ${kind}: ${e}`));
  track.onMessage(msg => echoRtp(state, Buffer.from(msg)));
  native.tracks.push(state);
  return state;
}

function echoRtp(state, packet) {
  if (packet.length < 12 || packet[0] >> 6 !== 2) {
    native.bad.push(`${state.kind}: not RTP (${packet.length} bytes)`);
    return;
  }
  const pt = packet[1] & 0x7f;
  if (pt >= 64 && pt <= 95) {
    native.rtcp++; // RTCP (payload types 192-223), also handed up by the track
    return;
  }
  if (pt !== state.pt) {
    if (native.bad.length < 10) native.bad.push(`${state.kind}: payload type ${pt}, negotiated ${state.pt}`);
    return;
  }
  (native.seqs[state.kind] = native.seqs[state.kind] || []).push(packet.readUInt16BE(2));
  if (native.count[state.kind]++ === 0) {
    log(`first ${state.kind} RTP at ${Date.now() - T0} ms: sequence number ${packet.readUInt16BE(2)}, SSRC ${packet.readUInt32BE(8)}`);
  }
  const reply = Buffer.from(packet);
  reply.writeUInt16BE(state.seq, 2);
  state.seq = (state.seq + 1) & 0xffff;
  reply.writeUInt32BE(OWN_SSRC[state.kind], 8);
  try {
    if (!state.track.sendMessageBinary(reply)) native.bad.push(`${state.kind}: send refused`);
  } catch (e) {
    out('error', `echo send failed: ${e}`);
  }
}

async function nativeRtpOffer() {
  const { ndc, npc } = nativePc();
  nativeTrack(ndc, npc, 'audio', '0', 111);
  nativeTrack(ndc, npc, 'video', '1', 96);
  npc.setLocalDescription('offer');
  await nativeGathered(npc);
  out('offer', hex(npc.localDescription().sdp));
}

async function nativeRtpAnswer(offer) {
  const { ndc, npc } = nativePc();
  npc.setRemoteDescription(offer, 'offer');
  for (const { kind, mid, pt } of mediaSections(offer)) {
    if (!mid || !pt) throw new Error(`offer's ${kind} m-line has mid ${mid}, payload type ${pt}`);
    nativeTrack(ndc, npc, kind, mid, pt);
  }
  npc.setLocalDescription('answer');
  await nativeGathered(npc);
  out('answer', hex(npc.localDescription().sdp));
}

function nativeStats() {
  const parts = [`in-audio=${native.count.audio}`, `in-video=${native.count.video}`, `rtcp=${native.rtcp}`];
  // Gaps in the sequence numbers received (Tern sends them consecutively), as offsets from the first.
  for (const kind of ['audio', 'video']) {
    const seqs = native.seqs[kind] || [];
    const gaps = [];
    for (let i = 1; i < seqs.length; i++) {
      const step = (seqs[i] - seqs[i - 1]) & 0xffff;
      if (step !== 1) gaps.push(`${(seqs[i - 1] - seqs[0]) & 0xffff}+${step}`);
    }
    if (gaps.length) parts.push(`gaps-${kind}=${gaps.slice(0, 10).join(',')}`);
  }
  if (native.bad.length) parts.push(`bad=${JSON.stringify(native.bad.slice(0, 5))}`);
  return parts.join(' ');
}

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
    if (native.pc) native.pc.close();
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
  } else if (words[0] === 'rtp-offer' && stack === 'datachannel') {
    await nativeRtpOffer();
  } else if (words[0] === 'rtp-answer' && stack === 'datachannel') {
    await nativeRtpAnswer(unhex(words[1]));
  } else if (words[0] === 'remote-answer' && native.pc) {
    native.pc.setRemoteDescription(unhex(words[1]), 'answer');
  } else if (words[0] === 'stats' && native.pc) {
    out('stats', nativeStats());
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
