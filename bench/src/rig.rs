//! The pieces every benchmark stands on: a real hub served over gRPC + TLS on
//! 127.0.0.1:0, a byte-counting TCP proxy in front of it, a pusher speaking
//! the Sync protocol as a node does, and small measuring helpers.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use sajja_common::{PublicKey, SignedCheckpoint};
use sajja_hub::config::HubConfig;
use sajja_hub::ingest::accept::Ingest;
use sajja_hub::store::Store as HubStore;
use sajja_node::sync::HubLink;
use sajja_proto::client::ClientTls;
use sajja_proto::v1::push_request::Message as PushOut;
use sajja_proto::v1::push_response::Message as PushIn;
use sajja_proto::v1::sync_client::SyncClient;
use sajja_proto::v1::{self, Directive};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Channel;

/// A tokio runtime with one worker per core, as `sajja-hub run` uses.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

/// The median of a non-empty set of measurements.
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    if sorted.is_empty() {
        return 0.0;
    }
    let mid = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    }
}

/// A real hub: the `sajja_hub::rpc::serve::serve` a `sajja-hub run` process runs,
/// with its own CA and a fresh SQLite store, on an ephemeral port.
pub struct Hub {
    pub dir: PathBuf,
    pub addr: SocketAddr,
    pub ca_pem: Vec<u8>,
    pub ingest: Arc<Mutex<Ingest>>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<Result<(), sajja_hub::rpc::serve::ServeError>>>,
}

/// Writes a province hub's TLS files and `hub.toml` into `dir`, and loads it
/// as `sajja-hub run` would (so the config's own defaults and checks apply).
pub fn hub_config(dir: &Path) -> anyhow::Result<HubConfig> {
    std::fs::create_dir_all(dir.join("tls"))?;
    std::fs::create_dir_all(dir.join("data"))?;
    let ca = sajja_hub::pki::certs::generate_ca("23")?;
    let server = sajja_hub::pki::certs::issue_server_cert(&ca, "23", &[])?;
    std::fs::write(dir.join("tls/server.pem"), server.cert)?;
    std::fs::write(dir.join("tls/server.key"), server.key)?;
    std::fs::write(dir.join("tls/ca.pem"), ca.cert)?;
    std::fs::write(dir.join("tls/ca.key"), ca.key)?;
    let seed = sajja_common::SigningKey::generate()?;
    let hex: String = seed.seed().iter().map(|b| format!("{b:02x}")).collect();
    std::fs::write(dir.join("hub.key"), hex)?;
    std::fs::write(
        dir.join("hub.toml"),
        "hub_id = \"23\"\nlevel = \"province\"\nlisten = \"127.0.0.1:0\"\ndata_dir = \"data\"\n\n\
         [tls]\ncert = \"tls/server.pem\"\nkey = \"tls/server.key\"\nca = \"tls/ca.pem\"\nca_key = \"tls/ca.key\"\n",
    )?;
    Ok(HubConfig::load(&dir.join("hub.toml"))?)
}

/// Opens a hub store in `dir` with `groups` enrolled.
pub fn hub_store(
    config: &HubConfig,
    groups: &[(sajja_common::GroupId, PublicKey)],
) -> anyhow::Result<HubStore> {
    let mut store = HubStore::open(&config.database_path())?;
    for (group, key) in groups {
        store.enrol(group, key, 0)?;
    }
    Ok(store)
}

/// Issues a client certificate for `principal` from the CA in `hub_dir/tls`
/// and records it in the hub's credentials table, as `sajja-hub enrol` does;
/// the hub's `Gate` then lets its calls through.
pub fn issue_client_tls(
    hub_dir: &Path,
    store: &HubStore,
    principal: &sajja_hub::values::principal::Principal,
) -> anyhow::Result<ClientTls> {
    let ca = sajja_hub::pki::certs::Pem {
        cert: std::fs::read_to_string(hub_dir.join("tls/ca.pem"))?,
        key: std::fs::read_to_string(hub_dir.join("tls/ca.key"))?,
    };
    let now = sajja_edge::clock::unix_now();
    let issued = sajja_hub::pki::client_certs::issue(&ca, principal, 30, now)?;
    store.add_credential(&sajja_hub::ingest::operations::credential_of(
        principal, &issued, now,
    ))?;
    Ok(ClientTls {
        ca_pem: ca.cert.into_bytes(),
        cert_pem: issued.pem.cert.into_bytes(),
        key_pem: issued.pem.key.into_bytes(),
    })
}

