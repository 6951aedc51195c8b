//! `tls://HOST:PORT`: TCP, then a full TLS handshake with verification, then close;
//! `send`/`expect` work over the TLS stream too.

use std::io::{self, Read};
use std::time::Duration;

use crate::check::shared::{Ctx, TlsStream, converse};
use crate::deadline::Deadline;
use crate::error::{Error, Phase};
use crate::report::Detail;
use crate::target::Target;
use crate::tls::{self, TlsUse};

pub(crate) fn steps(
    ctx: &Ctx<'_>,
    target: &Target,
    details: &mut Vec<Detail>,
) -> Result<String, Error> {
    // A bad CA file, client key or server name fails before a socket opens.
    ctx.tls_config(TlsUse::Plain)?;
    let name = ctx.tls_name(target.host());
    tls::server_name(&name)?;
    let (sock, addr) = ctx.connect(target.host(), target.port())?;
    details.push(ctx.connected(addr));
    let mut stream = ctx.wrap_tls(sock, target.host(), details)?;
    let version = stream
        .conn
        .protocol_version()
        .map(tls::version_name)
        .unwrap_or("?");
    if let Some(reply) = converse(&mut stream, ctx)? {
        return Ok(reply);
    }
    if ctx.settings.send.is_none() {
        await_rejection(&mut stream, &name, ctx.deadline)?;
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
fn await_rejection(stream: &mut TlsStream, name: &str, deadline: &Deadline) -> Result<(), Error> {
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
