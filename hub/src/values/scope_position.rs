//! Sums and counts over the groups of a scope, and the ratios defined on them.

use sajja_common::Money;

use crate::values::lines::{Freshness, GroupLine, Health};

/// Sums and counts over the groups (and pools) under a scope.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScopePosition {
    pub scope: String,
    pub groups: u32,
    pub ok: u32,
    /// Neither stale nor forked, past an `[attention]` line.
    pub at_risk: u32,
    pub stale: u32,
    pub forked: u32,
    /// The hub's stored copy no longer verifies (see [`crate::ingest::scrub`]).
    pub damaged: u32,
    pub members: u64,
    pub cash_and_bank: Money,
    pub welfare_fund: Money,
    pub member_savings: Money,
    pub loans_outstanding: Money,
    pub loans_at_risk: Money,
    pub pool_deposits: Money,
    pub pool_loans: Money,
    pub reserve_pledged: Money,
    pub loans_in_arrears: u32,
    /// Contributions from every source, 1 January to the report date.
    pub contributions_ytd: Money,
    /// Benefits of every kind paid, 1 January to the report date.
    pub benefits_ytd: Money,
    /// The oldest last contact among the groups (unix seconds): how fresh
    /// the figures are at worst.
    pub oldest_contact: Option<i64>,
    /// The groups' funds (welfare fund + reserve pledged) twelve months
    /// before (see `GroupPosition::fund_a_year_ago`).
    pub fund_a_year_ago: Money,
    /// The groups' active members twelve months before.
    pub members_a_year_ago: u64,
    /// Contributions from members themselves (not matching funds) received
    /// in the report date's month, and due from them by the rules.
    pub member_contributions_month: Money,
    pub contributions_due_month: Money,
    /// The same from 1 January to the report date.
    pub member_contributions_ytd: Money,
    pub contributions_due_ytd: Money,
}

pub fn scope_position(lines: &[GroupLine], scope: &str, freshness: Freshness) -> ScopePosition {
    let add = |a: Money, b: Money| Money::from_satang(a.satang() + b.satang());
    let mut out = ScopePosition {
        scope: scope.to_string(),
        ..Default::default()
    };
    for line in lines {
        let p = &line.position;
        out.groups += 1;
        match line.health(freshness) {
            Health::Damaged => out.damaged += 1,
            Health::Forked => out.forked += 1,
            Health::Stale => out.stale += 1,
            Health::AtRisk => out.at_risk += 1,
            Health::Ok => out.ok += 1,
        }
        out.members += u64::from(p.active_members);
        out.cash_and_bank = add(out.cash_and_bank, add(p.cash, p.bank));
        out.welfare_fund = add(out.welfare_fund, p.welfare_fund);
        out.member_savings = add(out.member_savings, p.member_savings);
        out.loans_outstanding = add(out.loans_outstanding, p.loans_outstanding);
        out.loans_at_risk = add(out.loans_at_risk, p.arrears.at_risk_outstanding);
        out.pool_deposits = add(out.pool_deposits, p.pool_deposits);
        out.pool_loans = add(out.pool_loans, p.pool_loans);
        out.reserve_pledged = add(out.reserve_pledged, p.reserve_pledged);
        out.loans_in_arrears += p.arrears.loans;
        for (_, amount) in &p.contributions_ytd {
            out.contributions_ytd = add(out.contributions_ytd, *amount);
        }
        for (_, amount) in &p.benefits_ytd {
            out.benefits_ytd = add(out.benefits_ytd, *amount);
        }
        out.fund_a_year_ago = add(out.fund_a_year_ago, p.fund_a_year_ago);
        out.members_a_year_ago += u64::from(p.members_a_year_ago);
        out.member_contributions_month = add(
            out.member_contributions_month,
            p.member_contributions_month(),
        );
        out.contributions_due_month = add(out.contributions_due_month, p.contributions_due_month);
        out.member_contributions_ytd =
            add(out.member_contributions_ytd, p.member_contributions_ytd());
        out.contributions_due_ytd = add(out.contributions_due_ytd, p.contributions_due_ytd);
        out.oldest_contact = match (out.oldest_contact, line.last_contact_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    out
}

impl ScopePosition {
    /// Portfolio at risk > 30 days: outstanding principal of loans more than
    /// 30 days behind ÷ loans outstanding, in basis points; `None` without loans.
    pub fn par30_basis_points(&self) -> Option<i64> {
        ratio_basis_points(self.loans_at_risk, self.loans_outstanding)
    }

    /// Loan-to-fund: loans outstanding ÷ the funds members own or hold in
    /// common (member savings + welfare fund), in basis points.
    pub fn loan_to_fund_basis_points(&self) -> Option<i64> {
        ratio_basis_points(
            self.loans_outstanding,
            Money::from_satang(self.member_savings.satang() + self.welfare_fund.satang()),
        )
    }

    /// Benefits paid ÷ contributions received (every source), year to date,
    /// in basis points: how much of what comes in goes out again as welfare.
    pub fn benefits_to_contributions_basis_points(&self) -> Option<i64> {
        ratio_basis_points(self.benefits_ytd, self.contributions_ytd)
    }

    /// The groups' funds: welfare fund + reserve pledged (every contribution
    /// received less every benefit paid).
    pub fn fund(&self) -> Money {
        Money::from_satang(self.welfare_fund.satang() + self.reserve_pledged.satang())
    }

    /// Fund growth over twelve months: (fund − fund a year ago) ÷ fund a
    /// year ago, summed over the groups, in basis points (negative when the
    /// fund shrank); `None` without a fund a year ago.
    pub fn fund_growth_basis_points(&self) -> Option<i64> {
        ratio_basis_points(
            Money::from_satang(self.fund().satang() - self.fund_a_year_ago.satang()),
            self.fund_a_year_ago,
        )
    }

    /// Member growth over twelve months: (members − members a year ago) ÷
    /// members a year ago, in basis points; `None` without members then.
    pub fn member_growth_basis_points(&self) -> Option<i64> {
        (self.members_a_year_ago > 0).then(|| {
            ((i128::from(self.members) - i128::from(self.members_a_year_ago)) * 10_000
                / i128::from(self.members_a_year_ago)) as i64
        })
    }

    /// Collection rate of the month: member contributions received ÷ due,
    /// summed over the groups, in basis points; `None` when nothing is due.
    pub fn collection_rate_month_basis_points(&self) -> Option<i64> {
        ratio_basis_points(
            self.member_contributions_month,
            self.contributions_due_month,
        )
    }

    /// Collection rate from 1 January to the report date.
    pub fn collection_rate_ytd_basis_points(&self) -> Option<i64> {
        ratio_basis_points(self.member_contributions_ytd, self.contributions_due_ytd)
    }
}

/// `numerator ÷ denominator` in basis points, rounded toward zero; `None`
/// when the denominator is not positive. Exact integer arithmetic.
pub fn ratio_basis_points(numerator: Money, denominator: Money) -> Option<i64> {
    (denominator.satang() > 0).then(|| {
        (i128::from(numerator.satang()) * 10_000 / i128::from(denominator.satang())) as i64
    })
}
