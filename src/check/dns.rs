//! `dns://[SERVER[:PORT]]/NAME[?type=A|AAAA|SRV|TXT|CNAME]`: healthy when the answer holds at
//! least one record of the type asked for (default: A, then AAAA; either will do), following a
//! CNAME chain inside the answer section. NXDOMAIN, SERVFAIL, REFUSED, any other error code, an
//! empty answer (NOERROR/NODATA) and no answer in time are unhealthy, each named, with the
//! server that said so. The init-container step that the Kubernetes docs write as
//! `until nslookup myservice; do sleep 2; done` is `--wait 2m dns:///myservice -- …`.
//!
//! The server: SERVER (a name is resolved as for every target, `-4`/`-6` apply) on PORT (53);
//! an empty one (`dns:///NAME`) is the system's resolver: the `nameserver` lines of
//! /etc/resolv.conf in order (at most 3; none, or no file: 127.0.0.1, as glibc and musl do),
//! port 53. Each address of the server is tried in turn as TCP addresses are (`net::
//! address_share`): an ICMP refusal moves on at once, a silent one gets half the time left.
//!
//! The name: with the system's resolver, a NAME without a trailing dot goes through the
//! resolver's `search` list as musl does (the libc of the static binary), so that
//! `dns:///myservice` in a pod finds `myservice.NAMESPACE.svc.cluster.local` as `nslookup
//! myservice` does: a name with fewer dots than `options ndots:N` (default 1; Kubernetes writes
//! 5) is tried with each search domain appended, then as given; a name with that many dots, or
//! with a trailing dot, only as given. NXDOMAIN and an empty answer move on to the next name;
//! any other answer or failure decides. With an explicit SERVER the name is asked as given
//! (`dig` does the same; the search list belongs to the system's resolver).
//!
//! The exchange: a query over UDP from a port the kernel picks at random, with a random
//! 16-bit id (std's `RandomState`: SipHash keyed from the kernel's getrandom); the socket is
//! connected, so only the server's datagrams arrive. A datagram whose id, QR bit or question
//! does not match is ignored (and counted) until the deadline; the query is sent again after
//! 500 ms, 1 s, then every 2 s (a lost datagram). No EDNS: an answer over 512 bytes comes back
//! truncated (TC), and the query goes again over TCP to the same address.
//!
//! Crates considered, measured as the growth of a minimal static musl program (opt-level z,
//! LTO) that builds one query and prints the A, AAAA, SRV, TXT and CNAME records of a reply:
//! `dns-parser` 0.8 +24.6 KB, `simple-dns` 0.13 +69.7 KB, `hickory-proto` 0.25 (std only, no
//! DNSSEC) +331.8 KB. Each still leaves the sockets, retries, deadline, the TCP fallback and
//! the resolv.conf reading to us. What this module needs of the format (one question out; a
//! header, a question and five record types in, with name compression) is written here: a
//! bounded reader where each compression pointer must point strictly backwards (so a pointer
//! loop cannot be built) and at most 64 are followed per name.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

use crate::check::shared::{Ctx, shorten};
use crate::check::wire::{self, FRAME_LIMIT, Parsed, Wire};
use crate::error::{Error, ErrorKind, Phase};
use crate::net::{self, IpFamily};
use crate::report::Detail;
use crate::target::Target;

pub(crate) const TYPE_A: u16 = 1;
pub(crate) const TYPE_CNAME: u16 = 5;
pub(crate) const TYPE_TXT: u16 = 16;
pub(crate) const TYPE_AAAA: u16 = 28;
pub(crate) const TYPE_SRV: u16 = 33;
const CLASS_IN: u16 = 1;

const NXDOMAIN: u8 = 3;

/// The system's resolver configuration.
const RESOLV_CONF: &str = "/etc/resolv.conf";
/// glibc's MAXNS and MAXDNSRCH.
const MAX_NAMESERVERS: usize = 3;
const MAX_SEARCH: usize = 6;
/// glibc and musl cap `ndots` at 15.
const MAX_NDOTS: usize = 15;

/// Without EDNS a UDP answer is at most 512 bytes; a larger datagram is read whole up to this.
const DATAGRAM_LIMIT: usize = 4096;
/// The first resend of an unanswered UDP query; each next one waits twice as long, up to
/// [`RESEND_MAX`].
const RESEND_FIRST: Duration = Duration::from_millis(500);
const RESEND_MAX: Duration = Duration::from_secs(2);
/// Compression pointers followed in one name, and CNAMEs followed in one answer.
const MAX_POINTERS: usize = 64;
const MAX_CNAMES: usize = 16;

