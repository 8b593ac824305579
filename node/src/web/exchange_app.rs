//! Exchange mode's screens: the network office's staff see every account,
//! record a transfer between two account numbers, open accounts, issue and
//! take back vouchers, and read one account's statement. Pages work
//! without JavaScript; every entry goes through [`ExchangeStore::append`]
//! (the exchange's rules, the same every hub runs), and a refusal says why
//! in one line in the reader's language and keeps what was typed.

use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use sajja_common::date::Date;
use sajja_common::exchange::{
    AccountNo, AccountStatus, Category, Credits, ExchangeBody, ExchangeBooks, HolderKind,
};
use sajja_common::ids::{GroupId, MemberNo};
use serde::Deserialize;

use super::app::{App, Shared, internal, lang_of, refused, session};
use super::exchange_words::XWords;
use super::pages::{Frame, blocking, business_today, field, form_session, render};
use super::users::Session;
use super::words::{Lang, Role, Words};
use crate::exchange::{ExchangeStore, ExchangeStoreError, Holder};
use crate::vocab;

/// What every exchange page shows around its content: the app's frame
/// (who is logged in, the language switch, the form token), the exchange's
/// words and its unit. Templates reach the frame's fields through it.
pub struct XFrame {
    frame: Frame,
    pub x: &'static XWords,
    pub unit: String,
}

impl std::ops::Deref for XFrame {
    type Target = Frame;

    fn deref(&self) -> &Frame {
        &self.frame
    }
}

impl XFrame {
    fn new(lang: Lang, session: &Session, store: &ExchangeStore, nav: &'static str) -> XFrame {
        let terms = store.books().terms.as_ref();
        let title = format!("{} {}", store.log(), terms.map_or("", |t| t.name.as_str()));
        XFrame {
            frame: Frame::titled(lang, session, title, nav),
            x: XWords::of(lang),
            unit: terms.map_or(String::new(), |t| t.unit_name.clone()),
        }
    }
}

/// The exchange's store, or the error page.
// The refusal is the page to send: returned as is.
#[allow(clippy::result_large_err)]
fn exchange(app: &App) -> Result<std::sync::MutexGuard<'_, ExchangeStore>, Response> {
    app.exchange().map_err(internal)
}

/// A refusal as the reader should see it: the exchange's rule in their
/// language, anything else as it is.
fn say(lang: Lang, error: &ExchangeStoreError) -> String {
    match (error, lang) {
        (ExchangeStoreError::Refused(r), Lang::Th) => r.rule.thai(),
        (ExchangeStoreError::Refused(r), Lang::En) => r.rule.to_string(),
        (other, _) => other.to_string(),
    }
}

fn holder_words(x: &XWords, holder: &HolderKind) -> String {
    match holder {
        HolderKind::Member { group, member } => format!("{} {group} #{member}", x.member_of),
        HolderKind::Producer => x.producer.into(),
        HolderKind::Enterprise => x.enterprise.into(),
        HolderKind::Shop => x.shop.into(),
        HolderKind::Group(group) => format!("{} {group}", x.group),
    }
}

fn status_words(x: &XWords, status: AccountStatus) -> &'static str {
    match status {
        AccountStatus::Open => x.status_open,
        AccountStatus::Closed { .. } => x.status_closed,
        AccountStatus::Defaulted { .. } => x.status_defaulted,
    }
}

fn category_words(x: &XWords, category: Category) -> &'static str {
    match category {
        Category::Goods => x.goods,
        Category::Produce => x.produce,
        Category::Services => x.services,
        Category::Labour => x.labour,
    }
}

/// Credits as typed ([`vocab::parse_credits`]), the field named in the reason.
fn parse_credits(x: &XWords, text: &str) -> Result<Credits, String> {
    vocab::parse_credits(text.trim()).map_err(|e| format!("{}: {e}", x.amount))
}

fn parse_account(x: &XWords, text: &str) -> Result<AccountNo, String> {
    vocab::parse_account(text)
        .map_err(|_| format!("{} '{}' {}", x.account, text.trim(), x.bad_number))
}

