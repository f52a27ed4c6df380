//! What WebRTC needs on top of the SDP grammar: the JSEP transport checks a peer connection
//! runs on a remote description before acting on it.

use std::collections::HashSet;

use thiserror::Error;

use crate::attr::dtls::Setup;
use crate::media::MediaDescription;
use crate::session::SessionDescription;

/// Whether a description is an offer or an answer (some rules differ).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DescriptionKind {
    /// An offer (or a pranswer treated as one).
    Offer,
    /// An answer.
    Answer,
}

/// A WebRTC requirement a syntactically valid description does not meet. `media` is the
/// 0-based index of the `m=` section.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum WebRtcError {
    /// No `a=ice-ufrag`/`a=ice-pwd` for the section, its BUNDLE tag or the session.
    #[error("m-section {media}: no a=ice-ufrag / a=ice-pwd")]
    MissingIceCredentials {
        /// Section index.
        media: usize,
    },
    /// No `a=fingerprint`: DTLS cannot be authenticated.
    #[error("m-section {media}: no a=fingerprint")]
    MissingFingerprint {
        /// Section index.
        media: usize,
    },
    /// Keys offered by SDES `a=crypto` only, which WebRTC forbids (RFC 8827 §6.5).
    #[error("m-section {media}: legacy SDES a=crypto without a=fingerprint")]
    LegacySdes {
        /// Section index.
        media: usize,
    },
    /// No `a=setup`: the DTLS role is unknown.
    #[error("m-section {media}: no a=setup")]
    MissingSetup {
        /// Section index.
        media: usize,
    },
    /// `a=setup:actpass` in an answer (RFC 8842 §5: the answerer picks active or passive).
    #[error("m-section {media}: a=setup:actpass in an answer")]
    ActPassInAnswer {
        /// Section index.
        media: usize,
    },
    /// No `a=mid` (JSEP RFC 8829 §5.2.1 gives every section one).
    #[error("m-section {media}: no a=mid")]
    MissingMid {
        /// Section index.
        media: usize,
    },
    /// Two sections share an `a=mid` (RFC 5888 §4: it MUST be unique).
    #[error("m-section {media}: duplicate a=mid")]
    DuplicateMid {
        /// Section index.
        media: usize,
    },
    /// A BUNDLE group names a mid no section has (RFC 8843 §7).
    #[error("a=group:BUNDLE names unknown mid {mid:?}")]
    UnknownBundleMid {
        /// The mid.
        mid: String,
    },
}

impl SessionDescription {
    /// The section whose transport attributes apply to `media`: the BUNDLE-tagged section
    /// (the first mid of its group, RFC 8843 §7.1) if `media` is bundled, else `media`.
    pub fn transport_section<'a>(&'a self, media: &'a MediaDescription) -> &'a MediaDescription {
        let Some(mid) = media.mid() else {
            return media;
        };
        self.bundle_groups()
            .find(|g| g.mids.iter().any(|m| m == mid))
            .and_then(|g| g.mids.first().and_then(|tag| self.media_by_mid(tag)))
            .unwrap_or(media)
    }

    /// Checks the transport attributes WebRTC needs in every section that is not rejected:
    /// ICE credentials, a fingerprint (not SDES), `a=setup` (not `actpass` in an answer), a
    /// unique `a=mid`, and BUNDLE groups naming existing mids. Attributes may come from the
    /// section, its BUNDLE tag section or the session level.
    pub fn check_webrtc(&self, kind: DescriptionKind) -> Result<(), WebRtcError> {
        let mut mids = HashSet::new();
        for (i, m) in self.media.iter().enumerate() {
            match m.mid() {
                Some(mid) => {
                    // RFC 5888 §4: the identification-tag is unique within the session.
                    if !mids.insert(mid) {
                        return Err(WebRtcError::DuplicateMid { media: i });
                    }
                }
                None => return Err(WebRtcError::MissingMid { media: i }),
            }
            if m.is_rejected() {
                continue;
            }
            let t = self.transport_section(m);
            let ufrag = m.ice_ufrag().or(t.ice_ufrag()).or(self.ice_ufrag());
            let pwd = m.ice_pwd().or(t.ice_pwd()).or(self.ice_pwd());
            if ufrag.is_none() || pwd.is_none() {
                return Err(WebRtcError::MissingIceCredentials { media: i });
            }
            let has_fp = m.fingerprints().next().is_some()
                || t.fingerprints().next().is_some()
                || self.fingerprints().next().is_some();
            if !has_fp {
                if m.uses_legacy_sdes() {
                    return Err(WebRtcError::LegacySdes { media: i });
                }
                return Err(WebRtcError::MissingFingerprint { media: i });
            }
            match m.setup().or(t.setup()).or(self.setup()) {
                None => return Err(WebRtcError::MissingSetup { media: i }),
                // RFC 8842 §5: the answerer chooses active or passive, never actpass.
                Some(Setup::ActPass) if kind == DescriptionKind::Answer => {
                    return Err(WebRtcError::ActPassInAnswer { media: i });
                }
                Some(_) => {}
            }
        }
        for g in self.bundle_groups() {
            if let Some(mid) = g.mids.iter().find(|m| !mids.contains(m.as_str())) {
                return Err(WebRtcError::UnknownBundleMid { mid: mid.clone() });
            }
        }
        Ok(())
    }
}
