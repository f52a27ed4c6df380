//! The client side of the handshake.

use super::*;

impl DtlsEndpoint {
    pub(super) fn client_hello_body(&self) -> Vec<u8> {
        let ch = ClientHello {
            version: DTLS_1_2,
            random: self.session.client_random,
            session_id: Vec::new(),
            cookie: self.session.cookie.clone(),
            // A DTLS 1.3 offer lists TLS_AES_128_GCM_SHA256 first (RFC 8446 §4.1.2).
            cipher_suites: self
                .offer13
                .as_ref()
                .map(|_| crate::wire::dtls13::TLS_AES_128_GCM_SHA256)
                .into_iter()
                .chain(self.config.cipher_suites.iter().map(|s| s.id()))
                .collect(),
            compression_methods: vec![0],
            extensions: HelloExtensions {
                supported_groups: Some(self.config.named_groups.iter().map(|g| g.id()).collect()),
                ec_point_formats: Some(vec![0]),
                signature_algorithms: Some(vec![ECDSA_P256_SHA256]),
                use_srtp: (!self.config.srtp_profiles.is_empty()).then(|| UseSrtp {
                    profiles: self.config.srtp_profiles.iter().map(|p| p.id()).collect(),
                    mki: Vec::new(),
                }),
                // RFC 7627 §5.1: the client sends an empty extended_master_secret extension.
                extended_master_secret: true,
                // RFC 5746 §3.4: signal secure renegotiation support in the initial handshake.
                renegotiation_info: Some(Vec::new()),
                unknown: Vec::new(),
            },
        };
        let mut body = Vec::with_capacity(256);
        match &self.offer13 {
            Some((group, key)) => {
                // RFC 8446 §4.2.1 / RFC 9147 §5.3: a client offering DTLS 1.3 and 1.2 keeps
                // legacy_version {254, 253} and adds supported_versions and key_share.
                let mut no_ext = ch.clone();
                no_ext.extensions = HelloExtensions::default();
                no_ext.emit(&mut body);
                body.truncate(body.len().saturating_sub(2));
                let mut ext = Vec::with_capacity(128);
                ch.extensions.emit(&mut ext);
                let mut block = ext.get(2..).unwrap_or(&[]).to_vec();
                block.extend_from_slice(&crate::wire::dtls13::client_offer_extensions(
                    group.id(),
                    &key.public_bytes(),
                    &[],
                ));
                crate::wire::put_vec16(&mut body, &block);
            }
            None => ch.emit(&mut body),
        }
        body
    }

    /// The server chose DTLS 1.3: hand the offer to a DTLS 1.3 endpoint, which processes this
    /// ServerHello (or HelloRetryRequest) and everything after it.
    pub(super) fn client_switch_to_dtls13(&mut self, now: Instant, m: &HandshakeMessage) {
        let Some((group, key)) = self.offer13.take() else {
            return;
        };
        let client_hello = {
            // The ClientHello the server saw, rebuilt byte for byte from the same state.
            self.offer13 = Some((group, key));
            let b = self.client_hello_body();
            self.offer13.take().map(|(g, k)| (b, g, k))
        };
        let Some((client_hello, group, key)) = client_hello else {
            return;
        };
        let mut seed = [0u8; 32];
        self.rng.fill_bytes(&mut seed);
        let start = v13::ClientStart {
            config: self.config.clone(),
            rng: StdRng::from_seed(seed),
            client_hello,
            group,
            key,
            next_send_seq: self.next_send_seq,
            next_recv_seq: m.message_seq,
            epoch0_seq: self.write_seq.first().copied().unwrap_or(0),
        };
        self.flight.clear();
        self.flight_timer = None;
        self.stop_handshake_buffers();
        match v13::Endpoint13::client_from_server_hello(start, now, m) {
            Ok(ep) => self.v13 = Some(ep),
            Err((mut ep, f)) => {
                ep.fail(f);
                self.v13 = Some(ep);
            }
        }
    }

    pub(super) fn client_on_hello_verify(
        &mut self,
        now: Instant,
        m: &HandshakeMessage,
    ) -> Result<(), Fatal> {
        let hvr = HelloVerifyRequest::parse(&m.body)?;
        self.session.hello_verify_count = self.session.hello_verify_count.saturating_add(1);
        if self.session.hello_verify_count > 3 {
            return Err(Fatal(
                DtlsError::BadCookie,
                AlertDescription::HandshakeFailure,
            ));
        }
        self.session.cookie = hvr.cookie;
        // RFC 6347 §4.2.1: the ClientHello and HelloVerifyRequest without a cookie are not part
        // of the transcript; the second ClientHello keeps the same random.
        self.session.transcript.clear();
        let body = self.client_hello_body();
        let seq = self.take_send_seq();
        self.add_transcript(msg_type::CLIENT_HELLO, seq, &body);
        let item = FlightItem::Handshake {
            epoch: 0,
            msg_type: msg_type::CLIENT_HELLO,
            message_seq: seq,
            body,
        };
        self.send_flight(now, vec![item], true)
    }

