//! `grpc://` and `grpcs://` against a real `grpc.health.v1` server that no one here
//! wrote (Python grpcio + grpcio-health-checking, see `tests/support/grpc.rs`), and against
//! peers that do not speak gRPC at all.
//!
//! The Python tests skip (saying so) when `<repo>/.venv` is missing; `scripts/grpc-venv.sh`
//! makes it, and `HEALTHPROBE_REQUIRE_GRPC=1` turns a skip into a failure.

use std::io::{Read, Write};
use std::time::Duration;

use crate::support::grpc::GrpcServer;
use crate::support::{Cmd, Pki, Response, Server, TempDir};

// --- grpc:// against grpcio ------------------------------------------------------------------

#[test]
fn serving_overall_and_named() {
    let Some(srv) = GrpcServer::start(&[]) else {
        return;
    };
    for service in ["", "ok"] {
        service_says(
            &srv,
            service,
            true,
            "SERVING",
            "expected SERVING on the line",
        );
    }
}

/// `grpc://…/SERVICE` is `healthy` (or not) by 2 s, and its one line holds `word`.
fn service_says(srv: &GrpcServer, service: &str, healthy: bool, word: &str, msg: &str) {
    let target = srv.target(service);
    let out = Cmd::new().arg(&target).run();
    if healthy {
        out.healthy();
    } else {
        out.unhealthy();
    }
    out.within(Duration::from_secs(2));
    let line = out.reports_one(healthy, &target);
    out.check(line.detail.contains(word), msg);
}

#[test]
fn not_serving() {
    let Some(srv) = GrpcServer::start(&[]) else {
        return;
    };
    service_says(
        &srv,
        "down",
        false,
        "NOT_SERVING",
        "expected NOT_SERVING in the reason",
    );
}

#[test]
fn unknown_service() {
    let Some(srv) = GrpcServer::start(&[]) else {
        return;
    };
    service_says(
        &srv,
        "no.such.Service",
        false,
        "NOT_FOUND",
        "expected the grpc status NOT_FOUND in the reason",
    );
}

#[test]
fn server_without_health_service() {
    let Some(srv) = GrpcServer::start(&["--no-health"]) else {
        return;
    };
    service_says(
        &srv,
        "",
        false,
        "UNIMPLEMENTED",
        "expected the grpc status UNIMPLEMENTED in the reason",
    );
}

#[test]
fn header_becomes_metadata() {
    // The stock health servicer cannot show metadata; a grpcio server interceptor in front of
    // it answers UNAUTHENTICATED unless the call carries `x-token: abc`.
    let Some(srv) = GrpcServer::start(&["--require-metadata", "x-token=abc"]) else {
        return;
    };
    let target = srv.target("ok");
    Cmd::new()
        .args(["-H", "x-token: abc", &target])
        .run()
        .healthy()
        .reports_one(true, &target);

    let out = Cmd::new().arg(&target).run();
    out.unhealthy();
    let line = out.reports_one(false, &target);
    out.check(
        line.detail.contains("UNAUTHENTICATED"),
        "expected the interceptor's UNAUTHENTICATED",
    );

    Cmd::new()
        .args(["-H", "x-token: wrong", &target])
        .run()
        .unhealthy()
        .contains("UNAUTHENTICATED");
}

#[test]
fn bearer_file_becomes_authorization_metadata() {
    let Some(srv) = GrpcServer::start(&["--require-metadata", "authorization=Bearer s3cret"])
    else {
        return;
    };
    let dir = TempDir::new();
    let token = dir.write("token", "s3cret\n");
    let target = srv.target("ok");
    let out = Cmd::new()
        .arg("--bearer-file")
        .arg(&token)
        .arg(&target)
        .run();
    out.healthy().lacks("s3cret");
}

// --- grpcs:// against grpcio, with the test PKI --------------------------------------------------

fn tls_server() -> Option<(GrpcServer, TempDir, Pki)> {
    let pki = Pki::new(&["localhost", "127.0.0.1"]);
    let srv = GrpcServer::start_tls(&pki, &[])?;
    let dir = TempDir::new();
    dir.write("ca.pem", &pki.ca_pem);
    Some((srv, dir, pki))
}

#[test]
fn grpcs_with_ca_file() {
    let Some((srv, dir, _pki)) = tls_server() else {
        return;
    };
    let ca = dir.path().join("ca.pem");
    for service in ["", "ok"] {
        let target = srv.tls_target(service);
        let out = Cmd::new().arg("--ca-file").arg(&ca).arg(&target).run();
        out.healthy().within(Duration::from_secs(2));
        out.reports_one(true, &target);
    }
    let target = srv.tls_target("down");
    let out = Cmd::new().arg("--ca-file").arg(&ca).arg(&target).run();
    out.unhealthy().contains("NOT_SERVING");
}

