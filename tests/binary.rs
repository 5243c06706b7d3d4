//! The `trimtab` binary as a process: exit codes, what it prints, the daemon's endpoints, config
//! reloads (file change and SIGHUP) and signal handling.
//!
//! Every test works in its own temporary directory with its own simulated account, and every
//! daemon listens on its own loopback port. Waiting is bounded polling; a child process is killed
//! whenever a test fails.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

/// How long any wait may take before the test fails.
const DEADLINE: Duration = Duration::from_secs(30);
/// How long a one-shot command may take (`apply` on the demo account paces its writes).
const COMMAND_DEADLINE: Duration = Duration::from_secs(90);
const POLL: Duration = Duration::from_millis(50);
const EXIT_CONFIG: i32 = 78;

// ---- processes ----------------------------------------------------------------------------

fn trimtab() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_trimtab"));
    // The environment must not change what is tested.
    for var in [
        "RUST_LOG",
        "TRIMTAB_LOG_FORMAT",
        "TRIMTAB_LOG_LEVEL",
        "TRIMTAB_LISTEN",
    ] {
        cmd.env_remove(var);
    }
    cmd.stdin(Stdio::null());
    cmd
}

/// Kills the child when dropped (a failed assertion, a timeout), so no process outlives its test.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Collects a pipe's lines on a thread, so the child never blocks on a full pipe.
fn collect_lines(pipe: impl Read + Send + 'static) -> (Arc<Mutex<Vec<String>>>, JoinHandle<()>) {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = lines.clone();
    let handle = std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            match line {
                Ok(line) => sink.lock().unwrap().push(line),
                Err(_) => break,
            }
        }
    });
    (lines, handle)
}

/// Polls `child` until it exits; panics (the guard then kills it) after `deadline`.
fn wait_exit(child: &mut Child, deadline: Duration, what: &str) -> ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        assert!(
            start.elapsed() < deadline,
            "{what}: still running after {deadline:?}"
        );
        std::thread::sleep(POLL);
    }
}

#[derive(Debug)]
struct Output {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs `trimtab ARGS` to completion, bounded by [`COMMAND_DEADLINE`].
fn run<S: AsRef<OsStr>>(args: &[S]) -> Output {
    let what = format!(
        "trimtab {}",
        args.iter()
            .map(|a| a.as_ref().to_string_lossy())
            .collect::<Vec<_>>()
            .join(" ")
    );
    let mut child = trimtab()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn trimtab");
    let (stdout, out_thread) = collect_lines(child.stdout.take().expect("stdout"));
    let (stderr, err_thread) = collect_lines(child.stderr.take().expect("stderr"));
    let mut guard = Guard(child);
    let status = wait_exit(&mut guard.0, COMMAND_DEADLINE, &what);
    out_thread.join().expect("stdout reader");
    err_thread.join().expect("stderr reader");
    let join = |lines: &Mutex<Vec<String>>| {
        let lines = lines.lock().unwrap();
        lines.iter().map(|l| format!("{l}\n")).collect::<String>()
    };
    Output {
        code: status.code(),
        stdout: join(&stdout),
        stderr: join(&stderr),
    }
}

fn kill(signal: &str, pid: u32) {
    let status = Command::new("kill")
        .args([format!("-{signal}"), pid.to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -{signal} {pid} failed: {status}");
}

/// A free loopback port: bound, read, released.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local_addr").port()
}

// ---- HTTP ---------------------------------------------------------------------------------

/// A minimal `GET`: the status code and the body.
fn http_get(port: u16, path: &str) -> std::io::Result<(u16, String)> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.set_write_timeout(Some(Duration::from_secs(5)))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let raw = String::from_utf8_lossy(&raw);
    let bad = |why: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, why.to_string());
    let (head, body) = raw
        .split_once("\r\n\r\n")
        .ok_or_else(|| bad("no end of headers"))?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("no status code"))?;
    let chunked = head
        .lines()
        .any(|l| l.to_ascii_lowercase().replace(' ', "") == "transfer-encoding:chunked");
    let body = if chunked {
        dechunk(body).ok_or_else(|| bad("bad chunked body"))?
    } else {
        body.to_string()
    };
    Ok((status, body))
}

fn dechunk(mut rest: &str) -> Option<String> {
    let mut out = String::new();
    loop {
        let (size, after) = rest.split_once("\r\n")?;
        let size = usize::from_str_radix(size.split(';').next()?.trim(), 16).ok()?;
        if size == 0 {
            return Some(out);
        }
        out.push_str(after.get(..size)?);
        rest = after.get(size + 2..)?;
    }
}

