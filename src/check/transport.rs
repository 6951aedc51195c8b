//! ureq's extension points, filled with the probe's own parts: a resolver that honours the
//! deadline and `-4`/`-6`, and a connector that dials TCP or a Unix socket and wraps TLS with
//! the probe's one TLS configuration (SNI override, client certificate, `tls_cert_min_days`).

use std::fmt;
use std::io;
#[cfg(feature = "tls")]
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use ureq::config::Config;
use ureq::http::Uri;
use ureq::unversioned::resolver::{ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{
    Buffers, ConnectionDetails, Connector, LazyBuffers, NextTimeout, Transport,
};

use crate::check::shared::{Ctx, Timed};
use crate::deadline::Deadline;
use crate::error::{Error, Phase};
use crate::net::{self, IpFamily};
use crate::report::Detail;
use crate::target::{Target, TargetKind};

/// What the resolver and connector hand back to the check across ureq: the details they saw,
/// and their own error when they fail. ureq only carries its own error type; ours stays here
/// rather than travelling inside `ureq::Error::Other` and being downcast back.
#[derive(Debug, Clone, Default)]
pub(crate) struct Shared(Arc<Mutex<SharedState>>);

#[derive(Debug, Default)]
struct SharedState {
    details: Vec<Detail>,
    failure: Option<Error>,
}

impl Shared {
    fn detail(&self, detail: Detail) {
        if let Ok(mut s) = self.0.lock() {
            s.details.push(detail);
        }
    }

    /// Keeps `e` for the check and gives ureq an error of its own to stop on.
    fn fail(&self, e: Error) -> ureq::Error {
        if let Ok(mut s) = self.0.lock() {
            s.failure.get_or_insert(e);
        }
        ureq::Error::ConnectionFailed
    }

    /// The details seen, and the error of ours that stopped the request, if one did.
    pub(crate) fn take(&self) -> (Vec<Detail>, Option<Error>) {
        match self.0.lock() {
            Ok(mut s) => (std::mem::take(&mut s.details), s.failure.take()),
            Err(_) => (Vec::new(), None),
        }
    }
}

#[derive(Debug)]
pub(crate) struct ProbeResolver {
    family: IpFamily,
    deadline: Deadline,
    unix: bool,
    shared: Shared,
}

impl ProbeResolver {
    pub(crate) fn new(
        family: IpFamily,
        deadline: Deadline,
        unix: bool,
        shared: Shared,
    ) -> ProbeResolver {
        ProbeResolver {
            family,
            deadline,
            unix,
            shared,
        }
    }
}

impl Resolver for ProbeResolver {
    fn resolve(
        &self,
        uri: &Uri,
        _: &Config,
        _: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let mut out = self.empty();
        if self.unix {
            // The connector dials the socket; ureq still wants an address to hand it.
            out.push(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 80));
            return Ok(out);
        }
        let host = uri
            .host()
            .unwrap_or_default()
            .trim_start_matches('[')
            .trim_end_matches(']');
        let port = uri
            .port_u16()
            .unwrap_or(if uri.scheme_str() == Some("https") {
                443
            } else {
                80
            });
        for addr in net::resolve(host, port, self.family, &self.deadline)
            .map_err(|e| self.shared.fail(e))?
            .into_iter()
            .take(16)
        {
            out.push(addr);
        }
        Ok(out)
    }
}

pub(crate) struct ProbeConnector {
    unix: Option<String>,
    #[cfg(feature = "tls")]
    tls: Option<(
        Arc<rustls::ClientConfig>,
        rustls::pki_types::ServerName<'static>,
        String,
    )>,
    #[cfg(feature = "tls")]
    cert_min_days: Option<u32>,
    deadline: Deadline,
    shared: Shared,
}

impl fmt::Debug for ProbeConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProbeConnector")
            .field("unix", &self.unix)
            .finish_non_exhaustive()
    }
}

impl ProbeConnector {
    pub(crate) fn new(
        ctx: &Ctx<'_>,
        target: &Target,
        tls: bool,
        host: &str,
        shared: Shared,
    ) -> Result<ProbeConnector, Error> {
        let unix =
            (target.kind() == TargetKind::HttpUnix).then(|| target.socket_path().to_string());
        #[cfg(feature = "tls")]
        let tls = if tls {
            let config = ctx.tls_config(crate::tls::TlsUse::Https)?;
            let name = ctx.tls_name(host);
            let server_name = crate::tls::server_name(&name)?;
            Some((config, server_name, name))
        } else {
            None
        };
        #[cfg(not(feature = "tls"))]
        let _ = (tls, host);
        Ok(ProbeConnector {
            unix,
            #[cfg(feature = "tls")]
            tls,
            #[cfg(feature = "tls")]
            cert_min_days: ctx.settings.tls.cert_min_days,
            deadline: ctx.deadline.clone(),
            shared,
        })
    }

    fn connected(&self, addr: impl fmt::Display) {
        self.shared
            .detail(Detail::connected(addr, self.deadline.elapsed()));
    }
}

impl<In: Transport> Connector<In> for ProbeConnector {
    type Out = Box<dyn Transport>;

