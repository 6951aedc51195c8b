//! The command line of the `healthprobe` binary, and the helper that gives an app's own binary a
//! `healthcheck` subcommand with the same flags, output and exit codes.
//!
//! This module prints and exits: it is the shell around the library, compiled only with the
//! `cli` feature.

use std::ffi::OsString;
use std::io::Write;
use std::time::{Duration, Instant};

use argh::{FromArgValue, FromArgs};

use crate::deadline::Deadline;
use crate::duration::format_duration;
use crate::error::{Error, ErrorKind};
use crate::net::IpFamily;
use crate::probe::{DEFAULT_TIMEOUT, Probe, ProbeBuilder};
use crate::render;
use crate::report::{CheckReport, Report};
use crate::seal;
use crate::target::Target;
use crate::{StatusList, parse_duration};

/// Exit code of a healthy run.
pub const EXIT_HEALTHY: u8 = 0;
/// Exit code of everything else: unhealthy, timed out, bad usage, internal error. Never 2,
/// which Docker reserves.
pub const EXIT_UNHEALTHY: u8 = 1;

/// The watchdog ends the process this long after the deadline, should anything block past it.
const GRACE: Duration = Duration::from_millis(150);

#[derive(FromArgs)]
/// Checks that targets are healthy; exits 0 when they are, 1 otherwise. The targets' forms are
/// listed at the end.
#[argh(
    note = "`healthprobe install DIR` copies this executable to DIR/healthprobe (for images without cp).\n`healthprobe seal OUT [--keep-env NAME]... ARGS...` writes OUT: a copy that runs only the check ARGS describe (see `healthprobe seal --help`)."
)]
struct Args {
    /// deadline for the whole run, all targets together: 250ms, 2s, 1m30s or bare seconds (default 5s, or HEALTHPROBE_TIMEOUT)
    #[argh(option, short = 't', from_str_fn(duration))]
    timeout: Option<Duration>,

    /// healthy when any target is (default: all must be)
    #[argh(switch)]
    any: bool,

    /// print nothing when healthy
    #[argh(switch, short = 'q')]
    quiet: bool,

    /// add the address, tls details, response status line and headers
    #[argh(switch, short = 'v')]
    verbose: bool,

    /// output format: text or json (one object on one line)
    #[argh(option, default = "Format::Text")]
    format: Format,

    /// http method (default GET)
    #[argh(option, short = 'X')]
    method: Option<String>,

    /// request header 'Name: value' (repeatable; also grpc metadata; Host also sets the tls name)
    #[argh(option, short = 'H')]
    header: Vec<String>,

    /// accepted statuses: 200, 2xx, 200-204, 200,301-308 (default 200-399)
    #[argh(option)]
    status: Option<StatusList>,

    /// the body (first 64 KiB) contains this text
    #[argh(option)]
    body_contains: Option<String>,

    /// the body (first 64 KiB) matches this regex
    #[argh(option)]
    body_matches: Option<String>,

    /// the body is JSON and 'PATH OP VALUE' holds: status == green, components.db.status != DOWN, nodes[0].up, number_of_nodes >= 3 (repeatable)
    #[argh(option)]
    json: Vec<String>,

    /// the response has header 'Name: REGEX' with a value that matches (repeatable)
    #[argh(option)]
    header_matches: Vec<String>,

    /// do not follow redirects (default: follow same-host redirects, at most 10)
    #[argh(switch)]
    no_follow: bool,

    /// send 'Authorization: Bearer <file contents, trimmed>'
    #[argh(option)]
    bearer_file: Option<String>,

    /// postgres/mysql/redis password: the file's contents, trimmed (wins over one in the url)
    #[argh(option)]
    password_file: Option<String>,

    /// use this http proxy (proxy environment variables are always ignored)
    #[argh(option)]
    proxy: Option<String>,

    /// skip certificate verification
    #[argh(switch, short = 'k')]
    insecure: bool,

    /// trust the CA certificates in this PEM file instead of the system or bundled roots
    #[argh(option)]
    ca_file: Option<String>,

    /// client certificate (PEM) for mTLS
    #[argh(option)]
    cert: Option<String>,

    /// client private key (PEM) for mTLS
    #[argh(option)]
    key: Option<String>,

    /// tls server name (SNI) to send and verify
    #[argh(option)]
    server_name: Option<String>,

