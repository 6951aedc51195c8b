//! Entry points for the fuzz targets in `fuzz/`: each feeds arbitrary bytes to the
//! reply parsers of one database or dependency kind, frame after frame, as the checks do. Not part of the
//! API: hidden, and free to change.

use crate::check::mongodb::MongoRole;
use crate::check::wire::Parsed;
use crate::check::{
    amqp, bson, dns, kafka, memcached, mongodb, mqtt, mysql, nats, postgres, redis, smtp, zookeeper,
};

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

/// OP_MSG replies, their BSON bodies, and what the check reads from them: errors, the role a
/// `hello` reply describes, SASL steps (and, with `tls`, the SCRAM server-first message).
pub fn mongodb(data: &[u8]) {
    let body = |doc: &[u8]| {
        let Ok(parsed) = bson::Doc::parse(doc) else {
            return;
        };
        if parsed.validate(mongodb::MAX_DEPTH).is_err() {
            return;
        }
        if let Some(e) = mongodb::command_error(&parsed) {
            assert!(!e.text.contains('\n'));
        }
        for role in [MongoRole::Any, MongoRole::Primary, MongoRole::Secondary] {
            let said = match mongodb::judge(&parsed, role) {
                Ok(s) | Err(s) => s,
            };
            assert!(!said.contains('\n'));
        }
        if let Ok((_, _payload, _)) = mongodb::sasl_step(doc) {
            #[cfg(feature = "tls")]
            if let Ok(text) = std::str::from_utf8(&_payload) {
                let _ = crate::check::scram::parse_server_first(text, "nonce");
            }
        }
    };
    body(data);
    frames(data, mongodb::parse_message, |m| body(&m.body));
}

/// Kafka responses: ApiVersions v0 and Metadata v1-v8 bodies.
pub fn kafka(data: &[u8]) {
    frames(data, kafka::parse_response, |r| {
        let _ = kafka::parse_api_versions(&r.body);
        for version in 1..=8 {
            if let Ok(c) = kafka::parse_metadata(&r.body, version) {
                assert!(c.brokers <= r.body.len() / 12);
            }
        }
    });
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
    /// The seeds of the MongoDB parsers are whole, valid replies, so that the mutations start
    /// from something the parsers accept.
    #[test]
    fn mongodb_seeds_parse() {
        let m = b"\x35\0\0\0\x09\0\0\0\x01\0\0\0\xdd\x07\0\0\0\0\0\0\0\x20\0\0\0\x08ismaster\0\x01\x02setName\0\x03\0\0\0rs\0\0";
        let (msg, used) = crate::check::mongodb::parse_message(m).unwrap().unwrap();
        assert_eq!(used, m.len());
        let doc = crate::check::bson::Doc::parse(&msg.body).unwrap();
        assert_eq!(
            crate::check::mongodb::judge(&doc, crate::check::mongodb::MongoRole::Any).unwrap(),
            "primary of replica set rs"
        );
        let d = b"\x23\0\0\0\x04hosts\0\x0f\0\0\0\x020\0\x03\0\0\0ab\0\0\x10ok\0\x01\0\0\0\0";
        crate::check::bson::Doc::parse(d)
            .unwrap()
            .validate(2)
            .unwrap();
    }

    #[test]
    fn kafka_seeds_parse() {
        let m = b"\0\0\0\x1d\0\0\0\x02\0\0\0\x01\0\0\0\x01\0\x01k\0\0\x23\x84\xff\xff\0\0\0\x01\0\0\0\0";
        let (r, used) = crate::check::kafka::parse_response(m).unwrap().unwrap();
        assert_eq!((r.correlation_id, used), (2, m.len()));
        let c = crate::check::kafka::parse_metadata(&r.body, 1).unwrap();
        assert_eq!((c.brokers, c.controller), (1, 1));
    }

    /// A few thousand pseudo-random inputs around real replies, so that a plain `cargo test`
    /// already runs what the fuzzers run.
    #[test]
    fn parsers_survive_mutated_replies() {
        let seeds: [&[u8]; 21] = [
            b"R\0\0\0\x17\0\0\0\x0aSCRAM-SHA-256\0\0",
            b"E\0\0\0\x10SFATAL\0C57P03\0\0",
            b"\x10\0\0\0\x0a5.5.5-10\0\x03\0\0\0abcdefgh\0",
            b"\x06\0\0\x02\xff\x10\x04#28000",
            b"+PONG\r\n-BUSY x\r\n",
            b"VERSION 1.6.18\r\n",
            // An OP_MSG with {ismaster: true, setName: "rs"}.
            b"\x35\0\0\0\x09\0\0\0\x01\0\0\0\xdd\x07\0\0\0\0\0\0\0\x20\0\0\0\x08ismaster\0\x01\x02setName\0\x03\0\0\0rs\0\0",
            // A document with a nested array.
            b"\x23\0\0\0\x04hosts\0\x0f\0\0\0\x020\0\x03\0\0\0ab\0\0\x10ok\0\x01\0\0\0\0",
            // Kafka: ApiVersions v0 (Metadata v0-v12), Metadata v1 (one broker, controller 1).
            b"\0\0\0\x10\0\0\0\x01\0\0\0\0\0\x01\0\x03\0\0\0\x0c",
            b"\0\0\0\x1d\0\0\0\x02\0\0\0\x01\0\0\0\x01\0\x01k\0\0\x23\x84\xff\xff\0\0\0\x01\0\0\0\0",
            b"INFO {\"version\":\"2.9.10\",\"ldm\":true,\"tls_required\":false} \r\nPONG\r\n",
            b"+OK\r\n-ERR 'Authorization Violation'\r\n",
            b"Zookeeper version: 3.8.0-x, built on\nReceived: 1\nMode: follower\nNode count: 5\n",
            b"This ZooKeeper instance is not currently serving requests\n",
            b"220 mail ESMTP Postfix\r\n250-mail\r\n250-STARTTLS\r\n250 8BITMIME\r\n",
            b"421 4.3.2 Service shutting down\r\n",
            b"\x01\0\0\0\0\0\x24\0\x0a\0\x0a\0\x09\0\0\0\x0d\x07productS\0\0\0\0\0\0\0\x05PLAIN\0\0\0\0\xce",
            b"\x01\0\0\0\0\0\x0e\0\x0a\0\x32\x01\x93\x03abc\0\x0a\0\x0b\xce\x08\0\0\0\0\0\0\xce",
            b"\x20\x02\x00\x05\x20\x02\x00\x00",
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
            super::mongodb(&data);
            super::kafka(&data);
            super::nats(&data);
            super::zookeeper(&data);
            super::smtp(&data);
            super::amqp(&data);
            super::mqtt(&data);
            super::dns(&data);
        }
    }
}
