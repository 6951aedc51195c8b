//! Real database and cache servers for the database and cache target tests
//! (`tests/databases.rs`), from Debian's packages (`postgresql`, `mariadb-server`,
//! `redis-server`, `memcached`; `scripts/setup.sh test` installs them): each started in its own
//! temp dir on a free loopback port, stopped on `Drop`. PostgreSQL and MariaDB refuse to run as
//! root, so when the tests run as root every server runs as `nobody` (`setpriv`), its dir
//! handed over to it; otherwise as the current user.
//!
//! A constructor returns `None` when the server is not installed, after a visible skip
//! ([`skip_unless`]), so that a machine without them still runs the rest of the suite; under
//! `HEALTHPROBE_REQUIRE_DB=1` (the test command sets it) a missing server fails the test instead.
//! PostgreSQL's server binaries are not on `PATH` in Debian: they are looked for in
//! `/usr/lib/postgresql/N/bin` (the highest N that has `postgres` and `initdb`), or in the
//! directory `HEALTHPROBE_PG_BIN` names.
//!
//! What a test asserts about a server's log is read up to a line the server itself writes once
//! every earlier connection is closed ([`DbServer::log_mark`], [`DbServer::log_since`]), not
//! after a sleep: a slow write cannot pass for a quiet log.

use std::fs::File;
use std::io::Write as _;
use std::net::TcpStream;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::skip::REQUIRE_DB;
use super::{Pki, TempDir, dead_port, skip_unless};

/// A directory holding PostgreSQL's `postgres`, `initdb` and `psql`, instead of Debian's.
const PG_BIN_VAR: &str = "HEALTHPROBE_PG_BIN";
const READY_WAIT: Duration = Duration::from_secs(60);
/// For a log mark: the earlier connections to close, then the mark to appear.
const LOG_WAIT: Duration = Duration::from_secs(10);

/// Light on memory, and no native AIO: each InnoDB takes AIO contexts from a small system-wide
/// pool (`fs.aio-max-nr`), and several servers at once run out.
const MARIADB_LIGHT: [&str; 2] = ["--innodb-buffer-pool-size=16M", "--innodb-use-native-aio=0"];

/// A running server; killed (gracefully first) on drop.
pub struct DbServer {
    child: Option<Child>,
    kind: Kind,
    port: u16,
    dir: TempDir,
    log: PathBuf,
    /// SIGTERM for most; PostgreSQL's fast shutdown is SIGINT.
    stop_signal: &'static str,
}

/// Which server, and what the helpers need to know about it.
enum Kind {
    /// `password`: its `--requirepass`, for `redis-cli`.
    Redis {
        password: Option<String>,
    },
    RedisTls,
    Memcached,
    /// `major`: the major version of the binaries it was started from.
    Postgres {
        major: u32,
    },
    MariaDb,
}

/// PostgreSQL's server binaries, and the major version they say they are.
struct PgInstall {
    bin: PathBuf,
    major: u32,
}

/// The PostgreSQL to start (see the module docs), or why there is none.
fn pg_install() -> Result<&'static PgInstall, &'static str> {
    static FOUND: OnceLock<Result<PgInstall, String>> = OnceLock::new();
    FOUND.get_or_init(find_pg).as_ref().map_err(String::as_str)
}