impl Hub {
    /// Starts a hub in `dir` with `groups` enrolled. Must run inside a runtime.
    pub async fn start(
        dir: &Path,
        groups: &[(sajja_common::GroupId, PublicKey)],
    ) -> anyhow::Result<Hub> {
        let config = hub_config(dir)?;
        let store = hub_store(&config, groups)?;
        let ingest = Arc::new(Mutex::new(Ingest::new(store)));
        let listener = TcpListener::bind(config.listen).await?;
        let addr = listener.local_addr()?;
        let ca_pem = std::fs::read(&config.tls.ca)?;
        let (tx, rx) = oneshot::channel::<()>();
        let served = ingest.clone();
        let task = tokio::spawn(async move {
            sajja_hub::rpc::serve::serve(&config, served, listener, async {
                let _ = rx.await;
            })
            .await
        });
        Ok(Hub {
            dir: dir.to_path_buf(),
            addr,
            ca_pem,
            ingest,
            shutdown: Some(tx),
            task: Some(task),
        })
    }

    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// A link for `group`'s node: a client certificate issued for the group
    /// and recorded as `sajja-hub enrol` would.
    pub fn link(&self, group: &sajja_common::GroupId) -> anyhow::Result<HubLink> {
        Ok(HubLink {
            url: self.url(),
            tls: self.client_tls(group)?,
        })
    }

    /// The enrolment bundle `sajja-hub enrol group` would write for `group`.
    pub fn enrolment(
        &self,
        group: &sajja_common::GroupId,
        key: &PublicKey,
    ) -> anyhow::Result<sajja_edge::enrolment::Enrolment> {
        let tls = self.client_tls(group)?;
        Ok(sajja_edge::enrolment::Enrolment {
            role: sajja_edge::enrolment::Role::Group,
            subject: group.as_str().to_string(),
            scope: None,
            public_key: Some(key.to_hex()),
            hub_id: "23".into(),
            hub_url: self.url(),
            serial: "bench".into(),
            not_after: sajja_edge::clock::unix_now() + 30 * 86_400,
            ca: String::from_utf8(tls.ca_pem)?,
            cert: String::from_utf8(tls.cert_pem)?,
            key: String::from_utf8(tls.key_pem)?,
        })
    }

    pub fn client_tls(&self, group: &sajja_common::GroupId) -> anyhow::Result<ClientTls> {
        let ingest = self
            .ingest
            .lock()
            .map_err(|_| anyhow::anyhow!("poisoned"))?;
        issue_client_tls(
            &self.dir,
            ingest.store(),
            &sajja_hub::values::principal::Principal::Group(group.clone()),
        )
    }

    /// The hub's committed seq for a group.
    pub fn seq(&self, group: &sajja_common::GroupId) -> anyhow::Result<u64> {
        let ingest = self
            .ingest
            .lock()
            .map_err(|_| anyhow::anyhow!("poisoned"))?;
        Ok(ingest.position(group)?.seq)
    }

    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await??;
        }
        Ok(())
    }
}

/// A TCP proxy that counts every byte in each direction: what a node's
/// uplink would carry (TLS records of zstd-compressed gRPC frames).
pub struct Proxy {
    pub addr: SocketAddr,
    up: Arc<AtomicU64>,
    down: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

/// Bytes counted by a proxy: node→hub and hub→node.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Bytes {
    pub up: u64,
    pub down: u64,
}

impl Bytes {
    pub fn since(self, earlier: Bytes) -> Bytes {
        Bytes {
            up: self.up - earlier.up,
            down: self.down - earlier.down,
        }
    }

    pub fn total(self) -> u64 {
        self.up + self.down
    }
}

async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    count: Arc<AtomicU64>,
) {
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        match from.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if to.write_all(&buffer[..n]).await.is_err() {
                    break;
                }
                count.fetch_add(n as u64, Ordering::SeqCst);
            }
        }
    }
    let _ = to.shutdown().await;
}