/// The value of one sample (`name{labels}` exactly as rendered) in Prometheus text format.
fn metric(text: &str, sample: &str) -> Option<f64> {
    text.lines().filter(|l| !l.starts_with('#')).find_map(|l| {
        let (key, value) = l.rsplit_once(' ')?;
        (key == sample).then(|| value.parse().ok())?
    })
}

// ---- configs ------------------------------------------------------------------------------

fn repo_file(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// A small simulated account: one function, three alarms; `throttles` is that alarm's threshold.
/// The state file is `account.json` next to the config.
fn small_config(throttles: i64, extra: &str) -> String {
    format!(
        r#"interval = "1h"
jitter = 0

[cloud]
backend = "simulated"

[[functions]]
name = "fn-a"
tier = "batch"

[alarms.throttles]
threshold = {throttles}

[alarms.cache_hit_rate]
enabled = false

[alarms.cost_per_student]
enabled = false

[simulated]
state_file = "account.json"

[[simulated.functions]]
name = "fn-a"
{extra}"#
    )
}

/// A temporary directory holding `trimtab.toml` = `small_config(throttles, "")`.
fn small_config_file(throttles: i64) -> (TempDir, PathBuf) {
    let dir = TempDir::new().expect("tempdir");
    let config = dir.path().join("trimtab.toml");
    std::fs::write(&config, small_config(throttles, "")).expect("write");
    (dir, config)
}

/// Replaces `path` in one step (write a sibling, rename over), as editors do, so the daemon
/// never reads a half-written file.
fn replace_file(path: &Path, contents: &str) {
    let tmp = path.with_extension("toml.new");
    std::fs::write(&tmp, contents).expect("write config");
    std::fs::rename(&tmp, path).expect("rename config into place");
}

// ---- the daemon ---------------------------------------------------------------------------

struct Daemon {
    guard: Guard,
    port: u16,
    stderr: Arc<Mutex<Vec<String>>>,
    stderr_reader: Option<JoinHandle<()>>,
}

impl Daemon {
    fn start(config: &Path, extra_args: &[&str]) -> Daemon {
        let port = free_port();
        let mut child = trimtab()
            .args([
                "--log-format",
                "json",
                "--log-level",
                "info",
                "run",
                "--config",
            ])
            .arg(config)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(extra_args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn trimtab run");
        let (stderr, reader) = collect_lines(child.stderr.take().expect("stderr"));
        Daemon {
            guard: Guard(child),
            port,
            stderr,
            stderr_reader: Some(reader),
        }
    }

    fn pid(&self) -> u32 {
        self.guard.0.id()
    }

    fn logs(&self) -> Vec<String> {
        self.stderr.lock().unwrap().clone()
    }

    fn log_tail(&self) -> String {
        let logs = self.logs();
        logs[logs.len().saturating_sub(20)..].join("\n")
    }

    fn get(&self, path: &str) -> std::io::Result<(u16, String)> {
        http_get(self.port, path)
    }

    /// Polls `probe` until it returns `Ok`; panics on the deadline or if the daemon exits, with
    /// the last thing the probe saw and the daemon's last log lines.
    fn wait_for<T>(
        &mut self,
        what: &str,
        mut probe: impl FnMut(&Daemon) -> Result<T, String>,
    ) -> T {
        let start = Instant::now();
        loop {
            let last = match probe(self) {
                Ok(value) => return value,
                Err(last) => last,
            };
            if let Some(status) = self.guard.0.try_wait().expect("try_wait") {
                panic!(
                    "waiting for {what}: the daemon exited ({status}); last seen: {last}\nlogs:\n{}",
                    self.log_tail()
                );
            }
            if start.elapsed() > DEADLINE {
                panic!(
                    "waiting for {what}: not within {DEADLINE:?}; last seen: {last}\nlogs:\n{}",
                    self.log_tail()
                );
            }
            std::thread::sleep(POLL);
        }
    }

    fn wait_status(&mut self, path: &str, code: u16) {
        self.wait_for(&format!("{path} to answer {code}"), |d| match d.get(path) {
            Ok((c, _)) if c == code => Ok(()),
            Ok((c, body)) => Err(format!("{c} {body}")),
            Err(e) => Err(e.to_string()),
        });
    }

    /// Waits until `/metrics` has `sample` satisfying `ok`; returns the whole page.
    fn wait_metric(&mut self, sample: &str, ok: impl Fn(f64) -> bool) -> String {
        self.wait_for(&format!("metric {sample}"), |d| {
            let (code, body) = d.get("/metrics").map_err(|e| e.to_string())?;
            match metric(&body, sample) {
                Some(v) if code == 200 && ok(v) => Ok(body),
                other => Err(format!("HTTP {code}, {sample} = {other:?}")),
            }
        })
    }

    /// Waits until `/status` satisfies `ok`; returns it.
    fn wait_status_json(&mut self, what: &str, ok: impl Fn(&Value) -> bool) -> Value {
        self.wait_for(what, |d| {
            let (code, body) = d.get("/status").map_err(|e| e.to_string())?;
            let json: Value =
                serde_json::from_str(&body).map_err(|e| format!("HTTP {code}, {e}: {body}"))?;
            if code == 200 && ok(&json) {
                Ok(json)
            } else {
                Err(format!("HTTP {code}: {json}"))
            }
        })
    }

    /// Waits for a JSON log line whose message contains `text`; returns it parsed.
    fn wait_log(&mut self, text: &str) -> Value {
        self.wait_for(&format!("a log line with {text:?}"), |d| {
            d.logged(text).ok_or_else(|| "not logged yet".to_string())
        })
    }

    /// Waits for the daemon to exit and for its last log lines.
    fn wait_exit(&mut self) -> ExitStatus {
        let status = wait_exit(&mut self.guard.0, DEADLINE, "trimtab run");
        if let Some(reader) = self.stderr_reader.take() {
            reader.join().expect("stderr reader");
        }
        status
    }

    /// The first JSON log line whose message contains `text`.
    fn logged(&self, text: &str) -> Option<Value> {
        self.logs()
            .iter()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|v| v["message"].as_str().is_some_and(|m| m.contains(text)))
    }
}

// ---- validate -----------------------------------------------------------------------------

#[test]
fn validate_accepts_the_shipped_configs() {
    for rel in ["config/demo.toml", "config/example.toml"] {
        let path = repo_file(rel);
        let out = run(&[
            OsStr::new("validate"),
            OsStr::new("--config"),
            path.as_os_str(),
        ]);
        assert_eq!(out.code, Some(0), "{rel}: {out:?}");
        assert_eq!(out.stdout, format!("{}: ok\n", path.display()), "{rel}");
        assert_eq!(out.stderr, "", "{rel}");
    }
}

#[test]
fn validate_lists_every_problem_in_file_order() {
    let dir = TempDir::new().expect("tempdir");
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        r#"interval = "soon"
[cloud]
backend = "simulated"
[alarms.duration]
treshold_ms = 5
[alarms.error_rate]
threshold_percent = 150
[executor]
concurrency = 1.5
[[functions]]
name = "f"
[[functions]]
name = "f"
"#,
    )
    .expect("write");
    let out = run(&[
        OsStr::new("validate"),
        OsStr::new("--config"),
        path.as_os_str(),
    ]);
    assert_eq!(out.code, Some(EXIT_CONFIG), "{out:?}");
    assert_eq!(out.stdout, "");
    let p = path.display();
    let expected = [
        format!(
            "{p}:1:12: `interval`: invalid duration \"soon\"; write a number and a unit, e.g. \"250ms\", \"60s\", \"5m\" or \"1h30m\""
        ),
        format!(
            "{p}:5:1: unknown key `treshold_ms` in [alarms.duration]; did you mean `threshold_ms`?"
        ),
        format!(
            "{p}:7:21: `alarms.error_rate.threshold_percent` must be between 0 and 100 percent, found 150"
        ),
        format!("{p}:9:15: `executor.concurrency`: expected an integer, found a float"),
        format!("{p}:13:8: duplicate function `f`: already listed on line 11"),
    ];
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines, expected, "stderr:\n{}", out.stderr);
    // The shape, independently of the wording: FILE:LINE:COL: message, in file order.
    let mut previous = (0, 0);
    for line in &lines {
        let rest = line
            .strip_prefix(&format!("{p}:"))
            .unwrap_or_else(|| panic!("not prefixed by the path: {line}"));
        let mut parts = rest.splitn(3, ':');
        let line_no: usize = parts.next().unwrap().parse().expect("line number");
        let col: usize = parts.next().unwrap().parse().expect("column");
        assert!(parts.next().unwrap().starts_with(' '), "{line}");
        assert!((line_no, col) > previous, "out of file order: {line}");
        previous = (line_no, col);
    }
}

