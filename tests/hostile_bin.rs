//! Hostile peers for the binary dependency protocols (mongodb://, kafka://): a peer that goes silent,
//! speaks garbage, sends an endless reply, announces a 2 GiB message or splits its reply byte
//! by byte must never make the check hang, crash or lie. Every run is held by
//! [`support::hostile`] to exit 0/1, an end by `--timeout` and the peak RSS bound; each prints
//! `HOSTILE <case> ...` on stderr:
//!
//! ```text
//! cargo test --test tests hostile_bin:: -- --nocapture --test-threads=1 2>&1 | grep HOSTILE
//! ```

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::support::Server;
use crate::support::hostile::{self, Run, drip, flood, hold};

/// For peers that stall: each check must end by 1.1 s by the probe's own clock.
const SLOW: Duration = Duration::from_secs(1);
/// For peers the probe should see through at once.
const FAST: Duration = Duration::from_secs(5);
/// "At once": far below [`FAST`].
const QUICK: Duration = Duration::from_millis(2000);

/// One kind: its scheme and a healthy reply to its first request.
struct Kind {
    scheme: &'static str,
    healthy_reply: Vec<u8>,
    /// The answer to the client's second request, if a healthy check sends one (Kafka's
    /// Metadata after ApiVersions).
    second_reply: Option<Vec<u8>>,
    /// A reply header that announces 2^31 bytes.
    oversized: Vec<u8>,
    /// The start of a reply that announces the largest message the probe takes (16 KiB) and
    /// then does not fit in it, to be followed by an endless flood.
    endless_head: Vec<u8>,
}

/// An OP_MSG answering request 1 with `{ismaster: true, ok: 1.0}`.
fn mongo_reply() -> Vec<u8> {
    let mut doc = Vec::new();
    doc.extend_from_slice(b"\x08ismaster\0\x01");
    doc.extend_from_slice(b"\x01ok\0");
    doc.extend_from_slice(&1.0f64.to_le_bytes());
    doc.push(0);
    let mut body = ((doc.len() + 4) as i32).to_le_bytes().to_vec();
    body.extend_from_slice(&doc);
    let mut m = Vec::new();
    m.extend_from_slice(&((16 + 4 + 1 + body.len()) as i32).to_le_bytes());
    m.extend_from_slice(&9i32.to_le_bytes()); // requestID
    m.extend_from_slice(&1i32.to_le_bytes()); // responseTo: the probe's first request
    m.extend_from_slice(&2013i32.to_le_bytes());
    m.extend_from_slice(&[0, 0, 0, 0, 0]); // flags, section kind 0
    m.extend_from_slice(&body);
    m
}

/// A Kafka response: size, correlation id, body.
fn kafka_response(correlation_id: i32, body: &[u8]) -> Vec<u8> {
    let mut out = ((body.len() + 4) as i32).to_be_bytes().to_vec();
    out.extend_from_slice(&correlation_id.to_be_bytes());
    out.extend_from_slice(body);
    out
}

fn kinds() -> Vec<Kind> {
    let mut oversized = mongo_reply();
    oversized[..4].copy_from_slice(&0x8000_0000u32.to_le_bytes());
    let mut mongo_endless = mongo_reply()[..21].to_vec();
    mongo_endless[..4].copy_from_slice(&(16 * 1024i32).to_le_bytes());
    // The body document claims 1 MiB.
    mongo_endless.extend_from_slice(&(1i32 << 20).to_le_bytes());
    mongo_endless.extend_from_slice(b"\x02s\0");
    // ApiVersions v0: no error, Metadata v0-v12.
    let api_versions = kafka_response(1, b"\0\0\0\0\0\x01\0\x03\0\0\0\x0c");
    // Metadata v1: broker 1 at k:9092 (no rack), controller 1, no topics.
    let metadata = kafka_response(
        2,
        b"\0\0\0\x01\0\0\0\x01\0\x01k\0\0\x23\x84\xff\xff\0\0\0\x01\0\0\0\0",
    );
    vec![
        Kind {
            scheme: "mongodb",
            healthy_reply: mongo_reply(),
            second_reply: None,
            oversized: oversized[..16].to_vec(),
            endless_head: mongo_endless,
        },
        Kind {
            scheme: "kafka",
            healthy_reply: api_versions,
            second_reply: Some(metadata),
            oversized: b"\x80\0\0\0\0\0\0\x01".to_vec(),
            // 16380 bytes announced; an array of 0x61616161 elements follows.
            endless_head: b"\0\0\x3f\xfc\0\0\0\x01".to_vec(),
        },
    ]
}