#[test]
fn grpcs_without_ca_file_is_an_unknown_issuer() {
    let Some((srv, _dir, _pki)) = tls_server() else {
        return;
    };
    let target = srv.tls_target("");
    let out = Cmd::new().arg(&target).run();
    out.unhealthy().within(Duration::from_secs(2));
    out.reports_one(false, &target);
    out.contains_ci("issuer");
}

#[test]
fn grpcs_insecure() {
    let Some((srv, _dir, _pki)) = tls_server() else {
        return;
    };
    let target = srv.tls_target("ok");
    Cmd::new()
        .args(["--insecure", &target])
        .run()
        .healthy()
        .reports_one(true, &target);
}

#[test]
fn grpcs_server_name() {
    // A certificate for a name only: dial 127.0.0.1, verify the name given.
    let pki = Pki::new(&["grpc.example.test"]);
    let Some(srv) = GrpcServer::start_tls(&pki, &[]) else {
        return;
    };
    let dir = TempDir::new();
    let ca = dir.write("ca.pem", &pki.ca_pem);
    let target = srv.tls_target("ok");
    let out = Cmd::new().arg("--ca-file").arg(&ca).arg(&target).run();
    out.unhealthy().contains_any_ci(&["not valid for", "name"]);
    let out = Cmd::new()
        .arg("--ca-file")
        .arg(&ca)
        .args(["--server-name", "grpc.example.test", &target])
        .run();
    out.healthy().reports_one(true, &target);
}

#[test]
fn grpc_plaintext_to_a_tls_server_fails_cleanly() {
    let Some((srv, _dir, _pki)) = tls_server() else {
        return;
    };
    let target = srv.target("");
    let out = Cmd::new().args(["-t", "2s", &target]).run();
    out.unhealthy().ended_by(Duration::from_secs(2));
    out.reports_one(false, &target);
}

// --- peers that are not gRPC servers -----------------------------------------------------------

fn grpc_target(srv: &Server) -> String {
    format!("grpc://{}", srv.authority())
}

#[test]
fn http1_only_server() {
    // Server::http reads the request head (the preface's `PRI * HTTP/2.0`), answers and closes
    // with the probe's frames unread, which resets the connection: depending on which the probe
    // meets first, the response bytes or the reset, the reason differs. Either way: exit 1, at
    // once, one line, no response body.
    let srv = Server::http(|_| Response::ok("hello"));
    let target = grpc_target(&srv);
    let out = Cmd::new().arg(&target).run();
    out.unhealthy().within(Duration::from_secs(1));
    let line = out.reports_one(false, &target);
    out.check(
        !line.detail.contains("timed out"),
        "expected a failure at once, not at the deadline",
    );
    out.lacks("hello");
    eprintln!("{}", line.raw);
}

#[test]
fn http1_only_server_answering_400() {
    // What most HTTP/1.1 servers answer to the HTTP/2 preface; this one then reads on, so the
    // probe meets the answer (not a reset) and can tell what the peer is.
    let srv = Server::raw(|mut s| {
        let mut preface = [0u8; 24];
        if s.read_exact(&mut preface).is_ok()
            && s.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                .is_ok()
        {
            let mut buf = [0u8; 4096];
            while matches!(s.read(&mut buf), Ok(1..)) {}
        }
    });
    let target = grpc_target(&srv);
    let out = Cmd::new().arg(&target).run();
    out.unhealthy().within(Duration::from_secs(1));
    let line = out.reports_one(false, &target);
    out.check(
        line.detail.contains("http/2"),
        "expected the reason to say the peer does not speak http/2",
    );
}

#[test]
fn silent_server() {
    let srv = Server::silent();
    let target = grpc_target(&srv);
    let out = Cmd::new().args(["-t", "1s", &target]).run();
    out.unhealthy()
        .ended_by(Duration::from_secs(1))
        .lasted_until(Duration::from_secs(1));
    let line = out.reports_one(false, &target);
    out.check(line.detail.contains("timed out"), "expected a timeout");
}

#[test]
fn server_that_only_sends_settings() {
    let srv = Server::raw(|mut s| {
        let mut preface = [0u8; 24];
        if s.read_exact(&mut preface).is_err() {
            return;
        }
        assert_eq!(
            &preface, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
            "the client preface"
        );
        // An empty SETTINGS frame, then nothing: no SETTINGS ack, no response.
        if s.write_all(&[0, 0, 0, 4, 0, 0, 0, 0, 0]).is_ok() {
            let mut buf = [0u8; 4096];
            while matches!(s.read(&mut buf), Ok(1..)) {}
        }
    });
    let target = grpc_target(&srv);
    let out = Cmd::new().args(["-t", "1s", &target]).run();
    out.unhealthy()
        .ended_by(Duration::from_secs(1))
        .lasted_until(Duration::from_secs(1));
    let line = out.reports_one(false, &target);
    out.check(line.detail.contains("timed out"), "expected a timeout");
}
