//! Suite `pc-chromium`: Tern's peer connection against headless Chromium (libwebrtc, dcsctp,
//! BoringSSL DTLS) on 127.0.0.1, both directions of offer, one Chromium per case
//! (`support/page_case.rs`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![allow(clippy::disallowed_methods)] // a test driver owns the clock

mod support;

macro_rules! cases {
    ($($name:ident => $case:literal),* $(,)?) => {
        mod browser_offers {
            use super::support::page_case::{Browser, Direction, run_case};
            $(
                #[test]
                #[ignore = "interop: run by cargo xtask test-all (suite pc-chromium)"]
                fn $name() { run_case(Browser::Chromium, Direction::BrowserOffers, $case) }
            )*
        }
        mod tern_offers {
            use super::support::page_case::{Browser, Direction, run_case};
            $(
                #[test]
                #[ignore = "interop: run by cargo xtask test-all (suite pc-chromium)"]
                fn $name() { run_case(Browser::Chromium, Direction::TernOffers, $case) }
            )*
        }
    };
}

cases! {
    reliable_ordered => "reliable-ordered",
    unordered => "unordered",
    max_retransmits_0 => "max-retransmits-0",
    message_256k => "message-256k",
    many_small => "many-small",
    tern_opens => "tern-opens",
    media => "media",
    ccfb_media => "ccfb-media",
    dtls13_reliable_ordered => "dtls13-reliable-ordered",
    dtls13_media => "dtls13-media",
    ipv6_reliable_ordered => "ipv6-reliable-ordered",
    ipv6_media => "ipv6-media",
}
