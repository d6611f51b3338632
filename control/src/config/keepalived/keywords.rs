//! Which keywords exist in which keepalived block.
//!
//! The tables list, per block, the keywords rvs reads (`*_USED`) and the keywords keepalived
//! 2.2 knows there but rvs does not act on (`*_IGNORED`: accepted with the warning "accepted
//! but not used by rvs"). Anything else is what keepalived itself calls an unknown keyword,
//! and rvs makes it an error, with a suggestion drawn from that block's keywords only.
//!
//! The keepalived lists were taken from keepalived 2.2.7 itself (Debian 12's build): every
//! candidate word (keepalived.conf(5), the strings of the binary, the first words of the
//! 699-file corpus) was placed in each block of a generated file and `keepalived -t` said
//! which ones it does not know. DPVS's fork adds FULLNAT keywords (`DPVS_*` tables); rvs
//! reads `local_address_group` and `laddr_group_name` and accepts the others with a warning.

/// The blocks whose keywords rvs checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Block {
    Top,
    GlobalDefs,
    VrrpScript,
    VrrpSyncGroup,
    VrrpInstance,
    Authentication,
    VirtualServer,
    RealServer,
    TcpCheck,
    HttpGet,
    SslGet,
    Url,
    MiscCheck,
    SmtpCheck,
    SmtpHost,
    DnsCheck,
    UdpCheck,
    VrrpTrackProcess,
    TrackFile,
    BfdInstance,
    Ssl,
    GarpGroup,
}

/// What a keyword is in a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keyword {
    /// rvs reads it.
    Used,
    /// keepalived knows it; rvs accepts it with a warning.
    Ignored,
    /// A DPVS extension rvs accepts with a warning.
    DpvsIgnored,
    /// Neither keepalived nor DPVS knows it here.
    Unknown,
}

impl Block {
    /// Every block with a keyword table.
    pub const ALL: [Block; 22] = [
        Block::Top,
        Block::GlobalDefs,
        Block::VrrpScript,
        Block::VrrpSyncGroup,
        Block::VrrpInstance,
        Block::Authentication,
        Block::VirtualServer,
        Block::RealServer,
        Block::TcpCheck,
        Block::HttpGet,
        Block::SslGet,
        Block::Url,
        Block::MiscCheck,
        Block::SmtpCheck,
        Block::SmtpHost,
        Block::DnsCheck,
        Block::UdpCheck,
        Block::VrrpTrackProcess,
        Block::TrackFile,
        Block::BfdInstance,
        Block::Ssl,
        Block::GarpGroup,
    ];

