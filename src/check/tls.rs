//! `tls://HOST:PORT`: TCP, then a full TLS handshake with verification, then close;
//! `send`/`expect` work over the TLS stream too.

use std::io::{self, Read};
use std::net::TcpStream;
use std::time::Duration;

use rustls::{ClientConnection, StreamOwned};

use crate::check::shared::{Ctx, Timed, converse};
use crate::deadline::Deadline;
use crate::error::{Error, ErrorKind, Phase};
use crate::report::{Detail, Outcome};
use crate::target::Target;
use crate::tls::{self, TlsUse};

impl Timed for StreamOwned<ClientConnection, TcpStream> {
    fn set_timeouts(&mut self, left: Duration) -> io::Result<()> {
        self.sock.set_timeouts(left)
    }
}

pub(crate) fn check(ctx: &Ctx<'_>, target: &Target) -> Outcome {
    let mut details = Vec::new();
    let verdict = steps(ctx, target, &mut details);
    Outcome {
        verdict,
        status: None,
        details,
    }
}

fn steps(ctx: &Ctx<'_>, target: &Target, details: &mut Vec<Detail>) -> Result<String, Error> {
    let deadline = ctx.deadline;
    let config = ctx.tls_config(TlsUse::Plain)?;
    let name = ctx.tls_name(target.host());
    let server_name = tls::server_name(&name)?;
    let (mut sock, addr) = ctx.connect(target.host(), target.port())?;
    details.push(ctx.connected(addr));
    let mut conn = ClientConnection::new(config, server_name)
        .map_err(|e| Error::new(ErrorKind::Tls, format!("tls setup failed: {e}")))?;
    sock.set_timeouts(deadline.enter(Phase::Tls)?)
        .map_err(|e| tls::io_error(&e, &name, deadline))?;
    tls::handshake(&mut conn, &mut sock, &name, deadline)?;
    tls::after_handshake(&conn, ctx.settings.tls.cert_min_days, &name, details)?;
    let version = conn
        .protocol_version()
        .map(tls::version_name)
        .unwrap_or("?");
    let mut stream = StreamOwned::new(conn, sock);
    if let Some(reply) = converse(&mut stream, ctx)? {
        return Ok(reply);
    }
    if ctx.settings.send.is_none() {
        await_rejection(&mut stream, &name, deadline)?;
    }
    stream.conn.send_close_notify();
    let _ = stream.conn.complete_io(&mut stream.sock);
    Ok(format!(
        "tls {version} handshake with {addr} verified for {name}"
    ))
}

/// In TLS 1.3 a server that rejects the client certificate says so only after the client's
/// handshake has finished. Wait briefly for its first record (a session ticket, usually sent
/// at once) so that such a rejection is not reported healthy.
fn await_rejection(
    stream: &mut StreamOwned<ClientConnection, TcpStream>,
    name: &str,
    deadline: &Deadline,
) -> Result<(), Error> {
    if stream.conn.protocol_version() != Some(rustls::ProtocolVersion::TLSv1_3) {
        return Ok(());
    }
    let Ok(left) = deadline.enter(Phase::Tls) else {
        return Ok(());
    };
    let _ = stream
        .sock
        .set_read_timeout(Some(left.min(Duration::from_millis(250))));
    let mut byte = [0u8; 1];
    match stream.read(&mut byte) {
        Err(e) if e.get_ref().is_some_and(|i| i.is::<rustls::Error>()) => {
            Err(tls::io_error(&e, name, deadline))
        }
        Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {
            Err(tls::io_error(&e, name, deadline))
        }
        _ => Ok(()),
    }
}
