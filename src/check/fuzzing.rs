//! Entry points for the fuzz targets in `fuzz/`: each feeds arbitrary bytes to the
//! reply parsers of one database kind, frame after frame, as the checks do. Not part of the
//! API: hidden, and free to change.

use crate::check::wire::Parsed;
use crate::check::{amqp, memcached, mqtt, mysql, nats, postgres, redis, smtp, zookeeper};

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

/// NATS server lines; every `-ERR` text is one line.
pub fn nats(data: &[u8]) {
    frames(data, nats::parse_op, |op| {
        if let nats::Op::Err(text) = op {
            assert!(!text.contains(['\n', '\r']), "{text:?}");
        }
    });
    let _ = nats::parse_info(data);
}

/// Replies to ZooKeeper's `srvr`.
pub fn zookeeper(data: &[u8]) {
    frames(data, zookeeper::parse_srvr, |_| {});
}

/// SMTP replies (greetings, multi-line EHLO replies).
pub fn smtp(data: &[u8]) {
    frames(data, smtp::parse_reply, |r| {
        assert!((0..1000).contains(&r.code), "code {}", r.code);
        assert!(!r.lines.is_empty());
    });
}

/// AMQP 0-9-1 frames, and the connection methods the amqp check reads.
pub fn amqp(data: &[u8]) {
    frames(data, amqp::parse_frame, |f| {
        if let amqp::Frame::Method { args, .. } = f {
            if let Ok(start) = amqp::parse_start(&args) {
                assert!(start.mechanisms.chars().count() <= 201);
            }
            let _ = amqp::parse_tune(&args);
            if let Ok(close) = amqp::parse_close(&args) {
                assert!(!close.text.contains('\n'));
            }
            let _ = amqp::parse_blocked(&args);
        }
    });
}

/// MQTT control packets and `CONNACK` return codes.
pub fn mqtt(data: &[u8]) {
    frames(data, mqtt::parse_packet, |p| {
        let _ = mqtt::connack_code(&p);
    });
    if let Ok(Some((p, _))) = mqtt::parse_connack(data) {
        assert_eq!(p.first, 0x20);
    }
}

#[cfg(test)]
mod tests {
    /// A few thousand pseudo-random inputs around real replies, so that a plain `cargo test`
    /// already runs what the fuzzers run.
    #[test]
    fn parsers_survive_mutated_replies() {
        let seeds: [&[u8]; 15] = [
            b"R\0\0\0\x17\0\0\0\x0aSCRAM-SHA-256\0\0",
            b"E\0\0\0\x10SFATAL\0C57P03\0\0",
            b"\x10\0\0\0\x0a5.5.5-10\0\x03\0\0\0abcdefgh\0",
            b"\x06\0\0\x02\xff\x10\x04#28000",
            b"+PONG\r\n-BUSY x\r\n",
            b"VERSION 1.6.18\r\n",
            b"INFO {\"version\":\"2.9.10\",\"ldm\":true,\"tls_required\":false} \r\nPONG\r\n",
            b"+OK\r\n-ERR 'Authorization Violation'\r\n",
            b"Zookeeper version: 3.8.0-x, built on\nReceived: 1\nMode: follower\nNode count: 5\n",
            b"This ZooKeeper instance is not currently serving requests\n",
            b"220 mail ESMTP Postfix\r\n250-mail\r\n250-STARTTLS\r\n250 8BITMIME\r\n",
            b"421 4.3.2 Service shutting down\r\n",
            b"\x01\0\0\0\0\0\x24\0\x0a\0\x0a\0\x09\0\0\0\x0d\x07productS\0\0\0\0\0\0\0\x05PLAIN\0\0\0\0\xce",
            b"\x01\0\0\0\0\0\x0e\0\x0a\0\x32\x01\x93\x03abc\0\x0a\0\x0b\xce\x08\0\0\0\0\0\0\xce",
            b"\x20\x02\x00\x05\x20\x02\x00\x00",
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
            super::nats(&data);
            super::zookeeper(&data);
            super::smtp(&data);
            super::amqp(&data);
            super::mqtt(&data);
        }
    }
}