    /// The blocks other than this one where `kw` is a keyword (to tell an operator where a
    /// misplaced keyword belongs).
    pub fn elsewhere(self, kw: &str) -> Vec<&'static str> {
        Block::ALL
            .iter()
            .filter(|b| **b != self && b.classify(kw) != Keyword::Unknown)
            .map(|b| b.name())
            .collect()
    }

    /// The block's name as written in keepalived.conf.
    pub fn name(self) -> &'static str {
        match self {
            Block::Top => "the top level",
            Block::GlobalDefs => "global_defs",
            Block::VrrpScript => "vrrp_script",
            Block::VrrpSyncGroup => "vrrp_sync_group",
            Block::VrrpInstance => "vrrp_instance",
            Block::Authentication => "authentication",
            Block::VirtualServer => "virtual_server",
            Block::RealServer => "real_server",
            Block::TcpCheck => "TCP_CHECK",
            Block::HttpGet => "HTTP_GET",
            Block::SslGet => "SSL_GET",
            Block::Url => "url",
            Block::MiscCheck => "MISC_CHECK",
            Block::SmtpCheck => "SMTP_CHECK",
            Block::SmtpHost => "host",
            Block::DnsCheck => "DNS_CHECK",
            Block::UdpCheck => "UDP_CHECK",
            Block::VrrpTrackProcess => "vrrp_track_process",
            Block::TrackFile => "track_file",
            Block::BfdInstance => "bfd_instance",
            Block::Ssl => "SSL",
            Block::GarpGroup => "garp_group",
        }
    }

    fn tables(
        self,
    ) -> (
        &'static [&'static str],
        &'static [&'static str],
        &'static [&'static str],
        &'static [&'static str],
    ) {
        match self {
            Block::Top => (TOP_USED, TOP_IGNORED, DPVS_TOP_USED, DPVS_TOP_IGNORED),
            Block::GlobalDefs => (GLOBAL_DEFS_USED, GLOBAL_DEFS_IGNORED, &[], &[]),
            Block::VrrpScript => (VRRP_SCRIPT_USED, VRRP_SCRIPT_IGNORED, &[], &[]),
            Block::VrrpSyncGroup => (VRRP_SYNC_GROUP_USED, VRRP_SYNC_GROUP_IGNORED, &[], &[]),
            Block::VrrpInstance => (
                VRRP_INSTANCE_USED,
                VRRP_INSTANCE_IGNORED,
                &[],
                DPVS_VRRP_INSTANCE_IGNORED,
            ),
            Block::Authentication => (AUTHENTICATION_USED, AUTHENTICATION_IGNORED, &[], &[]),
            Block::VirtualServer => (
                VIRTUAL_SERVER_USED,
                VIRTUAL_SERVER_IGNORED,
                DPVS_VIRTUAL_SERVER_USED,
                DPVS_VIRTUAL_SERVER_IGNORED,
            ),
            Block::RealServer => (REAL_SERVER_USED, REAL_SERVER_IGNORED, &[], &[]),
            Block::TcpCheck => (TCP_CHECK_USED, TCP_CHECK_IGNORED, &[], &[]),
            Block::HttpGet => (HTTP_GET_USED, HTTP_GET_IGNORED, &[], &[]),
            Block::SslGet => (SSL_GET_USED, SSL_GET_IGNORED, &[], &[]),
            Block::Url => (URL_USED, URL_IGNORED, &[], &[]),
            Block::MiscCheck => (MISC_CHECK_USED, MISC_CHECK_IGNORED, &[], &[]),
            Block::SmtpCheck => (SMTP_CHECK_USED, SMTP_CHECK_IGNORED, &[], &[]),
            Block::SmtpHost => (SMTP_HOST_USED, SMTP_HOST_IGNORED, &[], &[]),
            Block::DnsCheck => (DNS_CHECK_USED, DNS_CHECK_IGNORED, &[], &[]),
            Block::UdpCheck => (UDP_CHECK_USED, UDP_CHECK_IGNORED, &[], &[]),
            Block::VrrpTrackProcess => (
                VRRP_TRACK_PROCESS_USED,
                VRRP_TRACK_PROCESS_IGNORED,
                &[],
                &[],
            ),
            Block::TrackFile => (TRACK_FILE_USED, TRACK_FILE_IGNORED, &[], &[]),
            Block::BfdInstance => (BFD_INSTANCE_USED, BFD_INSTANCE_IGNORED, &[], &[]),
            Block::Ssl => (SSL_USED, SSL_IGNORED, &[], &[]),
            Block::GarpGroup => (GARP_GROUP_USED, GARP_GROUP_IGNORED, &[], &[]),
        }
    }

    /// What `kw` is in this block.
    pub fn classify(self, kw: &str) -> Keyword {
        let (used, ignored, dpvs_used, dpvs_ignored) = self.tables();
        if used.contains(&kw) || dpvs_used.contains(&kw) {
            Keyword::Used
        } else if ignored.contains(&kw) {
            Keyword::Ignored
        } else if dpvs_ignored.contains(&kw) {
            Keyword::DpvsIgnored
        } else {
            Keyword::Unknown
        }
    }

    /// Every keyword valid in this block (for suggestions).
    pub fn all(self) -> impl Iterator<Item = &'static str> {
        let (a, b, c, d) = self.tables();
        a.iter().chain(b).chain(c).chain(d).copied()
    }
}

