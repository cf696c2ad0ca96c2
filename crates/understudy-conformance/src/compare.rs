//! `--compare A B`: the same scenarios against two targets, and where they differ once ids and
//! times are set aside: a scenario's verdict, each reply's status, HeyGen code and shape (its
//! structure with leaves replaced by their types), the order of the events on each connection
//! (the room, the chat socket, the SDK's own), and, apart, the waits whose times differ by more
//! than half (and 200 ms).

use crate::runner::{ScenarioReport, StepOutcome};
use crate::timeline::TimedEvent;
use serde::Serialize;

/// Events whose count or place depends on timing, not behaviour: left out of the order.
const UNORDERED: [&str; 2] = ["connection_quality_changed", "avatar_talking_message"];

/// One way two runs of a scenario differ.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Difference {
    /// `outcome`, `status`, `code`, `shape`, `order` or `timing`.
    pub kind: &'static str,
    /// Where: a step, a reply, an event position.
    pub at: String,
    pub a: String,
    pub b: String,
}

impl Difference {
    /// Timing differences are reported, but do not by themselves make targets unequal.
    pub fn is_timing(&self) -> bool {
        self.kind == "timing"
    }
}

/// Compares two runs of one scenario.
pub fn compare(a: &ScenarioReport, b: &ScenarioReport) -> Vec<Difference> {
    let mut out = Vec::new();
    for (sa, sb) in a.steps.iter().zip(&b.steps) {
        let (va, vb) = (verdict(&sa.outcome), verdict(&sb.outcome));
        if va != vb {
            out.push(Difference {
                kind: "outcome",
                at: format!("step {} ({})", sa.index + 1, sa.kind),
                a: va.to_owned(),
                b: vb.to_owned(),
            });
        }
        if sa.kind == "wait_event" && va == "passed" && vb == "passed" {
            let (ta, tb) = (sa.took_ms, sb.took_ms);
            if (ta - tb).abs() > (ta.max(tb) * 0.5).max(200.0) {
                out.push(Difference {
                    kind: "timing",
                    at: format!("step {} (wait_event)", sa.index + 1),
                    a: format!("{ta:.0} ms"),
                    b: format!("{tb:.0} ms"),
                });
            }
        }
    }
    let replies = |r: &ScenarioReport| -> Vec<TimedEvent> {
        r.events
            .iter()
            .filter(|e| e.source == "rest")
            .cloned()
            .collect()
    };
    for (i, (ra, rb)) in replies(a).iter().zip(&replies(b)).enumerate() {
        let at = format!("reply {} ({})", i + 1, ra.name);
        for (kind, field) in [("status", "status"), ("code", "code"), ("shape", "shape")] {
            if ra.fields[field] != rb.fields[field] {
                out.push(Difference {
                    kind,
                    at: at.clone(),
                    a: ra.fields[field].to_string(),
                    b: rb.fields[field].to_string(),
                });
            }
        }
    }
    // Order is only promised within one connection: compare each source's events apart.
    for source in ["room", "chat_socket", "sdk"] {
        let (oa, ob) = (order(a, source), order(b, source));
        if oa != ob {
            let at = oa
                .iter()
                .zip(&ob)
                .position(|(x, y)| x != y)
                .unwrap_or(oa.len().min(ob.len()));
            let from = |o: &[String]| {
                o.iter()
                    .skip(at)
                    .take(4)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            out.push(Difference {
                kind: "order",
                at: format!("{source} event {}", at + 1),
                a: from(&oa),
                b: from(&ob),
            });
        }
    }
    out
}

fn verdict(outcome: &StepOutcome) -> &'static str {
    match outcome {
        StepOutcome::Passed => "passed",
        StepOutcome::Failed { .. } => "failed",
        StepOutcome::Error { .. } => "error",
        StepOutcome::Skipped => "skipped",
    }
}

/// The names of a run's events from `source` in order, without timing-dependent events, with
/// repeats collapsed.
fn order(report: &ScenarioReport, source: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for event in &report.events {
        if event.source != source || UNORDERED.contains(&event.name.as_str()) {
            continue;
        }
        if names.last() != Some(&event.name) {
            names.push(event.name.clone());
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::StepReport;
    use serde_json::json;

    fn report(
        events: &[(&'static str, &str, serde_json::Value)],
        outcome: StepOutcome,
    ) -> ScenarioReport {
        ScenarioReport {
            name: "s".into(),
            file: "s.yaml".into(),
            reference: None,
            tags: vec![],
            passed: matches!(outcome, StepOutcome::Passed),
            unreachable: false,
            took_ms: 1.0,
            steps: vec![StepReport {
                index: 0,
                kind: "new",
                id: None,
                started_ms: 0.0,
                took_ms: 1.0,
                outcome,
            }],
            events: events
                .iter()
                .enumerate()
                .map(|(i, (source, name, fields))| TimedEvent {
                    at_ms: i as f64,
                    source,
                    name: (*name).to_owned(),
                    fields: fields.clone(),
                })
                .collect(),
        }
    }

    #[test]
    fn ids_and_times_are_set_aside_but_shapes_codes_and_order_are_not() {
        let reply = |shape| json!({"status": 200, "code": 100, "shape": shape});
        let a = report(
            &[
                (
                    "rest",
                    "rest:new",
                    reply(json!({"data": {"session_id": "string"}})),
                ),
                ("room", "avatar_start_talking", json!({"task_id": "1"})),
                ("room", "avatar_stop_talking", json!({"task_id": "1"})),
            ],
            StepOutcome::Passed,
        );
        let same = report(
            &[
                (
                    "rest",
                    "rest:new",
                    reply(json!({"data": {"session_id": "string"}})),
                ),
                ("room", "avatar_start_talking", json!({"task_id": "2"})),
                ("room", "avatar_talking_message", json!({})),
                ("room", "avatar_stop_talking", json!({"task_id": "2"})),
            ],
            StepOutcome::Passed,
        );
        assert_eq!(compare(&a, &same), vec![]);
        let other = report(
            &[
                (
                    "rest",
                    "rest:new",
                    reply(json!({"data": {"session_id": "number"}})),
                ),
                ("room", "avatar_stop_talking", json!({})),
            ],
            StepOutcome::Failed {
                message: "m".into(),
                mismatch: None,
            },
        );
        let kinds: Vec<&str> = compare(&a, &other).iter().map(|d| d.kind).collect();
        assert_eq!(kinds, ["outcome", "shape", "order"]);
    }
}
