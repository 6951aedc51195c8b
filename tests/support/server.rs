//! Loopback servers on std threads.
//!
//! One accept thread per [`Server`], one worker thread per accepted connection. On drop the
//! server sets a stop flag, connects to itself to unblock `accept`, shuts down every accepted
//! socket (which unblocks workers stuck in `read`/`write`), joins all threads and panics if any
//! of them panicked.

use std::io::{self, Read, Write};
use std::net::{
    IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs,
};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use super::TempDir;
use super::tls::Pki;

/// The stream a [`Server::tls`] handler gets.
pub type TlsStream = rustls::StreamOwned<rustls::ServerConnection, TcpStream>;

/// Largest request head the servers accept before giving up on a connection.
const MAX_HEAD: usize = 64 * 1024;

// ---------------------------------------------------------------------------------------------
// Requests and responses

/// A request as a server saw it.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    /// The request target exactly as sent: `/path?q` normally, `http://host:port/path` to a
    /// forwarding proxy, `host:port` for `CONNECT`.
    pub path: String,
    /// Header lines in the order received, names as sent.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn has_header(&self, name: &str) -> bool {
        self.header(name).is_some()
    }
}

/// A response for [`Server::http`] routes. `Content-Length` and `Connection: close` are added
/// unless set; a `HEAD` request gets the headers only.
#[derive(Clone, Debug)]
pub struct Response {
    pub status: u16,
    pub reason: Option<String>,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn new(status: u16) -> Response {
        Response {
            status,
            reason: None,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// `200 OK` with `body`.
    pub fn ok(body: impl Into<Vec<u8>>) -> Response {
        Response::new(200).body(body)
    }

    /// `status` with `Location: location`.
    pub fn redirect(status: u16, location: &str) -> Response {
        Response::new(status).header("Location", location)
    }

    pub fn header(mut self, name: &str, value: &str) -> Response {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Response {
        self.body = body.into();
        self
    }

    fn write_to(&self, w: &mut impl Write, head_only: bool) -> io::Result<()> {
        let reason = self
            .reason
            .as_deref()
            .unwrap_or_else(|| reason_phrase(self.status));
        let mut out = format!("HTTP/1.1 {} {}\r\n", self.status, reason).into_bytes();
        let has = |name: &str| {
            self.headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case(name))
        };
        for (n, v) in &self.headers {
            out.extend_from_slice(format!("{n}: {v}\r\n").as_bytes());
        }
        if !has("content-length") && !has("transfer-encoding") {
            out.extend_from_slice(format!("Content-Length: {}\r\n", self.body.len()).as_bytes());
        }
        if !has("connection") {
            out.extend_from_slice(b"Connection: close\r\n");
        }
        out.extend_from_slice(b"\r\n");
        if !head_only {
            out.extend_from_slice(&self.body);
        }
        w.write_all(&out)?;
        w.flush()
    }
}

fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Whatever",
    }
}

/// Reads one request (head, then a `Content-Length` body) from `r`, byte by byte so nothing
/// past the request is consumed. For scripted [`Server::raw`] handlers too.
pub fn read_request(r: &mut impl Read) -> io::Result<Request> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() >= MAX_HEAD {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "request head too large",
            ));
        }
        match r.read(&mut byte)? {
            0 => return Err(io::ErrorKind::UnexpectedEof.into()),
            _ => head.push(byte[0]),
        }
    }
    let head = String::from_utf8_lossy(&head);
    let mut lines = head.split("\r\n");
    let first = lines.next().unwrap_or_default();
    let mut parts = first.split(' ');
    // The version (third word) must be there; no test reads it.
    let (method, path) = match (parts.next(), parts.next(), parts.next()) {
        (Some(m), Some(p), Some(_version)) if !m.is_empty() => (m, p),
        _ => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "bad request line",
            ));
        }
    };
    let mut headers = Vec::new();
    for line in lines.filter(|l| !l.is_empty()) {
        let Some((name, value)) = line.split_once(':') else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "bad header line",
            ));
        };
        headers.push((name.trim().to_string(), value.trim().to_string()));
    }
    let mut req = Request {
        method: method.to_string(),
        path: path.to_string(),
        headers,
        body: Vec::new(),
    };
    if let Some(len) = req
        .header("content-length")
        .and_then(|v| v.parse::<usize>().ok())
    {
        let mut body = vec![0; len.min(MAX_HEAD)];
        r.read_exact(&mut body)?;
        req.body = body;
    }
    Ok(req)
}