#[test]
fn validate_reports_a_missing_file_by_name() {
    let dir = TempDir::new().expect("tempdir");
    let path = dir.path().join("nowhere.toml");
    let out = run(&[
        OsStr::new("validate"),
        OsStr::new("--config"),
        path.as_os_str(),
    ]);
    assert!(
        out.code.is_some_and(|c| c != 0),
        "a missing file must fail: {out:?}"
    );
    assert!(
        out.stderr.contains(&path.display().to_string()),
        "the message must name the path: {out:?}"
    );
}

#[test]
fn unreadable_config_inputs_get_a_clear_error_not_a_hang() {
    let dir = TempDir::new().expect("tempdir");
    let validate = |path: &Path| {
        run(&[
            OsStr::new("validate"),
            OsStr::new("--config"),
            path.as_os_str(),
        ])
    };
    // A FIFO nobody writes to, and a device that never ends: refused before reading.
    let fifo = dir.path().join("fifo.toml");
    let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success());
    for path in [fifo.as_path(), Path::new("/dev/zero")] {
        let out = validate(path);
        assert_eq!(out.code, Some(EXIT_CONFIG), "{}: {out:?}", path.display());
        assert!(out.stderr.contains("not a regular file"), "{out:?}");
    }
    // A huge file: refused by size.
    let big = dir.path().join("big.toml");
    std::fs::write(&big, "# filler\n".repeat(300_000)).expect("write");
    let out = validate(&big);
    assert_eq!(out.code, Some(EXIT_CONFIG), "{out:?}");
    assert!(out.stderr.contains("at most 1048576 bytes"), "{out:?}");
    // Invalid UTF-8: where it is.
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, b"interval = \"60s\"\nname = \"ab\xff\"\n").expect("write");
    let out = validate(&bad);
    assert_eq!(out.code, Some(EXIT_CONFIG), "{out:?}");
    assert_eq!(
        out.stderr.trim(),
        format!("{}:2:11: the file is not valid UTF-8", bad.display())
    );
}

