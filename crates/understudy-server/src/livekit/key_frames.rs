//! Key-frame requests from a client: the RTCP an avatar's video sender must act on.
//!
//! A receiver that lost a reference frame (a decoder starting late, packet loss NACKs could not
//! repair) asks the sender for a key frame with a Picture Loss Indication (RFC 4585 §6.3.1) or
//! a Full Intra Request (RFC 5104 §4.3.1), as `nack pli` and `ccm fir` in the offer allow.
//! webrtc-rs's interceptor chain ends inbound RTCP before the application unless an
//! interceptor marks it `DeliverToApplication`; [`KeyFrameRequests`] marks exactly these two
//! kinds, and [`asks_for_key_frame`] recognises them where they arrive, on the video track.

use rtc::interceptor::{Attribute, Interceptor, Packet, StreamInfo, TaggedPacket};
use rtc::rtcp;
use rtc::rtcp::payload_feedbacks::full_intra_request::FullIntraRequest;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use std::collections::VecDeque;
use std::time::Instant;

/// Whether `packet` asks the sender for a key frame.
pub(super) fn asks_for_key_frame(packet: &dyn rtcp::Packet) -> bool {
    let any = packet.as_any();
    any.is::<PictureLossIndication>() || any.is::<FullIntraRequest>()
}

/// Lets PLI and FIR through to the application; every other packet passes as it came, for the
/// interceptors application-ward of this one (and then ends, as webrtc-rs ends it).
#[derive(Default)]
pub(super) struct KeyFrameRequests {
    reads: VecDeque<TaggedPacket>,
    writes: VecDeque<TaggedPacket>,
}

impl rtc::sansio::Protocol<TaggedPacket, TaggedPacket, ()> for KeyFrameRequests {
    type Rout = TaggedPacket;
    type Wout = TaggedPacket;
    type Eout = ();
    type Error = rtc::shared::error::Error;
    type Time = Instant;

    fn handle_read(&mut self, mut msg: TaggedPacket) -> Result<(), Self::Error> {
        if let Packet::Rtcp(packets) = &msg.message.packet
            && packets.iter().any(|p| asks_for_key_frame(p.as_ref()))
        {
            msg.message.add(Attribute::DeliverToApplication);
        }
        self.reads.push_back(msg);
        Ok(())
    }

    fn poll_read(&mut self) -> Option<TaggedPacket> {
        self.reads.pop_front()
    }

    fn handle_write(&mut self, msg: TaggedPacket) -> Result<(), Self::Error> {
        self.writes.push_back(msg);
        Ok(())
    }

    fn poll_write(&mut self) -> Option<TaggedPacket> {
        self.writes.pop_front()
    }

    fn handle_timeout(&mut self, _now: Instant) -> Result<(), Self::Error> {
        Ok(())
    }

    fn poll_timeout(&mut self) -> Option<Instant> {
        None
    }
}

impl Interceptor for KeyFrameRequests {
    fn bind_local_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_local_stream(&mut self, _info: &StreamInfo) {}
    fn bind_remote_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_remote_stream(&mut self, _info: &StreamInfo) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtc::rtcp::receiver_report::ReceiverReport;

    #[test]
    fn pli_and_fir_ask_for_a_key_frame_and_reports_do_not() {
        assert!(asks_for_key_frame(&PictureLossIndication::default()));
        assert!(asks_for_key_frame(&FullIntraRequest::default()));
        assert!(!asks_for_key_frame(&ReceiverReport::default()));
    }
}
