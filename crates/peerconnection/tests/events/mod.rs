//! Waiting on a tokio-driven peer connection's events, shared by the driver tests.

use std::time::Duration;
use tern_peerconnection::{Event, RtcEvents};

/// The next event `want` accepts (earlier ones are dropped); panics after 20 s or if the
/// connection task ends.
pub async fn next_matching(events: &mut RtcEvents, mut want: impl FnMut(&Event) -> bool) -> Event {
    tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let event = events
                .recv()
                .await
                .expect("the connection task ended early");
            if want(&event) {
                return event;
            }
        }
    })
    .await
    .expect("timed out waiting for an event")
}
