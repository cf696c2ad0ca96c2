//! `--latency-profile NAME|FILE`: a built-in latency profile, or one read from a YAML or JSON
//! file, with the file, line and column of whatever is wrong in it.

use anyhow::anyhow;
use std::path::Path;
use understudy_conformance::load::{error_at, parse_yaml};
use understudy_server::latency::LatencyProfile;

/// The profile `spec` names: `instant`, `heygen`, or a path to a profile file.
///
/// # Errors
/// A name that is neither built in nor a readable file; a file that does not parse, does not
/// fit the profile's shape, or gives a distribution that cannot be drawn from.
pub fn load(spec: &str) -> anyhow::Result<LatencyProfile> {
    if let Ok(profile) = LatencyProfile::named(spec) {
        return Ok(profile);
    }
    let path = Path::new(spec);
    let text = std::fs::read_to_string(path).map_err(|e| {
        anyhow!("--latency-profile {spec}: not a built-in profile (instant, heygen) and not a readable file: {e}")
    })?;
    let file = path.display().to_string();
    let mut profile: LatencyProfile = parse_yaml(&file, &text)?;
    profile.validate().map_err(|e| {
        let needle = e.phase().map_or("phases", |p| p.name());
        error_at(&file, &text, &format!("{needle}:"), 0, e.to_string())
    })?;
    if profile.name.is_empty() {
        profile.name = path
            .file_stem()
            .map_or_else(|| file.clone(), |s| s.to_string_lossy().into_owned());
    }
    Ok(profile)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(text: &str) -> (tempfile::TempDir, String) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("slow.yaml");
        std::fs::write(&path, text).unwrap();
        (dir, path.display().to_string())
    }

    #[test]
    fn names_and_files() {
        assert_eq!(load("heygen").unwrap(), LatencyProfile::heygen());
        let (_dir, path) =
            write("seed: 3\nphases:\n  speak: {kind: log_normal, median_ms: 2800, sigma: 0.2}\n");
        let profile = load(&path).unwrap();
        assert_eq!(profile.name, "slow");
        assert_eq!(profile.seed, 3);
    }

    #[test]
    fn errors_name_the_file_and_line() {
        let (_dir, path) = write(
            "seed: 3\nphases:\n  speak: {kind: fixed, ms: 1}\n  start: {kind: uniform, min_ms: 9, max_ms: 1}\n",
        );
        let error = load(&path).unwrap_err().to_string();
        assert!(error.starts_with(&format!("{path}:4:")), "{error}");
        assert!(error.contains("min_ms"), "{error}");
        let (_dir, path) = write("phases:\n  speak: {kind: sometimes}\n");
        let error = load(&path).unwrap_err().to_string();
        assert!(error.starts_with(&format!("{path}:2:")), "{error}");
        let error = load("no-such-profile").unwrap_err().to_string();
        assert!(error.contains("not a built-in profile"), "{error}");
    }
}
