//! Output: flights, fragmentation to the MTU, record protection and alerts.

use super::*;

impl DtlsEndpoint {
    pub(super) fn take_send_seq(&mut self) -> u16 {
        let s = self.next_send_seq;
        self.next_send_seq = self.next_send_seq.wrapping_add(1);
        s
    }

    /// The transcript holds each message as if unfragmented (RFC 6347 §4.2.6).
    pub(super) fn add_transcript(&mut self, t: u8, seq: u16, body: &[u8]) {
        hs::emit_message(&mut self.session.transcript, t, seq, body);
    }

    pub(super) fn transcript_item(&mut self, t: u8, body: Vec<u8>) -> FlightItem {
        let seq = self.take_send_seq();
        self.add_transcript(t, seq, &body);
        FlightItem::Handshake {
            epoch: 0,
            msg_type: t,
            message_seq: seq,
            body,
        }
    }

    pub(super) fn certificate_body(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(self.config.certificate.der().len() + 6);
        CertificateMsg {
            chain: vec![self.config.certificate.der().to_vec()],
        }
        .emit(&mut b);
        b
    }

    pub(super) fn send_flight(
        &mut self,
        now: Instant,
        items: Vec<FlightItem>,
        with_timer: bool,
    ) -> Result<(), Fatal> {
        self.flight = items;
        self.rto = self.config.initial_retransmit_timeout;
        self.retransmissions = 0;
        // A copy of the peer's last message arriving right after we answered it is not a sign
        // that our answer was lost: no immediate resend (PEER_TRIGGER_GAP from now on).
        self.last_peer_trigger = Some(now);
        self.answered_from = self.peer_flight_start;
        self.awaiting_peer_flight = true;
        self.flight_timer = if with_timer {
            now.checked_add(self.rto)
        } else {
            None
        };
        self.emit_flight()
    }

    /// Encode the current flight into datagrams of at most `mtu` bytes, fragmenting handshake
    /// messages as needed (RFC 6347 §4.2.3). Each (re)transmission uses fresh record numbers.
    pub(super) fn emit_flight(&mut self) -> Result<(), Fatal> {
        let mtu = self.config.mtu;
        let flight = std::mem::take(&mut self.flight);
        let mut dgram: Vec<u8> = Vec::with_capacity(mtu);
        let mut result = Ok(());
        'items: for item in &flight {
            match item {
                FlightItem::ChangeCipherSpec => {
                    if dgram.len() + RECORD_HEADER_LEN + 1 > mtu {
                        self.out
                            .push_back(std::mem::replace(&mut dgram, Vec::with_capacity(mtu)));
                    }
                    if let Err(e) =
                        self.write_record(0, ContentType::ChangeCipherSpec, &[1], &mut dgram)
                    {
                        result = Err(e.into());
                        break 'items;
                    }
                }
                FlightItem::Handshake {
                    epoch,
                    msg_type: t,
                    message_seq,
                    body,
                } => {
                    let overhead = RECORD_HEADER_LEN
                        + HANDSHAKE_HEADER_LEN
                        + if *epoch > 0 {
                            self.write_cipher.as_ref().map_or(0, RecordCipher::overhead)
                        } else {
                            0
                        };
                    let total = body.len();
                    let mut offset = 0usize;
                    loop {
                        let room = mtu.saturating_sub(dgram.len()).saturating_sub(overhead);
                        let left = total - offset;
                        // Start a new datagram rather than sending tiny fragments.
                        if !dgram.is_empty() && (room == 0 || (room < left && room < 64)) {
                            self.out
                                .push_back(std::mem::replace(&mut dgram, Vec::with_capacity(mtu)));
                            continue;
                        }
                        let take = left.min(room.max(1));
                        let mut frag = Vec::with_capacity(HANDSHAKE_HEADER_LEN + take);
                        hs::HandshakeHeader {
                            msg_type: *t,
                            length: u32::try_from(total).unwrap_or(0),
                            message_seq: *message_seq,
                            fragment_offset: u32::try_from(offset).unwrap_or(0),
                            fragment_length: u32::try_from(take).unwrap_or(0),
                        }
                        .emit(&mut frag);
                        frag.extend_from_slice(body.get(offset..offset + take).unwrap_or(&[]));
                        if let Err(e) =
                            self.write_record(*epoch, ContentType::Handshake, &frag, &mut dgram)
                        {
                            result = Err(e.into());
                            break 'items;
                        }
                        offset += take;
                        if offset >= total {
                            break;
                        }
                    }
                }
            }
            if let FlightItem::ChangeCipherSpec = item {
                self.write_epoch = 1;
            }
        }
        if !dgram.is_empty() {
            self.out.push_back(dgram);
        }
        self.flight = flight;
        result
    }

    /// Append one record of `epoch` to `dgram`, encrypting when epoch > 0.
    pub(super) fn write_record(
        &mut self,
        epoch: u16,
        ct: ContentType,
        payload: &[u8],
        dgram: &mut Vec<u8>,
    ) -> Result<(), DtlsError> {
        let idx = usize::from(epoch.min(1));
        let seq = self.write_seq.get(idx).copied().unwrap_or(MAX_SEQUENCE + 1);
        // RFC 6347 §4.1: the sequence number MUST NOT wrap within an epoch.
        if seq > MAX_SEQUENCE {
            return Err(DtlsError::SequenceNumberExhausted);
        }
        if epoch == 0 {
            RecordHeader {
                content_type: ct,
                version: DTLS_1_2,
                epoch: 0,
                sequence: seq,
                length: u16::try_from(payload.len())
                    .map_err(|_| DtlsError::RecordTooLarge { len: payload.len() })?,
            }
            .emit(dgram);
            dgram.extend_from_slice(payload);
        } else {
            let cipher = self.write_cipher.as_ref().ok_or(DtlsError::NotConnected)?;
            let len = payload.len() + cipher.overhead();
            let header = RecordHeader {
                content_type: ct,
                version: DTLS_1_2,
                epoch,
                sequence: seq,
                length: u16::try_from(len).map_err(|_| DtlsError::RecordTooLarge { len })?,
            };
            header.emit(dgram);
            cipher.seal(header.epoch_seq(), ct.code(), DTLS_1_2, payload, dgram)?;
        }
        if let Some(s) = self.write_seq.get_mut(idx) {
            *s = seq + 1;
        }
        Ok(())
    }

    /// One record in the current write epoch, coalesced into the last queued datagram if it fits.
    pub(super) fn queue_record(
        &mut self,
        ct: ContentType,
        payload: &[u8],
    ) -> Result<(), DtlsError> {
        let epoch = self.write_epoch;
        let overhead = RECORD_HEADER_LEN
            + if epoch > 0 {
                self.write_cipher.as_ref().map_or(0, RecordCipher::overhead)
            } else {
                0
            };
        let need = overhead + payload.len();
        let mut dgram = match self.out.pop_back() {
            Some(last) if last.len() + need <= self.config.mtu => last,
            Some(last) => {
                self.out.push_back(last);
                Vec::with_capacity(need.max(64))
            }
            None => Vec::with_capacity(need.max(64)),
        };
        let r = self.write_record(epoch, ct, payload, &mut dgram);
        if !dgram.is_empty() {
            self.out.push_back(dgram);
        }
        r
    }

    pub(super) fn send_alert(&mut self, alert: Alert) -> Result<(), DtlsError> {
        self.queue_record(ContentType::Alert, &alert.emit())
    }
}
