//! The app's words in Thai and English, and dates as Thai people read them.
//!
//! One struct of labels per language, checked by the compiler: a template that
//! names a missing word does not build. Thai is the default; English is a
//! switch (a cookie), never a different page.

use sajja_common::date::{Date, Month, THAI_MONTHS_SHORT};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    Th,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Th => "th",
            Lang::En => "en",
        }
    }

    pub fn from_code(code: &str) -> Lang {
        if code == "en" { Lang::En } else { Lang::Th }
    }

    pub fn words(self) -> &'static Words {
        match self {
            Lang::Th => &TH,
            Lang::En => &EN,
        }
    }

    pub fn other(self) -> Lang {
        match self {
            Lang::Th => Lang::En,
            Lang::En => Lang::Th,
        }
    }

    /// A date as the reader writes it: `7 ธ.ค. 2569` (Buddhist era) or `7 Dec 2026`.
    pub fn date(self, date: Date) -> String {
        let (year, month, day) = date.ymd();
        match self {
            Lang::Th => date.thai_display(),
            Lang::En => format!("{day} {} {year}", ENGLISH_MONTHS[month as usize - 1]),
        }
    }

    pub fn month(self, month: Month) -> String {
        let index = month.month_of_year() as usize - 1;
        match self {
            Lang::Th => format!("{} {}", THAI_MONTHS_SHORT[index], month.year() + 543),
            Lang::En => format!("{} {}", ENGLISH_MONTHS[index], month.year()),
        }
    }

    pub fn role(self, role: Role) -> &'static str {
        let w = self.words();
        match role {
            Role::Treasurer => w.role_treasurer,
            Role::Committee => w.role_committee,
            Role::Viewer => w.role_viewer,
        }
    }
}

const ENGLISH_MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Who may do what in the app: the treasurer records, committee members
/// approve, viewers read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Treasurer,
    Committee,
    Viewer,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Treasurer => "treasurer",
            Role::Committee => "committee",
            Role::Viewer => "viewer",
        }
    }

    pub fn parse(text: &str) -> Result<Role, String> {
        match text.trim() {
            "treasurer" | "เหรัญญิก" => Ok(Role::Treasurer),
            "committee" | "กรรมการ" => Ok(Role::Committee),
            "viewer" | "ผู้ดู" => Ok(Role::Viewer),
            other => Err(format!(
                "'{other}' is not a role: expected treasurer, committee or viewer"
            )),
        }
    }

    pub fn may_record(self) -> bool {
        self == Role::Treasurer
    }
}

/// Every label the pages show.
pub struct Words {
    pub lang: &'static str,
    pub switch_to: &'static str,
    pub app_name: &'static str,
    pub login: &'static str,
    pub logout: &'static str,
    pub user_name: &'static str,
    pub password: &'static str,
    pub login_failed: &'static str,
    pub login_wait: &'static str,
    pub today: &'static str,
    pub meeting: &'static str,
    pub members: &'static str,
    pub cash: &'static str,
    pub bank: &'static str,
    pub welfare_fund: &'static str,
    pub savings: &'static str,
    pub loans_out: &'static str,
    pub collection: &'static str,
    pub paid_of_due: &'static str,
    pub members_behind: &'static str,
    pub loans_overdue: &'static str,
    pub sync: &'static str,
    pub sync_all_held: &'static str,
    pub sync_waiting: &'static str,
    pub sync_never: &'static str,
    pub sync_no_hub: &'static str,
    pub start_meeting: &'static str,
    pub date: &'static str,
    pub member: &'static str,
    pub name: &'static str,
    pub contribution: &'static str,
    pub paid: &'static str,
    pub paid_already: &'static str,
    pub extra: &'static str,
    pub loan_payment: &'static str,
    pub due: &'static str,
    pub matching_local: &'static str,
    pub matching_national: &'static str,
    pub totals: &'static str,
    pub record_sheet: &'static str,
    pub sheet_refused: &'static str,
    pub not_paid_yet: &'static str,
    pub everyone_paid: &'static str,
    pub receipt: &'static str,
    pub recorded: &'static str,
    pub seq: &'static str,
    pub amount: &'static str,
    pub what: &'static str,
    pub print: &'static str,
    pub print_receipt: &'static str,
    pub passbook: &'static str,
    pub add_member: &'static str,
    pub phone: &'static str,
    pub birth_year: &'static str,
    pub sex: &'static str,
    pub female: &'static str,
    pub male: &'static str,
    pub joined: &'static str,
    pub status: &'static str,
    pub active: &'static str,
    pub left: &'static str,
    pub contributed: &'static str,
    pub savings_balance: &'static str,
    pub save: &'static str,
    pub back: &'static str,
    pub role_treasurer: &'static str,
    pub role_committee: &'static str,
    pub role_viewer: &'static str,
    pub not_allowed: &'static str,
    pub session_expired: &'static str,
    pub form_expired: &'static str,
    pub no_entries: &'static str,
    pub baht: &'static str,
    pub group: &'static str,
    pub kind_contribution: &'static str,
    pub kind_matching: &'static str,
    pub kind_savings: &'static str,
    pub kind_repayment: &'static str,
    pub kind_joined: &'static str,
    pub kind_other: &'static str,
    pub balance: &'static str,
    pub download_csv: &'static str,
    pub pool_deposits: &'static str,
    pub pool_loans: &'static str,
    pub reserve_pledged: &'static str,
    pub income: &'static str,
    pub expenses: &'static str,
    pub surplus: &'static str,
}