    /// fail when the server certificate expires within this many days
    #[argh(option, from_str_fn(days))]
    cert_min_days: Option<u32>,

    /// tcp/tls/unix: send this text first (\r \n \t \\ escapes)
    #[argh(option)]
    send: Option<String>,

    /// tcp/tls/unix: the reply must contain this text
    #[argh(option)]
    expect: Option<String>,

    /// file: modified within this duration
    #[argh(option, from_str_fn(duration))]
    max_age: Option<Duration>,

    /// retry until healthy or this duration has passed; each attempt has --timeout
    #[argh(option, from_str_fn(duration))]
    wait: Option<Duration>,

    /// between attempts under --wait (default 1s)
    #[argh(option, from_str_fn(duration), default = "Duration::from_secs(1)")]
    interval: Duration,

    /// only IPv4
    #[argh(switch, short = '4')]
    ipv4: bool,

    /// only IPv6
    #[argh(switch, short = '6')]
    ipv6: bool,

    /// print the version and exit
    #[argh(switch, short = 'V')]
    version: bool,

    /// targets (default: HEALTHPROBE_TARGETS); after `--`, a command to exec once healthy
    #[argh(positional)]
    targets: Vec<String>,
}

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Text,
    Json,
}

impl FromArgValue for Format {
    fn from_arg_value(value: &str) -> Result<Format, String> {
        match value {
            "text" => Ok(Format::Text),
            "json" => Ok(Format::Json),
            _ => Err("expected text or json".into()),
        }
    }
}

fn duration(value: &str) -> Result<Duration, String> {
    parse_duration(value).map_err(|e| e.to_string())
}

fn days(value: &str) -> Result<u32, String> {
    value
        .trim()
        .parse()
        .map_err(|_| "expected a whole number of days".to_string())
}

/// What the command line asks for, validated before any I/O.
struct Plan {
    probe: Probe,
    targets: Vec<Target>,
    wait: Option<Duration>,
    interval: Duration,
    quiet: bool,
    verbose: bool,
    json: bool,
    command: Vec<OsString>,
}

/// Splits the arguments at the first `--`: ours before it, the command to exec after it
/// (untouched by argh).
fn split_command<S: AsRef<str>>(args: &[S]) -> (&[S], Vec<OsString>) {
    match args.iter().position(|a| a.as_ref() == "--") {
        Some(i) => (
            &args[..i],
            args[i + 1..]
                .iter()
                .map(|a| OsString::from(a.as_ref()))
                .collect(),
        ),
        None => (args, Vec::new()),
    }
}

/// Runs the `healthprobe` command line with the process's arguments and returns the exit code.
pub fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(main_with(None))
}

/// The `healthprobe` binary's own entry: [`main`], and the `seal` verb and sealed runs, which
/// need the binary's seal slot. `slot` reads byte `i` of it (src/main.rs: a `static` of
/// [`SEAL_SLOT`], read with volatile loads). Not part of the API.
#[doc(hidden)]
pub fn main_sealable(slot: fn(usize) -> u8) -> std::process::ExitCode {
    std::process::ExitCode::from(match seal::read(slot) {
        seal::State::Unsealed => main_with(Some(slot)),
        seal::State::Sealed(sealed) => run_sealed(sealed, std::env::args_os().skip(1).collect()),
        // Fail closed: a damaged slot never falls back to an unsealed run.
        seal::State::Damaged(why) => usage_error(&format!(
            "this copy's sealed command line is damaged ({why}): it runs nothing"
        )),
    })
}

/// An unsealed slot, as src/main.rs declares it. Not part of the API.
#[doc(hidden)]
pub const SEAL_SLOT: [u8; seal::SLOT_LEN] = seal::SLOT;

fn main_with(slot: Option<fn(usize) -> u8>) -> u8 {
    let mut args = std::env::args_os();
    let name = args.next().unwrap_or_else(|| "healthprobe".into());
    let args: Vec<OsString> = args.collect();
    // A verb only as the first argument: a target always has a scheme, so `install` is no target.
    if args.first().is_some_and(|a| a == "install") {
        return install(&args[1..]);
    }
    if args.first().is_some_and(|a| a == "seal") {
        return match slot {
            Some(slot) => seal_verb(&args[1..], slot),
            None => usage_error("seal: this binary cannot seal (only the healthprobe binary can)"),
        };
    }
    run(&name.to_string_lossy(), args)
}

