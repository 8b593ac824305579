//! Bulk import of an existing paper or spreadsheet ledger from CSV: one event
//! per row, validated in order against the books as they would stand after the
//! rows above it, and committed in ONE transaction — all rows or none. Every
//! error names the spreadsheet row (the header is row 1) and the column.
//!
//! The columns are described in `node/README.md`; a file uses only those its
//! kinds need, in any order.

use std::collections::HashMap;

use sajja_common::date::{Date, Month};
use sajja_common::event::{Body, Channel, Source};
use sajja_common::ledger::Rule;
use thiserror::Error;

use crate::compose;
use crate::store::{ImportSource, RegisterEntry, Store, StoreError};
use crate::vocab::{self, parse_date, parse_loan, parse_member, parse_money};
use sajja_common::words::IMPORT_COLUMNS;

pub const KINDS: &[&str] = &[
    "member-join",
    "member-leave",
    "contribute",
    "save",
    "withdraw",
    "benefit",
    "loan-disburse",
    "loan-repay",
    "loan-write-off",
    "bank",
    "draw",
    "income",
    "expense",
    "pool-deposit",
    "pool-withdraw",
    "pool-pledge",
    "pool-release",
    "pool-borrow",
    "pool-repay",
    "reverse",
    "close-month",
];

/// The most rows the importer reads, so a wrong file cannot exhaust memory.
pub const MAX_IMPORT_ROWS: usize = 200_000;
/// The largest file the importer reads (about 300 bytes a row at the most rows).
pub const MAX_IMPORT_BYTES: u64 = 64 << 20;

#[derive(Debug, Error)]
pub enum ImportError {
    #[error("row {row}, column {column}: {message}")]
    Cell {
        row: u64,
        column: String,
        message: String,
    },
    #[error("row {row}: {message}")]
    Row { row: u64, message: String },
    #[error("nothing imported: {0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Io(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportSummary {
    pub rows: usize,
    /// Rows of kind `contribute` with no amount (a meeting sheet's members who
    /// did not pay): not events, and named so the treasurer sees them.
    pub unpaid: Vec<u64>,
    pub first_seq: u64,
    pub last_seq: u64,
}

struct Row<'a> {
    number: u64,
    record: &'a csv::StringRecord,
    columns: &'a HashMap<String, usize>,
}

impl Row<'_> {
    fn cell_error(&self, column: &str, message: impl ToString) -> ImportError {
        ImportError::Cell {
            row: self.number,
            column: column.to_string(),
            message: message.to_string(),
        }
    }

    fn get(&self, column: &str) -> Option<&str> {
        let index = *self.columns.get(column)?;
        let value = self.record.get(index)?.trim();
        (!value.is_empty()).then_some(value)
    }

    fn required(&self, column: &str) -> Result<&str, ImportError> {
        self.get(column)
            .ok_or_else(|| self.cell_error(column, "is required for this kind"))
    }

    fn parse<T>(
        &self,
        column: &str,
        parser: impl Fn(&str) -> Result<T, String>,
    ) -> Result<T, ImportError> {
        parser(self.required(column)?).map_err(|e| self.cell_error(column, e))
    }

    fn parse_or<T>(
        &self,
        column: &str,
        default: T,
        parser: impl Fn(&str) -> Result<T, String>,
    ) -> Result<T, ImportError> {
        match self.get(column) {
            None => Ok(default),
            Some(text) => parser(text).map_err(|e| self.cell_error(column, e)),
        }
    }

    fn parse_opt<T>(
        &self,
        column: &str,
        parser: impl Fn(&str) -> Result<T, String>,
    ) -> Result<Option<T>, ImportError> {
        self.get(column)
            .map(|text| parser(text).map_err(|e| self.cell_error(column, e)))
            .transpose()
    }

    fn number<T: std::str::FromStr>(&self, column: &str) -> Result<T, ImportError> {
        self.parse(column, |t| {
            t.parse::<T>()
                .map_err(|_| format!("'{t}' is not a whole number"))
        })
    }

    fn channel(&self) -> Result<Channel, ImportError> {
        self.parse_or("channel", Channel::Cash, vocab::parse_channel)
    }
}

