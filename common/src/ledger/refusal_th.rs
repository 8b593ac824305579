//! Every ledger refusal in Thai, for treasurers who work in Thai: the same
//! rules as [`Rule`]'s English `Display`, one `match` so a new rule cannot be
//! added without its Thai line. Dates are Buddhist-era, amounts in baht.

use crate::event::BenefitKind;

use super::Rule;

/// The benefit kind as the fund's rules name it.
pub fn benefit_kind_thai(kind: BenefitKind) -> &'static str {
    match kind {
        BenefitKind::Childbirth => "คลอดบุตร",
        BenefitKind::Sickness => "เจ็บป่วยนอนโรงพยาบาล",
        BenefitKind::OldAge => "ชราภาพ",
        BenefitKind::Death => "เสียชีวิต",
        BenefitKind::Education => "การศึกษา",
        BenefitKind::Disaster => "ภัยพิบัติ",
        BenefitKind::Other => "อื่น ๆ",
    }
}

/// A guarded balance as the English refusal names it ("savings of member 1",
/// "cash"), in Thai; a name this does not know is kept as it is.
fn balance_thai(name: &str) -> String {
    let numbered = |prefix: &str| name.strip_prefix(prefix).map(str::to_string);
    if let Some(m) = numbered("savings of member ") {
        return format!("เงินออมของสมาชิกเลขที่ {m}");
    }
    if let Some(loan) = numbered("the principal outstanding on loan ") {
        return format!("เงินต้นคงค้างของสัญญาเลขที่ {loan}");
    }
    if let Some(pool) = numbered("the reserve pledged to pool ") {
        return format!("ทุนสำรองที่วางไว้กับ {pool}");
    }
    if let Some(m) = numbered("member ") {
        return format!("สมาชิกเลขที่ {m}");
    }
    match name {
        "cash" => "เงินสด".into(),
        "bank" => "เงินฝากธนาคาร".into(),
        "the welfare fund" | "welfare_fund" => "กองทุนสวัสดิการ".into(),
        "loans_receivable" => "ลูกหนี้เงินกู้".into(),
        other => other.to_string(),
    }
}

