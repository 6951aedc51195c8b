//! `kafka://HOST[:PORT]`: `ApiVersions` (key 18, v0) answered with error 0, then `Metadata`
//! (key 3, v1, an empty topic list: no topic is read or created) listing at least one broker
//! and a controller (id other than -1).
//!
//! A broker that accepts TCP can still be starting (it answers nothing, or
//! `COORDINATOR_NOT_AVAILABLE`-style errors), be cut off from its cluster's controller (KRaft
//! without quorum, ZooKeeper mode without ZooKeeper: `controller_id` -1), or refuse the
//! request: all unhealthy, named. `Metadata` is sent at the lowest version from 1 to 8 that the
//! broker's ApiVersions answer allows (Kafka 4 dropped some old versions of other APIs; v9 and
//! later are "flexible" versions with tagged fields, which a broker must never require for
//! Metadata). A SASL-only listener answers ApiVersions but hangs up on Metadata before a login,
//! which healthprobe does not do: said so.
//!
//! Crates considered: `rdkafka` (librdkafka, C, with its threads: far over a megabyte),
//! `kafka-protocol` (every message of the protocol, generated, with `bytes`, `indexmap`,
//! `uuid`, `crc32c`: hundreds of KB, estimated from its source size, not built here) and
//! `rskafka` (tokio). The two requests and the fields read here are written by hand.

use crate::check::shared::{Ctx, Timed};
use crate::check::wire::{self, FRAME_LIMIT, Parsed, Wire};
use crate::deadline::Deadline;
use crate::error::{Error, ErrorKind};
use crate::report::Detail;
use crate::target::Target;

const API_VERSIONS: i16 = 18;
const METADATA: i16 = 3;
/// The Metadata versions spoken here: 1 (the first with `controller_id`) to 8 (the last one
/// that is not flexible).
const METADATA_VERSIONS: (i16, i16) = (1, 8);
const CLIENT_ID: &str = "healthprobe";

/// One response: its correlation id and its body.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Response {
    pub correlation_id: i32,
    pub body: Vec<u8>,
}

/// Splits off one response (int32 size, then the correlation id and the body).
pub(crate) fn parse_response(buf: &[u8]) -> Parsed<Response> {
    let Some(head) = buf.get(..4) else {
        return Ok(None);
    };
    let size = i32::from_be_bytes([head[0], head[1], head[2], head[3]]);
    let size = match usize::try_from(size) {
        Ok(s) if (4..=FRAME_LIMIT - 4).contains(&s) => s,
        // As the unsigned size it would be: 2^31, not -2^31.
        _ => return Err(format!("a response of {} bytes", size as u32)),
    };
    let Some(frame) = buf.get(4..4 + size) else {
        return Ok(None);
    };
    Ok(Some((
        Response {
            correlation_id: i32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]]),
            body: frame[4..].to_vec(),
        },
        4 + size,
    )))
}

/// A request: size, api key, version, correlation id, client id (request header v1), body.
fn request(api_key: i16, version: i16, correlation_id: i32, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(14 + CLIENT_ID.len() + body.len());
    let size = 2 + 2 + 4 + 2 + CLIENT_ID.len() + body.len();
    out.extend_from_slice(&(size as i32).to_be_bytes());
    out.extend_from_slice(&api_key.to_be_bytes());
    out.extend_from_slice(&version.to_be_bytes());
    out.extend_from_slice(&correlation_id.to_be_bytes());
    out.extend_from_slice(&(CLIENT_ID.len() as i16).to_be_bytes());
    out.extend_from_slice(CLIENT_ID.as_bytes());
    out.extend_from_slice(body);
    out
}

/// A reader over a response body that fails, rather than panics, at its end.
struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if self.buf.len() < n {
            return Err("a response cut short".into());
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }

    fn i16(&mut self) -> Result<i16, String> {
        let b = self.take(2)?;
        Ok(i16::from_be_bytes([b[0], b[1]]))
    }

    fn i32(&mut self) -> Result<i32, String> {
        let b = self.take(4)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// An array's length: -1 (null) is 0; more elements than bytes left is an error.
    fn count(&mut self, min_size: usize) -> Result<usize, String> {
        let n = self.i32()?;
        if n == -1 {
            return Ok(0);
        }
        usize::try_from(n)
            .ok()
            .filter(|&n| n.saturating_mul(min_size) <= self.buf.len())
            .ok_or_else(|| format!("an array of {n} elements in {} bytes", self.buf.len()))
    }

    /// A (nullable) string: `None` for null.
    fn string(&mut self) -> Result<Option<&'a [u8]>, String> {
        let len = self.i16()?;
        if len == -1 {
            return Ok(None);
        }
        let len = usize::try_from(len).map_err(|_| format!("a string of length {len}"))?;
        self.take(len).map(Some)
    }
}

