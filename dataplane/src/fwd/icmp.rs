//! ICMP: echo requests to a VIP are answered by the director; errors that quote a packet of
//! a connection are translated for the other side.
use super::parse::Ip4;
use super::{ForwardStage, xmit};
use crate::port::PacketBuf;
use crate::stats::DropReason;
use crate::wire::icmp::{self, Message};
use crate::worker::{Output, PacketCtx};

/// Handles an ICMP packet not addressed to the director's own address.
pub fn handle<B: PacketBuf>(
    st: &mut ForwardStage<B>,
    mut buf: B,
    ip: &Ip4,
    ctx: &PacketCtx<'_>,
    out: &mut Output<'_, B>,
) {
    let msg = {
        let Some(seg) = buf.data().get(ip.l4()..ip.frame_len()) else {
            return out.drop(DropReason::Truncated, buf);
        };
        match icmp::Packet::new_checked(seg) {
            Ok(m) => m.msg_type(),
            Err(_) => return out.drop(DropReason::IcmpMalformed, buf),
        }
    };
    match msg {
        Message::EchoRequest if ctx.snapshot.services.is_vip(ip.dst) => {
            let Some(pkt) = buf.data_mut().get_mut(super::parse::ETH_LEN..) else {
                return out.drop(DropReason::Truncated, buf);
            };
            if icmp::reply_to_echo_in_place(pkt).is_err() {
                return out.drop(DropReason::IcmpMalformed, buf);
            }
            out.counters().icmp_echo_replies.inc();
            xmit::route(st, buf, ip.src, ctx, out);
        }
        m if m.is_error() => out.drop(DropReason::IcmpUntranslated, buf),
        _ => out.drop(DropReason::NotForUs, buf),
    }
}
