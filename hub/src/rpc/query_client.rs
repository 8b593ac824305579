//! The asking side of the `Query` service: `sajja-hub query --bundle`, for
//! coordinators, auditors and operators away from the hub machine. An
//! answer is turned back into the domain values the local path renders
//! ([`crate::rpc::query_wire`]); a raw log is verified as it streams in, with the same
//! verifier a node uses, so an auditor trusts the group's signature and not
//! the hub.

use std::time::Duration;

use sajja_common::verify::{ChainVerifier, VerifyError};
use sajja_common::{Date, GroupId, Hash, PublicKey, SignedCheckpoint};
use sajja_edge::enrolment::Enrolment;
use sajja_proto::MAX_MESSAGE_BYTES;
use sajja_proto::client::{self, ANSWER_TIMEOUT, ClientError, ClientTls};
use sajja_proto::convert::{self, WireError};
use sajja_proto::v1::query_client::QueryClient;
use sajja_proto::v1::{self};
use serde_json::json;
use thiserror::Error;
use tonic::codec::{CompressionEncoding, Streaming};
use tonic::transport::Channel;
use tonic::{Response, Status};

use crate::read::query::{Answer, Ask, MAX_ALERTS, MAX_GROUPS, MAX_SIGN_OFFS, Scope};
use crate::render::Output;
use crate::rpc::query_wire as wire;

