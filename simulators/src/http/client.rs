//! The HTTP client the reference Edge fetches CRLs with: one GET on a
//! fresh connection, from a chosen local address, bounded in time and in
//! the size of what it reads.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;

use super::message::{HttpError, HttpUrl, MAX_RESPONSE_HEAD, Response, parse_response};

/// GETs `url` from `address` (where its host resolved to), binding
/// `local_ip` when given, within `timeout`; a body over `max_body` bytes
/// is an error. Any status is returned; the caller judges it.
pub async fn fetch(
    url: &HttpUrl,
    address: SocketAddr,
    local_ip: Option<IpAddr>,
    timeout: Duration,
    max_body: usize,
    user_agent: &str,
) -> Result<Response, HttpError> {
    tokio::time::timeout(
        timeout,
        exchange(url, address, local_ip, max_body, user_agent),
    )
    .await
    .map_err(|_| HttpError::Timeout {
        after_ms: timeout.as_millis(),
    })?
}

async fn exchange(
    url: &HttpUrl,
    address: SocketAddr,
    local_ip: Option<IpAddr>,
    max_body: usize,
    user_agent: &str,
) -> Result<Response, HttpError> {
    let transport = |e: std::io::Error| HttpError::Transport(format!("{address}: {e}"));
    let socket = match address {
        SocketAddr::V4(_) => TcpSocket::new_v4(),
        SocketAddr::V6(_) => TcpSocket::new_v6(),
    }
    .map_err(transport)?;
    if let Some(ip) = local_ip {
        socket.bind(SocketAddr::new(ip, 0)).map_err(transport)?;
    }
    let mut tcp = socket.connect(address).await.map_err(transport)?;
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: {user_agent}\r\nAccept: application/pkix-crl, */*\r\nConnection: close\r\n\r\n",
        url.target,
        url.host_header()
    );
    tcp.write_all(request.as_bytes()).await.map_err(transport)?;
    let limit = MAX_RESPONSE_HEAD + max_body;
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 8192];
    loop {
        let n = tcp.read(&mut chunk).await.map_err(transport)?;
        buf.extend_from_slice(&chunk[..n]);
        if let Some(response) = parse_response(&buf, n == 0, max_body)? {
            return Ok(response);
        }
        if buf.len() > limit {
            return Err(HttpError::BodyTooLarge { limit: max_body });
        }
    }
}
