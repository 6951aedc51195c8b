//! Hostile peers: nothing a peer does may make the probe lie, hang or crash.
//!
//! Every case stages one misbehaviour on loopback and asserts, through
//! [`support::hostile`]: exit 1 (or the documented outcome, said in the case), exactly one line
//! per target that starts with `unhealthy` and names the target, an end by `--timeout` (each
//! check by its deadline + 100 ms as the probe itself reports it, the process within a loose
//! grace by the wall clock: see `support::cmd`), and peak RSS (GNU time) under 8 MiB in an
//! optimized build (a debug build gets a looser ceiling: see
//! [`support::hostile::peak_rss_limit_kb`]). Slow peers get `-t 1s`, so each check must end by
//! 1.1 s; peers the probe should see through at once get `-t 5s` and a tighter "quick" bound. Each run prints `HOSTILE <case> <ms> peak_kb=<KiB> ...` on stderr:
//!
//! ```text
//! cargo test --test tests hostile:: -- --nocapture --test-threads=1 2>&1 | grep HOSTILE
//! cargo test --release --test tests hostile::    # the 8 MiB bound
//! ```

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use crate::support;
use crate::support::hostile::{self, Run, drip, flood, hold};
use crate::support::skip::REQUIRE_ROOT;
use crate::support::{Cmd, Response, Server, TempDir, read_request, skip_unless};

/// For peers that stall: each check must end by 1.1 s by the probe's own clock.
const SLOW: Duration = Duration::from_secs(1);
/// For peers the probe should see through at once.
const FAST: Duration = Duration::from_secs(5);
/// "At once": far below [`FAST`], so a case that only ends by the deadline fails.
const QUICK: Duration = Duration::from_millis(2000);

/// A text the probe looks for in the body and never finds.
const NEEDLE: &str = "needle-never-sent";

/// `healthprobe -t TIMEOUT ARGS...`, measured and bounded.
fn run(case: &str, timeout: Duration, args: &[&str]) -> Run {
    hostile::probe(case, timeout, |cmd| cmd.args(args))
}

/// A peer that reads the request, then writes `bytes` and goes silent with the socket open.
fn answer_then_hold(bytes: impl Into<Vec<u8>>) -> Server {
    let bytes = bytes.into();
    Server::raw(move |mut s| {
        if read_request(&mut s).is_err() {
            return;
        }
        let _ = s.write_all(&bytes);
        hold(s);
    })
}

/// A peer that reads the request, then writes `bytes` and closes (FIN).
fn answer_then_close(bytes: impl Into<Vec<u8>>) -> Server {
    let bytes = bytes.into();
    Server::raw(move |mut s| {
        if read_request(&mut s).is_err() {
            return;
        }
        let _ = s.write_all(&bytes);
        let _ = s.shutdown(Shutdown::Both);
    })
}

// --- Silence and slowness -----------------------------------------------------------------------

#[test]
fn accept_and_silence() {
    let srv = Server::silent();
    let url = srv.url("/health");
    let run = run("accept_and_silence", SLOW, &[&url]);
    let line = run.unhealthy_line(&url);
    run.timed_out(&line);
}

#[test]
fn silence_after_the_status_line() {
    let srv = answer_then_hold("HTTP/1.1 200 OK\r\n");
    let url = srv.url("/health");
    let run = run("silence_after_status_line", SLOW, &[&url]);
    let line = run.unhealthy_line(&url);
    run.timed_out(&line);
}

#[test]
fn headers_dripped_one_byte_per_second() {
    let srv = Server::raw(|mut s| {
        if read_request(&mut s).is_err() {
            return;
        }
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\n");
        drip(
            &s,
            b"X-Drip: aaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n",
            Duration::from_secs(1),
        );
    });
    let url = srv.url("/health");
    let run = run("headers_dripped_1_byte_per_s", SLOW, &[&url]);
    let line = run.unhealthy_line(&url);
    run.timed_out(&line);
}

