//! Paying a benefit: pick the member and the kind, and the screen checks the
//! fund's rules before anything is written and says why in words. What the
//! rules refuse can still be paid by committee override, which needs a
//! reason and a second committee member's approval ([`super::approvals`]).
//!
//! The check is the ledger's own: the entry is pushed onto a batch that is
//! dropped, so the screen and the write can never disagree about a rule.

use askama::Template;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use sajja_common::date::Date;
use sajja_common::event::{BenefitKind, Body};
use sajja_common::ledger::Rule;
use sajja_common::money::Money;

use super::app::{App, Shared, lang_of, refused, say, session};
use super::approvals::{self, Kind};
use super::forms::{BenefitForm, benefit_entry};
use super::pages::form_session;
use super::pages::{Frame, blocking, business_today, field, ledger, render};
use super::users::Session;
use super::words;
use super::words::{Lang, Role, Words};
use crate::store::{Store, StoreError, refusal_rule};
use crate::vocab;

pub const KINDS: [BenefitKind; 7] = [
    BenefitKind::Sickness,
    BenefitKind::Childbirth,
    BenefitKind::Death,
    BenefitKind::OldAge,
    BenefitKind::Education,
    BenefitKind::Disaster,
    BenefitKind::Other,
];

/// Pushes the entry onto a batch that is dropped: the ledger's verdict,
/// nothing written.
fn dry_run(store: &mut Store, date: Date, body: Body) -> Result<(), StoreError> {
    let mut batch = store.begin()?;
    batch.push(date, body).map(|_| ())
}

/// The numbers behind a refusal, in words: how far through the waiting
/// period the member is, how much of a yearly cap is left.
fn explain(lang: Lang, rule: &Rule, date: Date, body: &Body) -> Option<String> {
    let (asked, nights) = match body {
        Body::BenefitPaid { amount, nights, .. } => (*amount, *nights),
        _ => return None,
    };
    match rule {
        Rule::WaitingPeriod {
            joined,
            waiting_days,
            ..
        } => {
            let waited = date.days_since(*joined).max(0);
            let from = lang.date(joined.add_days(*waiting_days));
            Some(match lang {
                Lang::Th => {
                    format!("เป็นสมาชิกมาแล้ว {waited} จาก {waiting_days} วัน: รับได้ตั้งแต่วันที่ {from}")
                }
                Lang::En => {
                    format!("a member for {waited} of {waiting_days} days: eligible from {from}")
                }
            })
        }
        Rule::YearlyAmountCap { cap, would_be } => {
            let used = Money::from_satang(would_be.satang() - asked.satang());
            let left = Money::from_satang((cap.satang() - used.satang()).max(0));
            Some(match lang {
                Lang::Th => format!("ปีนี้รับไปแล้ว {used} บาท เหลือสิทธิ์ {left} บาท จากเพดาน {cap} บาท"),
                Lang::En => format!("{used} paid this year: {left} left of the {cap} cap"),
            })
        }
        Rule::YearlyNightsCap { cap, would_be } => {
            let used = would_be.saturating_sub(nights);
            let left = cap.saturating_sub(used);
            Some(match lang {
                Lang::Th => format!("ปีนี้เบิกไปแล้ว {used} คืน เหลือ {left} คืน จากเพดาน {cap} คืน"),
                Lang::En => format!("{used} nights paid this year: {left} left of the {cap} cap"),
            })
        }
        _ => None,
    }
}

/// What the check found, as the page shows it.
#[derive(Default)]
pub struct Verdict {
    pub checked: bool,
    pub allowed: bool,
    pub reason: String,
    pub detail: String,
    pub may_override: bool,
}

fn verdict(lang: Lang, store: &mut Store, fields: &[(String, String)]) -> Verdict {
    let (date, body) = match benefit_entry(fields, None) {
        Ok(entry) => entry,
        Err(error) => {
            return Verdict {
                checked: true,
                reason: error,
                ..Verdict::default()
            };
        }
    };
    match dry_run(store, date, body.clone()) {
        Ok(()) => Verdict {
            checked: true,
            allowed: true,
            ..Verdict::default()
        },
        Err(error) => {
            let rule = refusal_rule(&error).cloned();
            let detail = rule
                .as_ref()
                .and_then(|rule| explain(lang, rule, date, &body))
                .unwrap_or_default();
            // Worth offering the override only when the override itself
            // would pass: the committee can waive the fund's rules, not
            // the cash in the box.
            let may_override = rule.is_some()
                && benefit_entry(fields, Some("check"))
                    .ok()
                    .is_some_and(|(date, body)| dry_run(store, date, body).is_ok());
            Verdict {
                checked: true,
                allowed: false,
                reason: say(lang, &error),
                detail,
                may_override,
            }
        }
    }
}