/// What ApiVersions v0 says: the error code, and the Metadata versions the broker takes.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Versions {
    pub error: i16,
    pub metadata: Option<(i16, i16)>,
}

pub(crate) fn parse_api_versions(body: &[u8]) -> Result<Versions, String> {
    let mut r = Reader { buf: body };
    let error = r.i16()?;
    let mut metadata = None;
    // A broker that does not know the version asked answers UNSUPPORTED_VERSION with what it
    // does know, in v0 form: the list is read either way.
    for _ in 0..r.count(6)? {
        let (key, min, max) = (r.i16()?, r.i16()?, r.i16()?);
        if key == METADATA {
            metadata = Some((min, max));
        }
    }
    Ok(Versions { error, metadata })
}

/// What Metadata says of the cluster.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Cluster {
    pub brokers: usize,
    pub controller: i32,
    pub cluster_id: Option<String>,
}

/// The body of a Metadata response of `version` (1 to 8) up to `controller_id`.
pub(crate) fn parse_metadata(body: &[u8], version: i16) -> Result<Cluster, String> {
    let mut r = Reader { buf: body };
    if version >= 3 {
        r.i32()?; // throttle_time_ms
    }
    // node_id, host, port, rack: at least 12 bytes each.
    let brokers = r.count(12)?;
    for _ in 0..brokers {
        r.i32()?;
        r.string()?.ok_or("a broker without a host")?;
        r.i32()?;
        r.string()?;
    }
    let cluster_id = if version >= 2 {
        r.string()?.map(wire::server_text)
    } else {
        None
    };
    let controller = r.i32()?;
    Ok(Cluster {
        brokers,
        controller,
        cluster_id,
    })
}

/// The few error codes a broker answers ApiVersions with, by name.
fn error_name(code: i16) -> &'static str {
    match code {
        -1 => "UNKNOWN_SERVER_ERROR",
        15 => "COORDINATOR_NOT_AVAILABLE",
        31 => "CLUSTER_AUTHORIZATION_FAILED",
        33 => "UNSUPPORTED_SASL_MECHANISM",
        35 => "UNSUPPORTED_VERSION",
        42 => "INVALID_REQUEST",
        _ => "an error",
    }
}

fn protocol(what: &str) -> Error {
    Error::new(ErrorKind::Protocol, format!("kafka: {what}"))
}

/// Reads the response to request `id`.
fn answer<S: Timed>(wire: &mut Wire<'_, S>, id: i32) -> Result<Vec<u8>, Error> {
    let response = wire.read(parse_response)?;
    if response.correlation_id != id {
        return Err(protocol(&format!(
            "a response to request {}, expected {id}",
            response.correlation_id
        )));
    }
    Ok(response.body)
}

/// ApiVersions, then Metadata; see the module doc for what is healthy.
pub(crate) fn exchange(stream: &mut impl Timed, deadline: &Deadline) -> Result<String, Error> {
    let mut wire = Wire::new(stream, deadline, "kafka");
    wire.send(&request(API_VERSIONS, 0, 1, &[]))?;
    let versions = parse_api_versions(&answer(&mut wire, 1)?).map_err(|e| protocol(&e))?;
    if versions.error != 0 {
        return Err(Error::unhealthy(format!(
            "kafka: ApiVersions answered error {} ({})",
            versions.error,
            error_name(versions.error)
        )));
    }
    let (min, max) = versions
        .metadata
        .ok_or_else(|| protocol("the broker lists no Metadata API"))?;
    let version = min.max(METADATA_VERSIONS.0);
    if version > max.min(METADATA_VERSIONS.1) {
        return Err(Error::new(
            ErrorKind::Unsupported,
            format!(
                "kafka: the broker takes Metadata v{min} to v{max}; healthprobe speaks v{} to v{}",
                METADATA_VERSIONS.0, METADATA_VERSIONS.1
            ),
        ));
    }
    // An empty topic list (not null, which asks for every topic); from v4 on,
    // allow_auto_topic_creation false; v8 adds two "include authorized operations" flags.
    let mut body = 0i32.to_be_bytes().to_vec();
    if version >= 4 {
        body.push(0);
    }
    if version >= 8 {
        body.extend_from_slice(&[0, 0]);
    }
    wire.send(&request(METADATA, version, 2, &body))?;
    let metadata = answer(&mut wire, 2).map_err(|e| {
        if e.to_string()
            .ends_with("closed the connection before replying")
        {
            e.append(" to Metadata (a listener that wants a SASL login first?)")
        } else {
            e
        }
    })?;
    let cluster = parse_metadata(&metadata, version).map_err(|e| protocol(&e))?;
    if cluster.brokers == 0 {
        return Err(Error::unhealthy("kafka: Metadata lists no broker"));
    }
    if cluster.controller < 0 {
        return Err(Error::unhealthy(format!(
            "kafka: no active controller (controller id {}), {} broker{} listed",
            cluster.controller,
            cluster.brokers,
            if cluster.brokers == 1 { "" } else { "s" }
        )));
    }
    let id = cluster
        .cluster_id
        .map(|id| format!(", cluster {}", crate::check::shared::shorten(&id)))
        .unwrap_or_default();
    Ok(format!(
        "{} broker{}, controller {}{id}",
        cluster.brokers,
        if cluster.brokers == 1 { "" } else { "s" },
        cluster.controller
    ))
}

