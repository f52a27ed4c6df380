//! Alert protocol (RFC 5246 §7.2).

use crate::error::DtlsError;

/// Alert level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertLevel {
    /// warning(1)
    Warning,
    /// fatal(2)
    Fatal,
}

/// Alert description codes (RFC 5246 §7.2, RFC 5746, RFC 8446 for the ones DTLS 1.2 peers send).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AlertDescription {
    /// close_notify(0)
    CloseNotify,
    /// unexpected_message(10)
    UnexpectedMessage,
    /// bad_record_mac(20)
    BadRecordMac,
    /// record_overflow(22)
    RecordOverflow,
    /// handshake_failure(40)
    HandshakeFailure,
    /// bad_certificate(42)
    BadCertificate,
    /// unsupported_certificate(43)
    UnsupportedCertificate,
    /// certificate_unknown(46)
    CertificateUnknown,
    /// illegal_parameter(47)
    IllegalParameter,
    /// decode_error(50)
    DecodeError,
    /// decrypt_error(51)
    DecryptError,
    /// protocol_version(70)
    ProtocolVersion,
    /// insufficient_security(71)
    InsufficientSecurity,
    /// internal_error(80)
    InternalError,
    /// user_canceled(90)
    UserCanceled,
    /// no_renegotiation(100)
    NoRenegotiation,
    /// unsupported_extension(110)
    UnsupportedExtension,
    /// Any other code.
    Other(u8),
}

impl AlertDescription {
    /// The wire code.
    pub fn code(self) -> u8 {
        match self {
            AlertDescription::CloseNotify => 0,
            AlertDescription::UnexpectedMessage => 10,
            AlertDescription::BadRecordMac => 20,
            AlertDescription::RecordOverflow => 22,
            AlertDescription::HandshakeFailure => 40,
            AlertDescription::BadCertificate => 42,
            AlertDescription::UnsupportedCertificate => 43,
            AlertDescription::CertificateUnknown => 46,
            AlertDescription::IllegalParameter => 47,
            AlertDescription::DecodeError => 50,
            AlertDescription::DecryptError => 51,
            AlertDescription::ProtocolVersion => 70,
            AlertDescription::InsufficientSecurity => 71,
            AlertDescription::InternalError => 80,
            AlertDescription::UserCanceled => 90,
            AlertDescription::NoRenegotiation => 100,
            AlertDescription::UnsupportedExtension => 110,
            AlertDescription::Other(c) => c,
        }
    }

    /// From the wire code.
    pub fn from_code(c: u8) -> Self {
        match c {
            0 => AlertDescription::CloseNotify,
            10 => AlertDescription::UnexpectedMessage,
            20 => AlertDescription::BadRecordMac,
            22 => AlertDescription::RecordOverflow,
            40 => AlertDescription::HandshakeFailure,
            42 => AlertDescription::BadCertificate,
            43 => AlertDescription::UnsupportedCertificate,
            46 => AlertDescription::CertificateUnknown,
            47 => AlertDescription::IllegalParameter,
            50 => AlertDescription::DecodeError,
            51 => AlertDescription::DecryptError,
            70 => AlertDescription::ProtocolVersion,
            71 => AlertDescription::InsufficientSecurity,
            80 => AlertDescription::InternalError,
            90 => AlertDescription::UserCanceled,
            100 => AlertDescription::NoRenegotiation,
            110 => AlertDescription::UnsupportedExtension,
            c => AlertDescription::Other(c),
        }
    }
}

/// One alert message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Alert {
    /// Warning or fatal.
    pub level: AlertLevel,
    /// What happened.
    pub description: AlertDescription,
}

impl Alert {
    /// A fatal alert.
    pub fn fatal(description: AlertDescription) -> Self {
        Alert {
            level: AlertLevel::Fatal,
            description,
        }
    }

    /// A warning alert.
    pub fn warning(description: AlertDescription) -> Self {
        Alert {
            level: AlertLevel::Warning,
            description,
        }
    }

    /// Parse the two-byte body of an alert record.
    pub fn parse(body: &[u8]) -> Result<Alert, DtlsError> {
        let [level, desc] = body else {
            return Err(DtlsError::MalformedAlert);
        };
        let level = match level {
            1 => AlertLevel::Warning,
            2 => AlertLevel::Fatal,
            _ => return Err(DtlsError::MalformedAlert),
        };
        Ok(Alert {
            level,
            description: AlertDescription::from_code(*desc),
        })
    }

    /// The two-byte body.
    pub fn emit(&self) -> [u8; 2] {
        let level = match self.level {
            AlertLevel::Warning => 1,
            AlertLevel::Fatal => 2,
        };
        [level, self.description.code()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_all_codes() {
        for c in 0..=255u8 {
            let a = Alert {
                level: AlertLevel::Fatal,
                description: AlertDescription::from_code(c),
            };
            assert_eq!(Alert::parse(&a.emit()), Ok(a));
        }
        assert_eq!(Alert::parse(&[3, 0]), Err(DtlsError::MalformedAlert));
        assert_eq!(Alert::parse(&[1]), Err(DtlsError::MalformedAlert));
        assert_eq!(Alert::parse(&[1, 0, 0]), Err(DtlsError::MalformedAlert));
    }
}
