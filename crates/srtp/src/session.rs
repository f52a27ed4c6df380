//! [`SrtpSession`]: one set of master keys, per-SSRC state for RTP and RTCP.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::config::SrtpConfig;
use crate::error::SrtpError;
use crate::profile::{ProtectionProfile, SessionKeys};
use crate::replay::ReplayWindow;
use crate::transform::{
    CmTransform, GCM_TAG_LEN, GcmTransform, RTCP_LABELS, RTP_LABELS, Transform,
};
use crate::wire::{self, RTCP_HEADER_LEN, RTP_HEADER_LEN, SRTCP_E_BIT, SRTCP_INDEX_LEN, be32};

/// Hashes an SSRC with one multiplication. The maps are bounded by `max_ssrcs` and only
/// grow on authenticated packets, so a flooding attacker gains nothing from collisions;
/// SipHash would cost a noticeable share of a small packet's budget.
#[derive(Default)]
struct SsrcHasher(u64);

impl Hasher for SsrcHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }
    fn write_u32(&mut self, v: u32) {
        self.0 = (u64::from(v) ^ self.0).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

type SsrcMap<V> = HashMap<u32, V, BuildHasherDefault<SsrcHasher>>;

/// Largest SRTP packet index: 48 bits (RFC 3711 §3.3.1).
const MAX_RTP_INDEX: i64 = (1 << 48) - 1;
/// Largest SRTCP index: 31 bits (RFC 3711 §3.4).
const MAX_RTCP_INDEX: u32 = 0x7fff_ffff;

/// Sender state of one RTP SSRC.
#[derive(Debug, Clone)]
struct RtpSender {
    /// Highest index protected so far; ROC = highest >> 16.
    highest: u64,
    /// Only with `allow_repeat_tx == false`.
    window: Option<ReplayWindow>,
}

/// Everything decided about one packet before any state changes.
#[derive(Debug, Clone, Copy)]
struct Accepted {
    ssrc: u32,
    index: u64,
    new_len: usize,
}

/// SRTP/SRTCP protection with one master key and salt.
///
/// A session holds the derived session keys (shared by every SSRC, since the key
/// derivation rate is 0) and per-SSRC state, created on an SSRC's first packet —
/// on the receive side only after that packet authenticated:
///
/// * RTP send: the highest index sent (its top 32 bits are the ROC);
/// * RTP receive: the replay window, whose top is the highest authenticated index
///   (RFC 3711 §3.3.1 `s_l` and ROC);
/// * RTCP send: the next SRTCP index; RTCP receive: the replay window over SRTCP indices.
///
/// Use one session with the local keys to protect and one with the remote keys to
/// unprotect. Every `Err` leaves the session as it was. On an `Err` from an unprotect
/// call the packet bytes may have been changed (GCM decrypts before it can compare tags);
/// the packet must be dropped.
pub struct SrtpSession {
    profile: ProtectionProfile,
    config: SrtpConfig,
    rtp: Transform,
    rtcp: Transform,
    tx_rtp: SsrcMap<RtpSender>,
    rx_rtp: SsrcMap<ReplayWindow>,
    tx_rtcp: SsrcMap<u32>,
    rx_rtcp: SsrcMap<ReplayWindow>,
    /// Reused copy of a GCM ciphertext when a second ROC guess may be needed.
    scratch: Vec<u8>,
}

impl core::fmt::Debug for SrtpSession {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SrtpSession")
            .field("profile", &self.profile)
            .field("config", &self.config)
            .field("tx_rtp_ssrcs", &self.tx_rtp.len())
            .field("rx_rtp_ssrcs", &self.rx_rtp.len())
            .field("tx_rtcp_ssrcs", &self.tx_rtcp.len())
            .field("rx_rtcp_ssrcs", &self.rx_rtcp.len())
            .finish_non_exhaustive()
    }
}

/// RFC 3711 §3.3.1 (and Appendix A): estimate the index of `seq` from the highest
/// authenticated index. The result is negative if the guess is ROC − 1 with ROC = 0.
#[inline]
fn estimate_index(highest: u64, seq: u16) -> i64 {
    let roc = (highest >> 16) as i64;
    let s_l = (highest & 0xffff) as i64;
    let seq = i64::from(seq);
    let v = if s_l < 32_768 {
        if seq - s_l > 32_768 { roc - 1 } else { roc }
    } else if s_l - 32_768 > seq {
        roc + 1
    } else {
        roc
    };
    v * 65_536 + seq
}

fn roc_bytes(index: u64) -> [u8; 4] {
    ((index >> 16) as u32).to_be_bytes()
}

fn too_small(needed: usize, got: usize) -> SrtpError {
    SrtpError::BufferTooSmall { needed, got }
}

