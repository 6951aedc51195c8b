//! Real message brokers for the amqp:// and mqtt:// tests (`tests/brokers.rs`), from Debian's
//! packages (`rabbitmq-server`, `mosquitto`; `scripts/setup.sh test` installs them), each on
//! free loopback ports in its own temp dir, at its Debian default log level.
//!
//! RabbitMQ ([`Rabbit`]) boots in some 7 s of CPU, so the tests that leave it as it was share
//! one ([`Rabbit::shared`]); a test that changes it (stops it) starts its own. Each broker has
//! its own Erlang port mapper (`epmd -port P`, on loopback, started before the broker, which is
//! told not to start one) and node name, its users and vhosts from a definitions file loaded at
//! boot (no `rabbitmqctl` round trips), and both an AMQP and an AMQPS listener. Broker and epmd
//! run under a small `sh` that stops them (and removes the dir) when its stdin closes: on
//! `Drop`, or when the test process exits, since the shared broker is a `static` that is never
//! dropped.
//!
//! Mosquitto ([`Mosquitto`]) starts in milliseconds: each test starts its own, with a password
//! file made by `mosquitto_passwd -b`, anonymous clients refused (or allowed), and a TLS
//! listener.
//!
//! A constructor returns `None` after a visible skip when the broker is not installed, or fails
//! under `HEALTHPROBE_REQUIRE_DB=1`. Log windows are read up to a line the broker writes for a
//! marker connection made once every earlier connection is closed, as `support::db` does.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use super::db::{hand_over, installed, is_root, open_connections, run_setup};
use super::skip::REQUIRE_DB;
use super::{Pki, TempDir, dead_port, skip_unless};

const RABBITMQ_SERVER: &str = "/usr/lib/rabbitmq/bin/rabbitmq-server";
const RABBITMQCTL: &str = "/usr/lib/rabbitmq/bin/rabbitmqctl";
const READY_WAIT: Duration = Duration::from_secs(90);
const LOG_WAIT: Duration = Duration::from_secs(10);

/// The broker's login for the probe: no tags, no permission but access to the vhosts.
pub const USER: &str = "probe";
pub const PASSWORD: &str = "probe-pw";

