// The Pion side of suite pc-pion (crates/peerconnection/tests/interop_pion.rs).
//
// Speaks the line protocol described in tests/peers/common.rs on stdin/stdout: makes or answers an
// offer, opens the case's data channel, and echoes every message on every channel (text as text,
// binary as binary). Exits at stdin EOF; the test also kills it by PID. Built by the test in GOPATH
// mode against Debian's golang-github-pion-webrtc.v3-dev.
package main

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/pion/webrtc/v3"
)

var (
	// RTP packets received per kind (media case) and the local tracks that echo them.
	received [2]int64
	echoTo   [2]*webrtc.TrackLocalStaticRTP
	outMu    sync.Mutex
	ip       = envOr("TERN_INTEROP_IP", "127.0.0.1")
)

func envOr(key, fallback string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return fallback
}

func out(parts ...string) {
	outMu.Lock()
	defer outMu.Unlock()
	fmt.Println(strings.Join(parts, " "))
}

func logf(format string, args ...interface{}) {
	out("log", strings.ReplaceAll(fmt.Sprintf(format, args...), "\n", " | "))
}

func echo(dc *webrtc.DataChannel) {
	dc.OnOpen(func() {
		var maxRtx interface{} = nil
		if dc.MaxRetransmits() != nil {
			maxRtx = *dc.MaxRetransmits()
		}
		logf("channel %q id=%v ordered=%v maxRetransmits=%v", dc.Label(), dc.ID(), dc.Ordered(), maxRtx)
	})
	dc.OnMessage(func(msg webrtc.DataChannelMessage) {
		var err error
		if msg.IsString {
			err = dc.SendText(string(msg.Data))
		} else {
			err = dc.Send(msg.Data)
		}
		if err != nil {
			out("error", "echo send failed: "+err.Error())
		}
	})
}

func makePC() (*webrtc.PeerConnection, error) {
	var se webrtc.SettingEngine
	// Pion skips loopback unless told (TESTING.md); only the test's address is offered.
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetIPFilter(func(addr net.IP) bool { return addr.String() == ip })
	se.SetICEMulticastDNSMode(0) // ice.MulticastDNSModeDisabled
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		return nil, err
	}
	api := webrtc.NewAPI(webrtc.WithSettingEngine(se), webrtc.WithMediaEngine(m))
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, err
	}
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) { logf("connection %s", s) })
	pc.OnDataChannel(echo)
	pc.OnTrack(func(track *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		k := 0
		if track.Kind() == webrtc.RTPCodecTypeVideo {
			k = 1
		}
		logf("track %s ssrc=%d codec=%s", track.Kind(), track.SSRC(), track.Codec().MimeType)
		go func() {
			for {
				packet, _, err := track.ReadRTP()
				if err != nil {
					return
				}
				atomic.AddInt64(&received[k], 1)
				// Echo the payload on our own track of this kind (Pion sets SSRC and PT).
				if local := echoTo[k]; local != nil {
					_ = local.WriteRTP(packet)
				}
			}
		}()
	})
	return pc, nil
}

// addEchoTracks adds an Opus and a VP8 track that carry back what Tern sends.
func addEchoTracks(pc *webrtc.PeerConnection) error {
	for k, mime := range []string{webrtc.MimeTypeOpus, webrtc.MimeTypeVP8} {
		track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: mime}, fmt.Sprintf("echo-%d", k), "pion")
		if err != nil {
			return err
		}
		if _, err := pc.AddTrack(track); err != nil {
			return err
		}
		echoTo[k] = track
	}
	return nil
}

