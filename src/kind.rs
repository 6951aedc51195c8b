//! The kinds of target, one row each: the scheme and its aliases, the default port, whether the
//! URL takes `user:password@`, whether the scheme means TLS, the feature that builds its check,
//! what follows `HOST[:PORT]`, and the usage shown in `--help` and in a bad target's error. The
//! target parser ([`crate::target`]), the help and the tests that keep the README and the crate
//! docs in step all read this table; a new kind is a row here, a file under `src/check/` and its
//! arm in `check::run`.

/// What follows `HOST[:PORT]` in a target of a kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PathRule {
    /// The request path and query (`/` when none); a `#fragment` is dropped.
    Request,
    /// A gRPC service name, possibly empty.
    Service,
    /// Nothing (a lone `/` is allowed).
    Empty,
    /// Nothing but a query whose keys are `params` (`smtp://…?starttls`).
    Query { params: &'static [Param] },
    /// A decimal number of at most 9 digits, possibly empty (Redis's database).
    Number,
    /// One percent-decoded name (`what`), possibly empty unless `required`, then a query whose
    /// keys are `params` (others rejected, or ignored with `others`).
    Name {
        what: &'static str,
        required: bool,
        params: &'static [Param],
        others: bool,
    },
    /// A DNS name, percent-decoded and checked (`dns:`), then a query whose only key is `type`,
    /// any case of the [`DNS_TYPES`]. The authority may be empty: the system's resolver.
    DnsName,
    /// No authority: `///` and an absolute path (`unix:`, `file:`).
    LocalPath,
    /// A percent-encoded absolute socket path as the authority, then a request path
    /// (`http+unix:`).
    Socket,
}

/// A query parameter a kind reads, with the values it takes (any value when empty).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Param {
    pub key: &'static str,
    pub values: &'static [&'static str],
}

/// One kind's facts.
#[derive(Debug)]
pub(crate) struct Kind {
    pub kind: TargetKind,
    /// The scheme as written first, then its aliases; matched without regard to case.
    pub schemes: &'static [&'static str],
    pub default_port: Option<u16>,
    /// Whether the URL may carry `user[:password]@`.
    pub userinfo: bool,
    /// Whether the scheme itself means TLS (`https`, `rediss`, …).
    pub tls: bool,
    /// The cargo feature that builds the check, when it is not always built.
    pub feature: Option<&'static str>,
    pub path: PathRule,
    /// The target's shape, as `--help` and a bad target's error show it.
    pub usage: &'static str,
}

