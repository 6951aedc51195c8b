//! Real database and cache servers for the database and cache tests, from Debian's packages
//! (`postgresql`, `mariadb-server`, `redis-server`, `memcached`): each started in its own temp
//! dir on a free loopback port, stopped on `Drop`. PostgreSQL and MariaDB refuse to run as
//! root, so when the tests run as root every server runs as `nobody` (`setpriv`), its dir
//! handed over to it; otherwise as the current user.
//!
//! A constructor returns `None`, after saying `SKIPPED` on stderr, when the server's binary is
//! not installed, so that a machine without them still runs the rest of the suite.

use std::fs::File;
use std::io::Write as _;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{Pki, TempDir, dead_port};

pub const PG_BIN: &str = "/usr/lib/postgresql/15/bin";
const READY_WAIT: Duration = Duration::from_secs(60);

/// Light on memory, and no native AIO: each InnoDB takes AIO contexts from a small system-wide
/// pool (`fs.aio-max-nr`), and several servers at once run out.
const MARIADB_LIGHT: [&str; 2] = ["--innodb-buffer-pool-size=16M", "--innodb-use-native-aio=0"];

/// A running server; killed (gracefully first) on drop.
pub struct DbServer {
    child: Option<Child>,
    port: u16,
    dir: TempDir,
    log: PathBuf,
    /// SIGTERM for most; PostgreSQL's fast shutdown is SIGINT.
    stop_signal: &'static str,
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(1).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

fn have(program: &str) -> bool {
    let found = if program.contains('/') {
        Path::new(program).exists()
    } else {
        std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).any(|d| d.join(program).exists()))
            .unwrap_or(false)
    };
    if !found {
        eprintln!(
            "SKIPPED: {program} is not installed (Debian packages postgresql, mariadb-server, redis-server, memcached)"
        );
    }
    found
}

/// `program` as the unprivileged user when we are root.
fn command(program: &str) -> Command {
    if is_root() {
        let mut c = Command::new("setpriv");
        c.args([
            "--reuid=nobody",
            "--regid=nogroup",
            "--clear-groups",
            "--",
            program,
        ]);
        c
    } else {
        Command::new(program)
    }
}

/// Hands `path` (recursively) to the unprivileged user when we are root.
fn hand_over(path: &Path) {
    if is_root() {
        let ok = Command::new("chown")
            .args(["-R", "nobody:nogroup"])
            .arg(path)
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(ok, "chown -R nobody:nogroup {}", path.display());
    }
}

