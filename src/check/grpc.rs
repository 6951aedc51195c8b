//! `grpc://HOST:PORT[/SERVICE]` and `grpcs://…`: calls `grpc.health.v1.Health/Check` and is
//! healthy only on `SERVING`.
//!
//! HTTP/2 is the `h2` crate on a current-thread tokio runtime that lives and dies inside this
//! module: the rest of the crate stays blocking. The two protobuf messages are encoded and
//! decoded by hand (one optional string out, one enum in): prost and its derive would cost more
//! bytes in the binary than these twenty lines.

use std::net::TcpStream;

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncWrite};
use ureq::http;

use crate::check::shared::{Ctx, READ_LIMIT, USER_AGENT, shorten};
use crate::deadline::Deadline;
use crate::error::{Error, ErrorKind, Phase};
use crate::net;
use crate::report::Detail;
use crate::target::{Target, percent_decode};

const PATH: &str = "/grpc.health.v1.Health/Check";

pub(crate) fn steps(
    ctx: &Ctx<'_>,
    target: &Target,
    details: &mut Vec<Detail>,
) -> Result<String, Error> {
    let deadline = ctx.deadline;
    let tls = target.kind().is_tls();
    #[cfg(not(feature = "tls"))]
    if tls {
        return Err(crate::check::shared::unsupported(target, "tls"));
    }
    // A bad CA file or client key fails before a socket opens (the config is cached).
    #[cfg(feature = "tls")]
    if tls {
        ctx.tls_config(crate::tls::TlsUse::Grpc)?;
    }
    let (stream, addr) = ctx.connect(target.host(), target.port())?;
    details.push(ctx.connected(addr));
    stream.set_nonblocking(true).map_err(|e| {
        Error::new(
            ErrorKind::Connect,
            format!("cannot use the connection: {}", net::io_reason(&e)),
        )
    })?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .map_err(|e| {
            Error::new(
                ErrorKind::Protocol,
                format!("cannot start the grpc runtime: {}", net::io_reason(&e)),
            )
        })?;
    let left = deadline.enter(Phase::Tls)?;
    deadline.set_phase(if tls { Phase::Tls } else { Phase::Request });
    let outcome = runtime.block_on(async {
        match tokio::time::timeout(left, call(ctx, target, stream, tls, details)).await {
            Ok(outcome) => outcome,
            Err(_) => Err(deadline.expired()),
        }
    });
    // Do not wait for the connection task or a parked resolver: the verdict is in.
    runtime.shutdown_background();
    outcome
}

#[cfg_attr(not(feature = "tls"), allow(unused_variables))]
async fn call(
    ctx: &Ctx<'_>,
    target: &Target,
    stream: TcpStream,
    tls: bool,
    details: &mut Vec<Detail>,
) -> Result<String, Error> {
    let deadline = ctx.deadline;
    let stream = tokio::net::TcpStream::from_std(stream).map_err(|e| {
        Error::new(
            ErrorKind::Connect,
            format!("cannot use the connection: {}", net::io_reason(&e)),
        )
    })?;
    #[cfg(feature = "tls")]
    if tls {
        let name = ctx.tls_name(target.host());
        let config = ctx.tls_config(crate::tls::TlsUse::Grpc)?;
        let server_name = crate::tls::server_name(&name)?;
        let stream = tokio_rustls::TlsConnector::from(config)
            .connect(server_name, stream)
            .await
            .map_err(|e| crate::tls::io_error(&e, &name, deadline))?;
        let (_, conn) = stream.get_ref();
        crate::tls::after_handshake(conn, ctx.settings.tls.cert_min_days, &name, details)?;
        if let Some(alpn) = conn.alpn_protocol().filter(|p| *p != b"h2") {
            return Err(Error::new(
                ErrorKind::Protocol,
                format!(
                    "the server chose {} over tls, not http/2",
                    String::from_utf8_lossy(alpn)
                ),
            ));
        }
        deadline.set_phase(Phase::Request);
        return health_check(ctx, target, stream).await;
    }
    let _ = (tls, details);
    health_check(ctx, target, stream).await
}

