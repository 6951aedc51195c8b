//! Debian's ZooKeeper (package `zookeeper`, run by the JRE `default-jre-headless`;
//! `scripts/setup.sh test`) for the zookeeper:// tests (`tests/zookeeper.rs`): a standalone
//! server, or a three-member ensemble on loopback ports, each member a JVM started the way
//! Debian's init script (package `zookeeperd`) starts it, with a configuration of the test's
//! own in a temp dir. Stopped on `Drop`.
//!
//! The JVM is slow to start: each test module starts its servers once ([`std::sync::OnceLock`]
//! in the test), the members of an ensemble start in parallel, and each JVM is kept small
//! (`-Xmx64m`, the serial collector, the C1 compiler only).
//!
//! Logging: Debian's package puts no SLF4J binding on ZooKeeper's class path, so as packaged it
//! logs nothing at all (SLF4J's no-operation logger). These servers add Debian's log4j 1.2 and
//! its SLF4J binding (`liblog4j1.2-java`, `libslf4j-java`) so that what ZooKeeper logs at the
//! level Debian configures (`INFO,ROLLINGFILE`, `/etc/zookeeper/conf/log4j.properties`) can be
//! read: [`ZkServer::log_mark`] is a `srvr` of the test's own, whose `Processing srvr command
//! from /127.0.0.1:PORT` line names the test's port.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::db::open_connections;
use super::skip::REQUIRE_DB;
use super::{TempDir, dead_port, skip_unless};

const JAR: &str = "/usr/share/java/zookeeper.jar";
/// Debian's log4j configuration (and its `zoo.cfg`, which is not used).
const DEBIAN_CONF: &str = "/etc/zookeeper/conf";
const LOG_JARS: [&str; 2] = [
    "/usr/share/java/slf4j-log4j12.jar",
    "/usr/share/java/log4j-1.2.jar",
];
const READY_WAIT: Duration = Duration::from_secs(60);
const LOG_WAIT: Duration = Duration::from_secs(30);
/// Small and quick to start.
const JVM_FLAGS: [&str; 4] = [
    "-Xmx64m",
    "-XX:+UseSerialGC",
    "-XX:TieredStopAtLevel=1",
    "-Xss512k",
];

/// One ZooKeeper JVM.
pub struct ZkServer {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
}

/// Whether Debian's ZooKeeper and a JRE are installed; if not, a visible skip (a failure
/// under `HEALTHPROBE_REQUIRE_DB=1`).
#[track_caller]
fn installed() -> bool {
    let missing: Vec<&str> = [JAR, "/usr/bin/java", DEBIAN_CONF]
        .into_iter()
        .chain(LOG_JARS)
        .filter(|p| !Path::new(p).exists())
        .collect();
    if !missing.is_empty() {
        skip_unless(
            REQUIRE_DB,
            format!(
                "ZooKeeper is not installed: no {} (Debian packages zookeeper, \
                 default-jre-headless, liblog4j1.2-java, libslf4j-java: scripts/setup.sh test)",
                missing.join(", ")
            ),
        );
    }
    missing.is_empty()
}

impl ZkServer {
    /// Writes `zoo.cfg` (`extra` lines after the client port and data dir) into `dir` and
    /// starts the JVM; does not wait.
    fn spawn(dir: &Path, port: u16, extra: &str) -> ZkServer {
        let data = dir.join("data");
        std::fs::create_dir_all(&data).expect("the data dir");
        let cfg = dir.join("zoo.cfg");
        std::fs::write(
            &cfg,
            format!(
                "tickTime=500\ninitLimit=10\nsyncLimit=2\ndataDir={}\nclientPort={port}\n\
                 clientPortAddress=127.0.0.1\nadmin.enableServer=false\n{extra}",
                data.display()
            ),
        )
        .expect("zoo.cfg");
        let classpath = [DEBIAN_CONF, JAR]
            .into_iter()
            .chain(LOG_JARS)
            .collect::<Vec<_>>()
            .join(":");
        let child = Command::new("/usr/bin/java")
            .args(JVM_FLAGS)
            .arg("-cp")
            .arg(classpath)
            .arg(format!("-Dzookeeper.log.dir={}", dir.display()))
            .arg("-Dzookeeper.root.logger=INFO,ROLLINGFILE")
            .arg("org.apache.zookeeper.server.quorum.QuorumPeerMain")
            .arg(&cfg)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting java");
        ZkServer {
            child: Some(child),
            port,
            dir: dir.to_owned(),
        }
    }