/// `healthprobe install DIR`: one line, exit 0; or one line saying why not, exit 1.
fn install(args: &[OsString]) -> u8 {
    let dir = match args {
        [flag] if flag == "--help" || flag == "-h" => {
            let _ = std::io::stdout().write_all(render::INSTALL_HELP.as_bytes());
            return EXIT_HEALTHY;
        }
        [dir] if !dir.is_empty() => std::path::Path::new(dir),
        _ => return usage_error("install: expected one argument, the directory (install DIR)"),
    };
    match crate::install::install(dir) {
        Ok(done) => {
            let _ =
                std::io::stdout().write_all(render::installed(&done.path, done.bytes).as_bytes());
            EXIT_HEALTHY
        }
        Err(e) => usage_error(&format!("install: {e}")),
    }
}

/// `healthprobe seal OUT [--keep-env NAME]... [OPTIONS] TARGET... [-- COMMAND ARG...]`: one
/// line, exit 0; or one line saying why not, exit 1, and nothing written.
fn seal_verb(args: &[OsString], slot: fn(usize) -> u8) -> u8 {
    if let [flag] = args
        && (flag == "--help" || flag == "-h")
    {
        let _ = std::io::stdout().write_all(render::SEAL_HELP.as_bytes());
        return EXIT_HEALTHY;
    }
    match seal_to(args, slot) {
        Ok(line) => {
            let _ = std::io::stdout().write_all(line.as_bytes());
            EXIT_HEALTHY
        }
        Err(message) => usage_error(&format!("seal: {message}")),
    }
}

fn seal_to(args: &[OsString], slot: fn(usize) -> u8) -> Result<String, String> {
    let args = utf8(args.to_vec())?;
    let (out, mut rest) = match args.split_first() {
        Some((out, rest)) if !out.is_empty() && !out.starts_with('-') => (out, rest),
        _ => {
            return Err("expected the file to write, then the command line to seal \
                 (seal OUT [--keep-env NAME]... TARGET...)"
                .into());
        }
    };
    let mut kept = Vec::new();
    while let Some(flag) = rest.first().filter(|f| *f == "--keep-env") {
        let name = rest
            .get(1)
            .filter(|n| is_var_name(n))
            .ok_or_else(|| format!("{flag}: expected a variable name (letters, digits and _)"))?;
        kept.push(name.clone());
        rest = &rest[2..];
    }
    // Validated as a run would be, each kept variable standing first for 1, then for 2: what a
    // kept variable changes shows, and it may change no host, socket or file.
    let ones: Vec<(String, &str)> = kept.iter().map(|k| (k.clone(), "1")).collect();
    let (plan, env) = sealing(rest, &ones)?;
    plan.probe
        .read_tls_files()
        .map_err(|e| render::error(&e).into_owned())?;
    for (i, name) in kept.iter().enumerate() {
        let mut twos = ones.clone();
        twos[i].1 = "2";
        let (other, _) = sealing(rest, &twos)?;
        if let Some(t) = moved_target(&plan.targets, &other.targets) {
            return Err(format!(
                "--keep-env {name}: ${{{name}}} stands in what {t} connects to or reads; a kept \
                 variable may stand in a port, path, query or header value only"
            ));
        }
    }
    let Env::Sealing {
        read, kept_read, ..
    } = env
    else {
        unreachable!("sealing reads through Env::Sealing")
    };
    for name in &kept {
        if !kept_read.borrow().contains(name) {
            return Err(format!(
                "--keep-env {name}: no target or header value reads ${{{name}}}"
            ));
        }
        if proxy_reads(rest, name) {
            return Err(format!(
                "--keep-env {name}: ${{{name}}} stands in the proxy; a kept variable may stand \
                 in a port, path, query or header value only"
            ));
        }
    }
    if let Some(program) = plan.command.first()
        && !program.to_string_lossy().starts_with('/')
    {
        return Err(format!(
            "-- {}: a sealed command is an absolute path (a sealed copy reads no PATH)",
            program.to_string_lossy()
        ));
    }
    let sealed = seal::Sealed {
        args: rest.to_vec(),
        env: read.into_inner(),
        kept,
    };
    let magic = seal::magic(slot);
    let slot_bytes = seal::encode(&sealed, &magic)?;
    let mut exe = Vec::new();
    crate::install::open_self()
        .and_then(|mut f| {
            std::io::Read::read_to_end(&mut f, &mut exe)
                .map_err(crate::install::fail("cannot read this executable".into()))
        })
        .map_err(|e| e.to_string())?;
    seal::patch(&mut exe, &magic, &slot_bytes)?;
    let out = std::path::Path::new(out);
    let bytes =
        crate::install::write_atomically(out, &mut exe.as_slice()).map_err(|e| e.to_string())?;
    Ok(render::sealed(
        out,
        bytes,
        &shown(&sealed.args),
        &sealed.kept,
    ))
}