/// DPVS: top-level blocks.
const DPVS_TOP_USED: &[&str] = &["local_address_group"];
const DPVS_TOP_IGNORED: &[&str] = &["deny_address_group", "tunnel_group"];
/// DPVS: virtual_server keywords.
const DPVS_VIRTUAL_SERVER_USED: &[&str] = &["laddr_group_name"];
const DPVS_VIRTUAL_SERVER_IGNORED: &[&str] = &[
    "bps",
    "daddr_group_name",
    "dst-range",
    "establish_timeout",
    "hash_target",
    "iif",
    "limit_proportion",
    "nat_mask",
    "oif",
    "src-range",
    "syn_proxy",
    "vip_bind_dev",
];
/// DPVS: vrrp_instance keywords.
const DPVS_VRRP_INSTANCE_IGNORED: &[&str] = &["dpdk_interface"];

/// `top`: keywords rvs reads.
const TOP_USED: &[&str] = &[
    "global_defs",
    "virtual_server",
    "virtual_server_group",
    "vrrp_instance",
    "vrrp_script",
    "vrrp_sync_group",
];
/// `top`: keywords keepalived knows that rvs does not act on.
const TOP_IGNORED: &[&str] = &[
    "SSL",
    "bfd_instance",
    "child_wait_time",
    "garp_group",
    "instance",
    "interface_up_down_delays",
    "linkbeat_interfaces",
    "linkbeat_use_polling",
    "namespace_with_ipsets",
    "net_namespace",
    "net_namespace_ipvs",
    "static_ipaddress",
    "static_routes",
    "static_rules",
    "track_file",
    "track_group",
    "use_pid_dir",
    "vrrp_track_file",
    "vrrp_track_process",
];