fn find_pg() -> Result<PgInstall, String> {
    let complete = |dir: &Path| dir.join("postgres").is_file() && dir.join("initdb").is_file();
    let bin = match std::env::var_os(PG_BIN_VAR) {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            if !complete(&dir) {
                return Err(format!(
                    "{PG_BIN_VAR}={}: no postgres and initdb there",
                    dir.display()
                ));
            }
            dir
        }
        None => {
            // Debian installs each major version's server side by side, in
            // /usr/lib/postgresql/N/bin.
            let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
                .into_iter()
                .flatten()
                .flatten()
                .filter_map(|entry| {
                    let major = entry.file_name().to_str()?.parse().ok()?;
                    let bin = entry.path().join("bin");
                    complete(&bin).then_some((major, bin))
                })
                .collect();
            found.sort();
            match found.pop() {
                Some((_, bin)) => bin,
                None => {
                    return Err("no PostgreSQL server: no postgres and initdb in \
                                /usr/lib/postgresql/N/bin (Debian package postgresql; or \
                                HEALTHPROBE_PG_BIN=DIR)"
                        .into());
                }
            }
        }
    };
    // `postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)`; since PostgreSQL 10 the major
    // version is the first number.
    let postgres = bin.join("postgres");
    let out = Command::new(&postgres)
        .arg("--version")
        .output()
        .unwrap_or_else(|e| panic!("{} --version: {e}", postgres.display()));
    let text = String::from_utf8_lossy(&out.stdout);
    let major = text
        .split_whitespace()
        .find(|word| word.starts_with(|c: char| c.is_ascii_digit()))
        .and_then(|version| version.split('.').next()?.parse().ok())
        .unwrap_or_else(|| panic!("{} --version said {text:?}", postgres.display()));
    Ok(PgInstall { bin, major })
}

/// Whether the tests run as root (then servers that refuse root run as `nobody`).
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(1).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

/// Whether `program` is on `PATH`; if not, a skip (a failure under `HEALTHPROBE_REQUIRE_DB=1`)
/// naming the Debian `package` that has it.
#[track_caller]
pub(super) fn installed(program: &str, package: &str) -> bool {
    let found = std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()));
    if !found {
        skip_unless(
            REQUIRE_DB,
            format!("{program} is not installed (Debian package {package}: scripts/setup.sh test)"),
        );
    }
    found
}

/// Where `port`'s connections stand in /proc/net/tcp{,6}: how many the server has not closed
/// yet (ESTABLISHED, SYN_RECV or CLOSE_WAIT on its side; LISTEN, TIME_WAIT and the closing
/// states are not counted).
pub fn open_connections(port: u16) -> usize {
    let port = format!(":{port:04X}");
    ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|table| std::fs::read_to_string(table).ok())
        .map(|table| {
            table
                .lines()
                .skip(1)
                .filter(|line| {
                    let fields: Vec<&str> = line.split_whitespace().collect();
                    fields.len() > 3
                        && fields[1].ends_with(&port)
                        && ["01", "03", "08"].contains(&fields[3])
                })
                .count()
        })
        .sum()
}

