//! `dns://` targets against Debian's real `dnsmasq` ([`support::dnsmasq`]): each record type,
//! the CNAME chain, the TCP fallback of a truncated answer, NXDOMAIN, REFUSED, SERVFAIL and
//! empty answers named, a name that appears while the probe waits, a quiet server log, and the
//! system's resolver (with its search list) in a private mount namespace. Then hostile peers
//! scripted over UDP: silent, garbage, the wrong id, a compression-pointer loop, an answer that
//! claims 65535 records, a truncated answer whose TCP side stays silent.

use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use crate::support::dnsmasq::Dnsmasq;
use crate::support::hostile::{self, Run};
use crate::support::skip::REQUIRE_ROOT;
use crate::support::{self, Cmd, TempDir, skip_unless};

/// Generous: an answer from loopback takes milliseconds.
const QUICK: Duration = Duration::from_secs(3);
/// The deadline of the runs that only it can end.
const SLOW: Duration = Duration::from_secs(1);

/// `healthprobe ARGS...`, exit 0, one healthy line for `target`; returns its detail.
#[track_caller]
fn healthy(args: &[&str], target: &str) -> String {
    let out = Cmd::new().args(args).run();
    out.healthy().within(QUICK);
    out.reports_one(true, target).detail
}

/// `healthprobe ARGS...`, exit 1, one unhealthy line for `target`; returns its reason.
#[track_caller]
fn unhealthy(args: &[&str], target: &str) -> String {
    let out = Cmd::new().args(args).run();
    out.unhealthy().within(QUICK);
    out.reports_one(false, target).detail
}

/// The records most cases ask for.
const RECORDS: [&str; 8] = [
    "--local=/test/",
    "--host-record=web.test,10.0.0.7",
    "--host-record=six.test,fd00::7",
    "--cname=alias.test,web.test",
    "--cname=dangling.test,six.test",
    "--srv-host=_http._tcp.web.test,web.test,8080,1,5",
    "--txt-record=txt.test,ready=yes",
    "--host-record=both.test,10.0.0.8,fd00::8",
];

#[test]
fn dns_records_of_each_type() {
    let Some(ns) = Dnsmasq::start(&RECORDS) else {
        return;
    };
    let cases = [
        ("web.test", "1 A record, first 10.0.0.7"),
        // Default type: A, then AAAA.
        ("six.test", "1 AAAA record, first fd00::7"),
        (
            "alias.test",
            "1 A record, first 10.0.0.7, via CNAME web.test",
        ),
        ("web.test.", "1 A record, first 10.0.0.7"),
        ("WEB.Test?type=a", "1 A record, first 10.0.0.7"),
        ("both.test?type=AAAA", "1 AAAA record, first fd00::8"),
        (
            "_http._tcp.web.test?type=SRV",
            "1 SRV record, first web.test:8080 (priority 1, weight 5)",
        ),
        ("txt.test?type=TXT", "1 TXT record, first \"ready=yes\""),
        ("alias.test?type=CNAME", "1 CNAME record, first web.test"),
    ];
    for (name, seen) in cases {
        let target = ns.target(name);
        assert_eq!(healthy(&[&target], &target), seen, "{target}");
    }
    // The server by name, over each family; -4/-6 pick how it is reached.
    if ns.has_v6() {
        let v6 = ns.target6("web.test");
        healthy(&[&v6], &v6);
        let by_name = format!("dns://localhost:{}/web.test", ns.port());
        let out = Cmd::new().args(["-6", "-v", &by_name]).run();
        out.healthy()
            .contains(&format!("connected to [::1]:{}", ns.port()));
        let out = Cmd::new().args(["-4", "-v", &by_name]).run();
        out.healthy()
            .contains(&format!("connected to 127.0.0.1:{}", ns.port()));
    }
    let target = ns.target("web.test");
    let out = Cmd::new().args(["--format", "json", &target]).run();
    let report = out.healthy().json_reports(true, &[(true, &target)]);
    let item = &report.get("targets").unwrap().as_array().unwrap()[0];
    assert_eq!(
        item.get("kind").and_then(|k| k.as_str()),
        Some("dns"),
        "{out}"
    );
}

