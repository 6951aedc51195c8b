//! Hostile and spec-built peers for the broker kinds, amqp:// and mqtt://, as
//! `hostile_db` has them for the databases: a peer that goes silent, speaks garbage, sends
//! endless frames or an oversized frame length, or splits its reply byte by byte must never make
//! a check hang, crash or lie (each run is held by [`support::hostile`] to its exit code, the
//! deadline and the peak RSS bound). Then peers built from the specifications play the
//! refusals a real broker is hard to catch in: RabbitMQ's `Connection.Close` 320
//! CONNECTION_FORCED while it shuts down, `Connection.Blocked` (a resource alarm, which RabbitMQ
//! sends only to publishers), a broker that offers another protocol version, and each MQTT
//! `CONNACK` refusal code.

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

/// An AMQP 0-9-1 method frame on channel 0.
fn amqp_method(class: u16, method: u16, args: &[u8]) -> Vec<u8> {
    let mut out = vec![1, 0, 0];
    out.extend_from_slice(&(args.len() as u32 + 4).to_be_bytes());
    out.extend_from_slice(&class.to_be_bytes());
    out.extend_from_slice(&method.to_be_bytes());
    out.extend_from_slice(args);
    out.push(0xce);
    out
}

fn long_str(out: &mut Vec<u8>, s: &[u8]) {
    out.extend_from_slice(&(s.len() as u32).to_be_bytes());
    out.extend_from_slice(s);
}

/// RabbitMQ's `Connection.Start`, cut down to its product and version.
fn start() -> Vec<u8> {
    let mut table = Vec::new();
    for (k, v) in [("product", "RabbitMQ"), ("version", "3.10.8")] {
        table.push(k.len() as u8);
        table.extend_from_slice(k.as_bytes());
        table.push(b'S');
        long_str(&mut table, v.as_bytes());
    }
    let mut args = vec![0, 9];
    long_str(&mut args, &table);
    long_str(&mut args, b"AMQPLAIN PLAIN");
    long_str(&mut args, b"en_US");
    amqp_method(10, 10, &args)
}

/// `Connection.Close` with `code` and `text`.
fn amqp_close(code: u16, text: &str) -> Vec<u8> {
    let mut args = code.to_be_bytes().to_vec();
    args.push(text.len() as u8);
    args.extend_from_slice(text.as_bytes());
    args.extend_from_slice(&[0, 0, 0, 0]);
    amqp_method(10, 50, &args)
}

/// A kind, with a valid healthy reply to its first request (both client-first).
struct Kind {
    scheme: &'static str,
    healthy_reply: Vec<u8>,
    /// A pace at which that reply, a byte at a time, takes longer than a second.
    too_slow: Duration,
}

fn kinds() -> Vec<Kind> {
    vec![
        Kind {
            scheme: "amqp",
            healthy_reply: start(),
            too_slow: Duration::from_millis(300),
        },
        Kind {
            scheme: "mqtt",
            healthy_reply: b"\x20\x02\x00\x00".to_vec(),
            too_slow: Duration::from_millis(500),
        },
    ]
}

/// Reads what the client sent (one read: its messages are short, each one write).
fn read_some(s: &mut TcpStream) -> bool {
    let mut buf = [0u8; 2048];
    matches!(s.read(&mut buf), Ok(n) if n > 0)
}

/// A peer that reads the client's first message, then runs `then`.
fn peer(then: impl Fn(TcpStream) + Send + Sync + 'static) -> Server {
    Server::raw(move |mut s| {
        if read_some(&mut s) {
            then(s);
        }
    })
}

fn target(scheme: &str, srv: &Server) -> String {
    format!("{scheme}://127.0.0.1:{}", srv.port())
}

fn run(case: &str, timeout: Duration, target: &str) -> Run {
    hostile::probe(case, timeout, |cmd| cmd.arg(target))
}

#[test]
fn silent_after_accept() {
    for kind in kinds() {
        let srv = Server::silent();
        let t = target(kind.scheme, &srv);
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
        let t = target(kind.scheme, &srv);
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
        let t = target(kind.scheme, &srv);
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
        let t = target(kind.scheme, &srv);
        let run = run(&format!("{}_binary_garbage", kind.scheme), FAST, &t);
        run.within(QUICK);
        run.unhealthy_line(&t);
    }
}

/// Frames that never end, each well-formed (AMQP heartbeats; MQTT PUBLISH packets), and a
/// frame whose length runs past any bound: the probe gives up at once, not at the deadline.
#[test]
fn endless_and_oversized_frames() {
    let cases: Vec<(&str, &str, Vec<u8>, Vec<u8>)> = vec![
        (
            "amqp_endless_heartbeats",
            "amqp",
            Vec::new(),
            b"\x08\0\0\0\0\0\0\xce".to_vec(),
        ),
        (
            "amqp_oversized",
            "amqp",
            b"\x01\0\0\xff\xff\xff\xf0".to_vec(),
            vec![b'x'; 4096],
        ),
        (
            "amqp_endless_start",
            "amqp",
            b"\x01\0\0\0\0\x1f\xf0\0\x0a\0\x0a".to_vec(),
            vec![0; 4096],
        ),
        (
            "mqtt_endless_publish",
            "mqtt",
            Vec::new(),
            b"\x30\x03\0\x01t".to_vec(),
        ),
        (
            "mqtt_oversized",
            "mqtt",
            b"\x20\xff\xff\xff\x7f".to_vec(),
            vec![0; 4096],
        ),
    ];
    for (case, scheme, head, chunk) in cases {
        let srv = peer(move |mut s| {
            if s.write_all(&head).is_ok() {
                flood(s, &chunk);
            }
        });
        let t = target(scheme, &srv);
        let run = run(case, FAST, &t);
        run.within(QUICK);
        run.unhealthy_line(&t);
    }
}

