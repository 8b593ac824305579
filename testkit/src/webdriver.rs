//! A small WebDriver client for the browser tests: real headless Chromium
//! driven by Debian's chromedriver over its HTTP+JSON protocol, and a plain
//! HTTP/1.1 client for the web surface's table tests.
//!
//! Written against the W3C WebDriver protocol directly (a dozen endpoints)
//! rather than a client crate, so the tests need nothing beyond std and
//! serde_json and no TLS stack to talk to a driver on 127.0.0.1.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine;
use serde_json::{Value, json};

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";
/// The largest answer read from a driver or the app (a full-page screenshot fits).
const RESPONSE_BYTES_MAX: u64 = 64 * 1024 * 1024;

/// One HTTP answer.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// `name=value` of every cookie the answer sets.
    pub fn cookies(&self) -> Vec<String> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
            .filter_map(|(_, v)| v.split(';').next().map(str::to_string))
            .collect()
    }
}

/// Splits `http://host:port/path` into (host:port, /path).
fn split_url(url: &str) -> (String, String) {
    let rest = url.strip_prefix("http://").expect("an http:// address");
    match rest.find('/') {
        Some(i) => (rest[..i].to_string(), rest[i..].to_string()),
        None => (rest.to_string(), "/".to_string()),
    }
}

fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(line_end) = body.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size = std::str::from_utf8(&body[..line_end])
            .ok()
            .and_then(|s| usize::from_str_radix(s.split(';').next().unwrap_or("").trim(), 16).ok())
            .unwrap_or(0);
        if size == 0 {
            return out;
        }
        let start = line_end + 2;
        let end = (start + size).min(body.len());
        out.extend_from_slice(&body[start..end]);
        body = &body[(end + 2).min(body.len())..];
    }
}

/// One request on its own connection (`Connection: close`).
pub fn http(method: &str, url: &str, headers: &[(&str, &str)], body: &[u8]) -> Answer {
    let (host, path) = split_url(url);
    let mut stream = TcpStream::connect(&host).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .expect("timeout");
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).expect("send head");
    // A server may refuse an oversized body before reading it all.
    let _ = stream.write_all(body);
    // Read the head, then exactly Content-Length bytes when given: some
    // servers keep the connection open whatever the request asked.
    let mut raw = Vec::new();
    let mut buffer = [0u8; 16 * 1024];
    let head_end = loop {
        if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break end;
        }
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => panic!("no HTTP answer to {method} {url} within 60 s"),
            Ok(n) => raw.extend_from_slice(&buffer[..n]),
        }
    };
    let head = String::from_utf8_lossy(&raw[..head_end]).into_owned();
    let length = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse::<usize>().ok());
    let want = length.map(|n| head_end + 4 + n);
    while want.is_none_or(|w| raw.len() < w) && (raw.len() as u64) < RESPONSE_BYTES_MAX {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => raw.extend_from_slice(&buffer[..n]),
        }
    }
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut body = raw[head_end + 4..want.unwrap_or(raw.len()).min(raw.len())].to_vec();
    if headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"))
    {
        body = dechunk(&body);
    }
    Answer {
        status,
        headers,
        body,
    }
}

/// Whether this machine has the browser the tests drive.
pub fn browser_available() -> bool {
    Path::new(CHROMIUM).is_file() && Path::new(CHROMEDRIVER).is_file()
}

/// Under CI a missing browser fails the run; elsewhere the test says loudly
/// that it did not run. Returns whether to go on.
pub fn require_browser(test: &str) -> bool {
    if browser_available() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{test}: chromium and chromium-driver are required under CI (apt-get install chromium chromium-driver fonts-thai-tlwg)"
    );
    eprintln!(
        "\n!!!!!!!! {test}: NOT RUN — no {CHROMIUM} / {CHROMEDRIVER}; install chromium, chromium-driver and fonts-thai-tlwg !!!!!!!!\n"
    );
    false
}

/// Where the browser tests leave their screenshots: `target/screenshots/`.
pub fn screenshot_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let target = exe
        .parent()
        .and_then(Path::parent)
        .and_then(Path::parent)
        .expect("target directory");
    let dir = target.join("screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    dir
}

