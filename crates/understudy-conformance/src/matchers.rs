//! Matching a reply or an event against what a scenario expects: the expected JSON is a subset
//! (objects need only the keys they name), and strings starting with `$` are matchers:
//!
//! | matcher | matches |
//! |---|---|
//! | `$any` | anything present |
//! | `$absent` | the key is missing (or null) |
//! | `$string`, `$number`, `$bool`, `$object`, `$array`, `$null` | a value of that type |
//! | `$uuid` | a UUID string |
//! | `$regex PATTERN` | a string the regex finds a match in |
//! | `$range A..B` | a number in `[A, B]` |
//! | `$not A,B` | anything but these strings (present or not) |
//!
//! `$$` at the start of a string stands for a literal `$`.

use regex::Regex;
use serde_json::Value;

/// Where and how a value differed from what was expected.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Mismatch {
    /// A JSON path (`data.task_id`, `list[2].name`), empty for the whole value.
    pub path: String,
    pub expected: String,
    pub actual: String,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let at = if self.path.is_empty() {
            "the value"
        } else {
            &self.path
        };
        write!(f, "{at}: expected {}, got {}", self.expected, self.actual)
    }
}

/// Checks `actual` against `expected`.
///
/// # Errors
/// The first difference, with its path.
pub fn check(expected: &Value, actual: Option<&Value>) -> Result<(), Mismatch> {
    walk("", expected, actual)
}

fn describe(value: Option<&Value>) -> String {
    match value {
        None => "nothing (absent)".into(),
        Some(v) => {
            let text = v.to_string();
            if text.chars().count() > 120 {
                format!("{}…", text.chars().take(120).collect::<String>())
            } else {
                text
            }
        }
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn walk(path: &str, expected: &Value, actual: Option<&Value>) -> Result<(), Mismatch> {
    let fail = |expected: String| {
        Err(Mismatch {
            path: path.to_owned(),
            expected,
            actual: describe(actual),
        })
    };
    match expected {
        Value::String(text) if text.starts_with('$') && !text.starts_with("$$") => {
            matcher(path, text, actual)
        }
        Value::String(text) if text.starts_with("$$") => {
            let literal = Value::String(text[1..].to_owned());
            if actual == Some(&literal) {
                Ok(())
            } else {
                fail(literal.to_string())
            }
        }
        Value::Object(fields) => {
            let Some(Value::Object(have)) = actual else {
                return fail("an object".into());
            };
            for (key, want) in fields {
                walk(&join(path, key), want, have.get(key))?;
            }
            Ok(())
        }
        Value::Array(items) => {
            let Some(Value::Array(have)) = actual else {
                return fail("an array".into());
            };
            if items.len() != have.len() {
                return fail(format!("an array of {}", items.len()));
            }
            for (i, (want, got)) in items.iter().zip(have).enumerate() {
                walk(&format!("{path}[{i}]"), want, Some(got))?;
            }
            Ok(())
        }
        Value::Number(want) => match actual {
            Some(Value::Number(got)) if got.as_f64() == want.as_f64() => Ok(()),
            _ => fail(want.to_string()),
        },
        other => {
            if actual == Some(other) {
                Ok(())
            } else {
                fail(other.to_string())
            }
        }
    }
}

fn matcher(path: &str, text: &str, actual: Option<&Value>) -> Result<(), Mismatch> {
    let (name, argument) = text[1..]
        .split_once(' ')
        .map_or((&text[1..], ""), |(n, a)| (n, a.trim()));
    let ok = match name {
        "any" => actual.is_some_and(|v| !v.is_null()),
        "absent" => actual.is_none_or(Value::is_null),
        "string" => actual.is_some_and(Value::is_string),
        "number" => actual.is_some_and(Value::is_number),
        "bool" => actual.is_some_and(Value::is_boolean),
        "object" => actual.is_some_and(Value::is_object),
        "array" => actual.is_some_and(Value::is_array),
        "null" => actual.is_some_and(Value::is_null),
        "uuid" => actual
            .and_then(Value::as_str)
            .is_some_and(|s| uuid_shape().is_match(s)),
        "regex" => match Regex::new(argument) {
            Ok(re) => actual
                .and_then(Value::as_str)
                .is_some_and(|s| re.is_match(s)),
            Err(e) => {
                return Err(Mismatch {
                    path: path.to_owned(),
                    expected: format!("a valid regex (`{argument}`: {e})"),
                    actual: describe(actual),
                });
            }
        },
        "not" => {
            let refused: Vec<&str> = argument.split(',').map(str::trim).collect();
            actual
                .and_then(Value::as_str)
                .is_none_or(|s| !refused.contains(&s))
        }
        "range" => {
            let bounds = argument.split_once("..").and_then(|(a, b)| {
                Some((a.trim().parse::<f64>().ok()?, b.trim().parse::<f64>().ok()?))
            });
            match (bounds, actual.and_then(Value::as_f64)) {
                (Some((low, high)), Some(n)) => (low..=high).contains(&n),
                _ => false,
            }
        }
        _ => {
            return Err(Mismatch {
                path: path.to_owned(),
                expected: format!("a known matcher, not `{text}`"),
                actual: describe(actual),
            });
        }
    };
    if ok {
        Ok(())
    } else {
        Err(Mismatch {
            path: path.to_owned(),
            expected: text.to_owned(),
            actual: describe(actual),
        })
    }
}

fn uuid_shape() -> &'static Regex {
    static SHAPE: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    SHAPE.get_or_init(|| {
        Regex::new(
            "^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$",
        )
        .expect("a valid regex")
    })
}

/// The value at a dotted path (`data.task_id`, `list.0.name`), if any.
pub fn at_path<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    if path.is_empty() {
        return Some(value);
    }
    path.split('.').try_fold(value, |v, key| match v {
        Value::Object(map) => map.get(key),
        Value::Array(items) => key.parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn subsets_and_matchers() {
        let reply = json!({"code": 100, "data": {"task_id": "0b9b7a2e-8f0e-11ef-8000-000000000001", "duration_ms": 800.0}, "message": "success"});
        assert_eq!(check(&json!({"code": 100}), Some(&reply)), Ok(()));
        assert_eq!(
            check(
                &json!({"data": {"task_id": "$uuid", "duration_ms": "$range 400..1000", "extra": "$absent"}}),
                Some(&reply)
            ),
            Ok(())
        );
        let miss = check(
            &json!({"data": {"duration_ms": "$range 0..100"}}),
            Some(&reply),
        )
        .unwrap_err();
        assert_eq!(miss.path, "data.duration_ms");
        assert_eq!(miss.actual, "800.0");
        let miss = check(&json!({"message": "$regex ^fail"}), Some(&reply)).unwrap_err();
        assert_eq!(miss.path, "message");
        assert!(check(&json!({"code": "$$100"}), Some(&json!({"code": "$100"}))).is_ok());
        assert!(check(&json!({"x": "$nonsense"}), Some(&reply)).is_err());
        assert!(check(&json!({"message": "$not failure,error"}), Some(&reply)).is_ok());
        assert!(check(&json!({"message": "$not failure,success"}), Some(&reply)).is_err());
    }

    #[test]
    fn numbers_compare_by_value() {
        assert!(check(&json!(800), Some(&json!(800.0))).is_ok());
    }

    #[test]
    fn paths_reach_into_objects_and_arrays() {
        let v = json!({"data": {"list": [{"name": "a"}]}});
        assert_eq!(at_path(&v, "data.list.0.name"), Some(&json!("a")));
        assert_eq!(at_path(&v, "data.nope"), None);
    }
}
