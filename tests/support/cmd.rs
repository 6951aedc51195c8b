//! Running the real binary (after ripgrep's `tests/util.rs`).

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::io::Read;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use super::json::{self, Json};

/// How long a run may take before the runner kills it and fails the test: far above any
/// timeout a test passes, so it only fires when the probe hangs.
const WATCHDOG: Duration = Duration::from_secs(30);

/// A `healthprobe` invocation. The environment is always cleared, then only `PATH` and what the
/// test sets are passed, so the machine's proxy variables (or a stray `HEALTHPROBE_TARGETS`)
/// never leak in.
#[derive(Clone, Debug, Default)]
pub struct Cmd {
    args: Vec<OsString>,
    envs: Vec<(OsString, OsString)>,
    /// Another binary that embeds the probe (`app healthcheck ...`); `None`: `healthprobe`.
    program: Option<OsString>,
}

impl Cmd {
    pub fn new() -> Cmd {
        Cmd::default()
    }

    /// Runs `program` instead of `healthprobe`, with the same environment rules and checks:
    /// for an app whose own binary embeds the probe (`app healthcheck ARGS`).
    pub fn program(program: impl AsRef<OsStr>) -> Cmd {
        Cmd {
            program: Some(program.as_ref().to_os_string()),
            ..Cmd::default()
        }
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Cmd {
        self.args.push(arg.as_ref().to_os_string());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Cmd
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_os_string()));
        self
    }

    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Cmd {
        self.envs
            .push((key.as_ref().to_os_string(), value.as_ref().to_os_string()));
        self
    }

    /// Runs the binary to completion. Fails the test when it is killed by a signal, when it
    /// exits with anything but 0 or 1 (Docker reserves 2; a panic is 101), or when it is still
    /// running after 30 s.
    pub fn run(&self) -> Output {
        let out = self.run_any_exit();
        match out.code {
            Some(0) | Some(1) => {}
            Some(code) => out.fail(format!(
                "exit code {code}: healthprobe may only exit 0 or 1"
            )),
            None => unreachable!("run_any_exit rejects signals"),
        }
        out
    }

    /// Like [`Cmd::run`], but any exit code passes: after `-- COMMAND` a healthy probe becomes
    /// COMMAND (exec), so the exit code is COMMAND's. Still fails the test on a signal or a hang.
    pub fn run_any_exit(&self) -> Output {
        let program = match &self.program {
            Some(program) => program.clone(),
            None => probe_binary(),
        };
        let mut command = Command::new(program);
        command
            .args(&self.args)
            .env_clear()
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for key in ["PATH", TEST_LATE] {
            if let Some(value) = std::env::var_os(key) {
                command.env(key, value);
            }
        }
        command.envs(self.envs.iter().map(|(k, v)| (k, v)));
        // The probe runs a step ahead of the rest of the machine (nice -5, as root; elsewhere
        // the call fails and changes nothing), as a container's probe has its own CPU share:
        // its deadlines are judged by its own clock, and on a machine loaded past its cores
        // (the loaded-tests loop: two busy workers beside the suite's own servers) a wake-up
        // at equal priority came up to 150 ms late, which is the machine's, not the probe's.
        // SAFETY: setpriority is async-signal-safe; nothing else runs between fork and exec.
        unsafe {
            std::os::unix::process::CommandExt::pre_exec(&mut command, || {
                libc::setpriority(libc::PRIO_PROCESS, 0, -5);
                Ok(())
            });
        }

        let cmdline = self.to_string();
        // No CPU-heavy step of another test runs beside this one (support::cpu).
        let _cpu = super::cpu::probe_run();
        let start = Instant::now();
        let mut child = spawn(&mut command, &cmdline);
        let stdout = drain(child.stdout.take().expect("piped stdout"));
        let stderr = drain(child.stderr.take().expect("piped stderr"));

        // Poll rather than block so a hung probe fails the test instead of hanging it.
        let (status, killed) = loop {
            match child.try_wait() {
                Ok(Some(status)) => break (status, false),
                Ok(None) if start.elapsed() > WATCHDOG => {
                    let _ = child.kill();
                    break (child.wait().expect("waiting for the killed child"), true);
                }
                Ok(None) => thread::sleep(Duration::from_millis(2)),
                Err(e) => panic!("waiting for {cmdline}: {e}"),
            }
        };
        let elapsed = start.elapsed();

        let out = Output {
            cmdline,
            pid: child.id(),
            code: status.code(),
            stdout: stdout.join().expect("stdout reader"),
            stderr: stderr.join().expect("stderr reader"),
            elapsed,
        };
        if killed {
            out.fail(format!("still running after {WATCHDOG:?}; killed"));
        }
        if out.code.is_none() {
            out.fail(format!("terminated by a signal ({status})"));
        }
        out
    }
}