impl SrtpSession {
    /// A session for `profile` with one direction's master key and salt.
    pub fn new(
        profile: ProtectionProfile,
        keys: &SessionKeys,
        config: SrtpConfig,
    ) -> Result<Self, SrtpError> {
        config.validate()?;
        if keys.master_key.len() != profile.master_key_len() {
            return Err(SrtpError::BadMasterKeyLength {
                expected: profile.master_key_len(),
                got: keys.master_key.len(),
            });
        }
        if keys.master_salt.len() != profile.master_salt_len() {
            return Err(SrtpError::BadMasterSaltLength {
                expected: profile.master_salt_len(),
                got: keys.master_salt.len(),
            });
        }
        let (k, s) = (&keys.master_key[..], &keys.master_salt[..]);
        let (rtp, rtcp) = match profile {
            ProtectionProfile::Aes128CmHmacSha1_80 | ProtectionProfile::Aes128CmHmacSha1_32 => (
                Transform::Cm(CmTransform::new(k, s, RTP_LABELS, profile.rtp_overhead())?),
                // RFC 5764 §4.1.2: SRTCP uses an 80-bit tag with both profiles.
                Transform::Cm(CmTransform::new(k, s, RTCP_LABELS, 10)?),
            ),
            ProtectionProfile::AeadAes128Gcm | ProtectionProfile::AeadAes256Gcm => (
                Transform::Gcm(GcmTransform::new(k, s, RTP_LABELS, config.gcm_backend)?),
                Transform::Gcm(GcmTransform::new(k, s, RTCP_LABELS, config.gcm_backend)?),
            ),
        };
        Ok(SrtpSession {
            profile,
            config,
            rtp,
            rtcp,
            tx_rtp: SsrcMap::default(),
            rx_rtp: SsrcMap::default(),
            tx_rtcp: SsrcMap::default(),
            rx_rtcp: SsrcMap::default(),
            scratch: Vec::new(),
        })
    }

    /// The profile this session protects with.
    pub fn profile(&self) -> ProtectionProfile {
        self.profile
    }

    /// The rollover counter of a sent RTP stream, if the SSRC has sent.
    pub fn tx_rtp_roc(&self, ssrc: u32) -> Option<u32> {
        self.tx_rtp.get(&ssrc).map(|s| (s.highest >> 16) as u32)
    }

    /// The rollover counter of a received RTP stream, if a packet of the SSRC authenticated.
    pub fn rx_rtp_roc(&self, ssrc: u32) -> Option<u32> {
        self.rx_rtp.get(&ssrc).map(|w| (w.top() >> 16) as u32)
    }

    /// The SRTCP index the next `protect_rtcp` for `ssrc` will use.
    pub fn next_srtcp_index(&self, ssrc: u32) -> u32 {
        self.tx_rtcp.get(&ssrc).copied().unwrap_or(0)
    }

    /// Forget every context of `ssrc` (both directions, RTP and RTCP), freeing its slot.
    pub fn remove_ssrc(&mut self, ssrc: u32) {
        self.tx_rtp.remove(&ssrc);
        self.rx_rtp.remove(&ssrc);
        self.tx_rtcp.remove(&ssrc);
        self.rx_rtcp.remove(&ssrc);
    }

    fn room_for_new<V>(map: &SsrcMap<V>, ssrc: u32, max: usize) -> Result<(), SrtpError> {
        if map.len() >= max && !map.contains_key(&ssrc) {
            return Err(SrtpError::TooManySsrcs { max });
        }
        Ok(())
    }

    // ---------------------------------------------------------------- RTP protect

    /// Protect the RTP packet in `packet`, appending the tag in place.
    pub fn protect_rtp(&mut self, packet: &mut Vec<u8>) -> Result<(), SrtpError> {
        let len = packet.len();
        packet.resize(len + self.profile.rtp_overhead(), 0);
        match self.protect_rtp_in_place(packet, len) {
            Ok(n) => {
                packet.truncate(n);
                Ok(())
            }
            Err(e) => {
                packet.truncate(len);
                Err(e)
            }
        }
    }

    /// Protect the RTP packet in `buf[..len]` in place; `buf` must have room for the
    /// tag ([`ProtectionProfile::rtp_overhead`]). Returns the protected length.
    pub fn protect_rtp_in_place(&mut self, buf: &mut [u8], len: usize) -> Result<usize, SrtpError> {
        let acc = self.seal_rtp(buf, len, true)?;
        Ok(acc.new_len)
    }

    /// Protect `packet` into `out`, which needs `packet.len() + rtp_overhead()` bytes.
    /// Returns the protected length.
    pub fn protect_rtp_into(&mut self, packet: &[u8], out: &mut [u8]) -> Result<usize, SrtpError> {
        let needed = packet.len() + self.profile.rtp_overhead();
        let got = out.len();
        let dst = out.get_mut(..packet.len()).ok_or(too_small(needed, got))?;
        dst.copy_from_slice(packet);
        self.protect_rtp_in_place(out, packet.len())
    }

