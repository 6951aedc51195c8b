//! Debian's NATS server (`nats-server`, `scripts/setup.sh test`) for the nats:// tests
//! (`tests/nats.rs`): started from a configuration file of the test's own in a temp dir, on a
//! free loopback port, at its default log level (no `debug`, no `trace`), stopped on `Drop`.
//! nats-server runs as root without complaint, so it is not handed to `nobody`.
//!
//! A missing server is a visible skip, a failure under `HEALTHPROBE_REQUIRE_DB=1`. Debian puts
//! the binary in `/usr/sbin`, which is not on a user's `PATH`: it is looked for there too.
//!
//! The log is read between marks the server writes itself ([`NatsServer::log_mark`]): a
//! configuration reload (`nats-server --signal reload=PID`) logs `Reloaded server
//! configuration`, once every earlier connection is closed.

use std::net::TcpStream;
use std::ops::Range;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::db::open_connections;
use super::skip::REQUIRE_DB;
use super::{TempDir, dead_port, skip_unless};

const READY_WAIT: Duration = Duration::from_secs(20);
const LOG_WAIT: Duration = Duration::from_secs(10);
const MARK: &str = "Reloaded server configuration";

/// A running `nats-server`; stopped on drop.
pub struct NatsServer {
    child: Option<Child>,
    port: u16,
    // Holds the configuration, log and pid files until drop.
    _dir: TempDir,
    log: PathBuf,
}

/// Where `nats-server` is: on `PATH`, or in Debian's `/usr/sbin`.
fn binary() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join("nats-server"))
            .find(|f| f.is_file())
    });
    on_path.or_else(|| {
        let sbin = PathBuf::from("/usr/sbin/nats-server");
        sbin.is_file().then_some(sbin)
    })
}

impl NatsServer {
    /// `nats-server -c FILE`, the file holding `conf` (NATS configuration: `authorization {…}`,
    /// `tls {…}`, `lame_duck_duration`, …) after the listen address, log and pid files.
    /// `files` (name, contents) are written to the server's directory first; every `{dir}` in
    /// `conf` becomes that directory (for certificate files, read again at each reload).
    #[track_caller]
    pub fn start(conf: &str, files: &[(&str, &str)]) -> Option<NatsServer> {
        let Some(bin) = binary() else {
            skip_unless(
                REQUIRE_DB,
                "nats-server is not installed (Debian package nats-server: scripts/setup.sh test)",
            );
            return None;
        };
        let dir = TempDir::new();
        for (name, contents) in files {
            dir.write(name, contents);
        }
        let port = dead_port();
        let log = dir.path().join("nats.log");
        let text = format!(
            "listen: \"127.0.0.1:{port}\"\nlog_file: \"{}\"\npid_file: \"{}\"\n{}\n",
            log.display(),
            dir.path().join("nats.pid").display(),
            conf.replace("{dir}", &dir.path().display().to_string())
        );
        let file = dir.write("nats.conf", text);
        let child = Command::new(bin)
            .arg("-c")
            .arg(&file)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting nats-server");
        let s = NatsServer {
            child: Some(child),
            port,
            _dir: dir,
            log,
        };
        s.wait_for_log("Server is ready", READY_WAIT);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(s)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().expect("a running server").id()
    }

    /// `nats-server --signal CMD=PID`.
    fn signal(&self, cmd: &str) {
        let bin = binary().expect("nats-server");
        let out = Command::new(bin)
            .arg("--signal")
            .arg(format!("{cmd}={}", self.pid()))
            .output()
            .expect("nats-server --signal");
        assert!(
            out.status.success(),
            "nats-server --signal {cmd}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Lame-duck mode, as an operator starts it (`nats-server --signal ldm=PID`): the server
    /// closes its listener, tells its clients `"ldm":true`, and evicts them over
    /// `lame_duck_duration`. Returns once it has logged that it entered the mode.
    pub fn lame_duck(&self) {
        let from = self.log().len();
        self.signal("ldm");
        self.wait_for_log_from("Entering lame duck mode", from, LOG_WAIT);
    }

    /// Marks the log (see the module docs) and returns the offset past the mark.
    pub fn log_mark(&self) -> usize {
        self.mark().end
    }

    /// The log from `from` (a [`NatsServer::log_mark`]) up to a new mark.
    pub fn log_since(&self, from: usize) -> String {
        let mark = self.mark();
        self.log()[from..mark.start].to_owned()
    }

    fn mark(&self) -> Range<usize> {
        let start = Instant::now();
        while open_connections(self.port) > 0 {
            assert!(
                start.elapsed() < LOG_WAIT,
                "nats-server still holds connections to port {} after {LOG_WAIT:?}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        let from = self.log().len();
        self.signal("reload");
        let at = self.wait_for_log_from(MARK, from, LOG_WAIT);
        let log = self.log();
        // The reload's own lines (`Reloaded: …`) come just before the mark: the range starts
        // at the first of them.
        let first = log[from..].find("[INF] Reloaded").map_or(at.start, |i| {
            log[..from + i].rfind('\n').map_or(0, |nl| nl + 1)
        });
        first..at.end
    }

    fn wait_for_log(&self, needle: &str, wait: Duration) -> Range<usize> {
        self.wait_for_log_from(needle, 0, wait)
    }

    /// Waits until the log holds `needle` after `from`; the range of its line.
    fn wait_for_log_from(&self, needle: &str, from: usize, wait: Duration) -> Range<usize> {
        let start = Instant::now();
        loop {
            let log = self.log();
            let found = log.get(from..).and_then(|new| {
                let at = from + new.find(needle)?;
                let line_start = log[..at].rfind('\n').map_or(0, |nl| nl + 1);
                let line_end = at + log[at..].find('\n')? + 1;
                Some(line_start..line_end)
            });
            if let Some(range) = found {
                return range;
            }
            assert!(
                start.elapsed() < wait,
                "no {needle:?} in the nats-server log after {wait:?}: {}",
                log.get(from..).unwrap_or("")
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Stops the server now; the dir stays until drop. One in lame-duck mode waits out its
    /// grace period before it honours SIGTERM: it is killed after a second.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(1) {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.stop();
    }
}