/// The code of a type as written in a target (`SRV`).
pub(crate) fn type_code(name: &str) -> u16 {
    match name {
        "AAAA" => TYPE_AAAA,
        "SRV" => TYPE_SRV,
        "TXT" => TYPE_TXT,
        "CNAME" => TYPE_CNAME,
        _ => TYPE_A,
    }
}

fn type_name(code: u16) -> &'static str {
    match code {
        TYPE_A => "A",
        TYPE_AAAA => "AAAA",
        TYPE_SRV => "SRV",
        TYPE_TXT => "TXT",
        TYPE_CNAME => "CNAME",
        _ => "other",
    }
}

fn rcode_name(rcode: u8) -> String {
    match rcode {
        1 => "FORMERR".into(),
        2 => "SERVFAIL".into(),
        NXDOMAIN => "NXDOMAIN".into(),
        4 => "NOTIMP".into(),
        5 => "REFUSED".into(),
        other => format!("error code {other}"),
    }
}

// --- Messages ---------------------------------------------------------------------------------

/// A standard query for `name` (a valid name, with or without its trailing dot) and `qtype`,
/// recursion desired.
pub(crate) fn query(id: u16, name: &str, qtype: u16) -> Vec<u8> {
    let mut q = Vec::with_capacity(18 + name.len());
    q.extend_from_slice(&id.to_be_bytes());
    // Flags: RD. One question, no other records.
    q.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.trim_end_matches('.').split('.') {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.push(0);
    q.extend_from_slice(&qtype.to_be_bytes());
    q.extend_from_slice(&CLASS_IN.to_be_bytes());
    q
}

/// Whether `reply` claims to answer `query`: the same id, the QR bit, a standard query, and
/// the same question (names compared in any case). Some servers leave the question out of an
/// error answer: without one, an error code with the right id is taken as the answer.
pub(crate) fn answers(reply: &[u8], query: &[u8]) -> bool {
    if reply.len() < 12 || query.len() < 12 || reply[..2] != query[..2] {
        return false;
    }
    let (flags, qdcount) = (reply[2], u16::from_be_bytes([reply[4], reply[5]]));
    if flags & 0x80 == 0 || flags & 0x78 != 0 {
        return false;
    }
    let question = &query[12..];
    match qdcount {
        0 => reply[3] & 0x0f != 0,
        1 => reply
            .get(12..12 + question.len())
            .is_some_and(|q| q.eq_ignore_ascii_case(question)),
        _ => false,
    }
}

/// The parts of an answer the check reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reply {
    pub rcode: u8,
    /// TC: the answer did not fit in the datagram.
    pub truncated: bool,
    pub records: Vec<Record>,
}

/// One record of the answer section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Record {
    pub owner: String,
    pub data: Data,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Data {
    A(Ipv4Addr),
    Aaaa(Ipv6Addr),
    Cname(String),
    Srv {
        priority: u16,
        weight: u16,
        port: u16,
        target: String,
    },
    /// The first character-string.
    Txt(Vec<u8>),
    /// Another type, or another class.
    Other(u16),
}

impl Data {
    fn code(&self) -> u16 {
        match self {
            Data::A(_) => TYPE_A,
            Data::Aaaa(_) => TYPE_AAAA,
            Data::Cname(_) => TYPE_CNAME,
            Data::Srv { .. } => TYPE_SRV,
            Data::Txt(_) => TYPE_TXT,
            Data::Other(code) => *code,
        }
    }

    /// The record as the verdict shows it.
    fn describe(&self) -> String {
        match self {
            Data::A(ip) => ip.to_string(),
            Data::Aaaa(ip) => ip.to_string(),
            Data::Cname(name) => name.clone(),
            Data::Srv {
                priority,
                weight,
                port,
                target,
            } => format!("{target}:{port} (priority {priority}, weight {weight})"),
            Data::Txt(text) => format!("{:?}", shorten(&wire::server_text(text))),
            Data::Other(code) => format!("type {code}"),
        }
    }
}

fn be16(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*bytes.get(at)?, *bytes.get(at + 1)?]))
}