// ---------------------------------------------------------------------------------------------
// Server

/// The state shared by the accept thread, the workers and the test.
pub(crate) struct Shared {
    stop: AtomicBool,
    requests: Mutex<Vec<Request>>,
    accepted: AtomicUsize,
    /// For each open socket (accepted or dialled by the proxy), a closure shutting down a clone
    /// of it, run at teardown to unblock its worker. Removed when the worker is done, so the
    /// clone does not keep the socket open after the worker dropped it.
    closers: Mutex<Closers>,
}

#[derive(Default)]
struct Closers {
    next: usize,
    open: Vec<(usize, Box<dyn FnOnce() + Send>)>,
}

impl Shared {
    fn record(&self, req: &Request) {
        self.requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(req.clone());
    }

    fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Registers `conn` for shutdown at teardown; pass the id to [`Shared::untrack`] once done.
    fn track(&self, conn: &impl Conn) -> Option<usize> {
        let clone = conn.clone_conn().ok()?;
        let mut closers = self.closers.lock().unwrap_or_else(|e| e.into_inner());
        let id = closers.next;
        closers.next += 1;
        closers
            .open
            .push((id, Box::new(move || clone.shutdown_both())));
        Some(id)
    }

    fn untrack(&self, id: Option<usize>) {
        let mut closers = self.closers.lock().unwrap_or_else(|e| e.into_inner());
        closers.open.retain(|(i, _)| Some(*i) != id);
    }

    fn close_all(&self) {
        let open = std::mem::take(&mut self.closers.lock().unwrap_or_else(|e| e.into_inner()).open);
        for (_, close) in open {
            close();
        }
    }
}

/// A stream the servers can serve on (TCP or Unix).
pub(crate) trait Conn: Read + Write + Send + Sized + 'static {
    fn clone_conn(&self) -> io::Result<Self>;
    fn shutdown_both(&self);
}

impl Conn for TcpStream {
    fn clone_conn(&self) -> io::Result<Self> {
        self.try_clone()
    }
    fn shutdown_both(&self) {
        let _ = self.shutdown(Shutdown::Both);
    }
}

impl Conn for UnixStream {
    fn clone_conn(&self) -> io::Result<Self> {
        self.try_clone()
    }
    fn shutdown_both(&self) {
        let _ = self.shutdown(Shutdown::Both);
    }
}

type Handler<C> = Arc<dyn Fn(C, &Shared) + Send + Sync>;

enum Bound {
    Tcp(SocketAddr),
    Unix(PathBuf),
}

/// A loopback server; see the module docs. Dropping it stops it and fails the test when one of
/// its threads panicked.
pub struct Server {
    bound: Bound,
    scheme: &'static str,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    ca_pem: Option<String>,
    /// Holds the directory of a Unix socket.
    _dir: Option<TempDir>,
}

const V4: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const V6: IpAddr = IpAddr::V6(Ipv6Addr::LOCALHOST);

impl Server {
    // --- HTTP -----------------------------------------------------------------------------

    /// HTTP/1.1 on `127.0.0.1:0`: each request is recorded, then answered by `route`.
    pub fn http(route: impl Fn(&Request) -> Response + Send + Sync + 'static) -> Server {
        Server::http_on(V4, route)
    }

    /// HTTP/1.1 on `[::1]:0` only (an IPv6 socket bound to `::1` never takes IPv4).
    pub fn http_v6(route: impl Fn(&Request) -> Response + Send + Sync + 'static) -> Server {
        Server::http_on(V6, route)
    }

    /// HTTP/1.1 on `ip:0`, e.g. `127.0.0.2` to play "another host".
    pub fn http_on(
        ip: impl Into<IpAddr>,
        route: impl Fn(&Request) -> Response + Send + Sync + 'static,
    ) -> Server {
        Server::tcp(ip.into(), "http", http_handler(Arc::new(route)))
    }

    /// HTTPS (rustls) on `127.0.0.1:0` with a certificate for `localhost`, `127.0.0.1` and `::1`
    /// issued by a CA generated now; [`Server::ca_pem`] returns that CA.
    pub fn https(route: impl Fn(&Request) -> Response + Send + Sync + 'static) -> Server {
        Server::https_with(&Pki::new(&["localhost", "127.0.0.1", "::1"]), route)
    }