/// Runs a set-up command to completion, failing the test with its output when it fails.
fn run_setup(mut c: Command, what: &str) {
    let out = c
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl DbServer {
    fn spawn(
        mut c: Command,
        dir: TempDir,
        port: u16,
        log: PathBuf,
        stop_signal: &'static str,
        stderr_to_log: bool,
    ) -> DbServer {
        c.stdin(Stdio::null()).stdout(Stdio::null());
        if stderr_to_log {
            let f = File::options()
                .create(true)
                .append(true)
                .open(&log)
                .expect("opening the server log");
            c.stderr(f);
        } else {
            c.stderr(Stdio::null());
        }
        let child = c.spawn().expect("starting the server");
        DbServer {
            child: Some(child),
            port,
            dir,
            log,
            stop_signal,
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the log holds `needle` and the port accepts; panics with the log on failure.
    fn wait_ready(&mut self, needle: Option<&str>) {
        let start = Instant::now();
        loop {
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                panic!(
                    "the server exited ({status}) before it was ready:\n{}",
                    self.log()
                );
            }
            let logged = needle.is_none_or(|n| self.log().contains(n));
            if logged && TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            if start.elapsed() > READY_WAIT {
                panic!(
                    "the server was not ready after {READY_WAIT:?}:\n{}",
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the server now (for "down" cases); the dir stays until drop.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .arg(format!("-{}", self.stop_signal))
                .arg(child.id().to_string())
                .status();
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(10) {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    // --- Redis ---------------------------------------------------------------------------------

    /// `redis-server` with no persistence and `extra` arguments (`--requirepass x`, …).
    pub fn redis(extra: &[&str]) -> Option<DbServer> {
        if !have("redis-server") {
            return None;
        }
        let dir = TempDir::new();
        hand_over(dir.path());
        let port = dead_port();
        let log = dir.path().join("redis.log");
        let mut c = command("redis-server");
        c.args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .arg("--dir")
            .arg(dir.path())
            .arg("--logfile")
            .arg(&log)
            .args(extra);
        let mut s = DbServer::spawn(c, dir, port, log, "TERM", false);
        s.wait_ready(Some("Ready to accept connections"));
        Some(s)
    }

    /// `redis-server` speaking only TLS (`tls-port`), with a certificate from `pki`.
    pub fn redis_tls(pki: &Pki) -> Option<DbServer> {
        if !have("redis-server") {
            return None;
        }
        let dir = TempDir::new();
        let cert = dir.write("cert.pem", pki.leaf_pem());
        let key = dir.write("key.pem", pki.key_pem());
        let ca = dir.write("ca.pem", &pki.ca_pem);
        hand_over(dir.path());
        let port = dead_port();
        let log = dir.path().join("redis.log");
        let mut c = command("redis-server");
        c.args(["--port", "0", "--tls-port", &port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(["--tls-auth-clients", "no"])
            .arg("--tls-cert-file")
            .arg(&cert)
            .arg("--tls-key-file")
            .arg(&key)
            .arg("--tls-ca-cert-file")
            .arg(&ca)
            .arg("--dir")
            .arg(dir.path())
            .arg("--logfile")
            .arg(&log);
        let mut s = DbServer::spawn(c, dir, port, log, "TERM", false);
        s.wait_ready(Some("Ready to accept connections"));
        Some(s)
    }

    /// Runs `redis-cli ARGS` against this server (plain port), returning its stdout.
    pub fn redis_cli(&self, args: &[&str]) -> String {
        let out = Command::new("redis-cli")
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("running redis-cli");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    // --- memcached -------------------------------------------------------------------------------

    pub fn memcached() -> Option<DbServer> {
        if !have("memcached") {
            return None;
        }
        let dir = TempDir::new();
        let port = dead_port();
        let log = dir.path().join("memcached.log");
        let mut c = Command::new("memcached");
        c.args(["-l", "127.0.0.1", "-p", &port.to_string(), "-U", "0"]);
        if is_root() {
            c.args(["-u", "nobody"]);
        }
        let mut s = DbServer::spawn(c, dir, port, log, "TERM", true);
        s.wait_ready(None);
        Some(s)
    }

    // --- PostgreSQL ------------------------------------------------------------------------------

    /// A fresh PostgreSQL 15 cluster (superuser `postgres`). `auth`: the pg_hba method of TCP
    /// logins (`scram-sha-256`, `md5`) and the superuser's password; trust when `None`. `ssl`
    /// on with `pki`'s certificate when given, and `extra` `-c NAME=VALUE` settings. `standby`:
    /// a standby (an empty `standby.signal`, no primary) that never leaves recovery.
    pub fn postgres(
        auth: Option<(&str, &str)>,
        pki: Option<&Pki>,
        extra: &[&str],
        standby: bool,
    ) -> Option<DbServer> {
        let initdb = format!("{PG_BIN}/initdb");
        if !have(&initdb) {
            return None;
        }
        let dir = TempDir::new();
        let data = dir.path().join("data");
        if let Some((_, pw)) = auth {
            dir.write("pwfile", pw);
        }
        hand_over(dir.path());
        let mut c = command(&initdb);
        c.arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "--auth-local=trust", "--no-sync"])
            .arg(format!(
                "--auth-host={}",
                auth.map(|(method, _)| method).unwrap_or("trust")
            ));
        if auth.is_some() {
            c.arg(format!("--pwfile={}", dir.path().join("pwfile").display()));
        }
        run_setup(c, "initdb");
        if let Some(pki) = pki {
            std::fs::write(data.join("server.crt"), pki.leaf_pem()).expect("server.crt");
            std::fs::write(data.join("server.key"), pki.key_pem()).expect("server.key");
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(
                data.join("server.key"),
                std::fs::Permissions::from_mode(0o600),
            )
            .expect("chmod server.key");
            hand_over(&data);
        }
        if standby {
            std::fs::File::create(data.join("standby.signal")).expect("standby.signal");
            hand_over(&data);
        }
        let port = dead_port();
        let log = dir.path().join("postgres.log");
        let mut c = command(&format!("{PG_BIN}/postgres"));
        c.arg("-D")
            .arg(&data)
            .args(["-p", &port.to_string(), "-k"])
            .arg(dir.path())
            .args(["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"]);
        if pki.is_some() {
            c.args(["-c", "ssl=on"]);
        }
        for setting in extra {
            c.args(["-c", setting]);
        }
        let mut s = DbServer::spawn(c, dir, port, log, "INT", true);
        s.wait_ready(Some(if standby {
            "entering standby mode"
        } else {
            "database system is ready to accept connections"
        }));
        Some(s)
    }

    /// Runs SQL as `postgres` over the Unix socket (local trust).
    pub fn psql(&self, sql: &str) {
        let mut c = command(&format!("{PG_BIN}/psql"));
        c.arg("-h")
            .arg(self.dir())
            .args([
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                "-d",
                "postgres",
            ])
            .args(["-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql]);
        run_setup(c, "psql");
    }

    // --- MariaDB ---------------------------------------------------------------------------------

    /// A fresh MariaDB with `root` (no password, Unix socket only) and `extra` server options.
    pub fn mariadb(extra: &[&str]) -> Option<DbServer> {
        if !have("mariadbd") || !have("mariadb-install-db") {
            return None;
        }
        let dir = TempDir::new();
        let data = dir.path().join("data");
        hand_over(dir.path());
        let mut c = command("mariadb-install-db");
        c.arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .args([
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                "--skip-name-resolve",
            ])
            .args(MARIADB_LIGHT);
        {
            // Several bootstraps at once fail now and then on a small machine: one at a time.
            static BOOTSTRAP: std::sync::Mutex<()> = std::sync::Mutex::new(());
            let _one = BOOTSTRAP.lock().unwrap_or_else(|e| e.into_inner());
            run_setup(c, "mariadb-install-db");
        }
        let port = dead_port();
        let log = dir.path().join("mariadb.err");
        let mut c = command("mariadbd");
        c.arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .arg(format!("--socket={}", dir.path().join("sock").display()))
            .arg(format!("--pid-file={}", dir.path().join("pid").display()))
            .arg(format!("--log-error={}", log.display()))
            .arg(format!("--port={port}"))
            .args(["--bind-address=127.0.0.1", "--skip-name-resolve"])
            .args(MARIADB_LIGHT)
            .arg("--skip-log-bin")
            .args(extra);
        let mut s = DbServer::spawn(c, dir, port, log, "TERM", false);
        s.wait_ready(Some("ready for connections"));
        Some(s)
    }

    /// Runs SQL as `root` over the Unix socket.
    pub fn mariadb_sql(&self, sql: &str) {
        let mut c = Command::new("mariadb");
        c.arg("--no-defaults")
            .arg(format!("--socket={}", self.dir().join("sock").display()))
            .args(["-u", "root", "-e", sql]);
        run_setup(c, "mariadb client");
    }
}

impl Drop for DbServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Lines of `log` after the first `skip` bytes that are at warning level or above.
pub fn loud_lines(log: &str, skip: usize) -> Vec<String> {
    log.get(skip..)
        .unwrap_or("")
        .lines()
        .filter(|l| {
            ["WARNING", "FATAL", "ERROR", "PANIC", "[Warning]", "[ERROR]"]
                .iter()
                .any(|w| l.contains(w))
        })
        .map(String::from)
        .collect()
}

/// Writes `text` to a new file in `dir` readable only by its owner; returns the path.
pub fn secret_file(dir: &TempDir, name: &str, text: &str) -> PathBuf {
    let path = dir.write(name, "");
    let mut f = File::options()
        .write(true)
        .open(&path)
        .expect("opening the secret file");
    f.write_all(text.as_bytes()).expect("writing the secret");
    path
}