/// Reads the (possibly compressed) name at `at`: the name as text (labels joined by dots,
/// bytes other than letters, digits, `-`, `_` and `*` as `\DDD`) and where the bytes after it
/// start. A pointer must point before itself, so pointers cannot loop; at most
/// [`MAX_POINTERS`] are followed, and a name is at most 255 bytes.
pub(crate) fn read_name(msg: &[u8], mut at: usize) -> Result<(String, usize), String> {
    let mut name = String::new();
    let mut after = None;
    let mut pointers = 0;
    let mut length = 1;
    loop {
        let len = *msg.get(at).ok_or("a name runs past the end")?;
        match len & 0xc0 {
            0 if len == 0 => return Ok((name, after.unwrap_or(at + 1))),
            0 => {
                let len = usize::from(len);
                let label = msg
                    .get(at + 1..at + 1 + len)
                    .ok_or("a name runs past the end")?;
                length += len + 1;
                if length > 255 {
                    return Err("a name longer than 255 bytes".into());
                }
                if !name.is_empty() {
                    name.push('.');
                }
                for &b in label {
                    if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'*' {
                        name.push(char::from(b));
                    } else {
                        name.push_str(&format!("\\{b:03}"));
                    }
                }
                at += 1 + len;
            }
            0xc0 => {
                let target = usize::from(be16(msg, at).ok_or("a name runs past the end")? & 0x3fff);
                if target >= at {
                    return Err("a compression pointer that does not point back".into());
                }
                pointers += 1;
                if pointers > MAX_POINTERS {
                    return Err(format!(
                        "more than {MAX_POINTERS} compression pointers in a name"
                    ));
                }
                after.get_or_insert(at + 2);
                at = target;
            }
            _ => return Err(format!("a label of unknown type 0x{len:02x}")),
        }
    }
}

/// Parses an answer: its header, its question (skipped) and every record of its answer
/// section (the authority and additional sections are not read). Bounded by the message:
/// each record takes at least 11 bytes, whatever count the header claims.
pub(crate) fn parse_reply(msg: &[u8]) -> Result<Reply, String> {
    if msg.len() < 12 {
        return Err(format!(
            "an answer of {} bytes, shorter than a header",
            msg.len()
        ));
    }
    let rcode = msg[3] & 0x0f;
    let truncated = msg[2] & 0x02 != 0;
    let qdcount = be16(msg, 4).unwrap_or(0);
    let ancount = be16(msg, 6).unwrap_or(0);
    let mut at = 12;
    for _ in 0..qdcount {
        at = read_name(msg, at)?.1 + 4;
        if at > msg.len() {
            return Err("the question runs past the end".into());
        }
    }
    let mut records = Vec::new();
    for i in 0..ancount {
        // A truncated answer may stop anywhere: what is whole is kept.
        let record = read_record(msg, at);
        match record {
            Ok((record, next)) => {
                records.push(record);
                at = next;
            }
            Err(_) if truncated => break,
            Err(why) => {
                return Err(format!(
                    "{ancount} answer record(s) announced, record {} unreadable: {why}",
                    i + 1
                ));
            }
        }
    }
    Ok(Reply {
        rcode,
        truncated,
        records,
    })
}

fn read_record(msg: &[u8], at: usize) -> Result<(Record, usize), String> {
    let (owner, at) = read_name(msg, at)?;
    let fixed = msg.get(at..at + 10).ok_or("the message ends in a record")?;
    let rtype = u16::from_be_bytes([fixed[0], fixed[1]]);
    let class = u16::from_be_bytes([fixed[2], fixed[3]]);
    let len = usize::from(u16::from_be_bytes([fixed[8], fixed[9]]));
    let start = at + 10;
    let end = start + len;
    let rdata = msg.get(start..end).ok_or("the message ends in a record")?;
    // A name inside the record data must end inside it.
    let name_at = |offset: usize| -> Result<String, String> {
        let (name, after) = read_name(msg, start + offset)?;
        if after > end {
            return Err(format!(
                "a {} record whose name overruns it",
                type_name(rtype)
            ));
        }
        Ok(name)
    };
    let wrong_size = || format!("a {} record of {len} bytes", type_name(rtype));
    let data = match (rtype, class) {
        (_, c) if c != CLASS_IN => Data::Other(rtype),
        (TYPE_A, _) => Data::A(<[u8; 4]>::try_from(rdata).map_err(|_| wrong_size())?.into()),
        (TYPE_AAAA, _) => Data::Aaaa(
            <[u8; 16]>::try_from(rdata)
                .map_err(|_| wrong_size())?
                .into(),
        ),
        (TYPE_CNAME, _) => Data::Cname(name_at(0)?),
        (TYPE_SRV, _) if len >= 7 => Data::Srv {
            priority: u16::from_be_bytes([rdata[0], rdata[1]]),
            weight: u16::from_be_bytes([rdata[2], rdata[3]]),
            port: u16::from_be_bytes([rdata[4], rdata[5]]),
            target: name_at(6)?,
        },
        (TYPE_SRV, _) => return Err(wrong_size()),
        (TYPE_TXT, _) => {
            let first = usize::from(*rdata.first().ok_or_else(wrong_size)?);
            Data::Txt(rdata.get(1..1 + first).ok_or_else(wrong_size)?.to_vec())
        }
        _ => Data::Other(rtype),
    };
    Ok((Record { owner, data }, end))
}