impl Rule {
    /// One line in Thai saying why, and where it helps, what to do.
    pub fn thai(&self) -> String {
        match self {
            Rule::WrongGroup(group) => format!("รายการนี้เป็นของกลุ่ม {group} ไม่ใช่กลุ่มนี้"),
            Rule::OutOfSequence { expected } => {
                format!("ลำดับรายการไม่ต่อเนื่อง: ต้องเป็นลำดับที่ {expected}")
            }
            Rule::NotOpened => "ต้องเปิดกลุ่มก่อนบันทึกรายการอื่น".into(),
            Rule::AlreadyOpened => "กลุ่มนี้เปิดแล้ว".into(),
            Rule::GroupNotInTambon {
                group,
                tambon,
                province,
            } => format!("รหัสกลุ่ม {group} ไม่อยู่ในตำบล {tambon} จังหวัด {province}"),
            Rule::BeforeOpening { date, opened } => format!(
                "วันที่ {} อยู่ก่อนวันเปิดกลุ่ม {}",
                date.thai_display(),
                opened.thai_display()
            ),
            Rule::FutureDate { date, latest } => format!(
                "วันที่ {} ยังมาไม่ถึง (บันทึกได้ถึงวันที่ {})",
                date.thai_display(),
                latest.thai_display()
            ),
            Rule::NonPositiveAmount(amount) => {
                format!("จำนวนเงิน {amount} บาท ต้องมากกว่าศูนย์")
            }
            Rule::AmountTooLarge(amount) => {
                format!("จำนวนเงิน {amount} บาท เกินกว่าที่บันทึกได้ในรายการเดียว")
            }
            Rule::Overflow => "ยอดเงินจะเกินกว่าที่ระบบเก็บได้".into(),
            Rule::UnknownMember(m) => format!("ไม่มีสมาชิกเลขที่ {m} ในกลุ่มนี้"),
            Rule::MemberHasLeft(m) => format!("สมาชิกเลขที่ {m} ลาออกจากกลุ่มแล้ว"),
            Rule::DuplicateMember(m) => format!("เลขสมาชิก {m} มีผู้ใช้แล้ว"),
            Rule::ImplausibleBirthYear(year) => format!("ปีเกิด {year} ไม่น่าจะถูกต้อง"),
            Rule::ContributionWithoutMember => "เงินสัจจะของสมาชิกต้องระบุเลขสมาชิก".into(),
            Rule::SavingsOverdrawn {
                member,
                savings,
                asked,
            } => format!("ถอน {asked} บาท เกินเงินออมของสมาชิกเลขที่ {member} ที่มี {savings} บาท"),
            Rule::RefundMustEqualSavings {
                member,
                savings,
                refund,
            } => format!(
                "เงินออมคืน {refund} บาท ต้องเท่ากับเงินออมของสมาชิกเลขที่ {member} คือ {savings} บาท"
            ),
            Rule::BenefitBeyondFund { fund, asked } => {
                format!("สวัสดิการ {asked} บาท เกินกองทุนสวัสดิการที่มี {fund} บาท")
            }
            Rule::WaitingPeriod {
                kind,
                joined,
                waiting_days,
            } => format!(
                "สวัสดิการ{}: ยังไม่ครบระยะรอ {waiting_days} วัน นับจากวันสมัคร {}",
                benefit_kind_thai(*kind),
                joined.thai_display()
            ),
            Rule::AboveRuleAmount { kind, max, asked } => format!(
                "สวัสดิการ{} {asked} บาท เกินที่ระเบียบกำหนด {max} บาท",
                benefit_kind_thai(*kind)
            ),
            Rule::NightsRequired => "สวัสดิการเจ็บป่วยต้องระบุจำนวนคืนที่นอนโรงพยาบาล".into(),
            Rule::AboveNightlyRate {
                nights,
                per_night,
                asked,
            } => format!("{asked} บาท เกินอัตรา {nights} คืน คืนละ {per_night} บาท"),
            Rule::YearlyNightsCap { cap, would_be } => {
                format!("จำนวนคืนปีนี้จะเป็น {would_be} คืน เกินเพดาน {cap} คืนต่อปี")
            }
            Rule::YearlyAmountCap { cap, would_be } => {
                format!("สวัสดิการเจ็บป่วยปีนี้จะเป็น {would_be} บาท เกินเพดาน {cap} บาทต่อปี")
            }
            Rule::BelowPensionAge {
                member,
                age,
                year,
                min_age,
            } => format!(
                "สมาชิกเลขที่ {member} อายุ {age} ปีในปี {}: ยังไม่ถึงอายุ {min_age} ปีที่รับบำนาญได้",
                year + 543
            ),
            Rule::NoTier { kind, years } => format!(
                "สวัสดิการ{}: ระเบียบไม่มีขั้นสำหรับอายุสมาชิก {years} ปี",
                benefit_kind_thai(*kind)
            ),
            Rule::NotOffered(kind) => {
                format!("ระเบียบของกองทุนไม่มีสวัสดิการ{}", benefit_kind_thai(*kind))
            }
            Rule::NeedsCommittee(kind) => format!(
                "สวัสดิการ{} อยู่นอกระเบียบ: ต้องให้กรรมการอนุมัติเป็นกรณีพิเศษ",
                benefit_kind_thai(*kind)
            ),
            Rule::OverrideWithoutReason => "การอนุมัติเป็นกรณีพิเศษต้องมีเหตุผล".into(),
            Rule::BenefitAfterLeaving(m) => {
                format!("สมาชิกเลขที่ {m} ลาออกด้วยเหตุอื่น จึงรับสวัสดิการเสียชีวิตไม่ได้")
            }
            Rule::DividendBeyondSurplus { surplus, asked } => {
                format!("ปันผล {asked} บาท เกินกำไรสะสม {surplus} บาท")
            }
            Rule::BadDividendLines => "ปันผลต้องมีอย่างน้อยหนึ่งรายการ สมาชิกคนละครั้ง".into(),
            Rule::UnknownLoan(loan) => format!("ไม่มีเงินกู้สัญญาเลขที่ {loan}"),
            Rule::DuplicateLoan(loan) => format!("เลขสัญญาเงินกู้ {loan} มีแล้ว"),
            Rule::BadTerm(months) => format!("ระยะเวลากู้ {months} เดือน ต้องอยู่ระหว่าง 1 ถึง 360"),
            Rule::BadInterestRate(bp) => {
                format!("ดอกเบี้ยรายเดือน {bp} ในหมื่นส่วน เกินร้อยละ 100")
            }
            Rule::BadGuarantor(m) => format!("ผู้ค้ำประกันเลขที่ {m} เป็นผู้กู้เอง ซ้ำกัน หรือไม่ใช่สมาชิกที่ยังอยู่"),
            Rule::RepaymentBeyondOwed { loan, owed, asked } => {
                format!("ชำระเงินต้น {asked} บาท เกินยอดค้าง {owed} บาท ของสัญญาเลขที่ {loan}")
            }
            Rule::WriteOffMismatch {
                loan,
                outstanding,
                asked,
            } => format!("ตัดหนี้สูญ {asked} บาท ต้องเท่ากับยอดค้าง {outstanding} บาท ของสัญญาเลขที่ {loan}"),
            Rule::PoolRepaymentBeyondOwed { pool, owed, asked } => {
                format!("ชำระ {asked} บาท เกินยอดที่ค้างกองทุนเครือข่าย {pool} คือ {owed} บาท")
            }
            Rule::BeyondPoolDeposit {
                pool,
                deposited,
                asked,
            } => format!("ถอน {asked} บาท เกินเงินฝากในกองทุนเครือข่าย {pool} คือ {deposited} บาท"),
            Rule::PledgeBeyondFreeFunds { free, asked } => {
                format!("วางทุนสำรอง {asked} บาท เกินเงินทุนที่ว่างอยู่ {free} บาท")
            }
            Rule::ReleaseBeyondPledge {
                pool,
                pledged,
                asked,
            } => format!("ถอนทุนสำรอง {asked} บาท เกินที่วางไว้กับ {pool} คือ {pledged} บาท"),
            Rule::DrawBeyondPledge {
                pool,
                exchange,
                pledged,
                asked,
            } => format!(
                "จ่ายชดเชยให้ตลาดแลกเปลี่ยน {exchange} {asked} บาท เกินทุนสำรองที่วางไว้กับ {pool} คือ {pledged} บาท"
            ),
            Rule::WouldOverdraw { account, would_be } => {
                format!("{} จะติดลบเป็น {would_be} บาท", balance_thai(account))
            }
            Rule::UnknownReversalTarget(seq) => {
                format!("ไม่มีรายการลำดับที่ {seq} ก่อนหน้านี้ให้กลับรายการ")
            }
            Rule::AlreadyReversed(seq) => format!("รายการลำดับที่ {seq} ถูกกลับรายการไปแล้ว"),
            Rule::NotReversible { target, kind } => {
                format!("รายการลำดับที่ {target} ({kind}) กลับรายการไม่ได้")
            }
            Rule::ReversalBeforeOriginal { date, original } => format!(
                "การกลับรายการลงวันที่ {} ก่อนรายการเดิม ({})",
                date.thai_display(),
                original.thai_display()
            ),
            Rule::ReasonRequired(what) => format!("{what} ต้องมีเหตุผล"),
            Rule::MemberHasActivity(m) => {
                format!("สมาชิกเลขที่ {m} มีเงินออม เงินสัจจะ หรือเงินกู้แล้ว: กลับรายการเหล่านั้นก่อน")
            }
            Rule::LoanHasActivity(loan) => {
                format!("สัญญาเลขที่ {loan} มีการชำระหรือตัดหนี้แล้ว: กลับรายการเหล่านั้นก่อน")
            }
            Rule::NegativeOn {
                balance,
                would_be,
                date,
            } => format!(
                "{} จะติดลบเป็น {would_be} บาท ในวันที่ {}",
                balance_thai(balance),
                date.thai_display()
            ),
            Rule::BeforeJoining {
                member,
                date,
                joined,
            } => format!(
                "สมาชิกเลขที่ {member} มีรายการวันที่ {} ก่อนวันสมัคร {}",
                date.thai_display(),
                joined.thai_display()
            ),
            Rule::BeforeLoan {
                loan,
                date,
                disbursed,
            } => format!(
                "สัญญาเลขที่ {loan} มีการชำระวันที่ {} ก่อนวันจ่ายเงินกู้ {}",
                date.thai_display(),
                disbursed.thai_display()
            ),
            Rule::LeftBeforeActivity {
                member,
                date,
                active_on,
            } => format!(
                "สมาชิกเลขที่ {member} ลาออกวันที่ {} ไม่ได้: ยังมีรายการวันที่ {}",
                date.thai_display(),
                active_on.thai_display()
            ),
            Rule::DeathBenefitAlreadyPaid(m) => {
                format!("จ่ายสวัสดิการเสียชีวิตของสมาชิกเลขที่ {m} ไปแล้ว")
            }
            Rule::PeriodAlreadyPaid { member, period } => format!(
                "สมาชิกเลขที่ {member} จ่ายงวด {}/{} แล้ว: ถ้าเป็นการจ่ายเพิ่ม ให้เลือก \"จ่ายเพิ่ม\"",
                period.month_of_year(),
                period.year() + 543
            ),
            Rule::FinalDueNotAfterDisbursement {
                loan,
                final_due,
                disbursed,
            } => format!(
                "สัญญาเลขที่ {loan}: วันครบกำหนด {} ต้องหลังวันจ่ายเงินกู้ {}",
                final_due.thai_display(),
                disbursed.thai_display()
            ),
            Rule::PeriodAlreadyClosed { month, closed } => format!(
                "เดือน {}/{} ต้องอยู่หลังเดือนที่ปิดบัญชีแล้ว {}/{}",
                month.month_of_year(),
                month.year() + 543,
                closed.month_of_year(),
                closed.year() + 543
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::date::Date;
    use crate::ids::MemberNo;
    use crate::money::Money;

    #[test]
    fn a_waiting_period_reads_in_thai_with_a_buddhist_era_date() {
        let rule = Rule::WaitingPeriod {
            kind: BenefitKind::Sickness,
            joined: Date::from_ymd(2026, 6, 1).unwrap(),
            waiting_days: 180,
        };
        let text = rule.thai();
        assert!(text.contains("ระยะรอ 180 วัน"), "{text}");
        assert!(text.contains("2569"), "{text}");
    }

    #[test]
    fn a_back_dated_withdrawal_names_the_savings_in_thai() {
        let rule = Rule::NegativeOn {
            balance: "savings of member 1".into(),
            would_be: Money::from_satang(-10_000),
            date: Date::from_ymd(2025, 2, 1).unwrap(),
        };
        let text = rule.thai();
        assert!(
            text.starts_with("เงินออมของสมาชิกเลขที่ 1 จะติดลบเป็น -100.00 บาท"),
            "{text}"
        );
        assert!(text.contains("2568"), "{text}");
    }

    #[test]
    fn an_overdrawn_saving_names_the_member_and_both_amounts() {
        let rule = Rule::SavingsOverdrawn {
            member: MemberNo(3),
            savings: Money::from_satang(10_000),
            asked: Money::from_satang(25_050),
        };
        assert_eq!(
            rule.thai(),
            "ถอน 250.50 บาท เกินเงินออมของสมาชิกเลขที่ 3 ที่มี 100.00 บาท"
        );
    }
}
