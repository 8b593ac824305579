//! Why the ledger refuses an event: one typed rule per reason, printed in one
//! line with the group and the sequence number.

use thiserror::Error;

use crate::date::{Date, Month};
use crate::event::BenefitKind;
use crate::ids::{GroupId, LoanNo, MemberNo, PoolId};
use crate::money::Money;

#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[error("group {group} seq {seq}: {rule}")]
pub struct Refusal {
    pub group: GroupId,
    pub seq: u64,
    pub rule: Rule,
}

#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum Rule {
    #[error("event is for group {0}")]
    WrongGroup(GroupId),
    #[error("expected seq {expected}")]
    OutOfSequence { expected: u64 },
    #[error("the log must start with GroupOpened")]
    NotOpened,
    #[error("the group is already open")]
    AlreadyOpened,
    #[error("the group id {group} is not in tambon {tambon} of province {province}")]
    GroupNotInTambon {
        group: GroupId,
        tambon: String,
        province: String,
    },
    #[error("dated {date}, before the group opened on {opened}")]
    BeforeOpening { date: Date, opened: Date },
    #[error("dated {date}, in the future (the latest date accepted today is {latest})")]
    FutureDate { date: Date, latest: Date },
    #[error("amount {0} is not positive")]
    NonPositiveAmount(Money),
    #[error("amount {0} is above the per-event limit")]
    AmountTooLarge(Money),
    #[error("balances would overflow")]
    Overflow,
    #[error("member {0} is not a member of this group")]
    UnknownMember(MemberNo),
    #[error("member {0} has left the group")]
    MemberHasLeft(MemberNo),
    #[error("member number {0} is already used")]
    DuplicateMember(MemberNo),
    #[error("birth year {0} is not plausible")]
    ImplausibleBirthYear(u32),
    #[error("a member contribution must name the member")]
    ContributionWithoutMember,
    #[error("withdrawal of {asked} is beyond member {member}'s savings of {savings}")]
    SavingsOverdrawn {
        member: MemberNo,
        savings: Money,
        asked: Money,
    },
    #[error("savings refund of {refund} must equal member {member}'s savings of {savings}")]
    RefundMustEqualSavings {
        member: MemberNo,
        savings: Money,
        refund: Money,
    },
    #[error("benefit of {asked} is beyond the welfare fund of {fund}")]
    BenefitBeyondFund { fund: Money, asked: Money },
    #[error(
        "{kind:?} benefit refused: waiting period of {waiting_days} days from joining on {joined} not met"
    )]
    WaitingPeriod {
        kind: BenefitKind,
        joined: Date,
        waiting_days: u32,
    },
    #[error("{kind:?} benefit of {asked} is above the rules' {max}")]
    AboveRuleAmount {
        kind: BenefitKind,
        max: Money,
        asked: Money,
    },
    #[error("sickness benefit needs the number of nights")]
    NightsRequired,
    #[error("sickness benefit of {asked} is above {nights} nights at {per_night} a night")]
    AboveNightlyRate {
        nights: u32,
        per_night: Money,
        asked: Money,
    },
    #[error("sickness nights this year would be {would_be}, above the cap of {cap}")]
    YearlyNightsCap { cap: u32, would_be: u32 },
    #[error("sickness benefits this year would be {would_be}, above the cap of {cap}")]
    YearlyAmountCap { cap: Money, would_be: Money },
    #[error("member {member} is {age} in {year}, below the pension age of {min_age}")]
    BelowPensionAge {
        member: MemberNo,
        age: u32,
        year: u32,
        min_age: u32,
    },
    #[error("{kind:?} benefit: no tier of the rules covers {years} years")]
    NoTier { kind: BenefitKind, years: u32 },
    #[error("{0:?} benefits are not offered by this fund's rules")]
    NotOffered(BenefitKind),
    #[error("{0:?} benefits are outside the rules and need a committee override")]
    NeedsCommittee(BenefitKind),
    #[error("a committee override needs a reason")]
    OverrideWithoutReason,
    #[error("a death benefit for member {0} who left for another reason")]
    BenefitAfterLeaving(MemberNo),
    #[error("dividend of {asked} is beyond the surplus of {surplus}")]
    DividendBeyondSurplus { surplus: Money, asked: Money },
    #[error("a dividend needs at least one line, each member once")]
    BadDividendLines,
    #[error("loan {0} does not exist")]
    UnknownLoan(LoanNo),
    #[error("loan number {0} is already used")]
    DuplicateLoan(LoanNo),
    #[error("loan term of {0} months is outside 1..=360")]
    BadTerm(u32),
    #[error("monthly interest of {0} basis points is above 100%")]
    BadInterestRate(u32),
    #[error("guarantor {0} is the borrower, is listed twice, or is not an active member")]
    BadGuarantor(MemberNo),
    #[error("repayment of {asked} principal is beyond the {owed} owed on loan {loan}")]
    RepaymentBeyondOwed {
        loan: LoanNo,
        owed: Money,
        asked: Money,
    },
    #[error("write-off of {asked} must equal the {outstanding} outstanding on loan {loan}")]
    WriteOffMismatch {
        loan: LoanNo,
        outstanding: Money,
        asked: Money,
    },
    #[error("repayment of {asked} is beyond the {owed} owed to pool {pool}")]
    PoolRepaymentBeyondOwed {
        pool: PoolId,
        owed: Money,
        asked: Money,
    },
    #[error("withdrawal of {asked} is beyond the {deposited} deposited in pool {pool}")]
    BeyondPoolDeposit {
        pool: PoolId,
        deposited: Money,
        asked: Money,
    },
    #[error("reserve pledge of {asked} is beyond the free funds of {free}")]
    PledgeBeyondFreeFunds { free: Money, asked: Money },
    #[error("release of {asked} is beyond the {pledged} pledged to pool {pool}")]
    ReleaseBeyondPledge {
        pool: PoolId,
        pledged: Money,
        asked: Money,
    },
    #[error(
        "a draw of {asked} to settle exchange {exchange} is beyond the {pledged} pledged to pool {pool}"
    )]
    DrawBeyondPledge {
        pool: PoolId,
        exchange: GroupId,
        pledged: Money,
        asked: Money,
    },
    #[error("{account} would fall to {would_be}")]
    WouldOverdraw { account: String, would_be: Money },
    #[error("reversal of seq {0}, which is not an earlier event of this log")]
    UnknownReversalTarget(u64),
    #[error("seq {0} is already reversed")]
    AlreadyReversed(u64),
    #[error("seq {target} is a {kind} and cannot be reversed")]
    NotReversible { target: u64, kind: &'static str },
    #[error("reversal is dated {date}, before the event it reverses ({original})")]
    ReversalBeforeOriginal { date: Date, original: Date },
    #[error("a {0} needs a reason")]
    ReasonRequired(&'static str),
    #[error("member {0} already has savings, contributions or loans; reverse those first")]
    MemberHasActivity(MemberNo),
    #[error("loan {0} already has repayments or a write-off; reverse those first")]
    LoanHasActivity(LoanNo),
    #[error("{balance} would be {would_be} on {date}")]
    NegativeOn {
        balance: String,
        would_be: Money,
        date: Date,
    },
    #[error("member {member} acts on {date}, before joining on {joined}")]
    BeforeJoining {
        member: MemberNo,
        date: Date,
        joined: Date,
    },
    #[error(
        "loan {loan} is repaid or written off on {date}, before its disbursement on {disbursed}"
    )]
    BeforeLoan {
        loan: LoanNo,
        date: Date,
        disbursed: Date,
    },
    #[error("member {member} cannot leave on {date}: they are active on {active_on}")]
    LeftBeforeActivity {
        member: MemberNo,
        date: Date,
        active_on: Date,
    },
    #[error("a death benefit for member {0} is already paid")]
    DeathBenefitAlreadyPaid(MemberNo),
    #[error(
        "member {member} already paid for {period}; record it as an extra payment if that is meant"
    )]
    PeriodAlreadyPaid { member: MemberNo, period: Month },
    #[error(
        "loan {loan}: the final due date {final_due} is not after the disbursement on {disbursed}"
    )]
    FinalDueNotAfterDisbursement {
        loan: LoanNo,
        final_due: Date,
        disbursed: Date,
    },
    #[error("month {month} is not after the last closed month {closed}")]
    PeriodAlreadyClosed { month: Month, closed: Month },
}

