//! rte_flow: hardware rules that put chosen packets on a chosen RX queue.
//!
//! rvs installs one shape of rule only — "IPv4 to address A, TCP (or UDP) destination port
//! with `port & mask == value`, to queue Q" — so that FULLNAT return traffic reaches the
//! worker that owns its local port without a software hand-off. That shape is
//! [`QueueRule`], plain data that callers build and test; [`RuleFfi`] turns it into DPDK's
//! C structures (pattern `ETH / IPV4 / TCP|UDP / END`, action `QUEUE / END`, ingress), and
//! the [`Port`] methods validate, create, destroy and flush rules.
//!
//! A port keeps the rules created through it in a table of opaque ids, so a caller never
//! holds a raw `struct rte_flow *`: destroying an id that a flush already removed is a
//! no-op instead of a use after free, and [`Port::close`] flushes what is left.
use std::collections::BTreeMap;
use std::ffi::CStr;
use std::net::Ipv4Addr;
use std::ptr::NonNull;

use crate::error::{DpdkError, strerror};
use crate::ethdev::Port;
use crate::ffi;

/// The transport protocol a rule matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum L4Proto {
    Tcp,
    Udp,
}

impl L4Proto {
    pub fn name(self) -> &'static str {
        match self {
            L4Proto::Tcp => "tcp",
            L4Proto::Udp => "udp",
        }
    }
}

/// "IPv4 to `dst`, `proto` with `dst_port & dst_port_mask == dst_port`, to RX queue `queue`":
/// the rule rvs installs, as plain data (host byte order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct QueueRule {
    pub dst: Ipv4Addr,
    pub proto: L4Proto,
    /// The destination port value to match (only the bits of the mask count).
    pub dst_port: u16,
    pub dst_port_mask: u16,
    pub queue: u16,
}

/// The id of a rule created on a port (see [`Port::create_flow`]). Only a key into the
/// port's table: an id that names no live rule destroys nothing, so ids may be made freely
/// (test doubles do).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FlowId(pub u64);

/// A rule DPDK created: an opaque pointer only ever handed back to `rte_flow_destroy` of the
/// same port.
pub(crate) struct FlowPtr(NonNull<ffi::rte_flow>);

// SAFETY: the pointer is an opaque handle owned by the port's driver; rvs never dereferences
// it, and passes it back to rte_flow_destroy under the port's flow-table mutex, so moving it
// between threads cannot create a data race.
unsafe impl Send for FlowPtr {}

/// The rules created through one port, by id.
#[derive(Default)]
pub(crate) struct FlowTable {
    next: u64,
    live: BTreeMap<u64, FlowPtr>,
}

/// The C structures of one [`QueueRule`]. The pattern and action arrays point into this
/// value, so it must stay in place (on the caller's stack) while DPDK reads them.
pub(crate) struct RuleFfi {
    pub(crate) attr: ffi::rte_flow_attr,
    /// Spec and mask.
    pub(crate) ipv4: [ffi::rte_flow_item_ipv4; 2],
    pub(crate) tcp: [ffi::rte_flow_item_tcp; 2],
    pub(crate) udp: [ffi::rte_flow_item_udp; 2],
    pub(crate) queue: ffi::rte_flow_action_queue,
    proto: L4Proto,
}

impl RuleFfi {
    pub(crate) fn new(rule: &QueueRule) -> RuleFfi {
        let mut attr = ffi::rte_flow_attr::default();
        attr.set_ingress(1);
        let mut ipv4 = [ffi::rte_flow_item_ipv4::default(); 2];
        ipv4[0].hdr.dst_addr = u32::from(rule.dst).to_be();
        ipv4[1].hdr.dst_addr = u32::MAX;
        let port = (rule.dst_port & rule.dst_port_mask).to_be();
        let mask = rule.dst_port_mask.to_be();
        let mut tcp = [ffi::rte_flow_item_tcp::default(); 2];
        let mut udp = [ffi::rte_flow_item_udp::default(); 2];
        match rule.proto {
            L4Proto::Tcp => {
                tcp[0].hdr.dst_port = port;
                tcp[1].hdr.dst_port = mask;
            }
            L4Proto::Udp => {
                udp[0].hdr.dst_port = port;
                udp[1].hdr.dst_port = mask;
            }
        }
        RuleFfi {
            attr,
            ipv4,
            tcp,
            udp,
            queue: ffi::rte_flow_action_queue { index: rule.queue },
            proto: rule.proto,
        }
    }