/// Forty A records do not fit in a 512-byte datagram: dnsmasq sets TC, and the probe asks
/// again over TCP, which carries them all.
#[test]
fn dns_truncated_answer_falls_back_to_tcp() {
    let records: Vec<String> = (1..=40)
        .map(|i| format!("--host-record=many.test,10.1.0.{i}"))
        .collect();
    let args: Vec<&str> = records.iter().map(String::as_str).collect();
    let Some(ns) = Dnsmasq::start(&args) else {
        return;
    };
    let target = ns.target("many.test");
    let seen = healthy(&[&target], &target);
    assert!(
        seen.starts_with("40 A records, first 10.1.0.") && seen.ends_with("(over tcp)"),
        "{seen}"
    );
}

#[test]
fn dns_unhealthy_answers_named() {
    let Some(ns) = Dnsmasq::start(&RECORDS) else {
        return;
    };
    let port = ns.port();
    let cases = [
        (
            "nope.test",
            format!("dns: NXDOMAIN for nope.test from 127.0.0.1:{port}"),
        ),
        // Outside every domain dnsmasq knows, with no upstream.
        (
            "db.example",
            format!("dns: REFUSED for db.example from 127.0.0.1:{port}"),
        ),
        (
            "web.test?type=AAAA",
            format!(
                "dns: no AAAA record for web.test from 127.0.0.1:{port} (NOERROR, empty answer)"
            ),
        ),
        (
            "web.test?type=TXT",
            format!(
                "dns: no TXT record for web.test from 127.0.0.1:{port} (NOERROR, empty answer)"
            ),
        ),
        (
            "dangling.test?type=A",
            format!(
                "dns: no A record for dangling.test from 127.0.0.1:{port} (NOERROR, only a CNAME to six.test)"
            ),
        ),
    ];
    for (name, reason) in cases {
        let target = ns.target(name);
        assert_eq!(unhealthy(&[&target], &target), reason, "{target}");
    }
    // A real SERVFAIL: a validating dnsmasq in front of this unsigned one.
    let Some(front) = ns.validating_front() else {
        return;
    };
    let target = front.target("web.test");
    assert_eq!(
        unhealthy(&[&target], &target),
        format!("dns: SERVFAIL for web.test from 127.0.0.1:{}", front.port())
    );
    // What the front logged for it, up to a mark it writes after.
    front.log_mark();
    assert!(
        front.log().contains("validation web.test is BOGUS"),
        "{}",
        front.log()
    );
}

/// The init-container step: `--wait … dns:///NAME -- COMMAND`. The name appears in the
/// server's hosts file while the probe waits; then the probe becomes COMMAND.
#[test]
fn dns_name_that_appears_while_waiting() {
    let Some(ns) = Dnsmasq::start(&["--local=/test/"]) else {
        return;
    };
    let target = ns.target("late.test");
    let cmd = Cmd::new().args([
        "--wait",
        "20s",
        "--interval",
        "100ms",
        &target,
        "--",
        "/bin/sh",
        "-c",
        "echo app-started",
    ]);
    let probe = thread::spawn(move || cmd.run_any_exit());
    // The name appearing late is the point of this test.
    thread::sleep(Duration::from_millis(800));
    ns.add_host("10.0.0.9", "late.test");
    let out = probe.join().expect("the probe thread");
    out.healthy().contains("app-started");
    out.check(
        out.stdout
            .starts_with(&format!("healthy   {target}  1 A record, first 10.0.0.9")),
        "expected the probe's healthy line first",
    );
    out.check(
        out.elapsed >= Duration::from_millis(700),
        "expected the probe to have waited for the name",
    );
}

