//! The node's side of the Sync protocol: push the log to the hub, pull what
//! the hub holds and the node lacks, and restore a lost node from its hub.
//!
//! Only sequence numbers and hashes decide anything; the node's clock never
//! does. Every batch is acknowledged by the hub only after it is durable, and
//! the node retries from the hub's acknowledged position, so a retry after any
//! cut re-sends at most the one batch that was in flight.

use sajja_common::{GroupId, Hash, SignedCheckpoint};
use sajja_edge::clock::unix_now;
use sajja_edge::enrolment::Enrolment;
use sajja_proto::MAX_BATCH_BYTES;
use sajja_proto::client::{self, ANSWER_TIMEOUT, ClientError, ClientTls, PushSession};
use sajja_proto::convert::{self, WireError};
use sajja_proto::v1::push_request::Message as PushOut;
use sajja_proto::v1::push_response::Message as PushIn;
use sajja_proto::v1::sync_client::SyncClient;
use sajja_proto::v1::{self, Directive};
use thiserror::Error;
use tonic::transport::Channel;

use crate::exchange::{ExchangeStore, ExchangeStoreError};
use crate::link::StoredLink;
use crate::store::{RestoreKeys, Store, StoreError};

/// The most event bytes a pull may hold before the checkpoint that covers them
/// arrives: a pulled tail is verified whole before any of it is stored.
pub const MAX_PULL_BYTES: usize = 64 * 1024 * 1024;

/// Where the node's hub is, how to recognise it, and how it recognises this
/// node: all from the group's enrolment bundle.
#[derive(Clone, Debug)]
pub struct HubLink {
    /// `https://host:port`.
    pub url: String,
    /// The hub's CA, and the client certificate and key the hub issued.
    pub tls: ClientTls,
}

impl HubLink {
    /// The link a bundle describes. Whether it is this ledger's bundle is
    /// [`crate::link::check_bundle`]'s question.
    pub fn from_bundle(bundle: &Enrolment) -> HubLink {
        HubLink {
            url: bundle.hub_url.clone(),
            tls: ClientTls {
                ca_pem: bundle.ca.as_bytes().to_vec(),
                cert_pem: bundle.cert.as_bytes().to_vec(),
                key_pem: bundle.key.as_bytes().to_vec(),
            },
        }
    }

    /// The link stored in the ledger. One migrated from before enrolment
    /// bundles has no client certificate; every hub now demands one, so say
    /// what to do here rather than fail each handshake with a TLS error.
    pub fn from_stored(stored: StoredLink) -> Result<HubLink, SyncError> {
        let Some(client) = stored.client else {
            return Err(SyncError::NotEnrolled { url: stored.url });
        };
        Ok(HubLink {
            url: stored.url,
            tls: ClientTls {
                ca_pem: stored.ca_pem,
                cert_pem: client.cert_pem,
                key_pem: client.key_pem,
            },
        })
    }
}

#[derive(Debug, Error)]
pub enum SyncError {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error("hub sent a malformed answer: {0}")]
    Wire(#[from] WireError),
    #[error("hub refused seq {seq} ({check}): {message}")]
    Refused {
        check: String,
        seq: u64,
        message: String,
    },
    #[error(
        "FORK: group {group} has two histories at seq {seq}: this node's differs from what the hub accepted. \
         Nothing was overwritten; the hub keeps both as evidence. Ask the hub operator to resolve it \
         (sajja-hub fork show {group})"
    )]
    Forked { group: GroupId, seq: u64 },
    #[error("the hub's log for {group} does not verify: {reason}")]
    BadPull { group: GroupId, reason: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Exchange(#[from] ExchangeStoreError),
    #[error(
        "the hub holds more of exchange {log}'s log (seq {hub_seq}) than this node (seq {ours}): this node's file is older than what it pushed; restore it from a backup of exchange.sqlite"
    )]
    ExchangeBehind {
        log: GroupId,
        hub_seq: u64,
        ours: u64,
    },
    #[error(
        "the stored link to {url} has no client certificate, which every hub now requires: ask the hub operator for this group's enrolment bundle and install it with `sajja-node init --bundle FILE`"
    )]
    NotEnrolled { url: String },
}

