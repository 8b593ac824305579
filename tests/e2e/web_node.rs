//! The treasurer's web app, served by a real `sajja-node run`: in a real
//! headless Chromium at phone width, and its web surface refusing what it must.

use std::path::Path;
use std::process::{Child, Stdio};

use sajja_testkit::webdriver::{Answer, Browser, http, require_browser};

use crate::support::*;

const PASSWORD: &str = "hall-wifi-2569";

/// A node of `members` members with accounts for a treasurer, a committee
/// member and a viewer, and its app on an ephemeral port.
struct App {
    node: Node,
    child: Child,
    base: String,
}

impl Drop for App {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn add_user(node: &Node, name: &str, role: &str) {
    add_web_user(&node.dir, name, role, PASSWORD);
}

fn start_app(dir: &Path, members: u32) -> App {
    let node = Node::new(&dir.join("node"));
    node.cli(&[
        "init",
        "--group",
        "230101-004",
        "--name",
        "กลุ่มสัจจะบ้านหนองบัว",
        "--opened-on",
        "2026-01-01",
    ]);
    let rows: Vec<String> = (1..=members)
        .map(|m| format!("2026-01-05,member-join,{m},นางสมศรี ใจดี {m},1970,"))
        .collect();
    import_rows(
        &node,
        dir,
        "members.csv",
        "date,kind,member,name,birth_year,amount",
        &rows,
    );
    add_user(&node, "somsri", "treasurer");
    add_user(&node, "prasit", "committee");
    add_user(&node, "wichai", "viewer");
    let config = dir.join("node.toml");
    std::fs::write(
        &config,
        format!(
            "data_dir = \"{}\"\n[web]\nlisten = \"127.0.0.1:0\"\n",
            node.dir.display()
        ),
    )
    .expect("config");
    let log = std::fs::File::create(dir.join("node.log")).expect("log");
    let child = std::process::Command::new(bin("sajja-node"))
        .arg("--config")
        .arg(&config)
        .arg("run")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("spawn node");
    let base = web_address(&node.dir.join("web.addr"));
    App { node, child, base }
}

fn event_count(node: &Node) -> usize {
    node.event_bytes().len()
}

/// A logged-in session over plain HTTP: its cookie and its form token.
fn login(app: &App, user: &str) -> (String, String) {
    web_login(&app.base, user, PASSWORD, "/meeting")
}

fn post_form(app: &App, path: &str, cookie: &str, body: &str) -> Answer {
    http(
        "POST",
        &format!("{}{path}", app.base),
        &[
            ("Cookie", cookie),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        body.as_bytes(),
    )
}

/// A treasurer logs in on a phone, runs a 30-member meeting in one submit,
/// sees the receipt, is refused a duplicate contribution beside its row, and
/// prints a member's passbook; screenshots at phone and desktop width.
#[test]
fn treasurer_runs_a_meeting_on_a_phone() {
    if !require_browser("treasurer_runs_a_meeting_on_a_phone") {
        return;
    }
    let dir = tempfile::tempdir().expect("dir");
    let app = start_app(dir.path(), 30);
    let before = event_count(&app.node);
    let browser = Browser::start(360, 800);

    browser.go(&format!("{}/", app.base));
    assert!(
        browser.current_url().ends_with("/login"),
        "no session goes to login"
    );
    browser.screenshot("node-login-phone");
    browser.type_into("#user", "somsri");
    browser.type_into("#password", PASSWORD);
    browser.click("#login");
    assert_eq!(browser.text("#collection"), "จ่ายแล้ว 0 / 30");
    browser.screenshot("node-today-phone");

    browser.click("#start-meeting");
    assert_eq!(browser.count("ol.sheet li.member"), 30);
    for member in 1..=30 {
        browser.click(&format!("#p{member}"));
    }
    // Three members also save, one in Thai digits.
    browser.type_into("input[name=s1]", "100");
    browser.type_into("input[name=s2]", "๕๐");
    browser.type_into("input[name=s3]", "1,250.50");
    browser.type_into("input[name=ml]", "900");
    browser.screenshot("node-meeting-phone");
    browser.click("#record");

    assert!(browser.text("#recorded").contains("บันทึกแล้ว"));
    // 30 × 30.00 contributions + 1,400.50 savings + 900.00 local matching.
    assert_eq!(browser.text("#receipt-total"), "3,200.50");
    browser.screenshot("node-receipt-phone");
    assert_eq!(event_count(&app.node), before + 34, "one sheet, 34 entries");
    let balance = app.node.cli(&["balance"]);
    assert!(
        balance.contains("3,200.50"),
        "cash holds the sheet: {balance}"
    );

    // The same member again for the same month: refused beside the row, nothing written.
    browser.go(&format!("{}/meeting", app.base));
    assert!(browser.text("#row-1").contains("จ่ายแล้ว 30.00"));
    browser.click("#p1");
    browser.click("#record");
    assert!(
        browser.text("#row-1 .row-error").contains("ถ้าเป็นการจ่ายเพิ่ม"),
        "the duplicate is explained on its row"
    );
    assert!(browser.text("#sheet-error").contains("ยังไม่ได้บันทึก"));
    browser.screenshot("node-meeting-duplicate-phone");
    assert_eq!(
        event_count(&app.node),
        before + 34,
        "a refused sheet writes nothing"
    );

    browser.go(&format!("{}/balance", app.base));
    assert!(
        browser.text("#summary").contains("3,200.50"),
        "cash on the balance page"
    );
    browser.screenshot("node-balance-phone");

    browser.go(&format!("{}/members/3", app.base));
    assert!(browser.text("#passbook").contains("นางสมศรี ใจดี 3"));
    browser.screenshot("node-passbook-phone");
    let pdf = browser.print_pdf();
    assert!(pdf.starts_with(b"%PDF"), "the passbook prints to PDF");
    let pdf_file = dir.path().join("passbook.pdf");
    std::fs::write(&pdf_file, &pdf).expect("pdf");
    if let Ok(output) = std::process::Command::new("pdftotext")
        .arg(&pdf_file)
        .arg("-")
        .output()
    {
        let printed = String::from_utf8_lossy(&output.stdout);
        assert!(printed.contains("1,250.50"), "printed passbook: {printed}");
    }

    drop(browser);
    let browser = Browser::start(1280, 900);
    log_in(&browser, &app, "somsri");
    browser.screenshot("node-today-desktop");
    browser.go(&format!("{}/approvals", app.base));
    browser.screenshot("node-approvals-desktop");
    browser.go(&format!("{}/meeting", app.base));
    browser.screenshot("node-meeting-desktop");
    browser.go(&format!("{}/lang?to=en", app.base));
    assert_eq!(browser.text("#collection"), "paid 30 / 30");
}

/// The web surface refuses what it must — no session, a wrong or missing
/// form token, a viewer or committee member recording, an oversized form,
/// an ended session — and the ledger is unchanged after each.
#[test]
fn web_surface_refuses_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("dir");
    let app = start_app(dir.path(), 3);
    let before = event_count(&app.node);
    let sheet = "date=&p1=on&c1=30";
    let (treasurer, csrf) = login(&app, "somsri");
    let (viewer, viewer_csrf) = login(&app, "wichai");
    let (committee, committee_csrf) = login(&app, "prasit");
    let oversized = format!("csrf={csrf}&{}", "s1=1&".repeat(300_000));
    let cases: Vec<(&str, Answer, u16)> = vec![
        ("no session", post_form(&app, "/meeting", "", sheet), 303),
        (
            "a made-up session",
            post_form(
                &app,
                "/meeting",
                "sajja_session=00ff",
                &format!("csrf={csrf}&{sheet}"),
            ),
            303,
        ),
        (
            "no form token",
            post_form(&app, "/meeting", &treasurer, sheet),
            403,
        ),
        (
            "another session's form token",
            post_form(
                &app,
                "/meeting",
                &treasurer,
                &format!("csrf={viewer_csrf}&{sheet}"),
            ),
            403,
        ),
        (
            "a viewer recording",
            post_form(
                &app,
                "/meeting",
                &viewer,
                &format!("csrf={viewer_csrf}&{sheet}"),
            ),
            403,
        ),
        (
            "a committee member recording",
            post_form(
                &app,
                "/meeting",
                &committee,
                &format!("csrf={committee_csrf}&{sheet}"),
            ),
            403,
        ),
        (
            "a viewer adding a member",
            post_form(
                &app,
                "/members",
                &viewer,
                &format!("csrf={viewer_csrf}&name=x&birth_year=1970&sex=f"),
            ),
            403,
        ),
        (
            "an oversized form",
            post_form(&app, "/meeting", &treasurer, &oversized),
            413,
        ),
        (
            "an unreadable amount",
            post_form(
                &app,
                "/meeting",
                &treasurer,
                &format!("csrf={csrf}&p1=on&c1=1e3"),
            ),
            422,
        ),
        (
            "a login without its form token",
            post_form(&app, "/login", "", "user=somsri&password=x"),
            403,
        ),
    ];
    for (case, answer, status) in &cases {
        assert_eq!(answer.status, *status, "{case}: {}", answer.text());
        assert_eq!(event_count(&app.node), before, "{case} wrote nothing");
    }
    // Wrong passwords are slowed down after three tries.
    let form = http("GET", &format!("{}/login", app.base), &[], b"");
    let cookie = form.cookies().into_iter().next().expect("login cookie");
    let token = cookie.split_once('=').expect("cookie").1.to_string();
    let statuses: Vec<u16> = (0..5)
        .map(|_| {
            post_form(
                &app,
                "/login",
                &cookie,
                &format!("user=prasit&password=wrong&csrf={token}"),
            )
            .status
        })
        .collect();
    assert_eq!(statuses, [401, 401, 401, 429, 429], "login throttle");
    // The treasurer's own sheet still goes through; then logging out ends the session.
    let ok = post_form(
        &app,
        "/meeting",
        &treasurer,
        &format!("csrf={csrf}&{sheet}"),
    );
    assert_eq!(ok.status, 303, "{}", ok.text());
    assert_eq!(event_count(&app.node), before + 1);
    // The balance downloads as CSV that Excel opens with Thai intact: a BOM first.
    let download = http(
        "GET",
        &format!("{}/balance.csv?date=2569-12-31", app.base),
        &[("Cookie", &treasurer)],
        b"",
    );
    assert_eq!(download.status, 200, "{}", download.text());
    assert!(
        download.body.starts_with(b"\xEF\xBB\xBF"),
        "UTF-8 byte-order mark"
    );
    assert!(
        download.text().contains("summary,cash,,,30.00"),
        "{}",
        download.text()
    );
    let no_session = http("GET", &format!("{}/balance.csv", app.base), &[], b"");
    assert_eq!(no_session.status, 303, "no download without a session");
    assert_eq!(
        post_form(&app, "/logout", &treasurer, &format!("csrf={csrf}")).status,
        303
    );
    let after_logout = post_form(
        &app,
        "/meeting",
        &treasurer,
        &format!("csrf={csrf}&p2=on&c2=30"),
    );
    assert_eq!(after_logout.status, 303, "an ended session goes to login");
    assert_eq!(after_logout.header("location"), Some("/login?expired=1"));
    assert_eq!(event_count(&app.node), before + 1);
}

/// The welfare fund of `app`'s group after its three members each paid 30.00
/// and the local government matched 900.00: 990.00, recorded over HTTP.
fn fund_the_welfare_fund(app: &App) {
    let (treasurer, csrf) = login(app, "somsri");
    let sheet = format!("csrf={csrf}&date=&p1=on&c1=30&p2=on&c2=30&p3=on&c3=30&ml=900");
    let answer = post_form(app, "/meeting", &treasurer, &sheet);
    assert_eq!(answer.status, 303, "the sheet: {}", answer.text());
}

fn log_in(browser: &Browser, app: &App, user: &str) {
    browser.go(&format!("{}/login", app.base));
    browser.type_into("#user", user);
    browser.type_into("#password", PASSWORD);
    browser.click("#login");
    // The today page's figures: the session cookie is set once they show.
    browser.find("#collection");
}

/// A benefit beyond the rules is refused on the screen with its reason in
/// Thai; the treasurer sends it for a committee override, nothing is written
/// until a second committee member approves, and then it is in the log.
#[test]
fn a_committee_override_waits_for_a_second_member() {
    if !require_browser("a_committee_override_waits_for_a_second_member") {
        return;
    }
    let dir = tempfile::tempdir().expect("dir");
    let app = start_app(dir.path(), 3);
    fund_the_welfare_fund(&app);
    let before = event_count(&app.node);
    let treasurer = Browser::start(360, 800);
    log_in(&treasurer, &app, "somsri");

    // Two nights in hospital at the rules' 100.00 a night is 200.00; 500.00 is asked.
    treasurer.go(&format!("{}/benefits", app.base));
    treasurer.click("select[name=member] option[value='2']");
    treasurer.click("select[name=kind] option[value='sickness']");
    treasurer.type_into("input[name=amount]", "500");
    treasurer.type_into("input[name=nights]", "๒");
    treasurer.click("button[value=check]");
    let verdict = treasurer.text("#verdict");
    assert!(
        verdict.contains("ระเบียบไม่ให้จ่าย") && verdict.contains("2 คืน คืนละ 100.00 บาท"),
        "the refusal says why in Thai: {verdict}"
    );
    assert_eq!(
        treasurer.count("#pay"),
        0,
        "no pay button for a refused benefit"
    );
    treasurer.screenshot("node-benefit-refused-phone");
    treasurer.type_into(
        "#override input[name=reason]",
        "น้ำท่วมบ้าน นอนโรงพยาบาลนานกว่าปกติ",
    );
    treasurer.click("#propose");
    assert!(treasurer.text("#notice").contains("ยังไม่บันทึก"));
    assert_eq!(
        event_count(&app.node),
        before,
        "nothing written before approval"
    );
    assert!(
        treasurer.text("#pending").contains("ต้องให้กรรมการคนอื่นอนุมัติ")
            || treasurer.text("#pending").contains("เฉพาะกรรมการ"),
        "the treasurer cannot approve: {}",
        treasurer.text("#pending")
    );

    let committee = Browser::start(360, 800);
    log_in(&committee, &app, "prasit");
    committee.go(&format!("{}/approvals", app.base));
    assert!(committee.text("#pending").contains("500.00"));
    committee.screenshot("node-approval-phone");
    committee.click("#pending button[value=approve]");
    assert!(committee.text("#recorded").contains("บันทึกแล้ว"));
    assert_eq!(event_count(&app.node), before + 1, "written once approved");
    let log = app.node.cli(&["log"]);
    assert!(
        log.contains("override"),
        "the override is in the log: {log}"
    );
    assert!(
        app.node.cli(&["balance"]).contains("490.00"),
        "990.00 less 500.00"
    );

    // The loans page and the month close render for the same treasurer.
    treasurer.go(&format!("{}/loans", app.base));
    treasurer.click("#lend select[name=member] option[value='1']");
    treasurer.type_into("#lend input[name=principal]", "300");
    treasurer.type_into("#lend input[name=term]", "3");
    treasurer.type_into("#lend input[name=guarantors]", "2, 3");
    treasurer.click("#lend button[type=submit]");
    assert!(treasurer.text("#recorded").contains("บันทึกแล้ว"));
    treasurer.go(&format!("{}/loans", app.base));
    assert!(treasurer.text("#loans").contains("300.00"));
    treasurer.screenshot("node-loans-phone");
    treasurer.go(&format!("{}/close", app.base));
    assert!(treasurer.text("#trial-balance").contains("490.00"));
    treasurer.screenshot("node-close-phone");
}

/// The maker–checker's surface: each refusal leaves the ledger and the queue
/// as they were.
#[test]
fn approvals_are_refused_to_anyone_but_a_second_committee_member() {
    let dir = tempfile::tempdir().expect("dir");
    let app = start_app(dir.path(), 3);
    fund_the_welfare_fund(&app);
    let (committee, committee_csrf) = login(&app, "prasit");
    let (treasurer, csrf) = login(&app, "somsri");
    let (viewer, viewer_csrf) = login(&app, "wichai");
    // The treasurer adds the second committee member from the app.
    let person = |cookie: &str, token: &str, again: &str| {
        post_form(
            &app,
            "/people",
            cookie,
            &format!("csrf={token}&name=boonmee&role=committee&password={PASSWORD}&again={again}"),
        )
    };
    assert_eq!(
        person(&committee, &committee_csrf, PASSWORD).status,
        403,
        "only the treasurer adds people"
    );
    let differ = person(&treasurer, &csrf, "another-password");
    assert_eq!(differ.status, 422);
    assert!(
        differ.text().contains("รหัสผ่านสองช่องไม่ตรงกัน"),
        "{}",
        differ.text()
    );
    assert_eq!(person(&treasurer, &csrf, PASSWORD).status, 303);
    assert_eq!(
        person(&treasurer, &csrf, PASSWORD).status,
        422,
        "a name is taken once"
    );
    let (second, second_csrf) = login(&app, "boonmee");
    let before = event_count(&app.node);

    // A committee member proposes reversing the last entry (the matching
    // contribution).
    let proposed = post_form(
        &app,
        "/corrections",
        &committee,
        &format!("csrf={committee_csrf}&seq={before}&reason=recorded+twice"),
    );
    assert_eq!(proposed.status, 303, "{}", proposed.text());
    let approve = |cookie: &str, token: &str| {
        post_form(
            &app,
            "/approvals/1",
            cookie,
            &format!("csrf={token}&decision=approve"),
        )
    };
    let cases: Vec<(&str, Answer, u16)> = vec![
        (
            "the proposer approving",
            approve(&committee, &committee_csrf),
            403,
        ),
        ("the treasurer approving", approve(&treasurer, &csrf), 403),
        ("a viewer approving", approve(&viewer, &viewer_csrf), 403),
        ("no session", approve("", ""), 303),
        ("a wrong form token", approve(&second, &csrf), 403),
        (
            "a viewer proposing",
            post_form(
                &app,
                "/corrections",
                &viewer,
                &format!("csrf={viewer_csrf}&seq={before}&reason=x"),
            ),
            403,
        ),
        (
            "a reversal without a reason",
            post_form(
                &app,
                "/corrections",
                &treasurer,
                &format!("csrf={csrf}&seq={before}&reason="),
            ),
            422,
        ),
        (
            "a viewer paying a benefit",
            post_form(
                &app,
                "/benefits",
                &viewer,
                &format!("csrf={viewer_csrf}&action=pay&member=1&kind=childbirth&amount=500"),
            ),
            403,
        ),
        (
            "a benefit beyond the rules paid without approval",
            post_form(
                &app,
                "/benefits",
                &treasurer,
                &format!("csrf={csrf}&action=pay&member=1&kind=sickness&amount=500&nights=1"),
            ),
            422,
        ),
        (
            "a committee member closing a month",
            post_form(
                &app,
                "/close",
                &committee,
                &format!("csrf={committee_csrf}&month=2026-11"),
            ),
            403,
        ),
        (
            "a committee member downloading a backup",
            http(
                "GET",
                &format!("{}/backup", app.base),
                &[("Cookie", &committee)],
                b"",
            ),
            403,
        ),
    ];
    for (case, answer, status) in &cases {
        assert_eq!(answer.status, *status, "{case}: {}", answer.text());
        assert_eq!(event_count(&app.node), before, "{case} wrote nothing");
    }

    // The second committee member approves; approving again is refused.
    let approved = approve(&second, &second_csrf);
    assert_eq!(approved.status, 303, "{}", approved.text());
    assert_eq!(event_count(&app.node), before + 1);
    let again = approve(&second, &second_csrf);
    assert_eq!(again.status, 409, "{}", again.text());
    assert_eq!(
        event_count(&app.node),
        before + 1,
        "approved once, written once"
    );
    let page = http(
        "GET",
        &format!("{}/approvals", app.base),
        &[("Cookie", &second)],
        b"",
    );
    assert!(
        page.text()
            .contains(&format!("อนุมัติและบันทึกแล้ว ลำดับที่ {}", before + 1)),
        "{}",
        page.text()
    );
    // An approval whose write never happened (power lost between the two)
    // is shown as such, not as paid.
    let users = rusqlite::Connection::open(app.node.dir.join("users.sqlite")).expect("users");
    users
        .execute(
            "INSERT INTO proposals (kind, fields, reason, proposed_by, proposed_at, decided_by, decided_at, outcome, seq)
             VALUES ('reversal', '[[\"seq\",\"6\"]]', 'typo', 'prasit', 0, 'boonmee', 1, 'approved', 999)",
            [],
        )
        .expect("an approval without its entry");
    let page = http(
        "GET",
        &format!("{}/approvals", app.base),
        &[("Cookie", &second)],
        b"",
    );
    assert!(page.text().contains("ไม่พบรายการในบัญชี"), "{}", page.text());

    // The treasurer's verified backup is the ledger, and opens as one.
    let backup = http(
        "GET",
        &format!("{}/backup", app.base),
        &[("Cookie", &treasurer)],
        b"",
    );
    assert_eq!(backup.status, 200, "{}", backup.text());
    assert!(
        backup.body.starts_with(b"SQLite format 3\0"),
        "a SQLite file"
    );
}