impl Rule {
    /// Whether the rule refuses an amount beyond a balance as it stands.
    pub fn is_about_a_balance(&self) -> bool {
        matches!(
            self,
            Rule::SavingsOverdrawn { .. }
                | Rule::BenefitBeyondFund { .. }
                | Rule::RepaymentBeyondOwed { .. }
                | Rule::PoolRepaymentBeyondOwed { .. }
                | Rule::BeyondPoolDeposit { .. }
                | Rule::PledgeBeyondFreeFunds { .. }
                | Rule::ReleaseBeyondPledge { .. }
                | Rule::DrawBeyondPledge { .. }
                | Rule::WouldOverdraw { .. }
        )
    }

    /// A stable snake_case name for the rule, for metrics and machine-readable errors.
    pub fn name(&self) -> &'static str {
        match self {
            Rule::WrongGroup(_) => "wrong_group",
            Rule::OutOfSequence { .. } => "out_of_sequence",
            Rule::NotOpened => "not_opened",
            Rule::AlreadyOpened => "already_opened",
            Rule::GroupNotInTambon { .. } => "group_not_in_tambon",
            Rule::BeforeOpening { .. } => "before_opening",
            Rule::FutureDate { .. } => "future_date",
            Rule::NonPositiveAmount(_) => "non_positive_amount",
            Rule::AmountTooLarge(_) => "amount_too_large",
            Rule::Overflow => "overflow",
            Rule::UnknownMember(_) => "unknown_member",
            Rule::MemberHasLeft(_) => "member_has_left",
            Rule::DuplicateMember(_) => "duplicate_member",
            Rule::ImplausibleBirthYear(_) => "implausible_birth_year",
            Rule::ContributionWithoutMember => "contribution_without_member",
            Rule::SavingsOverdrawn { .. } => "savings_overdrawn",
            Rule::RefundMustEqualSavings { .. } => "refund_must_equal_savings",
            Rule::BenefitBeyondFund { .. } => "benefit_beyond_fund",
            Rule::WaitingPeriod { .. } => "waiting_period",
            Rule::AboveRuleAmount { .. } => "above_rule_amount",
            Rule::NightsRequired => "nights_required",
            Rule::AboveNightlyRate { .. } => "above_nightly_rate",
            Rule::YearlyNightsCap { .. } => "yearly_nights_cap",
            Rule::YearlyAmountCap { .. } => "yearly_amount_cap",
            Rule::BelowPensionAge { .. } => "below_pension_age",
            Rule::NoTier { .. } => "no_tier",
            Rule::NotOffered(_) => "not_offered",
            Rule::NeedsCommittee(_) => "needs_committee",
            Rule::OverrideWithoutReason => "override_without_reason",
            Rule::BenefitAfterLeaving(_) => "benefit_after_leaving",
            Rule::DividendBeyondSurplus { .. } => "dividend_beyond_surplus",
            Rule::BadDividendLines => "bad_dividend_lines",
            Rule::UnknownLoan(_) => "unknown_loan",
            Rule::DuplicateLoan(_) => "duplicate_loan",
            Rule::BadTerm(_) => "bad_term",
            Rule::BadInterestRate(_) => "bad_interest_rate",
            Rule::BadGuarantor(_) => "bad_guarantor",
            Rule::RepaymentBeyondOwed { .. } => "repayment_beyond_owed",
            Rule::WriteOffMismatch { .. } => "write_off_mismatch",
            Rule::PoolRepaymentBeyondOwed { .. } => "pool_repayment_beyond_owed",
            Rule::BeyondPoolDeposit { .. } => "beyond_pool_deposit",
            Rule::PledgeBeyondFreeFunds { .. } => "pledge_beyond_free_funds",
            Rule::ReleaseBeyondPledge { .. } => "release_beyond_pledge",
            Rule::DrawBeyondPledge { .. } => "draw_beyond_pledge",
            Rule::WouldOverdraw { .. } => "would_overdraw",
            Rule::UnknownReversalTarget(_) => "unknown_reversal_target",
            Rule::AlreadyReversed(_) => "already_reversed",
            Rule::NotReversible { .. } => "not_reversible",
            Rule::ReversalBeforeOriginal { .. } => "reversal_before_original",
            Rule::ReasonRequired(_) => "reason_required",
            Rule::MemberHasActivity(_) => "member_has_activity",
            Rule::LoanHasActivity(_) => "loan_has_activity",
            Rule::PeriodAlreadyClosed { .. } => "period_already_closed",
            Rule::NegativeOn { .. } => "negative_on",
            Rule::DeathBenefitAlreadyPaid(_) => "death_benefit_already_paid",
            Rule::PeriodAlreadyPaid { .. } => "period_already_paid",
            Rule::FinalDueNotAfterDisbursement { .. } => "final_due_not_after_disbursement",
            Rule::BeforeJoining { .. } => "before_joining",
            Rule::BeforeLoan { .. } => "before_loan",
            Rule::LeftBeforeActivity { .. } => "left_before_activity",
        }
    }
}
