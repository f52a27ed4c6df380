//! The server side of the handshake, including the stateless cookie exchange.

use super::*;

impl DtlsEndpoint {
    pub(super) fn server_hello_fragment(
        &mut self,
        now: Instant,
        epoch: u16,
        record_seq: u64,
        frag: &hs::FragmentView<'_>,
    ) -> Result<(), DtlsError> {
        let h = frag.header;
        if epoch != 0 || h.msg_type != msg_type::CLIENT_HELLO {
            return Err(DtlsError::UnexpectedMessage {
                what: "message before ClientHello",
                state: self.hs.name(),
            });
        }
        let length = usize::try_from(h.length).map_err(|_| DtlsError::BufferFull)?;
        if length > self.config.max_handshake_message_size {
            return Err(DtlsError::HandshakeMessageTooLarge {
                len: length,
                max: self.config.max_handshake_message_size,
            });
        }
        if h.fragment_offset == 0 && h.fragment_length == h.length {
            // Unfragmented: handled without keeping anything (RFC 6347 §4.2.1 statelessness).
            return self.server_on_client_hello(now, h.message_seq, record_seq, frag.data);
        }
        // Fragmented ClientHello (Chromium's DTLS 1.3 hello is 1413 bytes in two fragments):
        // one bounded slot, replaced when another message_seq or length shows up.
        let offset = usize::try_from(h.fragment_offset).map_err(|_| DtlsError::BufferFull)?;
        let replace = match &self.hello_partial {
            Some((seq, p)) => *seq != h.message_seq || p.message_len() != length,
            None => true,
        };
        if replace {
            let mut p = PartialMessage::new(h.msg_type, 0, length);
            p.add(offset, frag.data)?;
            self.hello_partial = Some((h.message_seq, p));
        } else if let Some((_, p)) = self.hello_partial.as_mut() {
            p.add(offset, frag.data)?;
        }
        let complete = self
            .hello_partial
            .as_ref()
            .is_some_and(|(_, p)| p.is_complete());
        if complete && let Some((seq, p)) = self.hello_partial.take() {
            let body = p.into_body();
            return self.server_on_client_hello(now, seq, record_seq, &body);
        }
        Ok(())
    }