// Timing bounds. Two clocks judge a run:
// - the probe's own: the elapsed time it prints on each result line (`... 1003ms`, or
//   `elapsed_ms` in JSON), from the start of its checks to their end. Held tightly: a check
//   ends between its deadline less EARLY and its deadline plus LATE.
// - the wall clock here, from spawn to exit: it also holds GNU time's fork and exec and the
//   start of a 48 MB debug binary, which a loaded machine (tests run in parallel on 2 cores,
//   beside servers starting and callgrind) stretches by hundreds of milliseconds. Held loosely:
//   the process ends within the deadline plus GRACE, so a probe that hangs past its own
//   watchdog (deadline + 150 ms, src/cli.rs) before or after its checks still fails.

/// Spawns `command`. A program a test has just written (a sealed copy) can fail with ETXTBSY
/// for a moment: another test thread's fork inherited the writer's descriptor and holds it
/// until its exec. That is retried.
fn spawn(command: &mut Command, cmdline: &str) -> std::process::Child {
    const ETXTBSY: i32 = 26;
    let mut tries = 0;
    loop {
        match command.spawn() {
            Ok(child) => return child,
            Err(e) if e.raw_os_error() == Some(ETXTBSY) && tries < 50 => {
                tries += 1;
                thread::sleep(Duration::from_millis(10));
            }
            Err(e) => panic!("spawning {cmdline}: {e}"),
        }
    }
}

/// How much before its deadline a check may end and still count as ended by it
/// ([`Output::lasted_until`]), by the probe's own clock.
pub const EARLY: Duration = Duration::from_millis(100);

/// How much after its deadline a check may end ([`Output::ended_by`]), by the probe's own clock:
/// the time to be scheduled again after a timed-out read and to build the report. Measured
/// under `stress-ng --cpu 2` beside the parallel suite and other builds (load average 4 on 2
/// cores, 2026-12-05): up to 38 ms late for the release binary and 44 ms for the debug one;
/// without the extra load, under 30 ms. Below the watchdog's 150 ms (src/cli.rs), so a check
/// that did not end itself, and was ended by the watchdog, fails.
pub const LATE: Duration = Duration::from_millis(100);

/// Slack on top of a deadline for the whole process, spawn to exit, by the wall clock here.
pub const GRACE: Duration = Duration::from_millis(1000);

/// `HEALTHPROBE_TEST_LATE_MS`: passed to the probe when set here, where a debug build of it
/// holds every check that many milliseconds past its deadline (src/cli.rs). For showing that
/// the bounds above bite: `HEALTHPROBE_TEST_LATE_MS=100 cargo test --test tests hostile::` fails.
const TEST_LATE: &str = "HEALTHPROBE_TEST_LATE_MS";

/// GNU time (Debian package `time`, installed by `scripts/setup.sh`).
pub const GNU_TIME: &str = "/usr/bin/time";

