//! zookeeper:// against Debian's real ZooKeeper, started by [`support::zookeeper`]: a
//! standalone server (ready, its log, stopped), and a three-member ensemble (leader and
//! followers ready; two members stopped, the third without quorum is not serving). The JVMs are
//! slow to start, so each test starts its servers once and asks them everything. A missing
//! ZooKeeper makes each case say SKIPPED and pass, or fail under `HEALTHPROBE_REQUIRE_DB=1`.

use std::time::{Duration, Instant};

use crate::support::zookeeper::ZkServer;
use crate::support::{Cmd, TempDir};

/// Generous: a check against loopback takes milliseconds (a JVM's first answer, more).
const QUICK: Duration = Duration::from_secs(3);

#[track_caller]
fn healthy(target: &str) -> String {
    let out = Cmd::new().arg(target).run();
    out.healthy().within(QUICK);
    out.reports_one(true, target).detail
}

#[test]
fn zookeeper_standalone_ready_quiet_and_down() {
    let dir = TempDir::new();
    let Some(mut srv) = ZkServer::standalone(&dir) else {
        return;
    };
    let target = format!("zookeeper://127.0.0.1:{}", srv.port());
    let detail = healthy(&target);
    assert!(detail.starts_with("mode standalone, server 3."), "{detail}");
    let out = Cmd::new().args(["--format", "json", "-v", &target]).run();
    out.healthy()
        .contains("\"kind\":\"zookeeper\"")
        .contains("connected to 127.0.0.1:");
    // Ten checks: one INFO line each (`Processing srvr command from /127.0.0.1:PORT`, as for
    // `zkServer.sh status`), nothing at WARN or above.
    let from = srv.log_mark();
    for _ in 0..10 {
        healthy(&target);
    }
    let log = srv.log_since(from);
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 10, "{log}");
    assert!(
        lines
            .iter()
            .all(|l| l.contains(" INFO ") && l.contains("Processing srvr command from /127.0.0.1:")),
        "{log}"
    );
    // A TCP check, by contrast, leaves a WARN with a stack trace (said, not asserted).
    let from = srv.log_mark();
    Cmd::new()
        .arg(format!("tcp://127.0.0.1:{}", srv.port()))
        .run()
        .healthy();
    eprintln!(
        "ZooKeeper's log after one tcp:// check:\n{}",
        srv.log_since(from)
    );
    srv.stop();
    let out = Cmd::new().arg(&target).run();
    out.unhealthy().within(QUICK);
    assert!(
        out.reports_one(false, &target)
            .detail
            .contains("connection refused"),
        "{}",
        out.all()
    );
}

#[test]
fn zookeeper_ensemble_without_quorum() {
    let dir = TempDir::new();
    let Some(mut members) = ZkServer::ensemble(&dir) else {
        return;
    };
    let mut modes = Vec::new();
    for m in &members {
        let target = format!("zookeeper://127.0.0.1:{}", m.port());
        let detail = healthy(&target);
        modes.push(detail.split(',').next().unwrap_or_default().to_owned());
    }
    modes.sort();
    assert_eq!(modes, ["mode follower", "mode follower", "mode leader"]);
    // Two members gone: the third, leader or follower, has no quorum and says so.
    let last = members.pop().expect("three members");
    for m in &mut members {
        m.stop();
    }
    let target = format!("zookeeper://127.0.0.1:{}", last.port());
    let start = Instant::now();
    let reason = loop {
        let out = Cmd::new().arg(&target).run_any_exit();
        if out.code == Some(1) {
            out.within(QUICK);
            break out.reports_one(false, &target).detail;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "still healthy 20 s after losing quorum: {}",
            out.all()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(
        reason,
        "zookeeper: This ZooKeeper instance is not currently serving requests (no quorum, or a leader election under way)"
    );
    // A TCP check says yes all the same.
    Cmd::new()
        .arg(format!("tcp://127.0.0.1:{}", last.port()))
        .run()
        .healthy();
}
