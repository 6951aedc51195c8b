//! Name resolution and TCP connection, shared by every network check: every resolved address is
//! tried in turn within the deadline, a refusal moves on at once. And Unix socket connection,
//! for `unix://` and `http+unix://`.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, ToSocketAddrs};
use std::os::unix::net::UnixStream;
use std::sync::mpsc;
use std::time::Duration;

use crate::deadline::Deadline;
use crate::error::{Error, ErrorKind, Phase};

/// Which address families a check may use (`-4`, `-6`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum IpFamily {
    /// IPv4 and IPv6, in the order the resolver gives them.
    #[default]
    Any,
    /// Only IPv4.
    V4,
    /// Only IPv6.
    V6,
}

impl IpFamily {
    fn allows(self, addr: &SocketAddr) -> bool {
        match self {
            IpFamily::Any => true,
            IpFamily::V4 => addr.is_ipv4(),
            IpFamily::V6 => addr.is_ipv6(),
        }
    }
}

/// Resolves `host` to the addresses a check tries, in order.
///
/// IP literals and `localhost` are answered without a lookup: `FROM scratch` images have no
/// `/etc/hosts`, and RFC 6761 reserves `localhost` for loopback. Other names are looked up by
/// `getaddrinfo` on a helper thread, because getaddrinfo has no timeout of its own; the check
/// stops waiting for it at the deadline.
pub(crate) fn resolve(
    host: &str,
    port: u16,
    family: IpFamily,
    deadline: &Deadline,
) -> Result<Vec<SocketAddr>, Error> {
    let found: Vec<SocketAddr> = if let Ok(ip) = host.parse::<IpAddr>() {
        vec![SocketAddr::new(ip, port)]
    } else if host.eq_ignore_ascii_case("localhost")
        || host.to_ascii_lowercase().ends_with(".localhost")
    {
        vec![
            SocketAddr::new(Ipv4Addr::LOCALHOST.into(), port),
            SocketAddr::new(Ipv6Addr::LOCALHOST.into(), port),
        ]
    } else {
        lookup(host, port, deadline)?
    };
    let wanted: Vec<SocketAddr> = found.into_iter().filter(|a| family.allows(a)).collect();
    if wanted.is_empty() {
        let which = match family {
            IpFamily::V4 => "no IPv4 address",
            IpFamily::V6 => "no IPv6 address",
            IpFamily::Any => "no address",
        };
        return Err(Error::new(
            ErrorKind::Resolve,
            format!("{host} has {which}"),
        ));
    }
    Ok(wanted)
}

fn lookup(host: &str, port: u16, deadline: &Deadline) -> Result<Vec<SocketAddr>, Error> {
    let left = deadline.enter(Phase::Resolve)?;
    let name = format!("{host}:{port}");
    let found = within(left, move || {
        name.to_socket_addrs().map(Iterator::collect::<Vec<_>>)
    })
    .map_err(|e| {
        Error::new(
            ErrorKind::Resolve,
            format!("could not start the resolver: {e}"),
        )
    })?;
    match found {
        Some(Ok(addrs)) => Ok(addrs),
        Some(Err(e)) => Err(Error::new(
            ErrorKind::Resolve,
            format!("could not resolve {host}: {}", io_reason(&e)),
        )),
        None => Err(deadline.expired()),
    }
}

/// Runs a blocking call that has no timeout of its own on a helper thread, and waits for it at
/// most `left`: `Ok(None)` when it did not finish in time, `Err` when no thread could start.
/// The thread is left behind if the call outlives the wait; the process exits soon after, and
/// a library caller loses one parked thread rather than its deadline.
fn within<T: Send + 'static>(
    left: Duration,
    call: impl FnOnce() -> T + Send + 'static,
) -> io::Result<Option<T>> {
    let (tx, rx) = mpsc::sync_channel(1);
    std::thread::Builder::new()
        .stack_size(64 * 1024)
        .spawn(move || {
            let _ = tx.send(call());
        })?;
    Ok(rx.recv_timeout(left).ok())
}

/// Connects to the first address that accepts. Each address but the last gets half the time
/// left, so one black-holed address cannot eat the whole deadline.
pub(crate) fn connect(
    addrs: &[SocketAddr],
    deadline: &Deadline,
) -> Result<(TcpStream, SocketAddr), Error> {
    let mut last: Option<Error> = None;
    for (i, addr) in addrs.iter().enumerate() {
        let left = match deadline.enter(Phase::Connect) {
            Ok(left) => left,
            Err(e) => return Err(last.unwrap_or(e)),
        };
        let per_addr = address_share(left, i + 1 == addrs.len());
        match TcpStream::connect_timeout(addr, per_addr) {
            Ok(stream) => {
                let _ = stream.set_nodelay(true);
                return Ok((stream, *addr));
            }
            Err(e) if crate::deadline::is_timeout(&e) => {
                last = Some(deadline.expired().append(format!(" ({addr})")));
            }
            Err(e) => {
                last = Some(Error::new(
                    ErrorKind::Connect,
                    format!("{} ({addr})", io_reason(&e)),
                ));
            }
        }
    }
    Err(last.unwrap_or_else(|| Error::new(ErrorKind::Connect, "no address to connect to")))
}

/// The time one of several addresses gets: all that is `left` for the last, half of it for
/// the others, so that one black-holed address cannot eat the whole deadline. Inlined: the
/// TCP connect of a plain HTTP check stays as it was (scripts/hot-symbols.sh lists its code).
#[inline(always)]
pub(crate) fn address_share(left: Duration, last: bool) -> Duration {
    if last {
        left
    } else {
        (left / 2).max(Duration::from_millis(10)).min(left)
    }
}