/// A TCP message: a two-byte length, then the message.
pub(crate) fn parse_tcp_message(buf: &[u8]) -> Parsed<Vec<u8>> {
    let Some(len) = be16(buf, 0).map(usize::from) else {
        return Ok(None);
    };
    if len < 12 {
        return Err(format!("a message of {len} bytes, shorter than a header"));
    }
    if len + 2 > FRAME_LIMIT {
        return Err(format!("an answer of {len} bytes, longer than 16 KiB"));
    }
    Ok(buf.get(2..2 + len).map(|m| (m.to_vec(), 2 + len)))
}

/// What an answer says about `name` and `qtype`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Finding {
    /// `count` records of the type, the first described; `via`: the end of a CNAME chain.
    Found {
        count: usize,
        first: String,
        via: Option<String>,
    },
    /// NOERROR and no record of the type; `via`: the end of a CNAME chain.
    Empty { via: Option<String> },
    /// An error code.
    Rcode(u8),
}

/// Judges `reply` for `name`: its records of `qtype` owned by `name`, or, for any type but
/// CNAME, by the end of the CNAME chain from `name` inside the answer.
pub(crate) fn judge(reply: &Reply, name: &str, qtype: u16) -> Finding {
    if reply.rcode != 0 {
        return Finding::Rcode(reply.rcode);
    }
    let mut owner = name.trim_end_matches('.');
    let mut via = None;
    if qtype != TYPE_CNAME {
        for _ in 0..MAX_CNAMES {
            let next = reply.records.iter().find_map(|r| match &r.data {
                Data::Cname(to) if r.owner.eq_ignore_ascii_case(owner) => Some(to.as_str()),
                _ => None,
            });
            match next {
                Some(to) => {
                    owner = to;
                    via = Some(to.to_string());
                }
                None => break,
            }
        }
    }
    let mut found = reply
        .records
        .iter()
        .filter(|r| r.data.code() == qtype && r.owner.eq_ignore_ascii_case(owner));
    match found.next() {
        Some(first) => Finding::Found {
            count: 1 + found.count(),
            first: first.data.describe(),
            via,
        },
        None => Finding::Empty { via },
    }
}

// --- The system's resolver --------------------------------------------------------------------

/// What the check reads of /etc/resolv.conf.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ResolvConf {
    pub nameservers: Vec<IpAddr>,
    pub search: Vec<String>,
    pub ndots: usize,
}

/// Reads resolv.conf's `nameserver`, `search` (or `domain`: the last of the two wins) and
/// `options ndots:N`, as the C libraries do; no name server means 127.0.0.1.
pub(crate) fn parse_resolv_conf(text: &str) -> ResolvConf {
    let mut conf = ResolvConf {
        nameservers: Vec::new(),
        search: Vec::new(),
        ndots: 1,
    };
    for line in text.lines() {
        let line = line.split(['#', ';']).next().unwrap_or_default();
        let mut words = line.split_whitespace();
        match words.next() {
            Some("nameserver") => {
                // A link-local address's `%zone` cannot be used here: skipped.
                if let Some(ip) = words.next().and_then(|w| w.parse().ok())
                    && conf.nameservers.len() < MAX_NAMESERVERS
                {
                    conf.nameservers.push(ip);
                }
            }
            Some("search" | "domain") => {
                conf.search = words
                    .map(|d| d.trim_end_matches('.').to_string())
                    .filter(|d| !d.is_empty())
                    .take(MAX_SEARCH)
                    .collect();
            }
            Some("options") => {
                for option in words {
                    if let Some(n) = option.strip_prefix("ndots:").and_then(|n| n.parse().ok()) {
                        conf.ndots = MAX_NDOTS.min(n);
                    }
                }
            }
            _ => {}
        }
    }
    if conf.nameservers.is_empty() {
        conf.nameservers.push(Ipv4Addr::LOCALHOST.into());
    }
    conf
}

/// The names to ask for, in order (musl's `name_from_dns_search`): with a trailing dot or at
/// least `ndots` dots, the name alone; else the name with each search domain appended (those
/// that make a valid name), then the name alone.
pub(crate) fn search_names(name: &str, conf: &ResolvConf) -> Vec<String> {
    let bare = name.trim_end_matches('.');
    let dots = bare.bytes().filter(|&b| b == b'.').count();
    let mut names = Vec::new();
    if !name.ends_with('.') && dots < conf.ndots {
        for domain in &conf.search {
            let long = format!("{bare}.{domain}");
            if crate::target::valid_dns_name(&long) {
                names.push(long);
            }
        }
    }
    names.push(bare.to_string());
    names
}

