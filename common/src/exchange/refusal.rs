//! Why the exchange's books refuse an event: one typed rule per reason,
//! printed in one line with the log and the sequence number, and, where
//! there is one, what to do instead.

use thiserror::Error;

use super::credits::Credits;
use super::event::{AccountNo, ExchangeEvent};
use crate::date::Date;
use crate::ids::{GroupId, PoolId};
use crate::money::Money;

#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[error("exchange {log} seq {seq}: {rule}")]
pub struct ExchangeRefusal {
    pub log: GroupId,
    pub seq: u64,
    pub rule: ExchangeRule,
}

#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum ExchangeRule {
    #[error("event is for log {0}")]
    WrongLog(GroupId),
    #[error("expected seq {expected}")]
    OutOfSequence { expected: u64 },
    #[error("the log must start with ExchangeOpened")]
    NotOpened,
    #[error("the exchange is already open")]
    AlreadyOpened,
    #[error("the exchange's terms are invalid: {0}")]
    BadTerms(&'static str),
    #[error(
        "reserve pool {pool} is not a pool of tambon {tambon} or its province: the reserve must be the network's own"
    )]
    PoolOutsideNetwork { pool: PoolId, tambon: String },
    #[error("dated {date}, before the exchange opened on {opened}")]
    BeforeOpening { date: Date, opened: Date },
    #[error("account number {0} is out of range: accounts are numbered 1 to 999999")]
    BadAccountNumber(AccountNo),
    #[error("account number {0} is already used")]
    DuplicateAccount(AccountNo),
    #[error("account {0} is not an account of this exchange")]
    UnknownAccount(AccountNo),
    #[error("account {account} is {status}: nothing more can be recorded on it")]
    AccountNotOpen {
        account: AccountNo,
        status: &'static str,
    },
    #[error("dated {date}, before account {account} was opened on {opened}")]
    BeforeAccountOpened {
        account: AccountNo,
        date: Date,
        opened: Date,
    },
    #[error("account {0} cannot pay itself: name two different accounts")]
    SelfTransfer(AccountNo),
    #[error("amount {0} is not positive or is above the per-event limit")]
    BadAmount(Credits),
    #[error("credit limit {0} is negative or above the per-event limit")]
    BadLimit(Credits),
    #[error(
        "account {account} would be {would_be} on {date}, beyond its credit limit of {limit}: record a smaller amount or have the committee raise the limit"
    )]
    LimitBreached {
        account: AccountNo,
        limit: Credits,
        would_be: Credits,
        date: Date,
    },
    #[error(
        "account {account} is {balance} on {date}, beyond the new limit of {new_limit}: a limit may not be set below the account's debit"
    )]
    LimitBelowDebit {
        account: AccountNo,
        new_limit: Credits,
        balance: Credits,
        date: Date,
    },
    #[error(
        "raising account {account}'s limit from {limit} to {new_limit} needs the committee's approval"
    )]
    RaiseNeedsCommittee {
        account: AccountNo,
        limit: Credits,
        new_limit: Credits,
    },
    #[error("a reason is required for a {0}")]
    ReasonRequired(&'static str),
    #[error(
        "dated {date}, before account {account}'s latest limit change on {latest}: limit changes are recorded in date order"
    )]
    LimitChangeBeforeLatest {
        account: AccountNo,
        date: Date,
        latest: Date,
    },
    #[error("serials {first} to {last} are not a range of at most {max} vouchers numbered from 1")]
    BadSerials { first: u32, last: u32, max: u32 },
    #[error("voucher serial {0} was already issued: a serial is issued once, ever")]
    SerialAlreadyIssued(u32),
    #[error("voucher serial {0} is not outstanding: it was never issued or already returned")]
    VoucherNotOutstanding(u32),
    #[error("dated {date}, before voucher serial {serial} was issued on {issued}")]
    ReturnBeforeIssue {
        serial: u32,
        date: Date,
        issued: Date,
    },
    #[error("account {account} has a balance of {balance}: only an account at zero is closed")]
    NotZeroBalance {
        account: AccountNo,
        balance: Credits,
    },
    #[error(
        "account {account} has a balance of {balance}, not a debit: only an account in debit defaults (close it instead)"
    )]
    NotInDebit {
        account: AccountNo,
        balance: Credits,
    },
    #[error(
        "account {account}'s debit is {debit}, but {written_off} is written off: write off the whole debit"
    )]
    WriteOffMismatch {
        account: AccountNo,
        debit: Credits,
        written_off: Credits,
    },
    #[error(
        "{written_off} credits at {rate} baht a credit settle as {expected} baht (rounded up to the satang), not {settled}"
    )]
    SettlementMismatch {
        written_off: Credits,
        rate: Money,
        expected: Money,
        settled: Money,
    },
    #[error("the debit is settled from the exchange's reserve pool {expected}, not {found}")]
    WrongPool { expected: PoolId, found: PoolId },
    #[error(
        "dated {date}, before account {account}'s last activity on {last_activity}: an account is closed or defaulted after everything recorded on it"
    )]
    BeforeLastActivity {
        account: AccountNo,
        date: Date,
        last_activity: Date,
    },
    #[error("seq {0} is not a transfer of this exchange: only a transfer is reversed")]
    UnknownReversalTarget(u64),
    #[error("transfer seq {0} is already reversed")]
    AlreadyReversed(u64),
    #[error("dated {date}, before the transfer it reverses ({original})")]
    ReversalBeforeOriginal { date: Date, original: Date },
    #[error(
        "dated {date}, after {latest}: an entry cannot be dated in the future (check the exchange node's clock)"
    )]
    FutureDate { date: Date, latest: Date },
    #[error("balances would overflow")]
    Overflow,
}

