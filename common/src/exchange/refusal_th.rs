//! Every exchange refusal in Thai, for the exchange's staff who work in
//! Thai: the same rules as [`ExchangeRule`]'s English `Display`, one `match`
//! so a new rule cannot be added without its Thai line. Dates are
//! Buddhist-era; credits are the exchange's own unit (เครดิต), never baht.

use super::refusal::ExchangeRule;

impl ExchangeRule {
    /// One line in Thai saying why, and where it helps, what to do.
    pub fn thai(&self) -> String {
        match self {
            ExchangeRule::WrongLog(log) => {
                format!("รายการนี้เป็นของตลาดแลกเปลี่ยน {log} ไม่ใช่ตลาดนี้")
            }
            ExchangeRule::OutOfSequence { expected } => {
                format!("ลำดับรายการไม่ต่อเนื่อง: ต้องเป็นลำดับที่ {expected}")
            }
            ExchangeRule::NotOpened => "ต้องเปิดตลาดแลกเปลี่ยนก่อนบันทึกรายการอื่น".into(),
            ExchangeRule::AlreadyOpened => "ตลาดแลกเปลี่ยนนี้เปิดแล้ว".into(),
            ExchangeRule::BadTerms(what) => format!("เงื่อนไขของตลาดไม่ถูกต้อง: {what}"),
            ExchangeRule::PoolOutsideNetwork { pool, tambon } => format!(
                "กองทุนสำรอง {pool} ไม่ใช่กองทุนของเครือข่ายตำบล {tambon} หรือจังหวัด: เงินสำรองต้องเป็นของเครือข่ายเอง"
            ),
            ExchangeRule::BeforeOpening { date, opened } => format!(
                "ลงวันที่ {} ก่อนวันเปิดตลาด ({})",
                date.thai_display(),
                opened.thai_display()
            ),
            ExchangeRule::BadAccountNumber(account) => {
                format!("เลขบัญชี {account} ไม่ถูกต้อง: ใช้เลข 1 ถึง 999999")
            }
            ExchangeRule::DuplicateAccount(account) => {
                format!("มีบัญชีเลขที่ {account} แล้ว: ใช้เลขอื่น")
            }
            ExchangeRule::UnknownAccount(account) => {
                format!("ไม่มีบัญชีเลขที่ {account} ในตลาดนี้")
            }
            ExchangeRule::AccountNotOpen { account, status } => {
                let status = match *status {
                    "closed" => "ปิดแล้ว",
                    "defaulted" => "ตัดชดเชยจากเงินสำรองแล้ว",
                    other => other,
                };
                format!("บัญชี {account} {status}: บันทึกรายการเพิ่มไม่ได้")
            }
            ExchangeRule::BeforeAccountOpened {
                account,
                date,
                opened,
            } => format!(
                "ลงวันที่ {} ก่อนวันเปิดบัญชี {account} ({})",
                date.thai_display(),
                opened.thai_display()
            ),
            ExchangeRule::SelfTransfer(account) => {
                format!("บัญชี {account} โอนให้ตัวเองไม่ได้: ระบุบัญชีผู้จ่ายและผู้รับคนละบัญชี")
            }
            ExchangeRule::BadAmount(amount) => {
                format!("จำนวน {amount} เครดิต ต้องมากกว่าศูนย์และไม่เกินเพดานต่อรายการ")
            }
            ExchangeRule::BadLimit(limit) => {
                format!("วงเงิน {limit} เครดิต ติดลบหรือเกินเพดานต่อรายการ")
            }
            ExchangeRule::LimitBreached {
                account,
                limit,
                would_be,
                date,
            } => format!(
                "บัญชี {account} จะติดลบ {would_be} เครดิต ในวันที่ {} เกินวงเงิน {limit}: ลดจำนวน หรือให้คณะกรรมการเพิ่มวงเงิน",
                date.thai_display()
            ),
            ExchangeRule::LimitBelowDebit {
                account,
                new_limit,
                balance,
                date,
            } => format!(
                "บัญชี {account} มียอด {balance} เครดิต ในวันที่ {} เกินวงเงินใหม่ {new_limit}: ตั้งวงเงินต่ำกว่ายอดติดลบไม่ได้",
                date.thai_display()
            ),
            ExchangeRule::RaiseNeedsCommittee {
                account,
                limit,
                new_limit,
            } => format!(
                "การเพิ่มวงเงินบัญชี {account} จาก {limit} เป็น {new_limit} ต้องได้รับอนุมัติจากคณะกรรมการ"
            ),
            ExchangeRule::ReasonRequired(what) => format!("ต้องระบุเหตุผลของ{}", thai_kind(what)),
            ExchangeRule::LimitChangeBeforeLatest {
                account,
                date,
                latest,
            } => format!(
                "ลงวันที่ {} ก่อนการเปลี่ยนวงเงินครั้งล่าสุดของบัญชี {account} ({}): บันทึกการเปลี่ยนวงเงินตามลำดับวันที่",
                date.thai_display(),
                latest.thai_display()
            ),
            ExchangeRule::BadSerials { first, last, max } => format!(
                "เลขคูปอง {first} ถึง {last} ไม่ถูกต้อง: ต้องเป็นช่วงไม่เกิน {max} ใบ เริ่มจากเลข 1 ขึ้นไป"
            ),
            ExchangeRule::SerialAlreadyIssued(serial) => {
                format!("คูปองเลขที่ {serial} ออกไปแล้ว: เลขคูปองใช้ได้ครั้งเดียว")
            }
            ExchangeRule::VoucherNotOutstanding(serial) => {
                format!("คูปองเลขที่ {serial} ไม่ได้หมุนเวียนอยู่: ยังไม่เคยออก หรือคืนแล้ว")
            }
            ExchangeRule::ReturnBeforeIssue {
                serial,
                date,
                issued,
            } => format!(
                "ลงวันที่ {} ก่อนวันออกคูปองเลขที่ {serial} ({})",
                date.thai_display(),
                issued.thai_display()
            ),
            ExchangeRule::NotZeroBalance { account, balance } => {
                format!("บัญชี {account} มียอด {balance} เครดิต: ปิดได้เฉพาะบัญชีที่ยอดเป็นศูนย์")
            }
            ExchangeRule::NotInDebit { account, balance } => format!(
                "บัญชี {account} มียอด {balance} เครดิต ไม่ได้ติดลบ: ตัดชดเชยได้เฉพาะบัญชีที่ติดลบ (ให้ปิดบัญชีแทน)"
            ),
            ExchangeRule::WriteOffMismatch {
                account,
                debit,
                written_off,
            } => {
                format!("บัญชี {account} ติดลบ {debit} เครดิต แต่ตัดชดเชย {written_off}: ต้องตัดชดเชยทั้งหมด")
            }
            ExchangeRule::SettlementMismatch {
                written_off,
                rate,
                expected,
                settled,
            } => format!(
                "{written_off} เครดิต ที่อัตรา {rate} บาทต่อเครดิต ต้องชดเชย {expected} บาท (ปัดขึ้นเป็นสตางค์) ไม่ใช่ {settled}"
            ),
            ExchangeRule::WrongPool { expected, found } => {
                format!("ต้องชดเชยจากกองทุนสำรองของตลาด {expected} ไม่ใช่ {found}")
            }
            ExchangeRule::BeforeLastActivity {
                account,
                date,
                last_activity,
            } => format!(
                "ลงวันที่ {} ก่อนรายการล่าสุดของบัญชี {account} ({}): ปิดหรือตัดชดเชยบัญชีหลังรายการทั้งหมดของบัญชีนั้น",
                date.thai_display(),
                last_activity.thai_display()
            ),
            ExchangeRule::UnknownReversalTarget(seq) => {
                format!("รายการลำดับที่ {seq} ไม่ใช่การโอนของตลาดนี้: กลับรายการได้เฉพาะการโอน")
            }
            ExchangeRule::AlreadyReversed(seq) => {
                format!("การโอนลำดับที่ {seq} กลับรายการไปแล้ว")
            }
            ExchangeRule::ReversalBeforeOriginal { date, original } => format!(
                "ลงวันที่ {} ก่อนวันของการโอนที่กลับรายการ ({})",
                date.thai_display(),
                original.thai_display()
            ),
            ExchangeRule::FutureDate { date, latest } => format!(
                "ลงวันที่ {} หลังวันที่ {}: ลงวันที่ล่วงหน้าไม่ได้ (ตรวจนาฬิกาของเครื่อง)",
                date.thai_display(),
                latest.thai_display()
            ),
            ExchangeRule::Overflow => "ยอดเกินกว่าที่ระบบบันทึกได้".into(),
        }
    }
}

/// The entry a reason is asked for, in Thai.
fn thai_kind(what: &str) -> &'static str {
    if what.contains("limit") {
        "การเปลี่ยนวงเงิน"
    } else {
        "การกลับรายการ"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::date::Date;
    use crate::exchange::{AccountNo, Credits};

    #[test]
    fn a_limit_breach_reads_in_thai_with_a_buddhist_era_date() {
        let rule = ExchangeRule::LimitBreached {
            account: AccountNo(7),
            limit: Credits::from_whole(300),
            would_be: Credits::from_whole(-370),
            date: Date::from_ymd(2026, 11, 4).unwrap(),
        };
        assert_eq!(
            rule.thai(),
            "บัญชี 7 จะติดลบ -370.00 เครดิต ในวันที่ 4 พ.ย. 2569 เกินวงเงิน 300.00: ลดจำนวน หรือให้คณะกรรมการเพิ่มวงเงิน"
        );
    }
}