pub struct KindOption {
    pub value: &'static str,
    pub label: &'static str,
}

#[derive(Template)]
#[template(path = "benefits.html")]
struct BenefitsPage {
    f: Frame,
    form: BenefitForm,
    members: Vec<(u32, String)>,
    kinds: Vec<KindOption>,
    fund: Money,
    verdict: Verdict,
    may_propose: bool,
}

fn benefits_page(
    lang: Lang,
    session: &Session,
    store: &Store,
    form: BenefitForm,
    verdict: Verdict,
    status: StatusCode,
) -> Response {
    let members = super::pages::active_members(store);
    let page = BenefitsPage {
        f: Frame::new(lang, session, store, "benefits"),
        form,
        members,
        kinds: KINDS
            .iter()
            .map(|k| KindOption {
                value: vocab::benefit_word(*k),
                label: words::kind_label(lang, *k),
            })
            .collect(),
        fund: store.books().accounts.welfare_fund,
        verdict,
        may_propose: matches!(session.role, Role::Treasurer | Role::Committee),
    };
    render(&page, status)
}

pub async fn benefits(State(app): State<Shared>, headers: HeaderMap) -> Response {
    blocking(move || {
        let lang = lang_of(&headers);
        let session = or_respond!(session(&app, &headers));
        let store = or_respond!(ledger(&app));
        let form = BenefitForm {
            date: lang.date(business_today()),
            ..BenefitForm::default()
        };
        benefits_page(
            lang,
            &session,
            &store,
            form,
            Verdict::default(),
            StatusCode::OK,
        )
    })
    .await
}

/// `action=check` shows the rules' verdict; `pay` writes a benefit the rules
/// allow; `propose` queues a committee override for a second approval.
pub async fn post_benefit(
    State(app): State<Shared>,
    headers: HeaderMap,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    blocking(move || post(&app, &headers, &fields)).await
}

fn post(app: &App, headers: &HeaderMap, fields: &[(String, String)]) -> Response {
    let lang = lang_of(headers);
    let w = Words::of(lang);
    let session = or_respond!(form_session(app, headers, fields));
    let action = field(fields, "action");
    let allowed = match action {
        "pay" => session.role.may_record(),
        "propose" => matches!(session.role, Role::Treasurer | Role::Committee),
        _ => true,
    };
    if !allowed {
        return refused(StatusCode::FORBIDDEN, w.not_allowed);
    }
    let mut store = or_respond!(ledger(app));
    let form = BenefitForm::of(fields);
    match action {
        "pay" => {
            // Refused: the page re-runs the check to say why.
            let written = benefit_entry(fields, None).and_then(|(date, body)| {
                store
                    .write(|batch| batch.push(date, body.clone()))
                    .map_err(|error| say(lang, &error))
            });
            match written {
                Ok((seq, _)) => {
                    tracing::info!(group = %store.group(), seq, "benefit paid");
                    Redirect::to(&format!("/receipt?from={seq}&to={seq}")).into_response()
                }
                Err(_) => {
                    let verdict = verdict(lang, &mut store, fields);
                    benefits_page(
                        lang,
                        &session,
                        &store,
                        form,
                        verdict,
                        StatusCode::UNPROCESSABLE_ENTITY,
                    )
                }
            }
        }
        "propose" => {
            let reason = form.reason.clone();
            if reason.is_empty() {
                let verdict = Verdict {
                    reason: w.reason_needed.to_string(),
                    ..verdict(lang, &mut store, fields)
                };
                return benefits_page(
                    lang,
                    &session,
                    &store,
                    form,
                    verdict,
                    StatusCode::UNPROCESSABLE_ENTITY,
                );
            }
            let checked = benefit_entry(fields, Some(&reason)).and_then(|(date, body)| {
                dry_run(&mut store, date, body).map_err(|error| say(lang, &error))
            });
            if let Err(error) = checked {
                let verdict = Verdict {
                    checked: true,
                    reason: error,
                    ..Verdict::default()
                };
                return benefits_page(
                    lang,
                    &session,
                    &store,
                    form,
                    verdict,
                    StatusCode::UNPROCESSABLE_ENTITY,
                );
            }
            drop(store);
            approvals::queue(app, &session, Kind::Benefit, fields, &reason)
        }
        _ => {
            let verdict = verdict(lang, &mut store, fields);
            benefits_page(lang, &session, &store, form, verdict, StatusCode::OK)
        }
    }
}