/// Reads the client's first request (one read is enough for these short requests).
fn read_some(s: &mut TcpStream) -> bool {
    let mut buf = [0u8; 1024];
    matches!(s.read(&mut buf), Ok(n) if n > 0)
}

/// A peer that, after the request, runs `then`.
fn peer(then: impl Fn(TcpStream) + Send + Sync + 'static) -> Server {
    Server::raw(move |mut s| {
        if read_some(&mut s) {
            then(s);
        }
    })
}

fn target(kind: &Kind, srv: &Server) -> String {
    format!("{}://127.0.0.1:{}", kind.scheme, srv.port())
}

fn run(case: &str, timeout: Duration, target: &str) -> Run {
    hostile::probe(case, timeout, |cmd| cmd.arg(target))
}

#[test]
fn silent_after_accept() {
    for kind in kinds() {
        let srv = Server::silent();
        let t = target(&kind, &srv);
        let run = run(&format!("{}_silent", kind.scheme), SLOW, &t);
        let line = run.unhealthy_line(&t);
        run.reason_names(&line, &["timed out"]);
    }
}

#[test]
fn silent_after_a_partial_reply() {
    for kind in kinds() {
        let half = kind.healthy_reply[..kind.healthy_reply.len() / 2].to_vec();
        let srv = peer(move |mut s| {
            let _ = s.write_all(&half);
            hold(s);
        });
        let t = target(&kind, &srv);
        let run = run(&format!("{}_half_then_silent", kind.scheme), SLOW, &t);
        let line = run.unhealthy_line(&t);
        run.reason_names(&line, &["timed out"]);
    }
}

#[test]
fn garbage() {
    for kind in kinds() {
        let srv = peer(|mut s| {
            let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
            hold(s);
        });
        let t = target(&kind, &srv);
        let run = run(&format!("{}_garbage", kind.scheme), FAST, &t);
        run.within(QUICK);
        run.unhealthy_line(&t);
    }
}

#[test]
fn binary_garbage_then_close() {
    for kind in kinds() {
        let srv = peer(|mut s| {
            let bytes: Vec<u8> = (0..=255u8).rev().cycle().take(3000).collect();
            let _ = s.write_all(&bytes);
        });
        let t = target(&kind, &srv);
        let run = run(&format!("{}_binary_garbage", kind.scheme), FAST, &t);
        run.within(QUICK);
        run.unhealthy_line(&t);
    }
}

/// A header that announces 2^31 bytes: refused at once, nothing allocated for it.
#[test]
fn oversized_length() {
    for kind in kinds() {
        let header = kind.oversized.clone();
        let srv = peer(move |mut s| {
            if s.write_all(&header).is_ok() {
                flood(s, &[0u8; 4096]);
            }
        });
        let t = target(&kind, &srv);
        let run = run(&format!("{}_oversized_length", kind.scheme), FAST, &t);
        run.within(QUICK);
        let line = run.unhealthy_line(&t);
        run.reason_names(&line, &["bytes"]);
    }
}

/// A reply that never ends, well-formed as far as it goes (a header announcing the largest
/// message the probe takes, 16 KiB, and then a document that does not fit in it): the probe
/// stops at its bound at once, not at the deadline.
#[test]
fn endless_reply() {
    for kind in kinds() {
        let head = kind.endless_head.clone();
        let srv = peer(move |mut s| {
            if s.write_all(&head).is_ok() {
                flood(s, &[b'a'; 4096]);
            }
        });
        let t = target(&kind, &srv);
        let run = run(&format!("{}_endless", kind.scheme), FAST, &t);
        run.within(QUICK);
        run.unhealthy_line(&t);
    }
}