    /// HTTPS with the given PKI.
    pub fn https_with(
        pki: &Pki,
        route: impl Fn(&Request) -> Response + Send + Sync + 'static,
    ) -> Server {
        Server::https_config(V4, pki.server_config(), &pki.ca_pem, route)
    }

    /// HTTPS on `ip:0` with any rustls configuration (a client certificate required, one
    /// protocol version only...); [`Server::ca_pem`] returns `ca_pem`.
    pub fn https_config(
        ip: impl Into<IpAddr>,
        config: Arc<rustls::ServerConfig>,
        ca_pem: &str,
        route: impl Fn(&Request) -> Response + Send + Sync + 'static,
    ) -> Server {
        let route: Arc<Route> = Arc::new(route);
        let handler: Handler<TcpStream> = Arc::new(move |sock: TcpStream, shared: &Shared| {
            // A failed handshake is the probe's business (e.g. it rejected the certificate),
            // not a server bug: just drop the connection.
            let Ok(conn) = rustls::ServerConnection::new(config.clone()) else {
                return;
            };
            let mut tls = rustls::StreamOwned::new(conn, sock);
            serve_http(&mut tls, shared, &*route);
            tls.conn.send_close_notify();
            let _ = tls.flush();
        });
        let mut server = Server::tcp(ip.into(), "https", handler);
        server.ca_pem = Some(ca_pem.to_string());
        server
    }

    /// A `tls://` peer on `127.0.0.1:0`: completes the handshake (a failed one just drops the
    /// connection), hands the TLS stream to `handler` (write a banner, answer a line...), then
    /// sends close_notify. [`Server::tls_target`] is its target.
    pub fn tls(
        config: Arc<rustls::ServerConfig>,
        ca_pem: &str,
        handler: impl Fn(&mut TlsStream) + Send + Sync + 'static,
    ) -> Server {
        let handler: Handler<TcpStream> = Arc::new(move |sock: TcpStream, _: &Shared| {
            let Ok(conn) = rustls::ServerConnection::new(config.clone()) else {
                return;
            };
            let mut tls = rustls::StreamOwned::new(conn, sock);
            while tls.conn.is_handshaking() {
                if tls.conn.complete_io(&mut tls.sock).is_err() {
                    return;
                }
            }
            handler(&mut tls);
            tls.conn.send_close_notify();
            let _ = tls.flush();
        });
        let mut server = Server::tcp(V4, "tls", handler);
        server.ca_pem = Some(ca_pem.to_string());
        server
    }

    /// HTTP/1.1 on a Unix socket in a fresh temp dir.
    pub fn unix_http(route: impl Fn(&Request) -> Response + Send + Sync + 'static) -> Server {
        Server::unix("http+unix", http_handler(Arc::new(route)))
    }

    // --- Hostile peers -----------------------------------------------------------------------

    /// Script any bytes: `handler` gets each accepted connection (see [`read_request`]).
    pub fn raw(handler: impl Fn(TcpStream) + Send + Sync + 'static) -> Server {
        Server::raw_on(V4, handler)
    }

    pub fn raw_on(
        ip: impl Into<IpAddr>,
        handler: impl Fn(TcpStream) + Send + Sync + 'static,
    ) -> Server {
        Server::tcp(
            ip.into(),
            "http",
            Arc::new(move |s: TcpStream, _: &Shared| handler(s)),
        )
    }

    /// A raw handler on a Unix socket.
    pub fn unix_raw(handler: impl Fn(UnixStream) + Send + Sync + 'static) -> Server {
        Server::unix(
            "unix",
            Arc::new(move |s: UnixStream, _: &Shared| handler(s)),
        )
    }

    /// Accepts and never answers; reads and discards until the peer goes away.
    pub fn silent() -> Server {
        Server::silent_on(V4)
    }

    pub fn silent_on(ip: impl Into<IpAddr>) -> Server {
        Server::tcp(
            ip.into(),
            "http",
            Arc::new(|s: TcpStream, _: &Shared| silence(s)),
        )
    }

    /// Accepts, then closes at once without reading or writing.
    pub fn close_at_once() -> Server {
        Server::tcp(V4, "http", Arc::new(|s: TcpStream, _: &Shared| drop(s)))
    }

