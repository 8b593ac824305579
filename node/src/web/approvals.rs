//! Maker–checker: what the rules would refuse (a committee override of a
//! benefit) and every reversal wait here until a second committee member
//! approves. Nothing is written to the ledger before that.
//!
//! The queue lives in `users.sqlite` beside the accounts: who proposed and
//! who approved is local access control, like the accounts themselves. The
//! ledger keeps what was decided: the override's reason travels in the
//! event, and the reason of a reversal is the reversal's own.
//!
//! A proposal keeps the form it came from, and approving it builds the entry
//! from that form with the same code the form's own page uses, so an approved
//! entry is checked by `Books::apply` against the books as they stand at
//! approval, not as they stood when it was proposed.

use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use rusqlite::{OptionalExtension, params};
use sajja_common::date::Date;
use sajja_common::event::Body;
use serde::Deserialize;

use super::app::{App, Shared, lang_of, refused, say, session};
use super::pages::form_session;
use super::pages::{self, Frame, blocking, field, ledger, render};
use super::users::{Session, UserError, Users};
use super::words::{Lang, Role, Words};
use crate::store::Store;

/// How many decided proposals the page lists under the pending ones.
const DECIDED_SHOWN: usize = 20;
/// Pending proposals a node keeps at most: a committee works through a
/// handful a month; a flood of proposals is refused, not stored.
pub const PENDING_MAX: usize = 200;

/// What a proposal would write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A benefit the rules refuse, paid by committee override.
    Benefit,
    /// A reversal of an earlier entry.
    Reversal,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Benefit => "benefit",
            Kind::Reversal => "reversal",
        }
    }

    fn parse(text: &str) -> Option<Kind> {
        match text {
            "benefit" => Some(Kind::Benefit),
            "reversal" => Some(Kind::Reversal),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Pending,
    Approved { by: String, seq: u64 },
    Rejected { by: String },
}

#[derive(Clone, Debug)]
pub struct Proposal {
    pub id: i64,
    pub kind: Kind,
    /// The form as it was posted (without its token).
    pub fields: Vec<(String, String)>,
    pub reason: String,
    pub proposed_by: String,
    pub proposed_at: i64,
    pub outcome: Outcome,
}

/// The entry a proposal writes, built by the page it came from.
pub fn entry_of(proposal: &Proposal) -> Result<(Date, Body), String> {
    match proposal.kind {
        Kind::Benefit => super::forms::override_entry(&proposal.fields, &proposal.reason),
        Kind::Reversal => super::forms::reversal_entry(&proposal.fields, &proposal.reason),
    }
}

fn row_to_proposal(row: &rusqlite::Row<'_>) -> rusqlite::Result<Proposal> {
    let kind: String = row.get(1)?;
    let fields: String = row.get(2)?;
    let outcome: Option<String> = row.get(6)?;
    let decided_by: Option<String> = row.get(7)?;
    let seq: Option<i64> = row.get(8)?;
    let by = decided_by.unwrap_or_default();
    Ok(Proposal {
        id: row.get(0)?,
        // A row this build cannot read is shown as a reversal of nothing:
        // approving it fails on its empty form, and nothing is written.
        kind: Kind::parse(&kind).unwrap_or(Kind::Reversal),
        fields: serde_json::from_str(&fields).unwrap_or_default(),
        reason: row.get(3)?,
        proposed_by: row.get(4)?,
        proposed_at: row.get(5)?,
        outcome: match outcome.as_deref() {
            Some("approved") => Outcome::Approved {
                by,
                seq: seq.unwrap_or(0).max(0) as u64,
            },
            Some("rejected") => Outcome::Rejected { by },
            _ => Outcome::Pending,
        },
    })
}

const COLUMNS: &str =
    "id, kind, fields, reason, proposed_by, proposed_at, outcome, decided_by, seq";

impl Users {
    /// Queues a proposal; returns its id.
    pub fn propose(
        &self,
        kind: Kind,
        fields: &[(String, String)],
        reason: &str,
        by: &str,
    ) -> Result<i64, UserError> {
        let pending: i64 = self.conn.query_row(
            "SELECT count(*) FROM proposals WHERE outcome IS NULL",
            [],
            |r| r.get(0),
        )?;
        if pending as usize >= PENDING_MAX {
            return Err(UserError::QueueFull(PENDING_MAX));
        }
        let fields = serde_json::to_string(fields).unwrap_or_else(|_| "[]".into());
        self.conn.execute(
            "INSERT INTO proposals (kind, fields, reason, proposed_by, proposed_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![kind.name(), fields, reason, by, sajja_edge::clock::unix_now()],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    pub fn proposal(&self, id: i64) -> Result<Option<Proposal>, UserError> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM proposals WHERE id = ?1"),
                [id],
                row_to_proposal,
            )
            .optional()?)
    }

    /// Every pending proposal, oldest first, then the latest decided ones.
    pub fn proposals(&self) -> Result<(Vec<Proposal>, Vec<Proposal>), UserError> {
        let query = |sql: &str| -> Result<Vec<Proposal>, UserError> {
            let mut statement = self.conn.prepare(sql)?;
            let rows = statement.query_map([], row_to_proposal)?;
            Ok(rows.collect::<Result<_, _>>()?)
        };
        Ok((
            query(&format!(
                "SELECT {COLUMNS} FROM proposals WHERE outcome IS NULL ORDER BY id"
            ))?,
            query(&format!(
                "SELECT {COLUMNS} FROM proposals WHERE outcome IS NOT NULL ORDER BY decided_at DESC, id DESC LIMIT {DECIDED_SHOWN}"
            ))?,
        ))
    }

    /// Records a decision on a pending proposal; false when it was already
    /// decided (by someone else a moment earlier).
    pub fn decide(&self, id: i64, by: &str, outcome: &Outcome) -> Result<bool, UserError> {
        let (word, seq) = match outcome {
            Outcome::Pending => return Ok(false),
            Outcome::Approved { seq, .. } => ("approved", Some(*seq as i64)),
            Outcome::Rejected { .. } => ("rejected", None),
        };
        let changed = self.conn.execute(
            "UPDATE proposals SET outcome = ?2, decided_by = ?3, decided_at = ?4, seq = ?5 WHERE id = ?1 AND outcome IS NULL",
            params![id, word, by, sajja_edge::clock::unix_now(), seq],
        )?;
        Ok(changed == 1)
    }

    /// Corrects the seq an approval was written as.
    fn approved_as(&self, id: i64, seq: u64) -> Result<(), UserError> {
        self.conn.execute(
            "UPDATE proposals SET seq = ?2 WHERE id = ?1 AND outcome = 'approved'",
            params![id, seq as i64],
        )?;
        Ok(())
    }

    /// Puts an approval back to pending: the ledger refused or failed to
    /// write what was approved, so nothing was paid.
    fn undecide(&self, id: i64) -> Result<(), UserError> {
        self.conn.execute(
            "UPDATE proposals SET outcome = NULL, decided_by = NULL, decided_at = NULL, seq = NULL WHERE id = ?1",
            [id],
        )?;
        Ok(())
    }
}

