//! A community exchange's month, generated: accounts for the members of its
//! tambon's groups and for producers, enterprises, a shop and a group;
//! paper vouchers bought and some returned; and random transfers in date
//! order. Every entry is tried on the exchange's books first
//! ([`ExchangeBooks::apply`], the rules its node and every hub run), so
//! the CSV it writes imports whole. The same from a seed on every machine.

use sajja_common::exchange::{
    AccountNo, Category, Credits, ExchangeBody, ExchangeBooks, ExchangeEvent, ExchangeTerms,
    HolderKind,
};
use sajja_common::rng::Rng;
use sajja_common::{Date, GroupId, MemberNo};

/// What to generate.
#[derive(Clone, Debug)]
pub struct ExchangeSpec {
    /// `TTTTTT-XNN`.
    pub log: GroupId,
    /// The terms the exchange's node opens with (`exchange init`).
    pub terms: ExchangeTerms,
    /// The exchange's first day; transfers fill the 30 days from it.
    pub opened_on: Date,
    /// The groups whose members hold accounts (ten each).
    pub groups: Vec<GroupId>,
    /// How many transfers, at least.
    pub transfers: u32,
    /// Each account's credit limit, in whole credits.
    pub limit: i64,
    pub seed: u64,
}

/// The accounts: ten members of each group, then five producers, three
/// enterprises, a shop and the first group itself.
fn holders(groups: &[GroupId]) -> Vec<(String, HolderKind)> {
    let mut out = Vec::new();
    for group in groups {
        for member in 1..=10 {
            out.push((
                format!("member:{group}:{member}"),
                HolderKind::Member {
                    group: group.clone(),
                    member: MemberNo(member),
                },
            ));
        }
    }
    out.extend((0..5).map(|_| ("producer".to_string(), HolderKind::Producer)));
    out.extend((0..3).map(|_| ("enterprise".to_string(), HolderKind::Enterprise)));
    out.push(("shop".into(), HolderKind::Shop));
    if let Some(first) = groups.first() {
        out.push((format!("group:{first}"), HolderKind::Group(first.clone())));
    }
    out
}

/// The books an exchange's entries build, entry by entry, and the CSV rows
/// of those its rules accept.
struct Month {
    log: GroupId,
    books: ExchangeBooks,
    rows: Vec<String>,
}

impl Month {
    /// Appends `body` on `on` if the exchange's rules accept it.
    fn offer(&mut self, on: Date, body: ExchangeBody, row: impl FnOnce() -> String) -> bool {
        let event = ExchangeEvent {
            log: self.log.clone(),
            seq: self.books.last_seq + 1,
            date: on,
            recorded_at: 0,
            body,
        };
        let mut trial = self.books.clone();
        if trial.apply(&event).is_err() {
            return false;
        }
        self.books = trial;
        self.rows.push(row());
        true
    }
}

/// The month as the CSV `sajja-node exchange import` reads
/// (`date,kind,account,other,amount,category,text`), the exchange already
/// opened with `spec.terms` on `spec.opened_on`. Names are placeholders: a
/// real register keeps real names, on the exchange's node only.
pub fn month_csv(spec: &ExchangeSpec) -> String {
    let mut month = Month {
        log: spec.log.clone(),
        books: ExchangeBooks::new(spec.log.clone()),
        rows: vec!["date,kind,account,other,amount,category,text".to_string()],
    };
    let opened = spec.opened_on;
    let opening = ExchangeBody::ExchangeOpened(spec.terms.clone());
    month.offer(opened, opening, String::new);
    month.rows.truncate(1);
    let holders = holders(&spec.groups);
    let accounts = holders.len() as u32;
    for (index, (words, kind)) in holders.into_iter().enumerate() {
        let account = index as u32 + 1;
        let opens = ExchangeBody::AccountOpened {
            account: AccountNo(account),
            holder: kind,
            credit_limit: Credits::from_whole(spec.limit),
        };
        let limit = spec.limit;
        month.offer(opened, opens, || {
            format!("{opened},open,{account},{words},{limit},,ผู้ถือบัญชี {account}")
        });
    }
    // A producer buys twenty vouchers of 5 to pay those outside the exchange.
    let producer = accounts.saturating_sub(9).max(1);
    let issued = opened.add_days(4);
    let vouchers = ExchangeBody::VouchersIssued {
        account: AccountNo(producer),
        first_serial: 1,
        last_serial: 20,
        denomination: Credits::from_whole(5),
    };
    month.offer(issued, vouchers, || {
        format!("{issued},issue,{producer},1-20,5,,")
    });
    let mut rng = Rng::new(spec.seed);
    let mut made = 0;
    let mut tries = 0;
    while made < spec.transfers && tries < spec.transfers * 50 {
        tries += 1;
        let from = 1 + rng.below(u64::from(accounts)) as u32;
        let to = 1 + rng.below(u64::from(accounts)) as u32;
        let credits = 10 + rng.below(140) as i64;
        let category = Category::ALL[rng.below(4) as usize];
        // In date order, as a treasurer records them.
        let on = opened
            .add_days(rng.below(30) as u32)
            .max(month.books.last_date.unwrap_or(opened));
        if from == to {
            continue;
        }
        let body = ExchangeBody::Transfer {
            from: AccountNo(from),
            to: AccountNo(to),
            amount: Credits::from_whole(credits),
            category,
            memo: "ผัก ข้าว แรงงาน".into(),
        };
        if month.offer(on, body, || {
            format!(
                "{on},transfer,{from},{to},{credits},{},ผัก ข้าว แรงงาน",
                category.name()
            )
        }) {
            made += 1;
        }
    }
    let back = opened
        .add_days(29)
        .max(month.books.last_date.unwrap_or(opened));
    let to = (producer + 1).min(accounts);
    let returned = ExchangeBody::VouchersReturned {
        first_serial: 1,
        last_serial: 5,
        to_account: AccountNo(to),
    };
    month.offer(back, returned, || format!("{back},return,{to},1-5,,,"));
    month.rows.join("\n") + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;
    use sajja_common::exchange::ExchangeTerms;
    use sajja_common::{Money, PoolId};

    fn spec(seed: u64) -> ExchangeSpec {
        ExchangeSpec {
            log: GroupId::parse("230101-X01").unwrap(),
            terms: ExchangeTerms {
                name: "ตลาดบุญ".into(),
                unit_name: "บุญ".into(),
                rate_per_credit: Money::from_baht(1),
                reserve_pool: PoolId::parse("230101-XCH").unwrap(),
                policy_min_coverage_basis_points: 5_000,
                concentration_limit_basis_points: 2_500,
            },
            opened_on: Date::from_ymd(2026, 11, 1).unwrap(),
            groups: vec![
                GroupId::parse("230101-001").unwrap(),
                GroupId::parse("230101-002").unwrap(),
            ],
            transfers: 80,
            limit: 300,
            seed,
        }
    }

    #[test]
    fn a_month_has_every_account_and_transfer_asked_for_and_is_the_same_from_a_seed() {
        let csv = month_csv(&spec(7));
        let kinds = |kind: &str| {
            csv.lines()
                .filter(|l| l.split(',').nth(1) == Some(kind))
                .count()
        };
        assert_eq!(kinds("open"), 30);
        assert_eq!(kinds("transfer"), 80);
        assert_eq!((kinds("issue"), kinds("return")), (1, 1));
        assert_eq!(csv, month_csv(&spec(7)));
        assert_ne!(csv, month_csv(&spec(8)));
    }
}
