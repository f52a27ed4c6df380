//! Record layer input: epochs, decryption, the replay window, alerts and application data.

use super::*;

impl DtlsEndpoint {
    pub(super) fn handle_record(
        &mut self,
        now: Instant,
        rec: RecordView<'_>,
    ) -> Result<(), DtlsError> {
        let h = rec.header;
        match h.epoch {
            0 => match h.content_type {
                ContentType::Handshake => {
                    self.handle_handshake_record(now, 0, h.sequence, rec.body)
                }
                ContentType::ChangeCipherSpec => self.handle_ccs(rec.body),
                ContentType::Alert => {
                    if self.hs == Hs::ServerWaitClientHello {
                        // RFC 6347 §4.2.1: no state before a ClientHello is accepted, and there
                        // is no handshake an alert could end yet (a spoofed alert must not kill
                        // the listening server).
                        return Err(DtlsError::UnexpectedMessage {
                            what: "alert before ClientHello",
                            state: self.hs.name(),
                        });
                    }
                    if self.hs == Hs::Done {
                        // Unauthenticated alerts cannot end an established connection.
                        return Err(DtlsError::UnexpectedMessage {
                            what: "epoch-0 alert",
                            state: self.hs.name(),
                        });
                    }
                    self.handle_alert(rec.body)
                }
                ContentType::ApplicationData => Err(DtlsError::UnexpectedMessage {
                    what: "epoch-0 application data",
                    state: self.hs.name(),
                }),
            },
            1 => {
                if h.content_type == ContentType::ApplicationData && self.hs != Hs::Done {
                    // Application data before our side of the handshake finished could only be
                    // dropped after decryption; dropping it first keeps it out of the replay
                    // window, so a record from far ahead cannot push the peer's Finished (at a
                    // low sequence number) out of it (learned model, tests/state_machine.rs).
                    return Err(DtlsError::UnexpectedMessage {
                        what: "application data",
                        state: self.hs.name(),
                    });
                }
                if self.read_cipher.is_none() {
                    return self.buffer_early(h, rec.body);
                }
                self.open_record(&h, rec.body)?;
                let plain = std::mem::take(&mut self.scratch);
                if h.content_type == ContentType::ApplicationData
                    && self.state == DtlsState::Connected
                {
                    self.read_window.mark(h.sequence);
                    // The data path: the decrypted buffer becomes the event as it is (what
                    // `handle_app_data` does when connected, without a second copy).
                    self.events.push_back(DtlsEvent::ApplicationData(plain));
                    return Ok(());
                }
                let r = self.dispatch_protected(now, h.content_type, &plain);
                self.mark_if_used(h.sequence, r.is_ok());
                self.scratch = plain;
                r
            }
            epoch => Err(DtlsError::UnexpectedEpoch { epoch }),
        }
    }

    /// Authenticate and decrypt an epoch-1 record into `self.scratch`. The caller moves the
    /// replay window afterwards (`mark_if_used`), never before authentication.
    pub(super) fn open_record(&mut self, h: &RecordHeader, body: &[u8]) -> Result<(), DtlsError> {
        let cipher = self
            .read_cipher
            .as_ref()
            .ok_or(DtlsError::UnexpectedEpoch { epoch: h.epoch })?;
        // RFC 6347 §4.1.2.6: duplicates and records left of the window are discarded...
        if !self.read_window.check(h.sequence) {
            return Err(DtlsError::ReplayedRecord);
        }
        cipher.open(
            h.epoch_seq(),
            h.content_type.code(),
            h.version,
            body,
            &mut self.scratch,
        )?;
        Ok(())
    }

    /// RFC 6347 §4.1.2.6: the window is updated only once the record authenticated. During
    /// the handshake only a record that was used moves it: an authentic record refused in this
    /// state (one the peer sent far ahead, say) leaves no trace, so it cannot push the peer's
    /// Finished, at a low sequence number, out of the window (learned model,
    /// tests/state_machine.rs). After the handshake every authentic record counts, so a replay
    /// of a refused one cannot make us answer twice.
    pub(super) fn mark_if_used(&mut self, sequence: u64, used: bool) {
        if used || self.hs == Hs::Done {
            self.read_window.mark(sequence);
        }
    }