    /// Encrypt (and, with `tag`, authenticate), then record the index as sent. Nothing
    /// changes on an error. With `tag == false` (CM batches only) the caller computes the
    /// tag afterwards. The SSRC's sender state is looked up once for both.
    #[inline]
    fn seal_rtp(&mut self, buf: &mut [u8], len: usize, tag: bool) -> Result<Accepted, SrtpError> {
        let overhead = self.profile.rtp_overhead();
        let new_len = len + overhead;
        if buf.len() < new_len {
            return Err(too_small(new_len, buf.len()));
        }
        let (pkt, rest) = buf.split_at_mut(len);
        let rest_len = rest.len();
        let hdr = wire::parse_rtp(pkt)?;
        let (header, payload) = pkt.split_at_mut(hdr.len);
        if hdr.padding {
            wire::check_padding(payload)?;
        }
        let known = self.tx_rtp.len();
        let Self {
            tx_rtp,
            rtp,
            config,
            ..
        } = self;
        let mut sender = tx_rtp.get_mut(&hdr.ssrc);
        let index = match sender.as_deref() {
            None => {
                if known >= config.max_ssrcs {
                    return Err(SrtpError::TooManySsrcs {
                        max: config.max_ssrcs,
                    });
                }
                // RFC 3711 §3.3.1: the sender's ROC starts at 0.
                u64::from(hdr.seq)
            }
            Some(sender) => {
                let index = estimate_index(sender.highest, hdr.seq);
                if index < 0 {
                    return Err(SrtpError::TooOld { index: 0 });
                }
                if index > MAX_RTP_INDEX {
                    // RFC 3711 §3.3.1: never reuse an index under one key; rekey instead.
                    return Err(SrtpError::IndexExhausted { ssrc: hdr.ssrc });
                }
                let index = index as u64;
                if let Some(w) = &sender.window {
                    w.check(index)?;
                }
                index
            }
        };
        match &*rtp {
            Transform::Cm(cm) => {
                // RFC 3711 §3.3: encrypt the payload, then authenticate header ‖ payload ‖ ROC.
                let iv = cm.iv(hdr.ssrc, index);
                cm.apply_keystream(&iv, payload);
                let _ = header;
                if tag {
                    let tag = cm.full_tag(pkt, &roc_bytes(index));
                    let (dst, src) = (rest.get_mut(..overhead), tag.get(..overhead));
                    if let (Some(d), Some(s)) = (dst, src) {
                        d.copy_from_slice(s);
                    }
                }
            }
            Transform::Gcm(gcm) => {
                // RFC 7714 §8.2: the whole header is associated data, the payload is encrypted.
                let iv = gcm.iv(hdr.ssrc, index);
                let tag = rest
                    .get_mut(..GCM_TAG_LEN)
                    .and_then(|t| <&mut [u8; GCM_TAG_LEN]>::try_from(t).ok())
                    .ok_or(too_small(new_len, len + rest_len))?;
                gcm.seal(&iv, header, payload, tag)?;
            }
        }
        // Commit, through the lookup made above.
        match sender.take() {
            Some(s) => {
                s.highest = s.highest.max(index);
                if let Some(w) = &mut s.window {
                    w.accept(index);
                }
            }
            None => {
                let window = (!config.allow_repeat_tx)
                    .then(|| ReplayWindow::new(config.replay_window, index));
                tx_rtp.insert(
                    hdr.ssrc,
                    RtpSender {
                        highest: index,
                        window,
                    },
                );
            }
        }
        Ok(Accepted {
            ssrc: hdr.ssrc,
            index,
            new_len,
        })
    }

    // ---------------------------------------------------------------- RTP unprotect

    /// Verify and decrypt the SRTP packet in `packet`, stripping the tag in place.
    pub fn unprotect_rtp(&mut self, packet: &mut Vec<u8>) -> Result<(), SrtpError> {
        let n = self.unprotect_rtp_in_place(packet)?;
        packet.truncate(n);
        Ok(())
    }

    /// Verify and decrypt the SRTP packet filling `buf` in place. Returns the length of
    /// the RTP packet now at the front of `buf`.
    pub fn unprotect_rtp_in_place(&mut self, buf: &mut [u8]) -> Result<usize, SrtpError> {
        let acc = self.open_rtp(buf)?;
        Ok(acc.new_len)
    }

    /// Verify and decrypt `packet` into `out` (at least `packet.len()` bytes).
    /// Returns the length of the RTP packet written to `out`.
    pub fn unprotect_rtp_into(
        &mut self,
        packet: &[u8],
        out: &mut [u8],
    ) -> Result<usize, SrtpError> {
        let got = out.len();
        let dst = out
            .get_mut(..packet.len())
            .ok_or(too_small(packet.len(), got))?;
        dst.copy_from_slice(packet);
        self.unprotect_rtp_in_place(dst)
    }

    /// The index guesses for a received `seq`: the RFC 3711 §3.3.1 estimate, and, when that
    /// lands at or behind the highest index (or the SSRC is new), the same SEQ one ROC
    /// later. The second guess recovers from a forward jump of more than 2^15 packets (a
    /// burst loss, or the first packets of a stream lost across its first wrap); it is only
    /// believed if the packet authenticates with it, since the ROC is authenticated.
    fn rx_rtp_candidates(&self, ssrc: u32, seq: u16) -> [i64; 2] {
        Self::candidates_in(self.rx_rtp.get(&ssrc), seq)
    }