impl Proxy {
    pub async fn start(upstream: SocketAddr) -> anyhow::Result<Proxy> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let up = Arc::new(AtomicU64::new(0));
        let down = Arc::new(AtomicU64::new(0));
        let (u, d) = (up.clone(), down.clone());
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(upstream).await else {
                    continue;
                };
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                let (cr, cw) = client.into_split();
                let (sr, sw) = server.into_split();
                tokio::spawn(pump(cr, sw, u.clone()));
                tokio::spawn(pump(sr, cw, d.clone()));
            }
        });
        Ok(Proxy {
            addr,
            up,
            down,
            task,
        })
    }

    pub fn bytes(&self) -> Bytes {
        Bytes {
            up: self.up.load(Ordering::SeqCst),
            down: self.down.load(Ordering::SeqCst),
        }
    }

    /// A link to the hub through this proxy (the certificate names 127.0.0.1).
    pub fn link(&self, hub: &Hub, group: &sajja_common::GroupId) -> anyhow::Result<HubLink> {
        Ok(HubLink {
            url: format!("https://{}", self.addr),
            tls: hub.client_tls(group)?,
        })
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One push stream, driven as a node drives it: hello, then stop-and-wait batches.
pub struct Pusher {
    _client: SyncClient<Channel>,
    outbound: mpsc::Sender<v1::PushRequest>,
    inbound: tonic::Streaming<v1::PushResponse>,
}

impl Pusher {
    /// Connects (TLS, zstd both ways, the node's own client settings) and opens a push stream.
    pub async fn open(link: &HubLink) -> anyhow::Result<Pusher> {
        let mut client = sajja_node::sync::connect(link).await?;
        let (outbound, rx) = mpsc::channel(2);
        let inbound = client.push(ReceiverStream::new(rx)).await?.into_inner();
        Ok(Pusher {
            _client: client,
            outbound,
            inbound,
        })
    }

    async fn ask(&mut self, message: PushOut) -> anyhow::Result<PushIn> {
        self.outbound
            .send(v1::PushRequest {
                message: Some(message),
            })
            .await
            .map_err(|_| anyhow::anyhow!("push stream closed"))?;
        let answer = tokio::time::timeout(Duration::from_secs(600), self.inbound.message())
            .await
            .context("hub did not answer")??;
        answer
            .and_then(|a| a.message)
            .ok_or_else(|| anyhow::anyhow!("hub closed the stream"))
    }

    /// Sends the node's signed head; returns the seq the hub wants next.
    pub async fn hello(&mut self, head: &SignedCheckpoint) -> anyhow::Result<u64> {
        match self
            .ask(PushOut::Hello(v1::Hello {
                checkpoint: Some(head.into()),
                relayed_by: String::new(),
                last_contact_at: None,
            }))
            .await?
        {
            PushIn::Welcome(w) => {
                let directive = Directive::try_from(w.directive).unwrap_or(Directive::Unspecified);
                match directive {
                    Directive::SendFrom => Ok(w.send_from),
                    Directive::UpToDate => Ok(head.checkpoint.seq + 1),
                    other => bail!("hub answered hello with {other:?}"),
                }
            }
            other => bail!("hub answered hello with {other:?}"),
        }
    }

    /// Sends one batch and waits for its acknowledgement; returns the acked seq.
    pub async fn batch(&mut self, batch: v1::Batch) -> anyhow::Result<u64> {
        let last = batch.from_seq + batch.events.len() as u64 - 1;
        match self.ask(PushOut::Batch(batch)).await? {
            PushIn::Ack(ack) if ack.to_seq == last => Ok(ack.to_seq),
            other => bail!("hub answered a batch ending at {last} with {other:?}"),
        }
    }
}

/// Wall-clock seconds of `work`.
pub fn seconds<T>(work: impl FnOnce() -> T) -> (T, f64) {
    let started = Instant::now();
    let out = work();
    (out, started.elapsed().as_secs_f64())
}

/// A bare SQLite file with the hub's pragmas (WAL, synchronous=FULL): the raw
/// ceiling any ingest path is measured against.
pub fn raw_sqlite(path: &Path) -> anyhow::Result<rusqlite::Connection> {
    let conn = rusqlite::Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.execute_batch(
        "CREATE TABLE events (
             gid INTEGER NOT NULL,
             seq INTEGER NOT NULL,
             bytes BLOB NOT NULL,
             hash BLOB NOT NULL,
             PRIMARY KEY (gid, seq)
         ) WITHOUT ROWID;",
    )?;
    Ok(conn)
}

/// Inserts `rows` (gid, seq, bytes, hash) in one transaction.
pub fn raw_insert(
    conn: &mut rusqlite::Connection,
    rows: impl Iterator<Item = (i64, u64, impl AsRef<[u8]>, impl AsRef<[u8]>)>,
) -> anyhow::Result<()> {
    let tx = conn.transaction()?;
    {
        let mut insert = tx
            .prepare_cached("INSERT INTO events (gid, seq, bytes, hash) VALUES (?1, ?2, ?3, ?4)")?;
        for (gid, seq, bytes, hash) in rows {
            insert.execute(rusqlite::params![
                gid,
                seq as i64,
                bytes.as_ref(),
                hash.as_ref()
            ])?;
        }
    }
    tx.commit()?;
    Ok(())
}
