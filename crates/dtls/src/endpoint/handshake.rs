//! Handshake input: fragments, reassembly, retransmission triggers and message dispatch.

use super::*;
use crate::wire::dtls13::{DTLS_1_3, ServerHello13};

impl DtlsEndpoint {
    pub(super) fn handle_handshake_record(
        &mut self,
        now: Instant,
        epoch: u16,
        record_seq: u64,
        body: &[u8],
    ) -> Result<(), DtlsError> {
        let mut pos = 0usize;
        let mut first_err = None;
        while pos < body.len() {
            let rest = body.get(pos..).unwrap_or(&[]);
            let (frag, used) = hs::parse_fragment(rest, pos)?;
            pos = pos.saturating_add(used);
            if let Err(e) = self.handle_fragment(now, epoch, record_seq, &frag) {
                first_err.get_or_insert(e);
            }
            if self.state == DtlsState::Failed || self.state == DtlsState::Closed {
                break;
            }
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    pub(super) fn handle_fragment(
        &mut self,
        now: Instant,
        epoch: u16,
        record_seq: u64,
        frag: &hs::FragmentView<'_>,
    ) -> Result<(), DtlsError> {
        let h = frag.header;
        if self.hs == Hs::ServerWaitClientHello {
            return self.server_hello_fragment(now, epoch, record_seq, frag);
        }
        if epoch == 1 && self.hs != Hs::Done && h.msg_type != msg_type::FINISHED {
            // Only Finished travels in epoch 1 during the handshake; anything else (an
            // authenticated HelloRequest or ClientHello sent early) is refused before it is
            // buffered, and leaves the replay window alone (`mark_if_used`).
            return Err(DtlsError::UnexpectedMessage {
                what: msg_type_name(h.msg_type),
                state: self.hs.name(),
            });
        }
        if self.hs == Hs::Done && h.message_seq >= self.reasm.next_seq() {
            // RFC 8827 §6.5 / RFC 5746: WebRTC never renegotiates; refuse politely when the
            // request is authenticated, drop otherwise.
            let reneg = match self.config.role {
                DtlsRole::Server => h.msg_type == msg_type::CLIENT_HELLO,
                DtlsRole::Client => h.msg_type == msg_type::HELLO_REQUEST,
            };
            if reneg && epoch == 1 && self.state == DtlsState::Connected {
                let _ = self.send_alert(Alert::warning(AlertDescription::NoRenegotiation));
                return Err(DtlsError::RenegotiationRefused);
            }
            return Err(DtlsError::UnexpectedMessage {
                what: "handshake message",
                state: self.hs.name(),
            });
        }
        match self.reasm.insert(epoch, frag)? {
            Inserted::Old => {
                // RFC 6347 §4.2.4: a retransmitted flight from the peer means ours was lost;
                // a stale copy of an older flight says nothing about ours (learned model,
                // tests/state_machine.rs: a replayed first ClientHello made us resend).
                if h.message_seq >= self.answered_from {
                    self.peer_retransmitted(now);
                }
                Ok(())
            }
            Inserted::Buffered => {
                while let Some(msg) = self.reasm.take_ready() {
                    if self.awaiting_peer_flight {
                        self.awaiting_peer_flight = false;
                        self.peer_flight_start = msg.message_seq;
                    }
                    match self.process_message(now, &msg) {
                        Ok(()) => self.reasm.advance(),
                        Err(f) => {
                            self.fail(f);
                            break;
                        }
                    }
                    if self.state != DtlsState::Handshaking && self.hs != Hs::Done {
                        break;
                    }
                }
                Ok(())
            }
        }
    }

    pub(super) fn peer_retransmitted(&mut self, now: Instant) {
        if self.flight.is_empty() {
            return;
        }
        if let Some(last) = self.last_peer_trigger
            && now.saturating_duration_since(last) < PEER_TRIGGER_GAP
        {
            return;
        }
        self.last_peer_trigger = Some(now);
        if let Err(f) = self.emit_flight() {
            self.fail(f);
        }
    }

    pub(super) fn process_message(
        &mut self,
        now: Instant,
        m: &HandshakeMessage,
    ) -> Result<(), Fatal> {
        let state = self.hs.name();
        // RFC 5246 §7.2.2: a message out of order is a fatal unexpected_message.
        let unexpected = || {
            Fatal(
                DtlsError::UnexpectedMessage {
                    what: msg_type_name(m.msg_type),
                    state,
                },
                AlertDescription::UnexpectedMessage,
            )
        };
        // Only Finished travels in epoch 1 during the handshake.
        let wants_epoch = u16::from(m.msg_type == msg_type::FINISHED);
        if m.epoch != wants_epoch {
            return Err(unexpected());
        }
        match (self.hs, m.msg_type) {
            (Hs::ClientWaitServerHello, msg_type::HELLO_VERIFY_REQUEST) => {
                self.client_on_hello_verify(now, m)
            }
            (Hs::ClientWaitServerHello, msg_type::SERVER_HELLO)
                if self.offer13.is_some()
                    && ServerHello13::selected_version_of(&m.body) == Some(DTLS_1_3) =>
            {
                self.client_switch_to_dtls13(now, m);
                Ok(())
            }
            (Hs::ClientWaitServerHello, msg_type::SERVER_HELLO) => self.client_on_server_hello(m),
            (Hs::ClientWaitCertificate, msg_type::CERTIFICATE) => {
                self.on_peer_certificate(m, Hs::ClientWaitKeyExchange)
            }
            (Hs::ClientWaitKeyExchange, msg_type::SERVER_KEY_EXCHANGE) => {
                self.client_on_server_key_exchange(m)
            }
            (Hs::ClientWaitCertRequestOrDone, msg_type::CERTIFICATE_REQUEST) => {
                self.client_on_certificate_request(m)
            }
            (Hs::ClientWaitCertRequestOrDone | Hs::ClientWaitDone, msg_type::SERVER_HELLO_DONE) => {
                self.client_on_server_hello_done(now, m)
            }
            (Hs::ClientWaitFinished, msg_type::FINISHED) => self.client_on_finished(m),
            (Hs::ServerWaitCertificate, msg_type::CERTIFICATE) => {
                self.on_peer_certificate(m, Hs::ServerWaitKeyExchange)
            }
            (Hs::ServerWaitKeyExchange, msg_type::CLIENT_KEY_EXCHANGE) => {
                self.server_on_client_key_exchange(now, m)
            }
            (Hs::ServerWaitCertificateVerify, msg_type::CERTIFICATE_VERIFY) => {
                self.server_on_certificate_verify(m)
            }
            (Hs::ServerWaitFinished, msg_type::FINISHED) => self.server_on_finished(now, m),
            _ => Err(unexpected()),
        }
    }
}
