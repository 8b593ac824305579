//! The coordinators' dashboard, served by real hubs of the README's demo
//! network (`sajja-hub demo`: a province, two tambon hubs, six real nodes):
//! a coordinator in a real headless Chromium, an operator signing off a
//! month, and the web surface refusing what it must.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use sajja_common::Date;
use sajja_edge::clock::unix_now;
use sajja_testkit::webdriver::{Answer, Browser, http, require_browser};

use crate::support::*;

const PASSWORD: &str = "sajja-demo";

/// The demo running in its own process group, killed whole at the end.
struct Demo {
    child: Option<Child>,
    root: String,
    province: String,
    tambon: String,
}

impl Drop for Demo {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let pid = rustix::process::Pid::from_child(&child);
            let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
            let _ = child.wait();
        }
    }
}

impl Demo {
    fn start() -> Demo {
        let mut command = Command::new(bin("sajja-hub"));
        use std::os::unix::process::CommandExt;
        command
            .arg("demo")
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = command.spawn().expect("spawn the demo");
        let stdout = child.stdout.take().expect("demo stdout");
        let (lines, received) = mpsc::channel();
        std::thread::spawn(move || {
            // Read to the end even once nobody listens: the demo keeps
            // printing, and a closed pipe would stop it.
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = lines.send(line);
            }
        });
        let mut demo = Demo {
            child: Some(child),
            root: String::new(),
            province: String::new(),
            tambon: String::new(),
        };
        let url_of = |line: &str| {
            line.split_whitespace()
                .find(|w| w.starts_with("http://"))
                .expect("a dashboard address")
                .to_string()
        };
        loop {
            let line = received
                .recv_timeout(Duration::from_secs(120))
                .expect("the demo network came up");
            if let Some(root) = line.strip_prefix("Sajja demo network in ") {
                demo.root = root.trim().to_string();
            } else if line.starts_with("coordinators' dashboard of hub 23:") {
                demo.province = url_of(&line);
            } else if line.starts_with("coordinators' dashboard of hub 230101:") {
                demo.tambon = url_of(&line);
            } else if line.starts_with("the province re-verified every log") {
                break;
            }
        }
        assert!(!demo.province.is_empty() && !demo.tambon.is_empty());
        demo
    }

    fn config(&self, hub: &str) -> String {
        format!("{}/hub-{hub}/hub.toml", self.root)
    }

    fn hub_cli(&self, args: &[&str]) -> String {
        let output = run({
            let mut c = Command::new(bin("sajja-hub"));
            c.args(args);
            c
        });
        assert!(output.status.success(), "{args:?}: {}", text(&output));
        text(&output)
    }
}

fn form_token(page: &Answer) -> String {
    page.text()
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a form token on the page")
        .to_string()
}

