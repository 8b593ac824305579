//! The `Admin` gRPC service: the operator's actions (`crate::ingest::operations`)
//! for an operator certificate, and PERMISSION_DENIED for everyone else.

use std::sync::{Arc, Mutex};

use sajja_proto::v1::admin_server::{Admin, AdminServer};
use sajja_proto::v1::{
    EnrolRequest, EnrolResponse, ResolveForkRequest, ResolveForkResponse, RevokeRequest,
    RevokeResponse,
};
use tonic::{Request, Response, Status};

use crate::config::HubConfig;
use crate::ingest::accept::Ingest;
use crate::ingest::operations;
use crate::ingest::operations::{OperationError, RevokeTarget};
use crate::net::blocking::{blocking, locked};
use crate::net::gate::Gate;

pub struct AdminService {
    config: Arc<HubConfig>,
    ingest: Arc<Mutex<Ingest>>,
    gate: Arc<Gate>,
}

pub fn admin_server(
    config: &HubConfig,
    ingest: Arc<Mutex<Ingest>>,
    gate: Arc<Gate>,
) -> Result<AdminServer<AdminService>, OperationError> {
    Ok(AdminServer::new(AdminService {
        config: Arc::new(config.clone()),
        ingest,
        gate,
    })
    .max_decoding_message_size(64 * 1024))
}

fn status(error: OperationError) -> Status {
    match error {
        OperationError::Store(_) | OperationError::Admin(_) | OperationError::File { .. } => {
            Status::internal(error.to_string())
        }
        OperationError::NoFork(_) | OperationError::NotEnrolled(_) => {
            Status::not_found(error.to_string())
        }
        OperationError::NothingToRevoke(_) => Status::not_found(error.to_string()),
        _ => Status::invalid_argument(error.to_string()),
    }
}

impl AdminService {
    /// Runs an operation on the hub's state off the async runtime.
    async fn with_ingest<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Ingest, &HubConfig) -> Result<T, OperationError> + Send + 'static,
    ) -> Result<T, Status> {
        let ingest = self.ingest.clone();
        let config = self.config.clone();
        blocking("admin", move || {
            work(&mut *locked(&ingest, "hub")?, &config).map_err(status)
        })
        .await
    }
}

fn optional(text: &str) -> Option<&str> {
    (!text.is_empty()).then_some(text)
}

#[tonic::async_trait]
impl Admin for AdminService {
    async fn enrol(
        &self,
        request: Request<EnrolRequest>,
    ) -> Result<Response<EnrolResponse>, Status> {
        let caller = self.gate.caller(&request).await?;
        caller.must_be_operator("enrol")?;
        let request = request.into_inner();
        let principal =
            operations::principal(&request.role, &request.subject, optional(&request.scope))
                .map_err(status)?;
        let public_key = match optional(&request.public_key) {
            Some(text) => Some(
                operations::parse_group_key(text)
                    .map_err(|e| Status::invalid_argument(format!("public_key: {e}")))?,
            ),
            None => None,
        };
        tracing::info!(caller = %caller.principal, enrol = %principal, "enrolment by an operator");
        let bundle = self
            .with_ingest(move |ingest, config| {
                let hub_url = operations::hub_url(config);
                operations::enrol(
                    ingest,
                    config,
                    operations::EnrolRequest {
                        principal,
                        public_key,
                        hub_url,
                    },
                )
            })
            .await?;
        Ok(Response::new(EnrolResponse {
            bundle: bundle.to_text(),
        }))
    }

    async fn revoke(
        &self,
        request: Request<RevokeRequest>,
    ) -> Result<Response<RevokeResponse>, Status> {
        let caller = self.gate.caller(&request).await?;
        caller.must_be_operator("revoke")?;
        let request = request.into_inner();
        let target = match optional(&request.serial) {
            Some(serial) => RevokeTarget::Serial(serial.to_string()),
            None => RevokeTarget::Principal(
                operations::principal(&request.role, &request.subject, optional(&request.scope))
                    .map_err(status)?,
            ),
        };
        tracing::info!(caller = %caller.principal, "revocation by an operator");
        let serials = self
            .with_ingest(move |ingest, _| operations::revoke(ingest.store(), &target))
            .await?;
        Ok(Response::new(RevokeResponse { serials }))
    }

    async fn resolve_fork(
        &self,
        request: Request<ResolveForkRequest>,
    ) -> Result<Response<ResolveForkResponse>, Status> {
        let caller = self.gate.caller(&request).await?;
        caller.must_be_operator("resolve forks")?;
        let request = request.into_inner();
        let group = sajja_proto::convert::group_id(&request.group_id)
            .map_err(|e| Status::invalid_argument(e.to_string()))?;
        let keep_offered = match request.keep.as_str() {
            "offered" => true,
            "accepted" => false,
            other => {
                return Err(Status::invalid_argument(format!(
                    "keep: {other:?} is neither \"accepted\" nor \"offered\""
                )));
            }
        };
        tracing::info!(caller = %caller.principal, group = %group, "fork resolution by an operator");
        let resolved = self
            .with_ingest(move |ingest, _| {
                operations::resolve_fork(ingest.store_mut(), &group, keep_offered)
            })
            .await?;
        Ok(Response::new(ResolveForkResponse {
            fork_epoch: resolved.fork_epoch,
            hub_seq: resolved.hub_seq,
        }))
    }
}