    pub(super) fn client_on_server_hello(&mut self, m: &HandshakeMessage) -> Result<(), Fatal> {
        let sh = ServerHello::parse(&m.body)?;
        if sh.version != DTLS_1_2 {
            return Err(Fatal(
                DtlsError::NoCommonParameters { what: "version" },
                AlertDescription::ProtocolVersion,
            ));
        }
        // RFC 8446 §4.1.3: a client that offered 1.3 and got 1.2 checks the downgrade marker.
        if self.offer13.is_some()
            && sh.random.get(24..) == Some(&crate::wire::dtls13::DOWNGRADE_TLS12[..])
        {
            return Err(Fatal(
                DtlsError::DowngradeDetected,
                AlertDescription::IllegalParameter,
            ));
        }
        self.offer13 = None;
        let suite = CipherSuite::from_id(sh.cipher_suite)
            .filter(|s| self.config.cipher_suites.contains(s))
            .ok_or(DtlsError::IllegalParameter {
                what: "cipher suite",
            })?;
        if sh.compression_method != 0 {
            return Err(DtlsError::IllegalParameter {
                what: "compression method",
            }
            .into());
        }
        // RFC 7627 §5.2: a client that requires EMS aborts if the server did not send it.
        if !sh.extensions.extended_master_secret {
            return Err(DtlsError::ExtendedMasterSecretMissing.into());
        }
        if sh
            .extensions
            .renegotiation_info
            .as_ref()
            .is_some_and(|r| !r.is_empty())
        {
            // RFC 5746 §3.4: must be empty in the initial handshake.
            return Err(Fatal(
                DtlsError::IllegalParameter {
                    what: "renegotiation_info",
                },
                AlertDescription::HandshakeFailure,
            ));
        }
        if let Some(srtp) = &sh.extensions.use_srtp {
            // RFC 5764 §4.1.1: exactly one profile, one we offered.
            let [id] = srtp.profiles.as_slice() else {
                return Err(DtlsError::IllegalParameter {
                    what: "SRTP profile list",
                }
                .into());
            };
            let p = SrtpProtectionProfile::from_id(*id)
                .filter(|p| self.config.srtp_profiles.contains(p))
                .ok_or(DtlsError::IllegalParameter {
                    what: "SRTP profile",
                })?;
            self.session.srtp_profile = Some(p);
            self.session.srtp_mki = srtp.mki.clone();
        }
        self.session.server_random = sh.random;
        self.session.suite = Some(suite);
        self.add_transcript(m.msg_type, m.message_seq, &m.body);
        self.hs = Hs::ClientWaitCertificate;
        Ok(())
    }

    pub(super) fn on_peer_certificate(
        &mut self,
        m: &HandshakeMessage,
        next: Hs,
    ) -> Result<(), Fatal> {
        let cm = CertificateMsg::parse(&m.body)?;
        let Some(leaf) = cm.chain.into_iter().next() else {
            // RFC 5246 §7.4.6: a server requiring client authentication answers an empty
            // Certificate with a fatal handshake_failure alert; WebRTC is always mutual.
            return Err(Fatal(
                DtlsError::NoPeerCertificate,
                AlertDescription::HandshakeFailure,
            ));
        };
        let key = certificate::peer_public_key(&leaf)?;
        self.session.peer_key = Some(key);
        self.session.peer_cert = Some(leaf);
        self.check_fingerprint()?;
        self.add_transcript(m.msg_type, m.message_seq, &m.body);
        self.hs = next;
        Ok(())
    }

    /// RFC 8122 §5 / RFC 8827 §6.5: the certificate must match one of the SDP fingerprints.
    /// With no fingerprint known yet the decision waits for `set_remote_fingerprints`.
    pub(super) fn check_fingerprint(&mut self) -> Result<(), Fatal> {
        let Some(der) = &self.session.peer_cert else {
            return Ok(());
        };
        if self.config.remote_fingerprints.is_empty() {
            return Ok(());
        }
        if self
            .config
            .remote_fingerprints
            .iter()
            .any(|fp| fp.matches(der))
        {
            self.session.fingerprint_ok = true;
            Ok(())
        } else {
            Err(Fatal(
                DtlsError::FingerprintMismatch,
                AlertDescription::BadCertificate,
            ))
        }
    }