/// The column a ledger refusal most likely points at.
fn rule_column(rule: &Rule) -> &'static str {
    match rule {
        Rule::UnknownMember(_)
        | Rule::MemberHasLeft(_)
        | Rule::DuplicateMember(_)
        | Rule::ContributionWithoutMember
        | Rule::MemberHasActivity(_)
        | Rule::BenefitAfterLeaving(_)
        | Rule::BelowPensionAge { .. } => "member",
        Rule::ImplausibleBirthYear(_) => "birth_year",
        Rule::BeforeOpening { .. } | Rule::ReversalBeforeOriginal { .. } => "date",
        Rule::UnknownLoan(_) | Rule::DuplicateLoan(_) | Rule::LoanHasActivity(_) => "loan",
        Rule::BadTerm(_) => "term",
        Rule::BadInterestRate(_) => "rate",
        Rule::BadGuarantor(_) => "guarantors",
        Rule::UnknownReversalTarget(_) | Rule::AlreadyReversed(_) | Rule::NotReversible { .. } => {
            "seq"
        }
        Rule::ReasonRequired(_) => "reason",
        Rule::OverrideWithoutReason | Rule::NeedsCommittee(_) | Rule::WaitingPeriod { .. } => {
            "override"
        }
        Rule::NightsRequired | Rule::YearlyNightsCap { .. } => "nights",
        Rule::PeriodAlreadyClosed { .. } => "month",
        Rule::PeriodAlreadyPaid { .. } => "period",
        Rule::FinalDueNotAfterDisbursement { .. } => "due",
        Rule::NotOffered(_) => "category",
        Rule::WrongGroup(_)
        | Rule::OutOfSequence { .. }
        | Rule::NotOpened
        | Rule::AlreadyOpened
        | Rule::GroupNotInTambon { .. } => "kind",
        _ => "amount",
    }
}

/// Where each spreadsheet row starts in the file. The csv reader's own line
/// count is no use here: it miscounts CRLF files (what Excel and LibreOffice
/// write on Windows) and blank lines, and a cell with a line break inside is
/// still one row. A row ends at LF, CRLF or a lone CR outside quotes.
struct SheetRows<'a> {
    bytes: &'a [u8],
    /// Byte offsets just after each line ending, in order.
    starts: Vec<usize>,
}

impl SheetRows<'_> {
    fn of(bytes: &[u8]) -> SheetRows<'_> {
        let mut starts = Vec::new();
        let mut quoted = false;
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'"' => quoted = !quoted,
                b'\r' if !quoted => {
                    if bytes.get(i + 1) == Some(&b'\n') {
                        i += 1;
                    }
                    starts.push(i + 1);
                }
                b'\n' if !quoted => starts.push(i + 1),
                _ => {}
            }
            i += 1;
        }
        SheetRows { bytes, starts }
    }

    /// The spreadsheet row (the first is 1) of the record the reader says
    /// starts at `byte` (an offset in the file, BOM included). The reader
    /// places a record where it began looking for it: on the LF of the
    /// previous CRLF, or before blank lines it skipped; the record itself
    /// starts after those.
    fn at(&self, byte: u64) -> u64 {
        let mut byte = usize::try_from(byte)
            .unwrap_or(usize::MAX)
            .min(self.bytes.len());
        while matches!(self.bytes.get(byte), Some(b'\r' | b'\n')) {
            byte += 1;
        }
        self.starts.partition_point(|&start| start <= byte) as u64 + 1
    }
}

/// SHA-256 of a file's exact bytes: what the ledger remembers of an import.
pub fn digest(bytes: &[u8]) -> [u8; 32] {
    let mut out = [0; 32];
    out.copy_from_slice(ring::digest::digest(&ring::digest::SHA256, bytes).as_ref());
    out
}