/// dnsmasq at its default verbosity logs nothing for ten checks, healthy or not.
#[test]
fn dns_server_log_stays_quiet() {
    let Some(ns) = Dnsmasq::start(&RECORDS) else {
        return;
    };
    let from = ns.log_mark();
    let targets: Vec<String> = [
        "web.test",
        "six.test",
        "nope.test",
        "db.example",
        "many.test",
    ]
    .iter()
    .map(|name| ns.target(name))
    .collect();
    for _ in 0..2 {
        Cmd::new().args(["--any"]).args(&targets).run();
    }
    let said = ns.log_since(from);
    assert_eq!(said, "", "dnsmasq logged during the checks");
}

#[test]
fn dns_bad_targets_are_usage_errors() {
    for bad in [
        "dns:///a..b",
        "dns:///x?type=MX",
        "dns://127.0.0.1",
        "dns://u:p@127.0.0.1/x",
    ] {
        let out = Cmd::new().arg(bad).run();
        out.unhealthy().within(QUICK);
        out.check(out.lines().len() == 1, "expected one line");
        out.lacks("panicked");
    }
}

// --- The system's resolver ----------------------------------------------------------------------

/// Runs the probe with `args` in a private mount namespace whose /etc/resolv.conf is `resolv`.
fn in_namespace(resolv: &Path, args: &[&str]) -> support::Output {
    Cmd::program("unshare")
        .args([
            "-m",
            "--propagation",
            "private",
            "sh",
            "-c",
            "mount --bind \"$1\" /etc/resolv.conf && shift && exec \"$@\"",
            "sh",
        ])
        .arg(resolv)
        .arg(support::probe_binary())
        .args(args)
        .run()
}

/// `dns:///NAME` asks the first nameserver of /etc/resolv.conf, on port 53, through its search
/// list as a pod's resolver has it: `dns:///myservice` finds
/// `myservice.ns.svc.cluster.local`, as `nslookup myservice` does.
#[test]
fn dns_system_resolver_with_its_search_list() {
    if !support::db::is_root() {
        return skip_unless(
            REQUIRE_ROOT,
            "a name server on port 53 and a private mount namespace need root",
        );
    }
    // A loopback address of this test's own: port 53 of 127.0.0.1 may be taken.
    let pid = std::process::id();
    let listen = format!("127.53.{}.{}", (pid >> 8) & 0xff, (pid & 0xff).max(1));
    let Some(_ns) = Dnsmasq::start_at(
        listen.parse().unwrap(),
        53,
        &[
            "--local=/cluster.local/",
            "--host-record=myservice.ns.svc.cluster.local,10.0.0.7",
        ],
    ) else {
        return;
    };
    let dir = TempDir::new();
    let resolv = dir.write(
        "resolv.conf",
        format!(
            "nameserver {listen}\nsearch ns.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n"
        ),
    );
    let out = in_namespace(
        &resolv,
        &[
            "dns:///myservice",
            "dns:///myservice.ns.svc.cluster.local",
            "dns:///myservice.ns.svc.cluster.local.",
        ],
    );
    if out
        .stderr
        .contains("cannot change root filesystem propagation")
    {
        return support::skip("no private mount namespace here (a chroot?)");
    }
    out.healthy();
    let lines = out.reports(&[
        (true, "dns:///myservice"),
        (true, "dns:///myservice.ns.svc.cluster.local"),
        (true, "dns:///myservice.ns.svc.cluster.local."),
    ]);
    assert_eq!(
        lines[0].detail,
        "1 A record for myservice.ns.svc.cluster.local, first 10.0.0.7"
    );
    assert_eq!(
        lines[1].detail,
        "1 A record for myservice.ns.svc.cluster.local, first 10.0.0.7"
    );
    assert_eq!(lines[2].detail, "1 A record, first 10.0.0.7");

    let targets = [
        "dns:///missing.cluster.local",
        "dns:///missing",
        "dns:///myservice.",
    ];
    let out = in_namespace(&resolv, &targets);
    out.unhealthy();
    let lines = out.reports(&targets.map(|t| (false, t)));
    let searched = "after 3 name(s) from the search list of /etc/resolv.conf";
    assert_eq!(
        lines[0].detail,
        format!("dns: NXDOMAIN for missing.cluster.local from {listen}:53, {searched}")
    );
    // The name as given, last, is outside every domain dnsmasq knows.
    assert_eq!(
        lines[1].detail,
        format!("dns: REFUSED for missing from {listen}:53, {searched}")
    );
    assert_eq!(
        lines[2].detail,
        format!("dns: REFUSED for myservice from {listen}:53")
    );

    let out = in_namespace(&resolv, &["-6", "dns:///myservice"]);
    out.unhealthy();
    let line = out.reports_one(false, "dns:///myservice");
    assert_eq!(line.detail, "no IPv6 nameserver in /etc/resolv.conf");
}