impl From<tonic::Status> for SyncError {
    fn from(status: tonic::Status) -> SyncError {
        SyncError::Client(ClientError::Rpc(status))
    }
}

/// What one sync session achieved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncReport {
    pub hub_seq: u64,
    pub pushed_events: u64,
    pub pulled_events: u64,
    pub batches: u64,
}

pub async fn connect(link: &HubLink) -> Result<SyncClient<Channel>, SyncError> {
    Ok(client::connect(&link.url, &link.tls).await?)
}

/// Opens with the node's own signed head (a node presents its own log). The
/// hello is also the group's proof of life: a hub that verifies it records
/// the time as the group's last contact, so a session with nothing to push
/// (the daemon's heartbeat, `[sync] heartbeat_s`) is this hello alone. The
/// contact time is the hub's to record: a node never states one.
async fn hello(
    session: &mut PushSession,
    checkpoint: &SignedCheckpoint,
) -> Result<v1::Welcome, SyncError> {
    let hello = PushOut::Hello(v1::Hello {
        checkpoint: Some(checkpoint.into()),
        relayed_by: String::new(),
        last_contact_at: None,
    });
    match session.ask(hello).await? {
        PushIn::Welcome(welcome) => Ok(welcome),
        PushIn::Refused(r) => Err(refused(r)),
        PushIn::Ack(_) => Err(SyncError::Wire(WireError::Missing("welcome"))),
    }
}

fn refused(r: v1::Refused) -> SyncError {
    SyncError::Refused {
        check: r.check,
        seq: r.seq,
        message: r.message,
    }
}

/// The log a node pushes: a group's ledger, or a community exchange's log
/// (`sajja-node exchange`). The protocol is one; only where the bytes,
/// hashes and signatures come from differs.
pub enum LocalLog<'a> {
    Group(&'a mut Store),
    Exchange(&'a mut ExchangeStore),
}

impl LocalLog<'_> {
    pub(crate) fn refresh(&mut self) -> Result<(), SyncError> {
        match self {
            LocalLog::Group(store) => store.refresh()?,
            LocalLog::Exchange(store) => store.refresh()?,
        }
        Ok(())
    }

    fn id(&self) -> GroupId {
        match self {
            LocalLog::Group(store) => store.group().clone(),
            LocalLog::Exchange(store) => store.log().clone(),
        }
    }

    fn head(&self) -> u64 {
        match self {
            LocalLog::Group(store) => store.head().0,
            LocalLog::Exchange(store) => store.head().0,
        }
    }

    /// The head and the hub's acknowledged seq.
    pub(crate) fn head_and_acked(&self) -> Result<(u64, u64), SyncError> {
        let acked = match self {
            LocalLog::Group(store) => store.acked()?.acked_seq,
            LocalLog::Exchange(store) => store.acked()?.0,
        };
        Ok((self.head(), acked))
    }

    fn hash_at(&self, seq: u64) -> Result<Option<Hash>, SyncError> {
        Ok(match self {
            LocalLog::Group(store) => store.hash_at(seq)?,
            LocalLog::Exchange(store) => store.hash_at(seq)?,
        })
    }

    fn sign_checkpoint_at(&self, seq: u64) -> Result<SignedCheckpoint, SyncError> {
        Ok(match self {
            LocalLog::Group(store) => store.sign_checkpoint_at(seq)?,
            LocalLog::Exchange(store) => store.sign_checkpoint_at(seq)?,
        })
    }

    fn events_from(&self, from: u64, max_bytes: usize) -> Result<Vec<(u64, Vec<u8>)>, SyncError> {
        Ok(match self {
            LocalLog::Group(store) => store.events_from(from, max_bytes)?,
            LocalLog::Exchange(store) => store.events_from(from, max_bytes)?,
        })
    }

    fn set_acked(&self, seq: u64, at: i64) -> Result<(), SyncError> {
        match self {
            LocalLog::Group(store) => store.set_acked(seq, at)?,
            LocalLog::Exchange(store) => store.set_acked(seq, at)?,
        }
        Ok(())
    }

    fn adopt_epoch(&self, hub_epoch: u32) -> Result<(), SyncError> {
        match self {
            LocalLog::Group(store) => adopt_epoch(store, hub_epoch)?,
            LocalLog::Exchange(store) if hub_epoch > store.fork_epoch()? => {
                store.set_fork_epoch(hub_epoch)?
            }
            LocalLog::Exchange(_) => {}
        }
        Ok(())
    }
}