/// The addresses to ask, and the names to ask for.
fn servers_and_names(
    ctx: &Ctx<'_>,
    target: &Target,
    name: &str,
) -> Result<(Vec<SocketAddr>, Vec<String>), Error> {
    let family = ctx.settings.ip_family;
    if !target.host().is_empty() {
        let servers = net::resolve(target.host(), target.port(), family, ctx.deadline)?;
        return Ok((servers, vec![name.trim_end_matches('.').to_string()]));
    }
    let text = match std::fs::read_to_string(RESOLV_CONF) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => String::new(),
        Err(e) => {
            return Err(Error::new(
                ErrorKind::File,
                format!("cannot read {RESOLV_CONF}: {}", net::io_reason(&e)),
            ));
        }
    };
    let conf = parse_resolv_conf(&text);
    let servers: Vec<SocketAddr> = conf
        .nameservers
        .iter()
        .filter(|ip| match family {
            IpFamily::V4 => ip.is_ipv4(),
            IpFamily::V6 => ip.is_ipv6(),
            _ => true,
        })
        .map(|&ip| SocketAddr::new(ip, target.port()))
        .collect();
    if servers.is_empty() {
        let which = if family == IpFamily::V4 {
            "IPv4"
        } else {
            "IPv6"
        };
        return Err(Error::new(
            ErrorKind::Resolve,
            format!("no {which} nameserver in {RESOLV_CONF}"),
        ));
    }
    Ok((servers, search_names(name, &conf)))
}

// --- The exchange -----------------------------------------------------------------------------

/// A random query id: std's `RandomState` is SipHash keyed from the kernel's random source
/// (getrandom), so its output is unpredictable to anyone off the path.
fn random_id() -> u16 {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    hasher.finish() as u16
}

/// Asks `servers` in turn for `name`/`qtype` until one answers: an answer of any code
/// decides; a refusal moves on at once, silence after the address's share of the time.
/// Returns the answer, who gave it, and whether it came over TCP.
fn ask(
    ctx: &Ctx<'_>,
    servers: &[SocketAddr],
    name: &str,
    qtype: u16,
) -> Result<(Reply, SocketAddr, bool), Error> {
    let query = query(random_id(), name, qtype);
    let mut last: Option<Error> = None;
    for (i, &server) in servers.iter().enumerate() {
        let left = match ctx.deadline.enter(Phase::Request) {
            Ok(left) => left,
            Err(e) => return Err(last.unwrap_or(e)),
        };
        let share = net::address_share(left, i + 1 == servers.len());
        match ask_udp(ctx, server, &query, share) {
            Ok(reply) if reply.truncated => {
                return Ok((ask_tcp(ctx, server, &query)?, server, true));
            }
            Ok(reply) => return Ok((reply, server, false)),
            Err(e) if e.kind() == ErrorKind::Connect || e.is_timeout() => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| Error::new(ErrorKind::Connect, "no name server to ask")))
}

/// One query over UDP, sent again while unanswered, for at most `share`.
fn ask_udp(
    ctx: &Ctx<'_>,
    server: SocketAddr,
    query: &[u8],
    share: Duration,
) -> Result<Reply, Error> {
    let deadline = ctx.deadline;
    let refused = |e: &io::Error| {
        let message = match e.kind() {
            io::ErrorKind::ConnectionRefused => {
                format!("dns: no name server at {server} (port unreachable)")
            }
            _ => format!("dns: {} ({server})", net::io_reason(e)),
        };
        Error::new(ErrorKind::Connect, message)
    };
    let socket = net::udp_to(server).map_err(|e| refused(&e))?;
    let start = Instant::now();
    let share_end = start + share;
    let (mut sent, mut ignored) = (0u32, 0u32);
    let mut next_send = start;
    let mut gap = RESEND_FIRST;
    let timed_out = |sent: u32, ignored: u32| {
        let ignored = match ignored {
            0 => String::new(),
            n => format!(", {n} datagram(s) that did not answer it ignored"),
        };
        let queries = if sent == 1 { "query" } else { "queries" };
        deadline.expired().append(format!(
            " from {server} ({sent} udp {queries} sent{ignored})"
        ))
    };
    let mut buf = vec![0u8; DATAGRAM_LIMIT];
    loop {
        let now = Instant::now();
        if now >= share_end {
            return Err(timed_out(sent, ignored));
        }
        if now >= next_send {
            deadline
                .enter(Phase::Request)
                .map_err(|_| timed_out(sent, ignored))?;
            match socket.send(query) {
                Ok(_) => sent += 1,
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => return Err(refused(&e)),
                Err(e) if crate::deadline::is_timeout(&e) => {}
                Err(e) => return Err(refused(&e)),
            }
            next_send = now + gap;
            gap = RESEND_MAX.min(gap * 2);
        }
        let left = deadline
            .enter(Phase::Reply)
            .map_err(|_| timed_out(sent, ignored))?;
        let wait = next_send
            .min(share_end)
            .saturating_duration_since(Instant::now())
            .min(left)
            .max(Duration::from_millis(1));
        socket
            .set_read_timeout(Some(wait))
            .map_err(|e| refused(&e))?;
        match socket.recv(&mut buf) {
            Ok(n) if answers(&buf[..n], query) => {
                return parse_reply(&buf[..n]).map_err(|why| malformed(server, &why));
            }
            Ok(_) => ignored += 1,
            Err(e) if crate::deadline::is_timeout(&e) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(refused(&e)),
        }
    }
}

