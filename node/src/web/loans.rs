//! Loans: every loan with what is outstanding and how far behind its
//! schedule it is, a repayment, and a new loan with guarantors and a plan.
//! Arrears come from the ledger's own schedule (`Loan::arrears_on`), the same
//! figure the hubs fold into PAR30.

use askama::Template;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use sajja_common::date::Date;
use sajja_common::event::{Body, Channel};
use sajja_common::ids::MemberNo;
use sajja_common::money::Money;

use super::app::{FORM_FIELDS_MAX, Shared, lang_of, refused, say, session};
use super::pages::{
    Frame, blocking, business_today, field, ledger, parse_sheet_date, recorder, render,
};
use super::users::Session;
use super::words::Lang;
use crate::compose;
use crate::store::Store;
use crate::vocab;

/// The most guarantors one loan form takes.
pub const GUARANTORS_MAX: usize = 10;

pub struct LoanLine {
    pub loan: u32,
    pub borrower: String,
    pub principal: Money,
    pub outstanding: Money,
    pub overdue: Money,
    pub days_overdue: u32,
    pub disbursed: String,
    pub open: bool,
}

#[derive(Default)]
pub struct LoanForm {
    pub member: String,
    pub principal: String,
    pub rate: String,
    pub term: String,
    pub guarantors: String,
    pub loan: String,
    pub interest: String,
    pub date: String,
    pub channel: String,
}

impl LoanForm {
    fn of(fields: &[(String, String)]) -> LoanForm {
        let get = |name| field(fields, name).trim().to_string();
        LoanForm {
            member: get("member"),
            principal: get("principal"),
            rate: get("rate"),
            term: get("term"),
            guarantors: get("guarantors"),
            loan: get("loan"),
            interest: get("interest"),
            date: get("date"),
            channel: get("channel"),
        }
    }
}

#[derive(Template)]
#[template(path = "loans.html")]
struct LoansPage {
    f: Frame,
    loans: Vec<LoanLine>,
    members: Vec<(u32, String)>,
    repay: LoanForm,
    lend: LoanForm,
    repay_error: String,
    lend_error: String,
    today: String,
}

fn loan_lines(lang: Lang, store: &Store, date: Date) -> Vec<LoanLine> {
    let register = store.register().unwrap_or_default();
    let name = |m: &MemberNo| register.get(m).map_or(String::new(), |r| r.name.clone());
    let mut lines: Vec<LoanLine> = store
        .books()
        .loans
        .iter()
        .map(|(number, loan)| {
            let arrears = loan.arrears_on(date);
            LoanLine {
                loan: number.0,
                borrower: format!("{} {}", loan.member.0, name(&loan.member)),
                principal: loan.principal,
                outstanding: loan.outstanding(),
                overdue: arrears.overdue,
                days_overdue: arrears.days_past_due,
                disbursed: lang.date(loan.disbursed_on),
                open: loan.outstanding().is_positive(),
            }
        })
        .collect();
    // Open loans first, the longest overdue at the top: the committee's
    // follow-up list reads from the top.
    lines.sort_by_key(|l| (!l.open, std::cmp::Reverse(l.days_overdue), l.loan));
    lines
}

#[allow(clippy::too_many_arguments)]
fn loans_page(
    lang: Lang,
    session: &Session,
    store: &Store,
    repay: LoanForm,
    lend: LoanForm,
    repay_error: String,
    lend_error: String,
    status: StatusCode,
) -> Response {
    let today = business_today();
    let loans = loan_lines(lang, store, today);
    let members = super::pages::active_members(store);
    let page = LoansPage {
        f: Frame::new(lang, session, store, "loans"),
        loans,
        members,
        repay,
        lend,
        repay_error,
        lend_error,
        today: lang.date(today),
    };
    render(&page, status)
}

pub async fn loans(State(app): State<Shared>, headers: HeaderMap) -> Response {
    blocking(move || {
        let lang = lang_of(&headers);
        let session = or_respond!(session(&app, &headers));
        let store = or_respond!(ledger(&app));
        loans_page(
            lang,
            &session,
            &store,
            LoanForm::default(),
            LoanForm::default(),
            String::new(),
            String::new(),
            StatusCode::OK,
        )
    })
    .await
}

