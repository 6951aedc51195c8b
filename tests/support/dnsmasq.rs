//! Debian's `dnsmasq` (package `dnsmasq-base`: the program without the system service that
//! package `dnsmasq` adds; `scripts/setup.sh test` installs it) as the real name server of the
//! `dns://` tests: each started in its own temp dir on a free port of 127.0.0.1 (and ::1 where
//! the machine has it), answering only from its own records (`--no-resolv --no-hosts`, so no
//! query leaves the machine), stopped on `Drop`. As root it drops to `nobody` once its ports are
//! bound.
//!
//! Its records come from its command line (`--host-record`, `--srv-host`, `--txt-record`,
//! `--cname`, `--local=/test/` for NXDOMAIN) and from an `--addn-hosts` file that
//! [`Dnsmasq::add_host`] appends to while a probe waits: dnsmasq rereads it on SIGHUP and logs
//! `read FILE - N names` when done, which is also the log mark ([`Dnsmasq::log_mark`]).
//!
//! What dnsmasq 2.90 answers, found with these tests: a name under a `--local` domain that it
//! has no record for is NXDOMAIN; a name outside every domain it knows, with no upstream, is
//! REFUSED; a name forwarded to a closed port gets no answer at all (dnsmasq waits for the
//! client to ask again, never SERVFAIL). A real SERVFAIL comes from a validating dnsmasq in
//! front of this one ([`Dnsmasq::validating_front`]): the unsigned answers of the one behind
//! fail DNSSEC validation (`validation NAME is BOGUS`).
//!
//! Not installed: a visible skip, or a failure under `HEALTHPROBE_REQUIRE_DB=1`.

use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::db::is_root;
use super::skip::REQUIRE_DB;
use super::{TempDir, skip_unless};

const READY_WAIT: Duration = Duration::from_secs(10);
/// The root zone's trust anchor (KSK-2017), for the validating front.
const ROOT_ANCHOR: &str =
    ".,20326,8,2,E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D";

/// A running dnsmasq; stopped on drop.
pub struct Dnsmasq {
    child: Child,
    listen: IpAddr,
    port: u16,
    v6: bool,
    hosts: PathBuf,
    log: PathBuf,
    _dir: TempDir,
}

/// The dnsmasq program, or `None` after a skip naming the package.
#[track_caller]
fn program() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join("dnsmasq"))
            .find(|p| p.is_file())
    });
    let found = on_path.or_else(|| {
        let sbin = PathBuf::from("/usr/sbin/dnsmasq");
        sbin.is_file().then_some(sbin)
    });
    if found.is_none() {
        skip_unless(
            REQUIRE_DB,
            "dnsmasq is not installed (Debian package dnsmasq-base: scripts/setup.sh test)",
        );
    }
    found
}

/// Whether this machine has an IPv6 loopback.
fn has_v6() -> bool {
    UdpSocket::bind((Ipv6Addr::LOCALHOST, 0)).is_ok()
}

/// A port free for UDP and TCP on 127.0.0.1 (and on ::1 when `v6`), at the moment of asking.
fn free_port(v6: bool) -> u16 {
    loop {
        let udp = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("binding a UDP port");
        let port = udp.local_addr().expect("local_addr").port();
        let free = TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok()
            && (!v6
                || (UdpSocket::bind((Ipv6Addr::LOCALHOST, port)).is_ok()
                    && TcpListener::bind((Ipv6Addr::LOCALHOST, port)).is_ok()));
        if free {
            return port;
        }
    }
}

impl Dnsmasq {
    /// dnsmasq on a free port of 127.0.0.1 (and ::1), with `args` giving its records.
    #[track_caller]
    pub fn start(args: &[&str]) -> Option<Dnsmasq> {
        let program = program()?;
        let v6 = has_v6();
        // Another test may take the port between the check and the bind: try again.
        let mut tries = 0;
        loop {
            let port = free_port(v6);
            match Dnsmasq::spawn(&program, Ipv4Addr::LOCALHOST.into(), v6, port, args) {
                Ok(server) => return Some(server),
                Err(log) if log.contains("in use") && tries < 5 => tries += 1,
                Err(log) => panic!("dnsmasq did not start:\n{log}"),
            }
        }
    }

    /// dnsmasq on `listen`, port `port` (53 for a resolv.conf, which names no port: root only).
    #[track_caller]
    pub fn start_at(listen: IpAddr, port: u16, args: &[&str]) -> Option<Dnsmasq> {
        let program = program()?;
        Some(
            Dnsmasq::spawn(&program, listen, false, port, args)
                .unwrap_or_else(|log| panic!("dnsmasq did not start:\n{log}")),
        )
    }