#[derive(Debug, Error)]
pub enum RemoteError {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error("the hub refused ({code:?}): {message}", code = .0.code(), message = .0.message())]
    Refused(#[from] Status),
    #[error("the hub's answer is malformed: {0}")]
    Wire(#[from] WireError),
    #[error("the hub sent more than {max} {what}")]
    TooMany { what: &'static str, max: usize },
    #[error("the hub did not answer within {0:?}")]
    Timeout(Duration),
}

impl RemoteError {
    /// The gRPC status a refusal carried, if it was one.
    pub fn status(&self) -> Option<&Status> {
        match self {
            RemoteError::Refused(status) | RemoteError::Client(ClientError::Rpc(status)) => {
                Some(status)
            }
            _ => None,
        }
    }
}

/// A connection to a hub's `Query` service under one enrolment.
pub struct Remote {
    client: QueryClient<Channel>,
}

impl Remote {
    /// Connects as the holder of `bundle`, to the hub that issued it.
    pub async fn connect(bundle: &Enrolment) -> Result<Remote, RemoteError> {
        let tls = ClientTls {
            ca_pem: bundle.ca.as_bytes().to_vec(),
            cert_pem: bundle.cert.as_bytes().to_vec(),
            key_pem: bundle.key.as_bytes().to_vec(),
        };
        Remote::connect_to(&bundle.hub_url, &tls).await
    }

    pub async fn connect_to(url: &str, tls: &ClientTls) -> Result<Remote, RemoteError> {
        let channel = client::channel(url, tls).await?;
        Ok(Remote {
            client: QueryClient::new(channel)
                .send_compressed(CompressionEncoding::Zstd)
                .accept_compressed(CompressionEncoding::Zstd)
                .max_decoding_message_size(MAX_MESSAGE_BYTES)
                .max_encoding_message_size(MAX_MESSAGE_BYTES),
        })
    }

    /// Asks the hub and returns its answer in the terms the renderer takes.
    pub async fn answer(&mut self, ask: &Ask) -> Result<Answer, RemoteError> {
        let text = |scope: &Option<Scope>| scope.as_ref().map_or(String::new(), Scope::to_string);
        let day = |as_of: &Option<Date>| as_of.map(Date::days);
        Ok(match ask {
            Ask::Position { scope, as_of } => {
                let request = v1::PositionRequest {
                    scope: text(scope),
                    as_of: day(as_of),
                };
                let reply = timed(self.client.position(request)).await?;
                Answer::Position(wire::position_answer(reply.into_inner())?)
            }
            Ask::Groups {
                scope,
                as_of,
                filter,
            } => {
                let request = v1::GroupsRequest {
                    scope: text(scope),
                    as_of: day(as_of),
                    stale: filter.stale,
                    forked: filter.forked,
                    arrears: filter.arrears,
                    below_reserve: filter.below_reserve,
                };
                let stream = timed(self.client.groups(request)).await?.into_inner();
                let chunks = collect(stream, |c| c.groups.len(), MAX_GROUPS, "groups").await?;
                Answer::Groups(wire::groups_answer(chunks)?)
            }
            Ask::Reserves { scope, as_of } => {
                let request = v1::ReservesRequest {
                    scope: text(scope),
                    as_of: day(as_of),
                };
                let reply = timed(self.client.reserves(request)).await?;
                Answer::Reserves(wire::reserves_answer(reply.into_inner())?)
            }
            Ask::Alerts { scope, as_of } => {
                let request = v1::AlertsRequest {
                    scope: text(scope),
                    as_of: day(as_of),
                };
                let stream = timed(self.client.alerts(request)).await?.into_inner();
                let chunks = collect(stream, |c| c.alerts.len(), MAX_ALERTS, "alerts").await?;
                Answer::Alerts(wire::alerts_answer(chunks)?)
            }
            Ask::SignOffs { scope } => {
                let request = v1::SignOffsRequest { scope: text(scope) };
                let stream = timed(self.client.sign_offs(request)).await?.into_inner();
                let chunks =
                    collect(stream, |c| c.sign_offs.len(), MAX_SIGN_OFFS, "sign-offs").await?;
                Answer::SignOffs(wire::sign_offs_answer(chunks)?)
            }
            Ask::Exchanges { scope, as_of } => {
                let request = v1::ExchangesRequest {
                    scope: text(scope),
                    as_of: day(as_of),
                };
                let reply = timed(self.client.exchanges(request)).await?;
                Answer::Exchanges(crate::rpc::exchange_wire::exchanges_answer(
                    reply.into_inner(),
                )?)
            }
        })
    }

    /// Fetches `group`'s log from `from_seq` and verifies it as it arrives:
    /// every hash, and the checkpoint's signature under the group's key
    /// (`expected_key` when the auditor has one from elsewhere; else the key
    /// the hub holds, which the result names for the auditor to check).
    pub async fn audit_log(
        &mut self,
        group: &GroupId,
        from_seq: u64,
        expected_key: Option<PublicKey>,
    ) -> Result<AuditedLog, AuditError> {
        let from_seq = from_seq.max(1);
        let request = v1::LogRequest {
            group_id: group.as_str().to_string(),
            from_seq,
        };
        let mut stream = timed(self.client.log(request)).await?.into_inner();
        let mut audit = LogAudit::new(group.clone(), from_seq, expected_key);
        while let Some(chunk) = next(&mut stream).await? {
            audit.chunk(chunk)?;
        }
        audit.finish()
    }
}

async fn timed<T>(
    call: impl Future<Output = Result<Response<T>, Status>>,
) -> Result<Response<T>, RemoteError> {
    Ok(tokio::time::timeout(ANSWER_TIMEOUT, call)
        .await
        .map_err(|_| RemoteError::Timeout(ANSWER_TIMEOUT))??)
}

async fn next<M>(stream: &mut Streaming<M>) -> Result<Option<M>, RemoteError> {
    Ok(tokio::time::timeout(ANSWER_TIMEOUT, stream.message())
        .await
        .map_err(|_| RemoteError::Timeout(ANSWER_TIMEOUT))??)
}

/// Every chunk of a streamed answer, refusing one that lists more than
/// `max` items (or sends more than `max` chunks), whatever the hub does.
async fn collect<M>(
    mut stream: Streaming<M>,
    count: impl Fn(&M) -> usize,
    max: usize,
    what: &'static str,
) -> Result<Vec<M>, RemoteError> {
    let mut chunks = Vec::new();
    let mut total = 0usize;
    while let Some(chunk) = next(&mut stream).await? {
        total = total.saturating_add(count(&chunk));
        if total > max || chunks.len() >= max {
            return Err(RemoteError::TooMany { what, max });
        }
        chunks.push(chunk);
    }
    Ok(chunks)
}

#[derive(Debug, Error)]
pub enum AuditError {
    #[error(transparent)]
    Remote(#[from] RemoteError),
    #[error("the log does NOT verify: {0}")]
    Verify(#[from] VerifyError),
    #[error("the hub's log reply is malformed: {0}")]
    Wire(#[from] WireError),
    #[error(
        "the hub holds {group} under key {held}, not the key you expected ({expected}): the group was re-keyed, or this is not its log"
    )]
    KeyMismatch {
        group: GroupId,
        held: PublicKey,
        expected: PublicKey,
    },
    #[error("the hub sent {group}'s events up to seq {seq} without a checkpoint that signs them")]
    Unsigned { group: GroupId, seq: u64 },
    #[error(
        "{group}'s log hands its key on to {verified}, but the hub says the group's key is {held}"
    )]
    KeyChain {
        group: GroupId,
        verified: PublicKey,
        held: PublicKey,
    },
    #[error("the hub ended the log stream without a reply")]
    Empty,
}

/// A log that verified: every event from `from_seq` to `to_seq` chains to
/// `head`, which the group's key signed (unless the log is empty).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditedLog {
    pub group: GroupId,
    pub from_seq: u64,
    /// The last verified seq; `from_seq - 1` when no event was sent.
    pub to_seq: u64,
    pub head: Hash,
    /// The key the checkpoint verified under: the group's current key as the
    /// hub holds it, reached from `from_key` by the log's own rotations.
    pub key: PublicKey,
    /// The key in effect before `from_seq` (the enrolled key for seq 1).
    pub from_key: PublicKey,
    pub fork_epoch: u32,
    /// The hub holds two signed histories of this log (a fork).
    pub forked: bool,
    /// False only for a log with no events yet: nothing was signed.
    pub signed: bool,
}