impl Cmd {
    /// Like [`Cmd::run`], under GNU time (`/usr/bin/time -f %M`): also returns the peak
    /// resident set size in KiB. GNU time writes its figure to a file of its own (`-o`), so the
    /// probe's stdout and stderr are exactly what it printed. `None`, after saying so on
    /// stderr, when `/usr/bin/time` is missing: the run happens unmeasured.
    pub fn run_measured(&self) -> (Output, Option<u64>) {
        if !std::path::Path::new(GNU_TIME).exists() {
            super::skip(format!(
                "peak memory not measured: no {GNU_TIME} (scripts/setup.sh installs it)"
            ));
            return (self.run(), None);
        }
        let dir = super::TempDir::new();
        let report = dir.path().join("peak-rss");
        let program = match &self.program {
            Some(program) => program.clone(),
            None => probe_binary(),
        };
        let mut args: Vec<OsString> = vec!["-f".into(), "%M".into(), "-o".into()];
        args.push(report.clone().into_os_string());
        args.push(program);
        args.extend(self.args.iter().cloned());
        let timed = Cmd {
            args,
            program: Some(OsString::from(GNU_TIME)),
            ..self.clone()
        };
        let out = timed.run();
        let text = std::fs::read_to_string(&report).unwrap_or_default();
        match parse_peak_kb(&text) {
            Some(kb) => (out, Some(kb)),
            None => out.fail(format!("no peak RSS figure from {GNU_TIME}: {text:?}")),
        }
    }
}

/// The KiB figure of GNU time's `-f %M` report: its last line (on a non-zero exit, time
/// writes `Command exited with non-zero status N` before it).
pub fn parse_peak_kb(report: &str) -> Option<u64> {
    report
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())?
        .trim()
        .parse()
        .ok()
}

fn drain(mut r: impl Read + Send + 'static) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    })
}

impl fmt::Display for Cmd {
    /// Shell-like: `K=V ... healthprobe 'arg with space' ...`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (k, v) in &self.envs {
            write!(
                f,
                "{}={} ",
                k.to_string_lossy(),
                quote(&v.to_string_lossy())
            )?;
        }
        match &self.program {
            Some(program) => write!(f, "{}", quote(&program.to_string_lossy()))?,
            None => write!(f, "healthprobe")?,
        }
        for a in &self.args {
            write!(f, " {}", quote(&a.to_string_lossy()))?;
        }
        Ok(())
    }
}

fn quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:=@%+,".contains(&b));
    if plain {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// What a run produced. Every assertion prints the whole run when it fails.
#[derive(Debug)]
pub struct Output {
    pub cmdline: String,
    /// The process id: after `-- COMMAND` (exec, no fork) it is also COMMAND's.
    pub pid: u32,
    /// `None` when killed by a signal (which `Cmd::run` already rejects).
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl fmt::Display for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "command: {}", self.cmdline)?;
        match self.code {
            Some(code) => writeln!(f, "exit:    {code}")?,
            None => writeln!(f, "exit:    (signal)")?,
        }
        writeln!(f, "elapsed: {:?}", self.elapsed)?;
        writeln!(f, "--- stdout ---\n{}", self.stdout)?;
        write!(f, "--- stderr ---\n{}", self.stderr)
    }
}

impl Output {
    /// Fails the test with `msg` and the whole run.
    #[track_caller]
    pub fn fail(&self, msg: impl fmt::Display) -> ! {
        panic!("\n{msg}\n\n{self}\n")
    }

    #[track_caller]
    pub fn check(&self, ok: bool, msg: impl fmt::Display) -> &Output {
        if !ok {
            self.fail(msg);
        }
        self
    }

    /// Exit 0.
    #[track_caller]
    pub fn healthy(&self) -> &Output {
        self.check(self.code == Some(0), "expected exit 0 (healthy)")
    }

    /// Exit 1.
    #[track_caller]
    pub fn unhealthy(&self) -> &Output {
        self.check(self.code == Some(1), "expected exit 1 (unhealthy)")
    }

