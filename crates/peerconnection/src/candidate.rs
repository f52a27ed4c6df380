//! From the SDP candidate grammar (tern-sdp) to the ICE agent's candidate (tern-ice).

use crate::Error;
use std::net::SocketAddr;
use tern_ice::{Candidate, CandidateKind, TransportProtocol};
use tern_sdp::CandidateAddress;

/// Converts a parsed `a=candidate`. mDNS `.local` hostnames are refused with a clear error: the
/// agent learns such a peer as peer-reflexive from its first authenticated check instead —
/// unless the tokio driver resolves the name first (`RtcConfig::mdns_resolve`, module `mdns`)
/// and hands the candidate over with the address in its place.
pub(crate) fn to_ice(candidate: &tern_sdp::Candidate) -> Result<Candidate, Error> {
    let ip = match &candidate.address {
        CandidateAddress::Ip(ip) => *ip,
        CandidateAddress::Hostname(name) => {
            return Err(Error::Candidate(format!("unresolved hostname {name}")));
        }
    };
    let transport = if candidate.transport.eq_ignore_ascii_case("udp") {
        TransportProtocol::Udp
    } else {
        return Err(Error::Candidate(format!(
            "transport {} is not supported",
            candidate.transport
        )));
    };
    let kind = match candidate.kind.as_str() {
        "host" => CandidateKind::Host,
        "srflx" => CandidateKind::ServerReflexive,
        "prflx" => CandidateKind::PeerReflexive,
        "relay" => CandidateKind::Relayed,
        other => return Err(Error::Candidate(format!("unknown candidate type {other}"))),
    };
    if candidate.port == 0 {
        return Err(Error::Candidate("port 0".into()));
    }
    let related_address = match (&candidate.related_address, candidate.related_port) {
        (Some(CandidateAddress::Ip(ip)), Some(port)) => Some(SocketAddr::new(*ip, port)),
        _ => None,
    };
    Ok(Candidate {
        foundation: candidate.foundation.clone(),
        component: candidate.component,
        transport,
        priority: candidate.priority,
        address: SocketAddr::new(ip, candidate.port),
        kind,
        related_address,
        tcp_type: None,
    })
}
