//! A hickory runtime that records the DNS the harness's own resolvers send
//! and receive: UDP datagrams (exact bytes, real addresses) and DNS-over-TCP
//! streams go into a [`DnsQueryLog`], as the in-process server logs its
//! side. Used when the DNS server is not ours (`dns.server` in a staging
//! configuration), so the queries and answers still reach `dns.pcapng` and
//! the trace of the case that asked. Without a log it records nothing.

use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use hickory_server::net::runtime::iocompat::AsyncIoTokioAsStd;
use hickory_server::net::runtime::{
    DnsUdpSocket, RuntimeProvider, TokioHandle, TokioRuntimeProvider, TokioTime,
};
use picharness_reports::Datagram;

use super::DnsQueryLog;
use crate::tls::{RecordingStream, TcpRole};

/// The resolver type every picharness resolver has.
pub type DnsResolver = hickory_resolver::Resolver<RecordingRuntime>;

/// Tokio, with every socket recorded into `log` when there is one.
#[derive(Clone, Default)]
pub struct RecordingRuntime {
    inner: TokioRuntimeProvider,
    log: Option<DnsQueryLog>,
}

impl RecordingRuntime {
    pub fn new(log: Option<DnsQueryLog>) -> Self {
        Self {
            inner: TokioRuntimeProvider::default(),
            log,
        }
    }
}

/// A UDP socket whose datagrams are logged.
pub struct RecordingUdp {
    socket: tokio::net::UdpSocket,
    /// The address the datagrams leave from (the unspecified bind address
    /// replaced by the one the route to the server uses).
    local: SocketAddr,
    log: Option<DnsQueryLog>,
}

impl DnsUdpSocket for RecordingUdp {
    type Time = TokioTime;

    fn poll_recv_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<(usize, SocketAddr)>> {
        let result = DnsUdpSocket::poll_recv_from(&self.socket, cx, buf);
        if let (Some(log), Poll::Ready(Ok((n, from)))) = (&self.log, &result) {
            log.push(Datagram {
                at: SystemTime::now(),
                source: *from,
                destination: self.local,
                bytes: buf[..*n].to_vec(),
            });
        }
        result
    }

    fn poll_send_to(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
        target: SocketAddr,
    ) -> Poll<io::Result<usize>> {
        let at = SystemTime::now();
        let result = DnsUdpSocket::poll_send_to(&self.socket, cx, buf, target);
        if let (Some(log), Poll::Ready(Ok(n))) = (&self.log, &result) {
            log.push(Datagram {
                at,
                source: self.local,
                destination: target,
                bytes: buf[..*n].to_vec(),
            });
        }
        result
    }
}

/// The source address the route to `server` uses (no packet is sent).
fn route_source(server: SocketAddr) -> Option<IpAddr> {
    let unspecified: IpAddr = if server.is_ipv4() {
        Ipv4Addr::UNSPECIFIED.into()
    } else {
        Ipv6Addr::UNSPECIFIED.into()
    };
    let probe = std::net::UdpSocket::bind(SocketAddr::new(unspecified, 0)).ok()?;
    probe.connect(server).ok()?;
    probe.local_addr().ok().map(|a| a.ip())
}

impl RuntimeProvider for RecordingRuntime {
    type Handle = TokioHandle;
    type Timer = TokioTime;
    type Udp = RecordingUdp;
    type Tcp = AsyncIoTokioAsStd<RecordingStream<tokio::net::TcpStream>>;

    fn create_handle(&self) -> Self::Handle {
        self.inner.create_handle()
    }

    fn connect_tcp(
        &self,
        server_addr: SocketAddr,
        bind_addr: Option<SocketAddr>,
        timeout: Option<Duration>,
    ) -> Pin<Box<dyn Send + Future<Output = Result<Self::Tcp, io::Error>>>> {
        let connecting = self.inner.connect_tcp(server_addr, bind_addr, timeout);
        let log = self.log.clone();
        Box::pin(async move {
            let tcp = connecting.await?.0;
            let (stream, record) = RecordingStream::from_tcp(tcp, TcpRole::Client)?;
            if let Some(log) = log {
                log.push_tcp(record);
            }
            Ok(AsyncIoTokioAsStd(stream))
        })
    }

    fn bind_udp(
        &self,
        local_addr: SocketAddr,
        server_addr: SocketAddr,
    ) -> Pin<Box<dyn Send + Future<Output = Result<Self::Udp, io::Error>>>> {
        let log = self.log.clone();
        Box::pin(async move {
            let socket = tokio::net::UdpSocket::bind(local_addr).await?;
            let mut local = socket.local_addr()?;
            if local.ip().is_unspecified()
                && let Some(ip) = route_source(server_addr)
            {
                local.set_ip(ip);
            }
            Ok(RecordingUdp { socket, local, log })
        })
    }
}
