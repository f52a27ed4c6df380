#![no_main]
//! Decode arbitrary bytes as STUN: no panic; every accessor is safe after decode; the raw
//! attributes re-encode to a message that decodes to the same attributes.

use libfuzzer_sys::fuzz_target;
use tern_stun::attributes::*;
use tern_stun::*;

fuzz_target!(|data: &[u8]| {
    let _ = is_stun(data);
    let Ok(m) = Message::decode(data) else { return };
    let key = IntegrityKey::short_term("fuzz-password");
    let _ = m.verify_integrity(&key);
    let _ = m.verify_integrity_sha256(&key);
    let _ = m.get::<Username>();
    let _ = m.get::<XorMappedAddress>();
    let _ = m.get::<MappedAddress>();
    let _ = m.get::<ErrorCode>();
    let _ = m.get::<UnknownAttributes>();
    let _ = m.get::<PasswordAlgorithms>();
    let _ = m.get::<PasswordAlgorithmAttr>();
    let _ = m.get::<Realm>();
    let _ = m.get::<Nonce>();
    let _ = m.get::<Userhash>();
    let _ = m.get::<Priority>();
    let _ = m.get::<IceControlling>();
    let _ = m.unknown_comprehension_required(kind::is_known).count();
    let mut out = Vec::new();
    let _ = BindingServer::new(BindingServerConfig::default()).respond(
        "192.0.2.1:3478".parse().unwrap(),
        data,
        &mut out,
    );
    let mut buf = Vec::new();
    let mut e = MessageEncoder::new(&mut buf, m.message_type(), m.transaction_id());
    let attrs: Vec<_> = m.attributes().collect();
    for a in &attrs {
        e.add_raw(a.kind, a.value).unwrap();
    }
    e.finish();
    let again = Message::decode(&buf).unwrap();
    assert!(again.attributes().map(|a| (a.kind, a.value)).eq(attrs.iter().map(|a| (a.kind, a.value))));
});
