//! `MockServer`: bind the listeners, serve the app, shut down cleanly. The same handle serves
//! `understudy serve` and tests that embed the mock, as wiremock's `MockServer` does.

use crate::config::{ConfigError, ServerConfig};
use crate::journal::RecordedRequest;
use crate::routes::{Scheme, app};
use crate::state::AppState;
use crate::tls::{TlsError, TlsMaterial, TlsSource};
use axum::Extension;
use axum::serve::ListenerExt as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How long open connections get to finish when the server shuts down.
const GRACE_PERIOD: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("could not listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error("nothing to serve: both the HTTP and the HTTPS listener are off")]
    NoListener,
}

/// Describes a server to start: its configuration and its listeners.
#[derive(Debug, Clone)]
#[must_use]
pub struct MockServerBuilder {
    config: ServerConfig,
    http: Option<SocketAddr>,
    https: Option<(SocketAddr, TlsSource)>,
    stun: Option<SocketAddr>,
}

impl Default for MockServerBuilder {
    fn default() -> Self {
        Self {
            config: ServerConfig::default(),
            http: Some((Ipv4Addr::LOCALHOST, 0).into()),
            https: None,
            stun: Some((Ipv4Addr::LOCALHOST, 0).into()),
        }
    }
}

impl MockServerBuilder {
    pub fn config(mut self, config: ServerConfig) -> Self {
        self.config = config;
        self
    }

    /// Serve plain HTTP (and `ws://`) on `addr`; port 0 picks a free one.
    pub fn http(mut self, addr: SocketAddr) -> Self {
        self.http = Some(addr);
        self
    }

    pub fn no_http(mut self) -> Self {
        self.http = None;
        self
    }

    /// Answer STUN binding requests on UDP `addr` (port 0 picks a free one): the server v1
    /// sessions name in `ice_servers`. On by default, on 127.0.0.1.
    pub fn stun(mut self, addr: SocketAddr) -> Self {
        self.stun = Some(addr);
        self
    }

    /// No STUN responder: v1 sessions get empty `ice_servers`.
    pub fn no_stun(mut self) -> Self {
        self.stun = None;
        self
    }

    /// Serve HTTPS (and `wss://`) on `addr` with the given certificate.
    pub fn https(mut self, addr: SocketAddr, tls: TlsSource) -> Self {
        self.https = Some((addr, tls));
        self
    }

    /// Validates the configuration, binds every listener (so ports are known before anything
    /// is served), then serves in background tasks.
    ///
    /// # Errors
    /// An invalid configuration, a port that cannot be bound, or unusable TLS material.
    pub async fn start(self) -> Result<MockServer, StartError> {
        self.config.validate()?;
        if self.http.is_none() && self.https.is_none() {
            return Err(StartError::NoListener);
        }
        let shutdown = CancellationToken::new();
        let tracker = TaskTracker::new();
        let state = AppState::new(self.config, shutdown.clone(), tracker.clone());

        if let Some(addr) = self.stun {
            let socket = tokio::net::UdpSocket::bind(addr)
                .await
                .map_err(|source| StartError::Bind { addr, source })?;
            let local = socket
                .local_addr()
                .map_err(|source| StartError::Bind { addr, source })?;
            state.set_stun_addr(local);
            tracker.spawn(crate::stun::serve(
                socket,
                std::sync::Arc::clone(state.stun_answers()),
                shutdown.clone(),
            ));
        }

        let http_addr = match self.http {
            Some(addr) => {
                let listener = tokio::net::TcpListener::bind(addr)
                    .await
                    .map_err(|source| StartError::Bind { addr, source })?;
                let local = listener
                    .local_addr()
                    .map_err(|source| StartError::Bind { addr, source })?;
                let router = app(state.clone()).layer(Extension(Scheme::Http));
                let stop = shutdown.clone();
                tracker.spawn(async move {
                    // Small messages (events, answers) go out at once, not after Nagle's wait.
                    let listener = listener.tap_io(|stream| {
                        let _ = stream.set_nodelay(true);
                    });
                    // The peer's address reaches the admin guard (loopback only by default).
                    let served = axum::serve(
                        listener,
                        router.into_make_service_with_connect_info::<SocketAddr>(),
                    )
                    .with_graceful_shutdown(stop.cancelled_owned());
                    if let Err(err) = served.await {
                        tracing::error!(%err, "HTTP listener failed");
                    }
                });
                Some(local)
            }
            None => None,
        };

        let (https_addr, tls) = match self.https {
            Some((addr, source)) => {
                let material = TlsMaterial::load(&source)?;
                let rustls_config =
                    axum_server::tls_rustls::RustlsConfig::from_config(material.server_config()?);
                let listener = std::net::TcpListener::bind(addr)
                    .map_err(|source| StartError::Bind { addr, source })?;
                listener
                    .set_nonblocking(true)
                    .map_err(|source| StartError::Bind { addr, source })?;
                let local = listener
                    .local_addr()
                    .map_err(|source| StartError::Bind { addr, source })?;
                let acceptor = axum_server::tls_rustls::RustlsAcceptor::new(rustls_config)
                    .acceptor(axum_server::accept::NoDelayAcceptor::new());
                let server = axum_server::from_tcp(listener)
                    .map_err(|source| StartError::Bind { addr, source })?
                    .acceptor(acceptor);
                let handle = axum_server::Handle::new();
                let router = app(state.clone()).layer(Extension(Scheme::Https));
                let serving = server
                    .handle(handle.clone())
                    .serve(router.into_make_service_with_connect_info::<SocketAddr>());
                tracker.spawn(async move {
                    if let Err(err) = serving.await {
                        tracing::error!(%err, "HTTPS listener failed");
                    }
                });
                let stop = shutdown.clone();
                tracker.spawn(async move {
                    stop.cancelled().await;
                    handle.graceful_shutdown(Some(GRACE_PERIOD));
                });
                (Some(local), Some(material))
            }
            None => (None, None),
        };

        Ok(MockServer {
            state,
            http_addr,
            https_addr,
            tls,
            shutdown,
            tracker,
        })
    }
}

