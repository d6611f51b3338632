//! `-h` and `-v`: ipvsadm's usage text (same commands, same layout), with what rvs adds
//! and without what it lacks (SCTP, persistence engines, sync daemons are accepted for
//! compatibility and refused).

/// The version line.
pub fn version() -> String {
    format!(
        "rvsadm v{} (ipvsadm v1.31 compatible, rvs control protocol v{})\n",
        env!("CARGO_PKG_VERSION"),
        proto::PROTOCOL_VERSION
    )
}

/// The usage text for program name `p`.
pub fn usage(p: &str) -> String {
    let mut s = version();
    s.push_str(&format!(
        "Usage:
  {p} -A|E virtual-service [-s scheduler] [-p [timeout]] [-M netmask] [-b sched-flags] [--client-addr toa|proxy-v2|none]
  {p} -D virtual-service
  {p} -C
  {p} -R
  {p} -S [-n]
  {p} -a|e virtual-service -r server-address [options]
  {p} -d virtual-service -r server-address
  {p} -L|l [virtual-service] [options]
  {p} -Z [virtual-service]
  {p} --set tcp tcpfin udp
  {p} -P|Q virtual-service -z local-address
  {p} -G [virtual-service] [-n]
  {p} --add-addr|--del-addr port address/prefix
  {p} --add-route|--del-route prefix/length port [gateway]
  {p} --add-neigh port address mac
  {p} --del-neigh port address [mac]
  {p} --list-addrs|--list-routes|--list-neighs|--list-checkers|--list-vrrp|--list-counters
  {p} -h

Commands:
Either long or short options are allowed.
  --add-service     -A        add virtual service with options
  --edit-service    -E        edit virtual service with options
  --delete-service  -D        delete virtual service
  --clear           -C        clear the whole table
  --restore         -R        restore rules from stdin (all or nothing)
  --save            -S        save rules to stdout
  --add-server      -a        add real server with options
  --edit-server     -e        edit real server with options
  --delete-server   -d        delete real server
  --list            -L|-l     list the table
  --zero            -Z        zero counters in a service or all services
  --set tcp tcpfin udp        set connection timeout values
  --add-laddr       -P        add a FULLNAT local address to a service
  --del-laddr       -Q        remove a FULLNAT local address from a service
  --get-laddr       -G        list FULLNAT local addresses
  --add-addr, --del-addr      add or remove an address of the director
  --add-route, --del-route    add or remove a static route
  --add-neigh, --del-neigh    add or remove a static neighbour
  --list-addrs                list the director's addresses
  --list-routes               list the routes
  --list-neighs               list the neighbour table
  --list-checkers             list health checker results
  --list-vrrp                 list VRRP instances
  --list-counters             list drop and port counters
  --help            -h        display this help message

virtual-service:
  --tcp-service|-t  service-address   service-address is host[:port]
  --udp-service|-u  service-address   service-address is host[:port]

Options:
  --scheduler    -s scheduler         one of rr|wrr|lc|wlc|lblc|lblcr|dh|sh|sed|nq|fo|ovf|mh,
                                      the default scheduler is wlc.
  --persistent   -p [timeout]         persistent service (default timeout 360)
  --netmask      -M netmask           persistent granularity mask (dotted or prefix length)
  --real-server  -r server-address    server-address is host (and port)
  --gatewaying   -g                   gatewaying (direct routing) (default)
  --ipip         -i                   ipip encapsulation (tunneling)
  --masquerading -m                   masquerading (NAT)
  --fullnat                           full NAT (DNAT + SNAT to a local address)
  --client-addr  mode                 how FULLNAT real servers learn the client address:
                                      toa (default), proxy-v2 or none
  --laddr        -z local-address     FULLNAT local address
  --tun-type      type                one of ipip|gue|gre,
                                      the default tunnel type is ipip.
  --tun-port      port                tunnel destination port
  --tun-nocsum                        tunnel encapsulation without checksum
  --tun-csum                          tunnel encapsulation with checksum
  --tun-remcsum                       tunnel encapsulation with remote checksum
  --weight       -w weight            capacity of real server
  --u-threshold  -x uthreshold        upper threshold of connections
  --l-threshold  -y lthreshold        lower threshold of connections
  --connection   -c                   output of current IPVS connections
  --timeout                           output of timeout (tcp tcpfin udp)
  --stats                             output of statistics information
  --rate                              output of rate information
  --exact                             expand numbers (display exact values)
  --thresholds                        output of thresholds information
  --persistent-conn                   output of persistent connection info
  --tun-info                          output of tunnel information
  --nosort                            disable sorting output of service/server entries
  --sort                              does nothing, for backwards compatibility
  --ops          -o                   one-packet scheduling
  --numeric      -n                   numeric output of addresses and ports
  --sched-flags  -b flags             scheduler flags (comma-separated)
  --socket       path                 control socket of rvsd (default {socket},
                                      or $RVS_SOCKET)
",
        socket = proto::DEFAULT_SOCKET
    ));
    s
}
