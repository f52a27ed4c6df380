// The Pion side of bench/compare's data_channel figures (PERF.md), run as a child process by
// src/bin/data_channel/main.rs, one round per request so rounds interleave with Tern's and
// str0m's. Two Pion v3 peer connections in this one process on 127.0.0.1 (loopback host
// candidates only, no mDNS, no STUN), connected by handing the SDP across in memory.
//
//	pion_bench setup                 create both connections → channel open on both
//	pion_bench throughput <bytes>    reliable ordered 65,535-byte messages one way, ~1 MiB buffered
//	pion_bench serve                 the same, one round per stdin line, until stdin EOF
//
// Prints one line: `pion figure=<f> value=<v> unit=<u> cpu_ms=<process CPU time in the measured
// interval, all threads>`. Built in GOPATH mode against Debian's golang-github-pion-webrtc.v3-dev,
// as crates/peerconnection/tests/interop_pion.rs builds its peer.
package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pion/webrtc/v3"
)

// message is the PERF.md throughput message size.
const message = 65535

// highWater is the bufferedAmount the sender keeps, as Tern's and str0m's loops do.
const highWater = 1 << 20

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "pion_bench: "+format+"\n", args...)
	os.Exit(1)
}

func cpu() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func newAPI() *webrtc.API {
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetIPFilter(func(addr net.IP) bool { return addr.IsLoopback() })
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	se.SetICEMulticastDNSMode(0) // ice.MulticastDNSModeDisabled
	return webrtc.NewAPI(webrtc.WithSettingEngine(se))
}

// pair is two connected peer connections and the channel between them.
type pair struct {
	a, b   *webrtc.PeerConnection
	sender *webrtc.DataChannel // on a
	remote *webrtc.DataChannel // on b
}

func (p *pair) close() {
	_ = p.a.Close()
	_ = p.b.Close()
}

// connect creates both peer connections and returns once the channel is open on both sides.
func connect(api *webrtc.API) *pair {
	cfg := webrtc.Configuration{} // no ICE servers: no STUN
	a, err := api.NewPeerConnection(cfg)
	if err != nil {
		fail("new pc: %v", err)
	}
	b, err := api.NewPeerConnection(cfg)
	if err != nil {
		fail("new pc: %v", err)
	}
	p := &pair{a: a, b: b}
	openA := make(chan struct{})
	openB := make(chan *webrtc.DataChannel, 1)
	ordered := true
	dc, err := a.CreateDataChannel("bench", &webrtc.DataChannelInit{Ordered: &ordered})
	if err != nil {
		fail("channel: %v", err)
	}
	p.sender = dc
	dc.OnOpen(func() { close(openA) })
	b.OnDataChannel(func(d *webrtc.DataChannel) {
		d.OnOpen(func() { openB <- d })
	})

	offer, err := a.CreateOffer(nil)
	if err != nil {
		fail("offer: %v", err)
	}
	gatheredA := webrtc.GatheringCompletePromise(a)
	if err := a.SetLocalDescription(offer); err != nil {
		fail("local offer: %v", err)
	}
	<-gatheredA
	if err := b.SetRemoteDescription(*a.LocalDescription()); err != nil {
		fail("remote offer: %v", err)
	}
	answer, err := b.CreateAnswer(nil)
	if err != nil {
		fail("answer: %v", err)
	}
	gatheredB := webrtc.GatheringCompletePromise(b)
	if err := b.SetLocalDescription(answer); err != nil {
		fail("local answer: %v", err)
	}
	<-gatheredB
	if err := a.SetRemoteDescription(*b.LocalDescription()); err != nil {
		fail("remote answer: %v", err)
	}
	timeout := time.After(20 * time.Second)
	select {
	case <-openA:
	case <-timeout:
		fail("no channel open within 20 s")
	}
	select {
	case p.remote = <-openB:
	case <-timeout:
		fail("no channel open within 20 s")
	}
	return p
}

func setup(api *webrtc.API) {
	c0, t0 := cpu(), time.Now()
	p := connect(api)
	elapsed, used := time.Since(t0), cpu()-c0
	p.close()
	fmt.Printf("pion figure=setup value=%.3f unit=ms cpu_ms=%.3f\n",
		float64(elapsed.Microseconds())/1e3, float64(used.Microseconds())/1e3)
}

func throughput(api *webrtc.API, total int) {
	p := connect(api)
	defer p.close()
	messages := (total + message - 1) / message
	expected := messages * message
	received := 0
	done := make(chan struct{})
	p.remote.OnMessage(func(m webrtc.DataChannelMessage) {
		// OnMessage runs on one goroutine per channel, in order: no lock needed.
		received += len(m.Data)
		if received == expected {
			close(done)
		}
	})
	low := make(chan struct{}, 1)
	p.sender.SetBufferedAmountLowThreshold(highWater / 2)
	p.sender.OnBufferedAmountLow(func() {
		select {
		case low <- struct{}{}:
		default:
		}
	})
	payload := make([]byte, message)
	c0, t0 := cpu(), time.Now()
	deadline := time.After(120 * time.Second)
	for sent := 0; sent < messages; {
		for sent < messages && p.sender.BufferedAmount() < highWater {
			if err := p.sender.Send(payload); err != nil {
				fail("send: %v", err)
			}
			sent++
		}
		if sent < messages {
			select {
			case <-low:
			case <-deadline:
				fail("throughput run stalled after %d messages", sent)
			}
		}
	}
	select {
	case <-done:
	case <-deadline:
		fail("throughput run stalled")
	}
	elapsed, used := time.Since(t0), cpu()-c0
	fmt.Printf("pion figure=throughput value=%.3f unit=MB/s cpu_ms=%.3f\n",
		float64(expected)/elapsed.Seconds()/1e6, float64(used.Microseconds())/1e3)
}

func run(api *webrtc.API, args []string) {
	switch args[0] {
	case "setup":
		setup(api)
	case "throughput":
		total := 64 << 20
		if len(args) > 1 {
			n, err := strconv.Atoi(args[1])
			if err != nil || n <= 0 {
				fail("bad byte count %q", args[1])
			}
			total = n
		}
		throughput(api, total)
	default:
		fail("unknown figure %q", args[0])
	}
}

func main() {
	if len(os.Args) < 2 {
		fail("usage: pion_bench setup | throughput <bytes> | serve")
	}
	api := newAPI()
	if os.Args[1] != "serve" {
		run(api, os.Args[1:])
		return
	}
	// serve: one round per stdin line (`setup`, `throughput <bytes>`), one result line each, so
	// the Rust side interleaves rounds with a warm process; exits at stdin EOF.
	lines := bufio.NewScanner(os.Stdin)
	for lines.Scan() {
		if args := strings.Fields(lines.Text()); len(args) > 0 {
			run(api, args)
		}
	}
}