/// A resolved fork bumps the hub's epoch; a node whose chain the hub kept
/// signs at the new epoch from then on.
fn adopt_epoch(store: &Store, hub_epoch: u32) -> Result<(), SyncError> {
    if hub_epoch > store.fork_epoch()? {
        store.set_fork_epoch(hub_epoch)?;
    }
    Ok(())
}

/// Brings the hub up to date with this node, or this node up to date with the
/// hub when the hub holds more (a node restored from an old backup). Returns
/// once the hub has acknowledged everything the node holds.
pub async fn sync_once(store: &mut Store, link: &HubLink) -> Result<SyncReport, SyncError> {
    sync_log(LocalLog::Group(store), link).await
}

/// [`sync_once`] for a community exchange's log.
pub async fn sync_exchange_once(
    store: &mut ExchangeStore,
    link: &HubLink,
) -> Result<SyncReport, SyncError> {
    sync_log(LocalLog::Exchange(store), link).await
}

pub(crate) async fn sync_log(
    mut log: LocalLog<'_>,
    link: &HubLink,
) -> Result<SyncReport, SyncError> {
    log.refresh()?;
    let mut client = connect(link).await?;
    let mut session = PushSession::open(&mut client).await?;
    let group = log.id();
    let welcome = hello(&mut session, &log.sign_checkpoint_at(log.head())?).await?;
    let position = welcome
        .position
        .ok_or(WireError::Missing("welcome.position"))?;
    let hub_head = convert::hash(&position.head, "position.head")?;
    let mut report = SyncReport {
        hub_seq: position.seq,
        pushed_events: 0,
        pulled_events: 0,
        batches: 0,
    };

    match Directive::try_from(welcome.directive).unwrap_or(Directive::Unspecified) {
        Directive::UpToDate => {
            log.adopt_epoch(position.fork_epoch)?;
        }
        Directive::Forked => {
            let seq = welcome.fork.map_or(position.seq, |f| f.seq);
            return Err(SyncError::Forked { group, seq });
        }
        Directive::HubAhead => {
            log.adopt_epoch(position.fork_epoch)?;
            match &mut log {
                LocalLog::Group(store) => {
                    report.pulled_events = pull_tail(&mut client, store).await?;
                }
                // An exchange's node is its log's only writer and keeps no
                // pull path: a hub ahead of it means this file is an old copy.
                LocalLog::Exchange(store) => {
                    return Err(SyncError::ExchangeBehind {
                        log: group,
                        hub_seq: position.seq,
                        ours: store.head().0,
                    });
                }
            }
        }
        Directive::SendFrom | Directive::Unspecified => {
            // The hub's head must be a point on this node's own chain; if not,
            // sign our view of that position so the hub holds the proof.
            if log.hash_at(position.seq)? != Some(hub_head) {
                let ours = log.sign_checkpoint_at(position.seq)?;
                let welcome = hello(&mut session, &ours).await?;
                let seq = welcome.fork.map_or(position.seq, |f| f.seq);
                return Err(SyncError::Forked { group, seq });
            }
            log.adopt_epoch(position.fork_epoch)?;
            push_from(
                &log,
                &mut session,
                welcome.send_from.max(position.seq + 1),
                &mut report,
            )
            .await?;
        }
    }
    let head = log.head();
    report.hub_seq = report.hub_seq.max(head);
    log.set_acked(head, unix_now())?;
    Ok(report)
}

