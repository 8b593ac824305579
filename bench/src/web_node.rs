//! Benchmark 12, the treasurer's screen (issue 13): a release `sajja-node run`
//! with its web app on, for a group of 2,000 members. Measures the daemon's
//! idle RSS with the app on, the render time of the today page and of the
//! 2,000-row meeting sheet (median and p99 over repeated requests), the
//! bytes of the first page with its stylesheet, the time to commit the whole
//! sheet in one submit, and the peak RSS (VmHWM) after serving and
//! committing it. Requests go over real HTTP on loopback.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};

use crate::catchup::node_store;
use crate::footprint::{node_binary, status};
use crate::generate::{self, Stop};
use crate::{Options, Scale};

pub const IDLE_RSS_TARGET_KB: u64 = 20 * 1024;
pub const PEAK_RSS_TARGET_KB: u64 = 40 * 1024;
pub const RENDER_P99_TARGET_MS: f64 = 50.0;
pub const SHEET_COMMIT_TARGET_S: f64 = 1.0;
pub const FIRST_PAGE_TARGET_BYTES: usize = 100 * 1024;
const PASSWORD: &str = "bench-password-2569";

#[derive(Clone, Debug)]
pub struct WebReport {
    pub members: u32,
    pub sheet_rows: usize,
    pub sheet_bytes: usize,
    pub idle_rss_kb: u64,
    pub today_ms: Vec<f64>,
    pub sheet_ms: Vec<f64>,
    pub first_page_bytes: usize,
    pub first_page_gzip_bytes: usize,
    pub sheet_gzip_bytes: usize,
    pub commit_seconds: f64,
    pub entries_written: u64,
    pub peak_rss_kb: u64,
}

/// The value at quantile `q` of `samples` (nearest rank).
fn quantile(samples: &[f64], q: f64) -> f64 {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "MISSED" }
}

impl WebReport {
    pub fn print(&self) {
        println!("== 12. treasurer's screen (sajja-node run with [web]) ==");
        println!(
            "  group of {} members; meeting sheet of {} rows, {:.0} KB of HTML",
            self.members,
            self.sheet_rows,
            self.sheet_bytes as f64 / 1024.0
        );
        println!(
            "  idle RSS with the app on {:.1} MB (target <= 20: {}, ratio {:.2})",
            self.idle_rss_kb as f64 / 1024.0,
            verdict(self.idle_rss_kb <= IDLE_RSS_TARGET_KB),
            self.idle_rss_kb as f64 / IDLE_RSS_TARGET_KB as f64
        );
        for (name, samples) in [
            ("today page", &self.today_ms),
            ("meeting sheet", &self.sheet_ms),
        ] {
            let p99 = quantile(samples, 0.99);
            println!(
                "  {name}: median {:.1} ms, p99 {:.1} ms over {} requests (target p99 <= 50 ms: {}, ratio {:.2})",
                quantile(samples, 0.5),
                p99,
                samples.len(),
                verdict(p99 <= RENDER_P99_TARGET_MS),
                p99 / RENDER_P99_TARGET_MS
            );
        }
        println!(
            "  first page (today + stylesheet): {:.1} KB gzip, {:.1} KB uncompressed (target <= 100 KB compressed: {}, ratio {:.2})",
            self.first_page_gzip_bytes as f64 / 1024.0,
            self.first_page_bytes as f64 / 1024.0,
            verdict(self.first_page_gzip_bytes <= FIRST_PAGE_TARGET_BYTES),
            self.first_page_gzip_bytes as f64 / FIRST_PAGE_TARGET_BYTES as f64
        );
        println!(
            "  the meeting sheet over the wire: {:.0} KB gzip",
            self.sheet_gzip_bytes as f64 / 1024.0
        );
        println!(
            "  whole sheet committed in one submit: {} entries in {:.3} s (target <= 1 s: {}, ratio {:.2})",
            self.entries_written,
            self.commit_seconds,
            verdict(self.commit_seconds <= SHEET_COMMIT_TARGET_S),
            self.commit_seconds / SHEET_COMMIT_TARGET_S
        );
        println!(
            "  peak RSS (VmHWM) after serving and committing the sheet {:.1} MB (target <= 40: {}, ratio {:.2})",
            self.peak_rss_kb as f64 / 1024.0,
            verdict(self.peak_rss_kb <= PEAK_RSS_TARGET_KB),
            self.peak_rss_kb as f64 / PEAK_RSS_TARGET_KB as f64
        );
    }
}