/// A fault rule the server refused, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("fault rule refused: {0}")]
pub struct InvalidFault(pub String);

/// A running mock. Dropping it stops serving; [`MockServer::shutdown`] also waits until every
/// task has finished.
#[derive(Debug)]
pub struct MockServer {
    state: AppState,
    http_addr: Option<SocketAddr>,
    https_addr: Option<SocketAddr>,
    tls: Option<TlsMaterial>,
    shutdown: CancellationToken,
    tracker: TaskTracker,
}

impl MockServer {
    /// A mock with the default configuration on a free port of 127.0.0.1, plain HTTP.
    ///
    /// # Panics
    /// If 127.0.0.1 has no free port; use [`MockServer::builder`] to handle that.
    pub async fn start() -> Self {
        Self::builder()
            .start()
            .await
            .expect("start a mock on 127.0.0.1")
    }

    pub fn builder() -> MockServerBuilder {
        MockServerBuilder::default()
    }

    /// Where the STUN responder listens (UDP), if it was not turned off.
    pub fn stun_addr(&self) -> Option<SocketAddr> {
        self.state.stun_addr()
    }

    /// `http://127.0.0.1:<port>`, or the HTTPS URI when plain HTTP is off.
    pub fn uri(&self) -> String {
        match self.http_addr {
            Some(addr) => format!("http://{addr}"),
            None => self.https_uri().unwrap_or_default(),
        }
    }

    /// `https://localhost:<port>` when HTTPS is on: localhost, because certificates name hosts.
    pub fn https_uri(&self) -> Option<String> {
        self.https_addr
            .map(|addr| format!("https://localhost:{}", addr.port()))
    }

    pub fn http_addr(&self) -> Option<SocketAddr> {
        self.http_addr
    }

    pub fn https_addr(&self) -> Option<SocketAddr> {
        self.https_addr
    }

    pub fn tls(&self) -> Option<&TlsMaterial> {
        self.tls.as_ref()
    }

    /// The shared state, for tests that inspect sessions directly.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Every request received so far, oldest first (admin routes excluded).
    pub fn received_requests(&self) -> Vec<RecordedRequest> {
        let snapshot = self.state.journal().snapshot();
        crate::journal::export(&snapshot)
    }

    /// Adds a fault rule, in the spirit of wiremock-rs's `mount`:
    /// `server.fault(Fault::on("/v1/streaming.task").respond(500).times(1)).await?`.
    /// A session or token rule acts at once. Returns the rule's id.
    ///
    /// # Errors
    /// [`InvalidFault`] saying what is wrong with the rule, or that the session or token it
    /// names does not exist.
    pub async fn fault(
        &self,
        fault: impl Into<understudy_proto::faults::FaultRule>,
    ) -> Result<u64, InvalidFault> {
        let (id, immediate) = self
            .state
            .faults()
            .add(fault.into())
            .map_err(InvalidFault)?;
        if let Some(now) = immediate {
            if !self.state.apply_fault(&now) {
                self.state.faults().remove(id);
                return Err(InvalidFault(
                    "no live session or known token by that name".into(),
                ));
            }
        }
        Ok(id)
    }

    /// Every fault rule, with how often it matched and fired.
    pub fn faults(&self) -> Vec<understudy_proto::faults::FaultStatus> {
        self.state.faults().list()
    }

    /// Removes every fault rule.
    pub fn clear_faults(&self) {
        self.state.faults().clear();
    }

    /// Stops accepting, closes every session, and waits for every task to finish.
    pub async fn shutdown(self) {
        self.shutdown.cancel();
        self.tracker.close();
        self.tracker.wait().await;
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}
