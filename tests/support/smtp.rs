//! Debian's Postfix (`postfix`, `scripts/setup.sh test`) for the smtp:// tests
//! (`tests/smtp.rs`): one instance from a `main.cf` and `master.cf` of the test's own in a temp
//! dir (`postfix -c DIR start`), its queue there too, logging to a file there
//! (`maillog_file`, through `postlogd`), listening on four loopback ports:
//!
//! - `plain`: `smtpd` with the test PKI's certificate, so that `EHLO` offers `STARTTLS`;
//! - `smtps`: the same in wrapper mode (TLS from the first byte);
//! - `rejecting`: `smtpd_delay_reject=no` and `smtpd_client_restrictions=reject`: Postfix
//!   answers the connection itself with `554 5.7.1 … Client host rejected: Access denied`;
//! - `limited`: one connection per client (`smtpd_client_connection_count_limit=1`, no
//!   exceptions): a second one is greeted `421 4.7.0 … Error: too many connections`.
//!
//! Postfix starts only as root: without root the constructor skips visibly (a failure under
//! `HEALTHPROBE_REQUIRE_ROOT=1`, which CI sets); without Postfix, under
//! `HEALTHPROBE_REQUIRE_DB=1`. Stopped (`postfix -c DIR stop`) on `Drop`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::db::{is_root, open_connections};
use super::skip::{REQUIRE_DB, REQUIRE_ROOT};
use super::{Pki, TempDir, dead_port, skip_unless};

const READY_WAIT: Duration = Duration::from_secs(30);
const LOG_WAIT: Duration = Duration::from_secs(10);

/// A running Postfix instance; stopped on drop.
pub struct Postfix {
    dir: TempDir,
    pub plain: u16,
    pub smtps: u16,
    pub rejecting: u16,
    pub limited: u16,
    running: bool,
}

/// Runs `postfix -c DIR ARGS` under a pseudo-terminal-free shell: Postfix's command logs to
/// the log file (and to syslog, which a test machine may not have); its output is returned.
fn postfix(dir: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new("postfix")
        .arg("-c")
        .arg(dir)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("running postfix");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()))
        || Path::new("/usr/sbin").join(program).is_file()
}

impl Postfix {
    #[track_caller]
    pub fn start(pki: &Pki) -> Option<Postfix> {
        if !on_path("postfix") {
            skip_unless(
                REQUIRE_DB,
                "postfix is not installed (Debian package postfix: scripts/setup.sh test)",
            );
            return None;
        }
        if !is_root() {
            skip_unless(REQUIRE_ROOT, "Postfix starts only as root");
            return None;
        }
        let _heavy = super::cpu::heavy();
        let dir = TempDir::new();
        let d = dir.path();
        let cert = dir.write("cert.pem", pki.leaf_pem());
        let key = dir.write("key.pem", pki.key_pem());
        for sub in ["queue", "data"] {
            std::fs::create_dir(d.join(sub)).expect("a postfix dir");
        }
        let owned = Command::new("chown")
            .arg("postfix")
            .arg(d.join("data"))
            .status()
            .is_ok_and(|s| s.success());
        assert!(owned, "chown postfix {}", d.join("data").display());
        let (plain, smtps, rejecting, limited) =
            (dead_port(), dead_port(), dead_port(), dead_port());
        dir.write(
            "main.cf",
            format!(
                "compatibility_level = 3.6\n\
                 queue_directory = {q}\n\
                 data_directory = {data}\n\
                 mail_owner = postfix\n\
                 setgid_group = postdrop\n\
                 inet_interfaces = 127.0.0.1\n\
                 inet_protocols = ipv4\n\
                 myhostname = healthprobe.test\n\
                 mydestination =\n\
                 alias_maps =\n\
                 alias_database =\n\
                 smtpd_banner = $myhostname ESMTP healthprobe-test\n\
                 maillog_file_prefixes = {d}\n\
                 maillog_file = {log}\n\
                 smtpd_tls_cert_file = {cert}\n\
                 smtpd_tls_key_file = {key}\n\
                 smtpd_tls_security_level = may\n",
                q = d.join("queue").display(),
                data = d.join("data").display(),
                d = d.display(),
                log = d.join("maillog").display(),
                cert = cert.display(),
                key = key.display(),
            ),
        );
        dir.write(
            "master.cf",
            format!(
                "127.0.0.1:{plain} inet n - n - - smtpd\n\
                 127.0.0.1:{smtps} inet n - n - - smtpd -o smtpd_tls_wrappermode=yes\n\
                 127.0.0.1:{rejecting} inet n - n - - smtpd -o smtpd_delay_reject=no \
                 -o smtpd_client_restrictions=reject\n\
                 127.0.0.1:{limited} inet n - n - - smtpd -o smtpd_client_connection_count_limit=1 \
                 -o smtpd_client_event_limit_exceptions=\n\
                 anvil unix - - n - 1 anvil\n\
                 proxymap unix - - n - - proxymap\n\
                 rewrite unix - - n - - trivial-rewrite\n\
                 tlsmgr unix - - n 1000? 1 tlsmgr\n\
                 postlog unix-dgram n - n - 1 postlogd\n"
            ),
        );
        let (ok, said) = postfix(d, &["start"]);
        let s = Postfix {
            dir,
            plain,
            smtps,
            rejecting,
            limited,
            running: ok,
        };
        assert!(ok, "postfix start failed: {said}\n{}", s.log());
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", plain)).is_err() {
            assert!(
                start.elapsed() < READY_WAIT,
                "postfix not listening after {READY_WAIT:?}:\n{}",
                s.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(s)
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("maillog")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Marks the log: once every connection to its ports is closed, `postfix reload`, whose
    /// `reload -- version …` line the master writes; returns the offset past it.
    pub fn log_mark(&self) -> usize {
        self.mark().1
    }

    /// The log from `from` (a [`Postfix::log_mark`]) to a new mark.
    pub fn log_since(&self, from: usize) -> String {
        let (start, _) = self.mark();
        self.log()[from..start].to_owned()
    }

    fn mark(&self) -> (usize, usize) {
        let start = Instant::now();
        let ports = [self.plain, self.smtps, self.rejecting, self.limited];
        while ports.iter().any(|&p| open_connections(p) > 0) {
            assert!(
                start.elapsed() < LOG_WAIT,
                "postfix still holds connections"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        // smtpd writes its `disconnect from` line after it closes: give it a moment to land
        // before the mark (the mark's own line comes from another process).
        std::thread::sleep(Duration::from_millis(200));
        let from = self.log().len();
        let (ok, said) = postfix(self.dir.path(), &["reload"]);
        assert!(ok, "postfix reload: {said}");
        loop {
            let log = self.log();
            if let Some(at) = log
                .get(from..)
                .and_then(|new| new.find("reload -- version"))
            {
                let at = from + at;
                // The reload's lines (postfix-script's, then the master's) start at `from`.
                if let Some(end) = log[at..].find('\n') {
                    return (from, at + end + 1);
                }
            }
            assert!(
                start.elapsed() < LOG_WAIT,
                "no reload line in the postfix log: {}",
                log.get(from..).unwrap_or("")
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Postfix {
    fn drop(&mut self) {
        if self.running {
            let _ = postfix(self.dir.path(), &["stop"]);
        }
    }
}
