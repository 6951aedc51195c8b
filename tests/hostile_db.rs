//! Hostile peers for the database and cache kinds: a peer that goes silent,
//! speaks garbage, sends an endless reply or splits its reply byte by byte must never make
//! postgres://, mysql://, redis:// or memcached:// checks hang, crash or lie. Every run is held
//! by [`support::hostile`] to exit 0/1, an end by `--timeout` (each check's own elapsed within
//! 100 ms of it, the process within a loose grace), and the peak RSS bound; each prints `HOSTILE <case> ...` on stderr:
//!
//! ```text
//! cargo test --test hostile_db -- --nocapture --test-threads=1 2>&1 | grep HOSTILE
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

/// The four kinds, each with what its peer must read before answering (the client speaks
/// first, except for MySQL) and a valid healthy answer.
struct Kind {
    scheme: &'static str,
    client_speaks_first: bool,
    healthy_reply: Vec<u8>,
    /// The answer to the client's second message, if it sends one (MySQL: the refused login
    /// that ends a check without a password).
    second_reply: Option<Vec<u8>>,
}

fn kinds() -> Vec<Kind> {
    let greeting = b"\x0a5.5.5-10.11.19-MariaDB\0\x03\0\0\0abcdefgh\0\xfe\xf7\x2d\x02\0\xff\x81\x15\0\0\0\0\0\0\x1d\0\0\0ijklmnopqrst\0mysql_native_password\0";
    let mut mysql = vec![greeting.len() as u8, 0, 0, 0];
    mysql.extend_from_slice(greeting);
    vec![
        Kind {
            scheme: "postgres",
            client_speaks_first: true,
            healthy_reply: b"R\0\0\0\x17\0\0\0\x0aSCRAM-SHA-256\0\0".to_vec(),
            second_reply: None,
        },
        Kind {
            scheme: "mysql",
            client_speaks_first: false,
            healthy_reply: mysql,
            second_reply: Some(b"\x16\0\0\x02\xff\x15\x04#28000Access denied".to_vec()),
        },
        Kind {
            scheme: "redis",
            client_speaks_first: true,
            healthy_reply: b"+PONG\r\n".to_vec(),
            second_reply: None,
        },
        Kind {
            scheme: "memcached",
            client_speaks_first: true,
            healthy_reply: b"VERSION 1.6.18\r\n".to_vec(),
            second_reply: None,
        },
    ]
}

/// Reads the client's first request (one read is enough for these short requests).
fn read_some(s: &mut TcpStream) -> bool {
    let mut buf = [0u8; 1024];
    matches!(s.read(&mut buf), Ok(n) if n > 0)
}

/// A peer that (after the request, when the client speaks first) runs `then`.
fn peer(first: bool, then: impl Fn(TcpStream) + Send + Sync + 'static) -> Server {
    Server::raw(move |mut s| {
        if first && !read_some(&mut s) {
            return;
        }
        then(s);
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
        let srv = peer(kind.client_speaks_first, move |mut s| {
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
        let srv = peer(kind.client_speaks_first, |mut s| {
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
        let srv = peer(kind.client_speaks_first, |mut s| {
            let bytes: Vec<u8> = (0..=255u8).rev().cycle().take(3000).collect();
            let _ = s.write_all(&bytes);
        });
        let t = target(&kind, &srv);
        let run = run(&format!("{}_binary_garbage", kind.scheme), FAST, &t);
        run.within(QUICK);
        run.unhealthy_line(&t);
    }
}

/// Replies that never end, each well-formed as far as it goes: the probe stops at its bound
/// (a line of 4 KiB, a frame of 16 KiB, 200 messages) at once, not at the deadline.
#[test]
fn endless_replies() {
    let cases: Vec<(&str, bool, Vec<u8>, Vec<u8>)> = vec![
        // A NoticeResponse, again and again.
        (
            "postgres",
            true,
            Vec::new(),
            b"N\0\0\0\x0eSWARNING\0\0".to_vec(),
        ),
        // A packet that announces 16000 bytes of greeting and never ends its version string.
        (
            "mysql",
            false,
            b"\x80\x3e\0\0\x0a".to_vec(),
            vec![b'9'; 4096],
        ),
        // A simple string with no line end.
        ("redis", true, b"+".to_vec(), vec![b'P'; 4096]),
        ("memcached", true, b"VERSION ".to_vec(), vec![b'1'; 4096]),
    ];
    for (scheme, first, head, chunk) in cases {
        let srv = peer(first, move |mut s| {
            if s.write_all(&head).is_ok() {
                flood(s, &chunk);
            }
        });
        let t = format!("{scheme}://127.0.0.1:{}", srv.port());
        let run = run(&format!("{scheme}_endless"), FAST, &t);
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
        let srv = peer(kind.client_speaks_first, move |mut s| {
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
        let srv = peer(kind.client_speaks_first, move |s| {
            drip(&s, &reply, Duration::from_millis(300));
            hold(s);
        });
        let t = target(&kind, &srv);
        let run = run(&format!("{}_dripped_past_deadline", kind.scheme), SLOW, &t);
        let line = run.unhealthy_line(&t);
        run.reason_names(&line, &["timed out"]);
    }
}

/// A peer that plays PostgreSQL's part of a SCRAM login up to its server-first message, with
/// `iterations`, then goes silent.
fn scram_peer(iterations: u64) -> Server {
    peer(true, move |mut s| {
        let _ = s.write_all(b"R\0\0\0\x17\0\0\0\x0aSCRAM-SHA-256\0\0");
        let mut buf = [0u8; 1024];
        let n = match s.read(&mut buf) {
            Ok(n) if n > 0 => n,
            _ => return,
        };
        // The client-first message ends with our nonce: `n,,n=,r=NONCE`.
        let sent = String::from_utf8_lossy(&buf[..n]).into_owned();
        let nonce = sent.rsplit("r=").next().unwrap_or_default().to_string();
        let body = format!("r={nonce}xyz,s=AAAAAAAAAAAAAAAAAAAAAA==,i={iterations}");
        let mut m = b"R".to_vec();
        m.extend_from_slice(&(body.len() as u32 + 8).to_be_bytes());
        m.extend_from_slice(&11u32.to_be_bytes());
        m.extend_from_slice(body.as_bytes());
        let _ = s.write_all(&m);
        hold(s);
    })
}

/// An absurd SCRAM iteration count is refused at once.
#[test]
fn postgres_scram_iterations_bounded() {
    let srv = scram_peer(2_000_000_000);
    let t = format!("postgres://u:pw@127.0.0.1:{}", srv.port());
    let shown = format!("postgres://***@127.0.0.1:{}", srv.port());
    let run = run("postgres_scram_iterations", FAST, &t);
    run.within(QUICK);
    let line = run.unhealthy_line(&shown);
    run.reason_names(&line, &["iterations"]);
}

/// A large one within the bound: PBKDF2 stops at the deadline, it does not run past it.
#[test]
fn postgres_scram_pbkdf2_stops_at_the_deadline() {
    let srv = scram_peer(9_000_000);
    let t = format!("postgres://u:pw@127.0.0.1:{}", srv.port());
    let shown = format!("postgres://***@127.0.0.1:{}", srv.port());
    let run = run(
        "postgres_scram_pbkdf2_deadline",
        Duration::from_millis(300),
        &t,
    );
    let line = run.unhealthy_line(&shown);
    run.reason_names(&line, &["timed out"]);
}
