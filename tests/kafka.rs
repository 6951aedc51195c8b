//! kafka:// against a broker built here from the protocol guide ([`support::kafka::KafkaPeer`]),
//! not a real Kafka: Debian has no Kafka, and `cargo install tansu` (a Kafka-compatible broker
//! in Rust, the one real broker that installs here from a registry) compiles some 400 crates,
//! 44 minutes on this project's loaded 2-core machine, far more than a fresh CI machine may
//! spend on a test peer (see the README). With `HEALTHPROBE_TANSU=/path/to/tansu` (after
//! `cargo install --locked tansu --features dynostore`: memory storage needs that feature),
//! [`kafka_against_tansu`] also runs against that real broker; without it, it says SKIPPED.

use std::time::Duration;

use crate::support::kafka::{KafkaPeer, Mode, Tansu};
use crate::support::{Cmd, Server, dead_port, skip};

/// Generous: a check against loopback takes milliseconds.
const QUICK: Duration = Duration::from_secs(3);

#[track_caller]
fn unhealthy(target: &str, words: &str) -> String {
    let out = Cmd::new().arg(target).run();
    out.unhealthy().within(QUICK);
    let line = out.reports_one(false, target);
    out.check(
        line.detail.contains(words),
        format!("expected the reason to contain {words:?}"),
    );
    line.detail
}

#[test]
fn kafka_ready_broker() {
    let peer = KafkaPeer::start(Mode::Ready);
    let target = peer.target();
    let out = Cmd::new().arg(&target).run();
    out.healthy().within(QUICK);
    assert_eq!(
        out.reports_one(true, &target).detail,
        "3 brokers, controller 2"
    );
    // ApiVersions v0, then Metadata v1 with an empty (not null) topic list: no topic is read.
    let sent = peer.requests();
    let keys: Vec<_> = sent.iter().map(|r| (r.api_key, r.version)).collect();
    assert_eq!(keys, [(18, 0), (3, 1)]);
    assert_eq!(sent[0].client_id, "healthprobe");
    assert!(sent[0].body.is_empty());
    assert_eq!(sent[1].body, 0i32.to_be_bytes());
    assert_ne!(sent[0].correlation_id, sent[1].correlation_id);
}

#[test]
fn kafka_metadata_version_follows_the_broker() {
    let peer = KafkaPeer::start(Mode::MetadataFrom(4));
    let out = Cmd::new().arg(peer.target()).run();
    out.healthy().within(QUICK);
    // From v2 on, the reply names the cluster.
    assert_eq!(
        out.reports_one(true, &peer.target()).detail,
        "3 brokers, controller 2, cluster hp-cluster"
    );
    let sent = peer.requests();
    assert_eq!((sent[1].api_key, sent[1].version), (3, 4));
    // v4: topics, then allow_auto_topic_creation false.
    assert_eq!(sent[1].body, [0, 0, 0, 0, 0]);
    let peer = KafkaPeer::start(Mode::MetadataFrom(9));
    unhealthy(&peer.target(), "healthprobe speaks v1 to v8");
}

#[test]
fn kafka_without_controller_or_brokers() {
    let peer = KafkaPeer::start(Mode::NoController);
    unhealthy(
        &peer.target(),
        "kafka: no active controller (controller id -1), 3 brokers listed",
    );
    let peer = KafkaPeer::start(Mode::NoBrokers);
    unhealthy(&peer.target(), "kafka: Metadata lists no broker");
}

#[test]
fn kafka_api_versions_error_and_sasl_listener() {
    let peer = KafkaPeer::start(Mode::ApiVersionsError(35));
    unhealthy(
        &peer.target(),
        "kafka: ApiVersions answered error 35 (UNSUPPORTED_VERSION)",
    );
    assert_eq!(peer.requests().len(), 1, "no Metadata after an error");
    let peer = KafkaPeer::start(Mode::SaslOnly);
    unhealthy(&peer.target(), "a listener that wants a SASL login first?");
}

#[test]
fn kafka_refused_and_silent() {
    let target = format!("kafka://127.0.0.1:{}", dead_port());
    unhealthy(&target, "refused");
    let silent = Server::silent();
    let target = format!("kafka://127.0.0.1:{}", silent.port());
    let out = Cmd::new().args(["-t", "1s", &target]).run();
    out.unhealthy()
        .ended_by(Duration::from_secs(1))
        .lasted_until(Duration::from_secs(1));
    let line = out.reports_one(false, &target);
    out.check(line.detail.contains("timed out"), "expected a timeout");
}

/// The real broker, when the environment names one (see the module docs).
#[test]
fn kafka_against_tansu() {
    let Some(tansu) = Tansu::start() else {
        skip(
            "HEALTHPROBE_TANSU is not set (the path of a `tansu` binary: \
             cargo install --locked tansu --features dynostore)",
        );
        return;
    };
    let target = tansu.target();
    let out = Cmd::new().args(["--wait", "20s", &target]).run();
    out.healthy();
    let line = out.reports_one(true, &target);
    out.check(
        line.detail.contains("controller"),
        "expected the broker count and controller",
    );
    // Ten checks leave no line in the broker's log at its default level.
    let before = tansu.log();
    for _ in 0..10 {
        Cmd::new().arg(&target).run().healthy();
    }
    let after = tansu.log();
    assert_eq!(
        after.get(before.len()..).unwrap_or(&after),
        "",
        "tansu logged during ten checks"
    );
}
