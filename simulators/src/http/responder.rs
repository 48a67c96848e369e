//! The CRL responder: an HTTP/1.1 server for the CRLs the harness issues.
//! GET only, one request per connection (each answer closes it), the
//! request head bounded by `MAX_REQUEST_HEAD` and by time. A published
//! path is answered 200 with `application/pkix-crl`; any other path 404,
//! any other method 405. Every request, and every connection's bytes, go
//! into an [`HttpLog`] so cases can show who fetched what, and when.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

use picharness_reports::TcpStream as CapturedStream;
use rustls_pki_types::CertificateRevocationListDer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

use super::message::{HttpError, RequestHead, parse_request_head, response_bytes};
use crate::tls::{ConnectionRecord, RecordingStream, TcpRole};

/// The media type of a DER CRL (RFC 5280 §4.2.1.13, RFC 2585).
pub const CRL_CONTENT_TYPE: &str = "application/pkix-crl";
/// A connection that has not sent a whole request head by then is closed.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// How long, and for how many bytes, a connection is read after the
/// answer before it is closed.
const LINGER: Duration = Duration::from_secs(1);
const MAX_LINGER_BYTES: usize = 64 * 1024;
/// The most requests (and connections) a log keeps; later ones are counted.
const MAX_LOGGED: usize = 1024;
/// The most connections served at once.
const MAX_CONNECTIONS: usize = 64;

/// One request the responder answered (or refused).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequestRecord {
    pub at: SystemTime,
    pub client: SocketAddr,
    pub server: SocketAddr,
    /// The method, or `-` when the head could not be read.
    pub method: String,
    /// The request target, or why the head could not be read.
    pub target: String,
    /// The status sent back (0 when nothing could be sent).
    pub status: u16,
    pub user_agent: Option<String>,
}

impl HttpRequestRecord {
    /// One line for a transcript: `GET /crl/x.crl from 127.0.0.10:40000 -> 200`.
    pub fn one_line(&self) -> String {
        format!(
            "{} {} from {} to {} -> {}{}",
            self.method,
            self.target,
            self.client,
            self.server,
            self.status,
            self.user_agent
                .as_deref()
                .map(|ua| format!(" (User-Agent: {ua})"))
                .unwrap_or_default()
        )
    }
}

/// The requests a responder saw and the bytes of its connections.
#[derive(Debug, Clone, Default)]
pub struct HttpLog {
    requests: Arc<Mutex<Vec<HttpRequestRecord>>>,
    connections: Arc<Mutex<Vec<ConnectionRecord>>>,
    not_kept: Arc<Mutex<u64>>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl HttpLog {
    /// Every request kept, in arrival order.
    pub fn requests(&self) -> Vec<HttpRequestRecord> {
        lock(&self.requests).clone()
    }

    /// Requests with `from <= at <= to`.
    pub fn requests_between(&self, from: SystemTime, to: SystemTime) -> Vec<HttpRequestRecord> {
        lock(&self.requests)
            .iter()
            .filter(|r| r.at >= from && r.at <= to)
            .cloned()
            .collect()
    }

    /// Connections opened with `from <= opened_at <= to`.
    pub fn tcp_streams_between(&self, from: SystemTime, to: SystemTime) -> Vec<CapturedStream> {
        lock(&self.connections)
            .iter()
            .map(ConnectionRecord::snapshot)
            .filter(|s| s.opened_at >= from && s.opened_at <= to)
            .collect()
    }

    /// Requests and connections counted but not kept past the limit.
    pub fn not_kept(&self) -> u64 {
        *lock(&self.not_kept)
    }

    fn push_request(&self, record: HttpRequestRecord) {
        let mut requests = lock(&self.requests);
        if requests.len() >= MAX_LOGGED {
            *lock(&self.not_kept) += 1;
            return;
        }
        requests.push(record);
    }

    fn push_connection(&self, record: ConnectionRecord) {
        let mut connections = lock(&self.connections);
        if connections.len() >= MAX_LOGGED {
            *lock(&self.not_kept) += 1;
            return;
        }
        connections.push(record);
    }
}

type Documents = Arc<RwLock<HashMap<String, Vec<u8>>>>;

/// A running responder. Dropping it stops it.
pub struct CrlResponder {
    address: SocketAddr,
    documents: Documents,
    log: HttpLog,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for CrlResponder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CrlResponder")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

impl Drop for CrlResponder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl CrlResponder {
    /// Listens on `address` and serves what is published, logging into `log`.
    pub async fn start(address: SocketAddr, log: HttpLog) -> io::Result<Self> {
        let listener = TcpListener::bind(address).await?;
        let address = listener.local_addr()?;
        let documents = Documents::default();
        let task = tokio::spawn(serve(listener, documents.clone(), log.clone()));
        Ok(Self {
            address,
            documents,
            log,
            task,
        })
    }