    /// Reads the request, sends `200 OK` headers announcing a 100 000-byte body at once, then
    /// drips the body (`x`) one byte every 200 ms.
    pub fn drip() -> Server {
        Server::tcp(
            V4,
            "http",
            Arc::new(|mut s: TcpStream, shared: &Shared| {
                if read_request(&mut s).is_err() {
                    return;
                }
                let head =
                    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100000\r\n\r\n";
                if s.write_all(head.as_bytes()).is_err() {
                    return;
                }
                for _ in 0..100_000 {
                    if shared.stopping() || s.write_all(b"x").is_err() {
                        return;
                    }
                    thread::sleep(Duration::from_millis(200));
                }
            }),
        )
    }

    /// Reads the request, sends `200 OK` with no length (`Connection: close`), then writes `a`
    /// as fast as it can until the peer goes away.
    pub fn endless() -> Server {
        Server::tcp(
            V4,
            "http",
            Arc::new(|mut s: TcpStream, shared: &Shared| {
                if read_request(&mut s).is_err() {
                    return;
                }
                let head =
                    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n";
                if s.write_all(head.as_bytes()).is_err() {
                    return;
                }
                let chunk = [b'a'; 16 * 1024];
                while !shared.stopping() && s.write_all(&chunk).is_ok() {}
            }),
        )
    }

    /// A forwarding proxy: `CONNECT host:port` is tunnelled, `GET http://host:port/path` is
    /// forwarded. Every request line it sees is recorded. An unreachable upstream gets a 502.
    pub fn proxy() -> Server {
        Server::tcp(V4, "http", Arc::new(proxy_conn))
    }

    // --- Accessors -------------------------------------------------------------------------

    /// The bound socket address (TCP servers only).
    pub fn addr(&self) -> SocketAddr {
        match &self.bound {
            Bound::Tcp(addr) => *addr,
            Bound::Unix(path) => panic!("unix server at {} has no socket address", path.display()),
        }
    }

    pub fn port(&self) -> u16 {
        self.addr().port()
    }

    /// `host:port` with IPv6 hosts bracketed.
    pub fn authority(&self) -> String {
        let addr = self.addr();
        match addr.ip() {
            IpAddr::V4(ip) => format!("{ip}:{}", addr.port()),
            IpAddr::V6(ip) => format!("[{ip}]:{}", addr.port()),
        }
    }

    /// `http://127.0.0.1:PORT/path` (`https://` for TLS servers, `http+unix://` for Unix
    /// HTTP servers). `path` must start with `/`.
    pub fn url(&self, path: &str) -> String {
        assert!(
            path.starts_with('/'),
            "url path must start with '/': {path:?}"
        );
        match &self.bound {
            Bound::Tcp(_) => format!("{}://{}{path}", self.scheme, self.authority()),
            Bound::Unix(sock) => {
                format!(
                    "http+unix://{}{path}",
                    percent_encode(&sock.to_string_lossy())
                )
            }
        }
    }

    /// `http://localhost:PORT/path`.
    pub fn localhost_url(&self, path: &str) -> String {
        assert!(
            path.starts_with('/'),
            "url path must start with '/': {path:?}"
        );
        format!("{}://localhost:{}{path}", self.scheme, self.port())
    }

    /// `tls://127.0.0.1:PORT` (or `tls://[::1]:PORT`).
    pub fn tls_target(&self) -> String {
        format!("tls://{}", self.authority())
    }

    /// `tcp://127.0.0.1:PORT` (or `tcp://[::1]:PORT`).
    pub fn tcp_target(&self) -> String {
        format!("tcp://{}", self.authority())
    }

    /// The socket path of a Unix server.
    pub fn socket_path(&self) -> &Path {
        match &self.bound {
            Bound::Unix(path) => path,
            Bound::Tcp(addr) => panic!("tcp server at {addr} has no socket path"),
        }
    }

    /// `unix:///path/to/socket`.
    pub fn unix_target(&self) -> String {
        format!("unix://{}", self.socket_path().display())
    }

    /// The CA certificate (PEM) of a TLS server.
    pub fn ca_pem(&self) -> &str {
        self.ca_pem.as_deref().expect("not a TLS server")
    }