func openChannel(pc *webrtc.PeerConnection, label, ordered, maxRtx string, offering bool) error {
	if label == "-" {
		// An offer needs an m=application for Tern to open its channel on: an unused "control"
		// channel (like the Chromium page's) puts one there.
		if offering {
			dc, err := pc.CreateDataChannel("control", nil)
			if err != nil {
				return err
			}
			echo(dc)
		}
		return nil
	}
	o := ordered == "1"
	init := &webrtc.DataChannelInit{Ordered: &o}
	if n, err := strconv.Atoi(maxRtx); err == nil && n >= 0 {
		m := uint16(n)
		init.MaxRetransmits = &m
	}
	dc, err := pc.CreateDataChannel(label, init)
	if err != nil {
		return err
	}
	echo(dc)
	return nil
}

func unhex(s string) (string, error) {
	b, err := hex.DecodeString(s)
	return string(b), err
}

func setLocalAndGather(pc *webrtc.PeerConnection, desc webrtc.SessionDescription) error {
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(desc); err != nil {
		return err
	}
	<-gathered
	return nil
}

func handle(pc **webrtc.PeerConnection, words []string) error {
	switch words[0] {
	case "offer":
		p, err := makePC()
		if err != nil {
			return err
		}
		*pc = p
		if err := openChannel(p, words[1], words[2], words[3], true); err != nil {
			return err
		}
		offer, err := p.CreateOffer(nil)
		if err != nil {
			return err
		}
		if err := setLocalAndGather(p, offer); err != nil {
			return err
		}
		out("offer", hex.EncodeToString([]byte(p.LocalDescription().SDP)))
	case "answer":
		p, err := makePC()
		if err != nil {
			return err
		}
		*pc = p
		sdp, err := unhex(words[4])
		if err != nil {
			return err
		}
		if err := p.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sdp}); err != nil {
			return err
		}
		answer, err := p.CreateAnswer(nil)
		if err != nil {
			return err
		}
		if err := setLocalAndGather(p, answer); err != nil {
			return err
		}
		out("answer", hex.EncodeToString([]byte(p.LocalDescription().SDP)))
		return openChannel(p, words[1], words[2], words[3], false)
	case "rtp-offer":
		p, err := makePC()
		if err != nil {
			return err
		}
		*pc = p
		if err := addEchoTracks(p); err != nil {
			return err
		}
		offer, err := p.CreateOffer(nil)
		if err != nil {
			return err
		}
		if err := setLocalAndGather(p, offer); err != nil {
			return err
		}
		out("offer", hex.EncodeToString([]byte(p.LocalDescription().SDP)))
	case "rtp-answer":
		p, err := makePC()
		if err != nil {
			return err
		}
		*pc = p
		sdp, err := unhex(words[1])
		if err != nil {
			return err
		}
		if err := p.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sdp}); err != nil {
			return err
		}
		if err := addEchoTracks(p); err != nil {
			return err
		}
		answer, err := p.CreateAnswer(nil)
		if err != nil {
			return err
		}
		if err := setLocalAndGather(p, answer); err != nil {
			return err
		}
		out("answer", hex.EncodeToString([]byte(p.LocalDescription().SDP)))
	case "stats":
		out("stats", fmt.Sprintf("in-audio=%d in-video=%d", atomic.LoadInt64(&received[0]), atomic.LoadInt64(&received[1])))
	case "remote-answer":
		sdp, err := unhex(words[1])
		if err != nil {
			return err
		}
		return (*pc).SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sdp})
	default:
		return fmt.Errorf("unknown command %s", words[0])
	}
	return nil
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "--version" {
		fmt.Println("pion/webrtc v3 (Debian golang-github-pion-webrtc.v3-dev)")
		return
	}
	var pc *webrtc.PeerConnection
	scanner := bufio.NewScanner(os.Stdin)
	scanner.Buffer(make([]byte, 1<<20), 1<<24)
	for scanner.Scan() {
		words := strings.Fields(scanner.Text())
		if len(words) == 0 {
			continue
		}
		if err := handle(&pc, words); err != nil {
			out("error", strings.ReplaceAll(err.Error(), "\n", " | "))
		}
	}
	if pc != nil {
		_ = pc.Close()
	}
}