    /// [`rx_rtp_candidates`](Self::rx_rtp_candidates) with the SSRC's window already looked up.
    #[inline]
    fn candidates_in(window: Option<&ReplayWindow>, seq: u16) -> [i64; 2] {
        match window {
            None => {
                let s = i64::from(seq);
                [s, s + 65_536]
            }
            Some(w) => {
                let p = estimate_index(w.top(), seq);
                let alt = if p <= w.top() as i64 { p + 65_536 } else { -1 };
                [p, alt]
            }
        }
    }

    fn rx_rtp_check(&self, ssrc: u32, index: i64) -> Result<u64, SrtpError> {
        Self::check_in(self.rx_rtp.get(&ssrc), ssrc, index)
    }

    /// [`rx_rtp_check`](Self::rx_rtp_check) with the SSRC's window already looked up.
    #[inline]
    fn check_in(window: Option<&ReplayWindow>, ssrc: u32, index: i64) -> Result<u64, SrtpError> {
        if index < 0 {
            return Err(SrtpError::TooOld { index: 0 });
        }
        if index > MAX_RTP_INDEX {
            return Err(SrtpError::IndexExhausted { ssrc });
        }
        let index = index as u64;
        if let Some(w) = window {
            w.check(index)?;
        }
        Ok(index)
    }

    /// Verify and decrypt, then record the index as received. Nothing changes on an error.
    #[inline]
    fn open_rtp(&mut self, buf: &mut [u8]) -> Result<Accepted, SrtpError> {
        let overhead = self.profile.rtp_overhead();
        let min = RTP_HEADER_LEN + overhead;
        if buf.len() < min {
            return Err(SrtpError::TooShort {
                len: buf.len(),
                min,
            });
        }
        let auth_len = buf.len() - overhead;
        let hdr = wire::parse_rtp(buf.get(..auth_len).unwrap_or_default())?;
        // One map lookup for the whole packet, the commit included.
        let known = self.rx_rtp.len();
        let Self {
            rx_rtp,
            rtp,
            scratch,
            config,
            ..
        } = self;
        let mut window = rx_rtp.get_mut(&hdr.ssrc);
        if window.is_none() && known >= config.max_ssrcs {
            return Err(SrtpError::TooManySsrcs {
                max: config.max_ssrcs,
            });
        }
        let candidates = Self::candidates_in(window.as_deref(), hdr.seq);
        let mut first_err = None;
        let mut chosen = None;
        let second_possible = candidates[1] >= 0;
        match &*rtp {
            Transform::Cm(cm) => {
                let (authed, tag) = buf.split_at(auth_len);
                for (n, &c) in candidates.iter().enumerate() {
                    if n == 1 && !second_possible {
                        break;
                    }
                    let index = match Self::check_in(window.as_deref(), hdr.ssrc, c) {
                        Ok(i) => i,
                        Err(e) => {
                            first_err.get_or_insert(e);
                            continue;
                        }
                    };
                    // RFC 3711 §3.3: authenticate (header ‖ payload ‖ ROC) before decrypting.
                    match cm.verify(authed, &roc_bytes(index), tag) {
                        Ok(()) => {
                            chosen = Some(index);
                            break;
                        }
                        Err(e) => {
                            first_err.get_or_insert(e);
                        }
                    }
                }
                let index = chosen.ok_or(first_err.unwrap_or(SrtpError::AuthFail))?;
                let payload = buf.get_mut(hdr.len..auth_len).unwrap_or_default();
                cm.apply_keystream(&cm.iv(hdr.ssrc, index), payload);
                chosen = Some(index);
            }
            Transform::Gcm(gcm) => {
                let (header, body) = buf.split_at_mut(hdr.len);
                let keep_copy = second_possible;
                if keep_copy {
                    scratch.clear();
                    scratch.extend_from_slice(body);
                }
                for (n, &c) in candidates.iter().enumerate() {
                    if n == 1 && !second_possible {
                        break;
                    }
                    let index = match Self::check_in(window.as_deref(), hdr.ssrc, c) {
                        Ok(i) => i,
                        Err(e) => {
                            first_err.get_or_insert(e);
                            continue;
                        }
                    };
                    if n == 1 && keep_copy {
                        body.copy_from_slice(scratch);
                    }
                    // RFC 7714 §8.2: tag over the header (AAD) and the ciphertext.
                    match gcm.open(&gcm.iv(hdr.ssrc, index), header, body) {
                        Ok(()) => {
                            chosen = Some(index);
                            break;
                        }
                        Err(e) => {
                            first_err.get_or_insert(e);
                        }
                    }
                }
            }
        }
        let index = chosen.ok_or(first_err.unwrap_or(SrtpError::AuthFail))?;
        if hdr.padding {
            wire::check_padding(buf.get(hdr.len..auth_len).unwrap_or_default())?;
        }
        // RFC 3711 §3.3.1: s_l and ROC follow only authenticated packets.
        match window.take() {
            Some(w) => w.accept(index),
            None => {
                rx_rtp.insert(hdr.ssrc, ReplayWindow::new(config.replay_window, index));
            }
        }
        Ok(Accepted {
            ssrc: hdr.ssrc,
            index,
            new_len: auth_len,
        })
    }