    fn connect(
        &self,
        details: &ConnectionDetails,
        chained: Option<In>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        let buffers = || {
            LazyBuffers::new(
                details.config.input_buffer_size(),
                details.config.output_buffer_size(),
            )
        };
        let transport: Box<dyn Transport> = match chained {
            // A tunnel through the proxy, already open.
            Some(tunnel) => tunnel.boxed(),
            None => {
                self.deadline.set_phase(Phase::Connect);
                if let Some(path) = &self.unix {
                    let stream =
                        net::connect_unix(path, &self.deadline).map_err(|e| self.shared.fail(e))?;
                    self.connected(path);
                    Box::new(StreamTransport {
                        stream,
                        buffers: buffers(),
                    })
                } else {
                    let addrs: Vec<SocketAddr> = details.addrs.iter().copied().collect();
                    let (stream, addr) =
                        net::connect(&addrs, &self.deadline).map_err(|e| self.shared.fail(e))?;
                    self.connected(addr);
                    Box::new(StreamTransport {
                        stream,
                        buffers: buffers(),
                    })
                }
            }
        };
        #[cfg(feature = "tls")]
        let transport = match &self.tls {
            // Only the target's own connection: a connection to the proxy stays plain.
            Some((config, name, shown)) if details.uri.scheme_str() == Some("https") => {
                self.deadline.set_phase(Phase::Tls);
                self.wrap_tls(transport, details, config.clone(), name.clone(), shown)
                    .map_err(|e| self.shared.fail(e))?
            }
            _ => transport,
        };
        self.deadline.set_phase(Phase::Response);
        Ok(Some(transport))
    }
}

#[cfg(feature = "tls")]
impl ProbeConnector {
    fn wrap_tls(
        &self,
        transport: Box<dyn Transport>,
        details: &ConnectionDetails,
        config: Arc<rustls::ClientConfig>,
        name: rustls::pki_types::ServerName<'static>,
        shown: &str,
    ) -> Result<Box<dyn Transport>, Error> {
        use ureq::unversioned::transport::TransportAdapter;
        let mut conn = rustls::ClientConnection::new(config, name)
            .map_err(|e| crate::tls::describe(&e, shown))?;
        let mut sock = TransportAdapter::new(transport, details.current_time.clone());
        sock.set_timeout(details.timeout);
        crate::tls::handshake(&mut conn, &mut sock, shown, &self.deadline)?;
        let mut seen = Vec::new();
        let checked = crate::tls::after_handshake(&conn, self.cert_min_days, shown, &mut seen);
        for detail in seen {
            self.shared.detail(detail);
        }
        checked?;
        let buffers = LazyBuffers::new(
            details.config.input_buffer_size(),
            details.config.output_buffer_size(),
        );
        Ok(Box::new(TlsTransport {
            buffers,
            stream: rustls::StreamOwned::new(conn, sock),
        }))
    }
}

/// A plain stream (TCP or Unix) as a ureq transport.
struct StreamTransport<S> {
    stream: S,
    buffers: LazyBuffers,
}

impl<S> fmt::Debug for StreamTransport<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StreamTransport")
    }
}

/// The time left for the next read or write; ureq hands a zero when its deadline has passed.
fn time_left(timeout: NextTimeout) -> Result<std::time::Duration, ureq::Error> {
    match timeout.not_zero() {
        Some(d) => Ok(*d),
        None => Err(ureq::Error::Timeout(timeout.reason)),
    }
}

fn io_timeout(e: io::Error, timeout: NextTimeout) -> ureq::Error {
    if crate::deadline::is_timeout(&e) {
        ureq::Error::Timeout(timeout.reason)
    } else {
        ureq::Error::Io(e)
    }
}

impl<S: Timed + Send + Sync + 'static> Transport for StreamTransport<S> {
    fn buffers(&mut self) -> &mut dyn Buffers {
        &mut self.buffers
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        self.stream.set_timeouts(time_left(timeout)?)?;
        let output = &self.buffers.output()[..amount];
        self.stream
            .write_all(output)
            .map_err(|e| io_timeout(e, timeout))
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        self.stream.set_timeouts(time_left(timeout)?)?;
        let input = self.buffers.input_append_buf();
        let n = loop {
            match self.stream.read(input) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other.map_err(|e| io_timeout(e, timeout))?,
            }
        };
        self.buffers.input_appended(n);
        Ok(n > 0)
    }

    fn is_open(&mut self) -> bool {
        // Connections are never pooled: every check opens its own.
        true
    }
}

#[cfg(feature = "tls")]
struct TlsTransport {
    buffers: LazyBuffers,
    stream: rustls::StreamOwned<
        rustls::ClientConnection,
        ureq::unversioned::transport::TransportAdapter,
    >,
}

#[cfg(feature = "tls")]
impl fmt::Debug for TlsTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TlsTransport")
    }
}

#[cfg(feature = "tls")]
impl Transport for TlsTransport {
    fn buffers(&mut self) -> &mut dyn Buffers {
        &mut self.buffers
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        self.stream.get_mut().set_timeout(timeout);
        let output = &self.buffers.output()[..amount];
        self.stream.write_all(output)?;
        Ok(())
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        self.stream.get_mut().set_timeout(timeout);
        let input = self.buffers.input_append_buf();
        let n = self.stream.read(input)?;
        self.buffers.input_appended(n);
        Ok(n > 0)
    }

    fn is_open(&mut self) -> bool {
        true
    }

    fn is_tls(&self) -> bool {
        true
    }
}
