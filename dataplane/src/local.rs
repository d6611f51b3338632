//! TEMPORARY placeholder until wire phase A lands: reflects everything.
use crate::port::PacketBuf;
use crate::worker::{PacketCtx, Stage, Verdict};

#[derive(Debug, Default, Clone, Copy)]
pub struct LocalStage;

impl Stage for LocalStage {
    fn process<B: PacketBuf>(&mut self, _buf: &mut B, ctx: &PacketCtx<'_>) -> Verdict {
        Verdict::Transmit { port: ctx.port }
    }
}
