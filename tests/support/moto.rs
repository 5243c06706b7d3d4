//! A private moto server per test, with the CloudWatch RPC-v2-CBOR bridge (`cbor_bridge.py`)
//! in front of it, so the real SDK can be tested over real HTTP (see docs/TESTING.md).
//!
//! Needs `.venv/` from `scripts/setup-test-env`; without it, starting a server fails the test
//! with a message saying so, never a silent pass. Both processes are killed on drop.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Once;
use std::time::{Duration, Instant};

use trimtab::cloud::Cloud;
use trimtab::cloud::aws::{EndpointOverrides, connect_with};
use trimtab::model::{Backend, CloudSettings, SimSettings};

pub const REGION: &str = "us-east-1";
/// moto accepts any account; this is the one it reports in ARNs.
pub const ACCOUNT: &str = "123456789012";
/// Generous for a cold, loaded CI machine; a healthy start takes well under a second.
const STARTUP_DEADLINE: Duration = Duration::from_secs(30);
const SETUP_HINT: &str = "run scripts/setup-test-env to install moto, boto3 and cbor2 into .venv/";

/// Credentials and settings every SDK client and subprocess here uses: dummy strings (moto
/// checks nothing), and no proxy for loopback.
const DUMMY_ENV: &[(&str, &str)] = &[
    ("AWS_ACCESS_KEY_ID", "test"),
    ("AWS_SECRET_ACCESS_KEY", "test"),
    ("AWS_REGION", REGION),
    ("AWS_DEFAULT_REGION", REGION),
    ("NO_PROXY", "127.0.0.1,localhost"),
    ("no_proxy", "127.0.0.1,localhost"),
    // Never wait on an instance-metadata endpoint that isn't there.
    ("AWS_EC2_METADATA_DISABLED", "true"),
];

static PROCESS_ENV: Once = Once::new();

/// The SDK's credential chain reads the process environment, so the dummy credentials go
/// there, once, before the first client exists.
fn set_process_env() {
    PROCESS_ENV.call_once(|| {
        for (key, value) in DUMMY_ENV {
            // SAFETY: runs once, before this test binary builds any SDK client or spawns any
            // process (each test starts a MotoServer first, and the others wait on this Once);
            // std's own env functions serialise on its environment lock, and nothing here reads
            // the environment through libc directly.
            unsafe { std::env::set_var(key, value) };
        }
    });
}

pub struct MotoServer {
    moto: Child,
    bridge: Child,
    moto_port: u16,
    bridge_port: u16,
    python: PathBuf,
    // Holds the servers' stderr logs until the servers are gone.
    logs: tempfile::TempDir,
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn venv_python() -> PathBuf {
    let python = repo_root().join(".venv/bin/python");
    assert!(
        python.exists(),
        "{} not found: {SETUP_HINT}",
        python.display()
    );
    python
}

fn free_port() -> u16 {
    TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// A minimal HTTP/1.0 exchange with a loopback server; returns the status code.
fn http_status(port: u16, method: &str, path: &str) -> std::io::Result<u16> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        stream,
        "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\n\r\n"
    )?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let head = String::from_utf8_lossy(&response);
    head.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("not an HTTP response: {head:.80}")))
}

fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

fn spawn(program: &Path, args: &[&str], log: &Path) -> std::io::Result<Child> {
    let stderr = File::create(log)?;
    let stdout = stderr.try_clone()?;
    Command::new(program)
        .args(args)
        .envs(DUMMY_ENV.iter().copied())
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
}

/// Polls until `GET path` answers 200, the process exits, or the deadline passes.
fn wait_ready(child: &mut Child, port: u16, path: &str, log: &Path) -> Result<(), String> {
    let deadline = Instant::now() + STARTUP_DEADLINE;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("exited with {status}:\n{}", log_tail(log)));
        }
        if let Ok(200) = http_status(port, "GET", path) {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "not ready after {STARTUP_DEADLINE:?}:\n{}",
                log_tail(log)
            ));
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