/// Whether `session` may approve or reject `proposal`, and if not, why.
pub fn may_decide(w: &Words, session: &Session, proposal: &Proposal) -> Result<(), &'static str> {
    if session.role != Role::Committee {
        return Err(w.committee_only);
    }
    if session.user == proposal.proposed_by {
        return Err(w.own_proposal);
    }
    if proposal.outcome != Outcome::Pending {
        return Err(w.no_longer_pending);
    }
    Ok(())
}

/// One proposal as the page shows it.
pub struct Item {
    pub id: i64,
    pub what: String,
    pub reason: String,
    pub proposed_by: String,
    pub proposed_at: String,
    pub may_decide: bool,
    pub why_not: &'static str,
    pub outcome: String,
}

type Register =
    std::collections::BTreeMap<sajja_common::ids::MemberNo, crate::store::RegisterEntry>;

fn describe(
    lang: Lang,
    store: &Store,
    register: &Register,
    entry: &Result<(Date, Body), String>,
) -> String {
    let w = Words::of(lang);
    match entry {
        Ok((date, body)) => {
            let what = match &body {
                Body::Reversal { reversed_seq, .. } => {
                    let original = store.event(*reversed_seq).ok().flatten().map(|event| {
                        let line = pages::describe(lang, &event, register);
                        format!("{} {} {}", line.what, line.member, line.amount)
                    });
                    format!(
                        "{} {reversed_seq}: {}",
                        w.reversal_of,
                        original.unwrap_or_default()
                    )
                }
                Body::BenefitPaid {
                    member,
                    kind,
                    amount,
                    nights,
                    ..
                } => {
                    let name = register.get(member).map_or("", |r| r.name.as_str());
                    let kind = super::words::kind_label(lang, *kind);
                    let nights = if *nights > 0 {
                        format!(" · {nights} {}", w.nights)
                    } else {
                        String::new()
                    };
                    format!(
                        "{} {kind} · {} {member} {name} · {amount} {}{nights}",
                        w.benefits, w.member, w.baht
                    )
                }
                other => other.kind().to_string(),
            };
            format!("{what} · {}", lang.date(*date))
        }
        Err(error) => error.clone(),
    }
}