    #[inline]
    fn commit_rx_rtp(&mut self, acc: Accepted) {
        if let Some(w) = self.rx_rtp.get_mut(&acc.ssrc) {
            w.accept(acc.index);
            return;
        }
        let size = self.config.replay_window;
        self.rx_rtp
            .entry(acc.ssrc)
            // RFC 3711 §3.3.1: s_l and ROC follow only authenticated packets.
            .and_modify(|w| w.accept(acc.index))
            .or_insert_with(|| ReplayWindow::new(size, acc.index));
    }

    // ---------------------------------------------------------------- RTCP protect

    /// Protect the RTCP (compound) packet in `packet`, appending E‖index and the tag.
    pub fn protect_rtcp(&mut self, packet: &mut Vec<u8>) -> Result<(), SrtpError> {
        let len = packet.len();
        packet.resize(len + self.profile.rtcp_overhead(), 0);
        match self.protect_rtcp_in_place(packet, len) {
            Ok(n) => {
                packet.truncate(n);
                Ok(())
            }
            Err(e) => {
                packet.truncate(len);
                Err(e)
            }
        }
    }

    /// Protect the RTCP packet in `buf[..len]` in place; `buf` needs
    /// [`ProtectionProfile::rtcp_overhead`] spare bytes. Returns the protected length.
    pub fn protect_rtcp_in_place(
        &mut self,
        buf: &mut [u8],
        len: usize,
    ) -> Result<usize, SrtpError> {
        let acc = self.seal_rtcp(buf, len)?;
        // RFC 3711 §3.4: the index is incremented by one after each packet sent.
        self.tx_rtcp
            .insert(acc.ssrc, (acc.index as u32).wrapping_add(1));
        Ok(acc.new_len)
    }

    /// Protect `packet` into `out`, which needs `packet.len() + rtcp_overhead()` bytes.
    pub fn protect_rtcp_into(&mut self, packet: &[u8], out: &mut [u8]) -> Result<usize, SrtpError> {
        let needed = packet.len() + self.profile.rtcp_overhead();
        let got = out.len();
        let dst = out.get_mut(..packet.len()).ok_or(too_small(needed, got))?;
        dst.copy_from_slice(packet);
        self.protect_rtcp_in_place(out, packet.len())
    }

    fn seal_rtcp(&mut self, buf: &mut [u8], len: usize) -> Result<Accepted, SrtpError> {
        let overhead = self.profile.rtcp_overhead();
        let new_len = len + overhead;
        if buf.len() < new_len {
            return Err(too_small(new_len, buf.len()));
        }
        let ssrc = wire::parse_rtcp(buf.get(..len).unwrap_or_default(), RTCP_HEADER_LEN)?;
        let index = match self.tx_rtcp.get(&ssrc) {
            Some(&i) => i,
            None => {
                Self::room_for_new(&self.tx_rtcp, ssrc, self.config.max_ssrcs)?;
                // RFC 3711 §3.4: the SRTCP index starts at zero.
                0
            }
        };
        if index > MAX_RTCP_INDEX {
            return Err(SrtpError::IndexExhausted { ssrc });
        }
        // We always encrypt: E = 1.
        let trailer = (SRTCP_E_BIT | index).to_be_bytes();
        let (pkt, rest) = buf.split_at_mut(len);
        let (header, payload) = pkt.split_at_mut(RTCP_HEADER_LEN);
        match &self.rtcp {
            Transform::Cm(cm) => {
                // RFC 3711 §3.4: header ‖ E(payload) ‖ E‖index ‖ tag; the tag covers all but itself.
                cm.apply_keystream(&cm.iv(ssrc, u64::from(index)), payload);
                if let Some(d) = rest.get_mut(..SRTCP_INDEX_LEN) {
                    d.copy_from_slice(&trailer);
                }
                let tag = cm.full_tag(pkt, &trailer);
                if let (Some(d), Some(s)) = (
                    rest.get_mut(SRTCP_INDEX_LEN..SRTCP_INDEX_LEN + cm.tag_len),
                    tag.get(..cm.tag_len),
                ) {
                    d.copy_from_slice(s);
                }
            }
            Transform::Gcm(gcm) => {
                // RFC 7714 §9.2–9.3: AAD = header ‖ E‖index; output header ‖ ciphertext ‖
                // tag ‖ E‖index.
                let mut aad = [0u8; RTCP_HEADER_LEN + SRTCP_INDEX_LEN];
                aad[..RTCP_HEADER_LEN].copy_from_slice(header);
                aad[RTCP_HEADER_LEN..].copy_from_slice(&trailer);
                let mut tag = [0u8; GCM_TAG_LEN];
                gcm.seal(&gcm.iv(ssrc, u64::from(index)), &aad, payload, &mut tag)?;
                if let Some(d) = rest.get_mut(..GCM_TAG_LEN) {
                    d.copy_from_slice(&tag);
                }
                if let Some(d) = rest.get_mut(GCM_TAG_LEN..GCM_TAG_LEN + SRTCP_INDEX_LEN) {
                    d.copy_from_slice(&trailer);
                }
            }
        }
        Ok(Accepted {
            ssrc,
            index: u64::from(index),
            new_len,
        })
    }