#[test]
fn validate_reports_a_syntax_error_at_its_position() {
    let dir = TempDir::new().expect("tempdir");
    let path = dir.path().join("syntax.toml");
    std::fs::write(&path, "interval = \"60s\"\njitter = 0.1.2\nfoo = [\n").expect("write");
    let out = run(&[
        OsStr::new("validate"),
        OsStr::new("--config"),
        path.as_os_str(),
    ]);
    assert_eq!(out.code, Some(EXIT_CONFIG), "{out:?}");
    let prefix = format!("{}:2:13: TOML syntax error: ", path.display());
    assert_eq!(out.stderr.lines().count(), 1, "only the first: {out:?}");
    assert!(out.stderr.starts_with(&prefix), "{out:?}");
}

// ---- plan and apply -----------------------------------------------------------------------

/// One change of `plan`'s text output.
#[derive(Debug)]
struct TextChange {
    action: String,
    reason: String,
}

/// The changes part of `plan`'s text output (refusals, listed after "Not changed", are left out).
#[derive(Debug)]
struct TextPlan {
    /// `Plan: C to create, U to update, D to delete.`
    header: Option<(usize, usize, usize)>,
    changes: Vec<TextChange>,
}

impl TextPlan {
    fn parse(stdout: &str) -> TextPlan {
        // The changes end where the next section begins.
        let end = [
            "\nNot changed",
            "\nNotes (",
            "\nRight-sizing (",
            "\nCost per student",
        ]
        .iter()
        .filter_map(|m| stdout.find(m))
        .min()
        .unwrap_or(stdout.len());
        let section = &stdout[..end];
        let header = section.lines().find_map(|l| {
            let counts: Vec<usize> = l
                .strip_prefix("Plan: ")?
                .split(", ")
                .map(|part| part.split(' ').next()?.parse().ok())
                .collect::<Option<_>>()?;
            match counts[..] {
                [c, u, d] => Some((c, u, d)),
                _ => None,
            }
        });
        let mut changes: Vec<TextChange> = Vec::new();
        let mut reasons = 0;
        for line in section.lines() {
            if let Some(action) = ["+ create ", "~ update ", "- delete "]
                .iter()
                .find(|p| line.starts_with(*p))
            {
                changes.push(TextChange {
                    action: action[2..].trim().to_string(),
                    reason: String::new(),
                });
            } else if let Some(reason) = line.strip_prefix("    reason: ") {
                let change = changes
                    .last_mut()
                    .unwrap_or_else(|| panic!("a reason before any change:\n{stdout}"));
                assert!(
                    change.reason.is_empty(),
                    "two reasons for one change:\n{stdout}"
                );
                change.reason = reason.to_string();
                reasons += 1;
            }
        }
        assert_eq!(reasons, changes.len(), "one reason per change:\n{stdout}");
        assert!(
            changes.iter().all(|c| !c.reason.trim().is_empty()),
            "empty reason:\n{stdout}"
        );
        TextPlan { header, changes }
    }