    /// Where it listens.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The log it writes.
    pub fn log(&self) -> &HttpLog {
        &self.log
    }

    /// The `http://` URL of `path` (which starts with `/`) on this responder.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// Serves `crl` at `path` from now on (replacing what was there).
    pub fn publish(&self, path: &str, crl: &CertificateRevocationListDer<'_>) {
        self.documents
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(path.to_owned(), crl.as_ref().to_vec());
    }

    /// Stops serving `path`.
    pub fn withdraw(&self, path: &str) {
        self.documents
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(path);
    }
}

async fn serve(listener: TcpListener, documents: Documents, log: HttpLog) {
    let mut connections = JoinSet::new();
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            continue;
        };
        while connections.try_join_next().is_some() {}
        if connections.len() >= MAX_CONNECTIONS {
            continue;
        }
        let _ = tcp.set_nodelay(true);
        let Ok((stream, record)) = RecordingStream::from_tcp(tcp, TcpRole::Server) else {
            continue;
        };
        log.push_connection(record);
        connections.spawn(serve_connection(stream, documents.clone(), log.clone()));
    }
}

/// What to answer a request head.
fn answer(head: &RequestHead, documents: &Documents) -> (u16, Vec<u8>) {
    if head.method != "GET" {
        return (
            405,
            response_bytes(
                405,
                "Method Not Allowed",
                &[("Allow", "GET"), ("Content-Type", "text/plain")],
                b"only GET\n",
            ),
        );
    }
    let found = documents
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .get(head.path())
        .cloned();
    match found {
        Some(crl) => (
            200,
            response_bytes(200, "OK", &[("Content-Type", CRL_CONTENT_TYPE)], &crl),
        ),
        None => (
            404,
            response_bytes(
                404,
                "Not Found",
                &[("Content-Type", "text/plain")],
                b"not found\n",
            ),
        ),
    }
}

async fn serve_connection(
    mut stream: RecordingStream<tokio::net::TcpStream>,
    documents: Documents,
    log: HttpLog,
) {
    let (client, server) = stream.record().endpoints();
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 2048];
    let deadline = tokio::time::Instant::now() + REQUEST_TIMEOUT;
    let parsed = loop {
        match parse_request_head(&buf) {
            Ok(Some((head, _))) => break Ok(head),
            Ok(None) => {}
            Err(e) => break Err(e),
        }
        match tokio::time::timeout_at(deadline, stream.read(&mut chunk)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break Err(HttpError::Truncated { got: buf.len() }),
            Ok(Ok(n)) => buf.extend_from_slice(&chunk[..n]),
            Err(_) => {
                break Err(HttpError::Timeout {
                    after_ms: REQUEST_TIMEOUT.as_millis(),
                });
            }
        }
    };
    let (record, bytes) = match parsed {
        Ok(head) => {
            let (status, bytes) = answer(&head, &documents);
            let user_agent = head.header("user-agent").map(str::to_owned);
            (
                HttpRequestRecord {
                    at: SystemTime::now(),
                    client,
                    server,
                    method: head.method,
                    target: head.target,
                    status,
                    user_agent,
                },
                Some(bytes),
            )
        }
        Err(error) => {
            let refusal = match &error {
                HttpError::HeadTooLarge { .. } | HttpError::TooManyHeaders => Some((
                    431,
                    response_bytes(431, "Request Header Fields Too Large", &[], b""),
                )),
                HttpError::Malformed { .. } => {
                    Some((400, response_bytes(400, "Bad Request", &[], b"")))
                }
                _ => None,
            };
            (
                HttpRequestRecord {
                    at: SystemTime::now(),
                    client,
                    server,
                    method: "-".to_owned(),
                    target: error.to_string(),
                    status: refusal.as_ref().map_or(0, |(status, _)| *status),
                    user_agent: None,
                },
                refusal.map(|(_, bytes)| bytes),
            )
        }
    };
    log.push_request(record);
    if let Some(bytes) = bytes {
        let _ = tokio::time::timeout(REQUEST_TIMEOUT, async {
            let _ = stream.write_all(&bytes).await;
            let _ = stream.shutdown().await;
        })
        .await;
        // Read what the client still sends (a refused head's tail) before
        // closing, so the close is not a reset that loses the answer.
        let _ = tokio::time::timeout(LINGER, async {
            let mut drained = 0;
            while drained < MAX_LINGER_BYTES {
                match stream.read(&mut chunk).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => drained += n,
                }
            }
        })
        .await;
    }
    stream.record().mark_closed();
}