/// A valid reply split byte by byte (a write every 5 ms) is put back together: healthy.
#[test]
fn healthy_reply_split_byte_by_byte() {
    for kind in kinds() {
        let reply = kind.healthy_reply.clone();
        let srv = peer(move |s| {
            drip(&s, &reply, Duration::from_millis(5));
            hold(s);
        });
        let t = target(kind.scheme, &srv);
        let run = run(&format!("{}_split_byte_by_byte", kind.scheme), FAST, &t);
        run.healthy_line(&t);
    }
}

/// The same reply dripped too slowly cannot arrive in time: unhealthy by the deadline.
#[test]
fn reply_dripped_past_the_deadline() {
    for kind in kinds() {
        let reply = kind.healthy_reply.clone();
        let srv = peer(move |s| {
            drip(&s, &reply, kind.too_slow);
            hold(s);
        });
        let t = target(kind.scheme, &srv);
        let run = run(&format!("{}_dripped_past_deadline", kind.scheme), SLOW, &t);
        let line = run.unhealthy_line(&t);
        run.reason_names(&line, &["timed out"]);
    }
}

/// A broker shutting down answers the protocol header with `Connection.Close` 320.
#[test]
fn amqp_connection_forced() {
    let srv = peer(|mut s| {
        let text = "CONNECTION_FORCED - broker forced connection closure with reason 'shutdown'";
        let _ = s.write_all(&amqp_close(320, text));
        hold(s);
    });
    let t = target("amqp", &srv);
    let run = run("amqp_connection_forced", FAST, &t);
    run.within(QUICK);
    let line = run.unhealthy_line(&t);
    run.reason_names(
        &line,
        &["amqp: 320 CONNECTION_FORCED - broker forced connection closure with reason 'shutdown'"],
    );
}

/// A broker that speaks AMQP 1.0 only sends its own protocol header back.
#[test]
fn amqp_other_protocol_version() {
    let srv = peer(|mut s| {
        let _ = s.write_all(b"AMQP\x00\x01\x00\x00");
    });
    let t = target("amqp", &srv);
    let run = run("amqp_other_version", FAST, &t);
    run.within(QUICK);
    let line = run.unhealthy_line(&t);
    run.reason_names(&line, &["refused AMQP 0-9-1", "1-0-0"]);
}

/// The whole login, played from the spec, with `Connection.Blocked` (a resource alarm) sent
/// after `Open-Ok`: unhealthy, in the broker's words; without it, healthy.
#[test]
fn amqp_login_blocked_by_an_alarm() {
    for blocked in [true, false] {
        let srv = peer(move |mut s| {
            let _ = s.write_all(&start());
            if !read_some(&mut s) {
                return; // Start-Ok
            }
            let _ = s.write_all(&amqp_method(10, 30, &[0x07, 0xff, 0, 2, 0, 0, 0, 60]));
            if !read_some(&mut s) {
                return; // Tune-Ok and Open
            }
            let mut reply = amqp_method(10, 41, b"\0");
            if blocked {
                reply.extend_from_slice(&amqp_method(10, 60, b"\x0dlow on memory"));
            }
            let _ = s.write_all(&reply);
            if read_some(&mut s) {
                let _ = s.write_all(&amqp_method(10, 51, b""));
            }
            hold(s);
        });
        let t = format!("amqp://probe:pw@127.0.0.1:{}", srv.port());
        let shown = format!("amqp://***@127.0.0.1:{}", srv.port());
        let run = run(&format!("amqp_login_blocked_{blocked}"), FAST, &t);
        run.within(QUICK);
        if blocked {
            let line = run.unhealthy_line(&shown);
            run.reason_names(&line, &["resource alarm", "low on memory"]);
        } else {
            let line = run.healthy_line(&shown);
            assert!(
                line.detail.contains("logged in as probe"),
                "{}",
                line.detail
            );
        }
    }
}

/// Each refusing `CONNACK` return code of MQTT 3.1.1, named.
#[test]
fn mqtt_connack_refusals_named() {
    let names = [
        "unacceptable protocol version",
        "identifier rejected",
        "server unavailable",
        "bad user name or password",
        "not authorized",
    ];
    for (code, name) in (1u8..).zip(names) {
        let srv = peer(move |mut s| {
            let _ = s.write_all(&[0x20, 2, 0, code]);
            hold(s);
        });
        let t = target("mqtt", &srv);
        let run = run(&format!("mqtt_connack_{code}"), FAST, &t);
        run.within(QUICK);
        let line = run.unhealthy_line(&t);
        run.reason_names(&line, &[name, &format!("return code {code}")]);
    }
}
