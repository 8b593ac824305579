//! Exchange mode's screens, served by a real `sajja-node exchange run`: in
//! a real headless Chromium at phone width, the office's staff record a
//! transfer, are refused one beyond the payer's limit in Thai with nothing
//! written, and read the payer's statement; a form without its token is
//! refused.

use std::process::{Child, Stdio};
use std::time::Duration;

use sajja_common::GroupId;
use sajja_common::exchange::{ExchangeBody, ExchangeBooks};
use sajja_testkit::webdriver::{Browser, http, require_browser};

use crate::exchange::ExchangeNode;
use crate::support::*;

const PASSWORD: &str = "market-day-2569";

struct Running {
    child: Child,
    base: String,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(node: &ExchangeNode, dir: &std::path::Path) -> Running {
    let config = dir.join("node.toml");
    std::fs::write(&config, "[web]\nlisten = \"127.0.0.1:0\"\n").expect("config");
    let log = std::fs::File::create(dir.join("exchange-node.log")).expect("log");
    let child = std::process::Command::new(bin("sajja-node"))
        .arg("--config")
        .arg(&config)
        .arg("--data-dir")
        .arg(&node.dir)
        .args(["exchange", "run"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("spawn the exchange node");
    let base = web_address(&node.dir.join("web.addr"));
    Running { child, base }
}

/// The balance of `account` in the node's own file, as the rules fold it.
fn balance(node: &ExchangeNode, account: u32) -> String {
    let log = GroupId::parse("230101-X01").expect("log id");
    let books = ExchangeBooks::fold(log, &node.events()).expect("the node's log folds");
    books.accounts[&sajja_common::exchange::AccountNo(account)]
        .balance
        .to_string()
}

#[test]
fn the_exchange_office_records_a_transfer_on_a_phone() {
    if !require_browser("the_exchange_office_records_a_transfer_on_a_phone") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let node = ExchangeNode::opened_with_a_month(dir.path());
    add_web_user(&node.dir, "somsri", "treasurer", PASSWORD);
    add_web_user(&node.dir, "prasit", "committee", PASSWORD);
    let app = serve(&node, dir.path());
    let browser = Browser::start(360, 800);
    browser.go(&format!("{}/", app.base));
    assert!(browser.current_url().ends_with("/login"));
    browser.type_into("#user", "somsri");
    browser.type_into("#password", PASSWORD);
    browser.click("#login");
    assert!(browser.text("#not-money").contains("ไม่ใช่เงิน"));
    assert_eq!(browser.text("#accounts-open"), "30");
    browser.screenshot("exchange-home-phone");

    // Account 23 pays account 24 more than its limit allows: refused in
    // Thai, what was typed kept, nothing written.
    let before = node.event_bytes().len();
    browser.click("#record-transfer");
    browser.type_into("input[name=from]", "23");
    browser.type_into("input[name=to]", "24");
    browser.type_into("input[name=amount]", "๙๐๐");
    browser.type_into("input[name=memo]", "ข้าวสาร");
    browser.click("#record");
    let error = browser.text("#error");
    assert!(
        error.contains("เกินวงเงิน") && error.contains("บัญชี 23"),
        "{error}"
    );
    assert_eq!(node.event_bytes().len(), before, "a refusal writes nothing");
    browser.screenshot("exchange-transfer-refused-phone");

    // Twelve credits (typed in Thai digits) go through.
    let payer_before = balance(&node, 23);
    browser.go(&format!("{}/transfer", app.base));
    browser.type_into("input[name=from]", "23");
    browser.type_into("input[name=to]", "24");
    browser.type_into("input[name=amount]", "๑๒");
    browser.type_into("input[name=memo]", "ข้าวสาร");
    browser.click("#record");
    let seq = before + 1;
    assert!(
        browser.text("#notice").contains(&format!("รายการที่ {seq}")),
        "{}",
        browser.text("#notice")
    );
    let events = node.events();
    assert_eq!(events.len(), seq);
    assert!(matches!(
        &events[seq - 1].body,
        ExchangeBody::Transfer { amount, memo, .. }
            if amount.to_string() == "12.00" && memo == "ข้าวสาร"
    ));
    let payer_after = balance(&node, 23);
    assert_ne!(payer_before, payer_after);
    assert!(browser.text("#account-23").contains(&payer_after));

    // The payer's statement ends at the balance the rules fold.
    browser.go(&format!("{}/accounts/23", app.base));
    assert_eq!(browser.text("#balance"), payer_after);
    assert!(browser.text("#statement").contains("ข้าวสาร"));
    browser.screenshot("exchange-statement-phone");

    // Raising the payer's limit is the committee's: the treasurer is told
    // so, and nothing is written; a committee member records it approved.
    browser.type_into("#limit input[name=limit]", "500");
    browser.type_into("#limit input[name=reason]", "มติกรรมการ 1/2569");
    browser.click("#change-limit");
    assert!(
        browser.text("#error").contains("กรรมการ"),
        "{}",
        browser.text("#error")
    );
    assert_eq!(node.event_bytes().len(), seq);
    let committee = Browser::start(360, 800);
    committee.go(&format!("{}/login", app.base));
    committee.type_into("#user", "prasit");
    committee.type_into("#password", PASSWORD);
    committee.click("#login");
    // The overview, before going on: the login's redirect lands first.
    committee.text("#not-money");
    committee.go(&format!("{}/accounts/23", app.base));
    committee.type_into("#limit input[name=limit]", "500");
    committee.type_into("#limit input[name=reason]", "มติกรรมการ 1/2569");
    committee.click("#change-limit");
    wait_for("the committee's entry", Duration::from_secs(20), || {
        (node.event_bytes().len() > seq).then_some(())
    });
    let events = node.events();
    assert_eq!(events.len(), seq + 1);
    assert!(matches!(
        &events[seq].body,
        ExchangeBody::CreditLimitChanged { new_limit, approved_by_committee: true, .. }
            if new_limit.to_string() == "500.00"
    ));
    let seq = seq + 1;

    // A form posted without its token is refused and writes nothing: with
    // no session it is sent to log in; with a session but no token (or a
    // wrong one) it is refused; with the token it is recorded.
    let post = |cookie: &str, body: &str| {
        http(
            "POST",
            &format!("{}/transfer", app.base),
            &[
                ("Cookie", cookie),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            body.as_bytes(),
        )
    };
    let transfer = "from=1&to=2&amount=5&category=goods";
    assert_eq!(post("", transfer).status, 303);
    let (session, csrf) = web_login(&app.base, "somsri", PASSWORD, "/transfer");
    assert_eq!(post(&session, transfer).status, 403);
    assert_eq!(
        post(&session, &format!("{transfer}&csrf=0{csrf}")).status,
        403
    );
    assert_eq!(node.event_bytes().len(), seq);
    assert_eq!(
        post(&session, &format!("{transfer}&csrf={csrf}")).status,
        303
    );
    assert_eq!(node.event_bytes().len(), seq + 1);
}