fn channel_of(text: &str) -> Result<Channel, String> {
    if text.is_empty() {
        Ok(Channel::Cash)
    } else {
        vocab::parse_channel(text)
    }
}

fn repayment(form: &LoanForm) -> Result<(Date, Body), String> {
    let interest = if form.interest.is_empty() {
        None
    } else {
        Some(vocab::parse_money(&form.interest)?)
    };
    Ok((
        parse_sheet_date(&form.date)?,
        compose::loan_repayment(
            vocab::parse_loan(&form.loan)?,
            vocab::parse_money(&form.principal)?,
            interest,
            channel_of(&form.channel)?,
        ),
    ))
}

fn guarantors(text: &str) -> Result<Vec<MemberNo>, String> {
    let list: Vec<&str> = text
        .split([',', ' ', '、'])
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .collect();
    if list.len() > GUARANTORS_MAX {
        return Err(format!("at most {GUARANTORS_MAX} guarantors"));
    }
    list.into_iter().map(vocab::parse_member).collect()
}

/// A new loan: its number is the next free one, taken from the batch's books
/// so two writers cannot both take it.
fn disbursement(
    form: &LoanForm,
) -> Result<(Date, impl Fn(&sajja_common::ledger::Books) -> Body), String> {
    let member = vocab::parse_member(&form.member)?;
    let principal = vocab::parse_money(&form.principal)?;
    let rate = vocab::parse_percent_basis_points(if form.rate.is_empty() {
        "0"
    } else {
        &form.rate
    })?;
    let term = vocab::whole_number(&form.term)
        .ok_or_else(|| format!("'{}' is not a number of months", form.term))?;
    let guarantors = guarantors(&form.guarantors)?;
    let channel = channel_of(&form.channel)?;
    let date = parse_sheet_date(&form.date)?;
    let request = compose::LoanRequest {
        loan: None,
        member,
        principal,
        monthly_interest_basis_points: rate,
        term_months: term,
        guarantors,
        channel,
        plan: sajja_common::event::LoanPlan::EqualInstalments,
    };
    Ok((date, move |books: &sajja_common::ledger::Books| {
        compose::loan_disbursal(books, &request)
    }))
}

/// `action=repay` records a repayment; `action=lend` a new loan.
pub async fn post_loan(
    State(app): State<Shared>,
    headers: HeaderMap,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    blocking(move || {
        let lang = lang_of(&headers);
        if fields.len() > FORM_FIELDS_MAX {
            return refused(StatusCode::PAYLOAD_TOO_LARGE, "too many fields");
        }
        let session = or_respond!(recorder(&app, &headers, field(&fields, "csrf")));
        let mut store = or_respond!(ledger(&app));
        let form = LoanForm::of(&fields);
        let lending = field(&fields, "action") == "lend";
        let written = if lending {
            disbursement(&form).and_then(|(date, build)| {
                store
                    .write(|batch| {
                        let body = build(batch.books());
                        batch.push(date, body)
                    })
                    .map_err(|e| say(lang, &e))
            })
        } else {
            repayment(&form).and_then(|(date, body)| {
                store
                    .write(|batch| batch.push(date, body.clone()))
                    .map_err(|e| say(lang, &e))
            })
        };
        match written {
            Ok((seq, _)) => {
                tracing::info!(group = %store.group(), seq, lending, "loan entry recorded");
                Redirect::to(&format!("/receipt?from={seq}&to={seq}")).into_response()
            }
            Err(error) => {
                let (repay, lend, repay_error, lend_error) = if lending {
                    (LoanForm::default(), form, String::new(), error)
                } else {
                    (form, LoanForm::default(), error, String::new())
                };
                loans_page(
                    lang,
                    &session,
                    &store,
                    repay,
                    lend,
                    repay_error,
                    lend_error,
                    StatusCode::UNPROCESSABLE_ENTITY,
                )
            }
        }
    })
    .await
}
