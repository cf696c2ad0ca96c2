//! Reading scenario files: YAML through serde-saphyr (pure Rust, panic-free on malformed input,
//! and its errors carry line and column, which a human editing a scenario needs), then the
//! checks YAML cannot express (step ids unique, `after:` naming an earlier step).
//!
//! The shipped corpus (`fixtures/scenarios/`) is built into the binary.

use crate::scenario::{Scenario, Step};
use include_dir::{Dir, include_dir};
use std::collections::HashSet;
use std::path::{Path, PathBuf};

static CORPUS: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/../../fixtures/scenarios");

/// A scenario file that cannot be run, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}:{column}: {message}")]
pub struct LoadError {
    pub file: String,
    /// 1-based; 0 when the error has no place (an unreadable file).
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// A scenario and the file it came from.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub file: String,
    pub scenario: Scenario,
}

/// Parses one scenario from `text`, naming `file` in errors.
///
/// # Errors
/// YAML that does not parse or does not fit the model, with line and column; a step id used
/// twice; an `after:` that names no earlier step.
pub fn parse(file: &str, text: &str) -> Result<Scenario, LoadError> {
    let scenario: Scenario = parse_yaml(file, text)?;
    check(file, text, &scenario)?;
    Ok(scenario)
}

/// Parses any YAML (or JSON, which YAML reads too) document into `T`, naming `file`, line and
/// column in errors: for every file a user writes for Understudy (scenarios, latency
/// profiles).
///
/// # Errors
/// YAML that does not parse or does not fit `T`.
pub fn parse_yaml<T: serde::de::DeserializeOwned>(file: &str, text: &str) -> Result<T, LoadError> {
    serde_saphyr::from_str(text).map_err(|e| located(file, text, &e))
}

/// An error about `file` placed at the `nth` (0-based) line of `text` that contains `needle`,
/// or at its top when none does: for checks YAML cannot express.
pub fn error_at(file: &str, text: &str, needle: &str, nth: usize, message: String) -> LoadError {
    let (line, column) = text
        .lines()
        .enumerate()
        .filter_map(|(i, l)| l.find(needle).map(|c| (i + 1, c + 1)))
        .nth(nth)
        .unwrap_or((1, 1));
    LoadError {
        file: file.to_owned(),
        line,
        column,
        message,
    }
}

fn located(file: &str, text: &str, error: &serde_saphyr::Error) -> LoadError {
    let message = error.to_string();
    let (line, column) = match error.location() {
        Some(at) => (at.line() as usize, at.column() as usize),
        None => place_in_message(&message).unwrap_or_else(|| guess_place(text, &message)),
    };
    LoadError {
        file: file.to_owned(),
        line,
        column,
        message: first_line(&message),
    }
}

/// serde-saphyr prints "line L column C" in some messages that carry no location.
fn place_in_message(message: &str) -> Option<(usize, usize)> {
    let at = message.find("line ")?;
    let mut words = message[at..].split(|c: char| !c.is_ascii_alphanumeric());
    let _ = words.next();
    let line = words.next()?.parse().ok()?;
    let column = words
        .skip_while(|w| *w != "column")
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(1);
    Some((line, column))
}

/// For an error with no place: the first line that names the field the message quotes.
fn guess_place(text: &str, message: &str) -> (usize, usize) {
    let quoted = message.split('`').nth(1).unwrap_or_default();
    if quoted.is_empty() {
        return (1, 1);
    }
    text.lines()
        .enumerate()
        .find_map(|(i, line)| line.find(quoted).map(|c| (i + 1, c + 1)))
        .unwrap_or((1, 1))
}

/// The message without the place serde-saphyr writes into it (the error shows it once).
fn first_line(message: &str) -> String {
    let mut text = message.lines().next().unwrap_or_default();
    text = text.strip_prefix("error: ").unwrap_or(text);
    if text.starts_with("line ") {
        if let Some((_, rest)) = text.split_once(": ") {
            text = rest;
        }
    }
    if let Some(at) = text.rfind(" at line ") {
        text = &text[..at];
    }
    text.to_owned()
}

fn check(file: &str, text: &str, scenario: &Scenario) -> Result<(), LoadError> {
    // Where `needle` is written: its `nth` occurrence (the second for a duplicate id).
    let error =
        |needle: &str, nth: usize, message: String| error_at(file, text, needle, nth, message);
    if scenario.steps.is_empty() {
        return Err(error(
            "steps",
            0,
            "a scenario needs at least one step".into(),
        ));
    }
    let mut seen = HashSet::new();
    for step in &scenario.steps {
        if let Step::WaitEvent(wait) = step {
            if let Some(after) = &wait.after {
                if !seen.contains(after.as_str()) {
                    return Err(error(
                        &format!("after: {after}"),
                        0,
                        format!("`after: {after}` names no earlier step"),
                    ));
                }
            }
        }
        if let Step::StartVoiceChat(voice) = step {
            let sources = [
                voice.wav.is_some(),
                voice.speech.is_some(),
                voice.tone_ms.is_some(),
            ];
            if sources.iter().filter(|&&given| given).count() > 1 {
                return Err(error(
                    "start_voice_chat",
                    0,
                    "start_voice_chat takes one of `wav`, `speech` and `tone_ms`".into(),
                ));
            }
            if let Some(name) = &voice.speech {
                if crate::speech_clips::find(name).is_none() {
                    return Err(error(
                        &format!("speech: {name}"),
                        0,
                        crate::speech_clips::unknown(name),
                    ));
                }
            }
        }
        if let Some(id) = step.id() {
            if !seen.insert(id) {
                return Err(error(
                    &format!("id: {id}"),
                    1,
                    format!("step id `{id}` is used twice"),
                ));
            }
        }
    }
    Ok(())
}

