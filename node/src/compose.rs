//! The treasurer's intentions turned into event bodies, using the books as
//! they stand (a refund, a write-off, the next member or loan number): one
//! place for the CLI, the CSV import and the web forms alike. Pure: it knows
//! nothing of SQLite, files or the network.

use sajja_common::event::{Body, Channel, LeaveReason};
use sajja_common::ids::{LoanNo, MemberNo};
use sajja_common::ledger::{Books, Rule};

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