/// Slowloris: a byte every 20 ms, so a per-read timeout would never fire; only the deadline
/// of the whole run can end it.
#[test]
fn headers_dripped_every_20ms() {
    let srv = Server::raw(|mut s| {
        if read_request(&mut s).is_err() {
            return;
        }
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\n");
        let endless = b"X-Drip: a\r\n".repeat(1000);
        drip(&s, &endless, Duration::from_millis(20));
    });
    let url = srv.url("/health");
    let run = run("headers_dripped_every_20ms", SLOW, &[&url]);
    let line = run.unhealthy_line(&url);
    run.timed_out(&line);
}

/// `Content-Length: 100000`, then a byte every 200 ms: the body check cannot finish in time.
#[test]
fn body_dripped_with_a_body_check() {
    let srv = Server::drip();
    let url = srv.url("/health");
    let run = run(
        "body_dripped_body_check",
        SLOW,
        &["--body-contains", NEEDLE, &url],
    );
    let line = run.unhealthy_line(&url);
    run.timed_out(&line);
}

/// `200 OK`, chunked, and never a chunk: the body check waits for the deadline.
#[test]
fn chunked_but_never_a_chunk_with_a_body_check() {
    let srv = answer_then_hold("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    let url = srv.url("/health");
    let run = run(
        "chunked_never_a_chunk_body_check",
        SLOW,
        &["--body-contains", "ok", &url],
    );
    let line = run.unhealthy_line(&url);
    run.timed_out(&line);
}

// --- Endless and oversized ----------------------------------------------------------------------

fn endless_chunked(first: &'static [u8]) -> Server {
    Server::raw(move |mut s| {
        if read_request(&mut s).is_err() {
            return;
        }
        let head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
        if s.write_all(head.as_bytes()).is_err() {
            return;
        }
        let mut chunk = format!("{:x}\r\n", first.len()).into_bytes();
        chunk.extend_from_slice(first);
        chunk.extend_from_slice(b"\r\n");
        if s.write_all(&chunk).is_err() {
            return;
        }
        let mut chunk = b"4000\r\n".to_vec();
        chunk.extend_from_slice(&[b'a'; 0x4000]);
        chunk.extend_from_slice(b"\r\n");
        flood(&s, &chunk);
    })
}

/// An endless chunked body: the body check reads its 64 KiB, does not find the text, and
/// fails at once instead of reading on until the deadline.
#[test]
fn endless_chunked_body_without_the_text_fails_at_64_kib() {
    let srv = endless_chunked(b"start");
    let url = srv.url("/health");
    let run = run(
        "endless_chunked_body_no_text",
        FAST,
        &["--body-contains", NEEDLE, &url],
    );
    run.within(QUICK);
    let line = run.unhealthy_line(&url);
    run.reason_names(&line, &["does not contain"]);
}

/// The same endless body with the text in its first chunk: healthy (exit 0), at once.
#[test]
fn endless_chunked_body_with_the_text_is_healthy() {
    let srv = endless_chunked(b"status: ok");
    let url = srv.url("/health");
    let run = run(
        "endless_chunked_body_text_found",
        FAST,
        &["--body-contains", "status: ok", &url],
    );
    run.within(QUICK);
    run.healthy_line(&url);
}

#[test]
fn a_megabyte_of_headers() {
    let srv = Server::raw(|mut s| {
        if read_request(&mut s).is_err() {
            return;
        }
        let mut head = b"HTTP/1.1 200 OK\r\n".to_vec();
        let mut i = 0;
        while head.len() < 1024 * 1024 {
            head.extend_from_slice(format!("X-Filler-{i}: {}\r\n", "a".repeat(100)).as_bytes());
            i += 1;
        }
        head.extend_from_slice(b"Content-Length: 0\r\n\r\n");
        let _ = s.write_all(&head);
        hold(s);
    });
    let url = srv.url("/health");
    let run = run("megabyte_of_headers", FAST, &[&url]);
    run.within(QUICK);
    let line = run.unhealthy_line(&url);
    run.reason_names(&line, &["header", "invalid"]);
}

#[test]
fn a_huge_status_line() {
    let mut status = b"HTTP/1.1 200 ".to_vec();
    status.extend_from_slice(&[b'A'; 100_000]);
    status.extend_from_slice(b"\r\nContent-Length: 0\r\n\r\n");
    let srv = answer_then_hold(status);
    let url = srv.url("/health");
    let run = run("huge_status_line", FAST, &[&url]);
    run.within(QUICK);
    let line = run.unhealthy_line(&url);
    run.check(!line.raw.contains("AAAA"), "the status line was echoed");
}

/// The peer of [`a_huge_status_line`] never closes: the probe gave up on the size, and its
/// reason should say so rather than blame a close.
#[test]
fn a_huge_status_line_is_not_reported_as_a_close() {
    let mut status = b"HTTP/1.1 200 ".to_vec();
    status.extend_from_slice(&[b'A'; 100_000]);
    status.extend_from_slice(b"\r\nContent-Length: 0\r\n\r\n");
    let srv = answer_then_hold(status);
    let url = srv.url("/health");
    let run = run("huge_status_line_reason", FAST, &[&url]);
    let line = run.unhealthy_line(&url);
    run.check(
        !line.detail.contains("closed"),
        "the reason blames a close the peer never made",
    );
}

/// Endless data on a tcp `--expect`: at most 64 KiB are read, then the check fails at once.
#[test]
fn tcp_expect_against_endless_data() {
    let srv = Server::raw(|s| flood(&s, &[b'z'; 16 * 1024]));
    let target = srv.tcp_target();
    let run = run(
        "tcp_expect_endless_data",
        FAST,
        &["--expect", "PONG", &target],
    );
    run.within(QUICK);
    let line = run.unhealthy_line(&target);
    run.reason_names(&line, &["64 KiB"]);
}

/// A byte every 10 ms that never makes up the text: the deadline ends it (64 KiB would take
/// 11 minutes to come).
#[test]
fn tcp_expect_against_a_drip_that_never_matches() {
    let srv = Server::raw(|s| drip(&s, &[b'x'; 100_000], Duration::from_millis(10)));
    let target = srv.tcp_target();
    let run = run(
        "tcp_expect_drip_never_matches",
        SLOW,
        &["--expect", "PONG", &target],
    );
    let line = run.unhealthy_line(&target);
    run.timed_out(&line);
}

#[test]
fn unix_expect_peer_never_answers() {
    let srv = Server::unix_raw(hold);
    let target = srv.unix_target();
    let run = run(
        "unix_expect_never_answers",
        SLOW,
        &["--send", "PING\\r\\n", "--expect", "PONG", &target],
    );
    let line = run.unhealthy_line(&target);
    run.timed_out(&line);
}

// --- Malformed responses ------------------------------------------------------------------------

#[test]
fn a_header_line_without_a_colon() {
    let srv = answer_then_hold(
        "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nthis header line has no colon\r\n\r\n",
    );
    let url = srv.url("/health");
    let run = run("header_line_without_colon", FAST, &[&url]);
    run.within(QUICK);
    let line = run.unhealthy_line(&url);
    run.reason_names(&line, &["invalid", "header"]);
}

#[test]
fn an_invalid_status_line() {
    let srv = answer_then_hold("HTTP/1.1 two-hundred OK\r\nContent-Length: 0\r\n\r\n");
    let url = srv.url("/health");
    let run = run("invalid_status_line", FAST, &[&url]);
    run.within(QUICK);
    let line = run.unhealthy_line(&url);
    run.reason_names(&line, &["invalid", "status"]);
}

/// NUL and non-UTF-8 bytes where the status line should be: one clean line, none of the bytes
/// echoed.
#[test]
fn a_binary_garbage_status_line() {
    let mut garbage = b"\x00\x01\xff\xfeHTTP\x00/1.1 2\x0000 \x1b[31mOK\r\n".to_vec();
    garbage.extend((0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
    garbage.extend_from_slice(b"\r\n\r\n");
    let srv = answer_then_hold(garbage);
    let url = srv.url("/health");
    let run = run("binary_garbage_status_line", FAST, &[&url]);
    run.within(QUICK);
    run.unhealthy_line(&url);
    run.check(
        !run.all().contains('\0')
            && !run.all().contains('\u{1b}')
            && !run.all().contains('\u{fffd}'),
        "NUL, escape or invalid UTF-8 bytes from the peer reached the output",
    );
}

/// `zz` is no chunk size. With a body check the body is read and the check fails; without one
/// the body is never read, so the 200 stands (exit 0): documented in the README ("the body is
/// read only for --body-contains/--body-matches").
#[test]
fn bad_chunk_sizes() {
    let response = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n";
    let srv = answer_then_hold(response);
    let url = srv.url("/health");
    let run1 = run(
        "bad_chunk_size_body_check",
        FAST,
        &["--body-contains", "hello", &url],
    );
    run1.within(QUICK);
    run1.unhealthy_line(&url);

    let run2 = run("bad_chunk_size_no_body_check", FAST, &[&url]);
    run2.within(QUICK);
    run2.healthy_line(&url);
}

/// `Content-Length: 1000`, 16 bytes, close. With a body check: exit 1 even though the text came
/// (a body that stops short fails). Without one the probe does not read the body, so the 200
/// stands: exit 0, as documented.
#[test]
fn content_length_larger_than_the_body_then_close() {
    let response = "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nstatus: ok......";
    let srv = answer_then_close(response);
    let url = srv.url("/health");
    let run1 = run(
        "content_length_short_body_check",
        FAST,
        &["--body-contains", "status: ok", &url],
    );
    run1.within(QUICK);
    let line = run1.unhealthy_line(&url);
    run1.reason_names(&line, &["closed", "body"]);

    let run2 = run("content_length_short_no_body_check", FAST, &[&url]);
    run2.within(QUICK);
    run2.healthy_line(&url);
}

/// Closed (FIN) in the middle of the headers.
#[test]
fn close_mid_headers() {
    let srv = answer_then_close("HTTP/1.1 200 OK\r\nContent-Type: te");
    let url = srv.url("/health");
    let run = run("close_mid_headers", FAST, &[&url]);
    run.within(QUICK);
    let line = run.unhealthy_line(&url);
    run.reason_names(&line, &["closed", "reset", "eof", "invalid"]);
}

/// A peer that answers `bytes` without reading the request, then closes with the request still
/// unread in its receive buffer: the kernel then sends RST, not FIN (RFC 2525 §2.17), which
/// stands in for SO_LINGER 0 (std cannot set it on stable).
fn reset_after(bytes: &'static [u8]) -> Server {
    Server::raw(move |mut s| {
        // One byte, so the request has arrived (and its rest is left unread).
        let mut first = [0u8; 1];
        if s.read(&mut first).is_err() {
            return;
        }
        let _ = s.write_all(bytes);
        thread::sleep(Duration::from_millis(50));
        drop(s);
    })
}

#[test]
fn reset_mid_headers() {
    let srv = reset_after(b"HTTP/1.1 200 OK\r\nContent-Type: te");
    let url = srv.url("/health");
    let run = run("reset_mid_headers", FAST, &[&url]);
    run.within(QUICK);
    let line = run.unhealthy_line(&url);
    run.reason_names(&line, &["reset", "closed", "invalid"]);
}

#[test]
fn reset_mid_body_with_a_body_check() {
    let srv = reset_after(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nstatus: ok");
    let url = srv.url("/health");
    let run = run(
        "reset_mid_body_body_check",
        FAST,
        &["--body-contains", "status: ok", &url],
    );
    run.within(QUICK);
    let line = run.unhealthy_line(&url);
    run.reason_names(&line, &["reset", "closed"]);
}

// --- 1xx ------------------------------------------------------------------------------------

fn continue_storm() -> Vec<u8> {
    b"HTTP/1.1 100 Continue\r\n\r\n".repeat(500)
}

#[test]
fn continue_storm_then_silence() {
    let srv = answer_then_hold(continue_storm());
    let url = srv.url("/health");
    let run = run("continue_storm_then_silence", SLOW, &[&url]);
    run.unhealthy_line(&url);
}

/// 500 interim `100 Continue` responses, then `200 OK`. RFC 9110 §15.2: a client must be able
/// to parse and ignore 1xx responses it did not ask for; the final status is the 200.
#[test]
fn continue_storm_then_200() {
    let mut response = continue_storm();
    response
        .extend_from_slice(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
    let srv = answer_then_hold(response);
    let url = srv.url("/health");
    let run = run("continue_storm_then_200", FAST, &[&url]);
    run.within(QUICK);
    run.healthy_line(&url);
}

// --- Redirects ------------------------------------------------------------------------------

#[test]
fn redirect_loop() {
    let srv = Server::http(|_| Response::redirect(302, "/loop"));
    let url = srv.url("/loop");
    let run = run("redirect_loop", FAST, &[&url]);
    run.within(QUICK);
    let line = run.unhealthy_line(&url);
    run.reason_names(&line, &["too many redirects"]);
}

#[test]
fn redirect_to_a_non_http_scheme() {
    let srv = Server::http(|_| Response::redirect(302, "ftp://127.0.0.1/health"));
    let url = srv.url("/health");
    let run = run("redirect_to_ftp", FAST, &[&url]);
    run.within(QUICK);
    let line = run.unhealthy_line(&url);
    run.reason_names(&line, &["non-http"]);
}

fn long_redirect_server(final_status: u16) -> (Server, String) {
    let long = format!("/{}", "l".repeat(10 * 1024));
    let target = long.clone();
    let srv = Server::http(move |r| {
        if r.path == target {
            Response::new(final_status)
        } else {
            Response::redirect(302, &target)
        }
    });
    (srv, long)
}

/// A same-host redirect whose Location is 10 KB long, to a path that answers 503: exit 1 with
/// a short line that does not echo the Location. (Today the probe does not even send the
/// second request: it does not fit its 4 KiB request buffer, see the ignored case below.)
#[test]
fn redirect_with_a_10_kb_location() {
    let (srv, _) = long_redirect_server(503);
    let url = srv.url("/health");
    let run = run("redirect_location_10kb", FAST, &[&url]);
    run.within(QUICK);
    let line = run.unhealthy_line(&url);
    run.check(
        !line.raw.contains(&"l".repeat(100)),
        "the Location was echoed",
    );
}

/// The same redirect to a path that answers 200: a same-host redirect is followed (DESIGN.md),
/// as kubelet would, so this is healthy.
#[test]
fn redirect_with_a_10_kb_location_to_a_healthy_path_is_followed() {
    let (srv, long) = long_redirect_server(200);
    let url = srv.url("/health");
    let run = run("redirect_location_10kb_healthy", FAST, &[&url]);
    run.within(QUICK);
    run.healthy_line(&url);
    run.check(
        srv.requests().iter().any(|r| r.path == long),
        "the redirect was not followed",
    );
}

// --- TLS --------------------------------------------------------------------------------------

/// Reads the ClientHello, then never answers.
#[test]
fn tls_peer_stalls_mid_handshake() {
    let srv = Server::raw(|mut s| {
        let mut hello = [0u8; 4096];
        if !matches!(s.read(&mut hello), Ok(n) if n > 0) {
            return;
        }
        hold(s);
    });
    let url = format!("https://{}/health", srv.authority());
    let run = run("tls_stall_mid_handshake", SLOW, &[&url]);
    let line = run.unhealthy_line(&url);
    // Under load the reason has once been ureq's own `tls handshake failed: timeout: global`
    // (its timer beat the probe's deadline): still a timeout, worded badly; reported.
    run.reason_names(&line, &["timed out", "timeout"]);
    run.lasted_until(SLOW);
}

/// A plain HTTP server on an `https://` target answers the ClientHello with `400`: a quick,
/// clean TLS failure.
#[test]
fn plaintext_peer_on_an_https_target() {
    let srv = Server::raw(|mut s| {
        let mut hello = [0u8; 4096];
        if !matches!(s.read(&mut hello), Ok(n) if n > 0) {
            return;
        }
        let _ = s.write_all(
            b"HTTP/1.1 400 Bad Request\r\nContent-Length: 11\r\nConnection: close\r\n\r\nBad Request",
        );
        let _ = s.shutdown(Shutdown::Write);
        hold(s);
    });
    let url = format!("https://{}/health", srv.authority());
    let run = run("plaintext_peer_on_https", FAST, &[&url]);
    run.within(QUICK);
    let line = run.unhealthy_line(&url);
    run.reason_names(&line, &["tls", "handshake", "corrupt", "invalid"]);
}

// --- gRPC -------------------------------------------------------------------------------------

/// Reads the 24-byte HTTP/2 preface, sends an empty SETTINGS frame, and nothing else.
#[test]
fn grpc_peer_sends_settings_and_nothing_else() {
    let srv = Server::raw(|mut s| {
        let mut preface = [0u8; 24];
        if s.read_exact(&mut preface).is_err() {
            return;
        }
        let _ = s.write_all(&[0, 0, 0, 4, 0, 0, 0, 0, 0]);
        hold(s);
    });
    let target = format!("grpc://{}", srv.authority());
    let run = run("grpc_settings_only", SLOW, &[&target]);
    let line = run.unhealthy_line(&target);
    run.timed_out(&line);
}

#[test]
fn grpc_target_on_an_http1_peer() {
    let srv = Server::http(|_| Response::ok("ok"));
    let target = format!("grpc://{}", srv.authority());
    let run = run("grpc_on_http1_peer", FAST, &[&target]);
    run.within(QUICK);
    run.unhealthy_line(&target);
}

// --- Connecting -------------------------------------------------------------------------------

/// A listener that never accepts, its accept queue filled by the test first: the kernel drops
/// further SYNs, so the probe's connect never completes.
#[test]
fn listener_with_a_full_accept_queue() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binding the listener");
    let addr = listener.local_addr().expect("local_addr");
    let mut fillers = Vec::new();
    let mut full = false;
    // std listens with a backlog of 128 (a few more get in); bound the loop all the same.
    for _ in 0..1000 {
        match TcpStream::connect_timeout(&addr, Duration::from_millis(100)) {
            Ok(s) => fillers.push(s),
            Err(_) => {
                full = true;
                break;
            }
        }
    }
    if !full {
        return support::skip(format!(
            "the accept queue of {addr} never filled after {} connections",
            fillers.len()
        ));
    }
    let url = format!("http://{addr}/health");
    let run1 = run("full_accept_queue_http", SLOW, &[&url]);
    let line = run1.unhealthy_line(&url);
    run1.timed_out(&line);
    run1.reason_names(&line, &["connect"]);

    let target = format!("tcp://{addr}");
    let run2 = run("full_accept_queue_tcp", SLOW, &[&target]);
    let line = run2.unhealthy_line(&target);
    run2.timed_out(&line);
    drop(listener);
}

/// Twenty silent servers in one run: twenty lines, all by the one deadline.
#[test]
fn twenty_silent_targets_at_once() {
    let servers: Vec<Server> = (0..20).map(|_| Server::silent()).collect();
    let urls: Vec<String> = servers.iter().map(|s| s.url("/health")).collect();
    let args: Vec<&str> = urls.iter().map(String::as_str).collect();
    let run = run("twenty_silent_targets", SLOW, &args);
    run.unhealthy();
    let expected: Vec<(bool, &str)> = args.iter().map(|u| (false, *u)).collect();
    for line in run.reports(&expected) {
        run.timed_out(&line);
    }
}

// --- DNS --------------------------------------------------------------------------------------

/// Whether `unshare -m` and a bind mount over /etc/resolv.conf are permitted here.
fn can_bind_mount_resolv_conf(file: &Path) -> bool {
    Command::new("unshare")
        .args([
            "-m",
            "sh",
            "-c",
            "mount --bind \"$1\" /etc/resolv.conf",
            "sh",
        ])
        .arg(file)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A name server that receives and never answers: the probe runs in a private mount namespace
/// whose /etc/resolv.conf points at it, and must still end by the deadline, saying why.
#[test]
fn dns_that_never_answers() {
    let ns: SocketAddr = "127.0.0.53:53".parse().unwrap();
    let socket = match UdpSocket::bind(ns) {
        Ok(socket) => socket,
        Err(e) => {
            return skip_unless(
                REQUIRE_ROOT,
                format!("cannot bind a silent name server on {ns} (needs root): {e}"),
            );
        }
    };
    let dir = TempDir::new();
    let resolv = dir.write("resolv.conf", "nameserver 127.0.0.53\n");
    if !can_bind_mount_resolv_conf(&resolv) {
        return skip_unless(
            REQUIRE_ROOT,
            "`unshare -m` with a bind mount over /etc/resolv.conf is not permitted (needs root)",
        );
    }
    let queries = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let listener = {
        let (queries, stop) = (queries.clone(), stop.clone());
        socket
            .set_read_timeout(Some(Duration::from_millis(50)))
            .expect("set_read_timeout");
        thread::spawn(move || {
            let mut buf = [0u8; 1500];
            while !stop.load(Ordering::SeqCst) {
                if socket.recv_from(&mut buf).is_ok() {
                    queries.fetch_add(1, Ordering::SeqCst);
                }
            }
        })
    };

    let url = "http://never-answers.example/health";
    let probe = support::probe_binary();
    let measured = Path::new(hostile::GNU_TIME).exists();
    let rss = dir.path().join("peak-rss");
    // $1 resolv.conf, $2 the RSS report, $3 the probe, $4 the URL. GNU time runs inside, so it
    // measures the probe alone, not mount.
    let script = if measured {
        format!(
            "mount --bind \"$1\" /etc/resolv.conf && exec {} -f %M -o \"$2\" \"$3\" -t 1s \"$4\"",
            hostile::GNU_TIME
        )
    } else {
        "mount --bind \"$1\" /etc/resolv.conf && exec \"$3\" -t 1s \"$4\"".to_string()
    };
    let out = Cmd::program("unshare")
        .args(["-m", "sh", "-c", &script, "sh"])
        .arg(&resolv)
        .arg(&rss)
        .arg(probe)
        .arg(url)
        .run();
    stop.store(true, Ordering::SeqCst);
    let _ = listener.join();
    let peak = if measured {
        let text = std::fs::read_to_string(&rss).unwrap_or_default();
        Some(
            hostile::parse_peak_kb(&text)
                .unwrap_or_else(|| out.fail(format!("no peak RSS figure from GNU time: {text:?}"))),
        )
    } else {
        support::skip("peak memory not measured: no /usr/bin/time");
        None
    };
    let run = hostile::judge("dns_never_answers", SLOW, out, peak);
    let line = run.unhealthy_line(url);
    run.reason_names(&line, &["resolv", "timed out"]);
    run.check(
        queries.load(Ordering::SeqCst) > 0,
        "the silent name server saw no query: the lookup did not go where the test sent it",
    );
}

// --- What is never printed --------------------------------------------------------------------

/// The body is read for the check, never shown: not in text, JSON or `-v` output, whether the
/// check fails on the body or on the status.
#[test]
fn the_output_never_contains_the_body() {
    const MARKER: &str = "BODY-MARKER-7f3a9c";
    let body = format!("<html>{MARKER} {MARKER}</html>");
    let srv = Server::http(move |r| {
        let status = if r.path == "/down" { 503 } else { 200 };
        Response::new(status).body(body.clone())
    });
    for (path, mode) in [
        ("/up", "text"),
        ("/up", "json"),
        ("/up", "verbose"),
        ("/down", "text"),
        ("/down", "json"),
        ("/down", "verbose"),
    ] {
        let url = srv.url(path);
        let mode_args: &[&str] = match mode {
            "json" => &["--format", "json"],
            "verbose" => &["-v"],
            _ => &[],
        };
        let case = format!("body_never_printed_{}_{mode}", &path[1..]);
        let run = hostile::probe(&case, FAST, |cmd| {
            cmd.args(mode_args).args(["--body-contains", NEEDLE, &url])
        });
        run.unhealthy();
        run.lacks(MARKER);
        match mode {
            "json" => {
                run.json_reports(false, &[(false, &url)]);
            }
            "text" => {
                run.reports_one(false, &url);
            }
            _ => {}
        }
    }
}

// --- Panics -------------------------------------------------------------------------------------

/// Debug builds (and builds with the hidden `test-panic` feature) panic inside the check when
/// `HEALTHPROBE_TEST_PANIC` is set. The panic must become exit 1 (not 101 or 134) and exactly
/// one line, `healthprobe: internal error: ...`.
fn assert_panic_is_one_line(case: &str, targets: &[&str]) {
    assert_panic_of_is_one_line(Cmd::new(), case, targets);
}

/// The binary under test has the panic trigger; else the test says so and returns.
fn has_panic_trigger() -> bool {
    let debug = support::probe_is_debug_build();
    if !debug {
        support::skip("the panic trigger is compiled into debug builds only");
    }
    debug
}

/// [`assert_panic_is_one_line`] for the binary `base` runs.
fn assert_panic_of_is_one_line(base: Cmd, case: &str, targets: &[&str]) {
    let cmd = base
        .args(["-t", &format!("{}ms", FAST.as_millis())])
        .env("HEALTHPROBE_TEST_PANIC", "1")
        .args(targets);
    let (out, peak_kb) = cmd.run_measured();
    let run = hostile::judge(case, FAST, out, peak_kb);
    run.unhealthy();
    let lines = run.lines();
    run.check(
        lines.len() == 1 && run.stdout.trim().is_empty(),
        "expected exactly one line, on stderr",
    );
    run.check(
        lines[0].starts_with("healthprobe: internal error:"),
        "expected the line to start with `healthprobe: internal error:`",
    );
}

#[test]
fn panic_in_the_check_is_exit_1_and_one_line() {
    if !has_panic_trigger() {
        return;
    }
    let srv = Server::http(|_| Response::ok("ok"));
    let url = srv.url("/health");
    assert_panic_is_one_line("panic_one_target", &[&url]);
}

/// With several targets the checks run on threads, and all of them panic at once: exit 1 (not
/// 101 or 134), and only `healthprobe: internal error:` lines. (Exactly one line: the case
/// below.)
#[test]
fn panic_on_several_check_threads_is_exit_1() {
    if !has_panic_trigger() {
        return;
    }
    let srv = Server::http(|_| Response::ok("ok"));
    let (a, b) = (srv.url("/a"), srv.url("/b"));
    for i in 0..10 {
        let run = hostile::probe(&format!("panic_two_targets_{i}"), FAST, |cmd| {
            cmd.env("HEALTHPROBE_TEST_PANIC", "1").args([&a, &b])
        });
        run.unhealthy();
        let lines = run.lines();
        run.check(
            !lines.is_empty()
                && run.stdout.trim().is_empty()
                && lines
                    .iter()
                    .all(|l| l.starts_with("healthprobe: internal error:")),
            "expected only `healthprobe: internal error:` lines, on stderr",
        );
    }
}

/// Two threads panicking at once must still print one line. A race, hence 100 runs.
#[test]
fn panic_on_several_check_threads_is_one_line() {
    if !has_panic_trigger() {
        return;
    }
    let srv = Server::http(|_| Response::ok("ok"));
    let (a, b) = (srv.url("/a"), srv.url("/b"));
    for i in 0..100 {
        assert_panic_is_one_line(&format!("panic_two_targets_one_line_{i}"), &[&a, &b]);
    }
}

/// The shipped profile aborts on a panic (`panic = "abort"`) where a debug build unwinds: the
/// contract (exit 1, one line, never 134) must hold there too. A release build with the hidden
/// `test-panic` feature, which compiles the trigger in (the shipped binary never has it), in a
/// target directory of its own (`target/test-panic`, kept between runs).
#[test]
fn panic_in_a_release_build_is_exit_1_and_one_line() {
    let bin = support::cargo_build(
        &[
            "--release",
            "--features",
            "test-panic",
            "--bin",
            "healthprobe",
        ],
        "test-panic",
    )
    .join("release")
    .join("healthprobe");
    let srv = Server::http(|_| Response::ok("ok"));
    let (a, b) = (srv.url("/a"), srv.url("/b"));
    assert_panic_of_is_one_line(Cmd::program(&bin), "panic_release_one_target", &[&a]);
    for i in 0..10 {
        let case = format!("panic_release_two_targets_{i}");
        assert_panic_of_is_one_line(Cmd::program(&bin), &case, &[&a, &b]);
    }
}