    pub(super) fn cookie_for(&self, body: &[u8], bucket: u64) -> Option<[u8; 32]> {
        let (before, after) = hs::client_hello_without_cookie(body)?;
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.cookie_secret).ok()?;
        mac.update(&bucket.to_be_bytes());
        mac.update(before);
        mac.update(after);
        Some(mac.finalize().into_bytes().into())
    }

    pub(super) fn cookie_bucket(&self, now: Instant) -> u64 {
        let elapsed = now.saturating_duration_since(self.start).as_millis();
        let life = self.config.cookie_lifetime.as_millis().max(1);
        u64::try_from(elapsed / life).unwrap_or(u64::MAX)
    }

    /// A ClientHello in state "wait ClientHello". Until it is accepted nothing is kept: errors
    /// and HelloVerifyRequests leave the endpoint exactly as it was.
    pub(super) fn server_on_client_hello(
        &mut self,
        now: Instant,
        message_seq: u16,
        record_seq: u64,
        body: &[u8],
    ) -> Result<(), DtlsError> {
        let ch = ClientHello::parse(body)?;
        let offers13 = crate::wire::dtls13::client_hello_offers_dtls13(body);
        if self.config.dtls13 && offers13 {
            let bucket = self.cookie_bucket(now);
            let accepted = v13::Endpoint13::server_accept(v13::ServerStart {
                config: &self.config,
                rng: &mut self.rng,
                cookie_secret: &self.cookie_secret,
                cookie_bucket: bucket,
                now,
                message_seq,
                record_seq,
                body,
            });
            match accepted {
                Ok(v13::Accept13::Retry(d)) => {
                    self.out.push_back(d);
                    return Ok(());
                }
                Ok(v13::Accept13::Accepted(ep)) => {
                    self.hello_partial = None;
                    self.v13 = Some(ep);
                    return Ok(());
                }
                // Nothing in common for 1.3 (say, no TLS_AES_128_GCM_SHA256): try DTLS 1.2.
                Err(DtlsError::NoCommonParameters { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        if self.config.cookie_exchange {
            let bucket = self.cookie_bucket(now);
            let valid = !ch.cookie.is_empty()
                && [Some(bucket), bucket.checked_sub(1)]
                    .into_iter()
                    .flatten()
                    .any(|b| {
                        self.cookie_for(body, b)
                            .is_some_and(|c| bool::from(c.as_slice().ct_eq(&ch.cookie)))
                    });
            if !valid {
                // RFC 6347 §4.2.1: answer with a HelloVerifyRequest, statelessly, reusing the
                // ClientHello's record sequence number; no certificate or key-exchange work.
                let cookie = self.cookie_for(body, bucket).ok_or(DtlsError::BadCookie)?;
                self.send_hello_verify_request(record_seq, &cookie);
                return if ch.cookie.is_empty() {
                    Ok(())
                } else {
                    Err(DtlsError::BadCookie)
                };
            }
        }
        // DTLS versions count down (1.0 = 0xfeff, 1.2 = 0xfefd): a client_version numerically
        // above 1.2 cannot speak 1.2 (RFC 6347 §4.2.1 / RFC 5246 §E.1).
        if ch.version > DTLS_1_2 {
            self.send_stateless_alert(record_seq, AlertDescription::ProtocolVersion);
            return Err(DtlsError::NoCommonParameters { what: "version" });
        }
        let negotiated = self.negotiate(&ch);
        let (suite, group, srtp) = match negotiated {
            Ok(v) => v,
            Err(e) => {
                // Refuse without creating any state: a forged hello cannot kill the endpoint.
                self.send_stateless_alert(record_seq, AlertDescription::HandshakeFailure);
                return Err(e);
            }
        };
        // Accepted: the handshake state starts here.
        self.hello_partial = None;
        self.session.client_random = ch.random;
        self.rng.fill_bytes(&mut self.session.server_random);
        if self.config.dtls13 && offers13 {
            // RFC 8446 §4.1.3: a 1.3-capable server negotiating 1.2 with a 1.3-capable client
            // marks its random so that a downgrade by an attacker is detected.
            for (dst, src) in self
                .session
                .server_random
                .iter_mut()
                .skip(24)
                .zip(crate::wire::dtls13::DOWNGRADE_TLS12)
            {
                *dst = src;
            }
        }
        self.session.suite = Some(suite);
        self.session.group = Some(group);
        self.session.srtp_profile = srtp.as_ref().map(|(p, _)| *p);
        self.session.srtp_mki = srtp.map(|(_, mki)| mki).unwrap_or_default();
        self.reasm.reset_to(message_seq.wrapping_add(1));
        // The ClientHello is the peer flight our first flight answers.
        self.peer_flight_start = message_seq;
        self.awaiting_peer_flight = false;
        // RFC 6347 §4.2.2: the server's message_seq follows the ClientHello's.
        self.next_send_seq = message_seq;
        if let Some(s) = self.write_seq.get_mut(0) {
            *s = (*s).max(record_seq);
        }
        self.session.transcript.clear();
        self.add_transcript(msg_type::CLIENT_HELLO, message_seq, body);
        let reneg = ch.extensions.renegotiation_info.is_some()
            || ch.cipher_suites.contains(&EMPTY_RENEGOTIATION_INFO_SCSV);
        if let Err(f) = self.server_send_first_flight(now, &ch, reneg) {
            self.fail(f);
        }
        Ok(())
    }

    #[allow(clippy::type_complexity)]
    pub(super) fn negotiate(
        &self,
        ch: &ClientHello,
    ) -> Result<
        (
            CipherSuite,
            NamedGroup,
            Option<(SrtpProtectionProfile, Vec<u8>)>,
        ),
        DtlsError,
    > {
        // RFC 5246 §7.4.1.2: the null compression method MUST be offered.
        if !ch.compression_methods.contains(&0) {
            return Err(DtlsError::NoCommonParameters {
                what: "compression method",
            });
        }
        // Server preference order.
        let suite = self
            .config
            .cipher_suites
            .iter()
            .copied()
            .find(|s| ch.cipher_suites.contains(&s.id()))
            .ok_or(DtlsError::NoCommonParameters {
                what: "cipher suite",
            })?;
        let group = match &ch.extensions.supported_groups {
            Some(groups) => self
                .config
                .named_groups
                .iter()
                .copied()
                .find(|g| groups.contains(&g.id())),
            // RFC 8422 §4: without the extension any curve may be used.
            None => self.config.named_groups.first().copied(),
        }
        .ok_or(DtlsError::NoCommonParameters {
            what: "named group",
        })?;
        if let Some(algs) = &ch.extensions.signature_algorithms
            && !algs.contains(&ECDSA_P256_SHA256)
        {
            return Err(DtlsError::NoCommonParameters {
                what: "signature algorithm",
            });
        }
        // RFC 7627 §5.2: a server that requires EMS aborts a handshake without it.
        if !ch.extensions.extended_master_secret {
            return Err(DtlsError::ExtendedMasterSecretMissing);
        }
        if ch
            .extensions
            .renegotiation_info
            .as_ref()
            .is_some_and(|r| !r.is_empty())
        {
            return Err(DtlsError::IllegalParameter {
                what: "renegotiation_info",
            });
        }
        let srtp = match &ch.extensions.use_srtp {
            Some(offer) => self
                .config
                .srtp_profiles
                .iter()
                .copied()
                .find(|p| offer.profiles.contains(&p.id()))
                // RFC 5764 §4.1.1: the server echoes the client's MKI choice.
                .map(|p| (p, offer.mki.clone())),
            None => None,
        };
        Ok((suite, group, srtp))
    }

    pub(super) fn server_send_first_flight(
        &mut self,
        now: Instant,
        ch: &ClientHello,
        reneg: bool,
    ) -> Result<(), Fatal> {
        let suite = self.session.suite.ok_or(DtlsError::Crypto)?;
        let group = self.session.group.ok_or(DtlsError::Crypto)?;
        let sh = ServerHello {
            version: DTLS_1_2,
            random: self.session.server_random,
            session_id: Vec::new(),
            cipher_suite: suite.id(),
            compression_method: 0,
            extensions: HelloExtensions {
                supported_groups: None,
                // RFC 8422 §5.2: echo ec_point_formats when the client sent it.
                ec_point_formats: ch.extensions.ec_point_formats.as_ref().map(|_| vec![0]),
                signature_algorithms: None,
                use_srtp: self.session.srtp_profile.map(|p| UseSrtp {
                    profiles: vec![p.id()],
                    mki: self.session.srtp_mki.clone(),
                }),
                extended_master_secret: true,
                renegotiation_info: reneg.then(Vec::new),
                unknown: Vec::new(),
            },
        };
        let mut items = Vec::with_capacity(5);
        let mut b = Vec::with_capacity(96);
        sh.emit(&mut b);
        items.push(self.transcript_item(msg_type::SERVER_HELLO, b));
        let cert = self.certificate_body();
        items.push(self.transcript_item(msg_type::CERTIFICATE, cert));
        let eph = EphemeralKey::generate(group, &mut self.rng);
        let public = eph.public_bytes();
        self.session.ephemeral = Some(eph);
        let mut signed = Vec::with_capacity(64 + 4 + public.len());
        signed.extend_from_slice(&self.session.client_random);
        signed.extend_from_slice(&self.session.server_random);
        signed.extend_from_slice(&ServerKeyExchange::params(group.id(), &public));
        let signature = self.config.certificate.sign(&signed)?;
        let mut b = Vec::with_capacity(160);
        ServerKeyExchange {
            named_group: group.id(),
            public_key: public,
            signature_scheme: ECDSA_P256_SHA256,
            signature,
        }
        .emit(&mut b);
        items.push(self.transcript_item(msg_type::SERVER_KEY_EXCHANGE, b));
        // WebRTC authenticates both ends (RFC 8827 §6.5): always ask for the client certificate.
        let mut b = Vec::with_capacity(8);
        CertificateRequest {
            certificate_types: vec![ECDSA_SIGN],
            signature_schemes: vec![ECDSA_P256_SHA256],
            authorities: Vec::new(),
        }
        .emit(&mut b);
        items.push(self.transcript_item(msg_type::CERTIFICATE_REQUEST, b));
        items.push(self.transcript_item(msg_type::SERVER_HELLO_DONE, Vec::new()));
        self.hs = Hs::ServerWaitCertificate;
        self.send_flight(now, items, true)
    }

    pub(super) fn server_on_client_key_exchange(
        &mut self,
        now: Instant,
        m: &HandshakeMessage,
    ) -> Result<(), Fatal> {
        let cke = ClientKeyExchange::parse(&m.body)?;
        let eph = self.session.ephemeral.take().ok_or(DtlsError::Crypto)?;
        let pms = eph.agree(&cke.public_key)?;
        self.add_transcript(m.msg_type, m.message_seq, &m.body);
        self.derive_master_secret(&pms)?;
        self.install_keys()?;
        self.hs = Hs::ServerWaitCertificateVerify;
        self.drain_early(now);
        Ok(())
    }

    pub(super) fn server_on_certificate_verify(
        &mut self,
        m: &HandshakeMessage,
    ) -> Result<(), Fatal> {
        let cv = CertificateVerify::parse(&m.body)?;
        if cv.signature_scheme != ECDSA_P256_SHA256 {
            return Err(DtlsError::IllegalParameter {
                what: "signature scheme",
            }
            .into());
        }
        let key = self.session.peer_key.ok_or(DtlsError::NoPeerCertificate)?;
        // RFC 5246 §7.4.8: the signature covers all handshake messages before this one.
        certificate::verify_signature(
            &key,
            &self.session.transcript,
            &cv.signature,
            "CertificateVerify",
        )?;
        self.add_transcript(m.msg_type, m.message_seq, &m.body);
        self.hs = Hs::ServerWaitFinished;
        Ok(())
    }

    pub(super) fn server_on_finished(
        &mut self,
        now: Instant,
        m: &HandshakeMessage,
    ) -> Result<(), Fatal> {
        self.verify_finished(b"client finished", &m.body)?;
        self.add_transcript(m.msg_type, m.message_seq, &m.body);
        let fin = self.finished_data(b"server finished")?;
        let seq = self.take_send_seq();
        self.add_transcript(msg_type::FINISHED, seq, &fin);
        let items = vec![
            FlightItem::ChangeCipherSpec,
            FlightItem::Handshake {
                epoch: 1,
                msg_type: msg_type::FINISHED,
                message_seq: seq,
                body: fin,
            },
        ];
        // The final flight has no timer: it is resent when the client resends its flight
        // (RFC 6347 §4.2.4).
        self.send_flight(now, items, false)?;
        self.handshake_done();
        Ok(())
    }

    pub(super) fn send_hello_verify_request(&mut self, record_seq: u64, cookie: &[u8]) {
        let mut body = Vec::with_capacity(3 + cookie.len());
        // RFC 6347 §4.2.1: HelloVerifyRequest SHOULD carry version DTLS 1.0.
        HelloVerifyRequest {
            version: DTLS_1_0,
            cookie: cookie.to_vec(),
        }
        .emit(&mut body);
        let mut msg = Vec::with_capacity(HANDSHAKE_HEADER_LEN + body.len());
        hs::emit_message(&mut msg, msg_type::HELLO_VERIFY_REQUEST, 0, &body);
        let mut dgram = Vec::with_capacity(RECORD_HEADER_LEN + msg.len());
        RecordHeader {
            content_type: ContentType::Handshake,
            version: DTLS_1_0,
            epoch: 0,
            sequence: record_seq & MAX_SEQUENCE,
            length: u16::try_from(msg.len()).unwrap_or(u16::MAX),
        }
        .emit(&mut dgram);
        dgram.extend_from_slice(&msg);
        self.out.push_back(dgram);
    }

    pub(super) fn send_stateless_alert(&mut self, record_seq: u64, desc: AlertDescription) {
        let mut dgram = Vec::with_capacity(RECORD_HEADER_LEN + 2);
        RecordHeader {
            content_type: ContentType::Alert,
            version: DTLS_1_2,
            epoch: 0,
            sequence: record_seq & MAX_SEQUENCE,
            length: 2,
        }
        .emit(&mut dgram);
        dgram.extend_from_slice(&Alert::fatal(desc).emit());
        self.out.push_back(dgram);
    }
}