    /// `ETH (any) / IPV4 / TCP|UDP / END`, pointing into `self`.
    pub(crate) fn pattern(&self) -> [ffi::rte_flow_item; 4] {
        let item = |type_, spec: *const std::ffi::c_void, mask: *const std::ffi::c_void| {
            ffi::rte_flow_item {
                type_,
                spec,
                last: std::ptr::null(),
                mask,
            }
        };
        let none = std::ptr::null();
        let (l4_type, l4_spec, l4_mask) = match self.proto {
            L4Proto::Tcp => (
                ffi::rte_flow_item_type_RTE_FLOW_ITEM_TYPE_TCP,
                (&raw const self.tcp[0]).cast(),
                (&raw const self.tcp[1]).cast(),
            ),
            L4Proto::Udp => (
                ffi::rte_flow_item_type_RTE_FLOW_ITEM_TYPE_UDP,
                (&raw const self.udp[0]).cast(),
                (&raw const self.udp[1]).cast(),
            ),
        };
        [
            item(ffi::rte_flow_item_type_RTE_FLOW_ITEM_TYPE_ETH, none, none),
            item(
                ffi::rte_flow_item_type_RTE_FLOW_ITEM_TYPE_IPV4,
                (&raw const self.ipv4[0]).cast(),
                (&raw const self.ipv4[1]).cast(),
            ),
            item(l4_type, l4_spec, l4_mask),
            item(ffi::rte_flow_item_type_RTE_FLOW_ITEM_TYPE_END, none, none),
        ]
    }

    /// `QUEUE / END`, pointing into `self`.
    pub(crate) fn actions(&self) -> [ffi::rte_flow_action; 2] {
        [
            ffi::rte_flow_action {
                type_: ffi::rte_flow_action_type_RTE_FLOW_ACTION_TYPE_QUEUE,
                conf: (&raw const self.queue).cast(),
            },
            ffi::rte_flow_action {
                type_: ffi::rte_flow_action_type_RTE_FLOW_ACTION_TYPE_END,
                conf: std::ptr::null(),
            },
        ]
    }
}

/// The error of a failed rte_flow call: the driver's message when it gave one.
fn flow_error(op: String, ret: i32, err: &ffi::rte_flow_error) -> DpdkError {
    let code = ret.abs();
    let message = if err.message.is_null() {
        strerror(code)
    } else {
        // SAFETY: a non-null message is a NUL-terminated string set by rte_flow_error_set,
        // valid at least until the next flow call on this thread; copied at once.
        unsafe { CStr::from_ptr(err.message) }
            .to_string_lossy()
            .into_owned()
    };
    DpdkError::Call { op, code, message }
}

impl Port {
    /// Asks the driver whether it would accept `rule` (`rte_flow_validate`), without
    /// creating it. `Err` with ENOSYS means the driver has no flow API at all.
    pub fn validate_flow(&self, rule: &QueueRule) -> Result<(), DpdkError> {
        self.ensure_flow_state("validate a flow rule on")?;
        let c = RuleFfi::new(rule);
        let (pattern, actions) = (c.pattern(), c.actions());
        let mut err = ffi::rte_flow_error::default();
        // SAFETY: configured port; attr, pattern and actions are valid, END-terminated and
        // point into `c`, which lives until after the call; err is a valid out pointer.
        let ret = unsafe {
            ffi::rte_flow_validate(
                self.id(),
                &c.attr,
                pattern.as_ptr(),
                actions.as_ptr(),
                &mut err,
            )
        };
        if ret != 0 {
            return Err(flow_error(self.op("rte_flow_validate"), ret, &err));
        }
        Ok(())
    }

    /// Creates `rule` (`rte_flow_create`); the id destroys it later.
    pub fn create_flow(&self, rule: &QueueRule) -> Result<FlowId, DpdkError> {
        self.ensure_flow_state("create a flow rule on")?;
        let c = RuleFfi::new(rule);
        let (pattern, actions) = (c.pattern(), c.actions());
        let mut err = ffi::rte_flow_error::default();
        let mut table = self.flow_table();
        // SAFETY: as in validate_flow; the returned pointer is owned by the driver and kept
        // opaque in the port's table.
        let raw = unsafe {
            ffi::rte_flow_create(
                self.id(),
                &c.attr,
                pattern.as_ptr(),
                actions.as_ptr(),
                &mut err,
            )
        };
        let Some(ptr) = NonNull::new(raw) else {
            let code = crate::error::errno();
            return Err(flow_error(self.op("rte_flow_create"), -code, &err));
        };
        table.next += 1;
        let id = table.next;
        table.live.insert(id, FlowPtr(ptr));
        Ok(FlowId(id))
    }

    /// Destroys the rule `id` (`rte_flow_destroy`). A rule already removed by a flush is
    /// gone: that is not an error.
    pub fn destroy_flow(&self, id: FlowId) -> Result<(), DpdkError> {
        let mut table = self.flow_table();
        let Some(FlowPtr(ptr)) = table.live.remove(&id.0) else {
            return Ok(());
        };
        let mut err = ffi::rte_flow_error::default();
        // SAFETY: ptr came from rte_flow_create on this port and was not destroyed or
        // flushed since (it was still in the table, which only this mutex guards).
        let ret = unsafe { ffi::rte_flow_destroy(self.id(), ptr.as_ptr(), &mut err) };
        if ret != 0 {
            return Err(flow_error(self.op("rte_flow_destroy"), ret, &err));
        }
        Ok(())
    }

