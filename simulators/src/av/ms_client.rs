//! The harness's MS-TURN requests over UDP: send, retransmit (500 ms,
//! doubling) and wait for a datagram from the server carrying the same
//! 16-byte transaction id, until a deadline.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::time::Instant;

use super::client::{AvClientError, RecordingUdp};

const INITIAL_RTO: Duration = Duration::from_millis(500);

/// Sends `request` (an encoded MS-TURN message, or something shaped like
/// one) to `server` and returns the raw bytes of the first datagram from
/// `server` with the same transaction id (bytes 4..20), or `None` when
/// nothing came before `until`.
pub async fn ms_turn_transact(
    socket: &RecordingUdp,
    server: SocketAddr,
    request: &[u8],
    until: Instant,
) -> Result<Option<Vec<u8>>, AvClientError> {
    let Some(transaction_id) = request.get(4..20) else {
        return Err(AvClientError::Malformed(
            "an MS-TURN request is at least 20 bytes".to_owned(),
        ));
    };
    let mut rto = INITIAL_RTO;
    while Instant::now() < until {
        socket.send_to(request, server).await?;
        let resend_at = (Instant::now() + rto).min(until);
        rto *= 2;
        while let Some((bytes, from, _)) = socket.recv_until(resend_at).await {
            if from == server && bytes.get(4..20) == Some(transaction_id) {
                return Ok(Some(bytes));
            }
        }
    }
    Ok(None)
}