async fn push_from(
    log: &LocalLog<'_>,
    session: &mut PushSession,
    mut next: u64,
    report: &mut SyncReport,
) -> Result<(), SyncError> {
    let group = log.id();
    loop {
        let head = log.head();
        if next > head {
            return Ok(());
        }
        let chunk = log.events_from(next, MAX_BATCH_BYTES)?;
        let Some(&(last, _)) = chunk.last() else {
            return Ok(());
        };
        let checkpoint = log.sign_checkpoint_at(last)?;
        let count = chunk.len() as u64;
        let bytes: usize = chunk.iter().map(|(_, b)| b.len()).sum();
        tracing::debug!(group = %group, from = next, to = last, bytes, "sending batch");
        let batch = v1::Batch {
            from_seq: next,
            events: chunk.into_iter().map(|(_, bytes)| bytes).collect(),
            checkpoint: Some((&checkpoint).into()),
        };
        match session.ask(PushOut::Batch(batch)).await? {
            PushIn::Ack(ack) => {
                let head = convert::hash(&ack.head, "ack.head")?;
                if ack.to_seq != last || log.hash_at(ack.to_seq)? != Some(head) {
                    return Err(SyncError::Refused {
                        check: "ack_mismatch".into(),
                        seq: ack.to_seq,
                        message: format!(
                            "hub acknowledged up to {} with a head this node does not have",
                            ack.to_seq
                        ),
                    });
                }
                log.set_acked(ack.to_seq, unix_now())?;
                tracing::debug!(group = %group, from = ack.from_seq, to = ack.to_seq, "batch acknowledged");
                report.pushed_events += count;
                report.batches += 1;
                next = ack.to_seq + 1;
            }
            PushIn::Refused(r) if r.check == "gap" && r.send_from > 0 && r.send_from < next => {
                next = r.send_from;
            }
            PushIn::Refused(r) if r.check == "fork" => {
                return Err(SyncError::Forked { group, seq: r.seq });
            }
            PushIn::Refused(r) => return Err(refused(r)),
            PushIn::Welcome(_) => return Err(SyncError::Wire(WireError::Missing("ack"))),
        }
    }
}

/// Pulls `from..` of this group's log from the hub and verifies it whole
/// against the hub-held checkpoint (signed with the group's own key).
async fn pull_events(
    client: &mut SyncClient<Channel>,
    group: &GroupId,
    from: u64,
) -> Result<(Vec<Vec<u8>>, Option<SignedCheckpoint>), SyncError> {
    let mut stream = client
        .pull(v1::PullRequest {
            group_id: group.as_str().to_string(),
            from_seq: from,
        })
        .await?
        .into_inner();
    let mut events = Vec::new();
    let mut total = 0usize;
    let mut checkpoint = None;
    while let Some(chunk) = tokio::time::timeout(ANSWER_TIMEOUT, stream.message())
        .await
        .map_err(|_| ClientError::Timeout(ANSWER_TIMEOUT))??
    {
        total += chunk.events.iter().map(Vec::len).sum::<usize>();
        if total > MAX_PULL_BYTES {
            return Err(SyncError::BadPull {
                group: group.clone(),
                reason: format!("more than {MAX_PULL_BYTES} bytes before a checkpoint"),
            });
        }
        events.extend(chunk.events);
        if let Some(c) = chunk.checkpoint {
            checkpoint = Some(SignedCheckpoint::try_from(&c)?);
        }
    }
    Ok((events, checkpoint))
}

async fn pull_tail(client: &mut SyncClient<Channel>, store: &mut Store) -> Result<u64, SyncError> {
    let group = store.group().clone();
    let (head, _) = store.head();
    let (events, checkpoint) = pull_events(client, &group, head + 1).await?;
    if events.is_empty() {
        return Ok(0);
    }
    let checkpoint = checkpoint.ok_or_else(|| SyncError::BadPull {
        group: group.clone(),
        reason: "no checkpoint covers the pulled events".into(),
    })?;
    store
        .append_verified_bytes(&events, &checkpoint)
        .map_err(|e| SyncError::BadPull {
            group: group.clone(),
            reason: e.to_string(),
        })?;
    tracing::info!(group = %group, pulled = events.len(), "pulled the hub's newer tail");
    Ok(events.len() as u64)
}