async fn health_check<IO>(ctx: &Ctx<'_>, target: &Target, io: IO) -> Result<String, Error>
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let deadline = ctx.deadline;
    let (client, connection) = h2::client::Builder::new()
        .handshake::<_, Bytes>(io)
        .await
        .map_err(|e| h2_error(&e, deadline))?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    let mut client = client.ready().await.map_err(|e| h2_error(&e, deadline))?;

    let left = deadline.enter(Phase::Request)?;
    let (response, mut body) = client
        .send_request(request(ctx, target, left)?, false)
        .map_err(|e| h2_error(&e, deadline))?;
    body.send_data(Bytes::from(encode_request(target.path())), true)
        .map_err(|e| h2_error(&e, deadline))?;

    deadline.set_phase(Phase::Response);
    let response = response.await.map_err(|e| h2_error(&e, deadline))?;
    if response.status() != http::StatusCode::OK {
        return Err(Error::new(
            ErrorKind::Protocol,
            format!(
                "http status {} from the grpc endpoint, expected 200",
                response.status().as_u16()
            ),
        ));
    }
    // A "trailers-only" response carries grpc-status in its headers (an error without a body).
    if let Some(status) = grpc_status(response.headers()) {
        status?;
    }
    let data = read_message(response.into_body(), deadline).await?;
    let service = if target.path().is_empty() {
        String::new()
    } else {
        format!("service {:?} ", shorten(target.path()))
    };
    match decode_response(&data)? {
        1 => Ok(format!("{service}SERVING")),
        other => Err(Error::unhealthy(format!(
            "{service}{}, expected SERVING",
            serving_status_name(other)
        ))),
    }
}

/// The `Check` request's head: `left` is the time the server may take (`grpc-timeout`).
fn request(
    ctx: &Ctx<'_>,
    target: &Target,
    left: std::time::Duration,
) -> Result<http::Request<()>, Error> {
    let mut request = http::Request::builder()
        .method(http::Method::POST)
        .uri(format!(
            "{}://{}{PATH}",
            if target.kind().is_tls() {
                "https"
            } else {
                "http"
            },
            authority(ctx, target)
        ))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .header("user-agent", USER_AGENT)
        // The server may give up when the probe would: milliseconds, at most 8 digits.
        .header(
            "grpc-timeout",
            format!("{}m", left.as_millis().clamp(1, 99_999_999)),
        );
    for (name, value) in ctx
        .settings
        .headers
        .iter()
        .filter(|(n, _)| !n.eq_ignore_ascii_case("host"))
    {
        request = request.header(name.to_ascii_lowercase(), value.as_str());
    }
    if let Some(token) = &ctx.settings.bearer_token {
        request = request.header("authorization", format!("Bearer {}", token.as_str()));
    }
    request
        .body(())
        .map_err(|e| Error::usage(format!("invalid grpc request: {e}")))
}

/// The response body (at most 64 KiB), once its trailers say `grpc-status: 0`.
async fn read_message(mut body: h2::RecvStream, deadline: &Deadline) -> Result<Vec<u8>, Error> {
    let mut data = Vec::new();
    while let Some(chunk) = body.data().await {
        let chunk = chunk.map_err(|e| h2_error(&e, deadline))?;
        let _ = body.flow_control().release_capacity(chunk.len());
        data.extend_from_slice(&chunk);
        if data.len() > READ_LIMIT {
            return Err(Error::new(
                ErrorKind::Protocol,
                "grpc response larger than 64 KiB",
            ));
        }
    }
    let trailers = body.trailers().await.map_err(|e| h2_error(&e, deadline))?;
    match trailers.as_ref().and_then(grpc_status) {
        Some(status) => status.map(|()| data),
        None => Err(Error::new(
            ErrorKind::Protocol,
            "grpc response without a grpc-status",
        )),
    }
}

/// `:authority`: the `Host` header if given, else `tls_server_name`, else the target's host and
/// port.
fn authority(ctx: &Ctx<'_>, target: &Target) -> String {
    if let Some((_, host)) = ctx
        .settings
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("host"))
    {
        return host.clone();
    }
    #[cfg(feature = "tls")]
    if let Some(name) = &ctx.settings.tls.server_name {
        return format!("{name}:{}", target.port());
    }
    net::host_port(target.host(), target.port())
}