/// `global_defs`: keywords rvs reads.
const GLOBAL_DEFS_USED: &[&str] = &[
    "enable_script_security",
    "lvs_timeouts",
    "router_id",
    "script_user",
    "vrrp_garp_master_delay",
    "vrrp_garp_master_refresh",
    "vrrp_garp_master_refresh_repeat",
    "vrrp_garp_master_repeat",
    "vrrp_version",
];
/// `global_defs`: keywords keepalived knows that rvs does not act on.
const GLOBAL_DEFS_IGNORED: &[&str] = &[
    // Documented in keepalived.conf(5) but compiled out of Debian's build (ipset support).
    "vrrp_ipsets",
    "bfd_cpu_affinity",
    "bfd_no_swap",
    "bfd_priority",
    "bfd_process_name",
    "bfd_rlimit_rtime",
    "bfd_rlimit_rttime",
    "bfd_rt_priority",
    "checker_cpu_affinity",
    "checker_log_all_failures",
    "checker_no_swap",
    "checker_priority",
    "checker_process_name",
    "checker_rlimit_rtime",
    "checker_rlimit_rttime",
    "checker_rt_priority",
    "config_save_dir",
    "data_use_instance",
    "dbus_service_name",
    "default_interface",
    "disable_local_igmp",
    "dynamic_interfaces",
    "enable_dbus",
    "enable_snmp_checker",
    "enable_snmp_keepalived",
    "enable_snmp_rfc",
    "enable_snmp_rfcv2",
    "enable_snmp_rfcv3",
    "enable_snmp_vrrp",
    "enable_traps",
    "fifo_write_vrrp_states_on_reload",
    "include_check",
    "log_unknown_vrids",
    "lvs_flush",
    "lvs_flush_on_stop",
    "lvs_flush_onstop",
    "lvs_netlink_cmd_rcv_bufs",
    "lvs_netlink_cmd_rcv_bufs_force",
    "lvs_netlink_monitor_rcv_bufs",
    "lvs_netlink_monitor_rcv_bufs_force",
    "lvs_notify_fifo",
    "lvs_notify_fifo_script",
    "lvs_process_name",
    "lvs_sync_daemon",
    "max_auto_priority",
    "min_auto_priority_delay",
    "nftables",
    "nftables_counters",
    "nftables_ifindex",
    "nftables_ipvs",
    "nftables_ipvs_priority",
    "nftables_ipvs_start_fwmark",
    "nftables_priority",
    "no_checker_emails",
    "no_email_faults",
    "notification_email",
    "notification_email_from",
    "notify_fifo",
    "notify_fifo_script",
    "process_monitor_rcv_bufs",
    "process_monitor_rcv_bufs_force",
    "process_name",
    "process_names",
    "random_seed",
    "reload_check_config",
    "reload_file",
    "reload_repeat",
    "reload_time_file",
    "rs_init_notifies",
    "shutdown_script",
    "shutdown_script_timeout",
    "smtp_alert",
    "smtp_alert_checker",
    "smtp_alert_vrrp",
    "smtp_connect_timeout",
    "smtp_helo_name",
    "smtp_server",
    "snmp_socket",
    "startup_script",
    "startup_script_timeout",
    "tmp_config_directory",
    "umask",
    "vmac_addr_prefix",
    "vmac_prefix",
    "vrrp_check_unicast_src",
    "vrrp_cpu_affinity",
    "vrrp_down_timer_adverts",
    "vrrp_garp_extra_if",
    "vrrp_garp_interval",
    "vrrp_garp_lower_prio_delay",
    "vrrp_garp_lower_prio_repeat",
    "vrrp_gna_interval",
    "vrrp_higher_prio_send_advert",
    "vrrp_iptables",
    "vrrp_lower_prio_no_advert",
    "vrrp_mcast_group4",
    "vrrp_mcast_group6",
    "vrrp_min_garp",
    "vrrp_netlink_cmd_rcv_bufs",
    "vrrp_netlink_cmd_rcv_bufs_force",
    "vrrp_netlink_monitor_rcv_bufs",
    "vrrp_netlink_monitor_rcv_bufs_force",
    "vrrp_no_swap",
    "vrrp_notify_fifo",
    "vrrp_notify_fifo_script",
    "vrrp_notify_priority_changes",
    "vrrp_priority",
    "vrrp_process_name",
    "vrrp_rlimit_rtime",
    "vrrp_rlimit_rttime",
    "vrrp_rt_priority",
    "vrrp_rx_bufs_multiplier",
    "vrrp_rx_bufs_policy",
    "vrrp_skip_check_adv_addr",
    "vrrp_startup_delay",
    "vrrp_strict",
    "vrrp_vmac_garp_intvl",
];

/// `vrrp_script`: keywords rvs reads.
const VRRP_SCRIPT_USED: &[&str] = &[
    "fall",
    "init_fail",
    "interval",
    "rise",
    "script",
    "timeout",
    "user",
    "weight",
];
/// `vrrp_script`: keywords keepalived knows that rvs does not act on.
const VRRP_SCRIPT_IGNORED: &[&str] = &[];

/// `vrrp_sync_group`: keywords rvs reads.
const VRRP_SYNC_GROUP_USED: &[&str] = &[
    "group",
    "notify",
    "notify_backup",
    "notify_fault",
    "notify_master",
    "track_interface",
    "track_script",
];
/// `vrrp_sync_group`: keywords keepalived knows that rvs does not act on.
const VRRP_SYNC_GROUP_IGNORED: &[&str] = &[
    "global_tracking",
    "notify_priority_changes",
    "notify_stop",
    "smtp_alert",
    "sync_group_tracking_weight",
    "track_bfd",
    "track_file",
    "track_process",
];