pub const TH: Words = Words {
    lang: "th",
    switch_to: "English",
    app_name: "สัจจะ — สมุดบัญชีกลุ่ม",
    login: "เข้าสู่ระบบ",
    logout: "ออกจากระบบ",
    user_name: "ชื่อผู้ใช้",
    password: "รหัสผ่าน",
    login_failed: "ชื่อผู้ใช้หรือรหัสผ่านไม่ถูกต้อง",
    login_wait: "ใส่รหัสผิดหลายครั้ง กรุณารอ",
    today: "วันนี้",
    meeting: "ประชุมเก็บเงิน",
    members: "สมาชิก",
    cash: "เงินสด",
    bank: "เงินฝากธนาคาร",
    welfare_fund: "กองทุนสวัสดิการ",
    savings: "เงินออม",
    loans_out: "เงินกู้คงค้าง",
    collection: "เก็บเงินสัจจะเดือนนี้",
    paid_of_due: "จ่ายแล้ว",
    members_behind: "สมาชิกที่ยังไม่จ่าย",
    loans_overdue: "เงินกู้ค้างชำระ",
    sync: "การส่งข้อมูล",
    sync_all_held: "ศูนย์ตำบลได้รับทุกรายการแล้ว ถึงลำดับที่",
    sync_waiting: "รายการรอส่งเมื่อมีสัญญาณ",
    sync_never: "ยังไม่เคยส่งข้อมูลถึงศูนย์ตำบล",
    sync_no_hub: "ยังไม่ได้เชื่อมกับศูนย์ตำบล",
    start_meeting: "เริ่มเก็บเงินประชุม",
    date: "วันที่",
    member: "สมาชิก",
    name: "ชื่อ",
    contribution: "เงินสัจจะ",
    paid: "จ่าย",
    paid_already: "จ่ายแล้ว",
    extra: "จ่ายเพิ่ม",
    loan_payment: "ชำระเงินกู้",
    due: "ครบกำหนด",
    matching_local: "เงินสมทบ อปท.",
    matching_national: "เงินสมทบรัฐบาล",
    totals: "รวม",
    record_sheet: "บันทึกทั้งแผ่น",
    sheet_refused: "ยังไม่ได้บันทึกอะไรเลย: แก้ช่องที่มีข้อความสีแดงแล้วกดบันทึกอีกครั้ง",
    not_paid_yet: "ยังไม่จ่ายเงินสัจจะงวดนี้",
    everyone_paid: "ทุกคนจ่ายงวดนี้แล้ว",
    receipt: "ใบรับเงิน",
    recorded: "บันทึกแล้ว",
    seq: "ลำดับที่",
    amount: "จำนวนเงิน",
    what: "รายการ",
    print: "พิมพ์",
    print_receipt: "พิมพ์ใบรับเงิน",
    passbook: "สมุดคู่ฝาก",
    add_member: "เพิ่มสมาชิก",
    phone: "โทรศัพท์",
    birth_year: "ปีเกิด (พ.ศ. หรือ ค.ศ.)",
    sex: "เพศ",
    female: "หญิง",
    male: "ชาย",
    joined: "วันที่สมัคร",
    status: "สถานะ",
    active: "เป็นสมาชิก",
    left: "ลาออกแล้ว",
    contributed: "เงินสัจจะสะสม",
    savings_balance: "ยอดเงินออม",
    save: "บันทึก",
    back: "กลับ",
    role_treasurer: "เหรัญญิก",
    role_committee: "กรรมการ",
    role_viewer: "ผู้ดู",
    not_allowed: "บัญชีนี้ไม่มีสิทธิ์ทำรายการนี้",
    session_expired: "หมดเวลาใช้งาน กรุณาเข้าสู่ระบบอีกครั้ง",
    form_expired: "แบบฟอร์มนี้หมดอายุ กรุณาเปิดหน้าใหม่แล้วลองอีกครั้ง (ยังไม่ได้บันทึกอะไร)",
    no_entries: "ยังไม่มีรายการ",
    baht: "บาท",
    group: "กลุ่ม",
    kind_contribution: "เงินสัจจะ",
    kind_matching: "เงินสมทบ",
    kind_savings: "ฝากเงินออม",
    kind_repayment: "ชำระเงินกู้",
    kind_joined: "สมัครเป็นสมาชิก",
    kind_other: "รายการอื่น",
    balance: "งบดุล",
    download_csv: "ดาวน์โหลด CSV (เปิดใน Excel ได้)",
    pool_deposits: "เงินฝากกองทุนเครือข่าย",
    pool_loans: "เงินกู้จากกองทุนเครือข่าย",
    reserve_pledged: "ทุนสำรองที่ค้ำประกันไว้",
    income: "รายได้",
    expenses: "ค่าใช้จ่าย",
    surplus: "รายได้สูง(ต่ำ)กว่าค่าใช้จ่าย",
};