    /// stdout then stderr.
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    /// `needle` appears in stdout or stderr.
    #[track_caller]
    pub fn contains(&self, needle: &str) -> &Output {
        self.check(
            self.all().contains(needle),
            format!("expected the output to contain {needle:?}"),
        )
    }

    /// Like [`Output::contains`], ignoring ASCII case.
    #[track_caller]
    pub fn contains_ci(&self, needle: &str) -> &Output {
        let found = self
            .all()
            .to_ascii_lowercase()
            .contains(&needle.to_ascii_lowercase());
        self.check(
            found,
            format!("expected the output to contain {needle:?} (any case)"),
        )
    }

    /// One of `needles` appears in stdout or stderr, ignoring ASCII case.
    #[track_caller]
    pub fn contains_any_ci(&self, needles: &[&str]) -> &Output {
        let all = self.all().to_ascii_lowercase();
        let found = needles
            .iter()
            .any(|n| all.contains(&n.to_ascii_lowercase()));
        self.check(
            found,
            format!("expected the output to contain one of {needles:?} (any case)"),
        )
    }

    /// `needle` appears in neither stdout nor stderr.
    #[track_caller]
    pub fn lacks(&self, needle: &str) -> &Output {
        self.check(
            !self.all().contains(needle),
            format!("expected the output NOT to contain {needle:?}"),
        )
    }

    /// Nothing on stdout or stderr.
    #[track_caller]
    pub fn silent(&self) -> &Output {
        self.check(
            self.stdout.is_empty() && self.stderr.is_empty(),
            "expected no output at all",
        )
    }

    /// Something on stdout or stderr.
    #[track_caller]
    pub fn says_something(&self) -> &Output {
        self.check(!self.all().trim().is_empty(), "expected some output")
    }

    /// The run ended well before `limit`: each check it reports ended before `limit` by the
    /// probe's own clock, and the process within `limit` + [`GRACE`] by the wall clock. For a
    /// check that should end at once (a refusal, a reply that gives it away), with `limit` far
    /// below the run's deadline.
    #[track_caller]
    pub fn within(&self, limit: Duration) -> &Output {
        for reported in self.reported_elapsed() {
            self.check(
                reported < limit,
                format!("expected each check to end within {limit:?}, one took {reported:?} by the probe's clock"),
            );
        }
        self.process_within(limit + GRACE)
    }

    /// The run was ended by `deadline` at the latest: each check it reports ended by `deadline`
    /// plus [`LATE`] by the probe's own clock, and the process within `deadline` plus [`GRACE`]
    /// by the wall clock. "The process exits within the deadline plus a small grace whatever
    /// the peer does" (DESIGN.md).
    #[track_caller]
    pub fn ended_by(&self, deadline: Duration) -> &Output {
        let latest = deadline + LATE;
        for reported in self.reported_elapsed() {
            self.check(
                reported <= latest,
                format!("expected each check to end by its deadline {deadline:?} (at most {latest:?}), one took {reported:?} by the probe's clock"),
            );
        }
        self.process_within(deadline + GRACE)
    }

    /// The process, spawn to exit, took less than `limit` by the wall clock here.
    #[track_caller]
    fn process_within(&self, limit: Duration) -> &Output {
        self.check(
            self.elapsed < limit,
            format!("expected the process to end within {limit:?} of its start"),
        )
    }

    /// The run lasted until `deadline`, less [`EARLY`], by the probe's own clock (its longest
    /// check; the wall clock when it printed none): for a check that only its deadline can end
    /// (a silent or stalling peer), where [`Output::within`] alone would pass a deadline that
    /// fired early.
    #[track_caller]
    pub fn lasted_until(&self, deadline: Duration) -> &Output {
        let floor = deadline.saturating_sub(EARLY);
        let lasted = self
            .reported_elapsed()
            .into_iter()
            .max()
            .unwrap_or(self.elapsed);
        self.check(
            lasted >= floor,
            format!(
                "expected the run to last until its deadline {deadline:?} (at least {floor:?}), it lasted {lasted:?}"
            ),
        )
    }