/// Verifies a `Query.Log` reply chunk by chunk, in constant memory.
pub struct LogAudit {
    group: GroupId,
    from_seq: u64,
    expected_key: Option<PublicKey>,
    started: Option<Started>,
    checkpoint: Option<SignedCheckpoint>,
}

struct Started {
    verifier: ChainVerifier,
    /// The group's current key as the hub holds it.
    key: PublicKey,
    from_key: PublicKey,
    fork_epoch: u32,
    forked: bool,
}

impl LogAudit {
    pub fn new(group: GroupId, from_seq: u64, expected_key: Option<PublicKey>) -> LogAudit {
        LogAudit {
            group,
            from_seq: from_seq.max(1),
            expected_key,
            started: None,
            checkpoint: None,
        }
    }

    pub fn chunk(&mut self, chunk: v1::LogResponse) -> Result<(), AuditError> {
        if self.started.is_none() {
            self.started = Some(self.start(&chunk)?);
        }
        if self.checkpoint.is_some() {
            // The checkpoint closes the reply; anything after it is unsigned.
            return Err(WireError::Invalid {
                field: "log",
                reason: "a chunk follows the one carrying the checkpoint".into(),
            }
            .into());
        }
        let Some(started) = self.started.as_mut() else {
            return Err(AuditError::Empty);
        };
        for bytes in &chunk.events {
            if self.group.is_hub_log() {
                started.verifier.push_admin(bytes)?;
            } else if self.group.is_exchange_log() {
                started.verifier.push_exchange(bytes)?;
            } else {
                started.verifier.push(bytes)?;
            }
        }
        if let Some(checkpoint) = &chunk.checkpoint {
            self.checkpoint = Some(SignedCheckpoint::try_from(checkpoint)?);
        }
        Ok(())
    }

    fn start(&self, first: &v1::LogResponse) -> Result<Started, AuditError> {
        let key_of = |bytes: &[u8], field| {
            PublicKey::from_slice(bytes).ok_or(WireError::Invalid {
                field,
                reason: "expected 32 bytes".into(),
            })
        };
        // A hub that says what it sends must say what the log's id means.
        let payload = first.payload;
        if payload != v1::LogPayload::Unspecified as i32
            && payload != wire::log_payload(&self.group) as i32
        {
            return Err(WireError::Invalid {
                field: "log.payload",
                reason: format!("{payload} does not match the events of log {}", self.group),
            }
            .into());
        }
        let key = key_of(&first.group_key, "log.group_key")?;
        let from_key = key_of(&first.from_key, "log.from_key")?;
        if let Some(expected) = self.expected_key
            && expected != key
        {
            return Err(AuditError::KeyMismatch {
                group: self.group.clone(),
                held: key,
                expected,
            });
        }
        if first.from_seq != self.from_seq {
            return Err(WireError::Invalid {
                field: "log.from_seq",
                reason: format!(
                    "the reply starts at {}, not {}",
                    first.from_seq, self.from_seq
                ),
            }
            .into());
        }
        // From the start the genesis is known; a later start is taken on the
        // hub's word, and the signed head at the end proves it (a different
        // head cannot chain to the signed one). So is the starting key: a
        // made-up one cannot hand on to the group's real key, which the
        // auditor checks at the end (--key).
        let verifier = if self.from_seq == 1 {
            ChainVerifier::new(self.group.clone(), from_key)
        } else {
            ChainVerifier::resume(
                self.group.clone(),
                self.from_seq - 1,
                convert::hash(&first.from_head, "log.from_head")?,
                from_key,
            )
        };
        Ok(Started {
            verifier,
            key,
            from_key,
            fork_epoch: first.fork_epoch,
            forked: first.status == v1::GroupStatus::Forked as i32,
        })
    }