fn stop(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

impl MotoServer {
    /// Starts moto and the bridge on free loopback ports and waits until both answer.
    pub fn start() -> Self {
        set_process_env();
        let python = venv_python();
        let logs = tempfile::tempdir().expect("a temporary directory for server logs");
        let moto_log = logs.path().join("moto.log");
        let bridge_log = logs.path().join("bridge.log");
        let bridge_script = repo_root().join("tests/support/cbor_bridge.py");

        // A free port can be taken between our probe and the server's bind; try again then.
        let mut failure = String::new();
        for _ in 0..3 {
            let moto_port = free_port();
            let port = moto_port.to_string();
            let mut moto = spawn(
                &python,
                &["-m", "moto.server", "-H", "127.0.0.1", "-p", &port],
                &moto_log,
            )
            .unwrap_or_else(|e| panic!("cannot run {}: {e}; {SETUP_HINT}", python.display()));
            if let Err(e) = wait_ready(&mut moto, moto_port, "/moto-api/data.json", &moto_log) {
                stop(&mut moto);
                failure = format!("moto {e}");
                continue;
            }

            let bridge_port = free_port();
            let upstream = format!("http://127.0.0.1:{moto_port}");
            let bport = bridge_port.to_string();
            let script = bridge_script.to_string_lossy();
            let mut bridge = spawn(
                &python,
                &[&script, "--port", &bport, "--upstream", &upstream],
                &bridge_log,
            )
            .unwrap_or_else(|e| panic!("cannot run the CBOR bridge: {e}; {SETUP_HINT}"));
            if let Err(e) = wait_ready(&mut bridge, bridge_port, "/ping", &bridge_log) {
                stop(&mut bridge);
                stop(&mut moto);
                failure = format!("CBOR bridge {e}");
                continue;
            }
            return Self {
                moto,
                bridge,
                moto_port,
                bridge_port,
                python,
                logs,
            };
        }
        panic!("could not start the emulator ({SETUP_HINT} if moto is missing): {failure}");
    }

    /// moto itself: every service but CloudWatch.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.moto_port)
    }

    /// The CBOR bridge, for aws-sdk-cloudwatch.
    pub fn cloudwatch_endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.bridge_port)
    }

    /// The settings of an AWS backend pointed at this server.
    pub fn settings(&self) -> CloudSettings {
        CloudSettings {
            backend: Backend::Aws,
            region: REGION.to_owned(),
            endpoint_url: Some(self.endpoint()),
            rate_limits: Default::default(),
            simulated: SimSettings::default(),
        }
    }

    /// Sends CloudWatch through the bridge; everything else uses `settings().endpoint_url`.
    pub fn overrides(&self) -> EndpointOverrides {
        EndpointOverrides {
            cloudwatch: Some(self.cloudwatch_endpoint()),
            ..EndpointOverrides::default()
        }
    }

    /// trimtab's AWS backend, connected to this server.
    pub async fn cloud(&self) -> Cloud {
        connect_with(&self.settings(), &self.overrides())
            .await
            .expect("connect to moto")
    }

    /// The environment for a subprocess that uses the AWS SDK (trimtab itself, say) against
    /// this server through the standard `AWS_ENDPOINT_URL*` variables.
    pub fn sdk_env(&self) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> = DUMMY_ENV
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        env.push(("AWS_ENDPOINT_URL".into(), self.endpoint()));
        env.push((
            "AWS_ENDPOINT_URL_CLOUDWATCH".into(),
            self.cloudwatch_endpoint(),
        ));
        env
    }

    /// Clears all of moto's state.
    pub fn reset(&self) {
        let status = http_status(self.moto_port, "POST", "/moto-api/reset");
        assert!(matches!(status, Ok(200)), "moto reset failed: {status:?}");
    }

    /// Runs a Python snippet with boto3 pointed at moto directly (CloudWatch included, since
    /// boto3 still speaks a protocol moto has), for seeding and for inspecting state
    /// independently of trimtab. The snippet reports by calling `emit(value)` once; the last
    /// line printed is parsed as JSON. Helpers: `client(service)`, `emit(value)`,
    /// `make_function(name, memory=128, timeout=3, tags=None)` (creates the IAM role on first
    /// use), `lambda_zip()`, `ACCOUNT`.
    pub fn boto3(&self, script: &str) -> serde_json::Value {
        let program = format!("{BOTO3_PRELUDE}\n{script}\n");
        let out = Command::new(&self.python)
            .arg("-c")
            .arg(&program)
            .envs(DUMMY_ENV.iter().copied())
            .env("TRIMTAB_MOTO_ENDPOINT", self.endpoint())
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}; {SETUP_HINT}", self.python.display()));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "boto3 script failed ({}):\n{script}\n--- stderr ---\n{}\n--- stdout ---\n{stdout}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        let last = stdout
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("null");
        serde_json::from_str(last)
            .unwrap_or_else(|e| panic!("boto3 script printed non-JSON {last:?}: {e}"))
    }

    /// The servers' output so far, for failure messages.
    pub fn logs(&self) -> String {
        format!(
            "--- moto ---\n{}\n--- bridge ---\n{}",
            log_tail(&self.logs.path().join("moto.log")),
            log_tail(&self.logs.path().join("bridge.log"))
        )
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        stop(&mut self.bridge);
        stop(&mut self.moto);
    }
}

const BOTO3_PRELUDE: &str = r#"
import io, json, os, zipfile
import boto3

ENDPOINT = os.environ["TRIMTAB_MOTO_ENDPOINT"]
ACCOUNT = "123456789012"

def client(service):
    return boto3.client(service, endpoint_url=ENDPOINT, region_name="us-east-1")

def emit(value):
    print(json.dumps(value, default=str))

def lambda_zip():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("handler.py", "def handler(event, context):\n    return event\n")
    return buf.getvalue()

def make_function(name, memory=128, timeout=3, tags=None):
    iam = client("iam")
    try:
        role = iam.get_role(RoleName="trimtab-test-role")["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                 "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
        role = iam.create_role(RoleName="trimtab-test-role",
                               AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    return client("lambda").create_function(
        FunctionName=name, Runtime="python3.12", Role=role, Handler="handler.handler",
        Code={"ZipFile": lambda_zip()}, MemorySize=memory, Timeout=timeout, Tags=tags or {},
    )["FunctionArn"]
"#;