    /// The elapsed time of each check, as the probe reports it: the last word of each text
    /// result line (`3ms`), or each `elapsed_ms` of a JSON report.
    pub fn reported_elapsed(&self) -> Vec<Duration> {
        let text = self
            .results()
            .into_iter()
            .filter_map(|line| parse_ms(&line.elapsed));
        let line = self.stdout.trim();
        let json = (line.starts_with('{') && !line.contains('\n'))
            .then(|| json::parse(line).ok())
            .flatten()
            .and_then(|report| {
                let targets = report.get("targets")?.as_array()?;
                Some(
                    targets
                        .iter()
                        .filter_map(|t| t.get("elapsed_ms").and_then(Json::as_f64))
                        .map(|ms| Duration::from_millis(ms as u64))
                        .collect::<Vec<_>>(),
                )
            })
            .unwrap_or_default();
        text.chain(json).collect()
    }

    /// Non-empty lines of stdout, then of stderr.
    pub fn lines(&self) -> Vec<&str> {
        self.stdout
            .lines()
            .chain(self.stderr.lines())
            .filter(|l| !l.trim().is_empty())
            .collect()
    }

    /// The lines (stdout or stderr) that start with `healthy` or `unhealthy`, parsed.
    pub fn results(&self) -> Vec<ResultLine> {
        self.lines()
            .into_iter()
            .filter_map(ResultLine::parse)
            .collect()
    }

    /// The output is exactly one result line per target, in order, each saying `healthy` or
    /// `unhealthy` as given, naming its target and ending with an elapsed time, and nothing
    /// else is printed. Returns the lines for further checks.
    #[track_caller]
    pub fn reports(&self, expected: &[(bool, &str)]) -> Vec<ResultLine> {
        let lines = self.lines();
        let results = self.results();
        self.check(
            lines.len() == expected.len() && results.len() == expected.len(),
            format!(
                "expected exactly {} line(s), one result line per target",
                expected.len()
            ),
        );
        for (i, (line, (healthy, target))) in results.iter().zip(expected).enumerate() {
            self.check(
                line.healthy == *healthy,
                format!(
                    "line {}: expected it to start with {:?}",
                    i + 1,
                    if *healthy { "healthy" } else { "unhealthy" }
                ),
            );
            self.check(
                line.target.trim_end_matches('/') == target.trim_end_matches('/'),
                format!(
                    "line {}: expected the target {target:?}, got {:?}",
                    i + 1,
                    line.target
                ),
            );
            self.check(
                is_elapsed(&line.elapsed),
                format!(
                    "line {}: expected it to end with an elapsed time like `3ms`, got {:?}",
                    i + 1,
                    line.elapsed
                ),
            );
            self.check(
                line.raw.len() < 1024,
                format!("line {}: longer than 1 KiB", i + 1),
            );
        }
        results
    }

    /// Shorthand for one target: [`Output::reports`] with one line, returned.
    #[track_caller]
    pub fn reports_one(&self, healthy: bool, target: &str) -> ResultLine {
        self.reports(&[(healthy, target)]).remove(0)
    }

    /// stdout is exactly one line holding one JSON object; returns it parsed.
    #[track_caller]
    pub fn json(&self) -> Json {
        let lines: Vec<&str> = self.stdout.lines().collect();
        self.check(
            lines.len() == 1,
            "expected stdout to be exactly one line of JSON",
        );
        let line = lines[0].trim();
        self.check(
            line.starts_with('{') && line.ends_with('}'),
            "expected a JSON object",
        );
        match json::parse(line) {
            Ok(value) => value,
            Err(e) => self.fail(format!("stdout is not valid JSON: {e}")),
        }
    }