/// A command line validated for sealing, kept variables standing for `stand_ins`.
fn sealing<'a>(
    args: &[String],
    stand_ins: &'a [(String, &'a str)],
) -> Result<(Plan, Env<'a>), String> {
    let env = Env::Sealing {
        kept: stand_ins,
        read: Default::default(),
        kept_read: Default::default(),
    };
    match parse("healthprobe", args, &env) {
        Ok(plan) => Ok((plan, env)),
        Err(Early::Usage(message)) => Err(message),
        Err(_) => Err("--help and --version are not sealed".into()),
    }
}

/// The first target whose host, socket, file, scheme or login differs between two plans.
fn moved_target<'t>(a: &'t [Target], b: &[Target]) -> Option<&'t Target> {
    a.iter()
        .zip(b)
        .find(|(x, y)| fixed_part(x) != fixed_part(y))
        .map(|(x, _)| x)
}

/// What a kept variable may not change in a target: all but its port and (for network kinds)
/// its path and query.
fn fixed_part(t: &Target) -> (crate::TargetKind, &str, Option<&str>, bool, Option<&str>) {
    use crate::TargetKind::{File, Unix};
    let path = matches!(t.kind(), Unix | File).then(|| t.path());
    (t.kind(), t.host(), t.userinfo(), t.db_tls(), path)
}

/// Whether the `--proxy` value of `args` reads `${name}`.
fn proxy_reads(args: &[String], name: &str) -> bool {
    args.windows(2).any(|w| {
        w[0] == "--proxy"
            && (w[1].contains(&format!("${{{name}}}")) || w[1].contains(&format!("${{{name}:-")))
    })
}

fn is_var_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// A sealed command line as printed: userinfo and secret header values redacted, `${VAR}` as
/// written (never a recorded value).
fn shown(args: &[String]) -> String {
    let mut out = Vec::with_capacity(args.len());
    let mut header_next = false;
    for a in args {
        let a = if header_next {
            redact_header(a)
        } else if a.contains("://") {
            crate::secret::redact_userinfo(a)
        } else {
            a.clone()
        };
        header_next = a == "-H" || a == "--header" || a == "--header-matches";
        out.push(if a.is_empty() || a.contains(char::is_whitespace) {
            format!("'{a}'")
        } else {
            a
        });
    }
    out.join(" ")
}

/// A sealed copy: no arguments runs the sealed check; `--version` and `--help` print; anything
/// else is refused.
fn run_sealed(sealed: seal::Sealed, args: Vec<OsString>) -> u8 {
    match args.as_slice() {
        [] => {}
        [a] if a == "--version" || a == "-V" => {
            print!(
                "{}",
                render::sealed_version(&shown(&sealed.args), &sealed.kept)
            );
            return EXIT_HEALTHY;
        }
        [a] if a == "--help" || a == "-h" => {
            print!("{}", render::sealed_help(&shown(&sealed.args)));
            return EXIT_HEALTHY;
        }
        _ => {
            return usage_error(
                "this copy is sealed: it runs its own check and takes no arguments (see --version)",
            );
        }
    }
    match parse("healthprobe", &sealed.args, &Env::Sealed(&sealed)) {
        Ok(plan) => execute(plan),
        Err(Early::Usage(message)) => usage_error(&message),
        Err(_) => usage_error("the sealed command line asks for help or a version"),
    }
}

