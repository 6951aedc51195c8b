//! Hostile peers for the line-based dependency kinds (nats://, zookeeper://, smtp://): a peer that goes silent, speaks
//! garbage, sends an endless or oversized line or splits its reply byte by byte must never
//! make the check hang, crash or lie. Every run is held by [`support::hostile`] to exit 0/1,
//! an end by `--timeout` and the peak RSS bound, as in `hostile_db`; each prints
//! `HOSTILE <case> ...` on stderr.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::support::Server;
use crate::support::hostile::{self, Run, drip, flood, hold};

/// For peers that stall: each check must end by its 1 s deadline.
const SLOW: Duration = Duration::from_secs(1);
/// For peers the probe should see through at once.
const FAST: Duration = Duration::from_secs(5);
/// "At once": far below [`FAST`].
const QUICK: Duration = Duration::from_millis(2000);

/// A kind: what its server says on accept, and its answer to the client's request.
struct Kind {
    scheme: &'static str,
    /// Sent at once on accept (NATS's INFO); empty when the client speaks first.
    greeting: &'static [u8],
    /// The answer to the client's request.
    reply: &'static [u8],
    /// Valid lines without end, after the request: the probe stops at a bound.
    endless: &'static [u8],
}

const NATS_INFO: &[u8] = b"INFO {\"server_id\":\"NB\",\"version\":\"2.9.10\",\"proto\":1,\"headers\":true,\"max_payload\":1048576} \r\n";

const ZK_SRVR: &[u8] = b"Zookeeper version: 3.8.0-x, built on 2024-12-29 17:54 UTC\nLatency min/avg/max: 0/0.0/0\nReceived: 1\nSent: 0\nConnections: 1\nOutstanding: 0\nZxid: 0x0\nMode: standalone\nNode count: 5\n";

fn kinds() -> Vec<Kind> {
    vec![
        Kind {
            scheme: "nats",
            greeting: NATS_INFO,
            reply: b"PONG\r\n",
            endless: b"+OK\r\n",
        },
        Kind {
            scheme: "zookeeper",
            greeting: b"",
            reply: ZK_SRVR,
            endless: b"Received: 1\n",
        },
        Kind {
            scheme: "smtp",
            greeting: b"220 peer ESMTP\r\n",
            reply: b"250-peer\r\n250-PIPELINING\r\n250 8BITMIME\r\n",
            endless: b"250-x\r\n",
        },
    ]
}

impl Kind {
    /// What the server sends first: its greeting, or (when the client speaks first) its reply.
    fn first(&self) -> &'static [u8] {
        if self.greeting.is_empty() {
            self.reply
        } else {
            self.greeting
        }
    }
}

fn read_some(s: &mut TcpStream) -> bool {
    let mut buf = [0u8; 1024];
    matches!(s.read(&mut buf), Ok(n) if n > 0)
}

fn target(kind: &Kind, srv: &Server) -> String {
    format!("{}://127.0.0.1:{}", kind.scheme, srv.port())
}

fn probe(case: &str, timeout: Duration, target: &str) -> Run {
    hostile::probe(case, timeout, |cmd| cmd.arg(target))
}

/// A peer that greets (if its kind does), then runs `then`; `after_request`: only once the
/// client has written.
fn peer(
    kind: &Kind,
    after_request: bool,
    then: impl Fn(TcpStream) + Send + Sync + 'static,
) -> Server {
    let greeting = kind.greeting;
    let speaks_first = !greeting.is_empty();
    Server::raw(move |mut s| {
        if speaks_first && s.write_all(greeting).is_err() {
            return;
        }
        if (after_request || !speaks_first) && !read_some(&mut s) {
            return;
        }
        then(s);
    })
}

#[test]
fn silent_after_accept() {
    for kind in kinds() {
        let srv = Server::silent();
        let t = target(&kind, &srv);
        let run = probe(&format!("{}_silent", kind.scheme), SLOW, &t);
        let line = run.unhealthy_line(&t);
        run.reason_names(&line, &["timed out"]);
    }
}

#[test]
fn silent_after_the_request() {
    for kind in kinds() {
        let srv = peer(&kind, true, hold);
        let t = target(&kind, &srv);
        let run = probe(&format!("{}_silent_after_request", kind.scheme), SLOW, &t);
        let line = run.unhealthy_line(&t);
        run.reason_names(&line, &["timed out"]);
    }
}