/// Imports the CSV `bytes` of the file named `file_name` into `store`: every
/// row or none. The import is recorded (digest, name, events, time) with its
/// events; the same bytes imported before are refused unless `again`.
pub fn import_csv(
    store: &mut Store,
    bytes: &[u8],
    file_name: &str,
    again: bool,
) -> Result<ImportSummary, ImportError> {
    let source = ImportSource {
        sha256: digest(bytes),
        file_name: file_name.to_string(),
        again,
    };
    // Checked before the rows are read, so a second import says so rather
    // than naming a row the first import made a duplicate of. The commit
    // checks again, in its transaction, for an import racing this one.
    if !again && let Some(earlier) = store.import_of(&source.sha256)? {
        return Err(store.already_imported(file_name, &earlier).into());
    }
    let rows = SheetRows::of(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(bytes);
    let columns = columns(&mut reader)?;

    // The rows are read (and checked as CSV) before the batch begins, so that
    // a batch raced by another process's append can be built again from them.
    let records = records(&mut reader, &rows)?;

    let ((imported, first_seq, unpaid), committed) = store.write(|batch| {
        let mut first_seq = None;
        let mut unpaid = Vec::new();
        for (index, record) in records.iter().enumerate() {
            // A spreadsheet's trailing blank lines are not events.
            if record.iter().all(|c| c.trim().is_empty()) {
                continue;
            }
            let row = Row {
                number: record
                    .position()
                    .map_or(index as u64 + 2, |p| rows.at(p.byte())),
                record,
                columns: &columns,
            };
            if row.get("amount").is_none()
                && row
                    .get("kind")
                    .is_some_and(|k| k.eq_ignore_ascii_case("contribute"))
            {
                unpaid.push(row.number);
                continue;
            }
            let (date, body, register) = row_event(&row, batch.books())?;
            match batch.push_with_register(date, body, register) {
                Ok(seq) => {
                    first_seq.get_or_insert(seq);
                }
                Err(StoreError::Refused(refusal)) => {
                    return Err(row.cell_error(rule_column(&refusal.rule), refusal.rule));
                }
                Err(other) => return Err(other.into()),
            }
        }
        let Some(first_seq) = first_seq else {
            return Err(ImportError::Row {
                row: 2,
                message: if unpaid.is_empty() {
                    "the file has no events".into()
                } else {
                    "no row has an amount: fill in what each member paid".into()
                },
            });
        };
        batch.record_import(source.clone());
        Ok((batch.len(), first_seq, unpaid))
    })?;
    let (_, last_seq) = committed.unwrap_or((first_seq, first_seq));
    Ok(ImportSummary {
        rows: imported,
        unpaid,
        first_seq,
        last_seq,
    })
}

/// The header row: each known column's index; an unknown or repeated column,
/// or a missing `date` or `kind`, is refused.
fn columns(reader: &mut csv::Reader<&[u8]>) -> Result<HashMap<String, usize>, ImportError> {
    let headers = reader
        .headers()
        .map_err(|e| ImportError::Row {
            row: 1,
            message: format!("cannot read the header row: {e}"),
        })?
        .clone();
    let mut columns = HashMap::new();
    for (index, name) in headers.iter().enumerate() {
        let name = name.trim().to_ascii_lowercase();
        if !IMPORT_COLUMNS.contains(&name.as_str()) {
            return Err(ImportError::Cell {
                row: 1,
                column: name,
                message: format!(
                    "unknown column; known columns: {}",
                    IMPORT_COLUMNS.join(", ")
                ),
            });
        }
        if columns.insert(name.clone(), index).is_some() {
            return Err(ImportError::Cell {
                row: 1,
                column: name,
                message: "appears twice".into(),
            });
        }
    }
    for required in ["date", "kind"] {
        if !columns.contains_key(required) {
            return Err(ImportError::Cell {
                row: 1,
                column: required.into(),
                message: "the header must have this column".into(),
            });
        }
    }
    Ok(columns)
}

/// Every record after the header, checked as CSV and bounded in number.
fn records(
    reader: &mut csv::Reader<&[u8]>,
    rows: &SheetRows,
) -> Result<Vec<csv::StringRecord>, ImportError> {
    let mut records = Vec::new();
    loop {
        let row_number = records.len() as u64 + 2;
        let mut record = csv::StringRecord::new();
        let more = reader
            .read_record(&mut record)
            .map_err(|e| ImportError::Row {
                row: e
                    .position()
                    .map_or(row_number, |p| rows.at(p.byte()).max(row_number)),
                message: format!("not valid CSV: {e}"),
            })?;
        if !more {
            break;
        }
        if records.len() >= MAX_IMPORT_ROWS {
            return Err(ImportError::Row {
                row: row_number,
                message: format!("more than {MAX_IMPORT_ROWS} rows; split the file"),
            });
        }
        records.push(record);
    }
    Ok(records)
}

fn row_event(
    row: &Row<'_>,
    books: &sajja_common::Books,
) -> Result<(Date, Body, Option<RegisterEntry>), ImportError> {
    let date = row.parse("date", parse_date)?;
    let kind = row.required("kind")?.to_ascii_lowercase();
    let refused = |column: &str, rule: Rule| row.cell_error(column, rule);
    let body = match kind.as_str() {
        "member-join" => {
            let (body, register) = joining(row, books)?;
            return Ok((date, body, Some(register)));
        }
        "member-leave" => {
            let member = row.parse("member", parse_member)?;
            let reason = row.parse("reason", vocab::parse_leave_reason)?;
            compose::member_leaves(books, member, reason, row.channel()?)
                .map_err(|rule| refused("member", rule))?
        }
        "contribute" => {
            let member = match row.get("member") {
                None | Some("-") => None,
                Some(text) => Some(parse_member(text).map_err(|e| row.cell_error("member", e))?),
            };
            compose::contribution(
                member,
                row.parse("amount", parse_money)?,
                row.parse_or("period", date.month(), |t| {
                    t.parse::<Month>().map_err(|e| e.to_string())
                })?,
                row.parse_or("source", Source::Member, vocab::parse_source)?,
                row.channel()?,
                row.parse_or("extra", false, vocab::parse_yes_no)?,
            )
        }
        "save" => compose::saving(
            row.parse("member", parse_member)?,
            row.parse("amount", parse_money)?,
            row.channel()?,
        ),
        "withdraw" => compose::withdrawal(
            row.parse("member", parse_member)?,
            row.parse("amount", parse_money)?,
            row.channel()?,
        ),
        "benefit" => {
            let override_reason = row.get("override").unwrap_or("").to_string();
            compose::benefit(
                row.parse("member", parse_member)?,
                row.parse("category", vocab::parse_benefit_kind)?,
                row.parse("amount", parse_money)?,
                row.parse_or("nights", 0, |t| {
                    t.parse::<u32>()
                        .map_err(|_| format!("'{t}' is not a whole number"))
                })?,
                Some(override_reason).filter(|reason| !reason.is_empty()),
                row.channel()?,
            )
        }
        "loan-disburse" => compose::loan_disbursal(books, &loan_request(row)?),
        "loan-repay" => compose::loan_repayment(
            row.parse("loan", parse_loan)?,
            row.parse("amount", parse_money)?,
            row.parse_opt("interest", parse_money)?,
            row.channel()?,
        ),
        "loan-write-off" => {
            let loan = row.parse("loan", parse_loan)?;
            compose::loan_write_off(books, loan).map_err(|rule| refused("loan", rule))?
        }
        "bank" | "draw" => compose::bank_move(row.parse("amount", parse_money)?, kind == "draw"),
        "income" => compose::income(
            row.parse("category", vocab::parse_income_kind)?,
            row.parse("amount", parse_money)?,
            row.channel()?,
        ),
        "expense" => compose::expense(
            row.parse("category", vocab::parse_expense_kind)?,
            row.parse("amount", parse_money)?,
            row.channel()?,
        ),
        "pool-deposit" | "pool-withdraw" | "pool-borrow" | "pool-pledge" | "pool-release"
        | "pool-repay" => pool_move(row, &kind)?,
        "reverse" => compose::reversal(row.number("seq")?, row.required("reason")?.to_string()),
        "close-month" => compose::month_close(
            books,
            row.parse("month", |t| t.parse::<Month>().map_err(|e| e.to_string()))?,
        ),
        other => {
            return Err(row.cell_error(
                "kind",
                format!(
                    "'{other}' is not a kind; expected one of {}",
                    KINDS.join(", ")
                ),
            ));
        }
    };
    Ok((date, body, None))
}

/// A `member-join` row: the event and the register row written with it.
fn joining(
    row: &Row<'_>,
    books: &sajja_common::Books,
) -> Result<(Body, RegisterEntry), ImportError> {
    let member = row.parse_or("member", compose::next_member(books), parse_member)?;
    let name = row.required("name")?.to_string();
    let register = RegisterEntry {
        member,
        name,
        phone: row.get("phone").map(str::to_string),
        national_id: row.get("id_number").map(str::to_string),
    };
    let body = compose::joining(
        member,
        row.number("birth_year")?,
        row.parse_opt("sex", vocab::parse_sex)?,
    );
    Ok((body, register))
}

/// A `loan-disburse` row's loan; without a `loan` cell it takes the next number.
fn loan_request(row: &Row<'_>) -> Result<compose::LoanRequest, ImportError> {
    let guarantors = match row.get("guarantors") {
        None => Vec::new(),
        Some(text) => text
            .split([' ', ';', '|'])
            .filter(|t| !t.is_empty())
            .map(parse_member)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| row.cell_error("guarantors", e))?,
    };
    Ok(compose::LoanRequest {
        loan: row.parse_opt("loan", parse_loan)?,
        member: row.parse("member", parse_member)?,
        principal: row.parse("amount", parse_money)?,
        monthly_interest_basis_points: row.parse("rate", vocab::parse_percent_basis_points)?,
        term_months: row.number("term")?,
        guarantors,
        channel: row.channel()?,
        plan: vocab::loan_plan(
            row.parse_or("plan", vocab::PlanWord::Equal, vocab::parse_plan)?,
            row.parse_opt("due", vocab::parse_date)?,
        )
        .map_err(|e| row.cell_error("plan", e))?,
    })
}