/// Gives an app's own binary a health-check subcommand: call it first thing in `main`.
///
/// When the first argument is `name` (e.g. `healthcheck`), it runs the `healthprobe` command line
/// with the arguments that follow — same flags, same output, same exit codes — and exits the
/// process. Otherwise it returns, and the app goes on.
///
/// ```no_run
/// fn main() {
///     healthprobe::cli::run_subcommand_if("healthcheck");
///     // ... the app itself ...
/// }
/// ```
///
/// The image then needs no second binary:
/// `HEALTHCHECK CMD ["/app", "healthcheck", "http://127.0.0.1:8080/health"]`.
#[allow(clippy::needless_doctest_main)]
pub fn run_subcommand_if(name: &str) {
    let mut args = std::env::args_os().skip(1);
    if args.next().is_some_and(|first| first == name) {
        install_panic_hook();
        let code = run(name, args.collect());
        let _ = std::io::stdout().flush();
        std::process::exit(i32::from(code));
    }
}

/// Turns any panic into one line on stderr and exit code 1 (a panic would otherwise exit 101,
/// or abort with 134 under `panic = "abort"`; Docker reads both merely as unhealthy, with no
/// reason). The hook runs before an abort.
pub fn install_panic_hook() {
    static PANICKED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    std::panic::set_hook(Box::new(|info| {
        // Several check threads may panic at once: the first says why and exits, the others
        // wait for that exit, so there is still exactly one line.
        if PANICKED.swap(true, std::sync::atomic::Ordering::SeqCst) {
            loop {
                std::thread::park();
            }
        }
        let what = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panic".into());
        // The release binaries carry no panic locations (`-Z location-detail=none`: file
        // `<redacted>`, line 0), so there is none to print.
        let at = info
            .location()
            .filter(|l| l.line() != 0)
            .map(|l| (l.file(), l.line()));
        let _ = std::io::stderr().write_all(render::panic(&what, at).as_bytes());
        std::process::exit(i32::from(EXIT_UNHEALTHY));
    }));
}

/// Runs the command line (`args` without the program name) and returns the exit code; prints
/// the report or the usage error. Execs the command after `--` when healthy.
pub fn run(program: &str, args: Vec<OsString>) -> u8 {
    let args = match utf8(args) {
        Ok(args) => args,
        Err(message) => return usage_error(&message),
    };
    match parse(program, &args, &Env::Process) {
        Ok(plan) => execute(plan),
        Err(Early::Help(text)) => {
            print!("{}", render::help(&text));
            EXIT_HEALTHY
        }
        Err(Early::Version) => {
            print!("{}", render::version());
            EXIT_HEALTHY
        }
        Err(Early::Usage(message)) => usage_error(&message),
    }
}

fn utf8(args: Vec<OsString>) -> Result<Vec<String>, String> {
    args.into_iter()
        .map(|a| a.into_string())
        .collect::<Result<Vec<String>, _>>()
        .map_err(|bad| format!("argument {bad:?} is not valid UTF-8"))
}

/// Why a command line ends before it runs a check.
enum Early {
    /// `--help`: argh's text.
    Help(String),
    Version,
    /// A usage error: the message.
    Usage(String),
}

/// Parses and validates a command line (without the program name), `${VAR}` and the
/// `HEALTHPROBE_*` defaults read from `env`.
fn parse(program: &str, args: &[String], env: &Env) -> Result<Plan, Early> {
    let (ours, command) = split_command(args);
    let ours: Vec<&str> = ours.iter().map(String::as_str).collect();
    let parsed = match Args::from_args(&[program], &ours) {
        Ok(parsed) => parsed,
        Err(early) if early.status.is_ok() => return Err(Early::Help(early.output)),
        Err(early) => return Err(Early::Usage(render::argh_error(&early.output))),
    };
    if parsed.version {
        return Err(Early::Version);
    }
    plan(parsed, command, env).map_err(|e| Early::Usage(render::error(&e).into_owned()))
}

/// Where a command line's `${VAR}` values, the `HEALTHPROBE_*` defaults and the TLS roots of
/// `SSL_CERT_FILE`/`SSL_CERT_DIR` come from.
enum Env<'a> {
    /// A run: the process's environment.
    Process,
    /// `seal`: the process's environment, each variable read recorded; a kept variable reads as
    /// its stand-in (its value at run time is unknown when sealing). No `HEALTHPROBE_*`, no
    /// `SSL_CERT_*`: what is sealed is the command line alone.
    Sealing {
        kept: &'a [(String, &'a str)],
        read: std::cell::RefCell<Vec<(String, Option<String>)>>,
        kept_read: std::cell::RefCell<Vec<String>>,
    },
    /// A sealed run: the values recorded when sealing; only kept variables from the process.
    Sealed(&'a seal::Sealed),
}

