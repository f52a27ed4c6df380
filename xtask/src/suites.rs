//! The one table of conformance suites. A new suite is one line in `all()`.
//!
//! Suite-specific tests (interop with a real peer, corpus runs) are `#[ignore]`d integration tests
//! in the crate that owns the behaviour, so plain `cargo test` never needs a peer; their suite runs
//! them with `--ignored`, inside a loopback-only network namespace when `netns` is set.

/// Something a suite needs installed; `setup` installs the union for the selected suites.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// A Debian package.
    Apt(&'static str),
    /// A PyPI package in the venv under `target/interop/venv`, with the module name to import.
    Pip {
        package: &'static str,
        import: &'static str,
    },
    /// An npm package (with version) under `target/interop/node`.
    Npm {
        package: &'static str,
        dir: &'static str,
    },
    /// `cargo fuzz` on the stable toolchain.
    CargoFuzz,
    /// wolfSSL 5.9.4 example server and client with DTLS 1.3, built from the source that the
    /// `wolfssl-sys` 5.3.0 crate ships (Debian's wolfSSL 5.5 has no DTLS 1.3).
    WolfSsl,
}

/// How a suite runs.
#[derive(Clone, Copy, Debug)]
pub enum Kind {
    /// `cargo test` with these arguments; counts come from libtest's `test result:` lines.
    CargoTest { args: &'static [&'static str] },
    /// The `#[ignore]`d tests of one integration-test target, run with `--ignored`.
    Ignored {
        package: &'static str,
        test: &'static str,
        features: &'static str,
        netns: bool,
    },
    /// Every cargo-fuzz target for `--fuzz-seconds`.
    FuzzSmoke,
}

/// One row of the conformance table.
#[derive(Clone, Copy, Debug)]
pub struct Suite {
    pub name: &'static str,
    /// The independent implementation this suite runs against ("tern" when there is none).
    pub peer: &'static str,
    /// A command printing the peer's version (first line is kept); empty for none.
    pub peer_version: &'static [&'static str],
    pub kind: Kind,
    pub needs: &'static [Need],
    pub timeout_minutes: u64,
}

/// Debian packages every build of the workspace needs (media crates link system libraries).
const BUILD: &[Need] = &[
    Need::Apt("pkg-config"),
    Need::Apt("libopus-dev"),
    Need::Apt("libvpx-dev"),
    Need::Apt("libasound2-dev"),
    Need::Apt("libclang-dev"),
    Need::Apt("iproute2"),
];

/// No peer version to print: the suite checks Tern against itself.
const OURS: &[&str] = &[];

