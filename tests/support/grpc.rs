//! A real gRPC health server that no one here wrote: Python `grpcio` + `grpcio-health-checking`
//! (Google's implementation of `grpc.health.v1`), started from `tests/grpc/health_server.py` with
//! the interpreter of `<repo>/.venv`, which `scripts/grpc-venv.sh` makes.
//!
//! Without that venv, [`GrpcServer::start`] says so ([`super::skip()`]) and returns `None`, so the
//! test passes vacuously, unless `HEALTHPROBE_REQUIRE_GRPC=1`, which makes it a failure (CI).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

use super::skip::{REQUIRE_GRPC, skip_unless};
use super::{Pki, TempDir};

/// How long the Python server may take to bind and write its port.
const STARTUP: Duration = Duration::from_secs(30);

/// A running `health_server.py`, killed on drop. Services: `""` and `"ok"` SERVING, `"down"`
/// NOT_SERVING, anything else unknown (NOT_FOUND).
pub struct GrpcServer {
    child: Child,
    /// The server exits when this closes (`--exit-on-stdin-eof`), so it cannot outlive a test
    /// process that was killed before `Drop` ran.
    _lifeline: Option<ChildStdin>,
    port: u16,
    _dir: TempDir,
}

impl GrpcServer {
    /// Plaintext (h2c) on `127.0.0.1:0`; `args` go to `health_server.py` (`--no-health`,
    /// `--require-metadata KEY=VALUE`). `None`: skipped, see the module docs.
    pub fn start(args: &[&str]) -> Option<GrpcServer> {
        let python = python()?;
        Some(GrpcServer::spawn(
            &python,
            TempDir::new(),
            args.iter().map(|a| a.to_string()).collect(),
        ))
    }

    /// TLS with the leaf of `pki` (written to PEM files for the server), then `args`.
    pub fn start_tls(pki: &Pki, args: &[&str]) -> Option<GrpcServer> {
        let python = python()?;
        let dir = TempDir::new();
        let cert = dir.write("server.pem", pki.leaf_pem());
        let key = dir.write("server.key", pki.key_pem());
        let mut all = vec!["--tls".to_string(), path_str(&cert), path_str(&key)];
        all.extend(args.iter().map(|a| a.to_string()));
        Some(GrpcServer::spawn(&python, dir, all))
    }

    fn spawn(python: &Path, dir: TempDir, args: Vec<String>) -> GrpcServer {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/grpc/health_server.py");
        let port_file = dir.path().join("port");
        let log = dir.path().join("server.log");
        let out = File::create(&log).expect("creating the server log");
        let err = out.try_clone().expect("cloning the server log");
        let mut child = Command::new(python)
            .arg(&script)
            .arg(&port_file)
            .args(&args)
            .arg("--exit-on-stdin-eof")
            .stdin(Stdio::piped())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .spawn()
            .unwrap_or_else(|e| panic!("starting {} {}: {e}", python.display(), script.display()));
        let lifeline = child.stdin.take();
        let start = Instant::now();
        // Poll for the port file the server writes (atomically, by rename) once it listens.
        let port = loop {
            if let Ok(text) = std::fs::read_to_string(&port_file) {
                break text
                    .trim()
                    .parse::<u16>()
                    .expect("a port number in the port file");
            }
            let log_text = || std::fs::read_to_string(&log).unwrap_or_default();
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "health_server.py {args:?} exited ({status}) before listening:\n{}",
                    log_text()
                );
            }
            if start.elapsed() > STARTUP {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "health_server.py {args:?} did not listen within {STARTUP:?}:\n{}",
                    log_text()
                );
            }
            thread::sleep(Duration::from_millis(20));
        };
        GrpcServer {
            child,
            _lifeline: lifeline,
            port,
            _dir: dir,
        }
    }

    /// `grpc://127.0.0.1:PORT` or, with a service, `grpc://127.0.0.1:PORT/SERVICE`.
    pub fn target(&self, service: &str) -> String {
        self.with_scheme("grpc", service)
    }

    /// `grpcs://127.0.0.1:PORT[/SERVICE]`.
    pub fn tls_target(&self, service: &str) -> String {
        self.with_scheme("grpcs", service)
    }

    fn with_scheme(&self, scheme: &str, service: &str) -> String {
        match service {
            "" => format!("{scheme}://127.0.0.1:{}", self.port),
            s => format!("{scheme}://127.0.0.1:{}/{s}", self.port),
        }
    }
}

impl Drop for GrpcServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The venv's Python when it can import grpcio and its health service; else `None` after saying
/// why (or a panic under `HEALTHPROBE_REQUIRE_GRPC=1`). Checked once per test binary.
fn python() -> Option<PathBuf> {
    static PYTHON: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let found = PYTHON.get_or_init(|| {
        let python = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
        if !python.exists() {
            return Err(format!("no {}", python.display()));
        }
        let import = Command::new(&python)
            .args(["-c", "import grpc, grpc_health.v1.health"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        match import {
            Ok(status) if status.success() => Ok(python),
            _ => Err(format!(
                "{} cannot import grpc and grpc_health",
                python.display()
            )),
        }
    });
    match found {
        Ok(python) => Some(python.clone()),
        Err(why) => {
            skip_unless(
                REQUIRE_GRPC,
                format!("the gRPC health server needs a venv ({why}); run scripts/grpc-venv.sh"),
            );
            None
        }
    }
}

fn path_str(p: &Path) -> String {
    p.to_str().expect("temp paths are UTF-8").to_string()
}