fn parse_serial(x: &XWords, text: &str) -> Result<u32, String> {
    vocab::parse_member(text.trim())
        .map(|m| m.0)
        .map_err(|_| format!("'{}' {}", text.trim(), x.bad_number))
}

fn parse_day(text: &str) -> Result<Date, String> {
    if text.trim().is_empty() {
        return Ok(business_today());
    }
    vocab::parse_date(text.trim())
}

// ---- the overview ----

pub struct AccountLine {
    pub number: u32,
    pub holder: String,
    pub name: String,
    pub balance: String,
    pub limit: String,
    pub status: &'static str,
    pub in_debit: bool,
}

#[derive(Template)]
#[template(path = "exchange_home.html")]
struct HomePage {
    f: XFrame,
    date: String,
    accounts_open: usize,
    credit: String,
    debit: String,
    vouchers: String,
    sync_line: String,
    notice: String,
    accounts: Vec<AccountLine>,
}

fn sync_line(lang: Lang, store: &ExchangeStore) -> Result<String, ExchangeStoreError> {
    let x = XWords::of(lang);
    if store.hub_link()?.is_none() {
        return Ok(x.sync_no_hub.to_string());
    }
    let (acked, at) = store.acked()?;
    let (head, _) = store.head();
    let waiting = head.saturating_sub(acked);
    Ok(match (waiting, at) {
        (_, None) => format!("{} · {waiting} {}", x.sync_never, x.sync_waiting),
        (0, Some(at)) => format!("{} {head} ({})", x.sync_all_held, lang.time(at)),
        (waiting, _) => format!("{waiting} {}", x.sync_waiting),
    })
}

fn account_lines(
    x: &XWords,
    store: &ExchangeStore,
    books: &ExchangeBooks,
) -> Result<Vec<AccountLine>, ExchangeStoreError> {
    let mut out = Vec::with_capacity(books.accounts.len());
    for (number, account) in &books.accounts {
        out.push(AccountLine {
            number: number.0,
            holder: holder_words(x, &account.holder),
            name: store.holder(*number)?.map(|h| h.name).unwrap_or_default(),
            balance: account.balance.to_string(),
            limit: account.limit.to_string(),
            status: status_words(x, account.status),
            in_debit: account.balance.centi() < 0,
        });
    }
    Ok(out)
}

#[derive(Deserialize)]
pub struct HomeQuery {
    #[serde(default)]
    recorded: Option<u64>,
}

pub async fn home(
    State(app): State<Shared>,
    headers: HeaderMap,
    Query(query): Query<HomeQuery>,
) -> Response {
    blocking(move || {
        let lang = lang_of(&headers);
        let session = or_respond!(session(&app, &headers));
        let store = or_respond!(exchange(&app));
        let x = XWords::of(lang);
        let today = business_today();
        let build = || -> Result<HomePage, ExchangeStoreError> {
            let books = store.books();
            let position = sajja_common::exchange::ExchangePosition::of(
                books,
                today,
                &std::collections::BTreeMap::new(),
            );
            let figure = |f: fn(&sajja_common::exchange::ExchangePosition) -> Credits| {
                position.as_ref().map_or(Credits::ZERO, f).to_string()
            };
            Ok(HomePage {
                date: lang.date(today),
                accounts_open: position.as_ref().map_or(0, |p| p.accounts_open),
                credit: figure(|p| p.credit_in_circulation),
                debit: figure(|p| p.debit_outstanding),
                vouchers: figure(|p| p.vouchers_outstanding),
                sync_line: sync_line(lang, &store)?,
                notice: query
                    .recorded
                    .map_or(String::new(), |seq| format!("{} {seq}", x.recorded)),
                accounts: account_lines(x, &store, books)?,
                f: XFrame::new(lang, &session, &store, "home"),
            })
        };
        match build() {
            Ok(page) => render(&page, StatusCode::OK),
            Err(error) => internal(error),
        }
    })
    .await
}