    fn count(&self, action: &str) -> usize {
        self.changes.iter().filter(|c| c.action == action).count()
    }
}

fn plan_json(config: &Path) -> (Option<i32>, Value) {
    let out = run(&[
        OsStr::new("plan"),
        OsStr::new("--config"),
        config.as_os_str(),
        OsStr::new("--output"),
        OsStr::new("json"),
    ]);
    let json = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("plan --output json is not JSON ({e}): {out:?}"));
    (out.code, json)
}

#[test]
fn plan_apply_plan_converges_on_a_fresh_account() {
    let dir = TempDir::new().expect("tempdir");
    let demo = std::fs::read_to_string(repo_file("config/demo.toml")).expect("read demo.toml");
    let original = "state_file = \"demo-account.json\"";
    assert!(
        demo.contains(original),
        "config/demo.toml no longer has {original}"
    );
    let config = dir.path().join("demo.toml");
    // The hourly cost datapoint depends on the wall clock's minute of the hour; this test
    // compares plans taken seconds apart, so it leaves publishing out.
    assert!(
        demo.contains("[cost]\n"),
        "config/demo.toml no longer has [cost]"
    );
    std::fs::write(
        &config,
        demo.replace(original, "state_file = \"account.json\"")
            .replace("[cost]\n", "[cost]\npublish = false\n"),
    )
    .expect("write");
    let args = |cmd: &'static str| [OsStr::new(cmd), OsStr::new("--config"), config.as_os_str()];

    let first = run(&args("plan"));
    assert_eq!(first.code, Some(2), "pending changes: {first:?}");
    let plan = TextPlan::parse(&first.stdout);
    let creates = plan.count("create");
    assert!(
        creates > 0,
        "a fresh account needs creates:\n{}",
        first.stdout
    );
    let total = plan.changes.len();
    assert_eq!(
        plan.header,
        Some((creates, plan.count("update"), plan.count("delete"))),
        "the header counts the listed changes:\n{}",
        first.stdout
    );
    assert!(
        !dir.path().join("account.json").exists(),
        "plan writes nothing, not even the simulated account's state file"
    );

    let (code, json) = plan_json(&config);
    assert_eq!(code, Some(2), "{json}");
    assert_eq!(json["in_sync"], false, "{json}");
    assert_eq!(json["create"], creates, "{json}");
    assert_eq!(json["update"], plan.count("update"), "{json}");
    assert_eq!(json["delete"], plan.count("delete"), "{json}");
    let listed = json["changes"].as_array().expect("changes[]");
    let mut json_reasons: Vec<&str> = listed
        .iter()
        .map(|c| {
            c["reason"]
                .as_str()
                .filter(|r| !r.is_empty())
                .unwrap_or_else(|| panic!("every change has a reason: {c}"))
        })
        .collect();
    let mut text_reasons: Vec<&str> = plan.changes.iter().map(|c| c.reason.as_str()).collect();
    json_reasons.sort_unstable();
    text_reasons.sort_unstable();
    assert_eq!(json_reasons, text_reasons, "text and JSON plans agree");

    let apply = run(&args("apply"));
    assert_eq!(apply.code, Some(0), "{apply:?}");
    assert!(
        dir.path().join("account.json").exists(),
        "apply saves the state file, resolved relative to the config file"
    );
    let done = apply
        .stdout
        .lines()
        .filter(|l| l.ends_with(": done"))
        .count();
    assert_eq!(done, total, "one done line per change:\n{}", apply.stdout);
    assert!(
        apply
            .stdout
            .contains(&format!("Apply: {total} done, 0 failed")),
        "{}",
        apply.stdout
    );

    let second = run(&args("plan"));
    assert_eq!(second.code, Some(0), "in sync: {second:?}");
    assert!(second.stdout.contains("no changes"), "{}", second.stdout);
    let (code, json) = plan_json(&config);
    assert_eq!(code, Some(0), "{json}");
    assert_eq!(json["in_sync"], true, "{json}");
    assert_eq!(json["create"], 0, "{json}");
    assert_eq!(json["changes"], Value::Array(vec![]), "{json}");
}