/// Every suite, in the order `test-all` runs them.
pub fn all() -> Vec<Suite> {
    vec![
        Suite {
            name: "workspace-unit",
            peer: "tern",
            peer_version: OURS,
            kind: Kind::CargoTest {
                // Every test binary runs even after a failure, so one report names every failure.
                args: &[
                    "--workspace",
                    "--all-features",
                    "--exclude",
                    "tern-netsim",
                    "--no-fail-fast",
                ],
            },
            needs: BUILD,
            timeout_minutes: 60,
        },
        Suite {
            name: "netsim",
            peer: "tern",
            peer_version: OURS,
            kind: Kind::CargoTest {
                args: &["-p", "tern-netsim"],
            },
            needs: BUILD,
            timeout_minutes: 15,
        },
        Suite {
            name: "sdp-corpus",
            peer: "captured SDP (Chromium 156, aiortc 1.16, werift 0.24, libdatachannel 0.33, @roamhq/wrtc 0.10, Pion 3.1) + hand-written Firefox/Pion/libdatachannel/2013-Chrome styles",
            peer_version: OURS,
            kind: Kind::CargoTest {
                args: &["-p", "tern-sdp", "--test", "corpus"],
            },
            needs: BUILD,
            timeout_minutes: 10,
        },
        Suite {
            name: "sdp-aiortc",
            peer: "aiortc (parses our offers, we parse its answers)",
            peer_version: &[
                "sh",
                "-c",
                "$TERN_PYTHON -c 'import aiortc; print(\"aiortc\", aiortc.__version__)'",
            ],
            kind: Kind::Ignored {
                package: "tern-sdp",
                test: "interop_aiortc",
                features: "",
                netns: false,
            },
            needs: &[Need::Pip {
                package: "aiortc",
                import: "aiortc",
            }],
            timeout_minutes: 10,
        },
        Suite {
            name: "signaling-chromium",
            peer: "Chromium headless (WHATWG WebSocket)",
            peer_version: &["chromium", "--version"],
            kind: Kind::Ignored {
                package: "tern-signaling",
                test: "interop_chromium",
                features: "",
                netns: true,
            },
            needs: &[Need::Apt("chromium")],
            timeout_minutes: 10,
        },
        Suite {
            name: "dtls-openssl",
            peer: "OpenSSL s_server / s_client (DTLS 1.2)",
            peer_version: &["openssl", "version"],
            kind: Kind::Ignored {
                package: "tern-dtls",
                test: "interop_openssl",
                features: "",
                netns: true,
            },
            needs: &[Need::Apt("openssl")],
            timeout_minutes: 15,
        },
        Suite {
            name: "dtls-wolfssl",
            peer: "wolfSSL examples/server and client (DTLS 1.3 and 1.2)",
            peer_version: &[
                "sh",
                "-c",
                "grep -o 'LIBWOLFSSL_VERSION_STRING \"[^\"]*\"' $TERN_WOLFSSL_DIR/wolfssl/version.h | cut -d'\"' -f2 | sed 's/^/wolfSSL /'",
            ],
            kind: Kind::Ignored {
                package: "tern-dtls",
                test: "interop_wolfssl",
                features: "",
                netns: true,
            },
            needs: &[
                Need::Apt("autoconf"),
                Need::Apt("automake"),
                Need::Apt("libtool"),
                Need::Apt("gcc"),
                Need::Apt("make"),
                Need::WolfSsl,
            ],
            timeout_minutes: 15,
        },
        Suite {
            name: "srtp-libsrtp",
            peer: "libsrtp 2 via pylibsrtp",
            peer_version: &[
                "sh",
                "-c",
                "$TERN_PYTHON -c 'import importlib.metadata as m; print(\"pylibsrtp\", m.version(\"pylibsrtp\"))'",
            ],
            kind: Kind::Ignored {
                package: "tern-srtp",
                test: "interop_libsrtp",
                features: "",
                netns: false,
            },
            needs: &[Need::Pip {
                package: "pylibsrtp",
                import: "pylibsrtp",
            }],
            timeout_minutes: 10,
        },
        Suite {
            name: "turn-client-coturn",
            peer: "coturn turnserver (UDP and TCP)",
            peer_version: &["sh", "-c", "echo coturn $(turnserver --version)"],
            kind: Kind::Ignored {
                package: "tern-turn",
                test: "interop_coturn",
                features: "",
                netns: true,
            },
            needs: &[Need::Apt("coturn")],
            timeout_minutes: 10,
        },
        Suite {
            name: "turn-server-uclient",
            peer: "coturn turnutils_uclient / turnutils_stunclient",
            peer_version: &["sh", "-c", "echo coturn $(turnserver --version)"],
            kind: Kind::Ignored {
                package: "tern-turn",
                test: "interop_uclient",
                features: "server",
                netns: true,
            },
            needs: &[Need::Apt("coturn")],
            timeout_minutes: 10,
        },
        Suite {
            name: "rtp-rtcp-aiortc",
            peer: "aiortc RTP/RTCP codecs",
            peer_version: &[
                "sh",
                "-c",
                "$TERN_PYTHON -c 'import importlib.metadata as m; print(\"aiortc\", m.version(\"aiortc\"))'",
            ],
            kind: Kind::Ignored {
                package: "tern-rtp-rtcp",
                test: "interop_aiortc",
                features: "",
                netns: false,
            },
            needs: &[Need::Pip {
                package: "aiortc",
                import: "aiortc",
            }],
            timeout_minutes: 10,
        },
        Suite {
            name: "sctp-usrsctp",
            peer: "usrsctp via a C echo peer, SCTP over UDP: DATA and I-DATA, clean and 10 % loss",
            peer_version: &[
                "sh",
                "-c",
                "echo usrsctp $(dpkg-query -W -f='${Version}' libusrsctp2)",
            ],
            kind: Kind::Ignored {
                package: "tern-sctp",
                test: "interop_usrsctp",
                features: "",
                netns: true,
            },
            needs: &[Need::Apt("libusrsctp-dev"), Need::Apt("gcc")],
            timeout_minutes: 15,
        },
        Suite {
            name: "sctp-aiortc",
            peer: "aiortc's SCTP stack over UDP, clean and 10 % loss",
            peer_version: &[
                "sh",
                "-c",
                "$TERN_PYTHON -c 'import importlib.metadata as m; print(\"aiortc\", m.version(\"aiortc\"))'",
            ],
            kind: Kind::Ignored {
                package: "tern-sctp",
                test: "interop_aiortc",
                features: "",
                netns: true,
            },
            needs: &[Need::Pip {
                package: "aiortc",
                import: "aiortc",
            }],
            timeout_minutes: 10,
        },
        Suite {
            name: "audio-quality",
            peer: "libwebrtc NetEq (libtgowt) and a fixed buffer: PESQ-WB and delay on seeded loss/jitter traces",
            peer_version: &[
                "sh",
                "-c",
                "echo libtgowt $(dpkg-query -W -f='${Version}' libtgowt-dev)",
            ],
            kind: Kind::Ignored {
                package: "tern-neteq",
                test: "interop_libwebrtc",
                features: "opus",
                netns: false,
            },
            needs: &[
                Need::Apt("libtgowt-dev"),
                Need::Apt("espeak-ng"),
                Need::Apt("g++"),
                Need::Apt("libopus-dev"),
                Need::Pip {
                    package: "numpy",
                    import: "numpy",
                },
                Need::Pip {
                    package: "scipy",
                    import: "scipy",
                },
                Need::Pip {
                    package: "pesq",
                    import: "pesq",
                },
            ],
            timeout_minutes: 20,
        },
        Suite {
            name: "stun-coturn",
            peer: "coturn turnserver as a STUN server, turnutils_stunclient against ours",
            peer_version: &["sh", "-c", "echo coturn $(turnserver --version)"],
            kind: Kind::Ignored {
                package: "tern-stun",
                test: "interop_coturn",
                features: "",
                netns: true,
            },
            needs: &[Need::Apt("coturn")],
            timeout_minutes: 10,
        },
        Suite {
            name: "ice-aioice",
            peer: "aioice (aiortc's ICE), host candidates, full and lite agents",
            peer_version: &[
                "sh",
                "-c",
                "$TERN_PYTHON -c 'import aioice; print(\"aioice\", aioice.__version__)'",
            ],
            kind: Kind::Ignored {
                package: "tern-ice",
                test: "interop_aioice",
                features: "",
                netns: true,
            },
            needs: &[Need::Pip {
                package: "aiortc",
                import: "aioice",
            }],
            timeout_minutes: 10,
        },
        Suite {
            name: "ice-aioice-turn",
            peer: "aioice through coturn: relay-only agents in both roles",
            peer_version: &[
                "sh",
                "-c",
                "$TERN_PYTHON -c 'import aioice; print(\"aioice\", aioice.__version__)'; echo coturn $(turnserver --version)",
            ],
            kind: Kind::Ignored {
                package: "tern-ice",
                test: "interop_aioice_turn",
                features: "",
                netns: true,
            },
            needs: &[
                Need::Apt("coturn"),
                Need::Pip {
                    package: "aiortc",
                    import: "aioice",
                },
            ],
            timeout_minutes: 10,
        },
        Suite {
            name: "ice-natlab",
            peer: "NAT lab: network namespaces, nftables NATs (full cone, port-restricted, symmetric), coturn STUN/TURN",
            peer_version: &[
                "sh",
                "-c",
                "echo coturn $(turnserver --version); nft --version",
            ],
            kind: Kind::Ignored {
                package: "tern-ice",
                test: "natlab",
                features: "",
                netns: true,
            },
            needs: &[
                Need::Apt("coturn"),
                Need::Apt("nftables"),
                Need::Apt("iproute2"),
            ],
            timeout_minutes: 15,
        },
        Suite {
            name: "vp8-libwebrtc",
            peer: "libwebrtc's VP8 packetizer and depacketizer (libtgowt) through a C++ harness",
            peer_version: &[
                "sh",
                "-c",
                "echo libtgowt $(dpkg-query -W -f='${Version}' libtgowt-dev)",
            ],
            kind: Kind::Ignored {
                package: "tern-vp8-engine",
                test: "interop_libwebrtc",
                features: "",
                netns: false,
            },
            needs: &[
                Need::Apt("libtgowt-dev"),
                Need::Apt("g++"),
                Need::Apt("libvpx-dev"),
            ],
            timeout_minutes: 15,
        },
        Suite {
            name: "echo-cancellation",
            peer: "libwebrtc AEC3 (libtgowt) through its audio processing module, and speexdsp's echo canceller (MDF + preprocessor echo suppression): ERLE, convergence, path change, near-end passthrough, double talk, CPU",
            peer_version: &[
                "sh",
                "-c",
                "echo libtgowt $(dpkg-query -W -f='${Version}' libtgowt-dev), speexdsp $(dpkg-query -W -f='${Version}' libspeexdsp-dev)",
            ],
            kind: Kind::Ignored {
                package: "tern-aec",
                test: "interop_libwebrtc",
                features: "",
                netns: false,
            },
            needs: &[
                Need::Apt("libtgowt-dev"),
                Need::Apt("g++"),
                Need::Apt("libspeexdsp-dev"),
                Need::Apt("pkg-config"),
                Need::Pip {
                    package: "numpy",
                    import: "numpy",
                },
                Need::Pip {
                    package: "scipy",
                    import: "scipy",
                },
                Need::Pip {
                    package: "pesq",
                    import: "pesq",
                },
            ],
            timeout_minutes: 15,
        },
        Suite {
            name: "pc-chromium",
            peer: "Chromium headless (libwebrtc, dcsctp, BoringSSL)",
            peer_version: &["chromium", "--version"],
            kind: Kind::Ignored {
                package: "tern-peerconnection",
                test: "interop_chromium",
                features: "",
                netns: true,
            },
            needs: &[Need::Apt("chromium")],
            timeout_minutes: 20,
        },
        Suite {
            name: "pc-firefox",
            peer: "Firefox ESR headless (NSS DTLS, usrsctp, libwebrtc media)",
            peer_version: &["firefox-esr", "--version"],
            kind: Kind::Ignored {
                package: "tern-peerconnection",
                test: "interop_firefox",
                features: "",
                netns: true,
            },
            needs: &[Need::Apt("firefox-esr")],
            timeout_minutes: 20,
        },
        Suite {
            name: "pc-aiortc",
            peer: "aiortc (aioice, OpenSSL DTLS, its SCTP; Opus/VP8 decoded)",
            peer_version: &[
                "sh",
                "-c",
                "$TERN_PYTHON -c 'import aiortc; print(\"aiortc\", aiortc.__version__)'",
            ],
            kind: Kind::Ignored {
                package: "tern-peerconnection",
                test: "interop_aiortc",
                features: "",
                netns: true,
            },
            needs: &[Need::Pip {
                package: "aiortc",
                import: "aiortc",
            }],
            timeout_minutes: 15,
        },
        Suite {
            name: "pc-libdatachannel",
            peer: "node-datachannel (libdatachannel, libjuice, usrsctp; Opus/VP8 RTP echoed through its Track API)",
            peer_version: &[
                "sh",
                "-c",
                "node -p \"'node-datachannel ' + require(process.env.TERN_NODE_MODULES + '/node-datachannel/package.json').version\"",
            ],
            kind: Kind::Ignored {
                package: "tern-peerconnection",
                test: "interop_libdatachannel",
                features: "",
                netns: true,
            },
            needs: &[
                Need::Apt("nodejs"),
                Need::Npm {
                    package: "node-datachannel@0.33",
                    dir: "node-datachannel",
                },
            ],
            timeout_minutes: 10,
        },
        Suite {
            name: "pc-werift",
            peer: "werift (TypeScript WebRTC)",
            peer_version: &[
                "sh",
                "-c",
                "node -p \"'werift ' + require(process.env.TERN_NODE_MODULES + '/werift/package.json').version\"",
            ],
            kind: Kind::Ignored {
                package: "tern-peerconnection",
                test: "interop_werift",
                features: "",
                netns: true,
            },
            needs: &[
                Need::Apt("nodejs"),
                Need::Npm {
                    package: "werift@0.24",
                    dir: "werift",
                },
            ],
            timeout_minutes: 10,
        },
        Suite {
            name: "pc-libwebrtc-node",
            peer: "@roamhq/wrtc (libwebrtc in Node; decodes our Opus/VP8)",
            peer_version: &[
                "sh",
                "-c",
                "node -p \"'@roamhq/wrtc ' + require(process.env.TERN_NODE_MODULES + '/@roamhq/wrtc/package.json').version\"",
            ],
            kind: Kind::Ignored {
                package: "tern-peerconnection",
                test: "interop_libwebrtc_node",
                features: "",
                netns: true,
            },
            needs: &[
                Need::Apt("nodejs"),
                Need::Npm {
                    package: "@roamhq/wrtc@0.10",
                    dir: "@roamhq/wrtc",
                },
            ],
            timeout_minutes: 10,
        },
        Suite {
            name: "pc-pion",
            peer: "Pion webrtc v3 (Go, Debian)",
            peer_version: &[
                "sh",
                "-c",
                "dpkg-query -W -f 'pion/webrtc ${Version}\\n' golang-github-pion-webrtc.v3-dev",
            ],
            kind: Kind::Ignored {
                package: "tern-peerconnection",
                test: "interop_pion",
                features: "",
                netns: true,
            },
            needs: &[
                Need::Apt("golang-go"),
                Need::Apt("golang-github-pion-webrtc.v3-dev"),
            ],
            timeout_minutes: 15,
        },
        Suite {
            name: "pc-chromium-turn",
            peer: "Chromium headless, relay-only through `tern turn-server` and coturn (UDP and TCP)",
            peer_version: &[
                "sh",
                "-c",
                "chromium --version; echo coturn $(turnserver --version)",
            ],
            kind: Kind::Ignored {
                package: "tern-cli",
                test: "interop_chromium_turn",
                features: "",
                netns: true,
            },
            needs: &[Need::Apt("chromium"), Need::Apt("coturn")],
            timeout_minutes: 20,
        },
        Suite {
            name: "pc-firefox-turn",
            peer: "Firefox ESR headless, relay-only through `tern turn-server` and coturn (UDP and TCP)",
            peer_version: &[
                "sh",
                "-c",
                "firefox-esr --version; echo coturn $(turnserver --version)",
            ],
            kind: Kind::Ignored {
                package: "tern-cli",
                test: "interop_firefox_turn",
                features: "",
                netns: true,
            },
            needs: &[Need::Apt("firefox-esr"), Need::Apt("coturn")],
            timeout_minutes: 20,
        },
        Suite {
            name: "cli-servers-coturn",
            peer: "coturn turnutils_uclient / turnutils_stunclient against `tern turn-server` / `tern stun-server`",
            peer_version: &["sh", "-c", "echo coturn $(turnserver --version)"],
            kind: Kind::Ignored {
                package: "tern-cli",
                test: "servers",
                features: "",
                netns: true,
            },
            needs: &[Need::Apt("coturn")],
            timeout_minutes: 10,
        },
        Suite {
            name: "serve-browser",
            peer: "headless Chromium (chromedriver) and Firefox ESR (Marionette) with fake camera/mic on the `tern serve` page",
            peer_version: &[
                "sh",
                "-c",
                "chromium --version; firefox-esr --version; chromedriver --version",
            ],
            kind: Kind::Ignored {
                package: "tern-cli",
                test: "serve_browser",
                features: "",
                netns: true,
            },
            needs: &[
                Need::Apt("chromium"),
                Need::Apt("chromium-driver"),
                Need::Apt("firefox-esr"),
            ],
            timeout_minutes: 15,
        },
        Suite {
            name: "serve-mdns-chromium",
            peer: "headless Chromium hiding its host IP behind an mDNS name, on the `tern serve --mdns` page",
            peer_version: &["sh", "-c", "chromium --version; chromedriver --version"],
            kind: Kind::Ignored {
                package: "tern-cli",
                test: "serve_mdns",
                features: "",
                netns: true,
            },
            needs: &[Need::Apt("chromium"), Need::Apt("chromium-driver")],
            timeout_minutes: 15,
        },
        Suite {
            name: "pc-coturn-relay",
            peer: "coturn (two Tern peers relay-only through it over UDP, TCP and TLS, tokio driver)",
            peer_version: &[
                "sh",
                "-c",
                "echo coturn $(turnserver --version); openssl version",
            ],
            kind: Kind::Ignored {
                package: "tern-peerconnection",
                test: "interop_coturn_relay",
                features: "tokio",
                netns: true,
            },
            needs: &[Need::Apt("coturn"), Need::Apt("openssl")],
            timeout_minutes: 10,
        },
        Suite {
            name: "fuzz-smoke",
            peer: "libFuzzer",
            peer_version: &["cargo", "fuzz", "--version"],
            kind: Kind::FuzzSmoke,
            needs: &[Need::CargoFuzz],
            timeout_minutes: 30,
        },
    ]
}
