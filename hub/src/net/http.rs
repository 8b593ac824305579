//! The operations endpoint: `GET /metrics` (Prometheus text format 0.0.4)
//! and `GET /health`, plain HTTP on the address `metrics_listen` names.
//!
//! A deliberately small HTTP/1.1 responder: one request per connection
//! (`Connection: close`), a request head of at most 8 KiB that must arrive
//! within 5 s, at most 16 connections at once. It serves a scraper and a
//! load balancer's probe on a private network, nothing more. It reads the
//! database through its own SQLite connection, so a scrape never waits for
//! the ingest lock and a push never waits for a scrape.

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

use crate::config::HubConfig;
use crate::ingest::scrub::ScrubState;
use crate::net::metrics::Metrics;
use crate::read::cache::Reader;
use sajja_edge::clock::unix_now;

/// The most bytes of request line and headers read; a longer head gets 431.
pub const MAX_REQUEST_HEAD_BYTES: usize = 8 * 1024;
/// How long a client has to send its request head, and to read the answer.
pub const IO_TIMEOUT: Duration = Duration::from_secs(5);
/// Connections served at once; further ones wait in the listen backlog.
pub const MAX_CONNECTIONS: usize = 16;

/// After answering, how long and how much to read of what the client still
/// sends before closing.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(1);
const MAX_DRAIN_BYTES: usize = 64 * 1024;