/// A UDP socket on a port the kernel picks (Linux picks ephemeral ports at random), of
/// `peer`'s family, connected to `peer`: only `peer`'s datagrams arrive, and an ICMP
/// "port unreachable" comes back as `ConnectionRefused` from the next receive.
#[cfg(feature = "db")]
pub(crate) fn udp_to(peer: SocketAddr) -> io::Result<std::net::UdpSocket> {
    let local: SocketAddr = if peer.is_ipv4() {
        (Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let socket = std::net::UdpSocket::bind(local)?;
    socket.connect(peer)?;
    Ok(socket)
}

/// Connects to a Unix socket within the deadline. A blocking connect to a listener whose
/// backlog is full waits for room, and std has no connect timeout for Unix sockets, so the
/// connect runs on a helper thread that the check stops waiting for at the deadline.
pub(crate) fn connect_unix(path: &str, deadline: &Deadline) -> Result<UnixStream, Error> {
    let left = deadline.enter(Phase::Connect)?;
    let owned = path.to_string();
    let connected = within(left, move || UnixStream::connect(owned))
        .map_err(|e| Error::new(ErrorKind::Connect, format!("cannot connect: {e}")))?;
    match connected {
        Some(Ok(stream)) => Ok(stream),
        Some(Err(e)) => {
            let why = match e.kind() {
                io::ErrorKind::NotFound => "no such socket".to_string(),
                _ => io_reason(&e),
            };
            Err(Error::new(ErrorKind::Connect, format!("{why} ({path})")))
        }
        None => Err(deadline.expired().append(format!(" ({path})"))),
    }
}

/// Resolves `host` and connects to the first of its addresses that accepts, within the
/// deadline: what every TCP check starts with.
pub(crate) fn connect_host(
    host: &str,
    port: u16,
    family: IpFamily,
    deadline: &Deadline,
) -> Result<(TcpStream, SocketAddr), Error> {
    connect(&resolve(host, port, family, deadline)?, deadline)
}

/// A host as written in a URL authority: an IPv6 literal in brackets (`[::1]`).
pub(crate) fn bracketed(host: &str) -> std::borrow::Cow<'_, str> {
    if host.contains(':') {
        format!("[{host}]").into()
    } else {
        host.into()
    }
}

/// `host:port`, with an IPv6 literal in brackets (`[::1]:80`).
pub(crate) fn host_port(host: &str, port: u16) -> String {
    format!("{}:{port}", bracketed(host))
}

/// An I/O error as a short lowercase reason: `connection refused`, not
/// `Connection refused (os error 111)`.
pub(crate) fn io_reason(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => "connection refused".into(),
        io::ErrorKind::ConnectionReset => "connection reset by peer".into(),
        io::ErrorKind::ConnectionAborted => "connection aborted".into(),
        io::ErrorKind::HostUnreachable => "host unreachable".into(),
        io::ErrorKind::NetworkUnreachable => "network unreachable".into(),
        io::ErrorKind::AddrNotAvailable => "address not available".into(),
        io::ErrorKind::NotFound => "not found".into(),
        io::ErrorKind::PermissionDenied => "permission denied".into(),
        io::ErrorKind::UnexpectedEof => "connection closed early".into(),
        io::ErrorKind::BrokenPipe => "connection closed by peer".into(),
        _ => {
            let text = e.to_string();
            let text = match text.find(" (os error") {
                Some(i) => &text[..i],
                None => &text,
            };
            let mut chars = text.chars();
            match chars.next() {
                Some(c) => c.to_lowercase().chain(chars).collect(),
                None => "i/o error".into(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deadline() -> Deadline {
        Deadline::after(Duration::from_secs(2))
    }

    #[test]
    fn ip_literal_needs_no_lookup() {
        let a = resolve("127.0.0.1", 80, IpFamily::Any, &deadline()).unwrap();
        assert_eq!(a, vec!["127.0.0.1:80".parse().unwrap()]);
    }

    #[test]
    fn localhost_is_both_loopbacks() {
        let a = resolve("localhost", 80, IpFamily::Any, &deadline()).unwrap();
        assert_eq!(a.len(), 2);
        let v6 = resolve("LOCALHOST", 80, IpFamily::V6, &deadline()).unwrap();
        assert_eq!(v6, vec!["[::1]:80".parse().unwrap()]);
    }

    #[test]
    fn family_filter_can_leave_nothing() {
        let e = resolve("::1", 80, IpFamily::V4, &deadline()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Resolve);
        assert!(e.to_string().contains("no IPv4 address"));
    }

    #[test]
    fn refused_names_address() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let e = connect(&[addr], &deadline()).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("connection refused (127.0.0.1:{port})")
        );
    }

    #[test]
    fn refusal_moves_on_to_next_address() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let good = listener.local_addr().unwrap();
        let dead = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap()
        };
        let (_, used) = connect(&[dead, good], &deadline()).unwrap();
        assert_eq!(used, good);
    }

    #[test]
    fn io_reason_is_short_and_lowercase() {
        let e = io::Error::from(io::ErrorKind::ConnectionRefused);
        assert_eq!(io_reason(&e), "connection refused");
        let e = io::Error::other("Weird Thing");
        assert_eq!(io_reason(&e), "weird Thing");
    }
}