/// The query again over TCP, after a truncated UDP answer.
fn ask_tcp(ctx: &Ctx<'_>, server: SocketAddr, query: &[u8]) -> Result<Reply, Error> {
    let over_tcp = |e: Error| {
        e.append(format!(
            " (over tcp from {server}, after a truncated udp answer)"
        ))
    };
    let (mut sock, _) = net::connect(&[server], ctx.deadline).map_err(over_tcp)?;
    let mut framed = (query.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(query);
    let mut wire = Wire::new(&mut sock, ctx.deadline, "dns");
    wire.send(&framed).map_err(over_tcp)?;
    let msg = wire.read(parse_tcp_message).map_err(over_tcp)?;
    if !answers(&msg, query) {
        return Err(malformed(server, "a tcp answer to another query"));
    }
    parse_reply(&msg).map_err(|why| malformed(server, &why))
}

fn malformed(server: SocketAddr, why: &str) -> Error {
    Error::new(
        ErrorKind::Protocol,
        format!("dns: a malformed answer from {server}: {why}"),
    )
}

/// The check's steps (mod.rs gathers the details into the outcome).
pub(crate) fn steps(
    ctx: &Ctx<'_>,
    target: &Target,
    details: &mut Vec<Detail>,
) -> Result<String, Error> {
    let name = target.path();
    let qtype = target
        .param("type")
        .map(|t| type_code(&t.to_ascii_uppercase()));
    let types: &[u16] = match &qtype {
        Some(qtype) => std::slice::from_ref(qtype),
        None => &[TYPE_A, TYPE_AAAA],
    };
    let asked = match qtype {
        Some(qtype) => type_name(qtype),
        None => "A or AAAA",
    };
    let (servers, names) = servers_and_names(ctx, target, name)?;
    let mut seen: Vec<SocketAddr> = Vec::new();
    let mut failure = None;
    // After a name of the search list, a failure says how many were tried.
    let searched = |e: Error, tried: usize| match tried {
        0 => e,
        n => e.append(format!(
            ", after {n} name(s) from the search list of {RESOLV_CONF}"
        )),
    };
    for (tried, candidate) in names.iter().enumerate() {
        let mut empty = None;
        for &qtype in types {
            let (reply, from, tcp) = ask(ctx, &servers, candidate, qtype)?;
            if !seen.contains(&from) {
                seen.push(from);
                details.push(ctx.connected(from));
            }
            match judge(&reply, candidate, qtype) {
                Finding::Found { count, first, via } => {
                    let plural = if count == 1 { "" } else { "s" };
                    let searched = if names.len() > 1 {
                        format!(" for {candidate}")
                    } else {
                        String::new()
                    };
                    let via = via
                        .map(|to| format!(", via CNAME {to}"))
                        .unwrap_or_default();
                    let tcp = if tcp { " (over tcp)" } else { "" };
                    return Ok(format!(
                        "{count} {} record{plural}{searched}, first {first}{via}{tcp}",
                        type_name(qtype)
                    ));
                }
                Finding::Empty { via } => {
                    let shown = match via {
                        Some(to) => format!("NOERROR, only a CNAME to {to}"),
                        None => "NOERROR, empty answer".to_string(),
                    };
                    empty = Some(Error::unhealthy(format!(
                        "dns: no {asked} record for {candidate} from {from} ({shown})"
                    )));
                }
                Finding::Rcode(NXDOMAIN) => {
                    empty = Some(Error::unhealthy(format!(
                        "dns: NXDOMAIN for {candidate} from {from}"
                    )));
                    break;
                }
                Finding::Rcode(rcode) => {
                    let e = Error::unhealthy(format!(
                        "dns: {} for {candidate} from {from}",
                        rcode_name(rcode)
                    ));
                    return Err(searched(e, tried));
                }
            }
        }
        failure = empty;
    }
    let failure = failure.unwrap_or_else(|| Error::unhealthy("dns: no name to ask for"));
    Err(searched(failure, names.len().saturating_sub(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An answer to `query(0x1234, "web.test", A)`: the question, then `records` (each
    /// already encoded), with `flags` and `ancount` as given.
    fn reply(flags: [u8; 2], ancount: u16, records: &[&[u8]]) -> Vec<u8> {
        let q = query(0x1234, "web.test", TYPE_A);
        let mut r = q.clone();
        r[2] = flags[0];
        r[3] = flags[1];
        r[6..8].copy_from_slice(&ancount.to_be_bytes());
        for rec in records {
            r.extend_from_slice(rec);
        }
        r
    }

    /// A record owned by the question's name (a pointer to offset 12).
    fn rec(rtype: u16, rdata: &[u8]) -> Vec<u8> {
        let mut r = vec![0xc0, 12];
        r.extend_from_slice(&rtype.to_be_bytes());
        r.extend_from_slice(&[0, 1, 0, 0, 0, 60]);
        r.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        r.extend_from_slice(rdata);
        r
    }

    #[test]
    fn query_is_a_standard_query() {
        assert_eq!(
            query(0xabcd, "web.test.", TYPE_SRV),
            b"\xab\xcd\x01\x00\0\x01\0\0\0\0\0\0\x03web\x04test\0\0\x21\0\x01"
        );
    }

    #[test]
    fn answers_needs_id_qr_and_question() {
        let q = query(0x1234, "web.test", TYPE_A);
        let ok = reply([0x81, 0x80], 0, &[]);
        assert!(answers(&ok, &q));
        let mut upper = ok.clone();
        upper[13] = b'W';
        assert!(answers(&upper, &q));
        let mut other_id = ok.clone();
        other_id[1] = 0x35;
        assert!(!answers(&other_id, &q));
        let mut not_a_reply = ok.clone();
        not_a_reply[2] = 0x01;
        assert!(!answers(&not_a_reply, &q));
        assert!(!answers(&query(0x1234, "web.test", TYPE_AAAA), &q));
        assert!(!answers(&ok[..20], &q));
        // No question: only an error code counts.
        let mut bare = ok[..12].to_vec();
        bare[5] = 0;
        assert!(!answers(&bare, &q));
        bare[3] = 0x85;
        assert!(answers(&bare, &q));
    }

    #[test]
    fn a_records_counted() {
        let r = reply(
            [0x81, 0x80],
            2,
            &[&rec(TYPE_A, &[10, 0, 0, 7]), &rec(TYPE_A, &[10, 0, 0, 8])],
        );
        let parsed = parse_reply(&r).unwrap();
        assert_eq!(
            judge(&parsed, "web.test", TYPE_A),
            Finding::Found {
                count: 2,
                first: "10.0.0.7".into(),
                via: None
            }
        );
        assert_eq!(
            judge(&parsed, "web.test", TYPE_AAAA),
            Finding::Empty { via: None }
        );
    }

    #[test]
    fn cname_chain_followed() {
        // web.test CNAME a.test (a.test written out at offset 38), a.test A 10.0.0.9.
        let cname = rec(TYPE_CNAME, b"\x01a\x04test\0");
        let mut a = vec![0xc0, 38];
        a.extend_from_slice(&[0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 0, 0, 9]);
        let r = parse_reply(&reply([0x81, 0x80], 2, &[&cname, &a])).unwrap();
        assert_eq!(r.records[1].owner, "a.test");
        assert_eq!(
            judge(&r, "WEB.test.", TYPE_A),
            Finding::Found {
                count: 1,
                first: "10.0.0.9".into(),
                via: Some("a.test".into())
            }
        );
        assert_eq!(
            judge(&r, "web.test", TYPE_AAAA),
            Finding::Empty {
                via: Some("a.test".into())
            }
        );
        assert!(matches!(
            judge(&r, "web.test", TYPE_CNAME),
            Finding::Found { count: 1, .. }
        ));
    }

    #[test]
    fn srv_and_txt_described() {
        let srv = rec(TYPE_SRV, b"\0\x01\0\x05\0\x50\xc0\x0c");
        let txt = rec(TYPE_TXT, b"\x05hello\x03two");
        let r = parse_reply(&reply([0x81, 0x80], 2, &[&srv, &txt])).unwrap();
        assert_eq!(
            r.records[0].data.describe(),
            "web.test:80 (priority 1, weight 5)"
        );
        assert_eq!(r.records[1].data.describe(), "\"hello\"");
    }

    #[test]
    fn rcode_and_truncation() {
        let r = parse_reply(&reply([0x81, 0x83], 0, &[])).unwrap();
        assert_eq!(judge(&r, "web.test", TYPE_A), Finding::Rcode(NXDOMAIN));
        // Truncated in the middle of a record: what is whole is kept.
        let a = rec(TYPE_A, &[10, 0, 0, 7]);
        let r = parse_reply(&reply([0x83, 0x80], 3, &[&a, &a[..5]])).unwrap();
        assert!(r.truncated);
        assert_eq!(r.records.len(), 1);
    }

    #[test]
    fn pointer_loops_and_forward_pointers_refused() {
        // A record whose owner points at itself.
        let looped = reply([0x81, 0x80], 1, &[&[0xc0, 26]]);
        assert!(parse_reply(&looped).unwrap_err().contains("point back"));
        let forward = reply([0x81, 0x80], 1, &[&[0xc0, 40]]);
        assert!(parse_reply(&forward).is_err());
        // 0x40 and 0x80 labels.
        assert!(read_name(b"\x40", 0).unwrap_err().contains("unknown type"));
    }

    #[test]
    fn long_names_refused() {
        let mut msg = Vec::new();
        for _ in 0..5 {
            msg.push(63);
            msg.extend_from_slice(&[b'a'; 63]);
        }
        msg.push(0);
        assert!(read_name(&msg, 0).unwrap_err().contains("255"));
    }

    #[test]
    fn names_escape_odd_bytes() {
        assert_eq!(
            read_name(b"\x03a.b\x01*\0", 0).unwrap(),
            ("a\\046b.*".into(), 7)
        );
    }

    #[test]
    fn claimed_answers_beyond_the_message() {
        let a = rec(TYPE_A, &[10, 0, 0, 7]);
        let e = parse_reply(&reply([0x81, 0x80], 65535, &[&a])).unwrap_err();
        assert!(
            e.starts_with("65535 answer record(s) announced, record 2"),
            "{e}"
        );
    }

    #[test]
    fn wrong_sizes_refused() {
        for bad in [
            rec(TYPE_A, &[1, 2, 3]),
            rec(TYPE_SRV, &[0; 6]),
            rec(TYPE_TXT, b"\x09short"),
        ] {
            assert!(parse_reply(&reply([0x81, 0x80], 1, &[&bad])).is_err());
        }
        // A CNAME whose name runs past its record data.
        let mut cname = rec(TYPE_CNAME, b"\x01a\0");
        cname[11] = 2;
        cname.truncate(14);
        cname.extend_from_slice(b"\x01a\0");
        assert!(parse_reply(&reply([0x81, 0x80], 1, &[&cname])).is_err());
    }

    #[test]
    fn tcp_messages_framed() {
        assert_eq!(parse_tcp_message(b"\0"), Ok(None));
        assert_eq!(parse_tcp_message(b"\0\x0c12345"), Ok(None));
        assert_eq!(
            parse_tcp_message(b"\0\x0c123456789012x"),
            Ok(Some((b"123456789012".to_vec(), 14)))
        );
        assert!(parse_tcp_message(b"\0\x05").is_err());
        assert!(parse_tcp_message(b"\xff\xff").is_err());
    }

    #[test]
    fn resolv_conf_as_the_c_libraries_read_it() {
        let conf = parse_resolv_conf(
            "# comment\nnameserver 10.96.0.10\nnameserver fe80::1%eth0\nsearch ns.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5 timeout:2\n",
        );
        assert_eq!(
            conf.nameservers,
            vec!["10.96.0.10".parse::<IpAddr>().unwrap()]
        );
        assert_eq!(conf.search.len(), 3);
        assert_eq!(conf.ndots, 5);
        let empty = parse_resolv_conf("");
        assert_eq!(empty.nameservers, vec![IpAddr::from(Ipv4Addr::LOCALHOST)]);
        assert_eq!(empty.ndots, 1);
        let domain = parse_resolv_conf("search a b\ndomain c.\noptions ndots:99\n");
        assert_eq!((domain.search, domain.ndots), (vec!["c".to_string()], 15));
        let many = parse_resolv_conf(
            "nameserver ::1\nnameserver 1.1.1.1\nnameserver 1.1.1.2\nnameserver 1.1.1.3\n",
        );
        assert_eq!(many.nameservers.len(), 3);
    }

    #[test]
    fn search_list_as_musl_walks_it() {
        let conf =
            parse_resolv_conf("search ns.svc.cluster.local cluster.local\noptions ndots:5\n");
        assert_eq!(
            search_names("myservice", &conf),
            [
                "myservice.ns.svc.cluster.local",
                "myservice.cluster.local",
                "myservice"
            ]
        );
        assert_eq!(search_names("myservice.", &conf), ["myservice"]);
        assert_eq!(search_names("a.b.c.d.e.f", &conf), ["a.b.c.d.e.f"]);
        let default = parse_resolv_conf("search corp\n");
        assert_eq!(search_names("db", &default), ["db.corp", "db"]);
        assert_eq!(search_names("db.internal", &default), ["db.internal"]);
        // A search domain that would make the name too long is skipped.
        let long = parse_resolv_conf(&format!("search {}\n", "a".repeat(250)));
        assert_eq!(search_names("db", &long), ["db"]);
    }

    #[test]
    fn ids_vary() {
        let ids: std::collections::HashSet<u16> = (0..64).map(|_| random_id()).collect();
        assert!(ids.len() > 32, "{ids:?}");
    }
}
