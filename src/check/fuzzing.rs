//! Entry points for the fuzz targets in `fuzz/`: each feeds arbitrary bytes to the
//! reply parsers of one database or dependency kind, frame after frame, as the checks do. Not part of the
//! API: hidden, and free to change.

use crate::check::wire::Parsed;
use crate::check::{dns, memcached, mysql, postgres, redis};

/// Applies `parse` to `data` frame after frame, as [`crate::check::wire::Wire::read`] does,
/// and checks that each frame consumes at least one byte and no more than there are.
fn frames<T>(mut data: &[u8], parse: impl Fn(&[u8]) -> Parsed<T>, mut each: impl FnMut(T)) {
    while let Ok(Some((frame, used))) = parse(data) {
        assert!(used > 0 && used <= data.len(), "a frame of {used} bytes");
        each(frame);
        data = &data[used..];
    }
}

/// Backend messages, error fields, and (with `tls`) SCRAM server-first messages.
pub fn postgres(data: &[u8]) {
    let _ = postgres::parse_ssl_answer(data);
    frames(data, postgres::parse_message, |m| match m.kind {
        b'E' | b'N' => {
            let e = postgres::parse_error(&m.body);
            assert!(!e.message.contains('\n'));
        }
        #[cfg(feature = "tls")]
        b'R' => {
            if let Ok(text) = std::str::from_utf8(m.body.get(4..).unwrap_or_default()) {
                let _ = postgres::parse_server_first(text, "nonce");
            }
        }
        _ => {}
    });
}

/// Packets, greetings and ERR packets.
pub fn mysql(data: &[u8]) {
    frames(data, mysql::parse_packet, |p| {
        if let Ok(Ok(g)) = mysql::parse_first(&p.payload) {
            assert!(g.scramble.len() <= p.payload.len());
        }
        let _ = mysql::parse_err(&p.payload);
    });
}

/// RESP reply lines.
pub fn redis(data: &[u8]) {
    frames(data, redis::parse_reply, |_| {});
}

/// `version` reply lines.
pub fn memcached(data: &[u8]) {
    frames(data, memcached::parse_version, |_| {});
}

/// DNS answers: a datagram as the UDP side reads it (matched against a query, parsed, judged
/// for each type), and TCP messages as the fallback reads them.
pub fn dns(data: &[u8]) {
    let query = dns::query(0x1234, "web.test", dns::TYPE_A);
    let _ = dns::answers(data, &query);
    let judge_all = |msg: &[u8]| {
        if let Ok(reply) = dns::parse_reply(msg) {
            assert!(reply.records.len() <= msg.len() / 11);
            for qtype in [
                dns::TYPE_A,
                dns::TYPE_AAAA,
                dns::TYPE_SRV,
                dns::TYPE_TXT,
                dns::TYPE_CNAME,
            ] {
                let _ = dns::judge(&reply, "web.test", qtype);
            }
        }
    };
    judge_all(data);
    frames(data, dns::parse_tcp_message, |m| judge_all(&m));
    if let Ok((name, after)) = dns::read_name(data, 0) {
        assert!(after <= data.len() && name.len() <= 4 * 255);
    }
}

#[cfg(test)]
mod tests {
    /// A few thousand pseudo-random inputs around real replies, so that a plain `cargo test`
    /// already runs what the fuzzers run.
    #[test]
    fn parsers_survive_mutated_replies() {
        let seeds: [&[u8]; 8] = [
            b"R\0\0\0\x17\0\0\0\x0aSCRAM-SHA-256\0\0",
            b"E\0\0\0\x10SFATAL\0C57P03\0\0",
            b"\x10\0\0\0\x0a5.5.5-10\0\x03\0\0\0abcdefgh\0",
            b"\x06\0\0\x02\xff\x10\x04#28000",
            b"+PONG\r\n-BUSY x\r\n",
            b"VERSION 1.6.18\r\n",
            b"\x12\x34\x81\x80\0\x01\0\x02\0\0\0\0\x03web\x04test\0\0\x01\0\x01\xc0\x0c\0\x05\0\x01\0\0\0\x3c\0\x04\x01a\xc0\x10\xc0\x26\0\x01\0\x01\0\0\0\x3c\0\x04\x0a\0\0\x07",
            b"\0\x1a\x12\x34\x83\x80\0\x01\0\0\0\0\0\0\x03web\x04test\0\0\x01\0\x01",
        ];
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for round in 0..4000 {
            let mut data = seeds[round % seeds.len()].to_vec();
            for _ in 0..(next() % 4) {
                let at = (next() as usize) % (data.len() + 1);
                match next() % 3 {
                    0 if at < data.len() => data[at] = next() as u8,
                    1 => data.insert(at, next() as u8),
                    _ => data.truncate(at),
                }
            }
            super::postgres(&data);
            super::mysql(&data);
            super::redis(&data);
            super::memcached(&data);
            super::dns(&data);
        }
    }
}
