//! The answering side: the pool's and the provider peers' listeners,
//! where the Edge delivers what it relays. One task per accepted MTLS
//! connection reads the requests, offers each to the scenarios (see
//! [`super::scenario::Scenario::answer`]) and otherwise answers `200 OK`,
//! writing every answer of one read in one go.

use std::sync::Arc;
use std::time::Duration;

use picharness_wire::sip::{Frame, SipMessage, StreamDecoder};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use super::capture::Capture;
use super::control::Control;
use super::scenario::Scenario;
use picharness_simulators::tls::TcpRole;

const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
const MAX_MESSAGE: usize = 64 * 1024;
/// The To tag of every answer.
const TO_TAG: &str = "pichld";

/// Accepts connections on `listener` until the task is dropped.
pub async fn serve_answers(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    role: String,
    scenarios: Arc<Vec<Arc<dyn Scenario>>>,
    control: Arc<Control>,
    capture: Arc<Capture>,
) {
    loop {
        let (tcp, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                control.note(format!("{role}: accept failed: {e}"));
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let tcp = capture.wrap(tcp, TcpRole::Server);
        let acceptor = acceptor.clone();
        let scenarios = scenarios.clone();
        let control = control.clone();
        let role = role.clone();
        tokio::spawn(async move {
            let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(e)) => {
                    control.note(format!("{role}: TLS handshake from {peer} failed: {e}"));
                    return;
                }
                Err(_) => {
                    control.note(format!("{role}: TLS handshake from {peer} timed out"));
                    return;
                }
            };
            let _open = control.opened();
            if let Some(why) = answer_connection(tls, &scenarios, &role).await
                && !control.is_stopping()
            {
                control.note(format!("{role}: connection from {peer}: {why}"));
            }
        });
    }
}

/// Answers the requests of one connection; returns why it ended (`None`
/// when the Edge closed it).
async fn answer_connection<S>(
    mut stream: S,
    scenarios: &[Arc<dyn Scenario>],
    role: &str,
) -> Option<String>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let mut decoder = StreamDecoder::new(MAX_MESSAGE);
    let mut buffer = vec![0u8; 32 * 1024];
    let mut out: Vec<u8> = Vec::with_capacity(32 * 1024);
    loop {
        let n = match stream.read(&mut buffer).await {
            Ok(0) => return None,
            Ok(n) => n,
            Err(e) => return Some(format!("read failed: {e}")),
        };
        decoder.push(&buffer[..n]);
        loop {
            match decoder.next_frame() {
                Ok(None) => break,
                Ok(Some(Frame::Message(bytes))) => {
                    let Ok(message) = SipMessage::parse(&bytes) else {
                        return Some("the Edge sent an unparseable message".to_owned());
                    };
                    if message.is_request() && message.method() != Some("ACK") {
                        answer(&message, role, scenarios, &mut out);
                    }
                }
                Ok(Some(Frame::Ping)) => out.extend_from_slice(b"\r\n"),
                Ok(Some(Frame::Pong)) => {}
                Err(e) => return Some(format!("the Edge's stream cannot be framed: {e}")),
            }
        }
        if !out.is_empty() {
            if let Err(e) = stream.write_all(&out).await {
                return Some(format!("write failed: {e}"));
            }
            out.clear();
        }
    }
}

fn answer(request: &SipMessage, role: &str, scenarios: &[Arc<dyn Scenario>], out: &mut Vec<u8>) {
    if scenarios.iter().any(|s| s.answer(role, request, out)) {
        return;
    }
    write_response(request, 200, "OK", &[], out);
}

/// Appends a response to `request` (RFC 3261 §8.2.6.2: Via, From, To,
/// Call-ID and CSeq copied, a To tag added when absent) with `extra`
/// header lines (`Name: value`, without CRLF) and no body.
pub fn write_response(
    request: &SipMessage,
    code: u16,
    reason: &str,
    extra: &[&str],
    out: &mut Vec<u8>,
) {
    out.extend_from_slice(format!("SIP/2.0 {code} {reason}\r\n").as_bytes());
    for header in request.headers.iter() {
        let name = header.name.as_str();
        let is = |long: &str, short: &str| {
            name.eq_ignore_ascii_case(long) || name.eq_ignore_ascii_case(short)
        };
        if is("Via", "v") || is("From", "f") || is("Call-ID", "i") || is("CSeq", "CSeq") {
            push_header(out, name, &header.value, None);
        } else if is("To", "t") {
            let tagged = header.value.to_ascii_lowercase().contains(";tag=");
            push_header(out, name, &header.value, (!tagged).then_some(TO_TAG));
        }
    }
    for line in extra {
        out.extend_from_slice(line.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"Content-Length: 0\r\n\r\n");
}

fn push_header(out: &mut Vec<u8>, name: &str, value: &str, tag: Option<&str>) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value.as_bytes());
    if let Some(tag) = tag {
        out.extend_from_slice(b";tag=");
        out.extend_from_slice(tag.as_bytes());
    }
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_copy_the_transaction_headers_and_tag_the_to() {
        let request = SipMessage::parse(
            b"MESSAGE sip:a@contoso.test SIP/2.0\r\nv: SIP/2.0/TLS e:5061;branch=z9hG4bK1\r\n\
              Via: SIP/2.0/TLS p:5061;branch=z9hG4bK2\r\nFrom: <sip:b@msn.com>;tag=1\r\n\
              To: <sip:a@contoso.test>\r\nCall-ID: 1.2.x\r\nCSeq: 1 MESSAGE\r\n\
              Content-Length: 0\r\n\r\n",
        )
        .expect("valid");
        let mut out = Vec::new();
        write_response(&request, 200, "OK", &["Expires: 60"], &mut out);
        let response = SipMessage::parse(&out).expect("a valid response");
        assert_eq!(response.status(), Some(200));
        assert_eq!(response.vias().len(), 2);
        assert_eq!(response.call_id(), Some("1.2.x"));
        assert_eq!(
            response.headers.first("To"),
            Some("<sip:a@contoso.test>;tag=pichld")
        );
        assert_eq!(response.headers.first("Expires"), Some("60"));
    }
}