    /// A standalone server, ready (`srvr` answers `Mode: standalone`).
    #[track_caller]
    pub fn standalone(dir: &TempDir) -> Option<ZkServer> {
        if !installed() {
            return None;
        }
        let _heavy = super::cpu::heavy();
        let mut s = ZkServer::spawn(dir.path(), dead_port(), "");
        s.wait_for_mode(&["standalone"]);
        Some(s)
    }

    /// Three members on loopback ports, started at once; returns when each serves as leader or
    /// follower.
    #[track_caller]
    pub fn ensemble(dir: &TempDir) -> Option<Vec<ZkServer>> {
        if !installed() {
            return None;
        }
        let _heavy = super::cpu::heavy();
        let peers: Vec<(u16, u16)> = (0..3).map(|_| (dead_port(), dead_port())).collect();
        let servers: String = peers
            .iter()
            .enumerate()
            .map(|(i, (quorum, election))| {
                format!("server.{}=127.0.0.1:{quorum}:{election}\n", i + 1)
            })
            .collect();
        let mut members: Vec<ZkServer> = (0..3)
            .map(|i| {
                let member = dir.path().join(format!("zk{}", i + 1));
                std::fs::create_dir_all(member.join("data")).expect("member dir");
                std::fs::write(member.join("data/myid"), format!("{}\n", i + 1)).expect("myid");
                ZkServer::spawn(&member, dead_port(), &servers)
            })
            .collect();
        for m in &mut members {
            m.wait_for_mode(&["leader", "follower"]);
        }
        Some(members)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `srvr`, as the test asks it; the reply and the local port it was asked from.
    pub fn srvr(&self) -> Option<(String, u16)> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        let local = s.local_addr().ok()?.port();
        s.write_all(b"srvr").ok()?;
        let mut reply = String::new();
        s.read_to_string(&mut reply).ok()?;
        Some((reply, local))
    }

    /// Waits until `srvr` answers one of `modes`.
    #[track_caller]
    pub fn wait_for_mode(&mut self, modes: &[&str]) {
        let start = Instant::now();
        loop {
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                panic!("ZooKeeper exited ({status}):\n{}", self.log());
            }
            if let Some((reply, _)) = self.srvr()
                && modes
                    .iter()
                    .any(|m| reply.contains(&format!("Mode: {m}\n")))
            {
                return;
            }
            assert!(
                start.elapsed() < READY_WAIT,
                "ZooKeeper on port {} not in mode {modes:?} after {READY_WAIT:?}:\n{}",
                self.port,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("zookeeper.log")).unwrap_or_default()
    }

    /// Marks the log: once every earlier connection is closed, a `srvr` of the test's own;
    /// returns the offset past its line.
    pub fn log_mark(&self) -> usize {
        self.mark().1
    }

    /// The log from `from` (a [`ZkServer::log_mark`]) to a new mark.
    pub fn log_since(&self, from: usize) -> String {
        let (start, _) = self.mark();
        self.log()[from..start].to_owned()
    }

    fn mark(&self) -> (usize, usize) {
        let start = Instant::now();
        while open_connections(self.port) > 0 {
            assert!(
                start.elapsed() < LOG_WAIT,
                "ZooKeeper still holds connections to port {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        let (_, local) = self.srvr().expect("a srvr for the log mark");
        let needle = format!("Processing srvr command from /127.0.0.1:{local}");
        loop {
            let log = self.log();
            if let Some(at) = log.find(&needle) {
                let line_start = log[..at].rfind('\n').map_or(0, |nl| nl + 1);
                if let Some(end) = log[at..].find('\n') {
                    return (line_start, at + end + 1);
                }
            }
            assert!(
                start.elapsed() < LOG_WAIT,
                "no {needle:?} in the ZooKeeper log after {LOG_WAIT:?}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Stops the JVM now.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for ZkServer {
    fn drop(&mut self) {
        self.stop();
    }
}
