//! Persistence of the simulated account to one JSON file, so `trimtab apply` and a later
//! `trimtab plan` in another process see the same account. Writes are atomic (temp file in the
//! same directory, fsync, rename), so a reader never sees half a file.

use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::SimError;
use super::state::SimState;

/// Bumped whenever the file's shape changes incompatibly.
const FORMAT_VERSION: u32 = 1;

#[derive(Serialize)]
struct FileRef<'a> {
    version: u32,
    state: &'a SimState,
}

#[derive(Deserialize)]
struct FileVersion {
    version: u32,
}

#[derive(Deserialize)]
struct FileOwned {
    state: SimState,
}

/// The persisted state, or `None` when the file does not exist yet.
pub(crate) fn load(path: &Path) -> Result<Option<SimState>, SimError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(SimError::ReadState {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let parse_err = |source| SimError::ParseState {
        path: path.to_path_buf(),
        source,
    };
    let FileVersion { version } = serde_json::from_slice(&bytes).map_err(parse_err)?;
    if version != FORMAT_VERSION {
        return Err(SimError::StateVersion {
            path: path.to_path_buf(),
            found: version,
            expected: FORMAT_VERSION,
        });
    }
    let FileOwned { state } = serde_json::from_slice(&bytes).map_err(parse_err)?;
    Ok(Some(state))
}

pub(crate) fn encode(path: &Path, state: &SimState) -> Result<Vec<u8>, SimError> {
    serde_json::to_vec(&FileRef {
        version: FORMAT_VERSION,
        state,
    })
    .map_err(|source| SimError::SerializeState {
        path: path.to_path_buf(),
        source,
    })
}

pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), SimError> {
    let err = |source| SimError::WriteState {
        path: path.to_path_buf(),
        source,
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "state".into());
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        // Best effort: a leftover temp file is harmless but untidy.
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(err)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::super::testkit::{alarm, settings, sim_function};
    use super::super::{SimAccount, SimError};
    use crate::clock::{Clock, ManualClock};
    use crate::model::FunctionConfigUpdate;

    fn open(path: &std::path::Path, clock: Arc<dyn Clock>) -> Result<Arc<SimAccount>, SimError> {
        let mut s = settings(vec![sim_function("api", 512)]);
        s.state_file = Some(path.to_path_buf());
        SimAccount::new(&s, "ap-south-1", clock)
    }

    #[tokio::test]
    async fn writes_are_saved_and_a_second_process_sees_the_same_account() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let path = dir.path().join("account.json");
        let clock: Arc<dyn Clock> = Arc::new(ManualClock::at_epoch());
        let first = open(&path, clock.clone()).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            !path.exists(),
            "opening an account writes nothing (plan is read-only)"
        );
        let cloud = first.cloud();
        assert!(
            cloud
                .cloudwatch
                .put_metric_alarm(&alarm("trimtab-api-errors"))
                .await
                .is_ok()
        );
        assert!(path.exists(), "the first write saves the account");
        let up = FunctionConfigUpdate {
            memory_mb: Some(1_024),
            timeout_s: None,
            ..Default::default()
        };
        assert!(
            cloud
                .lambda
                .update_function_configuration("api", &up)
                .await
                .is_ok()
        );
        assert!(
            cloud
                .sns
                .create_topic("alerts", &Default::default())
                .await
                .is_ok()
        );

        let second = open(&path, clock).unwrap_or_else(|e| panic!("{e}"));
        let (a, b) = (
            first.with_state(|s| serde_json::to_value(&*s).ok()),
            second.with_state(|s| serde_json::to_value(&*s).ok()),
        );
        assert!(a.is_some());
        assert_eq!(a, b);
        let tags = second.with_state(|s| s.alarms["trimtab-api-errors"].spec.tags.clone());
        assert_eq!(tags.value("managed-by"), Some("trimtab"));
        assert_eq!(second.with_state(|s| s.functions["api"].history.len()), 1);
        let leftovers = std::fs::read_dir(dir.path())
            .map(|d| d.count())
            .unwrap_or(0);
        assert_eq!(leftovers, 1, "no temp files left behind");
    }

    #[test]
    fn unreadable_state_files_name_their_path() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let path = dir.path().join("broken.json");
        let clock: Arc<dyn Clock> = Arc::new(ManualClock::at_epoch());
        std::fs::write(&path, "{not json").unwrap_or_else(|e| panic!("{e}"));
        let msg = open(&path, clock.clone())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(msg.contains("broken.json"), "{msg}");
        std::fs::write(&path, r#"{"version": 99, "state": {}}"#).unwrap_or_else(|e| panic!("{e}"));
        let err = open(&path, clock).err();
        assert!(
            matches!(err, Some(SimError::StateVersion { found: 99, .. })),
            "{err:?}"
        );
    }
}