#[test]
fn plan_apply_and_run_with_an_invalid_config_change_nothing() {
    let (dir, config) = small_config_file(-1);
    let listen = format!("127.0.0.1:{}", free_port());
    for cmd in ["plan", "apply", "run"] {
        let mut args = vec![OsStr::new(cmd), OsStr::new("--config"), config.as_os_str()];
        if cmd == "run" {
            args.extend([OsStr::new("--listen"), OsStr::new(&listen)]);
        }
        let out = run(&args);
        assert_eq!(out.code, Some(EXIT_CONFIG), "{cmd}: {out:?}");
        assert_eq!(out.stdout, "", "{cmd}");
        assert_eq!(
            out.stderr,
            format!(
                "{}:12:13: `alarms.throttles.threshold` must be between 0 and 1000000000 per period, found -1\n",
                config.display()
            ),
            "{cmd}"
        );
        assert!(
            !dir.path().join("account.json").exists(),
            "{cmd} with an invalid config created the state file"
        );
    }
}

#[test]
fn usage_errors_exit_64_and_help_lists_the_exit_codes() {
    // Not clap's 2: for `plan`, 2 means "changes pending".
    let out = run(&[OsStr::new("plan")]);
    assert_eq!(out.code, Some(64), "{out:?}");
    assert!(out.stderr.contains("--config"), "{}", out.stderr);
    let out = run(&[OsStr::new("frobnicate")]);
    assert_eq!(out.code, Some(64), "{out:?}");
    let help = run(&[OsStr::new("--help")]);
    assert_eq!(help.code, Some(0), "{help:?}");
    for code in ["0 ", "1 ", "2 ", "64 ", "78 "] {
        assert!(
            help.stdout.contains(&format!("\n  {code}")),
            "exit code {code}missing:\n{}",
            help.stdout
        );
    }
    // Every flag of every command is described.
    for cmd in ["validate", "plan", "cost", "apply", "run"] {
        let h = run(&[OsStr::new(cmd), OsStr::new("-h")]);
        assert_eq!(h.code, Some(0), "{cmd}: {h:?}");
        for line in h.stdout.lines().filter(|l| l.trim_start().starts_with('-')) {
            let described = line.split("  ").filter(|p| !p.trim().is_empty()).count() >= 2;
            assert!(
                described,
                "{cmd} -h: undescribed flag: {line:?}\n{}",
                h.stdout
            );
        }
    }
}

#[test]
fn text_logs_have_no_colour_when_stderr_is_not_a_terminal() {
    let (_dir, config) = small_config_file(10);
    let out = run(&[
        OsStr::new("apply"),
        OsStr::new("--config"),
        config.as_os_str(),
    ]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stderr.contains("change applied"), "{}", out.stderr);
    assert!(
        !out.stderr.contains('\x1b'),
        "colour escapes in a pipe: {:?}",
        out.stderr
    );
}

