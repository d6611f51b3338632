//! Human-readable summaries printed when a run or replay ends.
use dataplane::stats::CounterValues;
use dpdk_sys::PortStats;

/// `aa:bb:cc:dd:ee:ff`.
pub fn mac_string(mac: &[u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// The workers' counters as `name value` lines (zero drops omitted).
pub fn counters(total: &CounterValues) -> String {
    let mut s = String::new();
    for (name, value) in total.lines() {
        s.push_str(&format!("{name} {value}\n"));
    }
    s
}

/// One port's DPDK counters as `port.<name>.<counter> value` lines.
pub fn port_stats(name: &str, st: &PortStats) -> String {
    format!(
        "port.{name}.ipackets {}\nport.{name}.opackets {}\nport.{name}.ierrors {}\nport.{name}.imissed {}\nport.{name}.rx_nombuf {}\n",
        st.ipackets, st.opackets, st.ierrors, st.imissed, st.rx_nombuf
    )
}
