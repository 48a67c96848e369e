//! The harness's MS-TURN connection to TCP 443: a recorded TCP stream on
//! which it writes the pseudo-TLS ClientHello and framed MS-TURN messages
//! ([MS-TURN] §2.1.1, §2.1.4) and reads back exactly what the A/V Edge
//! sends, telling a closed connection from silence at a deadline.

use std::net::{IpAddr, SocketAddr};

use picharness_wire::ms_turn::{MsTcpFrame, MsTcpFramingError, decode_tcp_frame};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;

use super::client::{AvClientError, connect_recorded};
use crate::tls::{ConnectionRecord, RecordingStream};

/// What a read before a deadline came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MsTcpRead<T> {
    /// What was asked for.
    Got(T),
    /// The A/V Edge closed (or reset) the connection; the bytes it sent
    /// before that are kept.
    Closed(Vec<u8>),
    /// The deadline passed with the connection open.
    Silent(Vec<u8>),
}

/// A recorded TCP connection to an MS-TURN server.
#[derive(Debug)]
pub struct MsTurnTcpClient {
    stream: RecordingStream<tokio::net::TcpStream>,
    record: ConnectionRecord,
    pending: Vec<u8>,
    pub local: SocketAddr,
    pub remote: SocketAddr,
}

impl MsTurnTcpClient {
    /// Connects from `local_ip` to `remote` before `deadline`.
    pub async fn connect(
        local_ip: IpAddr,
        remote: SocketAddr,
        deadline: Instant,
    ) -> Result<Self, AvClientError> {
        let (stream, record, local) = connect_recorded(local_ip, remote, deadline).await?;
        Ok(Self {
            stream,
            record,
            pending: Vec::new(),
            local,
            remote,
        })
    }

    /// The live record of this connection's bytes.
    pub fn record(&self) -> &ConnectionRecord {
        &self.record
    }

    pub async fn send(&mut self, bytes: &[u8]) -> Result<(), AvClientError> {
        self.stream
            .write_all(bytes)
            .await
            .map_err(|e| AvClientError::Io(e.to_string()))
    }

    /// Reads once more onto the pending bytes: `Some(true)` got bytes,
    /// `Some(false)` the connection ended, `None` the deadline passed.
    async fn fill(&mut self, deadline: Instant) -> Option<bool> {
        let mut buffer = [0u8; 4096];
        let read = tokio::time::timeout_at(deadline, self.stream.read(&mut buffer))
            .await
            .ok()?;
        match read {
            Ok(len) if len > 0 => {
                self.pending.extend_from_slice(&buffer[..len]);
                Some(true)
            }
            // EOF, or a reset: either way the Edge ended the connection.
            _ => Some(false),
        }
    }

    /// Exactly `len` bytes before `deadline`.
    pub async fn read_exact(&mut self, len: usize, deadline: Instant) -> MsTcpRead<Vec<u8>> {
        while self.pending.len() < len {
            match self.fill(deadline).await {
                Some(true) => {}
                Some(false) => return MsTcpRead::Closed(std::mem::take(&mut self.pending)),
                None => return MsTcpRead::Silent(std::mem::take(&mut self.pending)),
            }
        }
        MsTcpRead::Got(self.pending.drain(..len).collect())
    }

    /// The next framed unit before `deadline`; `Err` carries the bytes when
    /// they do not start with a §2.1.4 framing header.
    pub async fn next_frame(
        &mut self,
        deadline: Instant,
    ) -> Result<MsTcpRead<MsTcpFrame>, (MsTcpFramingError, Vec<u8>)> {
        loop {
            match decode_tcp_frame(&self.pending) {
                Ok(Some((frame, used))) => {
                    self.pending.drain(..used);
                    return Ok(MsTcpRead::Got(frame));
                }
                Ok(None) => {}
                Err(e) => return Err((e, std::mem::take(&mut self.pending))),
            }
            match self.fill(deadline).await {
                Some(true) => {}
                Some(false) => return Ok(MsTcpRead::Closed(std::mem::take(&mut self.pending))),
                None => return Ok(MsTcpRead::Silent(std::mem::take(&mut self.pending))),
            }
        }
    }

    /// Waits for the Edge to close the connection before `deadline`:
    /// `Got(())` when it did without sending anything more, `Closed(bytes)`
    /// when it sent bytes first, `Silent(bytes)` when it kept it open.
    pub async fn wait_closed(&mut self, deadline: Instant) -> MsTcpRead<()> {
        loop {
            match self.fill(deadline).await {
                Some(true) => {}
                Some(false) if self.pending.is_empty() => return MsTcpRead::Got(()),
                Some(false) => return MsTcpRead::Closed(std::mem::take(&mut self.pending)),
                None => return MsTcpRead::Silent(std::mem::take(&mut self.pending)),
            }
        }
    }
}
