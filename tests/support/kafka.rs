//! Kafka peers for kafka:// tests.
//!
//! - [`KafkaPeer`]: a broker built here from the protocol guide (kafka.apache.org/protocol:
//!   ApiVersions v0, Metadata v1-v8, request header v1, response header v0), not a real Kafka:
//!   Debian has no Kafka, and tansu (a Kafka-compatible broker on crates.io) takes far longer
//!   than the suite may spend to build (see tests/kafka.rs). It answers as a broker does in
//!   each [`Mode`] and records every request it reads.
//! - [`Tansu`]: a `tansu broker` binary the environment names (`HEALTHPROBE_TANSU=PATH`), on a
//!   free loopback port with memory storage (which needs tansu's `dynostore` feature: `cargo
//!   install --locked tansu --features dynostore`), for the optional test against a real broker.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{Server, TempDir};

/// What the broker is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Three brokers, controller 2, cluster id `hp-cluster`.
    Ready,
    /// Brokers, but controller id -1: no active controller.
    NoController,
    /// No broker in Metadata.
    NoBrokers,
    /// ApiVersions answers this error code.
    ApiVersionsError(i16),
    /// A SASL-only listener: answers ApiVersions, hangs up on anything else.
    SaslOnly,
    /// Takes Metadata from this version only (to 12), as a broker that dropped old versions.
    MetadataFrom(i16),
}

/// One request as the peer read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub api_key: i16,
    pub version: i16,
    pub correlation_id: i32,
    pub client_id: String,
    pub body: Vec<u8>,
}

/// A spec-built broker on 127.0.0.1, stopped on drop.
pub struct KafkaPeer {
    server: Server,
    requests: Arc<Mutex<Vec<Request>>>,
}

impl KafkaPeer {
    pub fn start(mode: Mode) -> KafkaPeer {
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&requests);
        let server = Server::raw(move |mut s| {
            while let Some(req) = read_request(&mut s) {
                seen.lock().unwrap().push(req.clone());
                let body = match (req.api_key, mode) {
                    (18, _) => api_versions(mode),
                    (3, Mode::SaslOnly) => return,
                    (3, _) => metadata(mode, req.version),
                    _ => return,
                };
                let mut out = ((body.len() + 4) as i32).to_be_bytes().to_vec();
                out.extend_from_slice(&req.correlation_id.to_be_bytes());
                out.extend_from_slice(&body);
                if s.write_all(&out).is_err() {
                    return;
                }
            }
        });
        KafkaPeer { server, requests }
    }

    pub fn target(&self) -> String {
        format!("kafka://127.0.0.1:{}", self.server.port())
    }

    /// The requests read so far, in order.
    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }
}

fn read_request(s: &mut TcpStream) -> Option<Request> {
    let mut size = [0u8; 4];
    s.read_exact(&mut size).ok()?;
    let size = usize::try_from(i32::from_be_bytes(size)).ok()?;
    assert!(size < 64 * 1024, "a request of {size} bytes");
    let mut buf = vec![0u8; size];
    s.read_exact(&mut buf).ok()?;
    let i16_at = |at: usize| i16::from_be_bytes([buf[at], buf[at + 1]]);
    let client_len = usize::try_from(i16_at(8)).expect("a client id");
    Some(Request {
        api_key: i16_at(0),
        version: i16_at(2),
        correlation_id: i32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]),
        client_id: String::from_utf8_lossy(&buf[10..10 + client_len]).into_owned(),
        body: buf[10 + client_len..].to_vec(),
    })
}

/// ApiVersions v0: error code, then (key, min, max) for Produce, Fetch, Metadata, ApiVersions.
fn api_versions(mode: Mode) -> Vec<u8> {
    let error = match mode {
        Mode::ApiVersionsError(code) => code,
        _ => 0,
    };
    let metadata_min = match mode {
        Mode::MetadataFrom(v) => v,
        _ => 0,
    };
    let mut b = error.to_be_bytes().to_vec();
    let apis: [(i16, i16, i16); 4] = [(0, 3, 11), (1, 4, 16), (3, metadata_min, 12), (18, 0, 4)];
    b.extend_from_slice(&(apis.len() as i32).to_be_bytes());
    for (key, min, max) in apis {
        for v in [key, min, max] {
            b.extend_from_slice(&v.to_be_bytes());
        }
    }
    b
}

fn string(b: &mut Vec<u8>, s: &str) {
    b.extend_from_slice(&(s.len() as i16).to_be_bytes());
    b.extend_from_slice(s.as_bytes());
}

/// Metadata of `version` (1-8): brokers, cluster id (v2+), controller, no topics, and the
/// throttle time (v3+) and cluster authorized operations (v8) of those versions.
fn metadata(mode: Mode, version: i16) -> Vec<u8> {
    assert!((1..=8).contains(&version), "Metadata v{version}");
    let mut b = Vec::new();
    if version >= 3 {
        b.extend_from_slice(&0i32.to_be_bytes());
    }
    let brokers: &[(i32, &str)] = match mode {
        Mode::NoBrokers => &[],
        _ => &[(1, "kafka-1"), (2, "kafka-2"), (3, "kafka-3")],
    };
    b.extend_from_slice(&(brokers.len() as i32).to_be_bytes());
    for (id, host) in brokers {
        b.extend_from_slice(&id.to_be_bytes());
        string(&mut b, host);
        b.extend_from_slice(&9092i32.to_be_bytes());
        b.extend_from_slice(&(-1i16).to_be_bytes()); // rack: null
    }
    if version >= 2 {
        string(&mut b, "hp-cluster");
    }
    let controller: i32 = match mode {
        Mode::NoController | Mode::NoBrokers => -1,
        _ => 2,
    };
    b.extend_from_slice(&controller.to_be_bytes());
    b.extend_from_slice(&0i32.to_be_bytes()); // topics: none
    if version >= 8 {
        b.extend_from_slice(&i32::MIN.to_be_bytes());
    }
    b
}

/// A `tansu broker` (the binary `HEALTHPROBE_TANSU` names) with memory storage on a free
/// loopback port, killed on drop.
pub struct Tansu {
    child: Child,
    port: u16,
    log: PathBuf,
    _dir: TempDir,
}

impl Tansu {
    /// `None` when `HEALTHPROBE_TANSU` is not set.
    pub fn start() -> Option<Tansu> {
        let binary = PathBuf::from(std::env::var_os("HEALTHPROBE_TANSU")?);
        let port = super::dead_port();
        let url = format!("tcp://127.0.0.1:{port}");
        let dir = TempDir::new();
        let log_path = dir.path().join("tansu.log");
        let log = std::fs::File::create(&log_path).expect("tansu.log");
        let child = Command::new(&binary)
            .args([
                "broker",
                "--listener-url",
                &url,
                "--advertised-listener-url",
                &url,
            ])
            .args(["--storage-engine", "memory://tansu/"])
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone().expect("log")))
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap_or_else(|e| panic!("starting {} broker: {e}", binary.display()));
        let mut tansu = Tansu {
            child,
            port,
            log: log_path.clone(),
            _dir: dir,
        };
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            let log = || std::fs::read_to_string(&log_path).unwrap_or_default();
            if let Ok(Some(status)) = tansu.child.try_wait() {
                panic!(
                    "tansu exited ({status}) before listening (memory storage needs \
                     `cargo install tansu --features dynostore`):\n{}",
                    log()
                );
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "tansu did not listen on {port} within 30 s:\n{}",
                log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(tansu)
    }

    pub fn target(&self) -> String {
        format!("kafka://127.0.0.1:{}", self.port)
    }

    /// What tansu has logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Tansu {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
