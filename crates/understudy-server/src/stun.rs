//! A STUN binding responder on a UDP port of the mock's host (RFC 5389 §7.3, binding requests
//! only): the server v1 sessions name in `ice_servers` and `ice_servers2`. The real service named
//! its own STUN and TURN relays there; naming one on loopback keeps every entry a working
//! `RTCIceServer` without a packet leaving the machine. A browser asks it for its address and
//! gets a server-reflexive candidate, which it trickles through `streaming.ice` like any other.
//!
//! `answer` is the codec (pure, over bytes); `serve` the socket's owner.

use rtc::stun::attributes::ATTR_SOFTWARE;
use rtc::stun::fingerprint::FINGERPRINT;
use rtc::stun::message::{BINDING_REQUEST, BINDING_SUCCESS, Message, is_stun_message};
use rtc::stun::textattrs::TextAttribute;
use rtc::stun::xoraddr::XorMappedAddress;
use std::net::SocketAddr;
use tokio::net::UdpSocket;
use tokio_util::sync::CancellationToken;

/// Larger than any binding request a browser sends; a bigger datagram is not one.
const MAX_DATAGRAM: usize = 1500;

/// The answer to a binding request from `from`: a success carrying `from` as the
/// XOR-MAPPED-ADDRESS. `None` for anything else (not STUN, not a binding request, garbled),
/// which gets no answer, as a STUN server drops what it does not understand.
pub fn answer(datagram: &[u8], from: SocketAddr) -> Option<Vec<u8>> {
    if !is_stun_message(datagram) {
        return None;
    }
    let mut request = Message::new();
    request.raw = datagram.to_vec();
    request.decode().ok()?;
    if request.typ != BINDING_REQUEST {
        return None;
    }
    let mut response = Message::new();
    response
        .build(&[
            Box::new(request),
            Box::new(BINDING_SUCCESS),
            Box::new(XorMappedAddress {
                ip: from.ip(),
                port: from.port(),
            }),
            Box::new(TextAttribute::new(ATTR_SOFTWARE, "understudy".to_owned())),
            Box::new(FINGERPRINT),
        ])
        .ok()?;
    Some(response.raw)
}

/// Answers binding requests on `socket` until `stop`, counting the answers in `answered`.
pub async fn serve(
    socket: UdpSocket,
    answered: std::sync::Arc<std::sync::atomic::AtomicU64>,
    stop: CancellationToken,
) {
    let mut buffer = vec![0u8; MAX_DATAGRAM];
    loop {
        let (len, from) = tokio::select! {
            () = stop.cancelled() => return,
            received = socket.recv_from(&mut buffer) => match received {
                Ok(received) => received,
                // An ICMP error from an earlier answer's unreachable sender, or the like: the
                // socket itself is fine.
                Err(e) => {
                    tracing::debug!(%e, "STUN socket read failed");
                    continue;
                }
            },
        };
        if let Some(reply) = answer(&buffer[..len], from) {
            match socket.send_to(&reply, from).await {
                Ok(_) => {
                    answered.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                Err(e) => tracing::debug!(%e, %from, "STUN answer not sent"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtc::stun::message::{Getter, TransactionId};

    fn binding_request() -> Message {
        let mut request = Message::new();
        request
            .build(&[Box::new(TransactionId::new()), Box::new(BINDING_REQUEST)])
            .unwrap();
        request
    }

    #[test]
    fn a_binding_request_gets_the_sender_address_back() {
        let request = binding_request();
        let from: SocketAddr = "10.1.2.3:54321".parse().unwrap();
        let raw = answer(&request.raw, from).expect("an answer");
        let mut reply = Message::new();
        reply.raw = raw;
        reply.decode().unwrap();
        assert_eq!(reply.typ, BINDING_SUCCESS);
        assert_eq!(reply.transaction_id, request.transaction_id);
        let mut mapped = XorMappedAddress::default();
        mapped.get_from(&reply).unwrap();
        assert_eq!((mapped.ip, mapped.port), (from.ip(), from.port()));
        FINGERPRINT.check(&reply).expect("a valid fingerprint");
    }

    #[test]
    fn anything_else_gets_no_answer() {
        let from: SocketAddr = "127.0.0.1:9".parse().unwrap();
        assert_eq!(answer(b"", from), None);
        assert_eq!(answer(b"GET / HTTP/1.1\r\n\r\n", from), None);
        assert_eq!(answer(&[0u8; 20], from), None);
        let mut success = binding_request();
        success.set_type(BINDING_SUCCESS);
        success.encode();
        assert_eq!(answer(&success.raw, from), None);
        // A request cut short.
        let whole = binding_request().raw;
        assert_eq!(answer(&whole[..whole.len() - 1], from), None);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(crate::proptest_cases(2_000)))]
        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200)) {
            let _ = answer(&bytes, "127.0.0.1:9".parse().unwrap());
        }
    }
}