/// `vrrp_instance`: keywords rvs reads.
const VRRP_INSTANCE_USED: &[&str] = &[
    "advert_int",
    "authentication",
    "garp_master_delay",
    "garp_master_refresh",
    "garp_master_refresh_repeat",
    "garp_master_repeat",
    "interface",
    "mcast_src_ip",
    "nopreempt",
    "notify",
    "notify_backup",
    "notify_fault",
    "notify_master",
    "notify_stop",
    "preempt",
    "preempt_delay",
    "priority",
    "state",
    "track_interface",
    "track_script",
    "unicast_peer",
    "unicast_src_ip",
    "use_vmac",
    "version",
    "virtual_ipaddress",
    "virtual_ipaddress_excluded",
    "virtual_router_id",
];
/// `vrrp_instance`: keywords keepalived knows that rvs does not act on.
const VRRP_INSTANCE_IGNORED: &[&str] = &[
    "accept",
    "check_unicast_src",
    "debug",
    "dont_track_primary",
    "down_timer_adverts",
    "garp_extra_if",
    "garp_lower_prio_delay",
    "garp_lower_prio_repeat",
    "higher_prio_send_advert",
    "kernel_rx_buf_size",
    "linkbeat_use_polling",
    "lower_prio_no_advert",
    "lvs_sync_daemon_interface",
    "mcast_dst_ip",
    "native_ipv6",
    "no_accept",
    "notify_deleted",
    "notify_master_rx_lower_pri",
    "notify_priority_changes",
    "old_unicast_checksum",
    "promote_secondaries",
    "skip_check_adv_addr",
    "smtp_alert",
    "strict_mode",
    "track_bfd",
    "track_file",
    "track_process",
    "track_src_ip",
    "unicast_fault_no_peer",
    "unicast_ttl",
    "use_ipvlan",
    "use_vmac_addr",
    "virtual_routes",
    "virtual_rules",
    "vmac_xmit_base",
    "vrf",
];

/// `authentication`: keywords rvs reads.
const AUTHENTICATION_USED: &[&str] = &["auth_pass", "auth_type"];
/// `authentication`: keywords keepalived knows that rvs does not act on.
const AUTHENTICATION_IGNORED: &[&str] = &[];

/// `virtual_server`: keywords rvs reads.
const VIRTUAL_SERVER_USED: &[&str] = &[
    "alpha",
    "connect_timeout",
    "delay_before_retry",
    "delay_loop",
    "flag-1",
    "flag-2",
    "flag-3",
    "hysteresis",
    "inhibit_on_failure",
    "lb_algo",
    "lb_kind",
    "lvs_method",
    "lvs_sched",
    "mh-fallback",
    "mh-port",
    "omega",
    "ops",
    "persistence_granularity",
    "persistence_timeout",
    "protocol",
    "quorum",
    "quorum_down",
    "quorum_up",
    "real_server",
    "retry",
    "sh-fallback",
    "sh-port",
    "sorry_server",
    "sorry_server_inhibit",
    "sorry_server_lvs_method",
    "virtualhost",
    "warmup",
    "weight",
];
/// `virtual_server`: keywords keepalived knows that rvs does not act on.
const VIRTUAL_SERVER_IGNORED: &[&str] = &[
    "ha_suspend",
    "hashed",
    "ip_family",
    "persistence_engine",
    "smtp_alert",
    "snmp_name",
];

/// `real_server`: keywords rvs reads.
const REAL_SERVER_USED: &[&str] = &[
    "BFD_CHECK",
    "DNS_CHECK",
    "FILE_CHECK",
    "HTTP_GET",
    "MISC_CHECK",
    "PING_CHECK",
    "SMTP_CHECK",
    "SSL_GET",
    "TCP_CHECK",
    "UDP_CHECK",
    "alpha",
    "connect_timeout",
    "delay_before_retry",
    "delay_loop",
    "inhibit_on_failure",
    "lthreshold",
    "lvs_method",
    "notify_down",
    "notify_up",
    "retry",
    "uthreshold",
    "virtualhost",
    "warmup",
    "weight",
];
/// `real_server`: keywords keepalived knows that rvs does not act on.
const REAL_SERVER_IGNORED: &[&str] = &["smtp_alert", "snmp_name"];