    // ---------------------------------------------------------------- RTCP unprotect

    /// Verify and decrypt the SRTCP packet in `packet`, stripping the trailer in place.
    pub fn unprotect_rtcp(&mut self, packet: &mut Vec<u8>) -> Result<(), SrtpError> {
        let n = self.unprotect_rtcp_in_place(packet)?;
        packet.truncate(n);
        Ok(())
    }

    /// Verify and decrypt the SRTCP packet filling `buf` in place. Returns the length of
    /// the RTCP packet now at the front of `buf`.
    pub fn unprotect_rtcp_in_place(&mut self, buf: &mut [u8]) -> Result<usize, SrtpError> {
        let acc = self.open_rtcp(buf)?;
        let size = self.config.replay_window;
        self.rx_rtcp
            .entry(acc.ssrc)
            .and_modify(|w| w.accept(acc.index))
            .or_insert_with(|| ReplayWindow::new(size, acc.index));
        Ok(acc.new_len)
    }

    /// Verify and decrypt `packet` into `out` (at least `packet.len()` bytes).
    pub fn unprotect_rtcp_into(
        &mut self,
        packet: &[u8],
        out: &mut [u8],
    ) -> Result<usize, SrtpError> {
        let got = out.len();
        let dst = out
            .get_mut(..packet.len())
            .ok_or(too_small(packet.len(), got))?;
        dst.copy_from_slice(packet);
        self.unprotect_rtcp_in_place(dst)
    }

    fn open_rtcp(&mut self, buf: &mut [u8]) -> Result<Accepted, SrtpError> {
        let overhead = self.profile.rtcp_overhead();
        let len = buf.len();
        // RFC 3711 §3.4: header, E‖index and tag must all be present.
        let ssrc = wire::parse_rtcp(buf, RTCP_HEADER_LEN + overhead)?;
        let new_len = len - overhead;
        let trailer_at = match &self.rtcp {
            Transform::Cm(cm) => len - cm.tag_len - SRTCP_INDEX_LEN,
            Transform::Gcm(_) => len - SRTCP_INDEX_LEN,
        };
        let word = be32(buf, trailer_at);
        let encrypted = word & SRTCP_E_BIT != 0;
        let index = u64::from(word & MAX_RTCP_INDEX);
        if let Some(w) = self.rx_rtcp.get(&ssrc) {
            w.check(index)?;
        } else {
            Self::room_for_new(&self.rx_rtcp, ssrc, self.config.max_ssrcs)?;
        }
        match &self.rtcp {
            Transform::Cm(cm) => {
                let (authed, tag) = buf.split_at_mut(len - cm.tag_len);
                cm.verify(authed, &[], tag)?;
                if encrypted {
                    let payload = authed.get_mut(RTCP_HEADER_LEN..new_len).unwrap_or_default();
                    cm.apply_keystream(&cm.iv(ssrc, index), payload);
                }
            }
            Transform::Gcm(gcm) => {
                let iv = gcm.iv(ssrc, index);
                let trailer = word.to_be_bytes();
                if encrypted {
                    let mut aad = [0u8; RTCP_HEADER_LEN + SRTCP_INDEX_LEN];
                    if let Some(h) = buf.get(..RTCP_HEADER_LEN) {
                        aad[..RTCP_HEADER_LEN].copy_from_slice(h);
                    }
                    aad[RTCP_HEADER_LEN..].copy_from_slice(&trailer);
                    let body = buf.get_mut(RTCP_HEADER_LEN..trailer_at).unwrap_or_default();
                    gcm.open(&iv, &aad, body)?;
                } else {
                    // RFC 7714 §9.3 with E = 0: everything is AAD (packet ‖ E‖index) and only
                    // the tag is checked. Swap tag and trailer in place so the AAD is contiguous.
                    let tail = buf.get_mut(new_len..).unwrap_or_default();
                    tail.rotate_left(GCM_TAG_LEN);
                    let (aad, tag) = buf.split_at_mut(len - GCM_TAG_LEN);
                    if let Err(e) = gcm.open(&iv, aad, tag) {
                        let tail = buf.get_mut(new_len..).unwrap_or_default();
                        tail.rotate_right(GCM_TAG_LEN);
                        return Err(e);
                    }
                }
            }
        }
        Ok(Accepted {
            ssrc,
            index,
            new_len,
        })
    }

    // ---------------------------------------------------------------- batches

