//! Two replicas, one writer: two `trimtab run` processes against moto, whose DynamoDB
//! conditional writes are real, sharing a `[lease]`. The leader is killed (`kill -9`, at a
//! random point of its cycle) or stopped cleanly, again and again, while both processes'
//! `trimtab_leader` gauges are sampled every 50 ms: never are both 1 at once, and a standby
//! takes over within the TTL (plus one renewal period) of a kill, and within one renewal period
//! of a clean stop, which releases the lease.
//!
//! Run: `scripts/setup-test-env && cargo test --test lease_moto`.

mod support;

use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::moto::MotoServer;

const TTL: Duration = Duration::from_secs(6);
/// A renewal every third of the TTL.
const RENEW: Duration = Duration::from_secs(2);
/// Slack for scheduling and the sampling itself.
const SLACK: Duration = Duration::from_millis(1_500);

fn config(port_unused: u16) -> String {
    format!(
        r#"
# port {port_unused} (unused: the port is on the command line)
interval = "3s"

[cloud]
backend = "aws"
region = "us-east-1"

[lease]
enabled = true
table = "trimtab-lease"
ttl = "6s"

[alarms.cache_hit_rate]
enabled = false

[cost]
enabled = false
"#
    )
}

struct Replica {
    child: Child,
    port: u16,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl Replica {
    fn start(moto: &MotoServer, dir: &std::path::Path) -> Replica {
        let port = free_port();
        let path = dir.join(format!("trimtab-{port}.toml"));
        std::fs::write(&path, config(port)).expect("config");
        let child = Command::new(env!("CARGO_BIN_EXE_trimtab"))
            .args(["--log-level", "warn", "run", "--listen"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("--config")
            .arg(&path)
            .envs(moto.sdk_env())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join(format!("trimtab-{port}.log"))).expect("log"))
            .spawn()
            .expect("start trimtab");
        Replica { child, port }
    }

    /// `trimtab_leader`, or `None` while the process does not answer.
    fn leader(&self) -> Option<bool> {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
        s.write_all(b"GET /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            .ok()?;
        let mut body = String::new();
        s.read_to_string(&mut body).ok()?;
        let line = body.lines().find(|l| l.starts_with("trimtab_leader "))?;
        Some(line.ends_with(" 1"))
    }

    fn kill(&mut self, signal: &str) {
        let _ = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The first replica leads and the second stands by.
fn settled(a: Option<bool>, b: Option<bool>) -> bool {
    a == Some(true) && b == Some(false)
}

/// Samples both replicas until `done` says so or `limit` passes; panics if both lead at once.
/// Returns how long it took.
fn watch(
    a: &Replica,
    b: &Replica,
    limit: Duration,
    done: impl Fn(Option<bool>, Option<bool>) -> bool,
    overlaps: &mut u32,
    samples: &mut u32,
) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < limit {
        let (x, y) = (a.leader(), b.leader());
        *samples += 1;
        if x == Some(true) && y == Some(true) {
            *overlaps += 1;
        }
        if done(x, y) {
            return Some(start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

#[test]
fn one_writer_among_two_replicas_and_takeover_within_the_ttl() {
    let moto = MotoServer::start();
    moto.boto3(
        r#"
ddb = client("dynamodb")
ddb.create_table(TableName="trimtab-lease", BillingMode="PAY_PER_REQUEST",
    KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
    AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
emit(True)
"#,
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut overlaps, mut samples) = (0, 0);
    let mut leader = Replica::start(&moto, dir.path());
    let first = Duration::from_secs(30);
    let t = Instant::now();
    while leader.leader() != Some(true) {
        assert!(t.elapsed() < first, "the first replica never led");
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut standby = Replica::start(&moto, dir.path());
    if watch(
        &leader,
        &standby,
        first,
        settled,
        &mut overlaps,
        &mut samples,
    )
    .is_none()
    {
        for r in [&leader, &standby] {
            let log = std::fs::read_to_string(dir.path().join(format!("trimtab-{}.log", r.port)))
                .unwrap_or_default();
            eprintln!("replica {} ({:?}):\n{log}", r.port, r.leader());
        }
        panic!("one leader and one standby");
    }
    let mut takeovers = Vec::new();
    for round in 0..4 {
        // Let the pair run a while: the standby stays a standby.
        let hold = Duration::from_millis(500 + u64::from(rand::random::<u16>() % 3_000));
        watch(
            &leader,
            &standby,
            hold,
            |_, _| false,
            &mut overlaps,
            &mut samples,
        );
        assert_eq!(
            standby.leader(),
            Some(false),
            "round {round}: the standby took over early"
        );
        let clean = round % 2 == 1;
        leader.kill(if clean { "-TERM" } else { "-KILL" });
        let limit = if clean {
            RENEW + SLACK
        } else {
            TTL + RENEW + SLACK
        };
        let took = watch(
            &leader,
            &standby,
            limit * 2,
            |_, y| y == Some(true),
            &mut overlaps,
            &mut samples,
        )
        .unwrap_or_else(|| panic!("round {round}: no takeover within {:?}", limit * 2));
        assert!(
            took <= limit,
            "round {round} ({}): takeover after {took:?}, over {limit:?}",
            if clean { "clean stop" } else { "kill -9" }
        );
        takeovers.push((clean, took));
        // A new replica joins as the standby.
        let next = Replica::start(&moto, dir.path());
        leader = std::mem::replace(&mut standby, next);
        watch(
            &leader,
            &standby,
            first,
            settled,
            &mut overlaps,
            &mut samples,
        )
        .unwrap_or_else(|| panic!("round {round}: the new replica did not settle as standby"));
    }
    assert_eq!(
        overlaps, 0,
        "two leaders at once in {overlaps} of {samples} samples"
    );
    eprintln!("{samples} samples, no overlap; takeovers (clean stop?, time): {takeovers:?}");
}
