//! An RTP stream through a TURN relay, both ways at once: the client sends
//! ChannelData, the peer sends plain UDP to the relayed address. Each side
//! measures what it receives: loss, interarrival jitter (RFC 3550
//! estimator), one-way latency (both ends share this host's clock) and
//! packets that came from anywhere but the relay. At the end each side
//! sends an RTCP receiver report on the same port (RFC 5761 multiplexing),
//! and each notes whether the other's report came through.

use std::fmt;
use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use picharness_wire::rtcp::{ReceiverReport, is_rtcp};
use picharness_wire::rtp::{ReceiverStats, RtpHeader, RtpPacket};
use tokio::time::Instant;

use super::client::{AvClientError, RecordingUdp, TurnClient};

/// 20 ms of G.711 at 8 kHz per packet.
pub const PACKET_INTERVAL: Duration = Duration::from_millis(20);
const SAMPLES_PER_PACKET: u32 = 160;
const CLOCK_RATE_PER_MS: f64 = 8.0;
const PAYLOAD_LEN: usize = 160;
/// How long a side keeps listening, once it has sent its own receiver
/// report, for the other side's report. Listening stops as soon as that
/// report arrives (it is the last thing the other side sends, so the
/// stream's packets are in by then); the wait is measured from when this
/// side got there, not from the stream's schedule, so a side that fell
/// behind under load still gets the whole wait.
const REPORT_WAIT: Duration = Duration::from_secs(2);

/// What one receiving side measured.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DirectionStats {
    pub sent: u64,
    pub received: u64,
    pub jitter_ms: f64,
    pub mean_latency_ms: f64,
    pub max_latency_ms: f64,
    /// Packets that arrived from an address other than the relay.
    pub wrong_source: u64,
    /// Whether the sender's RTCP receiver report came through the relay.
    pub rtcp_received: bool,
}

impl DirectionStats {
    pub fn loss_percent(&self) -> f64 {
        if self.sent == 0 {
            return 0.0;
        }
        (self.sent.saturating_sub(self.received)) as f64 * 100.0 / self.sent as f64
    }
}

impl fmt::Display for DirectionStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{} received, loss {:.1}%, jitter {:.2} ms, latency mean {:.2} ms max {:.2} ms",
            self.received,
            self.sent,
            self.loss_percent(),
            self.jitter_ms,
            self.mean_latency_ms,
            self.max_latency_ms
        )?;
        if self.wrong_source > 0 {
            write!(f, ", {} from a wrong source", self.wrong_source)?;
        }
        if self.rtcp_received {
            write!(f, ", RTCP RR received")?;
        } else {
            write!(f, ", no RTCP RR")?;
        }
        Ok(())
    }
}

/// Both directions of one stream.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamReport {
    pub packets: u32,
    pub to_peer: DirectionStats,
    pub to_client: DirectionStats,
}

impl fmt::Display for StreamReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "RTP {} x 20 ms each way: client->peer {}; peer->client {}",
            self.packets, self.to_peer, self.to_client
        )
    }
}

fn since_epoch(at: SystemTime) -> Duration {
    at.duration_since(UNIX_EPOCH).unwrap_or_default()
}

fn rtp_packet(ssrc: u32, index: u32) -> Vec<u8> {
    let mut payload = vec![0u8; PAYLOAD_LEN];
    let sent = u64::try_from(since_epoch(SystemTime::now()).as_nanos()).unwrap_or(0);
    payload[..8].copy_from_slice(&sent.to_be_bytes());
    RtpPacket {
        header: RtpHeader {
            marker: index == 0,
            payload_type: 0,
            sequence: u16::try_from(index & 0xffff).unwrap_or(0),
            timestamp: index.wrapping_mul(SAMPLES_PER_PACKET),
            ssrc,
        },
        payload,
    }
    .encode()
}

/// Accumulates what one side receives.
struct Receiver {
    start: SystemTime,
    stats: ReceiverStats,
    latencies_ms: Vec<f64>,
    wrong_source: u64,
    rtcp: Option<ReceiverReport>,
}

impl Receiver {
    fn new(start: SystemTime) -> Self {
        Self {
            start,
            stats: ReceiverStats::default(),
            latencies_ms: Vec::new(),
            wrong_source: 0,
            rtcp: None,
        }
    }

    /// The receiver report this side sends about `source`.
    fn report(&self, reporter: u32, source: u32, sent_by_source: u32) -> Vec<u8> {
        let received = u32::try_from(self.stats.received()).unwrap_or(u32::MAX);
        let lost = sent_by_source.saturating_sub(received);
        let fraction = lost
            .saturating_mul(256)
            .checked_div(sent_by_source)
            .map_or(0, |f| u8::try_from(f).unwrap_or(u8::MAX));
        ReceiverReport {
            reporter_ssrc: reporter,
            source_ssrc: source,
            fraction_lost: fraction,
            cumulative_lost: i32::try_from(lost).unwrap_or(i32::MAX),
            extended_highest_sequence: self.stats.extended_highest(),
            jitter: self.stats.jitter() as u32,
            last_sr: 0,
            delay_since_last_sr: 0,
        }
        .encode()
    }