    /// [`Output::json`], then checks the documented shape: `"healthy"` is `healthy`, and
    /// `"targets"` holds one object per expected target, in order, each with `"target"`,
    /// `"healthy"`, `"elapsed_ms"` (a number) and, when unhealthy, a `"reason"` string.
    #[track_caller]
    pub fn json_reports(&self, healthy: bool, expected: &[(bool, &str)]) -> Json {
        let value = self.json();
        self.check(
            value.get("healthy").and_then(Json::as_bool) == Some(healthy),
            format!("expected \"healthy\":{healthy} at the top level"),
        );
        let Some(targets) = value.get("targets").and_then(Json::as_array) else {
            self.fail("expected a \"targets\" array");
        };
        self.check(
            targets.len() == expected.len(),
            format!("expected {} item(s) in \"targets\"", expected.len()),
        );
        for (i, (item, (ok, target))) in targets.iter().zip(expected).enumerate() {
            let printed = item
                .get("target")
                .and_then(Json::as_str)
                .unwrap_or_default();
            self.check(
                printed.trim_end_matches('/') == target.trim_end_matches('/'),
                format!("targets[{i}]: expected \"target\":{target:?}"),
            );
            self.check(
                item.get("healthy").and_then(Json::as_bool) == Some(*ok),
                format!("targets[{i}]: expected \"healthy\":{ok}"),
            );
            self.check(
                item.get("elapsed_ms").and_then(Json::as_f64).is_some(),
                format!("targets[{i}]: expected a numeric \"elapsed_ms\""),
            );
            if !ok {
                self.check(
                    item.get("reason")
                        .and_then(Json::as_str)
                        .is_some_and(|r| !r.is_empty()),
                    format!("targets[{i}]: expected a \"reason\" string"),
                );
            }
        }
        value
    }
}

/// `healthy|unhealthy TARGET DETAIL... ELAPSED`, split on whitespace.
#[derive(Clone, Debug)]
pub struct ResultLine {
    pub raw: String,
    pub healthy: bool,
    pub target: String,
    /// What is between the target and the elapsed time: the status or the reason.
    pub detail: String,
    pub elapsed: String,
}

impl ResultLine {
    fn parse(line: &str) -> Option<ResultLine> {
        let words: Vec<&str> = line.split_whitespace().collect();
        let healthy = match *words.first()? {
            "healthy" => true,
            "unhealthy" => false,
            _ => return None,
        };
        let target = words.get(1).copied().unwrap_or_default().to_string();
        let elapsed = if words.len() > 2 {
            words[words.len() - 1].to_string()
        } else {
            String::new()
        };
        let detail = if words.len() > 3 {
            words[2..words.len() - 1].join(" ")
        } else {
            String::new()
        };
        Some(ResultLine {
            raw: line.to_string(),
            healthy,
            target,
            detail,
            elapsed,
        })
    }
}

/// `1003ms` (what the probe prints), as a duration.
fn parse_ms(word: &str) -> Option<Duration> {
    word.strip_suffix("ms")?
        .parse()
        .ok()
        .map(Duration::from_millis)
}

/// `3ms`, `0ms`, `1.2s`, `850µs`...
fn is_elapsed(word: &str) -> bool {
    let digits_end = word
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(word.len());
    let (number, unit) = word.split_at(digits_end);
    !number.is_empty()
        && number.starts_with(|c: char| c.is_ascii_digit())
        && number.parse::<f64>().is_ok()
        && ["ns", "us", "µs", "ms", "s"].contains(&unit)
}

/// The binary under test: `HEALTHPROBE_TEST_BIN` when set (the test command points it at the
/// static release binary for the hostile suite's 8 MB bound), else cargo's debug build.
pub fn probe_binary() -> OsString {
    std::env::var_os("HEALTHPROBE_TEST_BIN")
        .unwrap_or_else(|| OsString::from(env!("CARGO_BIN_EXE_healthprobe")))
}

/// Whether the binary under test is cargo's debug build (with its debug-only panic trigger).
pub fn probe_is_debug_build() -> bool {
    cfg!(debug_assertions) && std::env::var_os("HEALTHPROBE_TEST_BIN").is_none()
}
