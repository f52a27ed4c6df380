//! Any datagram on 224.0.0.251:5353: the mDNS codec (`tern_peerconnection::mdns`) never panics,
//! keeps its bounds, and the responder's answer to what parses (if any) parses again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tern_peerconnection::mdns;

fuzz_target!(|data: &[u8]| {
    let Ok(message) = mdns::parse(data) else {
        return;
    };
    assert!(message.questions.len() <= mdns::MAX_QUESTIONS);
    assert!(message.records.len() <= mdns::MAX_RECORDS);
    for question in &message.questions {
        assert!(question.name.len() <= 255);
        // Whatever was asked can be asked again, and a response about it parses.
        if let Ok(query) = mdns::query(0, &question.name, &[question.qtype], question.unicast) {
            let again = mdns::parse(&query).expect("our own query parses");
            assert_eq!(again.questions.len(), 1);
            assert_eq!(again.questions[0].qtype, question.qtype);
        }
        let owned: Vec<std::net::IpAddr> =
            message.records.iter().map(|r| r.address).take(8).collect();
        if let Ok(response) = mdns::response(
            message.id,
            &message.questions,
            &question.name,
            &owned,
            &owned,
        ) {
            let parsed = mdns::parse(&response).expect("our own response parses");
            assert!(parsed.response);
            assert_eq!(parsed.records.len(), owned.len());
        }
    }
});