/// A `pool-…` row. Pledges and releases move no cash, so their rows are
/// not asked for a channel.
fn pool_move(row: &Row<'_>, kind: &str) -> Result<Body, ImportError> {
    use compose::PoolMove;
    let pool = row.parse("pool", |t| {
        sajja_common::PoolId::parse(t).map_err(|e| e.to_string())
    })?;
    let amount = row.parse("amount", parse_money)?;
    let direction = match kind {
        "pool-deposit" => PoolMove::Deposit,
        "pool-withdraw" => PoolMove::Withdraw,
        "pool-borrow" => PoolMove::Borrow,
        "pool-pledge" => PoolMove::Pledge,
        "pool-release" => PoolMove::Release,
        _ => PoolMove::Repay {
            interest: row.parse_opt("interest", parse_money)?,
        },
    };
    let channel = match direction {
        PoolMove::Pledge | PoolMove::Release => Channel::Cash,
        _ => row.channel()?,
    };
    Ok(compose::pool_move(direction, pool, amount, channel))
}

#[cfg(test)]
mod tests {
    use super::SheetRows;

    /// The spreadsheet row of each record the csv reader yields.
    fn rows(bytes: &[u8]) -> Vec<u64> {
        let sheet = SheetRows::of(bytes);
        let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(bytes);
        reader
            .records()
            .map(|r| sheet.at(r.unwrap().position().unwrap().byte()))
            .collect()
    }

    #[test]
    fn rows_are_counted_as_a_spreadsheet_shows_them_whatever_the_line_endings() {
        // Proves LF, CRLF and lone-CR files, a byte-order mark, skipped blank
        // lines and a cell with a line break inside all give the row a
        // spreadsheet shows (header = row 1).
        let lf = b"a,b\n1,2\n\n3,4\n";
        assert_eq!(rows(lf), [2, 4]);
        assert_eq!(rows(b"a,b\r\n1,2\r\n\r\n3,4\r\n"), [2, 4]);
        assert_eq!(rows(b"a,b\r1,2\r\r3,4\r"), [2, 4]);
        assert_eq!(rows(b"\xef\xbb\xbfa,b\r\n1,2\r\n3,4\r\n"), [2, 3]);
        assert_eq!(rows(b"a,b\r\n\"x\r\ny\",2\r\n3,4"), [2, 3]);
    }
}