pub const EN: Words = Words {
    lang: "en",
    switch_to: "ภาษาไทย",
    app_name: "Sajja — group books",
    login: "Log in",
    logout: "Log out",
    user_name: "User name",
    password: "Password",
    login_failed: "Wrong user name or password",
    login_wait: "Too many wrong passwords; please wait",
    today: "Today",
    meeting: "Meeting",
    members: "Members",
    cash: "Cash",
    bank: "Bank",
    welfare_fund: "Welfare fund",
    savings: "Savings",
    loans_out: "Loans outstanding",
    collection: "Contributions this month",
    paid_of_due: "paid",
    members_behind: "Members not yet paid",
    loans_overdue: "Loans overdue",
    sync: "Sync",
    sync_all_held: "The tambon hub holds every entry up to seq",
    sync_waiting: "entries waiting for the connection",
    sync_never: "Nothing has reached the tambon hub yet",
    sync_no_hub: "Not connected to a tambon hub yet",
    start_meeting: "Start the meeting sheet",
    date: "Date",
    member: "Member",
    name: "Name",
    contribution: "Contribution",
    paid: "Pay",
    paid_already: "paid",
    extra: "extra",
    loan_payment: "Loan payment",
    due: "due",
    matching_local: "Local government matching",
    matching_national: "National government matching",
    totals: "Totals",
    record_sheet: "Record the whole sheet",
    sheet_refused: "Nothing was recorded: fix the rows marked in red and submit again",
    not_paid_yet: "Not yet paid for this period",
    everyone_paid: "Everyone has paid for this period",
    receipt: "Receipt",
    recorded: "Recorded",
    seq: "Seq",
    amount: "Amount",
    what: "Entry",
    print: "Print",
    print_receipt: "Print receipt",
    passbook: "Passbook",
    add_member: "Add a member",
    phone: "Phone",
    birth_year: "Birth year (B.E. or C.E.)",
    sex: "Sex",
    female: "Female",
    male: "Male",
    joined: "Joined on",
    status: "Status",
    active: "member",
    left: "left",
    contributed: "Contributed",
    savings_balance: "Savings",
    save: "Save",
    back: "Back",
    role_treasurer: "treasurer",
    role_committee: "committee",
    role_viewer: "viewer",
    not_allowed: "This account may not do this",
    session_expired: "Your session has ended; please log in again",
    form_expired: "This form has expired; open the page again and retry (nothing was recorded)",
    no_entries: "No entries yet",
    baht: "baht",
    group: "Group",
    kind_contribution: "Contribution",
    kind_matching: "Matching contribution",
    kind_savings: "Savings deposit",
    kind_repayment: "Loan repayment",
    kind_joined: "Joined the group",
    kind_other: "Other entry",
    balance: "Balance",
    download_csv: "Download CSV (opens in Excel)",
    pool_deposits: "Pool deposits",
    pool_loans: "Loans from the pool",
    reserve_pledged: "Reserve pledged",
    income: "Income",
    expenses: "Expenses",
    surplus: "Surplus",
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_read_in_the_buddhist_era_in_thai() {
        let date: Date = "2026-12-07".parse().expect("date");
        assert_eq!(Lang::Th.date(date), "7 ธ.ค. 2569");
        assert_eq!(Lang::En.date(date), "7 Dec 2026");
        assert_eq!(Lang::Th.month(date.month()), "ธ.ค. 2569");
    }
}