/// `grpc-status` and `grpc-message` as an outcome: `Ok` for status 0.
fn grpc_status(headers: &http::HeaderMap) -> Option<Result<(), Error>> {
    let code: u32 = headers
        .get("grpc-status")?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    if code == 0 {
        return Some(Ok(()));
    }
    let message = headers
        .get("grpc-message")
        .and_then(|m| m.to_str().ok())
        .map(|m| percent_decode(m, false).unwrap_or_default())
        .filter(|m| !m.is_empty())
        .map(|m| format!(": {}", shorten(&m)))
        .unwrap_or_default();
    let hint = match (code, message.is_empty()) {
        (5, true) => " (unknown service)",
        (12, true) => " (no health service)",
        _ => "",
    };
    Some(Err(Error::unhealthy(format!(
        "grpc error {code} {}{message}{hint}",
        grpc_code_name(code)
    ))))
}

fn grpc_code_name(code: u32) -> &'static str {
    const NAMES: [&str; 17] = [
        "OK",
        "CANCELLED",
        "UNKNOWN",
        "INVALID_ARGUMENT",
        "DEADLINE_EXCEEDED",
        "NOT_FOUND",
        "ALREADY_EXISTS",
        "PERMISSION_DENIED",
        "RESOURCE_EXHAUSTED",
        "FAILED_PRECONDITION",
        "ABORTED",
        "OUT_OF_RANGE",
        "UNIMPLEMENTED",
        "INTERNAL",
        "UNAVAILABLE",
        "DATA_LOSS",
        "UNAUTHENTICATED",
    ];
    NAMES
        .get(code as usize)
        .copied()
        .unwrap_or("(unknown code)")
}

fn serving_status_name(status: u64) -> &'static str {
    match status {
        0 => "UNKNOWN",
        1 => "SERVING",
        2 => "NOT_SERVING",
        3 => "SERVICE_UNKNOWN",
        _ => "an unknown status",
    }
}

/// A length-prefixed gRPC message holding `HealthCheckRequest { string service = 1; }`.
fn encode_request(service: &str) -> Vec<u8> {
    let mut message = Vec::new();
    if !service.is_empty() {
        message.push(0x0a); // field 1, length-delimited
        push_varint(&mut message, service.len() as u64);
        message.extend_from_slice(service.as_bytes());
    }
    let mut frame = vec![0u8]; // not compressed
    frame.extend_from_slice(&(message.len() as u32).to_be_bytes());
    frame.extend_from_slice(&message);
    frame
}

fn push_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// The `status` of a length-prefixed `HealthCheckResponse { ServingStatus status = 1; }`.
/// proto3 leaves a zero (UNKNOWN) out, so an empty message means UNKNOWN.
fn decode_response(data: &[u8]) -> Result<u64, Error> {
    let bad = |why: &str| {
        Error::new(
            ErrorKind::Protocol,
            format!("invalid grpc health response: {why}"),
        )
    };
    let [flag, l0, l1, l2, l3, rest @ ..] = data else {
        return Err(bad("no message"));
    };
    if *flag != 0 {
        return Err(bad("compressed, though no compression was offered"));
    }
    let len = u32::from_be_bytes([*l0, *l1, *l2, *l3]) as usize;
    let mut message = rest
        .get(..len)
        .ok_or_else(|| bad("message shorter than its length"))?;
    let mut status = 0;
    while !message.is_empty() {
        let (key, after) = read_varint(message).ok_or_else(|| bad("truncated field"))?;
        message = after;
        match (key >> 3, key & 7) {
            (1, 0) => {
                let (v, after) = read_varint(message).ok_or_else(|| bad("truncated status"))?;
                status = v;
                message = after;
            }
            (_, 0) => {
                message = read_varint(message)
                    .ok_or_else(|| bad("truncated field"))?
                    .1
            }
            (_, 2) => {
                let (len, after) = read_varint(message).ok_or_else(|| bad("truncated field"))?;
                message = after
                    .get(len as usize..)
                    .ok_or_else(|| bad("truncated field"))?;
            }
            (_, 1) => message = message.get(8..).ok_or_else(|| bad("truncated field"))?,
            (_, 5) => message = message.get(4..).ok_or_else(|| bad("truncated field"))?,
            _ => return Err(bad("unknown wire type")),
        }
    }
    Ok(status)
}