    /// Every request recorded so far, in arrival order.
    pub fn requests(&self) -> Vec<Request> {
        self.shared
            .requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn request_count(&self) -> usize {
        self.shared
            .requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .len()
    }

    /// The only request recorded; panics unless exactly one was.
    pub fn only_request(&self) -> Request {
        let requests = self.requests();
        assert_eq!(
            requests.len(),
            1,
            "expected exactly one request, got {requests:#?}"
        );
        requests.into_iter().next().unwrap()
    }

    /// Connections accepted so far (the self-connect at shutdown not included).
    pub fn accepted(&self) -> usize {
        self.shared.accepted.load(Ordering::SeqCst)
    }

    /// The connections accepted, once at least `n` have been or 5 s have passed: the probe can
    /// be done with a connection before this server's thread has accepted it.
    pub fn accepted_at_least(&self, n: usize) -> usize {
        let start = std::time::Instant::now();
        while self.accepted() < n && start.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(5));
        }
        self.accepted()
    }

    // --- Plumbing --------------------------------------------------------------------------

    fn tcp(ip: IpAddr, scheme: &'static str, handler: Handler<TcpStream>) -> Server {
        let listener = TcpListener::bind((ip, 0))
            .unwrap_or_else(|e| panic!("binding a test server on {ip}: {e}"));
        let addr = listener.local_addr().expect("local_addr");
        let shared = new_shared();
        let thread = spawn_accept_loop(
            move || listener.accept().map(|(s, _)| s),
            shared.clone(),
            handler,
        );
        Server {
            bound: Bound::Tcp(addr),
            scheme,
            shared,
            thread: Some(thread),
            ca_pem: None,
            _dir: None,
        }
    }

    fn unix(scheme: &'static str, handler: Handler<UnixStream>) -> Server {
        let dir = TempDir::new();
        let path = dir.path().join("s.sock");
        let listener = UnixListener::bind(&path)
            .unwrap_or_else(|e| panic!("binding a unix test server at {}: {e}", path.display()));
        let shared = new_shared();
        let thread = spawn_accept_loop(
            move || listener.accept().map(|(s, _)| s),
            shared.clone(),
            handler,
        );
        Server {
            bound: Bound::Unix(path),
            scheme,
            shared,
            thread: Some(thread),
            ca_pem: None,
            _dir: Some(dir),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Unblock `accept` by connecting to ourselves.
        let woke = match &self.bound {
            Bound::Tcp(addr) => TcpStream::connect_timeout(addr, Duration::from_secs(5)).is_ok(),
            Bound::Unix(path) => UnixStream::connect(path).is_ok(),
        };
        let Some(thread) = self.thread.take() else {
            return;
        };
        if !woke {
            // Joining would hang on `accept`; leak the thread rather than the test.
            eprintln!("support: could not wake the test server's accept loop; not joining it");
            return;
        }
        if let Err(payload) = thread.join()
            && !thread::panicking()
        {
            panic!("a test server thread panicked: {}", panic_message(&payload));
        }
    }
}

type Route = dyn Fn(&Request) -> Response + Send + Sync;

fn new_shared() -> Arc<Shared> {
    Arc::new(Shared {
        stop: AtomicBool::new(false),
        requests: Mutex::new(Vec::new()),
        accepted: AtomicUsize::new(0),
        closers: Mutex::new(Closers::default()),
    })
}

fn spawn_accept_loop<C: Conn>(
    mut accept: impl FnMut() -> io::Result<C> + Send + 'static,
    shared: Arc<Shared>,
    handler: Handler<C>,
) -> JoinHandle<()> {
    thread::Builder::new()
        .name("test-server".into())
        .spawn(move || {
            let mut workers = Vec::new();
            loop {
                let conn = match accept() {
                    Ok(conn) => conn,
                    Err(_) if shared.stopping() => break,
                    // ECONNABORTED and friends: the peer gave up before we accepted.
                    Err(_) => continue,
                };
                if shared.stopping() {
                    break;
                }
                shared.accepted.fetch_add(1, Ordering::SeqCst);
                let id = shared.track(&conn);
                let handler = handler.clone();
                let shared = shared.clone();
                workers.push(
                    thread::Builder::new()
                        .name("test-conn".into())
                        .spawn(move || {
                            // Untrack even when the handler panics, so the socket closes.
                            struct Untrack<'a>(&'a Shared, Option<usize>);
                            impl Drop for Untrack<'_> {
                                fn drop(&mut self) {
                                    self.0.untrack(self.1);
                                }
                            }
                            let _untrack = Untrack(&shared, id);
                            handler(conn, &shared)
                        })
                        .expect("spawning a connection thread"),
                );
            }
            shared.close_all();
            let panics: Vec<String> = workers
                .into_iter()
                .filter_map(|w| w.join().err())
                .map(|p| panic_message(&p))
                .collect();
            if !panics.is_empty() {
                panic!(
                    "{} connection handler(s) panicked: {}",
                    panics.len(),
                    panics.join("; ")
                );
            }
        })
        .expect("spawning the accept thread")
}