/// `TCP_CHECK`: keywords rvs reads.
const TCP_CHECK_USED: &[&str] = &[
    "alpha",
    "bind_port",
    "bindto",
    "connect_ip",
    "connect_port",
    "connect_timeout",
    "delay_before_retry",
    "delay_loop",
    "retry",
    "warmup",
];
/// `TCP_CHECK`: keywords keepalived knows that rvs does not act on.
const TCP_CHECK_IGNORED: &[&str] = &["bind_if", "fwmark", "log_all_failures"];

/// `HTTP_GET`: keywords rvs reads.
const HTTP_GET_USED: &[&str] = &[
    "alpha",
    "bind_port",
    "bindto",
    "connect_ip",
    "connect_port",
    "connect_timeout",
    "delay_before_retry",
    "delay_loop",
    "enable_sni",
    "nb_get_retry",
    "retry",
    "url",
    "virtualhost",
    "warmup",
];
/// `HTTP_GET`: keywords keepalived knows that rvs does not act on.
const HTTP_GET_IGNORED: &[&str] = &[
    "bind_if",
    "fast_recovery",
    "fwmark",
    "http_protocol",
    "log_all_failures",
];

/// `SSL_GET`: keywords rvs reads.
const SSL_GET_USED: &[&str] = &[
    "alpha",
    "bind_port",
    "bindto",
    "connect_ip",
    "connect_port",
    "connect_timeout",
    "delay_before_retry",
    "delay_loop",
    "enable_sni",
    "nb_get_retry",
    "retry",
    "url",
    "virtualhost",
    "warmup",
];
/// `SSL_GET`: keywords keepalived knows that rvs does not act on.
const SSL_GET_IGNORED: &[&str] = &[
    "bind_if",
    "fast_recovery",
    "fwmark",
    "http_protocol",
    "log_all_failures",
];

/// `url`: keywords rvs reads.
const URL_USED: &[&str] = &["digest", "path", "status_code", "virtualhost"];
/// `url`: keywords keepalived knows that rvs does not act on.
const URL_IGNORED: &[&str] = &[
    "regex",
    "regex_max_offset",
    "regex_min_offset",
    "regex_no_match",
    "regex_options",
    "regex_stack",
];

/// `MISC_CHECK`: keywords rvs reads.
const MISC_CHECK_USED: &[&str] = &[
    "alpha",
    "delay_before_retry",
    "delay_loop",
    "misc_dynamic",
    "misc_path",
    "misc_timeout",
    "retry",
    "user",
    "warmup",
];
/// `MISC_CHECK`: keywords keepalived knows that rvs does not act on.
const MISC_CHECK_IGNORED: &[&str] = &["log_all_failures"];

/// `SMTP_CHECK`: keywords rvs reads.
const SMTP_CHECK_USED: &[&str] = &[
    "alpha",
    "bind_port",
    "bindto",
    "connect_ip",
    "connect_port",
    "connect_timeout",
    "delay_before_retry",
    "delay_loop",
    "helo_name",
    "host",
    "retry",
    "warmup",
];
/// `SMTP_CHECK`: keywords keepalived knows that rvs does not act on.
const SMTP_CHECK_IGNORED: &[&str] = &["bind_if", "fwmark", "log_all_failures"];

/// `host`: keywords rvs reads.
const SMTP_HOST_USED: &[&str] = &[
    "alpha",
    "bind_port",
    "bindto",
    "connect_ip",
    "connect_port",
    "connect_timeout",
    "delay_before_retry",
    "delay_loop",
    "retry",
    "warmup",
];
/// `host`: keywords keepalived knows that rvs does not act on.
const SMTP_HOST_IGNORED: &[&str] = &["bind_if", "fwmark", "log_all_failures"];

/// `DNS_CHECK`: keywords rvs reads.
const DNS_CHECK_USED: &[&str] = &[
    "alpha",
    "bind_port",
    "bindto",
    "connect_ip",
    "connect_port",
    "connect_timeout",
    "delay_before_retry",
    "delay_loop",
    "name",
    "retry",
    "type",
    "warmup",
];
/// `DNS_CHECK`: keywords keepalived knows that rvs does not act on.
const DNS_CHECK_IGNORED: &[&str] = &["bind_if", "fwmark", "log_all_failures"];

