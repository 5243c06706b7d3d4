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
