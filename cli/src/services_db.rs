//! The services database (`/etc/services`): port numbers and names per protocol.
//!
//! ipvsadm prints `:http` instead of `:80` through `getservbyport`, whose "files" backend
//! returns the first line of /etc/services with that port and protocol. Reading the file
//! directly gives the same answers without `unsafe` FFI, and lets tests point at a checked-in
//! copy. The format is four fields at most: `name port/protocol aliases... # comment`.

use std::path::Path;

use proto::Protocol;

/// Default location of the services database.
pub const DEFAULT_PATH: &str = "/etc/services";

#[derive(Debug, Clone)]
struct Entry {
    names: Vec<String>,
    port: u16,
    protocol: String,
}

/// The parsed database, in file order (the first match wins, as with glibc).
#[derive(Debug, Clone, Default)]
pub struct ServicesDb {
    entries: Vec<Entry>,
}

fn protocol_name(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::Tcp => "tcp",
        Protocol::Udp => "udp",
    }
}

impl ServicesDb {
    /// Reads `path`; a missing or unreadable file is an empty database (ports then print as
    /// numbers, which is what ipvsadm does without one).
    pub fn load(path: &Path) -> ServicesDb {
        std::fs::read_to_string(path)
            .map(|text| ServicesDb::parse(&text))
            .unwrap_or_default()
    }

    /// Parses the text of a services file; malformed lines are skipped, as glibc skips them.
    pub fn parse(text: &str) -> ServicesDb {
        let entries = text
            .lines()
            .filter_map(|line| {
                let line = line.split('#').next().unwrap_or("");
                let mut fields = line.split_whitespace();
                let name = fields.next()?;
                let (port, protocol) = fields.next()?.split_once('/')?;
                let port: u16 = port.parse().ok()?;
                let mut names = vec![name.to_string()];
                names.extend(fields.map(str::to_string));
                Some(Entry {
                    names,
                    port,
                    protocol: protocol.to_string(),
                })
            })
            .collect();
        ServicesDb { entries }
    }

    /// The official name of `port` for `protocol` (`getservbyport`).
    pub fn name_of(&self, port: u16, protocol: Protocol) -> Option<&str> {
        let proto = protocol_name(protocol);
        self.entries
            .iter()
            .find(|e| e.port == port && e.protocol == proto)
            .and_then(|e| e.names.first())
            .map(String::as_str)
    }

    /// The port of a service name or alias for `protocol` (`getservbyname`).
    pub fn port_of(&self, name: &str, protocol: Protocol) -> Option<u16> {
        let proto = protocol_name(protocol);
        self.entries
            .iter()
            .find(|e| e.protocol == proto && e.names.iter().any(|n| n == name))
            .map(|e| e.port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
# Network services
tcpmux\t\t1/tcp\t\t\t\t# TCP port service multiplexer
http\t\t80/tcp\t\twww\t\t# WorldWideWeb HTTP
domain\t\t53/tcp\t\t\t\t# Name-domain server
domain\t\t53/udp
webcache\t8080/tcp
http-alt\t8080/tcp
broken line
bad\t\tx/tcp
";

    #[test]
    fn first_entry_wins_per_protocol() {
        let db = ServicesDb::parse(SAMPLE);
        assert_eq!(db.name_of(80, Protocol::Tcp), Some("http"));
        assert_eq!(db.name_of(80, Protocol::Udp), None);
        assert_eq!(db.name_of(53, Protocol::Udp), Some("domain"));
        assert_eq!(db.name_of(8080, Protocol::Tcp), Some("webcache"));
        assert_eq!(db.port_of("www", Protocol::Tcp), Some(80));
        assert_eq!(db.port_of("http-alt", Protocol::Tcp), Some(8080));
        assert_eq!(db.port_of("http", Protocol::Udp), None);
        assert_eq!(db.port_of("bad", Protocol::Tcp), None);
    }

    #[test]
    fn a_missing_file_is_an_empty_database() {
        let db = ServicesDb::load(Path::new("/nonexistent/services"));
        assert_eq!(db.name_of(80, Protocol::Tcp), None);
    }
}