/// `UDP_CHECK`: keywords rvs reads.
const UDP_CHECK_USED: &[&str] = &[
    "alpha",
    "bind_port",
    "bindto",
    "connect_ip",
    "connect_port",
    "connect_timeout",
    "delay_before_retry",
    "delay_loop",
    "payload",
    "require_reply",
    "retry",
    "warmup",
];
/// `UDP_CHECK`: keywords keepalived knows that rvs does not act on.
const UDP_CHECK_IGNORED: &[&str] = &[
    "bind_if",
    "fwmark",
    "log_all_failures",
    "max_reply_length",
    "min_reply_length",
];

/// `vrrp_track_process`: keywords rvs reads.
const VRRP_TRACK_PROCESS_USED: &[&str] = &[];
/// `vrrp_track_process`: keywords keepalived knows that rvs does not act on.
const VRRP_TRACK_PROCESS_IGNORED: &[&str] = &[
    "delay",
    "fork_delay",
    "full_command",
    "param_match",
    "process",
    "quorum",
    "quorum_max",
    "terminate_delay",
    "weight",
];

/// `vrrp_track_file`: keywords rvs reads.
const TRACK_FILE_USED: &[&str] = &[];
/// `vrrp_track_file`: keywords keepalived knows that rvs does not act on.
const TRACK_FILE_IGNORED: &[&str] = &["file", "init_file", "weight"];

/// `bfd_instance`: keywords rvs reads.
const BFD_INSTANCE_USED: &[&str] = &[];
/// `bfd_instance`: keywords keepalived knows that rvs does not act on.
const BFD_INSTANCE_IGNORED: &[&str] = &[
    "checker",
    "hoplimit",
    "idle_tx",
    "max_hops",
    "min_rx",
    "min_tx",
    "multiplier",
    "neighbor_ip",
    "neighbour_ip",
    "passive",
    "source_ip",
    "ttl",
    "vrrp",
    "weight",
];

/// `SSL`: keywords rvs reads.
const SSL_USED: &[&str] = &[];
/// `SSL`: keywords keepalived knows that rvs does not act on.
const SSL_IGNORED: &[&str] = &["ca", "certificate", "key", "password"];

/// `garp_group`: keywords rvs reads.
const GARP_GROUP_USED: &[&str] = &[];
/// `garp_group`: keywords keepalived knows that rvs does not act on.
const GARP_GROUP_IGNORED: &[&str] = &["garp_interval", "gna_interval", "interface", "interfaces"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_keyword_is_both_used_and_ignored() {
        for b in Block::ALL {
            let (used, ignored, du, di) = b.tables();
            for k in used.iter().chain(du) {
                assert!(
                    !ignored.contains(k) && !di.contains(k),
                    "{k} in {}",
                    b.name()
                );
            }
        }
    }

    #[test]
    fn classification() {
        assert_eq!(Block::VirtualServer.classify("lb_algo"), Keyword::Used);
        assert_eq!(
            Block::VirtualServer.classify("ha_suspend"),
            Keyword::Ignored
        );
        assert_eq!(
            Block::VirtualServer.classify("syn_proxy"),
            Keyword::DpvsIgnored
        );
        assert_eq!(Block::VirtualServer.classify("1b_algo"), Keyword::Unknown);
        assert_eq!(Block::TcpCheck.classify("nb_get_retry"), Keyword::Unknown);
        assert_eq!(Block::HttpGet.classify("nb_get_retry"), Keyword::Used);
        assert_eq!(
            Block::GlobalDefs.classify("notification_email"),
            Keyword::Ignored
        );
        assert!(Block::Top.all().any(|k| k == "local_address_group"));
        assert_eq!(
            Block::TcpCheck.elsewhere("nb_get_retry"),
            vec!["HTTP_GET", "SSL_GET"]
        );
        assert_eq!(
            Block::RealServer.elsewhere("persistence_timeout"),
            vec!["virtual_server"]
        );
    }
}