// ---- a transfer ----

#[derive(Default)]
pub struct TransferForm {
    pub from: String,
    pub to: String,
    pub amount: String,
    pub category: String,
    pub memo: String,
    pub date: String,
}

pub struct Choice {
    pub value: &'static str,
    pub label: &'static str,
}

#[derive(Template)]
#[template(path = "exchange_transfer.html")]
struct TransferPage {
    f: XFrame,
    accounts: Vec<(u32, String)>,
    categories: Vec<Choice>,
    form: TransferForm,
    error: String,
}

fn categories(x: &XWords) -> Vec<Choice> {
    Category::ALL
        .iter()
        .map(|c| Choice {
            value: c.name(),
            label: category_words(x, *c),
        })
        .collect()
}

/// Open accounts with their holders' names, for the pickers.
fn open_accounts(store: &ExchangeStore) -> Vec<(u32, String)> {
    store
        .books()
        .accounts
        .iter()
        .filter(|(_, a)| a.status == AccountStatus::Open)
        .map(|(n, _)| {
            let name = store.holder(*n).ok().flatten().map(|h| h.name);
            (n.0, name.unwrap_or_default())
        })
        .collect()
}

fn transfer_page(
    app: &App,
    lang: Lang,
    session: &Session,
    form: TransferForm,
    error: String,
    status: StatusCode,
) -> Response {
    let store = or_respond!(exchange(app));
    let page = TransferPage {
        f: XFrame::new(lang, session, &store, "transfer"),
        accounts: open_accounts(&store),
        categories: categories(XWords::of(lang)),
        form,
        error,
    };
    render(&page, status)
}

pub async fn transfer_form(State(app): State<Shared>, headers: HeaderMap) -> Response {
    blocking(move || {
        let lang = lang_of(&headers);
        let session = or_respond!(session(&app, &headers));
        let form = TransferForm {
            category: Category::Goods.name().into(),
            ..TransferForm::default()
        };
        transfer_page(&app, lang, &session, form, String::new(), StatusCode::OK)
    })
    .await
}

/// The transfer a form asks for, or why it cannot be read.
fn transfer_body(x: &XWords, form: &TransferForm) -> Result<(Date, ExchangeBody), String> {
    let category = Category::ALL
        .into_iter()
        .find(|c| c.name() == form.category)
        .ok_or_else(|| format!("{}: {}", x.category, form.category))?;
    let body = ExchangeBody::Transfer {
        from: parse_account(x, &form.from)?,
        to: parse_account(x, &form.to)?,
        amount: parse_credits(x, &form.amount)?,
        category,
        memo: form.memo.trim().chars().take(200).collect(),
    };
    Ok((parse_day(&form.date)?, body))
}

/// The session of a posted form that may record, or the refusal to send.
#[allow(clippy::result_large_err)]
fn recorder(
    app: &App,
    headers: &HeaderMap,
    fields: &[(String, String)],
) -> Result<Session, Response> {
    let session = form_session(app, headers, fields)?;
    if !session.role.may_record() {
        return Err(refused(
            StatusCode::FORBIDDEN,
            Words::of(lang_of(headers)).not_allowed,
        ));
    }
    Ok(session)
}

/// Appends `body`, then shows the overview with the entry's seq; a refusal
/// or an unreadable form comes back as `again` says, with its reason.
fn record(
    app: &App,
    lang: Lang,
    entry: Result<(Date, ExchangeBody), String>,
    holder: Option<Holder>,
    again: impl FnOnce(String) -> Response,
) -> Response {
    let (date, body) = match entry {
        Ok(entry) => entry,
        Err(reason) => return again(reason),
    };
    let appended = {
        let mut store = or_respond!(exchange(app));
        store.append(date, body, holder.as_ref())
    };
    match appended {
        Ok(seq) => Redirect::to(&format!("/?recorded={seq}")).into_response(),
        Err(error) => again(say(lang, &error)),
    }
}