/// One HTTP/1.1 exchange on a fresh connection: status, headers, body.
struct Answer {
    status: u16,
    head: String,
    body: Vec<u8>,
}

impl Answer {
    fn cookies(&self) -> Vec<String> {
        self.head
            .lines()
            .filter_map(|l| {
                let (name, value) = l.split_once(':')?;
                name.eq_ignore_ascii_case("set-cookie")
                    .then(|| value.trim().split(';').next().unwrap_or("").to_string())
            })
            .collect()
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

fn http(addr: &str, method: &str, path: &str, cookie: &str, body: &str) -> anyhow::Result<Answer> {
    exchange(addr, method, path, cookie, body, "identity")
}

/// The bytes a browser asking for gzip receives for `path`.
fn gzip_bytes(addr: &str, path: &str, cookie: &str) -> anyhow::Result<usize> {
    let answer = exchange(addr, "GET", path, cookie, "", "gzip")?;
    ensure!(answer.status == 200, "GET {path}: {}", answer.status);
    ensure!(
        answer
            .head
            .to_ascii_lowercase()
            .contains("content-encoding: gzip"),
        "GET {path} was not compressed"
    );
    Ok(answer.body.len())
}

fn exchange(
    addr: &str,
    method: &str,
    path: &str,
    cookie: &str,
    body: &str,
    encoding: &str,
) -> anyhow::Result<Answer> {
    let mut stream = TcpStream::connect(addr).with_context(|| format!("connecting to {addr}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nAccept-Encoding: {encoding}\r\nCookie: {cookie}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .context("no end of headers")?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .context("no status")?;
    let mut body = raw[split + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = dechunk(&body)?;
    }
    Ok(Answer { status, head, body })
}

fn dechunk(mut data: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = data
            .windows(2)
            .position(|w| w == b"\r\n")
            .context("chunk size")?;
        let size = usize::from_str_radix(std::str::from_utf8(&data[..line_end])?.trim(), 16)?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        ensure!(data.len() >= size + 2, "short chunk");
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn add_treasurer(binary: &Path, data: &Path) -> anyhow::Result<()> {
    let mut child = Command::new(binary)
        .args(["user", "add", "bench", "--role", "treasurer"])
        .env("SAJJA_NODE_DATA", data)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    child
        .stdin
        .take()
        .context("stdin")?
        .write_all(format!("{PASSWORD}\n").as_bytes())?;
    let output = child.wait_with_output()?;
    ensure!(
        output.status.success(),
        "user add: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(())
}

/// Logs in; returns the session cookie.
fn login(addr: &str) -> anyhow::Result<String> {
    let form = http(addr, "GET", "/login", "", "")?;
    let login_cookie = form.cookies().into_iter().next().context("login cookie")?;
    let token = login_cookie
        .split_once('=')
        .context("cookie")?
        .1
        .to_string();
    let answer = http(
        addr,
        "POST",
        "/login",
        &login_cookie,
        &format!("user=bench&password={PASSWORD}&csrf={token}"),
    )?;
    ensure!(
        answer.status == 303,
        "login: {} {}",
        answer.status,
        answer.text()
    );
    answer
        .cookies()
        .into_iter()
        .find(|c| c.starts_with("sajja_session=") && c.len() > 20)
        .context("session cookie")
}

/// `name="PREFIXn" value="v"` pairs on a page.
fn fields_named(page: &str, prefix: &str) -> Vec<(String, String)> {
    let marker = format!("name=\"{prefix}");
    page.split(&marker)
        .skip(1)
        .filter_map(|rest| {
            let (number, rest) = rest.split_once('"')?;
            number.parse::<u32>().ok()?;
            let value = rest
                .trim_start()
                .strip_prefix("value=\"")
                .and_then(|v| v.split('"').next())
                .unwrap_or("");
            Some((format!("{prefix}{number}"), value.to_string()))
        })
        .collect()
}

fn timed(addr: &str, path: &str, cookie: &str, times: usize) -> anyhow::Result<(Vec<f64>, Answer)> {
    let mut samples = Vec::with_capacity(times);
    let mut last = None;
    for _ in 0..times {
        let t = Instant::now();
        let answer = http(addr, "GET", path, cookie, "")?;
        samples.push(t.elapsed().as_secs_f64() * 1e3);
        ensure!(answer.status == 200, "GET {path}: {}", answer.status);
        last = Some(answer);
    }
    Ok((samples, last.context("no request")?))
}

pub fn run(options: &Options) -> anyhow::Result<WebReport> {
    let binary = node_binary()?;
    let (members, requests) = match options.scale {
        Scale::Full => (2_000u32, 100),
        Scale::Smoke => (40, 3),
    };
    let dir = options.workdir("web-node")?;
    let data = dir.path().join("node");
    std::fs::create_dir_all(&data)?;
    let mut spec = generate::province(1, 12).remove(0);
    spec.members = members;
    // The opening, every member joining, and a little activity after.
    let log = generate::group_log(&spec, Stop::Events(members as usize + 200));
    ensure!(log.refused == 0);
    drop(node_store(&data.join("ledger.sqlite"), &log)?);
    add_treasurer(&binary, &data)?;
    let config = dir.path().join("node.toml");
    std::fs::write(
        &config,
        format!(
            "data_dir = \"{}\"\n[web]\nlisten = \"127.0.0.1:0\"\n",
            data.display()
        ),
    )?;
    let child = Command::new(&binary)
        .arg("--config")
        .arg(&config)
        .arg("run")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("node.err"))?)
        .spawn()
        .with_context(|| format!("spawning {}", binary.display()))?;
    let daemon = Daemon(child);
    let pid = daemon.0.id();
    let started = Instant::now();
    let addr = loop {
        if let Ok(text) = std::fs::read_to_string(data.join("web.addr")) {
            let addr = text.trim().trim_start_matches("http://").to_string();
            if TcpStream::connect(&addr).is_ok() {
                break addr;
            }
        }
        if started.elapsed() > Duration::from_secs(30) {
            bail!(
                "the web app did not start; see {}",
                dir.path().join("node.err").display()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    std::thread::sleep(Duration::from_secs(3));
    let idle_rss_kb = status(pid, "VmRSS")?;

    let cookie = login(&addr)?;
    let (today_ms, today) = timed(&addr, "/", &cookie, requests)?;
    let css = http(&addr, "GET", "/static/app.css", &cookie, "")?;
    let first_page_bytes = today.body.len() + css.body.len();
    let first_page_gzip_bytes =
        gzip_bytes(&addr, "/", &cookie)? + gzip_bytes(&addr, "/static/app.css", &cookie)?;
    let sheet_gzip_bytes = gzip_bytes(&addr, "/meeting", &cookie)?;
    let (sheet_ms, sheet) = timed(&addr, "/meeting", &cookie, requests)?;
    let page = sheet.text();
    let csrf = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .context("csrf token on the sheet")?
        .to_string();
    let dues = fields_named(&page, "c");
    ensure!(
        dues.len() == members as usize,
        "sheet rows {} of {members}",
        dues.len()
    );
    let mut body = format!("csrf={csrf}&date=");
    for (name, value) in &dues {
        body.push_str(&format!("&p{}=on&{name}={value}", &name[1..]));
    }
    let before = log.events.len() as u64;
    let t = Instant::now();
    let answer = http(&addr, "POST", "/meeting", &cookie, &body)?;
    let commit_seconds = t.elapsed().as_secs_f64();
    ensure!(
        answer.status == 303,
        "sheet: {} {}",
        answer.status,
        answer.text()
    );
    let location = answer
        .head
        .lines()
        .find_map(|l| {
            l.strip_prefix("location: ")
                .or_else(|| l.strip_prefix("Location: "))
        })
        .context("receipt address")?
        .to_string();
    let to: u64 = location
        .rsplit_once("to=")
        .and_then(|(_, n)| n.trim().parse().ok())
        .context("receipt range")?;
    let receipt = http(&addr, "GET", &location, &cookie, "")?;
    ensure!(receipt.status == 200, "receipt: {}", receipt.status);
    let peak_rss_kb = status(pid, "VmHWM")?;
    drop(daemon);
    Ok(WebReport {
        members,
        sheet_rows: dues.len(),
        sheet_bytes: page.len(),
        idle_rss_kb,
        today_ms,
        sheet_ms,
        first_page_bytes,
        first_page_gzip_bytes,
        sheet_gzip_bytes,
        commit_seconds,
        entries_written: to - before,
        peak_rss_kb,
    })
}