fn panic_message(payload: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_string()
    }
}

fn http_handler<C: Conn>(route: Arc<Route>) -> Handler<C> {
    Arc::new(move |mut conn: C, shared: &Shared| serve_http(&mut conn, shared, &*route))
}

/// One request per connection: read it, record it, answer with `route`, close. I/O errors
/// (the probe hung up) end the connection quietly; a panic in `route` fails the test.
fn serve_http(stream: &mut (impl Read + Write), shared: &Shared, route: &Route) {
    let Ok(req) = read_request(stream) else {
        return;
    };
    shared.record(&req);
    let response = route(&req);
    let _ = response.write_to(stream, req.method.eq_ignore_ascii_case("HEAD"));
}

fn silence(mut s: impl Read) {
    let mut buf = [0u8; 4096];
    while matches!(s.read(&mut buf), Ok(n) if n > 0) {}
}

fn proxy_conn(mut client: TcpStream, shared: &Shared) {
    let Ok(req) = read_request(&mut client) else {
        return;
    };
    shared.record(&req);
    let bad_gateway = b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    if req.method.eq_ignore_ascii_case("CONNECT") {
        let Some(upstream) = dial(&req.path) else {
            let _ = client.write_all(bad_gateway);
            return;
        };
        let id = shared.track(&upstream);
        if client
            .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
            .is_ok()
        {
            tunnel(client, upstream);
        }
        shared.untrack(id);
    } else if let Some(rest) = req.path.strip_prefix("http://") {
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let Some(mut upstream) = dial(authority) else {
            let _ = client.write_all(bad_gateway);
            return;
        };
        let id = shared.track(&upstream);
        let mut out = format!("{} {} HTTP/1.1\r\n", req.method, path);
        for (n, v) in &req.headers {
            let lower = n.to_ascii_lowercase();
            if !lower.starts_with("proxy-") && lower != "connection" {
                out.push_str(&format!("{n}: {v}\r\n"));
            }
        }
        out.push_str("Connection: close\r\n\r\n");
        let mut out = out.into_bytes();
        out.extend_from_slice(&req.body);
        if upstream.write_all(&out).is_ok() {
            let _ = io::copy(&mut upstream, &mut client);
        } else {
            let _ = client.write_all(bad_gateway);
        }
        shared.untrack(id);
    } else {
        let _ = client.write_all(
            b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        );
    }
}

fn dial(authority: &str) -> Option<TcpStream> {
    let addrs = authority.to_socket_addrs().ok()?;
    addrs
        .into_iter()
        .find_map(|a| TcpStream::connect_timeout(&a, Duration::from_secs(2)).ok())
}

/// Copies both ways until either side is done, then closes both.
fn tunnel(client: TcpStream, upstream: TcpStream) {
    let (Ok(mut client_r), Ok(mut upstream_w)) = (client.try_clone(), upstream.try_clone()) else {
        return;
    };
    let up = thread::spawn(move || {
        let _ = io::copy(&mut client_r, &mut upstream_w);
        upstream_w.shutdown_both();
    });
    let (mut upstream_r, mut client_w) = (upstream, client);
    let _ = io::copy(&mut upstream_r, &mut client_w);
    client_w.shutdown_both();
    let _ = up.join();
}

/// Percent-encodes everything but unreserved characters (so `/` becomes `%2F`), as an
/// `http+unix://` host needs.
fn percent_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A server on `unix_raw`/`raw` that answers each `PING\r\n` with `+PONG\r\n` (Redis) and
/// records every byte it received.
pub fn pong(mut s: impl Read + Write, received: &Mutex<Vec<u8>>) {
    let mut buf = [0u8; 1024];
    let mut pending = Vec::new();
    while let Ok(n @ 1..) = s.read(&mut buf) {
        received.lock().unwrap().extend_from_slice(&buf[..n]);
        pending.extend_from_slice(&buf[..n]);
        while let Some(i) = pending.windows(6).position(|w| w == b"PING\r\n") {
            pending.drain(..i + 6);
            if s.write_all(b"+PONG\r\n").is_err() {
                return;
            }
        }
    }
}

/// A TCP port on 127.0.0.1 that nothing listens on (bound, then released).
pub fn dead_port() -> u16 {
    let listener = TcpListener::bind((V4, 0)).expect("binding to find a free port");
    listener.local_addr().expect("local_addr").port()
}