/// A valid reply split byte by byte (a write every 5 ms) is put back together: healthy.
#[test]
fn healthy_reply_split_byte_by_byte() {
    for kind in kinds() {
        let reply = kind.healthy_reply.clone();
        let second = kind.second_reply.clone();
        let srv = peer(move |mut s| {
            drip(&s, &reply, Duration::from_millis(5));
            if let Some(second) = &second
                && read_some(&mut s)
            {
                drip(&s, second, Duration::from_millis(5));
            }
            hold(s);
        });
        let t = target(&kind, &srv);
        let run = run(&format!("{}_split_byte_by_byte", kind.scheme), FAST, &t);
        run.healthy_line(&t);
    }
}

/// The same reply dripped a byte every 300 ms cannot arrive in time: unhealthy by the deadline.
#[test]
fn reply_dripped_past_the_deadline() {
    for kind in kinds() {
        let reply = kind.healthy_reply.clone();
        let srv = peer(move |s| {
            drip(&s, &reply, Duration::from_millis(300));
            hold(s);
        });
        let t = target(&kind, &srv);
        let run = run(&format!("{}_dripped_past_deadline", kind.scheme), SLOW, &t);
        let line = run.unhealthy_line(&t);
        run.reason_names(&line, &["timed out"]);
    }
}

/// A peer that plays mongod's part of a SCRAM login up to its server-first message, with
/// `iterations`, then goes silent.
fn mongo_scram_peer(iterations: u64) -> Server {
    peer(move |mut s| {
        let _ = s.write_all(&mongo_reply());
        let mut buf = [0u8; 2048];
        let n = match s.read(&mut buf) {
            Ok(n) if n > 0 => n,
            _ => return,
        };
        // The saslStart payload ends with our nonce: `n,,n=USER,r=NONCE`, then `\x10autoAuthorize`.
        let sent = String::from_utf8_lossy(&buf[..n]).into_owned();
        let nonce: String = sent
            .rsplit("r=")
            .next()
            .unwrap_or_default()
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '+' || *c == '/' || *c == '=')
            .collect();
        let payload = format!("r={nonce}xyz,s=AAAAAAAAAAAAAAAAAAAAAA==,i={iterations}");
        let mut doc = Vec::new();
        doc.extend_from_slice(b"\x10conversationId\0\x01\0\0\0");
        doc.extend_from_slice(b"\x08done\0\0");
        doc.extend_from_slice(b"\x05payload\0");
        doc.extend_from_slice(&(payload.len() as i32).to_le_bytes());
        doc.push(0);
        doc.extend_from_slice(payload.as_bytes());
        doc.extend_from_slice(b"\x10ok\0\x01\0\0\0");
        doc.push(0);
        let mut body = ((doc.len() + 4) as i32).to_le_bytes().to_vec();
        body.extend_from_slice(&doc);
        let mut m = Vec::new();
        m.extend_from_slice(&((21 + body.len()) as i32).to_le_bytes());
        m.extend_from_slice(&10i32.to_le_bytes());
        m.extend_from_slice(&2i32.to_le_bytes());
        m.extend_from_slice(&2013i32.to_le_bytes());
        m.extend_from_slice(&[0, 0, 0, 0, 0]);
        m.extend_from_slice(&body);
        let _ = s.write_all(&m);
        hold(s);
    })
}

/// An absurd SCRAM iteration count is refused at once; a large one within the bound stops at
/// the deadline.
#[test]
fn mongodb_scram_iterations_bounded() {
    let srv = mongo_scram_peer(2_000_000_000);
    let t = format!("mongodb://u:pw@127.0.0.1:{}", srv.port());
    let shown = format!("mongodb://***@127.0.0.1:{}", srv.port());
    let absurd = run("mongodb_scram_iterations", FAST, &t);
    absurd.within(QUICK);
    let line = absurd.unhealthy_line(&shown);
    absurd.reason_names(&line, &["iterations"]);

    let srv = mongo_scram_peer(9_000_000);
    let t = format!("mongodb://u:pw@127.0.0.1:{}", srv.port());
    let shown = format!("mongodb://***@127.0.0.1:{}", srv.port());
    let large = run(
        "mongodb_scram_pbkdf2_deadline",
        Duration::from_millis(300),
        &t,
    );
    let line = large.unhealthy_line(&shown);
    large.reason_names(&line, &["timed out"]);
}