fn read_varint(mut input: &[u8]) -> Option<(u64, &[u8])> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let (&byte, rest) = input.split_first()?;
        input = rest;
        value |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return Some((value, input));
        }
    }
    None
}

fn h2_error(e: &h2::Error, deadline: &Deadline) -> Error {
    if let Some(io) = e.get_io() {
        #[cfg(feature = "tls")]
        if io.get_ref().is_some_and(|i| i.is::<rustls::Error>()) {
            return crate::tls::io_error(io, "", deadline);
        }
        if crate::deadline::is_timeout(io) {
            return deadline.expired();
        }
        // An HTTP/1.1 server answers the HTTP/2 preface with an error page and closes;
        // which of the two the probe meets first is a race.
        return Error::new(
            ErrorKind::Protocol,
            format!(
                "{} during the grpc call (is it an http/2 server?)",
                net::io_reason(io)
            ),
        );
    }
    // What an HTTP/1.1 server answers to the HTTP/2 preface ("HTTP/1.1 400 …") reads as a
    // frame of absurd size or type.
    let local = e.is_go_away() && !e.is_remote();
    if local
        && matches!(
            e.reason(),
            Some(h2::Reason::FRAME_SIZE_ERROR | h2::Reason::PROTOCOL_ERROR)
        )
    {
        return Error::new(
            ErrorKind::Protocol,
            "the peer does not speak http/2 (an http/1.1 server?)",
        );
    }
    Error::new(
        ErrorKind::Protocol,
        format!("http/2 error: {}", shorten(&e.to_string().to_lowercase())),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_without_service_is_empty_message() {
        assert_eq!(encode_request(""), vec![0, 0, 0, 0, 0]);
    }

    #[test]
    fn request_with_service() {
        assert_eq!(
            encode_request("ab"),
            vec![0, 0, 0, 0, 4, 0x0a, 2, b'a', b'b']
        );
    }

    #[test]
    fn response_serving() {
        assert_eq!(decode_response(&[0, 0, 0, 0, 2, 0x08, 1]).unwrap(), 1);
    }

    #[test]
    fn empty_response_is_unknown() {
        assert_eq!(decode_response(&[0, 0, 0, 0, 0]).unwrap(), 0);
    }

    #[test]
    fn response_skips_unknown_fields() {
        assert_eq!(
            decode_response(&[0, 0, 0, 0, 6, 0x12, 1, b'x', 0x08, 2, 0]).unwrap_or(99),
            99
        );
        assert_eq!(
            decode_response(&[0, 0, 0, 0, 5, 0x12, 1, b'x', 0x08, 2]).unwrap(),
            2
        );
    }

    #[test]
    fn truncated_response_fails() {
        assert!(decode_response(&[0, 0, 0, 0, 3, 0x08]).is_err());
        assert!(decode_response(&[0, 0]).is_err());
        assert!(decode_response(&[1, 0, 0, 0, 0]).is_err());
    }

    #[test]
    fn varints() {
        let mut v = Vec::new();
        push_varint(&mut v, 300);
        assert_eq!(v, [0xac, 0x02]);
        assert_eq!(read_varint(&v).unwrap().0, 300);
        assert!(read_varint(&[0x80; 11]).is_none());
    }

    #[test]
    fn grpc_message_is_decoded() {
        let mut h = http::HeaderMap::new();
        h.insert("grpc-status", "12".parse().unwrap());
        h.insert("grpc-message", "Method%20not%20found".parse().unwrap());
        let e = grpc_status(&h).unwrap().unwrap_err();
        assert_eq!(
            e.to_string(),
            "grpc error 12 UNIMPLEMENTED: Method not found"
        );
    }
}