fn post(base: &str, path: &str, cookie: &str, body: &str) -> Answer {
    http(
        "POST",
        &format!("{base}{path}"),
        &[
            ("Cookie", cookie),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        body.as_bytes(),
    )
}

/// Logs in over plain HTTP at `path` (`/login`, or `/welcome` with a code);
/// returns the session cookie.
fn http_login(base: &str, path: &str, fields: &str) -> String {
    let form = http("GET", &format!("{base}{path}"), &[], b"");
    let login_cookie = form.cookies().into_iter().next().expect("login cookie");
    let token = login_cookie.split_once('=').expect("cookie").1.to_string();
    let answer = post(base, path, &login_cookie, &format!("{fields}&csrf={token}"));
    assert_eq!(answer.status, 303, "{path}: {}", answer.text());
    answer
        .cookies()
        .into_iter()
        .find(|c| c.contains("_session=") && c.len() > 40)
        .expect("session cookie")
}

fn get(base: &str, path: &str, cookie: &str) -> Answer {
    http("GET", &format!("{base}{path}"), &[("Cookie", cookie)], b"")
}

/// The demo's simulated year ends with the close of this month (its activity
/// is fixed: `sajja_activity::OPENED_ON` plus twelve months); the next is open.
fn last_closed_month() -> sajja_common::Month {
    let opened: Date = sajja_activity::day_of(sajja_activity::OPENED_ON);
    opened.add_months(12).month()
}

/// Basis points as the dashboard shows a percent: `2065` → `20.65`.
fn percent(basis_points: i64) -> String {
    format!("{}.{:02}", basis_points / 100, basis_points % 100)
}

/// A `Money` display (`646,420.00`) as the query's JSON writes it.
fn plain(display: &str) -> String {
    display.replace(',', "")
}

/// A coordinator of 230101 logs in at the province, sees the at-risk group
/// and why, opens its page with charts, is refused 230102, downloads a CSV
/// that Excel reads, and prints the forum report whose totals are the
/// `Query` service's; an operator signs off a month at the tambon hub.
#[test]
fn a_coordinator_reads_the_dashboard_and_an_operator_signs_off() {
    if !require_browser("a_coordinator_reads_the_dashboard_and_an_operator_signs_off") {
        return;
    }
    let demo = Demo::start();
    let browser = Browser::start(1280, 900);
    browser.go(&format!("{}/", demo.province));
    assert!(browser.current_url().ends_with("/login"));
    browser.type_into("#user", "somchai");
    browser.type_into("#password", PASSWORD);
    browser.click("#login");
    // The coordinator lands on the own tambon's overview.
    let counts = browser.text("#counts");
    assert!(
        browser.current_url().ends_with("/scope/230101"),
        "{}",
        browser.current_url()
    );
    // The figures age with the calendar (the demo's year is fixed), so the
    // expected ones come from the Query service, as of today.
    let groups = demo.hub_cli(&[
        "query",
        "groups",
        "--config",
        &demo.config("23"),
        "230101",
        "--json",
    ]);
    let groups: serde_json::Value = serde_json::from_str(&groups).expect("groups json");
    let lines = groups["groups"].as_array().expect("groups");
    let at_risk = lines.iter().filter(|g| g["status"] == "at_risk").count();
    let par30 = lines
        .iter()
        .find(|g| g["group"] == "230101-003")
        .and_then(|g| g["par30_basis_points"].as_i64())
        .map(percent)
        .expect("230101-003's PAR30");
    assert!(at_risk >= 1, "{groups}");
    assert!(
        counts.contains(&format!("{at_risk}เสี่ยง")) || counts.contains(&format!("{at_risk} เสี่ยง")),
        "{counts}"
    );
    assert!(browser.count(".chart svg") >= 8, "the trends are drawn");
    browser.screenshot("hub-overview-desktop");

    browser.click("#nav-attention");
    let concern = browser.text("#concern-230101-003");
    assert!(
        concern.contains(&format!("{par30}%")) && concern.contains("ค้างชำระเกิน 30 วัน"),
        "the at-risk group and its reason in words: {concern}"
    );
    browser.screenshot("hub-attention-desktop");

    // The tambon's community exchange beside the pools that guarantee it:
    // its coverage is the Query service's, and the page says credits are
    // not money.
    let exchanges = demo.hub_cli(&[
        "query",
        "exchanges",
        "--config",
        &demo.config("23"),
        "230101",
        "--json",
    ]);
    let exchanges: serde_json::Value = serde_json::from_str(&exchanges).expect("exchanges json");
    let coverage = exchanges["exchanges"][0]["coverage_basis_points"]
        .as_i64()
        .map(percent)
        .expect("the exchange's coverage");
    browser.go(&format!("{}/scope/230101/pools#exchanges", demo.province));
    let card = browser.text("#exchange-230101-X01");
    assert!(
        card.contains(&format!("{coverage}%")),
        "{coverage} in {card}"
    );
    assert!(
        card.contains("บุญ") && card.contains("ตลาดบุญตำบลในเมือง"),
        "{card}"
    );
    assert!(browser.text("#exchanges").contains("ตลาดแลกเปลี่ยนชุมชน"));
    assert!(
        browser.source().contains("ไม่ใช่เงิน"),
        "the page says credits are not money"
    );
    assert!(browser.count("#exchange-230101-X01 .chart svg") >= 1);
    browser.screenshot("hub-pools-exchange-desktop");

    browser.go(&format!("{}/group/230101-003", demo.province));
    assert_eq!(browser.text("#status"), "เสี่ยง");
    assert!(browser.count(".chart svg") >= 8);
    assert!(browser.text("#reasons").contains(&format!("{par30}%")));
    browser.screenshot("hub-group-desktop");

    // Another tambon: a refusal page that names only the coordinator's own scope.
    browser.go(&format!("{}/scope/230102", demo.province));
    let refusal = browser.text("#refusal");
    assert!(refusal.contains("230101"), "{refusal}");
    assert!(
        !browser.source().contains("230102-00"),
        "nothing of 230102 leaks"
    );

    // The CSV opens in Excel: a BOM, then rows whose figures are exact.
    let session = http_login(
        &demo.province,
        "/login",
        &format!("user=somchai&password={PASSWORD}"),
    );
    let csv = get(&demo.province, "/scope/230101/groups.csv", &session);
    assert_eq!(csv.status, 200);
    assert!(
        csv.body.starts_with("\u{feff}".as_bytes()),
        "UTF-8 with BOM"
    );
    let csv_text = csv.text();
    let mut reader = csv::Reader::from_reader(csv_text.trim_start_matches('\u{feff}').as_bytes());
    let header = reader.headers().expect("header").clone();
    let par = header
        .iter()
        .position(|h| h == "par30_percent")
        .expect("par30_percent");
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("row")).collect();
    assert_eq!(rows.len(), 3, "the three groups of 230101");
    let risky = rows
        .iter()
        .find(|r| &r[0] == "230101-003")
        .expect("230101-003");
    assert_eq!(&risky[par], par30);
    assert_eq!(&risky[3], "at_risk");

    // The forum report of last month, printed to PDF through the browser.
    let today = Date::thai_date_at(unix_now());
    let month = today.month().minus(1);
    browser.go(&format!(
        "{}/scope/230101/forum?month={month}",
        demo.province
    ));
    browser.screenshot("hub-forum-desktop");
    let pdf = browser.print_pdf();
    let pdf_path = std::path::Path::new(&demo.root).join("forum.pdf");
    std::fs::write(&pdf_path, &pdf).expect("write pdf");
    let pdf_text = run({
        let mut c = Command::new("pdftotext");
        c.arg(&pdf_path).arg("-");
        c
    });
    assert!(pdf_text.status.success(), "pdftotext: {}", text(&pdf_text));
    let pdf_text = String::from_utf8_lossy(&pdf_text.stdout).to_string();
    assert!(pdf_text.contains("รายงานสถานะกองทุนชุมชน"), "{pdf_text}");
    let position = demo.hub_cli(&[
        "query",
        "position",
        "--config",
        &demo.config("23"),
        "230101",
        "--as-of",
        &month.last_day().to_string(),
        "--json",
    ]);
    let position: serde_json::Value = serde_json::from_str(&position).expect("position json");
    let figures = browser.text("#figures");
    for key in ["welfare_fund", "member_savings", "loans_outstanding"] {
        let expected = position["position"][key]
            .as_str()
            .or_else(|| position[key].as_str())
            .unwrap_or_else(|| panic!("{key} in {position}"));
        assert!(
            figures.lines().any(|l| plain(l).contains(expected)),
            "{key} {expected} in the report: {figures}"
        );
        let printed = pdf_text.lines().any(|l| plain(l).contains(expected));
        assert!(printed, "{key} {expected} printed: {pdf_text}");
    }

    // The overview on a phone still reads.
    let phone = Browser::start(360, 800);
    phone.go(&format!("{}/login", demo.province));
    phone.type_into("#user", "somchai");
    phone.type_into("#password", PASSWORD);
    phone.click("#login");
    phone.text("#counts");
    phone.screenshot("hub-overview-phone");

    // The tambon hub's operator signs off 230101-001's last closed month.
    let month = last_closed_month();
    browser.go(&format!("{}/login", demo.tambon));
    browser.type_into("#user", "operator");
    browser.type_into("#password", PASSWORD);
    browser.click("#login");
    browser.text("#counts");
    browser.go(&format!(
        "{}/scope/230101/signoffs?month={month}",
        demo.tambon
    ));
    browser.screenshot("hub-signoffs-desktop");
    // A month the group has not closed yet offers no sign-off button.
    let next = month.last_day().add_days(1).month();
    browser.go(&format!(
        "{}/scope/230101/signoffs?month={next}",
        demo.tambon
    ));
    assert_eq!(
        browser.text(&format!("#cell-230101-001-{next}")).trim(),
        "ยังไม่ปิดบัญชี"
    );
    assert_eq!(browser.count(&format!("#sign-230101-001-{next}")), 0);
    assert_eq!(browser.count(&format!("#sign-230101-001-{month}")), 1);
    browser.click(&format!("#sign-230101-001-{month}"));
    assert!(
        browser
            .text("#message")
            .contains(&format!("230101-001-{month}"))
    );
    let cell = browser.text(&format!("#cell-230101-001-{month}"));
    assert_eq!(cell.trim(), "รับรองแล้ว");
    let signed = demo.hub_cli(&[
        "query",
        "signoffs",
        "--config",
        &demo.config("230101"),
        "230101",
    ]);
    assert!(
        signed
            .lines()
            .any(|l| l.contains("230101-001") && l.contains(&month.to_string())),
        "the sign-off is the hub's signed fact: {signed}"
    );
}