impl ExchangeRule {
    /// A stable name for the rule, for clients and metrics.
    pub fn name(&self) -> &'static str {
        match self {
            ExchangeRule::WrongLog(_) => "wrong_log",
            ExchangeRule::OutOfSequence { .. } => "out_of_sequence",
            ExchangeRule::NotOpened => "not_opened",
            ExchangeRule::AlreadyOpened => "already_opened",
            ExchangeRule::BadTerms(_) => "bad_terms",
            ExchangeRule::PoolOutsideNetwork { .. } => "pool_outside_network",
            ExchangeRule::BeforeOpening { .. } => "before_opening",
            ExchangeRule::BadAccountNumber(_) => "bad_account_number",
            ExchangeRule::DuplicateAccount(_) => "duplicate_account",
            ExchangeRule::UnknownAccount(_) => "unknown_account",
            ExchangeRule::AccountNotOpen { .. } => "account_not_open",
            ExchangeRule::BeforeAccountOpened { .. } => "before_account_opened",
            ExchangeRule::SelfTransfer(_) => "self_transfer",
            ExchangeRule::BadAmount(_) => "bad_amount",
            ExchangeRule::BadLimit(_) => "bad_limit",
            ExchangeRule::LimitBreached { .. } => "limit_breached",
            ExchangeRule::LimitBelowDebit { .. } => "limit_below_debit",
            ExchangeRule::RaiseNeedsCommittee { .. } => "raise_needs_committee",
            ExchangeRule::ReasonRequired(_) => "reason_required",
            ExchangeRule::LimitChangeBeforeLatest { .. } => "limit_change_before_latest",
            ExchangeRule::BadSerials { .. } => "bad_serials",
            ExchangeRule::SerialAlreadyIssued(_) => "serial_already_issued",
            ExchangeRule::VoucherNotOutstanding(_) => "voucher_not_outstanding",
            ExchangeRule::ReturnBeforeIssue { .. } => "return_before_issue",
            ExchangeRule::NotZeroBalance { .. } => "not_zero_balance",
            ExchangeRule::NotInDebit { .. } => "not_in_debit",
            ExchangeRule::WriteOffMismatch { .. } => "write_off_mismatch",
            ExchangeRule::SettlementMismatch { .. } => "settlement_mismatch",
            ExchangeRule::WrongPool { .. } => "wrong_pool",
            ExchangeRule::BeforeLastActivity { .. } => "before_last_activity",
            ExchangeRule::UnknownReversalTarget(_) => "unknown_reversal_target",
            ExchangeRule::AlreadyReversed(_) => "already_reversed",
            ExchangeRule::ReversalBeforeOriginal { .. } => "reversal_before_original",
            ExchangeRule::FutureDate { .. } => "future_date",
            ExchangeRule::Overflow => "overflow",
        }
    }
}

/// Refuses an event dated beyond tomorrow (the ledger's tolerance for a
/// clock a day out), on the hub as on the exchange's node: an entry from a
/// clock running ahead would otherwise hold every later entry behind it.
pub fn check_not_future(event: &ExchangeEvent, today: Date) -> Result<(), ExchangeRefusal> {
    let latest = today.add_days(crate::ledger::FUTURE_TOLERANCE_DAYS);
    if event.date > latest {
        return Err(ExchangeRefusal {
            log: event.log.clone(),
            seq: event.seq,
            rule: ExchangeRule::FutureDate {
                date: event.date,
                latest,
            },
        });
    }
    Ok(())
}