/// The table: the `TargetKind` enum and [`KINDS`], one row per variant and in its order, from
/// one list (so that neither can miss a row of the other).
macro_rules! kinds {
    ($( $(#[doc = $doc:literal])* $variant:ident { $($field:ident: $value:expr),* $(,)? } )*) => {
        /// What a [`Target`](crate::Target) checks; the scheme of the target picks it.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum TargetKind {
            $( $(#[doc = $doc])* $variant, )*
        }

        /// Every kind, in the order of [`TargetKind`]'s variants.
        pub(crate) const KINDS: &[Kind] = &[
            $( Kind { kind: TargetKind::$variant, $($field: $value),* }, )*
        ];
    };
}

/// The record types a `dns:` target may ask for (`?type=`), in upper case.
pub(crate) const DNS_TYPES: [&str; 5] = ["A", "AAAA", "SRV", "TXT", "CNAME"];

const SSLMODE: Param = Param {
    key: "sslmode",
    values: &[
        "disable",
        "allow",
        "prefer",
        "require",
        "verify-ca",
        "verify-full",
    ],
};

/// `smtp://…?starttls`: STARTTLS after the first EHLO.
const STARTTLS: Param = Param {
    key: "starttls",
    values: &[""],
};
/// What a `mongodb://` target reads from its query: the role asked of a replica set member,
/// where the user is defined (`authSource`: else the database, else `admin`, as the drivers
/// read a connection string), and the options that would ask for what the check does not do.
const MONGODB_PARAMS: &[Param] = &[
    Param {
        key: "role",
        values: &["primary", "secondary", "any"],
    },
    Param {
        key: "authSource",
        values: &[],
    },
    Param {
        key: "authMechanism",
        values: &["SCRAM-SHA-256"],
    },
    Param {
        key: "tls",
        values: &["false"],
    },
    Param {
        key: "ssl",
        values: &["false"],
    },
];

kinds! {
    /// `http://HOST[:PORT][/PATH]`: an HTTP request; healthy on an accepted status.
    Http { schemes: &["http"], default_port: Some(80), userinfo: true, tls: false,
        feature: None, path: PathRule::Request, usage: "http://HOST[:PORT][/PATH]" }
    /// `https://HOST[:PORT][/PATH]`: the same over TLS, certificate verified.
    Https { schemes: &["https"], default_port: Some(443), userinfo: true, tls: true,
        feature: Some("tls"), path: PathRule::Request, usage: "https://HOST[:PORT][/PATH]" }
    /// `tcp://HOST:PORT`: a TCP connection opens.
    Tcp { schemes: &["tcp"], default_port: None, userinfo: false, tls: false,
        feature: None, path: PathRule::Empty, usage: "tcp://HOST:PORT" }
    /// `tls://HOST:PORT`: a TCP connection and a verified TLS handshake.
    Tls { schemes: &["tls"], default_port: None, userinfo: false, tls: true,
        feature: Some("tls"), path: PathRule::Empty, usage: "tls://HOST:PORT" }
    /// `grpc://HOST:PORT[/SERVICE]`: `grpc.health.v1.Health/Check` answers `SERVING` (h2c).
    Grpc { schemes: &["grpc"], default_port: None, userinfo: false, tls: false,
        feature: Some("grpc"), path: PathRule::Service, usage: "grpc://HOST:PORT[/SERVICE]" }
    /// `grpcs://HOST:PORT[/SERVICE]`: the same over TLS.
    Grpcs { schemes: &["grpcs"], default_port: None, userinfo: false, tls: true,
        feature: Some("grpc"), path: PathRule::Service, usage: "grpcs://HOST:PORT[/SERVICE]" }
    /// `unix:///PATH`: a stream connection to a Unix socket opens.
    Unix { schemes: &["unix"], default_port: None, userinfo: false, tls: false,
        feature: None, path: PathRule::LocalPath, usage: "unix:///PATH" }
    /// `http+unix://ENCODED_SOCKET_PATH/PATH`: HTTP over a Unix socket.
    HttpUnix { schemes: &["http+unix"], default_port: None, userinfo: true, tls: false,
        feature: None, path: PathRule::Socket, usage: "http+unix://%2FSOCKET/PATH" }
    /// `file:///PATH`: the file exists (and is fresh, with a maximum age).
    File { schemes: &["file"], default_port: None, userinfo: false, tls: false,
        feature: None, path: PathRule::LocalPath, usage: "file:///PATH" }
    /// `postgres://[USER[:PASSWORD]@]HOST[:PORT][/DATABASE]` (alias `postgresql://`): the server
    /// accepts connections (and, with a password, the login succeeds).
    Postgres { schemes: &["postgres", "postgresql"], default_port: Some(5432), userinfo: true,
        tls: false, feature: Some("db"),
        path: PathRule::Name { what: "database name", required: false, params: &[SSLMODE], others: true },
        usage: "postgres://[USER[:PASSWORD]@]HOST[:PORT][/DATABASE][?sslmode=require]" }
    /// `mysql://[USER[:PASSWORD]@]HOST[:PORT]` (alias `mariadb://`): the server greets (and,
    /// with a password, the login and `COM_PING` succeed).
    Mysql { schemes: &["mysql", "mariadb"], default_port: Some(3306), userinfo: true,
        tls: false, feature: Some("db"),
        path: PathRule::Name { what: "database name", required: false, params: &[], others: false },
        usage: "mysql://[USER[:PASSWORD]@]HOST[:PORT][/DATABASE]" }
    /// `redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]`: `PING` answers `+PONG`.
    Redis { schemes: &["redis"], default_port: Some(6379), userinfo: true, tls: false,
        feature: Some("db"), path: PathRule::Number,
        usage: "redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]" }
    /// `rediss://…`: the same over TLS.
    Rediss { schemes: &["rediss"], default_port: Some(6379), userinfo: true, tls: true,
        feature: Some("db"), path: PathRule::Number,
        usage: "rediss://[[USER]:PASSWORD@]HOST[:PORT][/DB]" }
    /// `memcached://HOST[:PORT]`: `version` answers `VERSION …`.
    Memcached { schemes: &["memcached"], default_port: Some(11211), userinfo: false, tls: false,
        feature: Some("db"), path: PathRule::Empty, usage: "memcached://HOST[:PORT]" }
    /// `nats://[USER:PASSWORD@|TOKEN@]HOST[:PORT]`: `CONNECT` and `PING` answered `PONG`, the
    /// server not in lame-duck mode (TLS when the server requires it).
    Nats { schemes: &["nats"], default_port: Some(4222), userinfo: true, tls: false,
        feature: Some("db"), path: PathRule::Empty,
        usage: "nats://[USER:PASSWORD@|TOKEN@]HOST[:PORT]" }
    /// `zookeeper://HOST[:PORT]`: `srvr` answers a `Mode:` of leader, follower, standalone or
    /// observer (a member without quorum is not serving requests).
    Zookeeper { schemes: &["zookeeper"], default_port: Some(2181), userinfo: false, tls: false,
        feature: Some("db"), path: PathRule::Empty, usage: "zookeeper://HOST[:PORT]" }
    /// `smtp://HOST[:PORT][?starttls]`: a 220 greeting and `EHLO` answered 250 (with
    /// `?starttls`, after STARTTLS and the handshake too).
    Smtp { schemes: &["smtp"], default_port: Some(25), userinfo: false, tls: false,
        feature: Some("db"), path: PathRule::Query { params: &[STARTTLS] },
        usage: "smtp://HOST[:PORT][?starttls]" }
    /// `smtps://HOST[:PORT]`: the same over TLS from the first byte.
    Smtps { schemes: &["smtps"], default_port: Some(465), userinfo: false, tls: true,
        feature: Some("db"), path: PathRule::Empty, usage: "smtps://HOST[:PORT]" }
    /// `amqp://[USER[:PASSWORD]@]HOST[:PORT][/VHOST]` (RabbitMQ): the broker sends
    /// `Connection.Start` (and, with a password, the login and `Connection.Open` of the vhost,
    /// default `/`, succeed). A query (`?heartbeat=10`, from an app's own URL) is ignored.
    Amqp { schemes: &["amqp"], default_port: Some(5672), userinfo: true, tls: false,
        feature: Some("db"),
        path: PathRule::Name { what: "vhost (a / in it as %2F)", required: false, params: &[], others: true },
        usage: "amqp://[USER[:PASSWORD]@]HOST[:PORT][/VHOST]" }
    /// `amqps://…`: the same over TLS.
    Amqps { schemes: &["amqps"], default_port: Some(5671), userinfo: true, tls: true,
        feature: Some("db"),
        path: PathRule::Name { what: "vhost (a / in it as %2F)", required: false, params: &[], others: true },
        usage: "amqps://[USER[:PASSWORD]@]HOST[:PORT][/VHOST]" }
    /// `mqtt://[USER:PASSWORD@]HOST[:PORT]`: `CONNECT` (MQTT 3.1.1) answered `CONNACK` 0.
    Mqtt { schemes: &["mqtt"], default_port: Some(1883), userinfo: true, tls: false,
        feature: Some("db"), path: PathRule::Empty, usage: "mqtt://[USER:PASSWORD@]HOST[:PORT]" }
    /// `mqtts://…`: the same over TLS.
    Mqtts { schemes: &["mqtts"], default_port: Some(8883), userinfo: true, tls: true,
        feature: Some("db"), path: PathRule::Empty, usage: "mqtts://[USER:PASSWORD@]HOST[:PORT]" }
    /// `mongodb://[USER:PASSWORD@]HOST[:PORT][/[DATABASE]][?role=primary|secondary|any]`:
    /// `hello` answers `ok: 1` and, in a replica set, the member has the role asked for (and,
    /// with a password, the SCRAM-SHA-256 login and `ping` succeed). The other options of a
    /// driver's connection string (`replicaSet`, `retryWrites`, …) are ignored, so that an app's
    /// own `MONGODB_URI` can be checked as it is; TLS and other logins are refused.
    Mongodb { schemes: &["mongodb"], default_port: Some(27017), userinfo: true, tls: false,
        feature: Some("db"),
        path: PathRule::Name { what: "database name", required: false, params: MONGODB_PARAMS, others: true },
        usage: "mongodb://[USER:PASSWORD@]HOST[:PORT][/?role=primary|secondary|any]" }
    /// `kafka://HOST[:PORT]`: ApiVersions answers error 0, and Metadata lists a broker and a
    /// controller.
    Kafka { schemes: &["kafka"], default_port: Some(9092), userinfo: false, tls: false,
        feature: Some("db"), path: PathRule::Empty, usage: "kafka://HOST[:PORT]" }
    /// `dns://[SERVER[:PORT]]/NAME[?type=A|AAAA|SRV|TXT|CNAME]`: the answer holds at least one
    /// record of the type (default: A or AAAA); an empty SERVER is the system's resolver.
    Dns { schemes: &["dns"], default_port: Some(53), userinfo: false, tls: false,
        feature: Some("db"), path: PathRule::DnsName,
        usage: "dns://[SERVER[:PORT]]/NAME[?type=A|AAAA|SRV|TXT|CNAME]" }
}

impl TargetKind {
    /// This kind's row of the table.
    pub(crate) fn row(self) -> &'static Kind {
        &KINDS[self as usize]
    }

    /// The kind a scheme names (case-insensitive), aliases included.
    pub(crate) fn from_scheme(scheme: &str) -> Option<TargetKind> {
        KINDS
            .iter()
            .find(|k| k.schemes.iter().any(|s| s.eq_ignore_ascii_case(scheme)))
            .map(|k| k.kind)
    }

    /// The scheme as written in a target, e.g. `https`.
    pub fn scheme(self) -> &'static str {
        self.row().schemes[0]
    }

    /// Whether this kind speaks HTTP (and so takes the HTTP options).
    pub fn is_http(self) -> bool {
        matches!(self.row().path, PathRule::Request | PathRule::Socket)
    }

    /// Whether the scheme itself means TLS.
    #[cfg_attr(not(feature = "tls"), allow(dead_code))]
    pub(crate) fn is_tls(self) -> bool {
        self.row().tls
    }
}

/// Whether this build has a feature's checks.
#[cfg(feature = "cli")]
pub(crate) fn built(feature: &str) -> bool {
    (feature == "tls" && cfg!(feature = "tls"))
        || (feature == "grpc" && cfg!(feature = "grpc"))
        || (feature == "db" && cfg!(feature = "db"))
}

/// `expected a target like http://HOST[:PORT][/PATH], https://…, …`: every kind's usage.
pub(crate) fn expected_target() -> String {
    let usages: Vec<&str> = KINDS.iter().map(|k| k.usage).collect();
    format!("expected a target like {}", usages.join(", "))
}

/// `http, https, postgres, …`: the schemes whose URL takes `user:password@`.
pub(crate) fn with_userinfo() -> String {
    let schemes: Vec<&str> = (KINDS.iter().filter(|k| k.userinfo))
        .map(|k| k.schemes[0])
        .collect();
    schemes.join(", ")
}

/// The `Targets:` section of `--help`: each kind's usage, with the feature a build lacks.
#[cfg(feature = "cli")]
pub(crate) fn help_section() -> String {
    let mut text = String::from("Targets:\n");
    for k in KINDS {
        let missing = k.feature.filter(|f| !built(f));
        let aliases = &k.schemes[1..];
        text.push_str("  ");
        text.push_str(k.usage);
        if !aliases.is_empty() {
            text.push_str(&format!(" (also {}://)", aliases.join("://, ")));
        }
        if let Some(feature) = missing {
            text.push_str(&format!(" [needs the `{feature}` feature]"));
        }
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_in_the_order_of_the_variants() {
        for (i, k) in KINDS.iter().enumerate() {
            assert_eq!(k.kind as usize, i, "{:?}", k.kind);
            assert_eq!(TargetKind::from_scheme(k.schemes[0]), Some(k.kind));
            assert!(
                k.usage.starts_with(&format!("{}://", k.schemes[0])),
                "{}",
                k.usage
            );
        }
    }

    #[test]
    fn schemes_are_unique_and_lowercase() {
        let all: Vec<&str> = KINDS
            .iter()
            .flat_map(|k| k.schemes.iter().copied())
            .collect();
        for (i, s) in all.iter().enumerate() {
            assert_eq!(s.to_ascii_lowercase(), *s);
            assert!(!all[i + 1..].contains(s), "{s} twice");
        }
        assert_eq!(
            TargetKind::from_scheme("PostgreSQL"),
            Some(TargetKind::Postgres)
        );
        assert_eq!(TargetKind::from_scheme("ftp"), None);
    }

    /// The crate docs and the README name every scheme of the table.
    #[test]
    fn docs_name_every_scheme() {
        let lib = include_str!("lib.rs");
        let readme = include_str!("../README.md");
        for k in KINDS {
            for s in k.schemes {
                let shown = format!("`{s}://");
                assert!(lib.contains(&shown), "src/lib.rs does not name {s}://");
                assert!(readme.contains(&shown), "README.md does not name {s}://");
            }
        }
    }
}