/// No session, another scope, an agency asking for the researcher export, a
/// form without its token, an oversized body: each refused, nothing changed.
#[test]
fn the_dashboard_refuses_and_changes_nothing() {
    let demo = Demo::start();
    let base = &demo.tambon;
    let signoffs = || {
        demo.hub_cli(&[
            "query",
            "signoffs",
            "--config",
            &demo.config("230101"),
            "230101",
            "--json",
        ])
    };
    let before = signoffs();

    // An agency's account, from the one-time code `enrol agency` prints.
    let out = demo.hub_cli(&[
        "enrol",
        "agency",
        "pattama",
        "--scope",
        "230101",
        "--config",
        &demo.config("230101"),
    ]);
    let code = out
        .split("one-time code ")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .expect("a one-time code")
        .to_string();
    let agency = http_login(
        base,
        "/welcome",
        &format!("user=pattama&code={code}&password=agency-pass-1&password_again=agency-pass-1"),
    );
    let operator = http_login(
        base,
        "/login",
        &format!("user=operator&password={PASSWORD}"),
    );
    let operator_page = get(base, "/scope/230101/signoffs", &operator);
    let csrf = form_token(&operator_page);
    let month = last_closed_month();
    let sign = format!("subject=230101-002&month={month}&back=230101");

    let none = get(base, "/scope/230101", "");
    assert_eq!(none.status, 303, "no session: to login");
    assert_eq!(none.header("location"), Some("/login"));
    let welcome = http("GET", &format!("{base}/welcome"), &[], b"");
    let welcome_cookie = welcome.cookies().into_iter().next().expect("login cookie");
    let welcome_token = welcome_cookie
        .split_once('=')
        .expect("cookie")
        .1
        .to_string();
    let cases: Vec<(&str, Answer, u16)> = vec![
        ("another scope", get(base, "/scope/230102", &agency), 403),
        (
            "another scope's group",
            get(base, "/group/230102-001", &agency),
            403,
        ),
        (
            "an agency asks for the researcher export",
            get(base, "/scope/230101/research.csv", &agency),
            403,
        ),
        (
            "an agency signs off",
            post(
                base,
                "/signoff",
                &agency,
                &format!(
                    "{sign}&csrf={}",
                    form_token(&get(base, "/scope/230101/signoffs", &agency))
                ),
            ),
            403,
        ),
        (
            "a sign-off without its token",
            post(base, "/signoff", &operator, &sign),
            403,
        ),
        (
            "a sign-off with a wrong token",
            post(
                base,
                "/signoff",
                &operator,
                &format!("{sign}&csrf={}", "0".repeat(64)),
            ),
            403,
        ),
        (
            "an oversized form",
            post(
                base,
                "/signoff",
                &operator,
                &format!("{sign}&csrf={csrf}&pad={}", "x".repeat(64 * 1024)),
            ),
            413,
        ),
        (
            "a first-password form without its token",
            post(
                base,
                "/welcome",
                "",
                &format!(
                    "user=pattama&code={code}&password=another-pass&password_again=another-pass"
                ),
            ),
            403,
        ),
        (
            "a spent one-time code",
            post(
                base,
                "/welcome",
                &welcome_cookie,
                &format!(
                    "user=pattama&code={code}&password=another-pass&password_again=another-pass&csrf={welcome_token}"
                ),
            ),
            401,
        ),
    ];
    for (what, answer, status) in cases {
        assert_eq!(answer.status, status, "{what}: {}", answer.text());
    }
    // A month the group has not closed: refused in Thai, saying what to wait for.
    let open_month = last_closed_month().first_day().add_months(1).month();
    let unclosed = post(
        base,
        "/signoff",
        &operator,
        &format!("subject=230101-001&month={open_month}&back=230101&csrf={csrf}"),
    );
    assert_eq!(unclosed.status, 409, "{}", unclosed.text());
    assert!(
        unclosed.text().contains("ยังไม่ได้ปิดบัญชีเดือน"),
        "{}",
        unclosed.text()
    );
    assert_eq!(signoffs(), before, "nothing was signed off");
    // The agency reads its own scope.
    assert_eq!(get(base, "/scope/230101", &agency).status, 200);
    // A researcher's export is recorded with who and what.
    let out = demo.hub_cli(&[
        "enrol",
        "researcher",
        "wirat",
        "--scope",
        "230101",
        "--config",
        &demo.config("230101"),
    ]);
    let code = out
        .split("one-time code ")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .expect("a one-time code");
    let researcher = http_login(
        base,
        "/welcome",
        &format!("user=wirat&code={code}&password=research-pass&password_again=research-pass"),
    );
    let export = get(base, "/scope/230101/research.csv", &researcher);
    assert_eq!(export.status, 200);
    let export = export.text();
    assert!(export.starts_with('\u{feff}'));
    assert!(!export.contains("นาง"), "no names");
    let first = export.lines().nth(1).expect("rows");
    assert!(first.starts_with("230101-"), "{first}");
    let config = sajja_hub::config::HubConfig::load(std::path::Path::new(&demo.config("230101")))
        .expect("tambon config");
    let audit = sajja_hub::web::accounts::Accounts::open(&config.web_users_path())
        .and_then(|a| a.export_audit())
        .expect("export audit");
    assert_eq!(audit.len(), 1, "the researcher's export, and only it");
    assert_eq!(
        (audit[0].account.as_str(), audit[0].scope.as_str()),
        ("wirat", "230101")
    );
    assert_eq!(audit[0].rows as usize, export.lines().count() - 1);
}