impl Env<'_> {
    fn var(&self, name: &str) -> Option<String> {
        match self {
            Env::Process => std::env::var(name).ok(),
            Env::Sealing {
                kept,
                read,
                kept_read,
            } => {
                if let Some((_, stand_in)) = kept.iter().find(|(k, _)| k == name) {
                    kept_read.borrow_mut().push(name.to_string());
                    return Some(stand_in.to_string());
                }
                let value = std::env::var(name).ok();
                let mut read = read.borrow_mut();
                if !read.iter().any(|(n, _)| n == name) {
                    read.push((name.to_string(), value.clone()));
                }
                value
            }
            Env::Sealed(sealed) => match sealed.env.iter().find(|(n, _)| n == name) {
                Some((_, value)) => value.clone(),
                None if sealed.kept.iter().any(|k| k == name) => std::env::var(name).ok(),
                None => None,
            },
        }
    }

    fn expand(&self, text: &str) -> Result<String, crate::ParseError> {
        crate::expand::expand_with(text, |name| self.var(name))
    }

    /// Whether `HEALTHPROBE_TARGETS`, `HEALTHPROBE_TIMEOUT` and `SSL_CERT_*` count: in a plain
    /// run only.
    fn is_process(&self) -> bool {
        matches!(self, Env::Process)
    }
}

