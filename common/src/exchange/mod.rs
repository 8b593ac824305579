//! The community exchange: a mutual-credit ledger whose debit the pooled
//! Sajja reserve guarantees.
//!
//! An exchange's log is one more single-writer signed log (id `TTTTTT-XNN`,
//! [`crate::ids::GroupId::exchange_log`]), hashed and relayed by the same
//! machinery as group and hub logs, and folded by [`ExchangeBooks`] with the
//! ledger's discipline: validate, then apply; a refusal changes nothing.
//!
//! Exchange credits ([`Credits`]) are not money: every account starts at
//! zero, a transfer moves credit from one account to another, an account may
//! go negative down to its credit limit, and balances plus paper vouchers
//! outstanding always sum to zero. Credits are never added to baht; the
//! exchange's stated rate values debit in baht only to report how much of it
//! the reserve covers ([`ExchangePosition`]) and to settle a defaulted
//! account's debit against the reserve.

mod books;
mod credits;
mod event;
mod position;
mod refusal;
mod refusal_th;
mod vouchers;

pub use books::{
    AccountStatus, ExchangeAccount, ExchangeBooks, MAX_ACCOUNT_NO, MAX_POLICY_BASIS_POINTS,
    MAX_RATE_SATANG_PER_CREDIT, TransferRecord,
};
pub use credits::{Credits, MAX_CREDITS_CENTI};
pub use event::{
    AccountNo, Category, ExchangeBody, ExchangeEvent, ExchangeTerms, HolderKind,
    MAX_UNIT_NAME_BYTES,
};
pub use position::{AccountDebit, ExchangeAlert, ExchangePosition, Volume};
pub use refusal::{ExchangeRefusal, ExchangeRule, check_not_future};
pub use vouchers::{MAX_VOUCHERS_PER_EVENT, VoucherRun, Vouchers};
