//! The pushing side of the Sync protocol, shared by nodes and relaying hubs:
//! a TLS channel to a hub and one push stream at a time.

use std::time::Duration;

use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::codec::{CompressionEncoding, Streaming};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

use crate::MAX_MESSAGE_BYTES;
use crate::v1::push_request::Message as PushOut;
use crate::v1::push_response::Message as PushIn;
use crate::v1::sync_client::SyncClient;
use crate::v1::{self};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// How long a pusher waits for any single answer from the hub.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(120);

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot reach the hub at {url}: {reason}")]
    Connect { url: String, reason: String },
    #[error("hub: {0}")]
    Rpc(#[from] tonic::Status),
    #[error("hub closed the session")]
    Closed,
    #[error("hub did not answer within {0:?}")]
    Timeout(Duration),
}

/// Who a client is to a hub: the hub's CA (to recognise the hub) and the
/// client certificate and key the hub issued at enrolment (so the hub
/// recognises the client). Every hub listener requires both.
#[derive(Clone)]
pub struct ClientTls {
    pub ca_pem: Vec<u8>,
    pub cert_pem: Vec<u8>,
    pub key_pem: Vec<u8>,
}

impl std::fmt::Debug for ClientTls {
    // The private key never reaches a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientTls { .. }")
    }
}

/// A mutual-TLS channel to the hub at `url` (`https://host:port`).
pub async fn channel(url: &str, tls: &ClientTls) -> Result<Channel, ClientError> {
    let error = |e: tonic::transport::Error| ClientError::Connect {
        url: url.to_string(),
        reason: match std::error::Error::source(&e) {
            Some(source) => format!("{e}: {source}"),
            None => e.to_string(),
        },
    };
    if !url.starts_with("https://") {
        return Err(ClientError::Connect {
            url: url.to_string(),
            reason: "a hub address starts with https:// (every hub requires TLS)".into(),
        });
    }
    let mut config = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(&tls.ca_pem));
    // Without a certificate the hub answers every call UNAUTHENTICATED, with
    // the reason: clearer than a handshake failure.
    if !tls.cert_pem.is_empty() {
        config = config.identity(Identity::from_pem(&tls.cert_pem, &tls.key_pem));
    }
    Endpoint::from_shared(url.to_string())
        .map_err(error)?
        .connect_timeout(CONNECT_TIMEOUT)
        .tcp_keepalive(Some(Duration::from_secs(30)))
        .tls_config(config)
        .map_err(error)?
        .connect()
        .await
        .map_err(error)
}

/// Connects to a hub's `Sync` service, with zstd and the message limits.
pub async fn connect(url: &str, tls: &ClientTls) -> Result<SyncClient<Channel>, ClientError> {
    let channel = channel(url, tls).await?;
    Ok(SyncClient::new(channel)
        .send_compressed(CompressionEncoding::Zstd)
        .accept_compressed(CompressionEncoding::Zstd)
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES))
}

/// One open push stream: send a message, wait for its answer.
pub struct PushSession {
    outbound: mpsc::Sender<v1::PushRequest>,
    inbound: Streaming<v1::PushResponse>,
}

impl PushSession {
    pub async fn open(client: &mut SyncClient<Channel>) -> Result<PushSession, ClientError> {
        let (outbound, rx) = mpsc::channel(2);
        let inbound = client.push(ReceiverStream::new(rx)).await?.into_inner();
        Ok(PushSession { outbound, inbound })
    }

    pub async fn ask(&mut self, message: PushOut) -> Result<PushIn, ClientError> {
        self.outbound
            .send(v1::PushRequest {
                message: Some(message),
            })
            .await
            .map_err(|_| ClientError::Closed)?;
        let answer = tokio::time::timeout(ANSWER_TIMEOUT, self.inbound.message())
            .await
            .map_err(|_| ClientError::Timeout(ANSWER_TIMEOUT))??;
        answer.and_then(|a| a.message).ok_or(ClientError::Closed)
    }
}