    pub(super) fn client_on_server_key_exchange(
        &mut self,
        m: &HandshakeMessage,
    ) -> Result<(), Fatal> {
        let ske = ServerKeyExchange::parse(&m.body)?;
        let group = NamedGroup::from_id(ske.named_group)
            .filter(|g| self.config.named_groups.contains(g))
            .ok_or(DtlsError::IllegalParameter {
                what: "named group",
            })?;
        if ske.signature_scheme != ECDSA_P256_SHA256 {
            return Err(DtlsError::IllegalParameter {
                what: "signature scheme",
            }
            .into());
        }
        let key = self.session.peer_key.ok_or(DtlsError::NoPeerCertificate)?;
        // RFC 8422 §5.4: the signature covers client_random + server_random + ServerECDHParams.
        let mut signed = Vec::with_capacity(64 + 4 + ske.public_key.len());
        signed.extend_from_slice(&self.session.client_random);
        signed.extend_from_slice(&self.session.server_random);
        signed.extend_from_slice(&ServerKeyExchange::params(ske.named_group, &ske.public_key));
        certificate::verify_signature(&key, &signed, &ske.signature, "ServerKeyExchange")?;
        self.session.group = Some(group);
        self.session.peer_public = ske.public_key;
        self.add_transcript(m.msg_type, m.message_seq, &m.body);
        self.hs = Hs::ClientWaitCertRequestOrDone;
        Ok(())
    }

    pub(super) fn client_on_certificate_request(
        &mut self,
        m: &HandshakeMessage,
    ) -> Result<(), Fatal> {
        let cr = CertificateRequest::parse(&m.body)?;
        if !cr.certificate_types.contains(&ECDSA_SIGN)
            || !cr.signature_schemes.contains(&ECDSA_P256_SHA256)
        {
            return Err(DtlsError::NoCommonParameters {
                what: "client certificate type",
            }
            .into());
        }
        self.session.cert_requested = true;
        self.add_transcript(m.msg_type, m.message_seq, &m.body);
        self.hs = Hs::ClientWaitDone;
        Ok(())
    }

    pub(super) fn client_on_server_hello_done(
        &mut self,
        now: Instant,
        m: &HandshakeMessage,
    ) -> Result<(), Fatal> {
        if !m.body.is_empty() {
            return Err(DtlsError::MalformedHandshake {
                message: "ServerHelloDone",
                at: 0,
            }
            .into());
        }
        self.add_transcript(m.msg_type, m.message_seq, &m.body);
        let group = self.session.group.ok_or(DtlsError::Crypto)?;
        let eph = EphemeralKey::generate(group, &mut self.rng);
        let eph_public = eph.public_bytes();
        let pms = eph.agree(&self.session.peer_public)?;
        let mut items = Vec::with_capacity(5);
        if self.session.cert_requested {
            let body = self.certificate_body();
            items.push(self.transcript_item(msg_type::CERTIFICATE, body));
        }
        let mut cke = Vec::with_capacity(66);
        ClientKeyExchange {
            public_key: eph_public,
        }
        .emit(&mut cke);
        items.push(self.transcript_item(msg_type::CLIENT_KEY_EXCHANGE, cke));
        self.derive_master_secret(&pms)?;
        let signer = match &self.config.fault {
            Some(Fault::OmitCertificateVerify) => None,
            Some(Fault::SignCertificateVerifyWith(other)) => Some(other),
            None => Some(&self.config.certificate),
        };
        if let (true, Some(signer)) = (self.session.cert_requested, signer) {
            // RFC 5246 §7.4.8: sign every handshake message so far.
            let sig = signer.sign(&self.session.transcript)?;
            let mut cv = Vec::with_capacity(80);
            CertificateVerify {
                signature_scheme: ECDSA_P256_SHA256,
                signature: sig,
            }
            .emit(&mut cv);
            items.push(self.transcript_item(msg_type::CERTIFICATE_VERIFY, cv));
        }
        self.install_keys()?;
        items.push(FlightItem::ChangeCipherSpec);
        let fin = self.finished_data(b"client finished")?;
        let seq = self.take_send_seq();
        self.add_transcript(msg_type::FINISHED, seq, &fin);
        items.push(FlightItem::Handshake {
            epoch: 1,
            msg_type: msg_type::FINISHED,
            message_seq: seq,
            body: fin,
        });
        self.hs = Hs::ClientWaitFinished;
        self.send_flight(now, items, true)?;
        self.drain_early(now);
        Ok(())
    }

    pub(super) fn client_on_finished(&mut self, m: &HandshakeMessage) -> Result<(), Fatal> {
        self.verify_finished(b"server finished", &m.body)?;
        self.add_transcript(m.msg_type, m.message_seq, &m.body);
        // The server's last flight arrived: nothing of ours needs retransmitting any more.
        self.flight.clear();
        self.handshake_done();
        Ok(())
    }
}