    /// Removes every rule of the port (`rte_flow_flush`), also rules not created through
    /// this handle; returns how many of this handle's rules were live.
    pub fn flush_flows(&self) -> Result<usize, DpdkError> {
        self.ensure_flow_state("flush the flow rules of")?;
        let mut table = self.flow_table();
        let mut err = ffi::rte_flow_error::default();
        // SAFETY: configured port; err is a valid out pointer. Every pointer in the table
        // becomes invalid, so the table is emptied under the same lock.
        let ret = unsafe { ffi::rte_flow_flush(self.id(), &mut err) };
        let n = table.live.len();
        table.live.clear();
        if ret != 0 {
            return Err(flow_error(self.op("rte_flow_flush"), ret, &err));
        }
        Ok(n)
    }

    /// How many rules created through this handle are live.
    pub fn flow_count(&self) -> usize {
        self.flow_table().live.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(proto: L4Proto) -> QueueRule {
        QueueRule {
            dst: Ipv4Addr::new(10, 0, 0, 50),
            proto,
            dst_port: 3,
            dst_port_mask: 3,
            queue: 3,
        }
    }

    #[test]
    fn a_tcp_rule_becomes_eth_ipv4_tcp_to_a_queue_in_network_byte_order() {
        let c = RuleFfi::new(&rule(L4Proto::Tcp));
        assert_eq!(c.attr.ingress(), 1);
        assert_eq!((c.attr.egress(), c.attr.transfer()), (0, 0));
        assert_eq!((c.attr.group, c.attr.priority), (0, 0));
        // 10.0.0.50 as it is on the wire.
        let dst = c.ipv4[0].hdr.dst_addr;
        let dst_mask = c.ipv4[1].hdr.dst_addr;
        assert_eq!(dst.to_ne_bytes(), [10, 0, 0, 50]);
        assert_eq!(dst_mask, u32::MAX);
        // Only the destination address and port are matched.
        let src_mask = c.ipv4[1].hdr.src_addr;
        assert_eq!(src_mask, 0);
        assert_eq!(c.tcp[0].hdr.dst_port.to_ne_bytes(), [0, 3]);
        assert_eq!(c.tcp[1].hdr.dst_port.to_ne_bytes(), [0, 3]);
        assert_eq!({ c.tcp[1].hdr.src_port }, 0);
        assert_eq!(c.queue.index, 3);

        let p = c.pattern();
        let types: Vec<_> = p.iter().map(|i| i.type_).collect();
        assert_eq!(
            types,
            [
                ffi::rte_flow_item_type_RTE_FLOW_ITEM_TYPE_ETH,
                ffi::rte_flow_item_type_RTE_FLOW_ITEM_TYPE_IPV4,
                ffi::rte_flow_item_type_RTE_FLOW_ITEM_TYPE_TCP,
                ffi::rte_flow_item_type_RTE_FLOW_ITEM_TYPE_END,
            ]
        );
        assert!(p[0].spec.is_null() && p[0].mask.is_null(), "any Ethernet");
        assert_eq!(p[1].spec, (&raw const c.ipv4[0]).cast());
        assert_eq!(p[1].mask, (&raw const c.ipv4[1]).cast());
        assert_eq!(p[2].spec, (&raw const c.tcp[0]).cast());
        assert_eq!(p[2].mask, (&raw const c.tcp[1]).cast());
        assert!(p.iter().all(|i| i.last.is_null()));
        let a = c.actions();
        assert_eq!(
            a[0].type_,
            ffi::rte_flow_action_type_RTE_FLOW_ACTION_TYPE_QUEUE
        );
        assert_eq!(a[0].conf, (&raw const c.queue).cast());
        assert_eq!(
            a[1].type_,
            ffi::rte_flow_action_type_RTE_FLOW_ACTION_TYPE_END
        );
    }

    #[test]
    fn a_udp_rule_matches_udp_and_the_port_value_is_masked() {
        let c = RuleFfi::new(&QueueRule {
            dst_port: 0x0105,
            dst_port_mask: 0x0003,
            queue: 1,
            ..rule(L4Proto::Udp)
        });
        let p = c.pattern();
        assert_eq!(p[2].type_, ffi::rte_flow_item_type_RTE_FLOW_ITEM_TYPE_UDP);
        assert_eq!(p[2].spec, (&raw const c.udp[0]).cast());
        // The value carries only bits of the mask (some drivers refuse others).
        assert_eq!(c.udp[0].hdr.dst_port.to_ne_bytes(), [0, 1]);
        assert_eq!(c.udp[1].hdr.dst_port.to_ne_bytes(), [0, 3]);
        assert_eq!({ c.tcp[1].hdr.dst_port }, 0, "the TCP item is unused");
        assert_eq!(c.queue.index, 1);
    }
}
