//! The hostile-peer harness: run the probe against a peer that misbehaves and hold it to what
//! DESIGN.md promises whatever the peer does: exit 0 or 1 ([`Cmd::run`] rejects the rest), ended
//! by `--timeout` ([`Output::ended_by`]: each check within 100 ms of it by the probe's own clock,
//! the process within a loose grace by the wall clock), peak RSS under 8 MiB (optimized builds;
//! see [`peak_rss_limit_kb`]). Every run also prints `HOSTILE <case> <ms> peak_kb=<KiB> ...` on
//! stderr, before any assertion, so the worst cases can be collected with
//! `cargo test --test tests hostile:: -- --nocapture --test-threads=1 2>&1 | grep HOSTILE`.
//!
//! Peers are scripted with [`super::Server::raw`]; the moves most of them share are here.

use std::io::{Read, Write};
use std::ops::Deref;
use std::thread;
use std::time::Duration;

pub use super::cmd::{GNU_TIME, parse_peak_kb};
use super::{Cmd, Output, ResultLine};

/// Peak resident set size every run of an optimized build must stay under. Asserted
/// by `cargo test --release --test tests hostile::`, where the worst case (twenty targets at once) peaks
/// near 4.5 MiB with glibc (the static musl release binary: 2.4 MiB for the same run).
pub const PEAK_RSS_LIMIT_KB: u64 = 8 * 1024;

/// The ceiling for a debug build, which a plain `cargo test` runs: unoptimized and 48 MB with
/// debug info, it peaks at 5 MiB printing `--version` alone and at 6.8-9.6 MiB in these cases, so
/// the 8 MiB bound says nothing about the shipped binary there. This still catches a case that
/// buffers what it should not (a megabyte of headers, an endless body).
pub const DEBUG_PEAK_RSS_LIMIT_KB: u64 = 16 * 1024;

/// The ceiling for this build: [`PEAK_RSS_LIMIT_KB`], or [`DEBUG_PEAK_RSS_LIMIT_KB`] in a
/// debug build (the test crate and the binary share the profile under `cargo test`).
pub fn peak_rss_limit_kb() -> u64 {
    if super::probe_is_debug_build() {
        DEBUG_PEAK_RSS_LIMIT_KB
    } else {
        PEAK_RSS_LIMIT_KB
    }
}

/// `debug` or `release`, for the record lines.
pub fn profile() -> &'static str {
    if super::probe_is_debug_build() {
        "debug"
    } else {
        "release"
    }
}

/// A finished, measured run; derefs to its [`Output`].
#[derive(Debug)]
pub struct Run {
    pub out: Output,
    /// The `--timeout` the run had.
    pub timeout: Duration,
}

impl Deref for Run {
    type Target = Output;
    fn deref(&self) -> &Output {
        &self.out
    }
}

/// `healthprobe -t TIMEOUT` plus whatever `build` adds (arguments, environment), run measured
/// and judged by [`judge`].
pub fn probe(case: &str, timeout: Duration, build: impl FnOnce(Cmd) -> Cmd) -> Run {
    let cmd = build(
        Cmd::new()
            .arg("-t")
            .arg(format!("{}ms", timeout.as_millis())),
    );
    let (out, peak_kb) = cmd.run_measured();
    judge(case, timeout, out, peak_kb)
}

/// Records the run (`HOSTILE <case> <ms> peak_kb=<KiB> <profile> | <first line printed>`),
/// then fails the test when it was not ended by `timeout` ([`Output::ended_by`]: by the probe's
/// own clock within 100 ms of it, the process within a loose grace) or peaked at
/// [`peak_rss_limit_kb`] or more.
#[track_caller]
pub fn judge(case: &str, timeout: Duration, out: Output, peak_kb: Option<u64>) -> Run {
    let peak = match peak_kb {
        Some(kb) => kb.to_string(),
        None => "unmeasured".to_string(),
    };
    eprintln!(
        "HOSTILE {case} {} peak_kb={peak} {} | {}",
        out.elapsed.as_millis(),
        profile(),
        out.lines().first().copied().unwrap_or("(no output)")
    );
    out.ended_by(timeout);
    if let Some(kb) = peak_kb {
        let limit = peak_rss_limit_kb();
        out.check(
            kb < limit,
            format!(
                "peak RSS {kb} KiB, expected under {limit} KiB ({} build)",
                profile()
            ),
        );
    }
    Run { out, timeout }
}

impl Run {
    /// Exit 1 and exactly one line, `unhealthy TARGET REASON ELAPSED`; returns it.
    #[track_caller]
    pub fn unhealthy_line(&self, target: &str) -> ResultLine {
        self.out.unhealthy();
        self.out.reports_one(false, target)
    }

    /// Exit 0 and exactly one line, `healthy TARGET ... ELAPSED`; returns it.
    #[track_caller]
    pub fn healthy_line(&self, target: &str) -> ResultLine {
        self.out.healthy();
        self.out.reports_one(true, target)
    }

    /// The reason on `line` says `timed out`, and the run lasted until its timeout
    /// ([`Output::lasted_until`]).
    #[track_caller]
    pub fn timed_out(&self, line: &ResultLine) -> &Run {
        self.reason_names(line, &["timed out"]);
        self.out.lasted_until(self.timeout);
        self
    }

    /// The reason on `line` holds one of `words` (any case).
    #[track_caller]
    pub fn reason_names(&self, line: &ResultLine, words: &[&str]) -> &Run {
        let detail = line.detail.to_ascii_lowercase();
        self.out.check(
            words
                .iter()
                .any(|w| detail.contains(&w.to_ascii_lowercase())),
            format!(
                "expected the reason {:?} to name one of {words:?}",
                line.detail
            ),
        );
        self
    }
}

// --- Peer moves -------------------------------------------------------------------------------

/// Goes silent but keeps the connection open: reads and discards until the probe hangs up or
/// the test server shuts the socket down at teardown.
pub fn hold(mut s: impl Read) {
    let mut buf = [0u8; 4096];
    while matches!(s.read(&mut buf), Ok(n) if n > 0) {}
}

/// Writes `bytes` one at a time, `every` apart, stopping when the probe has gone.
pub fn drip(mut s: impl Write, bytes: &[u8], every: Duration) {
    for b in bytes {
        if s.write_all(std::slice::from_ref(b)).is_err() {
            return;
        }
        thread::sleep(every);
    }
}

/// Writes `chunk` again and again until the probe has gone.
pub fn flood(mut s: impl Write, chunk: &[u8]) {
    while s.write_all(chunk).is_ok() {}
}