    /// A second dnsmasq that validates DNSSEC and forwards everything to this one, whose
    /// unsigned answers then fail validation: SERVFAIL for every name. It logs its queries
    /// (`validation NAME is BOGUS`).
    #[track_caller]
    pub fn validating_front(&self) -> Option<Dnsmasq> {
        let upstream = format!("--server={}#{}", self.listen, self.port);
        let anchor = format!("--trust-anchor={ROOT_ANCHOR}");
        Dnsmasq::start(&["--dnssec", &anchor, &upstream, "--log-queries"])
    }

    fn spawn(
        program: &Path,
        listen: IpAddr,
        v6: bool,
        port: u16,
        args: &[&str],
    ) -> Result<Dnsmasq, String> {
        let dir = TempDir::new();
        let hosts = dir.write("hosts", "");
        let log = dir.path().join("dnsmasq.log");
        let mut c = Command::new(program);
        c.args(["--no-resolv", "--no-hosts", "--keep-in-foreground"])
            .args(["--bind-interfaces", "--pid-file"])
            .arg(format!("--port={port}"))
            .arg(format!("--listen-address={listen}"))
            .arg(format!("--addn-hosts={}", hosts.display()))
            .arg(format!("--log-facility={}", log.display()))
            .args(args);
        if v6 {
            c.arg("--listen-address=::1");
        }
        if is_root() {
            c.args(["--user=nobody", "--group=nogroup"]);
        }
        let child = c
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("{}: {e}", program.display()))?;
        let mut server = Dnsmasq {
            child,
            listen,
            port,
            v6,
            hosts,
            log,
            _dir: dir,
        };
        let start = Instant::now();
        loop {
            if let Ok(Some(status)) = server.child.try_wait() {
                let mut stderr = String::new();
                if let Some(mut e) = server.child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut e, &mut stderr);
                }
                return Err(format!("exited ({status}): {stderr}{}", server.log()));
            }
            // Ready once it answers and has logged its first read of the hosts file: a mark
            // (SIGHUP, then a new `read FILE` line) taken before that line was written counted
            // it as the mark's, and the mark's own line then fell among the checks' (once).
            if TcpStream::connect((listen, port)).is_ok()
                && server
                    .log()
                    .contains(&format!("read {}", server.hosts.display()))
            {
                return Ok(server);
            }
            if start.elapsed() > READY_WAIT {
                return Err(format!("not ready after {READY_WAIT:?}:\n{}", server.log()));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Whether it also listens on ::1.
    pub fn has_v6(&self) -> bool {
        self.v6
    }

    /// `dns://127.0.0.1:PORT/NAME` (NAME may carry `?type=…`).
    pub fn target(&self, name: &str) -> String {
        format!("dns://{}:{}/{name}", self.listen, self.port)
    }

    /// `dns://[::1]:PORT/NAME`.
    pub fn target6(&self, name: &str) -> String {
        format!("dns://[::1]:{}/{name}", self.port)
    }

    /// The log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Adds `ip name` to the addn-hosts file and waits until dnsmasq has reread it.
    pub fn add_host(&self, ip: &str, name: &str) {
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&self.hosts)
            .expect("opening the hosts file");
        writeln!(f, "{ip} {name}").expect("writing the hosts file");
        drop(f);
        self.reread();
    }

    /// Makes dnsmasq reread its hosts file (SIGHUP), waits for its `read FILE` line, and
    /// returns the log's length past it: what earlier queries made it log comes before.
    pub fn log_mark(&self) -> usize {
        self.reread().1
    }

    /// The log from `from` (a [`Dnsmasq::log_mark`]) to the start of a new mark's line.
    pub fn log_since(&self, from: usize) -> String {
        let (mark, _) = self.reread();
        self.log()[from..mark].to_owned()
    }

    /// SIGHUP, then waits for the new `read FILE` line; returns where that line starts and
    /// ends in the log.
    fn reread(&self) -> (usize, usize) {
        let line = format!("read {}", self.hosts.display());
        let count = |log: &str| log.matches(&line).count();
        let before = count(&self.log());
        let status = Command::new("kill")
            .args(["-HUP", &self.child.id().to_string()])
            .status()
            .expect("kill -HUP");
        assert!(status.success(), "kill -HUP dnsmasq: {status}");
        let start = Instant::now();
        loop {
            let log = self.log();
            if count(&log) > before
                && let Some(at) = log.rfind(&line)
            {
                let line_start = log[..at].rfind('\n').map_or(0, |nl| nl + 1);
                let line_end = log[at..].find('\n').map_or(log.len(), |nl| at + nl + 1);
                return (line_start, line_end);
            }
            assert!(
                start.elapsed() < READY_WAIT,
                "dnsmasq did not reread {} after SIGHUP:\n{log}",
                self.hosts.display()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Dnsmasq {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