const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// What a request is answered from.
struct Endpoint {
    metrics: Arc<Metrics>,
    store: Mutex<Reader>,
    freshness: crate::values::lines::Freshness,
    scrub: Arc<ScrubState>,
    writes: Arc<crate::ingest::accept::WriteHealth>,
    /// The server certificate and the CA, re-read at each scrape so a
    /// renewed certificate shows at once.
    certificates: [(&'static str, std::path::PathBuf); 2],
}

/// Binds `config.metrics_listen`, if set, writes the bound address to
/// `<data_dir>/metrics.addr`, and serves in a task until `shutdown`.
/// Why the operations endpoint did not start, or one answer failed.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("the operations endpoint's store: {0}")]
    Store(#[from] crate::store::StoreError),
    #[error("binding metrics_listen {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0} timed out")]
    TimedOut(&'static str),
    #[error("an answer's task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

pub async fn start(
    config: &HubConfig,
    metrics: Arc<Metrics>,
    scrub: Arc<ScrubState>,
    writes: Arc<crate::ingest::accept::WriteHealth>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<Option<JoinHandle<()>>, HttpError> {
    let Some(listen) = config.metrics_listen else {
        return Ok(None);
    };
    let store = Reader::open(&config.database_path())?;
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|source| HttpError::Bind {
            addr: listen,
            source,
        })?;
    let addr = listener.local_addr()?;
    write_addr(&config.metrics_addr_file(), addr)?;
    tracing::info!(hub = %config.hub_id, %addr, "serving /metrics and /health");
    let endpoint = Arc::new(Endpoint {
        metrics,
        store: Mutex::new(store),
        freshness: config.freshness(0),
        scrub,
        writes,
        certificates: [
            ("server", config.tls.cert.clone()),
            ("ca", config.tls.ca.clone()),
        ],
    });
    Ok(Some(tokio::spawn(serve(listener, endpoint, shutdown))))
}

/// Write-then-rename, so a reader never sees half an address.
fn write_addr(path: &Path, addr: SocketAddr) -> std::io::Result<()> {
    let tmp = path.with_extension("addr.tmp");
    std::fs::write(&tmp, addr.to_string())?;
    std::fs::rename(&tmp, path)
}

async fn serve(listener: TcpListener, endpoint: Arc<Endpoint>, shutdown: impl Future<Output = ()>) {
    tokio::pin!(shutdown);
    let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let permit = tokio::select! {
            _ = &mut shutdown => return,
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => return,
            },
        };
        let stream = tokio::select! {
            _ = &mut shutdown => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    // Out of file descriptors, usually: back off, do not spin.
                    tracing::warn!("metrics endpoint accept failed: {error}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let endpoint = endpoint.clone();
        tokio::spawn(async move {
            let _permit = permit;
            if let Err(error) = answer(stream, &endpoint).await {
                tracing::debug!("metrics endpoint connection: {error}");
            }
        });
    }
}

/// What the request head asked for.
#[derive(Debug, PartialEq, Eq)]
enum Request {
    Metrics,
    Health,
    NotFound,
    MethodNotAllowed,
    TooLarge,
    Malformed,
}

/// Reads a request head: up to the blank line, at most `MAX_REQUEST_HEAD_BYTES`.
async fn read_head(stream: &mut TcpStream) -> std::io::Result<Request> {
    let mut head = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        if let Some(end) = find_end(&head) {
            return Ok(parse(&head[..end]));
        }
        if head.len() >= MAX_REQUEST_HEAD_BYTES {
            return Ok(Request::TooLarge);
        }
        let room = (MAX_REQUEST_HEAD_BYTES - head.len()).min(chunk.len());
        let n = stream.read(&mut chunk[..room]).await?;
        if n == 0 {
            return Ok(Request::Malformed);
        }
        head.extend_from_slice(&chunk[..n]);
    }
}

fn find_end(head: &[u8]) -> Option<usize> {
    head.windows(4).position(|w| w == b"\r\n\r\n")
}

/// The request line alone decides the answer; headers are read and ignored.
fn parse(head: &[u8]) -> Request {
    let Ok(text) = std::str::from_utf8(head) else {
        return Request::Malformed;
    };
    let line = text.lines().next().unwrap_or_default();
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Request::Malformed;
    };
    if !version.starts_with("HTTP/1.") {
        return Request::Malformed;
    }
    if method != "GET" {
        return Request::MethodNotAllowed;
    }
    match target.split('?').next().unwrap_or_default() {
        "/metrics" => Request::Metrics,
        "/health" => Request::Health,
        _ => Request::NotFound,
    }
}

async fn answer(mut stream: TcpStream, endpoint: &Arc<Endpoint>) -> Result<(), HttpError> {
    let request = tokio::time::timeout(IO_TIMEOUT, read_head(&mut stream))
        .await
        .map_err(|_| HttpError::TimedOut("the request head"))??;
    let (status, content_type, body) = match request {
        Request::Metrics => {
            let endpoint = endpoint.clone();
            let text = tokio::task::spawn_blocking(move || scrape(&endpoint)).await?;
            ("200 OK", PROMETHEUS_TEXT, text)
        }
        Request::Health => {
            let endpoint = endpoint.clone();
            match tokio::task::spawn_blocking(move || healthy(&endpoint)).await? {
                Ok(()) => ("200 OK", "text/plain", "ok\n".to_string()),
                Err(reasons) => {
                    tracing::warn!("health check failed: {}", reasons.join("; "));
                    (
                        "503 Service Unavailable",
                        "text/plain",
                        format!("{}\n", reasons.join("\n")),
                    )
                }
            }
        }
        Request::NotFound => (
            "404 Not Found",
            "text/plain",
            "try /metrics or /health\n".to_string(),
        ),
        Request::MethodNotAllowed => (
            "405 Method Not Allowed",
            "text/plain",
            "GET only\n".to_string(),
        ),
        Request::TooLarge => (
            "431 Request Header Fields Too Large",
            "text/plain",
            "request head over 8 KiB\n".to_string(),
        ),
        Request::Malformed => ("400 Bad Request", "text/plain", "bad request\n".to_string()),
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    tokio::time::timeout(IO_TIMEOUT, async {
        stream.write_all(response.as_bytes()).await?;
        stream.shutdown().await
    })
    .await
    .map_err(|_| HttpError::TimedOut("writing the answer"))??;
    // Closing with unread bytes (an oversized head) would reset the
    // connection and could destroy the answer in flight: read what the
    // client still sends, within bounds, until it closes its side.
    let _ = tokio::time::timeout(DRAIN_TIMEOUT, drain(&mut stream)).await;
    Ok(())
}

async fn drain(stream: &mut TcpStream) -> std::io::Result<()> {
    let mut chunk = [0u8; 1024];
    let mut left = MAX_DRAIN_BYTES;
    while left > 0 {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        left = left.saturating_sub(n);
    }
    Ok(())
}

/// The exposition text; gauges read from the store are left out, with a
/// warning, if it does not answer (the health check reports that).
fn scrape(endpoint: &Endpoint) -> String {
    let now = unix_now();
    let freshness = crate::values::lines::Freshness {
        now,
        ..endpoint.freshness
    };
    let read = match endpoint.store.lock() {
        Ok(store) => store
            .group_summaries()
            .and_then(|logs| {
                Ok((
                    logs,
                    at_risk(&store, freshness)?,
                    exchanges(&store, freshness)?,
                ))
            })
            .map_err(|e| e.to_string()),
        Err(_) => Err("metrics store connection poisoned".to_string()),
    };
    let read = read
        .inspect_err(|error| tracing::warn!("metrics scrape without the store: {error}"))
        .ok();
    let (logs, risky, exchanges) = match read {
        Some((logs, risky, exchanges)) => (Some(logs), risky, exchanges),
        None => (None, Default::default(), Vec::new()),
    };
    let mut text =
        endpoint
            .metrics
            .render(logs.as_deref(), &risky, now, freshness.stale_after_days);
    crate::net::metrics::render_exchanges(&mut text, &exchanges);
    let expiries: Vec<(&str, i64)> = endpoint
        .certificates
        .iter()
        .filter_map(|(which, path)| {
            let read = std::fs::read(path)
                .map_err(|e| e.to_string())
                .and_then(|pem| crate::pki::certs::pem_not_after(&pem));
            read.inspect_err(|e| tracing::warn!(certificate = which, "expiry not read: {e}"))
                .ok()
                .map(|at| (*which, at))
        })
        .collect();
    crate::net::metrics::render_certificates(&mut text, &expiries);
    endpoint.scrub.render(&mut text);
    text
}

/// Every community exchange's guarantee today, as `query exchanges` reads it.
fn exchanges(
    store: &Reader,
    freshness: crate::values::lines::Freshness,
) -> Result<Vec<crate::net::metrics::ExchangeGauge>, crate::store::StoreError> {
    let today = sajja_common::Date::thai_date_at(freshness.now);
    Ok(crate::read::exchanges::exchange_lines(store, "", today)?
        .into_iter()
        .map(|line| crate::net::metrics::ExchangeGauge {
            alerts: line.position.alerts().len(),
            exchange: line.position.log,
            coverage_basis_points: line.position.coverage_basis_points,
            policy_basis_points: line.position.policy_min_coverage_basis_points,
        })
        .collect())
}

/// The groups at risk today: positions from the stored inputs, as `query
/// groups` reads them.
fn at_risk(
    store: &Reader,
    freshness: crate::values::lines::Freshness,
) -> Result<std::collections::BTreeSet<sajja_common::GroupId>, crate::store::StoreError> {
    let today = sajja_common::Date::thai_date_at(freshness.now);
    Ok(crate::read::positions::group_lines(store, "", today)?
        .into_iter()
        .filter(|l| l.health(freshness) == crate::values::lines::Health::AtRisk)
        .map(|l| l.group)
        .collect())
}

/// Healthy: the database answers, its last integrity check said ok, and no
/// log is damaged. Otherwise every reason, one line each, for the operator
/// reading the probe's body.
fn healthy(endpoint: &Endpoint) -> Result<(), Vec<String>> {
    let store = endpoint
        .store
        .lock()
        .map_err(|_| vec!["metrics store connection poisoned".to_string()])?;
    if let Err(e) = store.ping() {
        return Err(vec![format!("database unavailable: {e}")]);
    }
    let mut reasons = Vec::new();
    if let Some((since, why)) = endpoint.writes.failing() {
        reasons.push(format!(
            "writes failing since {}: {why}; free disk space (or raise the file-size limit), then pushes resume",
            crate::values::time::timestamp(since)
        ));
    }
    if let Some(problem) = endpoint.scrub.integrity_problem() {
        reasons.push(format!("database integrity check failed: {problem}"));
    }
    match store.damaged_logs() {
        Ok(damaged) => reasons.extend(damaged.iter().map(|d| {
            format!("{d}; pushes onto it are held until its node pushes the range again")
        })),
        Err(e) => reasons.push(format!("damaged logs unreadable: {e}")),
    }
    if reasons.is_empty() {
        Ok(())
    } else {
        Err(reasons)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Requests are told apart by their request line alone.
    #[test]
    fn parses_request_lines() {
        for (head, expected) in [
            ("GET /metrics HTTP/1.1\r\nHost: x", Request::Metrics),
            ("GET /metrics?name[]=x HTTP/1.0", Request::Metrics),
            ("GET /health HTTP/1.1", Request::Health),
            ("GET / HTTP/1.1", Request::NotFound),
            ("POST /metrics HTTP/1.1", Request::MethodNotAllowed),
            ("GET /metrics", Request::Malformed),
            ("GET /metrics SPDY/3", Request::Malformed),
            ("", Request::Malformed),
        ] {
            assert_eq!(parse(head.as_bytes()), expected, "{head:?}");
        }
        assert_eq!(parse(&[0xff, 0xfe]), Request::Malformed);
    }

    /// The head ends at the first blank line.
    #[test]
    fn finds_the_end_of_the_head() {
        assert_eq!(find_end(b"GET / HTTP/1.1\r\n\r\nbody"), Some(14));
        assert_eq!(find_end(b"GET / HTTP/1.1\r\n"), None);
    }
}
