//! Key schedule (extended master secret, key block, Finished) and handshake completion.

use super::*;

impl DtlsEndpoint {
    pub(super) fn derive_master_secret(&mut self, pms: &[u8]) -> Result<(), Fatal> {
        let suite = self.session.suite.ok_or(DtlsError::Crypto)?;
        // RFC 7627 §4: master_secret = PRF(pms, "extended master secret", session_hash), where
        // session_hash covers the handshake up to and including ClientKeyExchange.
        let session_hash = crypto::transcript_hash(suite.prf_hash(), &self.session.transcript);
        let mut ms = [0u8; 48];
        crypto::prf(
            suite.prf_hash(),
            pms,
            b"extended master secret",
            &session_hash,
            &mut ms,
        )?;
        self.session.master_secret = Some(ms);
        Ok(())
    }

    pub(super) fn install_keys(&mut self) -> Result<(), Fatal> {
        let suite = self.session.suite.ok_or(DtlsError::Crypto)?;
        let ms = self.session.master_secret.ok_or(DtlsError::Crypto)?;
        let (kl, il) = (suite.key_len(), suite.fixed_iv_len());
        let mut kb = vec![0u8; 2 * (kl + il)];
        let mut seed = [0u8; 64];
        // RFC 5246 §6.3: key_block = PRF(master_secret, "key expansion", server_random + client_random).
        seed[..32].copy_from_slice(&self.session.server_random);
        seed[32..].copy_from_slice(&self.session.client_random);
        crypto::prf(suite.prf_hash(), &ms, b"key expansion", &seed, &mut kb)?;
        let (ck, rest) = kb.split_at(kl);
        let (sk, rest) = rest.split_at(kl);
        let (civ, siv) = rest.split_at(il);
        let client = RecordCipher::new(suite, ck, civ)?;
        let server = RecordCipher::new(suite, sk, siv)?;
        let (write, read) = match self.config.role {
            DtlsRole::Client => (client, server),
            DtlsRole::Server => (server, client),
        };
        self.write_cipher = Some(write);
        self.read_cipher = Some(read);
        self.read_window = ReplayWindow::new();
        Ok(())
    }

    pub(super) fn finished_data(&self, label: &[u8]) -> Result<Vec<u8>, Fatal> {
        let suite = self.session.suite.ok_or(DtlsError::Crypto)?;
        let ms = self.session.master_secret.ok_or(DtlsError::Crypto)?;
        // RFC 5246 §7.4.9: verify_data = PRF(master_secret, label, Hash(handshake_messages))[0..12].
        let h = crypto::transcript_hash(suite.prf_hash(), &self.session.transcript);
        let mut out = vec![0u8; 12];
        crypto::prf(suite.prf_hash(), &ms, label, &h, &mut out)?;
        Ok(out)
    }

    pub(super) fn verify_finished(&self, label: &[u8], got: &[u8]) -> Result<(), Fatal> {
        let want = self.finished_data(label)?;
        if want.len() == got.len() && bool::from(want.as_slice().ct_eq(got)) {
            Ok(())
        } else {
            Err(DtlsError::BadFinished.into())
        }
    }

    // ------------------------------------------------------------------ completion -------

    pub(super) fn handshake_done(&mut self) {
        self.hs = Hs::Done;
        self.flight_timer = None;
        self.stop_handshake_buffers();
        self.session.ephemeral = None;
        if self.session.fingerprint_ok {
            self.become_connected();
        } else {
            self.state = DtlsState::AwaitingFingerprint;
        }
    }

    pub(super) fn become_connected(&mut self) {
        self.state = DtlsState::Connected;
        // The transcript is no longer needed.
        self.session.transcript = Vec::new();
        self.events.push_back(DtlsEvent::Connected);
        while let Some(d) = self.pending_app.pop_front() {
            self.events.push_back(DtlsEvent::ApplicationData(d));
        }
        self.pending_app_bytes = 0;
    }

    pub(super) fn stop_handshake_buffers(&mut self) {
        self.reasm.clear_buffers();
        self.early_records.clear();
        self.early_bytes = 0;
        self.hello_partial = None;
    }

    pub(super) fn fail(&mut self, f: Fatal) {
        let Fatal(err, alert) = f;
        if matches!(self.state, DtlsState::Failed | DtlsState::Closed) {
            return;
        }
        let _ = self.send_alert(Alert::fatal(alert));
        self.state = DtlsState::Failed;
        self.flight_timer = None;
        self.flight.clear();
        self.stop_handshake_buffers();
        self.session.master_secret = None;
        self.session.transcript = Vec::new();
        self.pending_app.clear();
        self.pending_app_bytes = 0;
        self.events.push_back(DtlsEvent::Failed(err));
    }
}