    /// Protect many RTP packets in one call, as a pacer or an SFU fan-out has them.
    /// `results[i]` receives the outcome of `packets[i]`; returns how many succeeded.
    /// Each packet gets exactly the bytes and state changes of
    /// [`protect_rtp`](Self::protect_rtp) in order; with the AES-CM profiles the HMACs of
    /// consecutive packets are computed two at a time, interleaved.
    pub fn protect_rtp_batch<P: AsMut<Vec<u8>>>(
        &mut self,
        packets: &mut [P],
        results: &mut [Result<(), SrtpError>],
    ) -> Result<usize, SrtpError> {
        if results.len() < packets.len() {
            return Err(SrtpError::BatchResultsTooShort {
                packets: packets.len(),
                results: results.len(),
            });
        }
        if !matches!(self.rtp, Transform::Cm(_)) {
            let mut ok = 0;
            for (p, r) in packets.iter_mut().zip(results.iter_mut()) {
                *r = self.protect_rtp(p.as_mut());
                ok += usize::from(r.is_ok());
            }
            return Ok(ok);
        }
        let overhead = self.profile.rtp_overhead();
        let mut ok = 0;
        // A packet encrypted and committed, waiting for a partner to share its HMAC with.
        let mut pending: Option<(usize, u64)> = None;
        for i in 0..packets.len() {
            let Some(p) = packets.get_mut(i) else { break };
            let p = p.as_mut();
            let len = p.len();
            p.resize(len + overhead, 0);
            // `seal_rtp` commits: later packets of the same SSRC see this one, exactly as
            // sequential calls would (nothing can fail after encryption).
            let r = self.seal_rtp(p, len, false);
            let r = match r {
                Ok(acc) => {
                    match pending.take() {
                        Some((j, j_index)) => self.tag_pair(packets, (j, j_index), (i, acc.index)),
                        None => pending = Some((i, acc.index)),
                    }
                    ok += 1;
                    Ok(())
                }
                Err(e) => {
                    p.truncate(len);
                    Err(e)
                }
            };
            if let Some(slot) = results.get_mut(i) {
                *slot = r;
            }
        }
        if let (Some((j, j_index)), Transform::Cm(cm)) = (pending, &self.rtp)
            && let Some(p) = packets.get_mut(j)
        {
            let p = p.as_mut();
            let len = p.len() - overhead;
            let tag = cm.full_tag(p.get(..len).unwrap_or_default(), &roc_bytes(j_index));
            if let (Some(d), Some(s)) = (p.get_mut(len..), tag.get(..overhead)) {
                d.copy_from_slice(s);
            }
        }
        Ok(ok)
    }

    /// Write the CM tags of packets `a.0 < b.0`, computing both HMACs interleaved.
    fn tag_pair<P: AsMut<Vec<u8>>>(&self, packets: &mut [P], a: (usize, u64), b: (usize, u64)) {
        let Transform::Cm(cm) = &self.rtp else { return };
        let overhead = cm.tag_len;
        let (left, right) = packets.split_at_mut(b.0);
        let (Some(pa), Some(pb)) = (left.get_mut(a.0), right.first_mut()) else {
            return;
        };
        let (pa, pb) = (pa.as_mut(), pb.as_mut());
        let (la, lb) = (pa.len() - overhead, pb.len() - overhead);
        let (ra, rb) = (roc_bytes(a.1), roc_bytes(b.1));
        let [ta, tb] = cm.full_tag2(
            (pa.get(..la).unwrap_or_default(), &ra),
            (pb.get(..lb).unwrap_or_default(), &rb),
        );
        if let (Some(d), Some(s)) = (pa.get_mut(la..), ta.get(..overhead)) {
            d.copy_from_slice(s);
        }
        if let (Some(d), Some(s)) = (pb.get_mut(lb..), tb.get(..overhead)) {
            d.copy_from_slice(s);
        }
    }

    /// Unprotect many SRTP packets in one call; see [`protect_rtp_batch`](Self::protect_rtp_batch).
    /// Each packet gets exactly the outcome of [`unprotect_rtp`](Self::unprotect_rtp) in order;
    /// with the AES-CM profiles two packets' tags are verified at once.
    pub fn unprotect_rtp_batch<P: AsMut<Vec<u8>>>(
        &mut self,
        packets: &mut [P],
        results: &mut [Result<(), SrtpError>],
    ) -> Result<usize, SrtpError> {
        if results.len() < packets.len() {
            return Err(SrtpError::BatchResultsTooShort {
                packets: packets.len(),
                results: results.len(),
            });
        }
        let cm_profile = matches!(self.rtp, Transform::Cm(_));
        let mut ok = 0;
        let mut i = 0;
        while i < packets.len() {
            if cm_profile && i + 1 < packets.len() {
                let (left, right) = packets.split_at_mut(i + 1);
                if let (Some(a), Some(b)) = (left.last_mut(), right.first_mut()) {
                    let [ra, rb] = self.unprotect_pair_cm(a.as_mut(), b.as_mut());
                    ok += usize::from(ra.is_ok()) + usize::from(rb.is_ok());
                    if let Some(slot) = results.get_mut(i) {
                        *slot = ra;
                    }
                    if let Some(slot) = results.get_mut(i + 1) {
                        *slot = rb;
                    }
                }
                i += 2;
                continue;
            }
            if let (Some(p), Some(slot)) = (packets.get_mut(i), results.get_mut(i)) {
                *slot = self.unprotect_rtp(p.as_mut());
                ok += usize::from(slot.is_ok());
            }
            i += 1;
        }
        Ok(ok)
    }

