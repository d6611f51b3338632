//! Forwarding methods: the words after `lb_kind` / `lvs_method` /
//! `sorry_server_lvs_method` (`NAT`, `DR`, `TUN [type ipip|gue port N|gre] [csum ...]`,
//! DPVS's `FNAT`).

use super::Builder;
use crate::config::keepalived::tree::Node;
use crate::config::keepalived::values;
use crate::config::suggest::suggest;
use crate::config::{Forward, TunnelCsum, TunnelType};

/// A forwarding method with its tunnel parameters (`lvs_method TUN type gue port 6080 csum`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Method {
    pub forward: Forward,
    pub tunnel: TunnelType,
    pub tunnel_port: u16,
    pub csum: TunnelCsum,
}

impl Builder<'_> {
    /// `NAT|DR|TUN [type ipip|gue port N|gre] [nocsum|csum|remcsum]|FNAT`.
    pub(super) fn method(&mut self, st: &Node) -> Option<Method> {
        self.no_block(st);
        let words: Vec<&str> = st.args().iter().map(|w| w.text.as_str()).collect();
        match parse_method(&words) {
            Ok(m) => Some(m),
            Err((msg, hint)) => {
                self.diag.error_suggest(
                    &st.at,
                    format!("{}: {msg}", st.keyword()),
                    hint.as_deref(),
                );
                None
            }
        }
    }
}

/// Parses the words after `lb_kind` / `lvs_method`.
fn parse_method(words: &[&str]) -> Result<Method, (String, Option<String>)> {
    let mut m = Method {
        forward: Forward::Nat,
        tunnel: TunnelType::Ipip,
        tunnel_port: 0,
        csum: TunnelCsum::NoCsum,
    };
    let Some((kind, rest)) = words.split_first() else {
        return Err(("needs NAT, DR, TUN or FNAT".into(), None));
    };
    m.forward = match *kind {
        "NAT" => Forward::Nat,
        "DR" => Forward::Dr,
        "TUN" => Forward::Tun,
        "FNAT" => Forward::FullNat,
        "SNAT" => {
            return Err((
                "SNAT (DPVS's source NAT) is not supported by rvs".into(),
                None,
            ));
        }
        other => {
            let hint = suggest(other, ["NAT", "DR", "TUN", "FNAT"]).map(str::to_string);
            return Err((
                format!("unknown forwarding method \"{other}\" (NAT, DR, TUN or FNAT)"),
                hint,
            ));
        }
    };
    if m.forward != Forward::Tun {
        if let Some(extra) = rest.first() {
            return Err((
                format!("\"{extra}\" after {kind}: only TUN takes further words"),
                None,
            ));
        }
        return Ok(m);
    }
    let mut i = 0;
    while let Some(word) = rest.get(i) {
        match *word {
            "type" => {
                let t = rest.get(i + 1).copied().unwrap_or_default();
                m.tunnel = match t {
                    "ipip" => TunnelType::Ipip,
                    "gue" => TunnelType::Gue,
                    "gre" => TunnelType::Gre,
                    other => {
                        let hint = suggest(other, ["ipip", "gue", "gre"]).map(str::to_string);
                        return Err((
                            format!("unknown tunnel type \"{other}\" (ipip, gue or gre)"),
                            hint,
                        ));
                    }
                };
                i += 2;
                if m.tunnel == TunnelType::Gue {
                    if rest.get(i) != Some(&"port") {
                        return Err(("a GUE tunnel needs `port N`".into(), None));
                    }
                    let p = rest.get(i + 1).copied().unwrap_or_default();
                    m.tunnel_port = values::u16_in(p, 1, 65535)
                        .map_err(|e| (format!("GUE port: {e}"), None))?;
                    i += 2;
                }
            }
            "nocsum" => {
                m.csum = TunnelCsum::NoCsum;
                i += 1;
            }
            "csum" => {
                m.csum = TunnelCsum::Csum;
                i += 1;
            }
            "remcsum" => {
                if m.tunnel != TunnelType::Gue {
                    return Err(("remcsum applies to GUE tunnels only".into(), None));
                }
                m.csum = TunnelCsum::RemCsum;
                i += 1;
            }
            other => {
                // ipvsadm says --tun-type; keepalived says `type`.
                let hint = if other == "tun_type" {
                    Some("type".to_string())
                } else {
                    suggest(other, ["type", "nocsum", "csum", "remcsum"]).map(str::to_string)
                };
                return Err((format!("unexpected \"{other}\" after TUN"), hint));
            }
        }
    }
    if m.tunnel == TunnelType::Ipip && m.csum != TunnelCsum::NoCsum {
        return Err((
            "checksum options apply to GUE and GRE tunnels only".into(),
            None,
        ));
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods() {
        assert_eq!(parse_method(&["DR"]).unwrap().forward, Forward::Dr);
        assert_eq!(parse_method(&["FNAT"]).unwrap().forward, Forward::FullNat);
        let m = parse_method(&["TUN", "type", "gue", "port", "6080", "csum"]).unwrap();
        assert_eq!(
            (m.forward, m.tunnel, m.tunnel_port, m.csum),
            (Forward::Tun, TunnelType::Gue, 6080, TunnelCsum::Csum)
        );
        assert_eq!(
            parse_method(&["TUN", "type", "gre"]).unwrap().tunnel,
            TunnelType::Gre
        );
        assert!(parse_method(&["TUN", "type", "gue"]).is_err());
        assert!(parse_method(&["TUN", "type", "gre", "remcsum"]).is_err());
        assert!(parse_method(&["DR", "x"]).is_err());
        let (_, hint) = parse_method(&["TUN", "tun_type", "gue"]).unwrap_err();
        assert_eq!(hint.as_deref(), Some("type"));
        let (msg, hint) = parse_method(&["dr"]).unwrap_err();
        assert!(msg.contains("unknown forwarding method"));
        assert_eq!(hint.as_deref(), Some("DR"));
    }
}