/// A chromedriver process and one headless Chromium session.
pub struct Browser {
    driver: Child,
    base: String,
    session: String,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver on a free port and a headless Chromium of the
    /// given window size, with a fresh profile.
    pub fn start(width: u32, height: u32) -> Browser {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn chromedriver");
        let base = format!("http://127.0.0.1:{port}");
        crate::wait_for("chromedriver", Duration::from_secs(20), || {
            TcpStream::connect(("127.0.0.1", port)).ok()
        });
        let profile = tempfile::tempdir().expect("profile dir");
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                // A phone's viewport: headless windows are never narrower than 500 px.
                "mobileEmulation": {"deviceMetrics": {"width": width, "height": height, "pixelRatio": 1.0}},
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--disable-dev-shm-usage",
                    format!("--user-data-dir={}", profile.path().display()),
                    format!("--window-size={width},{height}"),
                ]
            }
        }}});
        let answer = post(&format!("{base}/session"), &capabilities);
        let session = answer["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {answer}"))
            .to_string();
        let browser = Browser {
            driver,
            base,
            session,
            _profile: profile,
        };
        // A click that submits a form returns before the next page has
        // loaded; looking for an element waits for it (up to 20 s) instead
        // of racing the page, however loaded the machine is.
        post(&browser.url("/timeouts"), &json!({"implicit": 20_000}));
        browser
    }

    fn url(&self, path: &str) -> String {
        format!("{}/session/{}{path}", self.base, self.session)
    }

    pub fn go(&self, url: &str) {
        post(&self.url("/url"), &json!({ "url": url }));
    }

    pub fn current_url(&self) -> String {
        get(&self.url("/url"))["value"]
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    pub fn source(&self) -> String {
        get(&self.url("/source"))["value"]
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    /// The element matching a CSS selector; panics naming it when absent.
    pub fn find(&self, css: &str) -> String {
        let answer = post(
            &self.url("/element"),
            &json!({"using": "css selector", "value": css}),
        );
        answer["value"][ELEMENT_KEY]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css} on {}: {answer}", self.current_url()))
            .to_string()
    }

    pub fn count(&self, css: &str) -> usize {
        let answer = post(
            &self.url("/elements"),
            &json!({"using": "css selector", "value": css}),
        );
        answer["value"].as_array().map_or(0, Vec::len)
    }

    pub fn type_into(&self, css: &str, text: &str) {
        let element = self.find(css);
        post(&self.url(&format!("/element/{element}/clear")), &json!({}));
        post(
            &self.url(&format!("/element/{element}/value")),
            &json!({ "text": text }),
        );
    }

    /// Clicks like a finger: the element is scrolled to the middle of the
    /// screen first, so a sticky footer cannot take the tap.
    pub fn click(&self, css: &str) {
        let element = self.find(css);
        post(
            &self.url("/execute/sync"),
            &json!({"script": "arguments[0].scrollIntoView({block: 'center'});",
                    "args": [{ ELEMENT_KEY: element }]}),
        );
        let answer = post(&self.url(&format!("/element/{element}/click")), &json!({}));
        assert!(
            answer["value"].get("error").is_none(),
            "click on {css} failed: {answer}"
        );
    }

    pub fn text(&self, css: &str) -> String {
        let element = self.find(css);
        get(&self.url(&format!("/element/{element}/text")))["value"]
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    /// Saves a PNG of the viewport as `target/screenshots/NAME.png`.
    pub fn screenshot(&self, name: &str) -> PathBuf {
        let answer = get(&self.url("/screenshot"));
        let png = decode(answer["value"].as_str().expect("screenshot data"));
        assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
        let path = screenshot_dir().join(format!("{name}.png"));
        std::fs::write(&path, png).expect("write screenshot");
        path
    }

    /// Prints the page to PDF through the browser (A4), as a person would.
    pub fn print_pdf(&self) -> Vec<u8> {
        let answer = post(
            &self.url("/print"),
            &json!({"page": {"width": 21.0, "height": 29.7}, "background": true}),
        );
        decode(answer["value"].as_str().expect("pdf data"))
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = http("DELETE", &self.url(""), &[], b"");
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn decode(data: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(data)
        .expect("base64 from the driver")
}

fn json_of(answer: Answer) -> Value {
    serde_json::from_slice(&answer.body)
        .unwrap_or_else(|_| panic!("driver answered {}: {}", answer.status, answer.text()))
}

fn post(url: &str, body: &Value) -> Value {
    let body = body.to_string();
    json_of(http(
        "POST",
        url,
        &[("Content-Type", "application/json")],
        body.as_bytes(),
    ))
}

fn get(url: &str) -> Value {
    json_of(http("GET", url, &[], b""))
}