// --- Hostile peers ------------------------------------------------------------------------------

/// A scripted name server on a UDP port of 127.0.0.1, whose TCP side (the same port) accepts
/// and never answers. `answer` gets each query and how many came before it, and returns the
/// datagrams to send back.
struct UdpPeer {
    addr: SocketAddr,
    queries: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
    _tcp: TcpListener,
}

impl UdpPeer {
    fn new(answer: impl Fn(&[u8], usize) -> Vec<Vec<u8>> + Send + 'static) -> UdpPeer {
        let (tcp, socket) = loop {
            let tcp = TcpListener::bind("127.0.0.1:0").expect("binding tcp");
            let port = tcp.local_addr().unwrap().port();
            if let Ok(udp) = UdpSocket::bind(("127.0.0.1", port)) {
                break (tcp, udp);
            }
        };
        socket
            .set_read_timeout(Some(Duration::from_millis(20)))
            .unwrap();
        let addr = socket.local_addr().unwrap();
        let queries = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (queries, stop) = (queries.clone(), stop.clone());
            thread::spawn(move || {
                let mut buf = [0u8; 1500];
                while !stop.load(Ordering::SeqCst) {
                    if let Ok((n, from)) = socket.recv_from(&mut buf) {
                        let before = queries.fetch_add(1, Ordering::SeqCst);
                        for datagram in answer(&buf[..n], before) {
                            let _ = socket.send_to(&datagram, from);
                        }
                    }
                }
            })
        };
        UdpPeer {
            addr,
            queries,
            stop,
            thread: Some(thread),
            _tcp: tcp,
        }
    }

    fn target(&self, name: &str) -> String {
        format!("dns://{}/{name}", self.addr)
    }

    fn queries(&self) -> usize {
        self.queries.load(Ordering::SeqCst)
    }
}

impl Drop for UdpPeer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// An answer to `query` with `flags` (QR is added), `ancount` and the records after the
/// question.
fn answer(query: &[u8], flags: u16, ancount: u16, records: &[u8]) -> Vec<u8> {
    let mut a = query.to_vec();
    a[2..4].copy_from_slice(&(flags | 0x8000).to_be_bytes());
    a[6..8].copy_from_slice(&ancount.to_be_bytes());
    a.extend_from_slice(records);
    a
}

/// An A record owned by the question's name, 10.0.0.7.
const A_RECORD: [u8; 16] = [0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 0, 0, 7];

/// What a scripted peer sends back for a query.
type Reply = fn(&[u8]) -> Vec<u8>;

fn run(case: &str, timeout: Duration, target: &str) -> Run {
    hostile::probe(case, timeout, |cmd| cmd.arg(target))
}

#[test]
fn dns_hostile_silent_server_is_asked_again_until_the_deadline() {
    let peer = UdpPeer::new(|_, _| Vec::new());
    let target = peer.target("web.test");
    let run = run("dns_silent", SLOW, &target);
    let line = run.unhealthy_line(&target);
    run.timed_out(&line);
    run.reason_names(&line, &["2 udp queries sent"]);
    assert!(peer.queries() >= 2, "{} queries", peer.queries());
}

