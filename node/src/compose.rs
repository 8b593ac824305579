//! The treasurer's intentions turned into event bodies, using the books as
//! they stand (a refund, a write-off, the next member or loan number): one
//! place for the CLI, the CSV import and the web forms alike. Pure: it knows
//! nothing of SQLite, files or the network.

use sajja_common::date::Month;
use sajja_common::event::{
    BenefitKind, Body, Channel, ExpenseKind, IncomeKind, LeaveReason, LoanPlan, Rules, Sex, Source,
};
use sajja_common::ids::{LoanNo, MemberNo, PoolId};
use sajja_common::ledger::{Books, Rule, trial_balance_digest};
use sajja_common::money::Money;

/// The next unused member number: members are numbered in joining order.
pub fn next_member(books: &Books) -> MemberNo {
    MemberNo(books.members.keys().next_back().map_or(1, |m| m.0 + 1))
}

pub fn next_loan(books: &Books) -> LoanNo {
    LoanNo(books.loans.keys().next_back().map_or(1, |l| l.0 + 1))
}

/// A member leaves and takes their savings with them: the refund is what the
/// books say they hold, never a figure typed in.
pub fn member_leaves(
    books: &Books,
    member: MemberNo,
    reason: LeaveReason,
    channel: Channel,
) -> Result<Body, Rule> {
    let savings = books.member(member)?.savings;
    Ok(Body::MemberLeft {
        member,
        reason,
        savings_refund: savings,
        channel,
    })
}

/// A loan is written off for exactly what is still outstanding on it.
pub fn loan_write_off(books: &Books, loan: LoanNo) -> Result<Body, Rule> {
    let outstanding = books
        .loans
        .get(&loan)
        .ok_or(Rule::UnknownLoan(loan))?
        .outstanding();
    Ok(Body::LoanWrittenOff {
        loan,
        principal: outstanding,
    })
}

/// A contribution for `period`; `member` is `None` for matching funds not
/// tied to a member. `extra` marks a second payment for a period, meant so.
pub fn contribution(
    member: Option<MemberNo>,
    amount: Money,
    period: Month,
    source: Source,
    channel: Channel,
    extra: bool,
) -> Body {
    Body::ContributionReceived {
        member,
        amount,
        period,
        source,
        channel,
        extra,
    }
}

pub fn saving(member: MemberNo, amount: Money, channel: Channel) -> Body {
    Body::SavingsDeposited {
        member,
        amount,
        channel,
    }
}

pub fn withdrawal(member: MemberNo, amount: Money, channel: Channel) -> Body {
    Body::SavingsWithdrawn {
        member,
        amount,
        channel,
    }
}

/// A benefit; with `override_reason` the committee approves what the rules
/// would refuse.
pub fn benefit(
    member: MemberNo,
    kind: BenefitKind,
    amount: Money,
    nights: u32,
    override_reason: Option<String>,
    channel: Channel,
) -> Body {
    Body::BenefitPaid {
        member,
        kind,
        amount,
        nights,
        committee_override: override_reason.is_some(),
        override_reason: override_reason.unwrap_or_default(),
        channel,
    }
}

/// Cash to the bank, or with `draw` the bank to cash.
pub fn bank_move(amount: Money, draw: bool) -> Body {
    if draw {
        Body::CashDrawn { amount }
    } else {
        Body::CashBanked { amount }
    }
}

pub fn income(kind: IncomeKind, amount: Money, channel: Channel) -> Body {
    Body::IncomeReceived {
        kind,
        amount,
        channel,
    }
}

pub fn expense(kind: ExpenseKind, amount: Money, channel: Channel) -> Body {
    Body::ExpensePaid {
        kind,
        amount,
        channel,
    }
}

pub fn reversal(reversed_seq: u64, reason: String) -> Body {
    Body::Reversal {
        reversed_seq,
        reason,
    }
}

/// A month closed with the digest of the trial balance as the books stand.
pub fn month_close(books: &Books, month: Month) -> Body {
    Body::PeriodClosed {
        month,
        trial_balance_digest: trial_balance_digest(&books.trial_balance()),
    }
}

pub fn rules_change(rules: Rules) -> Body {
    Body::RulesChanged(rules)
}

/// A member joins under `member` (see [`next_member`]).
pub fn joining(member: MemberNo, birth_year: u32, sex: Option<Sex>) -> Body {
    Body::MemberJoined {
        member,
        birth_year,
        sex: sex.unwrap_or(Sex::Unstated),
    }
}

/// What a loan's disbursal names; `loan` is `None` for the next number.
#[derive(Clone, Debug)]
pub struct LoanRequest {
    pub loan: Option<LoanNo>,
    pub member: MemberNo,
    pub principal: Money,
    pub monthly_interest_basis_points: u32,
    pub term_months: u32,
    pub guarantors: Vec<MemberNo>,
    pub channel: Channel,
    pub plan: LoanPlan,
}

/// A loan disbursed; without a number it takes the next one the books have.
pub fn loan_disbursal(books: &Books, request: &LoanRequest) -> Body {
    Body::LoanDisbursed {
        loan: request.loan.unwrap_or_else(|| next_loan(books)),
        member: request.member,
        principal: request.principal,
        monthly_interest_basis_points: request.monthly_interest_basis_points,
        term_months: request.term_months,
        guarantors: request.guarantors.clone(),
        channel: request.channel,
        plan: request.plan,
    }
}

/// A repayment; no interest given is none paid.
pub fn loan_repayment(
    loan: LoanNo,
    principal: Money,
    interest: Option<Money>,
    channel: Channel,
) -> Body {
    Body::LoanRepaid {
        loan,
        principal,
        interest: interest.unwrap_or(Money::ZERO),
        channel,
    }
}

/// Which way money moves between the group and a network pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PoolMove {
    Deposit,
    Withdraw,
    Pledge,
    Release,
    Borrow,
    /// A pool loan repaid, with its interest (none if not given).
    Repay {
        interest: Option<Money>,
    },
}

/// The group's share of a community exchange's default, paid from its
/// pledge to `pool` (the ledger refuses more than is pledged).
pub fn reserve_draw(
    pool: PoolId,
    amount: Money,
    channel: Channel,
    exchange: sajja_common::GroupId,
    exchange_seq: u64,
) -> Body {
    Body::ReserveDrawn {
        pool,
        amount,
        channel,
        exchange,
        exchange_seq,
    }
}

/// A movement of `amount` with `pool`; pledges and releases move no cash, so
/// they take no channel.
pub fn pool_move(direction: PoolMove, pool: PoolId, amount: Money, channel: Channel) -> Body {
    match direction {
        PoolMove::Deposit => Body::PoolDeposited {
            channel,
            pool,
            amount,
        },
        PoolMove::Withdraw => Body::PoolWithdrawn {
            channel,
            pool,
            amount,
        },
        PoolMove::Pledge => Body::ReservePledged { pool, amount },
        PoolMove::Release => Body::ReserveReleased { pool, amount },
        PoolMove::Borrow => Body::PoolLoanReceived {
            channel,
            pool,
            amount,
        },
        PoolMove::Repay { interest } => Body::PoolLoanRepaid {
            channel,
            pool,
            principal: amount,
            interest: interest.unwrap_or(Money::ZERO),
        },
    }
}