/// `program` as the unprivileged user when we are root.
pub(super) fn command(program: &str) -> Command {
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
pub(super) fn hand_over(path: &Path) {
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
pub(super) fn run_setup(mut c: Command, what: &str) {
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
        kind: Kind,
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
            kind,
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

    /// Marks the log: waits until the server has closed every connection made to it so far
    /// (a server logs what a connection made it say before it closes it), makes the server
    /// write a line of its own, waits for that line, and returns the offset just past it.
    /// Whatever the earlier connections made the server log is before that offset.
    pub fn log_mark(&self) -> usize {
        self.mark().end
    }

    /// The log from `from` (a [`DbServer::log_mark`]) to a new mark: what the connections made
    /// in between made the server log.
    pub fn log_since(&self, from: usize) -> String {
        let mark = self.mark();
        self.log()[from..mark.start].to_owned()
    }

    /// Writes a mark (see [`DbServer::log_mark`]) and returns the range of its line in the log.
    fn mark(&self) -> Range<usize> {
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let start = Instant::now();
        while open_connections(self.port) > 0 {
            assert!(
                start.elapsed() < LOG_WAIT,
                "the server still holds {} connection(s) to port {} after {LOG_WAIT:?}",
                open_connections(self.port),
                self.port
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        let from = self.log().len();
        let name = format!(
            "healthprobe-log-mark-{}-{}",
            std::process::id(),
            COUNT.fetch_add(1, Ordering::Relaxed)
        );
        let (line, said) = match self.kind {
            Kind::Redis { .. } => (
                format!("DEBUG LOG: {name}"),
                self.redis_cli(&["DEBUG", "LOG", &name]),
            ),
            // The postmaster's own line for a reload (nothing in the configuration changed):
            // it needs no connection, which a standby with hot_standby=off would refuse.
            Kind::Postgres { .. } => {
                let pid = self.child.as_ref().expect("a running server").id();
                let out = Command::new("kill")
                    .args(["-HUP", &pid.to_string()])
                    .output()
                    .expect("kill -HUP");
                (
                    "received SIGHUP, reloading configuration files".to_owned(),
                    format!("kill -HUP {pid}: {}", out.status),
                )
            }
            // MariaDB has no statement that writes to its error log; a refused login does
            // (log_warnings=2, the default, as the test of a check without a password shows).
            Kind::MariaDb => {
                let out = Command::new("mariadb")
                    .arg("--no-defaults")
                    .arg(format!("--socket={}", self.dir().join("sock").display()))
                    .args(["-u", &name, "-e", ""])
                    .stdin(Stdio::null())
                    .output()
                    .expect("running the mariadb client");
                (
                    format!("Access denied for user '{name}'@'localhost'"),
                    String::from_utf8_lossy(&out.stderr).into_owned(),
                )
            }
            // memcached logs nothing at its default verbosity, and the TLS Redis has no plain
            // port for redis-cli: no test reads their logs.
            Kind::RedisTls | Kind::Memcached => panic!("no log mark for this server"),
        };
        loop {
            let log = self.log();
            let found = log.get(from..).and_then(|new| {
                let at = from + new.find(&line)?;
                let line_start = log[..at].rfind('\n').map_or(0, |nl| nl + 1);
                let line_end = at + log[at..].find('\n')? + 1;
                Some(line_start..line_end)
            });
            if let Some(range) = found {
                return range;
            }
            assert!(
                start.elapsed() < LOG_WAIT,
                "no {line:?} in the server log after {LOG_WAIT:?} ({said}); the log since: {}",
                log.get(from..).unwrap_or("")
            );
            std::thread::sleep(Duration::from_millis(10));
        }
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
    #[track_caller]
    pub fn redis(extra: &[&str]) -> Option<DbServer> {
        if !installed("redis-server", "redis-server") || !installed("redis-cli", "redis-tools") {
            return None;
        }
        // Set-up and start burn CPU for seconds: no probe run of another test beside them.
        let _heavy = super::cpu::heavy();
        let dir = TempDir::new();
        hand_over(dir.path());
        let port = dead_port();
        let log = dir.path().join("redis.log");
        let mut c = command("redis-server");
        c.args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            // For the log mark (DEBUG LOG), from loopback only.
            .args(["--enable-debug-command", "local"])
            .arg("--dir")
            .arg(dir.path())
            .arg("--logfile")
            .arg(&log)
            .args(extra);
        let password = extra
            .windows(2)
            .find(|pair| pair[0] == "--requirepass")
            .map(|pair| pair[1].to_owned());
        let kind = Kind::Redis { password };
        let mut s = DbServer::spawn(c, kind, dir, port, log, "TERM", false);
        s.wait_ready(Some("Ready to accept connections"));
        Some(s)
    }

    /// `redis-server` speaking only TLS (`tls-port`), with a certificate from `pki`.
    #[track_caller]
    pub fn redis_tls(pki: &Pki) -> Option<DbServer> {
        if !installed("redis-server", "redis-server") {
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
        let mut s = DbServer::spawn(c, Kind::RedisTls, dir, port, log, "TERM", false);
        s.wait_ready(Some("Ready to accept connections"));
        Some(s)
    }

    /// Runs `redis-cli ARGS` against this server (plain port, with its `--requirepass`),
    /// returning its stdout.
    pub fn redis_cli(&self, args: &[&str]) -> String {
        let mut c = Command::new("redis-cli");
        if let Kind::Redis {
            password: Some(password),
        } = &self.kind
        {
            c.env("REDISCLI_AUTH", password);
        }
        let out = c
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("running redis-cli");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    // --- memcached -------------------------------------------------------------------------------

    #[track_caller]
    pub fn memcached() -> Option<DbServer> {
        if !installed("memcached", "memcached") {
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
        let mut s = DbServer::spawn(c, Kind::Memcached, dir, port, log, "TERM", true);
        s.wait_ready(None);
        Some(s)
    }

    // --- PostgreSQL ------------------------------------------------------------------------------

    /// A fresh PostgreSQL cluster (superuser `postgres`). `auth`: the pg_hba method of TCP
    /// logins (`scram-sha-256`, `md5`) and the superuser's password; trust when `None`. `ssl`
    /// on with `pki`'s certificate when given, and `extra` `-c NAME=VALUE` settings. `standby`:
    /// a standby (an empty `standby.signal`, no primary) that never leaves recovery.
    #[track_caller]
    pub fn postgres(
        auth: Option<(&str, &str)>,
        pki: Option<&Pki>,
        extra: &[&str],
        standby: bool,
    ) -> Option<DbServer> {
        let pg = match pg_install() {
            Ok(pg) => pg,
            Err(why) => {
                skip_unless(REQUIRE_DB, why);
                return None;
            }
        };
        // Set-up and start burn CPU for seconds: no probe run of another test beside them.
        let _heavy = super::cpu::heavy();
        let initdb = pg.bin.join("initdb");
        let dir = TempDir::new();
        let data = dir.path().join("data");
        if let Some((_, pw)) = auth {
            dir.write("pwfile", pw);
        }
        hand_over(dir.path());
        let mut c = command(initdb.to_str().expect("a UTF-8 path"));
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
        let mut c = command(pg.bin.join("postgres").to_str().expect("a UTF-8 path"));
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
        let kind = Kind::Postgres { major: pg.major };
        let mut s = DbServer::spawn(c, kind, dir, port, log, "INT", true);
        s.wait_ready(Some(if standby {
            "entering standby mode"
        } else {
            "database system is ready to accept connections"
        }));
        Some(s)
    }

    /// The major version of the PostgreSQL this server runs (15 for 15.18).
    pub fn postgres_major(&self) -> u32 {
        match self.kind {
            Kind::Postgres { major } => major,
            _ => panic!("not a PostgreSQL server"),
        }
    }

    /// Runs SQL as `postgres` over the Unix socket (local trust).
    pub fn psql(&self, sql: &str) {
        let psql = pg_install().expect("a running PostgreSQL").bin.join("psql");
        let mut c = command(psql.to_str().expect("a UTF-8 path"));
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
    #[track_caller]
    pub fn mariadb(extra: &[&str]) -> Option<DbServer> {
        if !installed("mariadbd", "mariadb-server")
            || !installed("mariadb-install-db", "mariadb-server")
            || !installed("mariadb", "mariadb-client")
        {
            return None;
        }
        // Set-up and start burn CPU for seconds: no probe run of another test beside them.
        let _heavy = super::cpu::heavy();
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
            // And even alone, under a heavy load, a bootstrap failed once in 100 runs with no
            // more than "Installation of system tables failed": a set-up step, not what the
            // tests judge, so a failed one is said and tried again, twice at most.
            for attempt in 1.. {
                let out = c.stdin(Stdio::null()).output().expect("mariadb-install-db");
                if out.status.success() {
                    break;
                }
                let why = String::from_utf8_lossy(&out.stderr).into_owned();
                assert!(attempt < 3, "mariadb-install-db failed 3 times: {why}");
                eprintln!("mariadb-install-db failed ({}), again: {why}", out.status);
                let _ = std::fs::remove_dir_all(&data);
            }
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
        let mut s = DbServer::spawn(c, Kind::MariaDb, dir, port, log, "TERM", false);
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

/// The lines of `log` at warning level or above, and Redis's complaints about a client:
/// `# ` is its warning level, and it says `Protocol error` at level verbose.
pub fn loud_lines(log: &str) -> Vec<String> {
    log.lines()
        .filter(|l| {
            let words = ["WARNING", "FATAL", "ERROR", "PANIC", "[Warning]", "[ERROR]"];
            words.iter().any(|w| l.contains(w)) || l.contains(" # ") || l.contains("Protocol error")
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
