//! The integration tests: one test binary (as ripgrep's), one module per topic, all of them
//! against the real `healthprobe` binary (or, in `embed`, the public library API).
//!
//! ```text
//! cargo test --test tests                 # all of them
//! cargo test --test tests hostile::       # one topic
//! ```
//!
//! `Cargo.toml` sets `autotests = false`: a new topic is a `mod` line here, not a new file at
//! the top of `tests/` (which cargo would otherwise build as a binary of its own).

mod support;

mod brokers;
mod budget;
mod cli;
mod databases;
mod dns;
mod embed;
mod exec;
mod file;
mod grpc;
mod hostile;
mod hostile_bin;
mod hostile_db;
mod hostile_deps;
mod hostile_text;
mod http;
mod http_json;
mod install;
mod kafka;
mod mongodb;
mod nats;
mod seal;
mod smtp;
mod tcp;
mod tls;
mod unix;
mod wait;
mod zookeeper;
