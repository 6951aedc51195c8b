//! A tiny web app that answers its own health check: `app healthcheck ARGS…` is the
//! `healthprobe` command line, built into the app's binary, so a distroless image needs no
//! second binary.
//!
//! ```text
//! app serve --listen 127.0.0.1:8080   # GET /health → 200 ok (503 after POST /flip)
//! app healthcheck http://127.0.0.1:8080/health
//! app demo                            # serve on a free port, check it, flip it, check again
//! ```
//!
//! The Dockerfile line: `HEALTHCHECK CMD ["/app", "healthcheck", "http://127.0.0.1:8080/health"]`.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

fn main() {
    // First thing: `app healthcheck …` runs the probe and exits; anything else goes on.
    healthprobe::cli::run_subcommand_if("healthcheck");

    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("serve") => {
            let listen = match args.iter().position(|a| a == "--listen") {
                Some(i) => args.get(i + 1).cloned().unwrap_or_default(),
                None => "127.0.0.1:8080".into(),
            };
            let listener = TcpListener::bind(&listen)
                .unwrap_or_else(|e| fail(&format!("cannot listen on {listen}: {e}")));
            eprintln!("app: serving on {listen}");
            // `--log`: a line per connection (tests/docker/run.sh's listener that must hear
            // nothing from a sealed probe).
            let log = args.iter().any(|a| a == "--log");
            serve(listener, Arc::new(AtomicBool::new(true)), log);
        }
        Some("demo") => demo(),
        _ => fail("usage: app serve [--listen ADDR] [--log] | app healthcheck TARGET… | app demo"),
    }
}

fn fail(message: &str) -> ! {
    eprintln!("app: {message}");
    std::process::exit(1)
}

/// Serves `GET /health` (200 `ok`, or 503 `unhealthy` once flipped) and `POST /flip`.
fn serve(listener: TcpListener, healthy: Arc<AtomicBool>, log: bool) {
    for stream in listener.incoming().flatten() {
        if log {
            eprintln!("app: connection from {:?}", stream.peer_addr().ok());
        }
        let healthy = healthy.clone();
        std::thread::spawn(move || {
            let _ = answer(stream, &healthy);
        });
    }
}

fn answer(mut stream: TcpStream, healthy: &AtomicBool) -> std::io::Result<()> {
    stream.set_read_timeout(Some(std::time::Duration::from_secs(5)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header == "\r\n" || header == "\n" {
            break;
        }
    }
    let mut parts = request_line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let (status, body) = match (method, path) {
        ("GET" | "HEAD", "/health") if healthy.load(Ordering::SeqCst) => ("200 OK", "ok\n"),
        ("GET" | "HEAD", "/health") => ("503 Service Unavailable", "unhealthy\n"),
        ("POST", "/flip") => {
            let now = !healthy.fetch_xor(true, Ordering::SeqCst);
            ("200 OK", if now { "healthy\n" } else { "unhealthy\n" })
        }
        ("GET", "/") => ("200 OK", "hello from app\n"),
        _ => ("404 Not Found", "not found\n"),
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    if method != "HEAD" {
        stream.write_all(body.as_bytes())?;
    }
    stream.flush()
}

/// The main job on an embedded server, for a machine where no server runs yet.
fn demo() {
    let listener =
        TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| fail(&format!("cannot listen: {e}")));
    let addr = listener.local_addr().expect("bound address");
    let healthy = Arc::new(AtomicBool::new(true));
    let flag = healthy.clone();
    std::thread::spawn(move || serve(listener, flag, false));
    let exe = std::env::current_exe().unwrap_or_else(|e| fail(&format!("cannot find myself: {e}")));
    let target = format!("http://{addr}/health");
    let check = |label: &str| {
        println!("$ app healthcheck --body-contains ok {target}    # {label}");
        let status = std::process::Command::new(&exe)
            .args(["healthcheck", "--body-contains", "ok", &target])
            .status()
            .unwrap_or_else(|e| fail(&format!("cannot run the check: {e}")));
        println!("exit code {}\n", status.code().unwrap_or(1));
    };
    check("the app is healthy");
    healthy.store(false, Ordering::SeqCst);
    check("after the app flipped to unhealthy");
}