    fn accept(&mut self, bytes: &[u8], at: SystemTime) {
        if is_rtcp(bytes) {
            if let Some(report) = ReceiverReport::parse(bytes) {
                self.rtcp = Some(report);
            }
            return;
        }
        let Ok(packet) = RtpPacket::parse(bytes) else {
            return;
        };
        let elapsed_ms = at
            .duration_since(self.start)
            .unwrap_or_default()
            .as_secs_f64()
            * 1000.0;
        let arrival = (elapsed_ms * CLOCK_RATE_PER_MS) as u32;
        self.stats
            .record(packet.header.sequence, packet.header.timestamp, arrival);
        if let Some(sent) = packet.payload.get(..8) {
            let mut nanos = [0u8; 8];
            nanos.copy_from_slice(sent);
            let sent = Duration::from_nanos(u64::from_be_bytes(nanos));
            let latency = since_epoch(at).saturating_sub(sent);
            self.latencies_ms.push(latency.as_secs_f64() * 1000.0);
        }
    }

    fn finish(self, sent: u64) -> DirectionStats {
        let count = self.latencies_ms.len().max(1) as f64;
        DirectionStats {
            sent,
            received: self.stats.received(),
            jitter_ms: self.stats.jitter() / CLOCK_RATE_PER_MS,
            mean_latency_ms: self.latencies_ms.iter().sum::<f64>() / count,
            max_latency_ms: self.latencies_ms.iter().copied().fold(0.0, f64::max),
            wrong_source: self.wrong_source,
            rtcp_received: self.rtcp.is_some(),
        }
    }
}

const PEER_SSRC: u32 = 0x7065_6572;
const CLIENT_SSRC: u32 = 0x636c_6e74;

/// Streams `packets` RTP packets each way every 20 ms between `client`
/// (ChannelData on `channel`) and `peer` (plain UDP to `relayed`), and
/// returns what each side measured. Bounded by `deadline`.
pub async fn stream_through_relay(
    client: &mut TurnClient,
    channel: u16,
    peer: RecordingUdp,
    relayed: SocketAddr,
    packets: u32,
    deadline: Instant,
) -> Result<StreamReport, AvClientError> {
    let start_wall = SystemTime::now();
    let start = Instant::now();
    let peer_task = tokio::spawn(async move {
        let mut receiver = Receiver::new(start_wall);
        let mut sent = 0u64;
        for index in 0..=packets {
            let next = (start + PACKET_INTERVAL * index).min(deadline);
            let last = index == packets;
            if last {
                let report = receiver.report(PEER_SSRC, CLIENT_SSRC, packets);
                let _ = peer.send_to(&report, relayed).await;
            }
            let until = if last {
                (Instant::now() + REPORT_WAIT).min(deadline)
            } else {
                next
            };
            while !(last && receiver.rtcp.is_some()) {
                let Some((bytes, from, at)) = peer.recv_until(until).await else {
                    break;
                };
                if from == relayed {
                    receiver.accept(&bytes, at);
                } else {
                    receiver.wrong_source += 1;
                }
            }
            if index < packets
                && Instant::now() < deadline
                && peer
                    .send_to(&rtp_packet(PEER_SSRC, index), relayed)
                    .await
                    .is_ok()
            {
                sent += 1;
            }
        }
        receiver.finish(sent)
    });
    let mut receiver = Receiver::new(start_wall);
    let mut sent = 0u64;
    let mut failure = None;
    for index in 0..=packets {
        let last = index == packets;
        if last && failure.is_none() {
            let report = receiver.report(CLIENT_SSRC, PEER_SSRC, packets);
            client.send_channel_data(channel, &report).await?;
        }
        let until = if last {
            (Instant::now() + REPORT_WAIT).min(deadline)
        } else {
            (start + PACKET_INTERVAL * index).min(deadline)
        };
        loop {
            if last && receiver.rtcp.is_some() {
                break;
            }
            match client.recv_relayed(until).await {
                Ok(Some(relayed_data)) => {
                    if relayed_data.channel == Some(channel) {
                        receiver.accept(&relayed_data.data, relayed_data.at);
                    } else {
                        receiver.wrong_source += 1;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        if index < packets && Instant::now() < deadline && failure.is_none() {
            client
                .send_channel_data(channel, &rtp_packet(CLIENT_SSRC, index))
                .await?;
            sent += 1;
        }
    }
    let to_peer = peer_task
        .await
        .map_err(|e| AvClientError::Io(format!("the media peer task ended early: {e}")))?;
    if let Some(e) = failure {
        return Err(e);
    }
    Ok(StreamReport {
        packets,
        to_peer,
        to_client: receiver.finish(sent),
    })
}
