//! MongoDB wire-protocol servers for mongodb:// tests: `tests/mongo/mongo_server.py` on
//! MockupDB (PyPI `mockupdb`, MongoDB Inc.'s wire-protocol test server; PyPI `pymongo`'s `bson`
//! encodes its replies), run with the interpreter of `<repo>/.venv` (`scripts/setup.sh mongo`
//! puts them there). Debian has no MongoDB, and no registry here has a mongod that installs
//! without a download from elsewhere: this is a real implementation of the wire protocol, not
//! a real mongod. The replies (a primary, a secondary, a member recovering…) are the ones
//! mongod sends in those states, written in the script; the SCRAM-SHA-256 server side is the
//! script's own, from RFC 5802/7677 with Python's hashlib and hmac.
//!
//! One Python process serves every state at once, started on first use and shared by the
//! tests of the binary; it exits when the test process does (its stdin closes). Without the
//! venv, [`MongoPeer::shared`] says so ([`super::skip()`]) and returns `None`, unless
//! `HEALTHPROBE_REQUIRE_DB=1`, which makes it a failure.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use super::TempDir;
use super::skip::{REQUIRE_DB, skip_unless};

/// How long the Python servers may take to bind and write their ports.
const STARTUP: Duration = Duration::from_secs(30);

/// The user and password of the `+auth` servers.
pub const USER: &str = "app";
pub const PASSWORD: &str = "s3cret-pw";

/// The servers, by name: a state (`standalone`, `primary`, `secondary`, `recovering`,
/// `uninitiated`, `error`, `old`), `+auth` for one that wants a SCRAM-SHA-256 login, and
/// `+no-skip-empty` for one that ignores `skipEmptyExchange` (servers before 4.4).
const SERVERS: &[&str] = &[
    "standalone",
    "primary",
    "secondary",
    "recovering",
    "uninitiated",
    "error",
    "old",
    "standalone+auth",
    "primary+auth+no-skip-empty",
];

/// The running `mongo_server.py`.
pub struct MongoPeer {
    _child: Mutex<Child>,
    /// The servers exit when this closes, at the latest when the test process ends.
    _lifeline: Mutex<Option<ChildStdin>>,
    ports: Vec<(String, u16)>,
    log: PathBuf,
    _dir: TempDir,
}

impl MongoPeer {
    /// The shared servers (started on first use), or `None`: skipped, see the module docs.
    pub fn shared() -> Option<&'static MongoPeer> {
        static PEER: OnceLock<Result<MongoPeer, String>> = OnceLock::new();
        let peer = PEER.get_or_init(|| {
            let python = python()?;
            let _heavy = super::cpu::heavy();
            Ok(MongoPeer::spawn(&python))
        });
        match peer {
            Ok(peer) => Some(peer),
            Err(why) => {
                skip_unless(REQUIRE_DB, why);
                None
            }
        }
    }

    fn spawn(python: &Path) -> MongoPeer {
        let dir = TempDir::new();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mongo/mongo_server.py");
        let port_file = dir.path().join("ports");
        let log = dir.path().join("server.log");
        let out = File::create(&log).expect("creating the server log");
        let err = out.try_clone().expect("cloning the server log");
        let mut child = Command::new(python)
            .arg(&script)
            .arg(&port_file)
            .args([
                "--user",
                USER,
                "--password",
                PASSWORD,
                "--exit-on-stdin-eof",
            ])
            .args(SERVERS)
            .stdin(Stdio::piped())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .spawn()
            .unwrap_or_else(|e| panic!("starting {} {}: {e}", python.display(), script.display()));
        let lifeline = child.stdin.take();
        let start = Instant::now();
        let ports = loop {
            if let Ok(text) = std::fs::read_to_string(&port_file) {
                break text
                    .lines()
                    .map(|l| {
                        let (name, port) = l.split_once(' ').expect("NAME PORT");
                        (name.to_string(), port.parse().expect("a port number"))
                    })
                    .collect();
            }
            let log_text = || std::fs::read_to_string(&log).unwrap_or_default();
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "mongo_server.py exited ({status}) before listening:\n{}",
                    log_text()
                );
            }
            if start.elapsed() > STARTUP {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "mongo_server.py did not listen within {STARTUP:?}:\n{}",
                    log_text()
                );
            }
            thread::sleep(Duration::from_millis(20));
        };
        MongoPeer {
            _child: Mutex::new(child),
            _lifeline: Mutex::new(lifeline),
            ports,
            log,
            _dir: dir,
        }
    }

    /// The port of the server `name` (one of [`SERVERS`]).
    pub fn port(&self, name: &str) -> u16 {
        self.ports
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("no mongo server {name}"))
            .1
    }

    /// `mongodb://[userinfo@]127.0.0.1:PORT{rest}` for the server `name`.
    pub fn target(&self, name: &str, userinfo: &str, rest: &str) -> String {
        format!("mongodb://{userinfo}127.0.0.1:{}{rest}", self.port(name))
    }

    /// The commands the server `name` has received so far, in order, from every client.
    pub fn commands(&self, name: &str) -> Vec<String> {
        let prefix = format!("CMD {name} ");
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.strip_prefix(&prefix).map(str::to_string))
            .collect()
    }
}

/// The venv's Python when it can import mockupdb, or why not.
fn python() -> Result<PathBuf, String> {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    let found = python.exists()
        && Command::new(&python)
            .args(["-c", "import mockupdb"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
    if found {
        return Ok(python);
    }
    Err(format!(
        "the MongoDB wire-protocol peer needs mockupdb in {}; run scripts/setup.sh mongo",
        python.display()
    ))
}