/// Fills an empty store (a new SD card) with the group's whole log from its
/// hub, verifying every hash, every key rotation and the checkpoint signature
/// against the keys the treasurer trusts ([`Store::restore_log`]). Returns
/// the head.
pub async fn restore(
    store: &mut Store,
    link: &HubLink,
    trusted: &RestoreKeys,
) -> Result<(u64, Hash), SyncError> {
    let mut client = connect(link).await?;
    let group = store.group().clone();
    let heads = client
        .heads(v1::HeadsRequest {
            group_ids: vec![group.as_str().to_string()],
        })
        .await?
        .into_inner();
    if let Some(position) = heads.positions.first() {
        adopt_epoch(store, position.fork_epoch)?;
    }
    let (events, checkpoint) = pull_events(&mut client, &group, 1).await?;
    if !events.is_empty() {
        let checkpoint = checkpoint.ok_or_else(|| SyncError::BadPull {
            group: group.clone(),
            reason: "no checkpoint covers the pulled events".into(),
        })?;
        store
            .restore_log(&events, &checkpoint, trusted)
            .map_err(|e| match e {
                StoreError::Verify(_) | StoreError::Refused(_) => SyncError::BadPull {
                    group: group.clone(),
                    reason: e.to_string(),
                },
                other => other.into(),
            })?;
    }
    let (head, hash) = store.head();
    store.set_acked(head, unix_now())?;
    Ok((head, hash))
}

/// Writes every event the hub has not acknowledged into a bundle for a USB
/// stick: the same batches a push would send, each with its signed checkpoint.
/// Returns the file's bytes and the seq range it covers.
pub fn export_bundle(store: &Store, from: Option<u64>) -> Result<(Vec<u8>, u64, u64), SyncError> {
    let (head, _) = store.head();
    let first = from.unwrap_or(store.acked()?.acked_seq + 1).max(1);
    let mut batches = Vec::new();
    let mut next = first;
    while next <= head {
        let chunk = store.events_from(next, MAX_BATCH_BYTES)?;
        let Some(&(last, _)) = chunk.last() else {
            break;
        };
        let checkpoint = store.sign_checkpoint_at(last)?;
        batches.push(v1::Batch {
            from_seq: next,
            events: chunk.into_iter().map(|(_, bytes)| bytes).collect(),
            checkpoint: Some((&checkpoint).into()),
        });
        next = last + 1;
    }
    Ok((sajja_proto::bundle::encode_bundle(batches), first, head))
}

/// Records what a hub's receipt says it holds, after checking the receipt's
/// head is a point on this node's own chain. Returns the acknowledged seq.
pub fn apply_receipt(store: &Store, file: &[u8]) -> Result<u64, SyncError> {
    let receipt = sajja_proto::bundle::decode_receipt(file).map_err(|e| SyncError::Refused {
        check: "receipt".into(),
        seq: 0,
        message: e.to_string(),
    })?;
    let position = receipt
        .position
        .ok_or(WireError::Missing("receipt.position"))?;
    let group = store.group().clone();
    if position.group_id != group.as_str() {
        return Err(SyncError::Refused {
            check: "receipt".into(),
            seq: position.seq,
            message: format!(
                "the receipt is for group {}, not {group}",
                position.group_id
            ),
        });
    }
    let head = convert::hash(&position.head, "receipt.position.head")?;
    if position.status == v1::GroupStatus::Forked as i32
        || store.hash_at(position.seq)? != Some(head)
    {
        return Err(SyncError::Forked {
            group,
            seq: position.seq,
        });
    }
    adopt_epoch(store, position.fork_epoch)?;
    let acked = position.seq.max(store.acked()?.acked_seq);
    store.set_acked(acked, unix_now())?;
    Ok(acked)
}