/// Whether the ledger's entry at `seq` is what `proposal` writes: an
/// approval whose write was cut off (the machine lost power between the two)
/// has none, and the page says so rather than claiming it was paid.
fn written_as(store: &Store, entry: &Result<(Date, Body), String>, seq: u64) -> bool {
    let Ok((_, body)) = entry else {
        return false;
    };
    matches!(store.event(seq), Ok(Some(event)) if event.body == *body)
}

fn item(
    lang: Lang,
    session: &Session,
    store: &Store,
    register: &Register,
    proposal: &Proposal,
) -> Item {
    let w = Words::of(lang);
    let check = may_decide(w, session, proposal);
    let entry = entry_of(proposal);
    Item {
        id: proposal.id,
        what: describe(lang, store, register, &entry),
        reason: proposal.reason.clone(),
        proposed_by: proposal.proposed_by.clone(),
        proposed_at: lang.time(proposal.proposed_at),
        may_decide: check.is_ok(),
        why_not: check.err().unwrap_or(""),
        outcome: match &proposal.outcome {
            Outcome::Pending => w.waiting_second.to_string(),
            Outcome::Approved { by, seq } if written_as(store, &entry, *seq) => {
                format!("{} {seq} ({by})", w.approved_written)
            }
            Outcome::Approved { by, .. } => format!("{} ({by})", w.approved_not_written),
            Outcome::Rejected { by } => format!("{} ({by})", w.rejected),
        },
    }
}

#[derive(Template)]
#[template(path = "approvals.html")]
struct ApprovalsPage {
    f: Frame,
    pending: Vec<Item>,
    decided: Vec<Item>,
    notice: String,
    error: String,
}

#[derive(Deserialize)]
pub struct NoticeQuery {
    #[serde(default)]
    sent: Option<String>,
}

fn approvals_page(
    app: &App,
    lang: Lang,
    session: &Session,
    notice: String,
    error: String,
    status: StatusCode,
) -> Response {
    let store = or_respond!(ledger(app));
    let (pending, decided) = match app.users().proposals() {
        Ok(lists) => lists,
        Err(error) => return super::app::internal(error),
    };
    let register = match store.register() {
        Ok(register) => register,
        Err(error) => return super::pages::store_error(error),
    };
    let page = ApprovalsPage {
        pending: pending
            .iter()
            .map(|p| item(lang, session, &store, &register, p))
            .collect(),
        decided: decided
            .iter()
            .map(|p| item(lang, session, &store, &register, p))
            .collect(),
        f: Frame::new(lang, session, &store, "approvals"),
        notice,
        error,
    };
    render(&page, status)
}

pub async fn approvals(
    State(app): State<Shared>,
    headers: HeaderMap,
    Query(query): Query<NoticeQuery>,
) -> Response {
    blocking(move || {
        let lang = lang_of(&headers);
        let session = or_respond!(session(&app, &headers));
        let notice = if query.sent.is_some() {
            Words::of(lang).proposal_sent.to_string()
        } else {
            String::new()
        };
        approvals_page(&app, lang, &session, notice, String::new(), StatusCode::OK)
    })
    .await
}

/// Queues a proposal from a page's form, for that page's handler: checks the
/// form is sound first, so a proposal that could never be written is refused
/// now, beside its field, rather than at approval.
pub fn queue(
    app: &App,
    session: &Session,
    kind: Kind,
    fields: &[(String, String)],
    reason: &str,
) -> Response {
    let kept: Vec<(String, String)> = fields
        .iter()
        .filter(|(k, _)| k != "csrf" && k != "action")
        .cloned()
        .collect();
    match app.users().propose(kind, &kept, reason, &session.user) {
        Ok(id) => {
            tracing::info!(
                proposal = id,
                kind = kind.name(),
                "proposal queued for a second approval"
            );
            Redirect::to("/approvals?sent=1").into_response()
        }
        Err(error @ UserError::QueueFull(_)) => {
            refused(StatusCode::TOO_MANY_REQUESTS, &error.to_string())
        }
        Err(error) => super::app::internal(error),
    }
}