/// Reads one file.
///
/// # Errors
/// As [`parse`], or the file cannot be read.
pub fn load_file(path: &Path) -> Result<Loaded, LoadError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| LoadError {
        file: file.clone(),
        line: 0,
        column: 0,
        message: format!("cannot read: {e}"),
    })?;
    Ok(Loaded {
        scenario: parse(&file, &text)?,
        file,
    })
}

/// Reads files and directories (every `*.yaml`/`*.yml` under them, in name order).
///
/// # Errors
/// The first file that cannot be read or parsed: a corpus with one bad file does not run.
pub fn load_paths(paths: &[PathBuf]) -> Result<Vec<Loaded>, LoadError> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            collect(path, &mut files).map_err(|e| LoadError {
                file: path.display().to_string(),
                line: 0,
                column: 0,
                message: format!("cannot read the directory: {e}"),
            })?;
        } else {
            files.push(path.clone());
        }
    }
    files.sort();
    files.iter().map(|f| load_file(f)).collect()
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(path);
        }
    }
    Ok(())
}

fn corpus_files<'a>(dir: &'a Dir<'a>, out: &mut Vec<&'a include_dir::File<'a>>) {
    for entry in dir.entries() {
        match entry {
            include_dir::DirEntry::Dir(sub) => corpus_files(sub, out),
            include_dir::DirEntry::File(file)
                if file
                    .path()
                    .extension()
                    .is_some_and(|e| e == "yaml" || e == "yml") =>
            {
                out.push(file);
            }
            include_dir::DirEntry::File(_) => {}
        }
    }
}

/// The corpus built into the binary (`fixtures/scenarios/`), in name order.
///
/// # Errors
/// A shipped file that does not parse (a test keeps this from happening).
pub fn builtin() -> Result<Vec<Loaded>, LoadError> {
    let mut files = Vec::new();
    corpus_files(&CORPUS, &mut files);
    files.sort_by_key(|f| f.path());
    files
        .into_iter()
        .map(|f| {
            let file = format!("fixtures/scenarios/{}", f.path().display());
            let text = f.contents_utf8().unwrap_or_default();
            Ok(Loaded {
                scenario: parse(&file, text)?,
                file,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scenario_parses() {
        let scenario = parse(
            "x.yaml",
            "name: n\nsteps:\n  - create_token: {}\n  - sleep: { ms: 5 }\n",
        )
        .unwrap();
        assert_eq!(scenario.steps.len(), 2);
        assert_eq!(scenario.steps[1].kind(), "sleep");
    }

    #[test]
    fn errors_name_file_line_and_column() {
        let bad = "name: n\nsteps:\n  - create_token: {}\n  - speek: { text: hi }\n";
        let error = parse("bad.yaml", bad).unwrap_err();
        assert_eq!(error.file, "bad.yaml");
        assert_eq!(error.line, 4, "{error}");
        assert!(error.column >= 1, "{error}");
        assert!(error.message.contains("speek"), "{error}");

        let broken = "name: n\nsteps:\n  - sleep: { ms: [\n";
        let error = parse("broken.yaml", broken).unwrap_err();
        assert!(error.line >= 3, "{error}");
    }

    #[test]
    fn ids_are_unique_and_after_looks_back() {
        let twice = "name: n\nsteps:\n  - interrupt: { id: a }\n  - keep_alive: { id: a }\n";
        let error = parse("twice.yaml", twice).unwrap_err();
        assert_eq!(error.line, 4, "{error}");
        let ahead = "name: n\nsteps:\n  - wait_event: { event: x, after: later }\n  - interrupt: { id: later }\n";
        let error = parse("ahead.yaml", ahead).unwrap_err();
        assert_eq!(error.line, 3, "{error}");
    }

    #[test]
    fn a_voice_chat_names_a_clip_that_exists_and_one_source() {
        let unknown =
            "name: n\nsteps:\n  - create_token: {}\n  - start_voice_chat: { speech: goodbye }\n";
        let error = parse("speech.yaml", unknown).unwrap_err();
        assert_eq!(error.line, 4, "{error}");
        assert!(error.message.contains("hello"), "{error}");
        let both = "name: n\nsteps:\n  - start_voice_chat: { speech: hello, tone_ms: 5 }\n";
        let error = parse("both.yaml", both).unwrap_err();
        assert_eq!(error.line, 3, "{error}");
        let fine = "name: n\nsteps:\n  - start_voice_chat: { speech: question }\n";
        parse("fine.yaml", fine).unwrap();
    }

    #[test]
    fn the_shipped_corpus_parses() {
        let corpus = builtin().unwrap();
        assert!(!corpus.is_empty());
    }
}
