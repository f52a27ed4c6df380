//! Suite `pc-firefox-turn`: headless Firefox ESR relay-only through `tern turn-server` and
//! coturn (`browser_turn/mod.rs`): Firefox's TURN client against Tern's server.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![allow(clippy::disallowed_methods)] // a test driver owns the clock

mod browser_turn;

use browser_turn::{Browser, Direction, TurnServer, run_case};

macro_rules! cases {
    ($($name:ident => ($server:ident, $transport:literal, $direction:ident, $case:literal)),* $(,)?) => {
        $(
            #[test]
            #[ignore = "interop: run by cargo xtask test-all (suite pc-firefox-turn)"]
            fn $name() {
                run_case(Browser::Firefox, TurnServer::$server, $transport, Direction::$direction, $case)
            }
        )*
    };
}

cases! {
    tern_udp_browser_offers_reliable_ordered => (Tern, "udp", BrowserOffers, "reliable-ordered"),
    tern_udp_tern_offers_reliable_ordered => (Tern, "udp", TernOffers, "reliable-ordered"),
    tern_tcp_browser_offers_reliable_ordered => (Tern, "tcp", BrowserOffers, "reliable-ordered"),
    tern_tcp_tern_offers_reliable_ordered => (Tern, "tcp", TernOffers, "reliable-ordered"),
    tern_udp_browser_offers_message_256k => (Tern, "udp", BrowserOffers, "message-256k"),
    tern_rest_api_credentials_browser_offers => (TernRestApi, "udp", BrowserOffers, "reliable-ordered"),
    tern_default_policy_refuses_the_peer => (TernDefaultPolicy, "udp", BrowserOffers, "reliable-ordered"),
    coturn_udp_browser_offers_reliable_ordered => (Coturn, "udp", BrowserOffers, "reliable-ordered"),
    coturn_tcp_tern_offers_reliable_ordered => (Coturn, "tcp", TernOffers, "reliable-ordered"),
}