/// Approves (writing the entry) or rejects a pending proposal.
pub async fn decide(
    State(app): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    blocking(move || {
        let lang = lang_of(&headers);
        let w = Words::of(lang);
        let session = or_respond!(form_session(&app, &headers, &fields));
        // One decision at a time: the ledger lock is held from the check to
        // the commit, so two committee members cannot both approve.
        let mut store = or_respond!(ledger(&app));
        let proposal = match app.users().proposal(id) {
            Ok(Some(proposal)) => proposal,
            Ok(None) => return refused(StatusCode::NOT_FOUND, w.no_longer_pending),
            Err(error) => return super::app::internal(error),
        };
        if let Err(why) = may_decide(w, &session, &proposal) {
            let status = if proposal.outcome == Outcome::Pending {
                StatusCode::FORBIDDEN
            } else {
                StatusCode::CONFLICT
            };
            return refused(status, why);
        }
        if field(&fields, "decision") != "approve" {
            let rejected = Outcome::Rejected {
                by: session.user.clone(),
            };
            return match app.users().decide(id, &session.user, &rejected) {
                Ok(_) => Redirect::to("/approvals").into_response(),
                Err(error) => super::app::internal(error),
            };
        }
        let (date, body) = match entry_of(&proposal) {
            Ok(entry) => entry,
            Err(error) => return refused(StatusCode::UNPROCESSABLE_ENTITY, &error),
        };
        // Marked approved before the ledger write: a crash between the two
        // leaves an approval without its entry (visible, and proposed
        // again), never an entry that a second approval would pay twice.
        let expected = store.books().last_seq + 1;
        let approved = Outcome::Approved {
            by: session.user.clone(),
            seq: expected,
        };
        match app.users().decide(id, &session.user, &approved) {
            Ok(true) => {}
            Ok(false) => return refused(StatusCode::CONFLICT, w.no_longer_pending),
            Err(error) => return super::app::internal(error),
        }
        let written = store.write(|batch| batch.push(date, body.clone()));
        match written {
            Ok((seq, _)) => {
                if seq != expected {
                    // Another writer came between; record the real seq.
                    let _ = app.users().approved_as(id, seq);
                }
                tracing::info!(group = %store.group(), proposal = id, seq, "proposal approved and written");
                Redirect::to(&format!("/receipt?from={seq}&to={seq}")).into_response()
            }
            Err(error) => {
                let _ = app.users().undecide(id);
                drop(store);
                approvals_page(
                    &app,
                    lang,
                    &session,
                    String::new(),
                    say(lang, &error),
                    StatusCode::UNPROCESSABLE_ENTITY,
                )
            }
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(user: &str, role: Role) -> Session {
        Session {
            user: user.into(),
            role,
            csrf: String::new(),
        }
    }

    fn proposal(by: &str) -> Proposal {
        Proposal {
            id: 1,
            kind: Kind::Benefit,
            fields: Vec::new(),
            reason: "flood".into(),
            proposed_by: by.into(),
            proposed_at: 0,
            outcome: Outcome::Pending,
        }
    }

    #[test]
    fn only_a_second_committee_member_may_decide() {
        let w = Words::of(Lang::En);
        let p = proposal("somsri");
        assert_eq!(
            may_decide(w, &session("somsri", Role::Committee), &p),
            Err(w.own_proposal)
        );
        assert_eq!(
            may_decide(w, &session("malee", Role::Treasurer), &p),
            Err(w.committee_only)
        );
        assert_eq!(
            may_decide(w, &session("malee", Role::Viewer), &p),
            Err(w.committee_only)
        );
        assert_eq!(
            may_decide(w, &session("boonmee", Role::Committee), &p),
            Ok(())
        );
    }

    #[test]
    fn a_decision_is_taken_once() {
        let dir = tempfile::tempdir().unwrap();
        let users = Users::open(dir.path()).unwrap();
        let fields = vec![("member".to_string(), "3".to_string())];
        let id = users
            .propose(Kind::Benefit, &fields, "flood", "somsri")
            .unwrap();
        let approved = Outcome::Approved {
            by: "boonmee".into(),
            seq: 9,
        };
        assert!(users.decide(id, "boonmee", &approved).unwrap());
        assert!(
            !users
                .decide(
                    id,
                    "prayut",
                    &Outcome::Rejected {
                        by: "prayut".into()
                    }
                )
                .unwrap()
        );
        let stored = users.proposal(id).unwrap().unwrap();
        assert_eq!(stored.outcome, approved);
        assert_eq!(stored.fields, fields);
    }
}