#[test]
fn dns_hostile_lost_datagram_is_sent_again() {
    // The first query is lost; the second is answered.
    let peer = UdpPeer::new(|q, before| match before {
        0 => Vec::new(),
        _ => vec![answer(q, 0x0180, 1, &A_RECORD)],
    });
    let target = peer.target("web.test");
    let run = run("dns_lost_datagram", Duration::from_secs(3), &target);
    let line = run.healthy_line(&target);
    assert_eq!(line.detail, "1 A record, first 10.0.0.7");
}

#[test]
fn dns_hostile_garbage_and_wrong_ids_are_ignored() {
    let cases: [(&str, Reply); 3] = [
        ("dns_garbage", |_| {
            (0..=255u8).rev().cycle().take(1400).collect()
        }),
        ("dns_wrong_id", |q| {
            let mut a = answer(q, 0x0180, 1, &A_RECORD);
            a[1] ^= 0xff;
            a
        }),
        // The right id, but not a reply (QR clear), as an echo would be.
        ("dns_echo", |q| q.to_vec()),
    ];
    for (case, reply) in cases {
        let peer = UdpPeer::new(move |q, _| vec![reply(q)]);
        let target = peer.target("web.test");
        let run = run(case, SLOW, &target);
        let line = run.unhealthy_line(&target);
        run.timed_out(&line);
        run.reason_names(&line, &["did not answer it ignored"]);
    }
}

#[test]
fn dns_hostile_malformed_answers_fail_at_once() {
    let cases: [(&str, Reply, &str); 3] = [
        // The answer's owner name is a pointer to itself.
        (
            "dns_pointer_loop",
            |q| {
                let at = q.len() as u8;
                let mut rec = vec![0xc0, at];
                rec.extend_from_slice(&A_RECORD[2..]);
                answer(q, 0x0180, 1, &rec)
            },
            "compression pointer",
        ),
        // A pointer that points forward, at one that points back at it.
        (
            "dns_pointer_pair",
            |q| {
                let at = q.len() as u8;
                let mut rec = vec![0x01, b'a', 0xc0, at + 4, 0xc0, at];
                rec.extend_from_slice(&A_RECORD[2..]);
                answer(q, 0x0180, 1, &rec)
            },
            "compression pointer",
        ),
        (
            "dns_65535_answers",
            |q| answer(q, 0x0180, 65535, &A_RECORD),
            "65535 answer record(s) announced",
        ),
    ];
    for (case, reply, words) in cases {
        let peer = UdpPeer::new(move |q, _| vec![reply(q)]);
        let target = peer.target("web.test");
        let run = run(case, Duration::from_secs(5), &target);
        run.within(QUICK);
        let line = run.unhealthy_line(&target);
        run.reason_names(&line, &["malformed answer", words]);
        run.reason_names(&line, &[words]);
    }
}

/// A truncated answer over UDP, then a TCP side that accepts and never answers.
#[test]
fn dns_hostile_silent_tcp_fallback() {
    let peer = UdpPeer::new(|q, _| vec![answer(q, 0x0380, 0, &[])]);
    let target = peer.target("web.test");
    let run = run("dns_tcp_silent", SLOW, &target);
    let line = run.unhealthy_line(&target);
    run.timed_out(&line);
    run.reason_names(&line, &["over tcp"]);
}

#[test]
fn dns_hostile_port_unreachable_moves_on_at_once() {
    let port = {
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        s.local_addr().unwrap().port()
    };
    let target = format!("dns://127.0.0.1:{port}/web.test");
    let run = run("dns_port_unreachable", Duration::from_secs(5), &target);
    run.within(QUICK);
    let line = run.unhealthy_line(&target);
    assert_eq!(
        line.detail,
        format!("dns: no name server at 127.0.0.1:{port} (port unreachable)")
    );
}