pub(crate) fn steps(
    ctx: &Ctx<'_>,
    target: &Target,
    details: &mut Vec<Detail>,
) -> Result<String, Error> {
    wire::connect(ctx, target, details).and_then(|mut stream| exchange(&mut stream, ctx.deadline))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(correlation_id: i32, body: &[u8]) -> Vec<u8> {
        let mut out = ((body.len() + 4) as i32).to_be_bytes().to_vec();
        out.extend_from_slice(&correlation_id.to_be_bytes());
        out.extend_from_slice(body);
        out
    }

    #[test]
    fn api_versions_request_is_the_specs() {
        // size 21: key 18, version 0, correlation id 1, client id "healthprobe".
        assert_eq!(
            request(API_VERSIONS, 0, 1, &[]),
            b"\0\0\0\x15\0\x12\0\0\0\0\0\x01\0\x0bhealthprobe"
        );
    }

    #[test]
    fn response_needs_its_whole_size() {
        let f = frame(1, b"\0\0\0\0\0\0");
        let (r, used) = parse_response(&f).unwrap().unwrap();
        assert_eq!((r.correlation_id, used, r.body.len()), (1, f.len(), 6));
        assert_eq!(parse_response(&f[..f.len() - 1]), Ok(None));
        assert_eq!(parse_response(b"\0\0"), Ok(None));
        assert!(
            parse_response(b"\x80\0\0\0")
                .unwrap_err()
                .contains("2147483648")
        );
        assert!(parse_response(b"\0\x10\0\0").is_err(), "1 MiB");
        assert!(parse_response(b"\0\0\0\x02xx").is_err());
    }

    #[test]
    fn api_versions_lists_metadata() {
        let body = b"\0\0\0\0\0\x02\0\x12\0\0\0\x03\0\x03\0\0\0\x0c";
        assert_eq!(
            parse_api_versions(body),
            Ok(Versions {
                error: 0,
                metadata: Some((0, 12))
            })
        );
        assert_eq!(parse_api_versions(b"\0\x23\0\0\0\0").unwrap().error, 35);
        assert!(
            parse_api_versions(b"\0\0\x7f\0\0\0").is_err(),
            "a huge count"
        );
        assert!(parse_api_versions(b"\0").is_err());
    }

    fn metadata_v1(brokers: &[(i32, &str)], controller: i32) -> Vec<u8> {
        let mut b = (brokers.len() as i32).to_be_bytes().to_vec();
        for (id, host) in brokers {
            b.extend_from_slice(&id.to_be_bytes());
            b.extend_from_slice(&(host.len() as i16).to_be_bytes());
            b.extend_from_slice(host.as_bytes());
            b.extend_from_slice(&9092i32.to_be_bytes());
            b.extend_from_slice(&(-1i16).to_be_bytes());
        }
        b.extend_from_slice(&controller.to_be_bytes());
        b.extend_from_slice(&0i32.to_be_bytes());
        b
    }

    #[test]
    fn metadata_brokers_and_controller() {
        let c = parse_metadata(&metadata_v1(&[(1, "k1"), (2, "k2")], 2), 1).unwrap();
        assert_eq!((c.brokers, c.controller), (2, 2));
        let c = parse_metadata(&metadata_v1(&[(1, "k1")], -1), 1).unwrap();
        assert_eq!(c.controller, -1);
        // v3: throttle time first; v2+: a cluster id before the controller.
        let mut v3 = 0i32.to_be_bytes().to_vec();
        let v1 = metadata_v1(&[(1, "k1")], 1);
        v3.extend_from_slice(&v1[..v1.len() - 8]);
        v3.extend_from_slice(b"\0\x03abc");
        v3.extend_from_slice(&v1[v1.len() - 8..]);
        let c = parse_metadata(&v3, 3).unwrap();
        assert_eq!(
            (c.brokers, c.controller, c.cluster_id),
            (1, 1, Some("abc".into()))
        );
        assert!(parse_metadata(&v1[..10], 1).is_err());
        assert!(parse_metadata(b"\x7f\0\0\0", 1).is_err());
    }
}