    pub fn finish(self) -> Result<AuditedLog, AuditError> {
        let started = self.started.ok_or(AuditError::Empty)?;
        let signed = match &self.checkpoint {
            Some(checkpoint) => {
                started.verifier.finish(checkpoint, started.fork_epoch)?;
                if started.verifier.key() != started.key {
                    return Err(AuditError::KeyChain {
                        group: self.group,
                        verified: started.verifier.key(),
                        held: started.key,
                    });
                }
                true
            }
            // A log nobody has written to yet: there is nothing to sign.
            None if self.from_seq == 1 && started.verifier.seq() == 0 => false,
            None => {
                return Err(AuditError::Unsigned {
                    group: self.group,
                    seq: started.verifier.seq(),
                });
            }
        };
        Ok(AuditedLog {
            group: self.group,
            from_seq: self.from_seq,
            to_seq: started.verifier.seq(),
            head: started.verifier.head(),
            key: started.key,
            from_key: started.from_key,
            fork_epoch: started.fork_epoch,
            forked: started.forked,
            signed,
        })
    }
}

impl AuditedLog {
    pub fn events(&self) -> u64 {
        (self.to_seq + 1).saturating_sub(self.from_seq)
    }

    pub fn render(&self, output: Output) -> String {
        match output {
            Output::Table => {
                let mut out = if self.signed {
                    format!(
                        "Log of {} verified: seq {}..={} ({} events), head {}, fork epoch {}\n\
                         signed by {}: the key this hub holds for {}; check it against the key \
                         the group gave you (`sajja-node status`), or pass --key to have it checked\n",
                        self.group,
                        self.from_seq,
                        self.to_seq,
                        self.events(),
                        self.head,
                        self.fork_epoch,
                        self.key,
                        self.group
                    )
                } else {
                    format!(
                        "Log of {}: the hub holds no events of it yet; nothing to verify (key {})\n",
                        self.group, self.key
                    )
                };
                if self.signed && self.from_key != self.key {
                    out.push_str(&format!(
                        "the log handed its key on from {} by KeyRotated events, each signed by the key before it\n",
                        self.from_key
                    ));
                }
                if self.forked {
                    out.push_str(
                        "FORKED: the hub also holds a conflicting signed history of this log (see `sajja-hub fork show` on the hub)\n",
                    );
                }
                out
            }
            Output::Json => {
                let mut text = serde_json::to_string_pretty(&self.json_value())
                    .unwrap_or_else(|_| "null".into());
                text.push('\n');
                text
            }
            Output::Csv => {
                let value = self.json_value();
                let fields = [
                    "group",
                    "from_seq",
                    "to_seq",
                    "events",
                    "head",
                    "key",
                    "from_key",
                    "fork_epoch",
                    "forked",
                    "signed",
                ];
                let row: Vec<String> = fields
                    .iter()
                    .map(|f| match &value[*f] {
                        serde_json::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    })
                    .collect();
                format!("{}\r\n{}\r\n", fields.join(","), row.join(","))
            }
        }
    }

    fn json_value(&self) -> serde_json::Value {
        json!({
            "group": self.group.as_str(),
            "from_seq": self.from_seq,
            "to_seq": self.to_seq,
            "events": self.events(),
            "head": self.head.to_hex(),
            "key": self.key.to_hex(),
            "from_key": self.from_key.to_hex(),
            "fork_epoch": self.fork_epoch,
            "forked": self.forked,
            "signed": self.signed,
        })
    }
}