    pub(super) fn dispatch_protected(
        &mut self,
        now: Instant,
        ct: ContentType,
        plain: &[u8],
    ) -> Result<(), DtlsError> {
        match ct {
            ContentType::Handshake => self.handle_handshake_record(now, 1, 0, plain),
            ContentType::Alert => self.handle_alert(plain),
            ContentType::ApplicationData => self.handle_app_data(plain),
            ContentType::ChangeCipherSpec => Err(DtlsError::UnexpectedMessage {
                what: "ChangeCipherSpec in epoch 1",
                state: self.hs.name(),
            }),
        }
    }

    pub(super) fn buffer_early(&mut self, h: RecordHeader, body: &[u8]) -> Result<(), DtlsError> {
        // Records of the next epoch may overtake the messages that create its keys; keep a few.
        if self.hs == Hs::Done || matches!(self.hs, Hs::ServerWaitClientHello) {
            return Err(DtlsError::UnexpectedEpoch { epoch: h.epoch });
        }
        let cap_bytes = self.config.max_buffered_bytes / 4;
        if self.early_records.len() >= self.config.max_buffered_messages
            || self.early_bytes.saturating_add(body.len()) > cap_bytes
        {
            return Err(DtlsError::BufferFull);
        }
        self.early_bytes = self.early_bytes.saturating_add(body.len());
        self.early_records.push_back((h, body.to_vec()));
        Ok(())
    }

    pub(super) fn drain_early(&mut self, now: Instant) {
        while let Some((h, body)) = self.early_records.pop_front() {
            self.early_bytes = self.early_bytes.saturating_sub(body.len());
            if self.open_record(&h, &body).is_ok() {
                let plain = std::mem::take(&mut self.scratch);
                let r = self.dispatch_protected(now, h.content_type, &plain);
                self.mark_if_used(h.sequence, r.is_ok());
                self.scratch = plain;
            }
            if self.state != DtlsState::Handshaking {
                break;
            }
        }
    }

    pub(super) fn handle_ccs(&mut self, body: &[u8]) -> Result<(), DtlsError> {
        if body != [1] {
            return Err(DtlsError::MalformedChangeCipherSpec);
        }
        // The peer switches to epoch 1; we can follow only once we derived its keys.
        let expected = matches!(
            self.hs,
            Hs::ClientWaitFinished
                | Hs::ServerWaitCertificateVerify
                | Hs::ServerWaitFinished
                | Hs::Done
        );
        if !expected || self.read_cipher.is_none() {
            return Err(DtlsError::UnexpectedMessage {
                what: "ChangeCipherSpec",
                state: self.hs.name(),
            });
        }
        Ok(())
    }

    pub(super) fn handle_alert(&mut self, body: &[u8]) -> Result<(), DtlsError> {
        let alert = Alert::parse(body)?;
        self.events.push_back(DtlsEvent::AlertReceived(alert));
        if alert.description == AlertDescription::CloseNotify {
            // RFC 5246 §7.2.1: answer close_notify with our own and close.
            let _ = self.send_alert(Alert::warning(AlertDescription::CloseNotify));
            self.state = DtlsState::Closed;
            self.flight_timer = None;
            self.stop_handshake_buffers();
            self.events.push_back(DtlsEvent::Closed);
        } else if alert.level == AlertLevel::Fatal {
            self.state = DtlsState::Failed;
            self.flight_timer = None;
            self.stop_handshake_buffers();
            self.events
                .push_back(DtlsEvent::Failed(DtlsError::PeerAlert(alert.description)));
        }
        Ok(())
    }

    pub(super) fn handle_app_data(&mut self, plain: &[u8]) -> Result<(), DtlsError> {
        match self.state {
            DtlsState::Connected => {
                self.events
                    .push_back(DtlsEvent::ApplicationData(plain.to_vec()));
                Ok(())
            }
            DtlsState::AwaitingFingerprint | DtlsState::Handshaking if self.hs == Hs::Done => {
                // Held (bounded) until the fingerprint is known; never delivered unverified.
                if self.pending_app.len() >= self.config.max_buffered_messages
                    || self.pending_app_bytes.saturating_add(plain.len())
                        > self.config.max_buffered_bytes
                {
                    return Err(DtlsError::BufferFull);
                }
                self.pending_app_bytes = self.pending_app_bytes.saturating_add(plain.len());
                self.pending_app.push_back(plain.to_vec());
                Ok(())
            }
            _ => Err(DtlsError::UnexpectedMessage {
                what: "application data",
                state: self.hs.name(),
            }),
        }
    }
}