pub async fn post_transfer(
    State(app): State<Shared>,
    headers: HeaderMap,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    blocking(move || {
        let lang = lang_of(&headers);
        let session = or_respond!(recorder(&app, &headers, &fields));
        let form = TransferForm {
            from: field(&fields, "from").into(),
            to: field(&fields, "to").into(),
            amount: field(&fields, "amount").into(),
            category: field(&fields, "category").into(),
            memo: field(&fields, "memo").into(),
            date: field(&fields, "date").into(),
        };
        let entry = transfer_body(XWords::of(lang), &form);
        record(&app, lang, entry, None, |error| {
            transfer_page(
                &app,
                lang,
                &session,
                form,
                error,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        })
    })
    .await
}

// ---- opening an account ----

#[derive(Default)]
pub struct OpenForm {
    pub account: String,
    pub kind: String,
    pub group: String,
    pub member: String,
    pub name: String,
    pub limit: String,
    pub date: String,
}

#[derive(Template)]
#[template(path = "exchange_open.html")]
struct OpenPage {
    f: XFrame,
    kinds: Vec<Choice>,
    form: OpenForm,
    error: String,
}

fn holder_kinds(x: &XWords) -> Vec<Choice> {
    vec![
        Choice {
            value: "member",
            label: x.member_of,
        },
        Choice {
            value: "producer",
            label: x.producer,
        },
        Choice {
            value: "enterprise",
            label: x.enterprise,
        },
        Choice {
            value: "shop",
            label: x.shop,
        },
        Choice {
            value: "group",
            label: x.group,
        },
    ]
}

fn open_page(
    app: &App,
    lang: Lang,
    session: &Session,
    form: OpenForm,
    error: String,
    status: StatusCode,
) -> Response {
    let store = or_respond!(exchange(app));
    let page = OpenPage {
        f: XFrame::new(lang, session, &store, "open"),
        kinds: holder_kinds(XWords::of(lang)),
        form,
        error,
    };
    render(&page, status)
}

pub async fn open_form(State(app): State<Shared>, headers: HeaderMap) -> Response {
    blocking(move || {
        let lang = lang_of(&headers);
        let session = or_respond!(session(&app, &headers));
        let next = {
            let store = or_respond!(exchange(&app));
            store.books().accounts.keys().last().map_or(1, |n| n.0 + 1)
        };
        let form = OpenForm {
            account: next.to_string(),
            kind: "member".into(),
            ..OpenForm::default()
        };
        open_page(&app, lang, &session, form, String::new(), StatusCode::OK)
    })
    .await
}

fn open_body(x: &XWords, form: &OpenForm) -> Result<(Date, ExchangeBody), String> {
    let group = || GroupId::parse(form.group.trim()).map_err(|e| e.to_string());
    let holder = match form.kind.as_str() {
        "member" => HolderKind::Member {
            group: group()?,
            member: vocab::parse_member(form.member.trim()).map(|m| MemberNo(m.0))?,
        },
        "group" => HolderKind::Group(group()?),
        "producer" => HolderKind::Producer,
        "enterprise" => HolderKind::Enterprise,
        "shop" => HolderKind::Shop,
        other => return Err(format!("{}: {other}", x.holder_kind)),
    };
    let body = ExchangeBody::AccountOpened {
        account: parse_account(x, &form.account)?,
        holder,
        credit_limit: parse_credits(x, &form.limit)?,
    };
    Ok((parse_day(&form.date)?, body))
}

pub async fn post_open(
    State(app): State<Shared>,
    headers: HeaderMap,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    blocking(move || {
        let lang = lang_of(&headers);
        let session = or_respond!(recorder(&app, &headers, &fields));
        let form = OpenForm {
            account: field(&fields, "account").into(),
            kind: field(&fields, "kind").into(),
            group: field(&fields, "group").into(),
            member: field(&fields, "member").into(),
            name: field(&fields, "name").trim().into(),
            limit: field(&fields, "limit").into(),
            date: field(&fields, "date").into(),
        };
        let entry = open_body(XWords::of(lang), &form);
        let holder = Holder {
            name: form.name.clone(),
            phone: None,
        };
        record(&app, lang, entry, Some(holder), |error| {
            open_page(
                &app,
                lang,
                &session,
                form,
                error,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        })
    })
    .await
}

// ---- vouchers ----

#[derive(Default)]
pub struct VoucherForm {
    pub account: String,
    pub first: String,
    pub last: String,
    pub denomination: String,
    pub date: String,
}

#[derive(Template)]
#[template(path = "exchange_vouchers.html")]
struct VouchersPage {
    f: XFrame,
    accounts: Vec<(u32, String)>,
    outstanding: String,
    form: VoucherForm,
    error: String,
}

fn vouchers_page(
    app: &App,
    lang: Lang,
    session: &Session,
    form: VoucherForm,
    error: String,
    status: StatusCode,
) -> Response {
    let store = or_respond!(exchange(app));
    let outstanding = store
        .books()
        .vouchers
        .outstanding_as_of(business_today())
        .to_string();
    let page = VouchersPage {
        f: XFrame::new(lang, session, &store, "vouchers"),
        accounts: open_accounts(&store),
        outstanding,
        form,
        error,
    };
    render(&page, status)
}

pub async fn vouchers_form(State(app): State<Shared>, headers: HeaderMap) -> Response {
    blocking(move || {
        let lang = lang_of(&headers);
        let session = or_respond!(session(&app, &headers));
        vouchers_page(
            &app,
            lang,
            &session,
            VoucherForm::default(),
            String::new(),
            StatusCode::OK,
        )
    })
    .await
}

fn voucher_body(
    x: &XWords,
    action: &str,
    form: &VoucherForm,
) -> Result<(Date, ExchangeBody), String> {
    let account = parse_account(x, &form.account)?;
    let first_serial = parse_serial(x, &form.first)?;
    let last_serial = parse_serial(x, &form.last)?;
    let body = if action == "return" {
        ExchangeBody::VouchersReturned {
            first_serial,
            last_serial,
            to_account: account,
        }
    } else {
        ExchangeBody::VouchersIssued {
            account,
            first_serial,
            last_serial,
            denomination: parse_credits(x, &form.denomination)?,
        }
    };
    Ok((parse_day(&form.date)?, body))
}

pub async fn post_vouchers(
    State(app): State<Shared>,
    headers: HeaderMap,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    blocking(move || {
        let lang = lang_of(&headers);
        let session = or_respond!(recorder(&app, &headers, &fields));
        let form = VoucherForm {
            account: field(&fields, "account").into(),
            first: field(&fields, "first").into(),
            last: field(&fields, "last").into(),
            denomination: field(&fields, "denomination").into(),
            date: field(&fields, "date").into(),
        };
        let entry = voucher_body(XWords::of(lang), field(&fields, "action"), &form);
        record(&app, lang, entry, None, |error| {
            vouchers_page(
                &app,
                lang,
                &session,
                form,
                error,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        })
    })
    .await
}

// ---- a statement ----

pub struct StatementLine {
    pub seq: u64,
    pub date: String,
    pub what: String,
    pub change: String,
    pub balance: String,
}

#[derive(Template)]
#[template(path = "exchange_statement.html")]
struct StatementPage {
    f: XFrame,
    /// A treasurer (who may lower it) or a committee member (who may also
    /// raise it) sees the limit form.
    may_change_limit: bool,
    error: String,
    account: u32,
    holder: String,
    name: String,
    limit: String,
    balance: String,
    lines: Vec<StatementLine>,
}

/// One entry as a statement line names it, never with a holder's name.
fn entry_words(x: &XWords, body: &ExchangeBody, account: AccountNo) -> String {
    match body {
        ExchangeBody::Transfer {
            from,
            to,
            category,
            memo,
            ..
        } => {
            let other = if *from == account { to } else { from };
            let arrow = if *from == account { "→" } else { "←" };
            format!(
                "{arrow} {} {other} · {} {memo}",
                x.account,
                category_words(x, *category)
            )
        }
        ExchangeBody::VouchersIssued {
            first_serial,
            last_serial,
            ..
        } => format!("{} {first_serial}–{last_serial}", x.issue),
        ExchangeBody::VouchersReturned {
            first_serial,
            last_serial,
            ..
        } => format!("{} {first_serial}–{last_serial}", x.give_back),
        other => other.kind().to_string(),
    }
}

pub async fn statement(
    State(app): State<Shared>,
    headers: HeaderMap,
    Path(account): Path<u32>,
) -> Response {
    blocking(move || {
        let lang = lang_of(&headers);
        let session = or_respond!(session(&app, &headers));
        statement_page(&app, lang, &session, account, String::new(), StatusCode::OK)
    })
    .await
}

fn statement_page(
    app: &App,
    lang: Lang,
    session: &Session,
    account: u32,
    error: String,
    status: StatusCode,
) -> Response {
    let x = XWords::of(lang);
    let store = or_respond!(exchange(app));
    let number = AccountNo(account);
    let Some(held) = store.books().accounts.get(&number).cloned() else {
        return refused(
            StatusCode::NOT_FOUND,
            &format!("{} {account}: {}", x.account, x.no_accounts),
        );
    };
    let lines = match store.statement(number) {
        Ok(lines) => lines
            .into_iter()
            .map(|(event, change, after)| StatementLine {
                seq: event.seq,
                date: lang.date(event.date),
                what: entry_words(x, &event.body, number),
                change: change.to_string(),
                balance: after.to_string(),
            })
            .collect(),
        Err(error) => return internal(error),
    };
    let name = store.holder(number).ok().flatten().map(|h| h.name);
    let page = StatementPage {
        f: XFrame::new(lang, session, &store, "home"),
        may_change_limit: matches!(session.role, Role::Treasurer | Role::Committee)
            && held.status == AccountStatus::Open,
        error,
        account,
        holder: holder_words(x, &held.holder),
        name: name.unwrap_or_default(),
        limit: held.limit.to_string(),
        balance: held.balance.to_string(),
        lines,
    };
    render(&page, status)
}

/// A credit-limit change from the statement page. Committee approval is
/// the committee member's own session: a treasurer may lower a limit, only
/// a committee member may raise one (the rules then see it approved).
pub async fn post_limit(
    State(app): State<Shared>,
    headers: HeaderMap,
    Path(account): Path<u32>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    blocking(move || {
        let lang = lang_of(&headers);
        let x = XWords::of(lang);
        let session = or_respond!(form_session(&app, &headers, &fields));
        if !matches!(session.role, Role::Treasurer | Role::Committee) {
            return refused(StatusCode::FORBIDDEN, Words::of(lang).not_allowed);
        }
        let again = |error: String| {
            statement_page(
                &app,
                lang,
                &session,
                account,
                error,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        };
        let new_limit = match parse_credits(x, field(&fields, "limit")) {
            Ok(limit) => limit,
            Err(error) => return again(error),
        };
        let current = {
            let store = or_respond!(exchange(&app));
            store
                .books()
                .accounts
                .get(&AccountNo(account))
                .map(|a| a.limit)
        };
        let committee = session.role == Role::Committee;
        if current.is_some_and(|limit| new_limit > limit) && !committee {
            return again(x.raise_needs_committee.to_string());
        }
        let body = ExchangeBody::CreditLimitChanged {
            account: AccountNo(account),
            new_limit,
            approved_by_committee: committee,
            reason: field(&fields, "reason").trim().chars().take(200).collect(),
        };
        let entry = parse_day(field(&fields, "date")).map(|date| (date, body));
        match entry {
            Err(error) => again(error),
            Ok((date, body)) => {
                let appended = {
                    let mut store = or_respond!(exchange(&app));
                    store.append(date, body, None)
                };
                match appended {
                    Ok(_) => Redirect::to(&format!("/accounts/{account}")).into_response(),
                    Err(error) => again(say(lang, &error)),
                }
            }
        }
    })
    .await
}
