// Prints a real Pion v3 SDP for tests/corpus.rs once ICE gathering has completed on 127.0.0.1:
// with no argument, an offer with audio + video transceivers (sendrecv) and a data channel; with
// a path, the answer to the offer in that file. Built in GOPATH mode against Debian's
// golang-github-pion-webrtc.v3-dev (see tests/vectors/README.md for the exact command).
package main

import (
	"fmt"
	"net"
	"os"

	"github.com/pion/webrtc/v3"
)

func run() (string, error) {
	var se webrtc.SettingEngine
	// Pion skips loopback unless told; offer only 127.0.0.1, no mDNS.
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetIPFilter(func(addr net.IP) bool { return addr.String() == "127.0.0.1" })
	se.SetICEMulticastDNSMode(0) // ice.MulticastDNSModeDisabled
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		return "", err
	}
	api := webrtc.NewAPI(webrtc.WithSettingEngine(se), webrtc.WithMediaEngine(m))
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return "", err
	}
	defer pc.Close()

	var desc webrtc.SessionDescription
	if len(os.Args) > 1 {
		offer, err := os.ReadFile(os.Args[1])
		if err != nil {
			return "", err
		}
		err = pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: string(offer)})
		if err != nil {
			return "", err
		}
		if desc, err = pc.CreateAnswer(nil); err != nil {
			return "", err
		}
	} else {
		for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
			init := webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendrecv}
			if _, err := pc.AddTransceiverFromKind(kind, init); err != nil {
				return "", err
			}
		}
		if _, err := pc.CreateDataChannel("capture", nil); err != nil {
			return "", err
		}
		if desc, err = pc.CreateOffer(nil); err != nil {
			return "", err
		}
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(desc); err != nil {
		return "", err
	}
	<-gathered
	return pc.LocalDescription().SDP, nil
}

func main() {
	sdp, err := run()
	if err != nil {
		fmt.Fprintln(os.Stderr, "pion_offer:", err)
		os.Exit(1)
	}
	fmt.Print(sdp)
}