#[test]
fn logs_are_json_lines_with_json_format() {
    let (_dir, config) = small_config_file(10);
    let out = run(&[
        OsStr::new("--log-format"),
        OsStr::new("json"),
        OsStr::new("apply"),
        OsStr::new("--config"),
        config.as_os_str(),
    ]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let lines: Vec<Value> = out
        .stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(!lines.is_empty(), "apply logs its changes: {out:?}");
    for line in &lines {
        assert!(line["level"].is_string(), "{line}");
        assert!(line["message"].is_string(), "{line}");
        assert!(line["timestamp"].is_string(), "{line}");
    }
    // flatten_event(true): an event's fields sit next to its message, not under "fields".
    let applied = lines
        .iter()
        .find(|l| l["message"] == "change applied")
        .unwrap_or_else(|| panic!("no \"change applied\" line: {out:?}"));
    assert_eq!(applied["level"], "INFO", "{applied}");
    assert_eq!(applied["action"], "create", "{applied}");
    assert!(applied.get("fields").is_none(), "{applied}");
}

// ---- run ----------------------------------------------------------------------------------

#[test]
fn a_config_written_in_parts_is_loaded_once_it_settles() {
    use std::io::Write as _;
    let (_dir, config) = small_config_file(10);
    let mut daemon = Daemon::start(&config, &[]);
    daemon.wait_metric("trimtab_cycles_total{outcome=\"success\"}", |v| v >= 1.0);
    // The first part alone is valid TOML that names no function: loaded, it would prune
    // every alarm. The rest follows a second later, as a slow copy would write it.
    let full = small_config(11, "");
    let (head, tail) = full.split_at(full.find("[[functions]]").expect("a functions rule"));
    let mut f = std::fs::File::create(&config).expect("truncate");
    f.write_all(head.as_bytes()).expect("first part");
    f.sync_all().expect("sync");
    std::thread::sleep(Duration::from_secs(1));
    f.write_all(tail.as_bytes()).expect("second part");
    f.sync_all().expect("sync");
    drop(f);
    let metrics = daemon.wait_metric("trimtab_config_generation", |v| v >= 2.0);
    // Give a wrong second reload time to happen, then check there was exactly one.
    std::thread::sleep(Duration::from_secs(3));
    let metrics = daemon
        .get("/metrics")
        .map(|(_, body)| body)
        .unwrap_or(metrics);
    assert_eq!(
        metric(&metrics, "trimtab_config_generation"),
        Some(2.0),
        "{metrics}"
    );
    assert_eq!(
        metric(
            &metrics,
            "trimtab_config_reloads_total{outcome=\"success\"}"
        ),
        Some(1.0),
        "{metrics}"
    );
    assert_eq!(
        metric(
            &metrics,
            "trimtab_changes_applied_total{action=\"delete\",kind=\"alarm\"}"
        ),
        Some(0.0),
        "half a file was applied: {metrics}"
    );
}

#[test]
fn run_serves_reloads_and_stops_cleanly() {
    let (_dir, config) = small_config_file(10);
    let mut daemon = Daemon::start(&config, &[]);

    daemon.wait_status("/readyz", 200);
    let (code, body) = daemon.get("/healthz").expect("GET /healthz");
    assert_eq!(code, 200, "/healthz: {body}");
    // The container's health check: the binary probes itself (the image has no curl).
    let addr = format!("127.0.0.1:{}", daemon.port);
    let probe = run(&["healthcheck", "--addr", &addr]);
    assert_eq!(probe.code, Some(0), "{}", probe.stderr);
    let nobody = format!("127.0.0.1:{}", free_port());
    let probe = run(&["healthcheck", "--addr", &nobody, "--timeout", "1s"]);
    assert_eq!(probe.code, Some(1), "{}", probe.stderr);
    let metrics = daemon.wait_metric("trimtab_cycles_total{outcome=\"success\"}", |v| v >= 1.0);
    assert_eq!(
        metric(&metrics, "trimtab_config_generation"),
        Some(1.0),
        "{metrics}"
    );
    let status = daemon.wait_status_json("a completed cycle in /status", |s| {
        s["last_cycle"]["outcome"].is_string()
    });
    assert_eq!(status["config_generation"], 1, "{status}");
    assert_eq!(status["last_cycle"]["outcome"], "success", "{status}");
    // Right-sizing's view of the one function, in both places.
    let sizing = &status["right_sizing"];
    assert_eq!(sizing["functions"][0]["function"], "fn-a", "{status}");
    let state = sizing["functions"][0]["state"].as_str().expect("a state");
    assert_eq!(sizing["functions_by_state"][state], 1, "{status}");
    let metrics = daemon.wait_metric("trimtab_cycles_total{outcome=\"success\"}", |v| v >= 1.0);
    assert_eq!(
        metric(
            &metrics,
            &format!("trimtab_rightsizing_functions{{state=\"{state}\"}}")
        ),
        Some(1.0),
        "{metrics}"
    );

    // An invalid edit is counted and reported; the last good configuration keeps running.
    replace_file(&config, &small_config(-1, ""));
    let metrics = daemon.wait_metric("trimtab_config_reloads_total{outcome=\"failure\"}", |v| {
        v >= 1.0
    });
    assert_eq!(
        metric(
            &metrics,
            "trimtab_config_reloads_total{outcome=\"failure\"}"
        ),
        Some(1.0),
        "{metrics}"
    );
    assert_eq!(
        metric(&metrics, "trimtab_config_generation"),
        Some(1.0),
        "{metrics}"
    );
    let (code, body) = daemon.get("/healthz").expect("GET /healthz");
    assert_eq!(code, 200, "still serving after an invalid reload: {body}");
    let status = daemon.wait_status_json("the reload error in /status", |s| {
        s["recent_errors"]
            .as_array()
            .is_some_and(|e| e.iter().any(|e| e["context"] == "config reload"))
    });
    assert_eq!(status["config_generation"], 1, "{status}");
    let error = status["recent_errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["context"] == "config reload")
        .unwrap();
    let message = error["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(
            "`alarms.throttles.threshold` must be between 0 and 1000000000 per period, found -1"
        ),
        "{error}"
    );

    // A valid, changed file is picked up.
    replace_file(&config, &small_config(20, ""));
    let status =
        daemon.wait_status_json("generation 2 in /status", |s| s["config_generation"] == 2);
    assert_eq!(status["config_generation"], 2, "{status}");
    // ... and acted on: the next cycle updates the alarm whose threshold changed.
    let status = daemon.wait_status_json("the threshold update in /status", |s| {
        s["last_plan"].as_array().is_some_and(|plan| {
            plan.iter()
                .any(|c| c["id"] == "trimtab-lambda-fn-a-throttles" && c["action"] == "update")
        })
    });
    assert_eq!(status["config_generation"], 2, "{status}");
    let metrics = daemon.wait_metric("trimtab_config_generation", |v| v == 2.0);
    assert_eq!(
        metric(
            &metrics,
            "trimtab_config_reloads_total{outcome=\"success\"}"
        ),
        Some(1.0),
        "{metrics}"
    );

    // SIGHUP reloads even an unchanged file.
    kill("HUP", daemon.pid());
    daemon.wait_status_json("generation 3 in /status after SIGHUP", |s| {
        s["config_generation"] == 3
    });
    daemon.wait_metric("trimtab_config_generation", |v| v == 3.0);

    kill("TERM", daemon.pid());
    let status = daemon.wait_exit();
    assert_eq!(
        status.code(),
        Some(0),
        "a clean stop exits 0 ({status})\nlogs:\n{}",
        daemon.log_tail()
    );
    let stopping = daemon
        .logged("stopping")
        .unwrap_or_else(|| panic!("no \"stopping\" log line:\n{}", daemon.log_tail()));
    assert_eq!(stopping["signal"], "SIGTERM", "{stopping}");
    assert_eq!(stopping["level"], "INFO", "{stopping}");
}

#[test]
fn a_second_stop_signal_exits_at_once_with_130() {
    let dir = TempDir::new().expect("tempdir");
    let config = dir.path().join("trimtab.toml");
    // Every simulated call takes 2 s, so the first cycle's observation outlasts both signals.
    std::fs::write(
        &config,
        small_config(10, "\n[simulated.faults]\nlatency = \"2s\"\n"),
    )
    .expect("write");
    let mut daemon = Daemon::start(&config, &["--grace", "5m"]);
    daemon.wait_status("/healthz", 200);
    // The server starts a moment before the signal handlers are installed; a completed call
    // proves the first cycle, and so the handlers, are running.
    daemon.wait_for("a first AWS call", |d| {
        let (_, body) = d.get("/metrics").map_err(|e| e.to_string())?;
        body.lines()
            .any(|l| l.starts_with("trimtab_aws_api_calls_total{"))
            .then_some(())
            .ok_or_else(|| "no call counted yet".to_string())
    });

    kill("TERM", daemon.pid());
    daemon.wait_log("stopping");
    let pid = daemon.pid();
    assert!(
        daemon.guard.0.try_wait().expect("try_wait").is_none(),
        "the first signal must wait for the in-flight cycle\nlogs:\n{}",
        daemon.log_tail()
    );
    kill("TERM", pid);
    let status = daemon.wait_exit();
    assert_eq!(
        status.code(),
        Some(130),
        "a second signal exits 130 ({status})\nlogs:\n{}",
        daemon.log_tail()
    );
}

/// A reload that cannot read the file (a ConfigMap's link dangling for a moment, an I/O error)
/// is tried again by itself: no further file event may ever come.
#[test]
fn a_reload_that_could_not_read_the_file_is_retried() {
    let (dir, first) = small_config_file(10);
    // The daemon reads the config through a link into another folder (as a ConfigMap's), so
    // what happens to the target makes no event on the watched path.
    let other = tempfile::tempdir().expect("tempdir");
    let real = other.path().join("trimtab.toml");
    std::fs::rename(&first, &real).expect("move");
    let link = dir.path().join("linked.toml");
    std::os::unix::fs::symlink(&real, &link).expect("symlink");
    let mut daemon = Daemon::start(&link, &[]);
    daemon.wait_metric("trimtab_config_generation", |v| v == 1.0);
    // The target goes away, a reload is asked for and fails to read it...
    let aside = other.path().join("aside.toml");
    std::fs::rename(&real, &aside).expect("move the target away");
    kill("HUP", daemon.pid());
    daemon.wait_metric("trimtab_config_reloads_total{outcome=\"failure\"}", |v| {
        v >= 1.0
    });
    // ...and comes back without any event on the watched path: the retry loads it.
    std::fs::rename(&aside, &real).expect("put it back");
    daemon.wait_metric("trimtab_config_generation", |v| v == 2.0);
}