/// Parses and validates a command line without running any check: for the fuzzers.
#[doc(hidden)]
pub fn validate(args: &[&str]) -> Result<(), String> {
    let (ours, command) = split_command(args);
    let parsed = Args::from_args(&["healthprobe"], ours).map_err(|e| e.output)?;
    plan(parsed, command, &Env::Process)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

fn usage_error(message: &str) -> u8 {
    let _ = std::io::stderr().write_all(render::usage_error(message).as_bytes());
    EXIT_UNHEALTHY
}

fn plan(mut a: Args, command: Vec<OsString>, env: &Env) -> Result<Plan, Error> {
    let given = std::mem::take(&mut a.targets);
    let (wait, interval, quiet, verbose) = (a.wait, a.interval, a.quiet, a.verbose);
    let json = a.format == Format::Json;
    let builder = builder(a, env)?;
    let targets = targets(given, env)?;
    Ok(Plan {
        probe: builder.build()?,
        targets,
        wait,
        interval,
        quiet,
        verbose,
        json,
        command,
    })
}

/// The probe the flags describe, through the builder's setters as an app would write them;
/// `build` validates the lot.
fn builder(a: Args, env: &Env) -> Result<ProbeBuilder, Error> {
    let env_timeout = || {
        let t = std::env::var("HEALTHPROBE_TIMEOUT")
            .ok()
            .filter(|t| !t.is_empty() && env.is_process())?;
        Some(parse_duration(&t).map_err(|e| Error::usage(format!("HEALTHPROBE_TIMEOUT: {e}"))))
    };
    let timeout = match a.timeout {
        Some(t) => t,
        None => env_timeout().transpose()?.unwrap_or(DEFAULT_TIMEOUT),
    };
    let ip_family = match (a.ipv4, a.ipv6) {
        (true, true) => return Err(Error::usage("-4 and -6 exclude each other")),
        (true, false) => IpFamily::V4,
        (false, true) => IpFamily::V6,
        (false, false) => IpFamily::Any,
    };
    let mut b = Probe::builder()
        .timeout(timeout)
        .any(a.any)
        .follow_redirects(!a.no_follow)
        .tls_insecure(a.insecure)
        .tls_roots_from_env(env.is_process())
        .ip_family(ip_family);
    for h in &a.header {
        let (name, value) = h.split_once(':').ok_or_else(|| {
            Error::usage(format!(
                "--header {:?}: expected 'Name: value'",
                redact_header(h)
            ))
        })?;
        b = b.header(name.trim(), env.expand(value.trim())?);
    }
    for h in &a.header_matches {
        let (name, pattern) = h.split_once(':').ok_or_else(|| {
            Error::usage(format!(
                "--header-matches {:?}: expected 'Name: REGEX'",
                redact_header(h)
            ))
        })?;
        b = b.header_matches(name.trim(), pattern.trim());
    }
    if let Some(proxy) = a.proxy.as_deref() {
        b = b.proxy(env.expand(proxy)?);
    }
    for condition in a.json {
        b = b.body_json(condition);
    }
    b = set(b, a.method, ProbeBuilder::method);
    b = set(b, a.status, ProbeBuilder::statuses);
    b = set(b, a.body_contains, ProbeBuilder::body_contains);
    b = set(b, a.body_matches, ProbeBuilder::body_matches);
    b = set(b, a.bearer_file, ProbeBuilder::bearer_file);
    b = set(b, a.password_file, ProbeBuilder::password_file);
    b = set(b, a.ca_file, ProbeBuilder::tls_ca_file);
    b = set(b, a.cert, ProbeBuilder::tls_cert);
    b = set(b, a.key, ProbeBuilder::tls_key);
    b = set(b, a.server_name, ProbeBuilder::tls_server_name);
    b = set(b, a.cert_min_days, ProbeBuilder::tls_cert_min_days);
    b = set(b, a.send, ProbeBuilder::send);
    b = set(b, a.expect, ProbeBuilder::expect);
    b = set(b, a.max_age, ProbeBuilder::max_age);
    Ok(b)
}

/// `b` with `value` set by `setter`, when a flag gave one.
fn set<T>(
    b: ProbeBuilder,
    value: Option<T>,
    setter: fn(ProbeBuilder, T) -> ProbeBuilder,
) -> ProbeBuilder {
    match value {
        Some(value) => setter(b, value),
        None => b,
    }
}

/// The targets of the command line, or of `HEALTHPROBE_TARGETS` in a plain run, `${VAR}`
/// expanded and parsed.
fn targets(given: Vec<String>, env: &Env) -> Result<Vec<Target>, Error> {
    let raw: Vec<String> = if given.is_empty() && env.is_process() {
        std::env::var("HEALTHPROBE_TARGETS")
            .unwrap_or_default()
            .split_whitespace()
            .map(String::from)
            .collect()
    } else {
        given
    };
    if raw.is_empty() && !env.is_process() {
        return Err(Error::usage(
            "no target given: a sealed command line names its targets",
        ));
    }
    if raw.is_empty() {
        return Err(Error::usage(
            "no target given: pass one (e.g. http://127.0.0.1:8080/health) or set HEALTHPROBE_TARGETS",
        ));
    }
    raw.iter()
        .map(|t| Ok(env.expand(t)?.parse::<Target>()?))
        .collect()
}

/// `Authorization: Bearer x` → `Authorization: [redacted]`, for messages about a header; a
/// malformed one (`Authorization Bearer x`, no colon) is redacted too.
fn redact_header(h: &str) -> String {
    let name_end = h
        .find(|c: char| c == ':' || c.is_whitespace())
        .unwrap_or(h.len());
    let name = &h[..name_end];
    if crate::secret::is_secret_header(name.trim()) {
        format!("{name}: [redacted]")
    } else {
        h.to_string()
    }
}

fn execute(plan: Plan) -> u8 {
    #[cfg(any(debug_assertions, feature = "test-panic"))]
    let plan = arm_test_panic(plan);
    let timeout = plan.probe.timeout();
    let started = Instant::now();
    // The deadline is enforced a second time, from outside the checks: should anything block
    // past it (getaddrinfo has no timeout of its own), the process still ends, with a reason.
    let overall = plan.wait.unwrap_or(Duration::ZERO).saturating_add(timeout);
    start_watchdog(overall.saturating_add(GRACE), &plan, timeout);

    let checks_end = timeout + test_lateness();
    let report = loop {
        let report = plan
            .probe
            .run_until(&plan.targets, &Deadline::after(checks_end));
        let Some(wait) = plan.wait else { break report };
        if report.is_healthy() || started.elapsed() >= wait {
            break report;
        }
        if plan.verbose {
            let mut err = std::io::stderr().lock();
            for c in report.checks().iter().filter(|c| !c.is_healthy()) {
                let _ = err.write_all(render::waiting(c).as_bytes());
            }
        }
        let left = wait.saturating_sub(started.elapsed());
        std::thread::sleep(plan.interval.min(left));
    };

    let healthy = report.is_healthy();
    if !(healthy && plan.quiet) {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(render::report(&report, plan.json, plan.verbose).as_bytes());
        let _ = out.flush();
    }
    if !healthy {
        return EXIT_UNHEALTHY;
    }
    if let Some((program, args)) = plan.command.split_first() {
        // Replace this process: the app becomes PID 1 when the probe was, with no shell and no
        // fork. `exec` returns only on failure.
        use std::os::unix::process::CommandExt;
        let e = std::process::Command::new(program).args(args).exec();
        let line = render::exec_failed(&program.to_string_lossy(), &crate::net::io_reason(&e));
        let _ = std::io::stderr().write_all(line.as_bytes());
        return EXIT_UNHEALTHY;
    }
    EXIT_HEALTHY
}

/// The trigger of the panic contract's tests (tests/hostile.rs): with `HEALTHPROBE_TEST_PANIC`
/// set, every check panics, on its own thread. Debug builds and the test-only `test-panic`
/// feature have it; a release build without the feature does not contain it.
#[cfg(any(debug_assertions, feature = "test-panic"))]
fn arm_test_panic(mut plan: Plan) -> Plan {
    if std::env::var_os("HEALTHPROBE_TEST_PANIC").is_some() {
        plan.probe.panic_in_checks = true;
    }
    plan
}

/// The tests' proof that their deadline bounds bite (tests/support/cmd.rs): with
/// `HEALTHPROBE_TEST_LATE_MS=N` set, every check's deadline is N ms past `--timeout`, as in a
/// probe that ends its checks late. Debug builds and the test-only `test-panic` feature only.
fn test_lateness() -> Duration {
    #[cfg(any(debug_assertions, feature = "test-panic"))]
    if let Some(ms) = std::env::var("HEALTHPROBE_TEST_LATE_MS")
        .ok()
        .and_then(|ms| ms.parse().ok())
    {
        return Duration::from_millis(ms);
    }
    Duration::ZERO
}

fn start_watchdog(after: Duration, plan: &Plan, timeout: Duration) {
    let targets = plan.targets.clone();
    let (json, any) = (plan.json, plan.probe.any());
    let spawned = std::thread::Builder::new()
        .stack_size(64 * 1024)
        .spawn(move || {
            let started = Instant::now();
            std::thread::sleep(after);
            let report = watchdog_report(&targets, timeout, started.elapsed(), any);
            let out = render::report(&report, json, false);
            let mut stdout = std::io::stdout();
            let _ = stdout.write_all(out.as_bytes());
            let _ = stdout.flush();
            std::process::exit(i32::from(EXIT_UNHEALTHY));
        });
    // Without a thread to spare, the checks' own deadlines are all there is.
    drop(spawned);
}

/// What the watchdog reports: every target timed out, its check never returned.
fn watchdog_report(targets: &[Target], timeout: Duration, elapsed: Duration, any: bool) -> Report {
    let reason = format!(
        "timed out after {} (the check did not return)",
        format_duration(timeout)
    );
    let checks = targets
        .iter()
        .map(|t| CheckReport::failed(t, Error::new(ErrorKind::Timeout, reason.as_str()), elapsed))
        .collect();
    Report::new(checks, any)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watchdog_json_is_a_report_like_any_other() {
        let targets = ["tcp://127.0.0.1:1".parse().unwrap()];
        let report = watchdog_report(&targets, Duration::from_secs(2), Duration::ZERO, false);
        assert_eq!(
            render::report(&report, true, false),
            "{\"healthy\":false,\"targets\":[{\"target\":\"tcp://127.0.0.1:1\",\"kind\":\"tcp\",\
             \"healthy\":false,\"reason\":\"timed out after 2s (the check did not return)\",\
             \"elapsed_ms\":0}]}\n"
        );
        assert_eq!(
            render::report(&report, false, false),
            "unhealthy tcp://127.0.0.1:1  timed out after 2s (the check did not return)  0ms\n"
        );
    }

    #[test]
    fn secret_header_redacted_in_messages() {
        assert_eq!(
            redact_header("Authorization Bearer x"),
            "Authorization: [redacted]"
        );
        assert_eq!(redact_header("X-Trace 1"), "X-Trace 1");
        assert_eq!(
            redact_header("authorization: Bearer x"),
            "authorization: [redacted]"
        );
    }

    #[test]
    fn command_after_double_dash() {
        let (ours, command) = split_command(&["-t", "1s", "--", "/app", "--"]);
        assert_eq!(ours, ["-t", "1s"]);
        assert_eq!(command, ["/app", "--"]);
    }
}