/// Lines a marker connection makes the broker write, told apart by a counter.
fn mark_name() -> String {
    static COUNT: AtomicUsize = AtomicUsize::new(0);
    format!(
        "healthprobe-log-mark-{}-{}",
        std::process::id(),
        COUNT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Reads `log` from `from` until `needle` shows up in it; returns the range of that line.
fn wait_for_line(log: impl Fn() -> String, from: usize, needle: &str) -> Range<usize> {
    let start = Instant::now();
    loop {
        let text = log();
        let found = text.get(from..).and_then(|new| {
            let at = from + new.find(needle)?;
            let line_start = text[..at].rfind('\n').map_or(0, |nl| nl + 1);
            let line_end = at + text[at..].find('\n')? + 1;
            Some(line_start..line_end)
        });
        if let Some(range) = found {
            return range;
        }
        assert!(
            start.elapsed() < LOG_WAIT,
            "no {needle:?} in the broker log after {LOG_WAIT:?}; the log since: {}",
            text.get(from..).unwrap_or("")
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until the broker has closed every connection to `port`.
fn wait_closed(port: u16) {
    let start = Instant::now();
    while open_connections(port) > 0 {
        assert!(
            start.elapsed() < LOG_WAIT,
            "the broker still holds {} connection(s) to port {port} after {LOG_WAIT:?}",
            open_connections(port)
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn wait_accepts(port: u16, what: &str, log: impl Fn() -> String) {
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < READY_WAIT,
            "{what} does not accept on {port} after {READY_WAIT:?}:\n{}",
            log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

// --- RabbitMQ ------------------------------------------------------------------------------------

/// Whether RabbitMQ and epmd are installed; if not, a skip (a failure under
/// `HEALTHPROBE_REQUIRE_DB=1`).
#[track_caller]
fn rabbit_installed() -> bool {
    if !Path::new(RABBITMQ_SERVER).is_file() {
        skip_unless(
            REQUIRE_DB,
            "RabbitMQ is not installed (Debian package rabbitmq-server: scripts/setup.sh test)",
        );
        return false;
    }
    installed("epmd", "erlang-base")
}

/// A RabbitMQ node with the users and vhosts of [`DEFINITIONS`].
pub struct Rabbit {
    /// The `sh` that runs epmd and the broker; closing its stdin stops them.
    watchdog: Mutex<Option<(Child, ChildStdin)>>,
    dir: TempDir,
    port: u16,
    tls_port: u16,
    epmd_port: u16,
    node: String,
    log: PathBuf,
    ca: PathBuf,
}

/// Users, vhosts and permissions loaded at boot. `probe` has no tags and empty permission
/// patterns: it may open `/`, `app` and `doomed` (which a test deletes) and do nothing there.
const DEFINITIONS: &str = r#"{
  "users": [{"name": "probe", "password": "probe-pw", "tags": []}],
  "vhosts": [{"name": "/"}, {"name": "app"}, {"name": "doomed"}],
  "permissions": [
    {"user": "probe", "vhost": "/", "configure": "", "write": "", "read": ""},
    {"user": "probe", "vhost": "app", "configure": "", "write": "", "read": ""},
    {"user": "probe", "vhost": "doomed", "configure": "", "write": "", "read": ""}
  ]
}"#;

impl Rabbit {
    /// The broker the tests that leave it unchanged share; stopped when the process exits.
    #[track_caller]
    pub fn shared() -> Option<&'static Rabbit> {
        static SHARED: OnceLock<Option<Rabbit>> = OnceLock::new();
        // Each test says its own skip, not only the one that would have started the broker.
        if !rabbit_installed() {
            return None;
        }
        SHARED
            .get_or_init(|| Rabbit::start(&Pki::new(&["localhost", "127.0.0.1"])))
            .as_ref()
    }

    /// A broker of its own, with a certificate from `pki` on its AMQPS listener.
    #[track_caller]
    pub fn start(pki: &Pki) -> Option<Rabbit> {
        if !rabbit_installed() {
            return None;
        }
        // The boot burns CPU for seconds: no probe run of another test beside it.
        let _heavy = super::cpu::heavy();
        let dir = TempDir::new();
        let d = dir.path();
        let (port, tls_port, epmd_port, dist_port) =
            (dead_port(), dead_port(), dead_port(), dead_port());
        let ca = dir.write("ca.pem", &pki.ca_pem);
        dir.write("cert.pem", pki.leaf_pem());
        dir.write("key.pem", pki.key_pem());
        dir.write("definitions.json", DEFINITIONS);
        dir.write("enabled_plugins", "[].\n");
        dir.write("rabbitmq-env.conf", "");
        dir.write(
            "rabbitmq.conf",
            format!(
                "listeners.tcp.1 = 127.0.0.1:{port}\n\
                 listeners.ssl.1 = 127.0.0.1:{tls_port}\n\
                 ssl_options.cacertfile = {d}/ca.pem\n\
                 ssl_options.certfile = {d}/cert.pem\n\
                 ssl_options.keyfile = {d}/key.pem\n\
                 ssl_options.verify = verify_none\n\
                 ssl_options.fail_if_no_peer_cert = false\n\
                 loopback_users = none\n\
                 definitions.import_backend = local_filesystem\n\
                 definitions.local.path = {d}/definitions.json\n",
                d = d.display()
            ),
        );
        let node = format!("healthprobe-{port}@localhost");
        let log = d.join("rabbit.log");
        let mut c = Command::new("sh");
        // epmd first (the broker is told not to start one of its own, which would outlive
        // the test), then the broker; when stdin closes, both are stopped and the dir removed.
        c.arg("-c")
            .arg(
                r#"epmd -port "$ERL_EPMD_PORT" & e=$!
                i=0
                until epmd -port "$ERL_EPMD_PORT" -names >/dev/null 2>&1 || [ $i -gt 200 ]; do
                    i=$((i + 1)); sleep 0.05
                done
                "$0" >"$RABBITMQ_LOG_BASE/stdout.log" 2>&1 & r=$!
                read _ignored
                kill -TERM $r 2>/dev/null; wait $r
                kill $e 2>/dev/null; wait $e
                rm -rf "$HEALTHPROBE_RABBIT_DIR""#,
            )
            .arg(RABBITMQ_SERVER)
            .env("HEALTHPROBE_RABBIT_DIR", d)
            .env("ERL_EPMD_ADDRESS", "127.0.0.1")
            .env("ERL_EPMD_PORT", epmd_port.to_string())
            .env("RABBITMQ_NODENAME", &node)
            .env("RABBITMQ_DIST_PORT", dist_port.to_string())
            .env(
                "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS",
                // No busy-waiting schedulers (Erlang spins them by default): the broker
                // idles between checks instead of burning the CPU the probe runs of other
                // tests are timed on.
                "-start_epmd false -kernel inet_dist_use_interface {127,0,0,1} \
                 +sbwt none +sbwtdcpu none +sbwtdio none",
            )
            .env("RABBITMQ_LOG_BASE", d)
            .env("RABBITMQ_LOGS", &log)
            .env("RABBITMQ_MNESIA_BASE", d.join("mnesia"))
            .env("RABBITMQ_CONFIG_FILE", d.join("rabbitmq.conf"))
            .env("RABBITMQ_ADVANCED_CONFIG_FILE", d.join("advanced.config"))
            .env("RABBITMQ_ENABLED_PLUGINS_FILE", d.join("enabled_plugins"))
            .env("RABBITMQ_CONF_ENV_FILE", d.join("rabbitmq-env.conf"))
            .env("RABBITMQ_PID_FILE", d.join("rabbit.pid"))
            .env("HOME", d)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut child = c.spawn().expect("starting sh for RabbitMQ");
        let stdin = child.stdin.take().expect("the watchdog's stdin");
        let rabbit = Rabbit {
            watchdog: Mutex::new(Some((child, stdin))),
            dir,
            port,
            tls_port,
            epmd_port,
            node,
            log,
            ca,
        };
        rabbit.wait_ready();
        Some(rabbit)
    }

    fn wait_ready(&self) {
        let start = Instant::now();
        while !self.log().contains("Server startup complete") {
            let exited = self
                .watchdog
                .lock()
                .unwrap()
                .as_mut()
                .map(|(c, _)| c.try_wait());
            if let Some(Ok(Some(status))) = exited {
                panic!("RabbitMQ's sh exited ({status}):\n{}", self.log());
            }
            assert!(
                start.elapsed() < READY_WAIT,
                "RabbitMQ did not start in {READY_WAIT:?}:\n{}\n{}",
                self.log(),
                std::fs::read_to_string(self.dir.path().join("stdout.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        wait_accepts(self.port, "RabbitMQ", || self.log());
        wait_accepts(self.tls_port, "RabbitMQ's TLS listener", || self.log());
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn tls_port(&self) -> u16 {
        self.tls_port
    }

    /// The test CA's certificate, for `--ca-file`.
    pub fn ca_file(&self) -> &str {
        self.ca.to_str().expect("a UTF-8 path")
    }

    /// Runs `rabbitmqctl ARGS` against this node; fails the test when it fails.
    pub fn ctl(&self, args: &[&str]) {
        let d = self.dir.path();
        let mut c = Command::new(RABBITMQCTL);
        c.args(["-n", &self.node])
            .args(args)
            .env("HOME", d)
            .env("ERL_EPMD_PORT", self.epmd_port.to_string())
            .env("RABBITMQ_CONF_ENV_FILE", d.join("rabbitmq-env.conf"))
            .env(
                "RABBITMQ_CTL_ERL_ARGS",
                // No busy-waiting schedulers (Erlang spins them by default): the broker
                // idles between checks instead of burning the CPU the probe runs of other
                // tests are timed on.
                "-start_epmd false -kernel inet_dist_use_interface {127,0,0,1} \
                 +sbwt none +sbwtdcpu none +sbwtdio none",
            );
        run_setup(c, &format!("rabbitmqctl {}", args.join(" ")));
    }

    /// The broker's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The offset just past a new mark line (see the module docs).
    pub fn log_mark(&self) -> usize {
        self.mark().end
    }

    /// The log from `from` (a [`Rabbit::log_mark`]) to a new mark.
    pub fn log_since(&self, from: usize) -> String {
        let mark = self.mark();
        self.log()[from..mark.start].to_owned()
    }

    /// A login as a user that does not exist makes RabbitMQ log
    /// `PLAIN login refused: user 'NAME' - invalid credentials`, at once. The mark runs from
    /// the marker connection's first line (`accepting AMQP connection <…> (127.0.0.1:PORT -> …)`)
    /// to the end of that one.
    fn mark(&self) -> Range<usize> {
        wait_closed(self.port);
        let from = self.log().len();
        let name = mark_name();
        let local_port = amqp_refused_login(self.port, &name);
        let end = wait_for_line(|| self.log(), from, &format!("user '{name}'")).end;
        let log = self.log();
        let first = format!("(127.0.0.1:{local_port} -> ");
        let at = from
            + log[from..end]
                .find(&first)
                .unwrap_or_else(|| panic!("no {first:?} in the log: {}", &log[from..end]));
        let start = log[..at].rfind('\n').map_or(0, |nl| nl + 1);
        start..end
    }
}

impl Drop for Rabbit {
    fn drop(&mut self) {
        if let Some((mut child, stdin)) = self.watchdog.lock().unwrap().take() {
            drop(stdin);
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(30) {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The lines of a RabbitMQ log at warning level or above.
pub fn rabbit_loud_lines(log: &str) -> Vec<String> {
    log.lines()
        .filter(|l| {
            ["[warning]", "[error]", "[critical]"]
                .iter()
                .any(|w| l.contains(w))
        })
        .map(String::from)
        .collect()
}

/// Reads one AMQP frame (header, payload, frame end) and returns its payload.
fn read_frame(s: &mut TcpStream) -> Vec<u8> {
    let mut head = [0u8; 7];
    s.read_exact(&mut head)
        .expect("reading an AMQP frame header");
    let size = u32::from_be_bytes([head[3], head[4], head[5], head[6]]) as usize;
    let mut rest = vec![0u8; size + 1];
    s.read_exact(&mut rest).expect("reading an AMQP frame");
    rest.truncate(size);
    rest
}

/// Logs in as `user` (who does not exist), asking to be told of the refusal, and reads it;
/// returns the connection's local port.
fn amqp_refused_login(port: u16, user: &str) -> u16 {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connecting for a log mark");
    s.set_read_timeout(Some(LOG_WAIT)).unwrap();
    s.write_all(b"AMQP\0\0\x09\x01").unwrap();
    read_frame(&mut s); // Connection.Start
    let caps = b"\x1cauthentication_failure_closet\x01";
    let mut props = b"\x0ccapabilitiesF".to_vec();
    props.extend_from_slice(&(caps.len() as u32).to_be_bytes());
    props.extend_from_slice(caps);
    let mut args = (props.len() as u32).to_be_bytes().to_vec();
    args.extend_from_slice(&props);
    args.extend_from_slice(b"\x05PLAIN");
    let response = format!("\0{user}\0x");
    args.extend_from_slice(&(response.len() as u32).to_be_bytes());
    args.extend_from_slice(response.as_bytes());
    args.extend_from_slice(b"\x05en_US");
    let mut frame = vec![1, 0, 0];
    frame.extend_from_slice(&(args.len() as u32 + 4).to_be_bytes());
    frame.extend_from_slice(&[0, 10, 0, 11]);
    frame.extend_from_slice(&args);
    frame.push(0xce);
    s.write_all(&frame).unwrap();
    let close = read_frame(&mut s);
    assert_eq!(close[..4], [0, 10, 0, 50], "expected Connection.Close");
    // Close-Ok.
    let _ = s.write_all(&[1, 0, 0, 0, 0, 0, 4, 0, 10, 0, 51, 0xce]);
    s.local_addr().expect("local_addr").port()
}

// --- Mosquitto ------------------------------------------------------------------------------------

/// A mosquitto with the user [`USER`] (password [`PASSWORD`]), a plain and a TLS listener.
pub struct Mosquitto {
    child: Option<Child>,
    /// Removed on drop, after the broker stops.
    _dir: TempDir,
    port: u16,
    tls_port: u16,
    log: PathBuf,
    ca: PathBuf,
}

impl Mosquitto {
    /// `anonymous`: whether clients without a login are let in (`allow_anonymous`).
    #[track_caller]
    pub fn start(pki: &Pki, anonymous: bool) -> Option<Mosquitto> {
        if !installed("mosquitto", "mosquitto") || !installed("mosquitto_passwd", "mosquitto") {
            return None;
        }
        let dir = TempDir::new();
        let d = dir.path();
        let ca = dir.write("ca.pem", &pki.ca_pem);
        dir.write("cert.pem", pki.leaf_pem());
        dir.write("key.pem", pki.key_pem());
        let passwords = d.join("passwords");
        let mut c = Command::new("mosquitto_passwd");
        c.arg("-c").arg("-b").arg(&passwords).args([USER, PASSWORD]);
        run_setup(c, "mosquitto_passwd");
        let (port, tls_port) = (dead_port(), dead_port());
        let log = d.join("mosquitto.log");
        // Debian's log settings otherwise (log_type: its default, error to information).
        let mut conf = format!(
            "per_listener_settings false\n\
             allow_anonymous {anonymous}\n\
             password_file {d}/passwords\n\
             persistence false\n\
             log_dest file {log}\n\
             listener {port} 127.0.0.1\n\
             listener {tls_port} 127.0.0.1\n\
             cafile {d}/ca.pem\n\
             certfile {d}/cert.pem\n\
             keyfile {d}/key.pem\n",
            d = d.display(),
            log = log.display()
        );
        if is_root() {
            // As root it would switch to the user `mosquitto`, who cannot read the temp dir.
            conf.push_str("user nobody\n");
        }
        dir.write("mosquitto.conf", conf);
        hand_over(d);
        let child = Command::new("mosquitto")
            .arg("-c")
            .arg(d.join("mosquitto.conf"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting mosquitto");
        let m = Mosquitto {
            child: Some(child),
            _dir: dir,
            port,
            tls_port,
            log,
            ca,
        };
        wait_accepts(port, "mosquitto", || m.log());
        wait_accepts(tls_port, "mosquitto's TLS listener", || m.log());
        // Those probes of the ports are in the log: start it afresh from here.
        wait_closed(port);
        wait_closed(tls_port);
        Some(m)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn tls_port(&self) -> u16 {
        self.tls_port
    }

    pub fn ca_file(&self) -> &str {
        self.ca.to_str().expect("a UTF-8 path")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn log_mark(&self) -> usize {
        self.mark().end
    }

    pub fn log_since(&self, from: usize) -> String {
        let mark = self.mark();
        self.log()[from..mark.start].to_owned()
    }

    /// A client named after the mark logs in: `New client connected from … as NAME (…)`.
    fn mark(&self) -> Range<usize> {
        wait_closed(self.port);
        let from = self.log().len();
        let name = mark_name();
        let mut body = b"\0\x04MQTT\x04\xc2\0\0".to_vec();
        for field in [name.as_str(), USER, PASSWORD] {
            body.extend_from_slice(&(field.len() as u16).to_be_bytes());
            body.extend_from_slice(field.as_bytes());
        }
        let mut packet = vec![0x10, body.len() as u8];
        packet.extend_from_slice(&body);
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).expect("connecting for a mark");
        s.set_read_timeout(Some(LOG_WAIT)).unwrap();
        s.write_all(&packet).unwrap();
        let mut connack = [0u8; 4];
        s.read_exact(&mut connack).expect("reading CONNACK");
        assert_eq!(connack, [0x20, 2, 0, 0], "the marker's login");
        s.write_all(&[0xe0, 0]).unwrap();
        wait_for_line(|| self.log(), from, &format!(" as {name} "))
    }

    /// Stops the broker now; the dir stays until drop.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        self.stop();
    }
}
