//! `serve`: the hub's gRPC server, with every service on one listener.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sajja_proto::MAX_MESSAGE_BYTES;
use sajja_proto::v1::sync_server::SyncServer;
use tokio::net::TcpListener;
use tonic::codec::CompressionEncoding;
use tonic::transport::Server;

use crate::config::HubConfig;
use crate::ingest::accept::Ingest;
use crate::ingest::operations::OperationError;
use crate::net::gate::Gate;
use crate::net::listener;
use crate::net::listener::ListenerError;
use crate::net::metrics::Metrics;
use crate::rpc::sync::SyncService;
use crate::store::Store;
use crate::store::StoreError;

/// Why the gRPC server did not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Operation(#[from] OperationError),
    #[error("TLS: {0}")]
    Tls(#[from] ListenerError),
    #[error("server reflection: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    #[error("gRPC transport: {0}")]
    Transport(#[from] tonic::transport::Error),
}

/// Serves the hub on `listener` until `shutdown` completes, counting into a
/// registry of its own that nobody reads (see `serve_metered`).
pub async fn serve(
    config: &HubConfig,
    ingest: Arc<Mutex<Ingest>>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServeError> {
    serve_metered(config, ingest, Arc::default(), listener, shutdown).await
}

/// Serves the hub on `listener` until `shutdown` completes, counting batches
/// into `metrics`: mutual TLS only, every call authorized by certificate.
pub async fn serve_metered(
    config: &HubConfig,
    ingest: Arc<Mutex<Ingest>>,
    metrics: Arc<Metrics>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServeError> {
    let limits = &config.limits;
    let gate = Arc::new(Gate::new(Store::open(&config.database_path())?));
    let sync = SyncServer::new(SyncService::new(
        ingest.clone(),
        metrics,
        gate.clone(),
        limits,
    ))
    .max_decoding_message_size(limits.max_message_bytes)
    .max_encoding_message_size(MAX_MESSAGE_BYTES)
    .accept_compressed(CompressionEncoding::Zstd)
    .accept_compressed(CompressionEncoding::Gzip)
    // Answers in the first of these the client accepts: zstd for Sajja's
    // own clients, gzip for the rest of the gRPC world (grpcio, grpcurl).
    .send_compressed(CompressionEncoding::Zstd)
    .send_compressed(CompressionEncoding::Gzip);
    let admin = crate::rpc::admin::admin_server(config, ingest, gate.clone())?;
    let query = crate::rpc::query::query_service(config, gate.clone())?;
    let tls = listener::server_tls(config)?;
    let incoming = listener::incoming(
        listener,
        tls,
        limits.max_connections,
        Duration::from_millis(limits.handshake_timeout_ms),
    );
    // grpc.health.v1 and reflection answer without a client certificate's
    // role: a load balancer asks health, grpcurl lists the services. Neither
    // tells anything the published .proto files do not.
    let (health_reporter, health) = tonic_health::server::health_reporter();
    for name in ["", "sajja.v1.Sync", "sajja.v1.Admin", "sajja.v1.Query"] {
        health_reporter
            .set_service_status(name, tonic_health::ServingStatus::Serving)
            .await;
    }
    let reflection = |builder: tonic_reflection::server::Builder<'static>| {
        builder.register_encoded_file_descriptor_set(sajja_proto::FILE_DESCRIPTOR_SET)
    };
    let reflection_v1 = reflection(tonic_reflection::server::Builder::configure()).build_v1()?;
    let reflection_v1alpha =
        reflection(tonic_reflection::server::Builder::configure()).build_v1alpha()?;
    Server::builder()
        .concurrency_limit_per_connection(32)
        .add_service(sync)
        .add_service(admin)
        .add_service(query)
        .add_service(health)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await?;
    Ok(())
}