#[test]
fn garbage() {
    for kind in kinds() {
        let srv = Server::raw(|mut s| {
            let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
            hold(s);
        });
        let t = target(&kind, &srv);
        let run = probe(&format!("{}_garbage", kind.scheme), FAST, &t);
        run.within(QUICK);
        run.unhealthy_line(&t);
        // Binary garbage after a valid greeting, then a close.
        let srv = peer(&kind, true, |mut s| {
            let bytes: Vec<u8> = (0..=255u8).rev().cycle().take(3000).collect();
            let _ = s.write_all(&bytes);
        });
        let t = target(&kind, &srv);
        let run = probe(&format!("{}_binary_garbage", kind.scheme), FAST, &t);
        run.within(QUICK);
        run.unhealthy_line(&t);
    }
}

/// A line that never ends, and one that ends past the bound: refused at the bound, at once.
#[test]
fn endless_and_oversized_lines() {
    for kind in kinds() {
        let srv = Server::raw(|s| flood(s, &[b'I'; 4096]));
        let t = target(&kind, &srv);
        let run = probe(&format!("{}_endless_line", kind.scheme), FAST, &t);
        run.within(QUICK);
        let line = run.unhealthy_line(&t);
        run.reason_names(&line, &["longer than"]);

        let srv = Server::raw(|mut s| {
            let mut big = b"INFO {\"server_id\":\"".to_vec();
            big.extend(std::iter::repeat_n(b'x', 20_000));
            big.extend_from_slice(b"\"}\r\n");
            let _ = s.write_all(&big);
            hold(s);
        });
        let t = target(&kind, &srv);
        let run = probe(&format!("{}_oversized_line", kind.scheme), FAST, &t);
        run.within(QUICK);
        let line = run.unhealthy_line(&t);
        run.reason_names(&line, &["longer than"]);

        // Endless valid lines after the request: the probe stops at its bound.
        let endless = kind.endless;
        let srv = peer(&kind, true, move |mut s| {
            if s.write_all(&kind_head(endless)).is_ok() {
                flood(s, endless);
            }
        });
        let t = target(&kind, &srv);
        let run = probe(&format!("{}_endless_lines", kind.scheme), FAST, &t);
        run.within(QUICK);
        run.unhealthy_line(&t);
    }
}

/// What comes before endless lines: ZooKeeper's reply opens with its version line.
fn kind_head(endless: &[u8]) -> Vec<u8> {
    if endless.ends_with(b"\r\n") {
        Vec::new()
    } else {
        ZK_SRVR[..ZK_SRVR.iter().position(|&b| b == b'\n').unwrap_or(0) + 1].to_vec()
    }
}

/// A valid exchange split byte by byte (a write every 2 ms) is put back together: healthy.
#[test]
fn healthy_reply_split_byte_by_byte() {
    for kind in kinds() {
        let greeting = kind.greeting;
        let reply = kind.reply;
        let srv = Server::raw(move |mut s| {
            drip(&s, greeting, Duration::from_millis(2));
            if read_some(&mut s) {
                drip(&s, reply, Duration::from_millis(2));
            }
            hold(s);
        });
        let t = target(&kind, &srv);
        let run = probe(&format!("{}_split_byte_by_byte", kind.scheme), FAST, &t);
        run.healthy_line(&t);
    }
}

/// The first answer dripped a byte every 300 ms cannot arrive in time: unhealthy by the
/// deadline.
#[test]
fn reply_dripped_past_the_deadline() {
    for kind in kinds() {
        let first = kind.first();
        let client_first = kind.greeting.is_empty();
        let srv = Server::raw(move |mut s| {
            if client_first && !read_some(&mut s) {
                return;
            }
            drip(&s, first, Duration::from_millis(300));
            hold(s);
        });
        let t = target(&kind, &srv);
        let run = probe(&format!("{}_dripped_past_deadline", kind.scheme), SLOW, &t);
        let line = run.unhealthy_line(&t);
        run.reason_names(&line, &["timed out"]);
    }
}

/// NATS: a TLS-requiring INFO followed by plain text (no handshake): a TLS error, at once.
#[test]
fn nats_tls_required_then_plain_text() {
    let srv = Server::raw(|mut s| {
        let _ = s.write_all(b"INFO {\"tls_required\":true} \r\n");
        if read_some(&mut s) {
            let _ = s.write_all(b"PONG\r\nPONG\r\nPONG\r\n");
        }
        hold(s);
    });
    let t = format!("nats://127.0.0.1:{}", srv.port());
    let run = probe("nats_tls_required_plain", FAST, &t);
    run.within(QUICK);
    let line = run.unhealthy_line(&t);
    run.reason_names(&line, &["tls"]);
}