    /// The primary RFC 3711 index guess for an SRTP packet, if it passes the replay check.
    fn rx_precheck(&self, buf: &[u8]) -> Option<(wire::RtpHeader, u64, usize)> {
        let overhead = self.profile.rtp_overhead();
        let auth_len = buf.len().checked_sub(overhead)?;
        let hdr = wire::parse_rtp(buf.get(..auth_len)?).ok()?;
        let [primary, _] = self.rx_rtp_candidates(hdr.ssrc, hdr.seq);
        let index = self.rx_rtp_check(hdr.ssrc, primary).ok()?;
        Some((hdr, index, auth_len))
    }

    /// Two consecutive packets: verify both tags at once with their primary index guesses,
    /// then finish them in order; anything unusual goes through the one-packet path.
    fn unprotect_pair_cm(
        &mut self,
        a: &mut Vec<u8>,
        b: &mut Vec<u8>,
    ) -> [Result<(), SrtpError>; 2] {
        let (Some(pa), Some(pb)) = (self.rx_precheck(a), self.rx_precheck(b)) else {
            return [self.unprotect_rtp(a), self.unprotect_rtp(b)];
        };
        let Transform::Cm(cm) = &self.rtp else {
            return [self.unprotect_rtp(a), self.unprotect_rtp(b)];
        };
        let (roc_a, roc_b) = (roc_bytes(pa.1), roc_bytes(pb.1));
        let [ta, tb] = cm.full_tag2(
            (a.get(..pa.2).unwrap_or_default(), &roc_a),
            (b.get(..pb.2).unwrap_or_default(), &roc_b),
        );
        let ok_a = cm.tag_matches(&ta, a.get(pa.2..).unwrap_or_default());
        let ok_b = cm.tag_matches(&tb, b.get(pb.2..).unwrap_or_default());
        let ra = if ok_a {
            self.finish_rx_cm(a, pa)
        } else {
            self.unprotect_rtp(a)
        };
        // `a` may have moved the state: the early verdict on `b` holds only if its index guess
        // and replay check are still the same.
        let rb = match self.rx_precheck(b) {
            Some(again) if ok_b && again.1 == pb.1 => self.finish_rx_cm(b, pb),
            _ => self.unprotect_rtp(b),
        };
        [ra, rb]
    }

    /// Decrypt and commit a CM packet whose tag verified with `index`.
    fn finish_rx_cm(
        &mut self,
        packet: &mut Vec<u8>,
        (hdr, index, auth_len): (wire::RtpHeader, u64, usize),
    ) -> Result<(), SrtpError> {
        if !self.rx_rtp.contains_key(&hdr.ssrc) {
            Self::room_for_new(&self.rx_rtp, hdr.ssrc, self.config.max_ssrcs)?;
        }
        if let Transform::Cm(cm) = &self.rtp {
            let payload = packet.get_mut(hdr.len..auth_len).unwrap_or_default();
            cm.apply_keystream(&cm.iv(hdr.ssrc, index), payload);
        }
        if hdr.padding {
            wire::check_padding(packet.get(hdr.len..auth_len).unwrap_or_default())?;
        }
        self.commit_rx_rtp(Accepted {
            ssrc: hdr.ssrc,
            index,
            new_len: auth_len,
        });
        packet.truncate(auth_len);
        Ok(())
    }

    /// A session with transforms built from session keys (for RFC vectors that skip the KDF).
    #[cfg(test)]
    pub(crate) fn from_transforms(
        profile: ProtectionProfile,
        rtp: Transform,
        rtcp: Transform,
        config: SrtpConfig,
    ) -> Self {
        SrtpSession {
            profile,
            config,
            rtp,
            rtcp,
            tx_rtp: SsrcMap::default(),
            rx_rtp: SsrcMap::default(),
            tx_rtcp: SsrcMap::default(),
            rx_rtcp: SsrcMap::default(),
            scratch: Vec::new(),
        }
    }

    #[cfg(test)]
    pub(crate) fn rtp_transform(&self) -> &Transform {
        &self.rtp
    }

    #[cfg(test)]
    pub(crate) fn set_next_srtcp_index(&mut self, ssrc: u32, index: u32) {
        self.tx_rtcp.insert(ssrc, index);
    }
}

#[cfg(test)]
mod tests {
    use super::estimate_index;

    #[test]
    fn rfc3711_appendix_a_estimate() {
        // s_l < 2^15
        assert_eq!(estimate_index(100, 101), 101);
        assert_eq!(estimate_index(100, 65_000), -536);
        assert_eq!(estimate_index((1 << 16) + 100, 65_000), 65_000);
        // s_l >= 2^15
        assert_eq!(estimate_index(65_000, 10), 65_536 + 10);
        assert_eq!(estimate_index(65_000, 40_000), 40_000);
        assert_eq!(estimate_index((3 << 16) | 65_535, 0), (4 << 16) as i64);
    }
}
