//! The DPDK backend of the port traits: an `rte_mbuf` is a [`PacketBuf`], and an
//! [`EthQueue`] plus its pool is a [`PortQueue`].
//!
//! All `unsafe` lives in `dpdk-sys`, whose wrappers already encode DPDK's ownership rules,
//! so this module needs none.
use dpdk_sys::{EthQueue, Mbuf, Mempool};

use super::{Burst, NoRoom, PacketBuf, PortQueue};

impl PacketBuf for Mbuf {
    #[inline]
    fn data(&self) -> &[u8] {
        Mbuf::data(self)
    }

    #[inline]
    fn data_mut(&mut self) -> &mut [u8] {
        Mbuf::data_mut(self)
    }

    #[inline]
    fn headroom(&self) -> usize {
        Mbuf::headroom(self)
    }

    #[inline]
    fn tailroom(&self) -> usize {
        Mbuf::tailroom(self)
    }

    fn prepend(&mut self, len: usize) -> Result<&mut [u8], NoRoom> {
        if Mbuf::prepend(self, len) {
            Ok(Mbuf::data_mut(self))
        } else {
            Err(NoRoom { op: "prepend", len })
        }
    }

    fn adj(&mut self, len: usize) -> Result<(), NoRoom> {
        Mbuf::adj(self, len)
            .then_some(())
            .ok_or(NoRoom { op: "adj", len })
    }

    fn append(&mut self, len: usize) -> Result<&mut [u8], NoRoom> {
        if Mbuf::append(self, len) {
            Ok(Mbuf::data_mut(self))
        } else {
            Err(NoRoom { op: "append", len })
        }
    }

    fn trim(&mut self, len: usize) -> Result<(), NoRoom> {
        Mbuf::trim(self, len)
            .then_some(())
            .ok_or(NoRoom { op: "trim", len })
    }

    #[inline]
    fn rx_timestamp(&self) -> Option<u64> {
        Mbuf::rx_timestamp(self)
    }
}

/// Queue q of a DPDK port, with the pool fresh buffers come from.
pub struct DpdkQueue {
    queue: EthQueue,
    pool: Mempool,
}

impl DpdkQueue {
    pub fn new(queue: EthQueue, pool: Mempool) -> DpdkQueue {
        DpdkQueue { queue, pool }
    }
}

impl PortQueue for DpdkQueue {
    type Buf = Mbuf;

    #[inline]
    fn rx_burst(&mut self, out: &mut Burst<Mbuf>, max: usize) -> usize {
        self.queue.rx_burst(out, max)
    }

    #[inline]
    fn tx_burst(&mut self, bufs: &mut Burst<Mbuf>) -> usize {
        self.queue.tx_burst(bufs)
    }

    fn alloc(&mut self) -> Option<Mbuf> {
        self.pool.alloc()
    }
}
