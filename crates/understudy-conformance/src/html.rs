//! `--html`: one self-contained page (no script, no external file): a summary, then per
//! scenario its steps and events on one time axis, and for each failed expectation a diff of
//! what was expected and what came. Built with maud, which escapes every value it writes.

use crate::runner::{ScenarioReport, StepOutcome};
use maud::{DOCTYPE, Markup, PreEscaped, html};

const STYLE: &str = r#"
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.1em; margin: 0; }
.scenario { border: 1px solid #ccc; border-radius: 6px; margin: 1em 0; padding: .8em 1em; }
.scenario.failed { border-color: #c33; }
.badge { display: inline-block; padding: 0 .5em; border-radius: 3px; color: #fff; font-weight: 600; }
.pass { background: #2a7; } .fail { background: #c33; } .skip { background: #999; } .err { background: #b70; }
table { border-collapse: collapse; margin: .5em 0; }
td, th { padding: 2px 8px; text-align: left; border-bottom: 1px solid #eee; vertical-align: top; }
.axis { position: relative; height: 0; margin: .5em 0 1em; border-top: 1px solid #888; }
.lane { position: relative; height: 22px; }
.mark { position: absolute; top: 2px; width: 2px; height: 16px; }
.mark span { position: absolute; left: 4px; top: -1px; white-space: nowrap; font-size: 11px; }
.mark.flip span { left: auto; right: 4px; }
.rest { background: #36c; } .room { background: #2a7; } .chat_socket { background: #a5c; } .sdk { background: #888; }
.step { position: absolute; top: 0; height: 18px; background: #eef; border: 1px solid #99c; font-size: 11px; overflow: hidden; white-space: nowrap; }
.diff { font-family: ui-monospace, monospace; background: #fff6f6; border-left: 3px solid #c33; padding: .4em .8em; }
.diff .want { color: #161; } .diff .got { color: #a11; }
.meta { color: #666; }
"#;

/// The report page for `reports`.
pub fn page(reports: &[ScenarioReport]) -> String {
    let passed = reports.iter().filter(|r| r.passed).count();
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { "understudy conformance" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                h1 { "understudy conformance: " (passed) " of " (reports.len()) " scenarios passed" }
                table {
                    tr { th { "scenario" } th { "result" } th { "ms" } th { "file" } }
                    @for report in reports {
                        tr {
                            td { (report.name) }
                            td { (badge(report.passed)) }
                            td { (format!("{:.0}", report.took_ms)) }
                            td.meta { (report.file) }
                        }
                    }
                }
                @for report in reports { (scenario(report)) }
            }
        }
    };
    markup.into_string()
}

fn badge(passed: bool) -> Markup {
    if passed {
        html! { span.badge.pass { "pass" } }
    } else {
        html! { span.badge.fail { "FAIL" } }
    }
}

fn scenario(report: &ScenarioReport) -> Markup {
    let span = report
        .events
        .iter()
        .map(|e| e.at_ms)
        .chain(report.steps.iter().map(|s| s.started_ms + s.took_ms))
        .fold(1.0_f64, f64::max);
    let x = |ms: f64| format!("{:.2}%", (ms / span * 96.0).clamp(0.0, 96.0));
    html! {
        div.scenario.failed[!report.passed] {
            h2 { (badge(report.passed)) " " (report.name) }
            p.meta {
                (report.file)
                @if let Some(reference) = &report.reference { " · " (reference) }
                @if !report.tags.is_empty() { " · tags: " (report.tags.join(", ")) }
            }
            table {
                tr { th { "#" } th { "step" } th { "at ms" } th { "took ms" } th { "outcome" } }
                @for step in &report.steps {
                    tr {
                        td { (step.index + 1) }
                        td { (step.kind) @if let Some(id) = &step.id { " " em { (id) } } }
                        td { (format!("{:.0}", step.started_ms)) }
                        td { (format!("{:.0}", step.took_ms)) }
                        td { (outcome(&step.outcome)) }
                    }
                }
            }
            p.meta { "time axis: 0 to " (format!("{span:.0}")) " ms; steps above, events below (blue REST, green room, purple chat socket, grey SDK)" }
            div.lane {
                @for step in &report.steps {
                    div.step style=(format!("left:{};width:{}", x(step.started_ms), x(step.took_ms.max(span / 200.0))))
                        title=(format!("{} at {:.0} ms, {:.0} ms", step.kind, step.started_ms, step.took_ms)) { (step.kind) }
                }
            }
            div.axis {}
            @for event in &report.events {
                div.lane style="height:16px" {
                    div class=(format!("mark {}{}", event.source, if event.at_ms > span * 0.6 { " flip" } else { "" }))
                        style=(format!("left:{}", x(event.at_ms)))
                        title=(format!("{} {}", event.name, event.fields)) {
                        span { (format!("{:.0} ms ", event.at_ms)) (event.name) }
                    }
                }
            }
        }
    }
}

fn outcome(outcome: &StepOutcome) -> Markup {
    match outcome {
        StepOutcome::Passed => html! { span.badge.pass { "ok" } },
        StepOutcome::Skipped => html! { span.badge.skip { "skipped" } },
        StepOutcome::Error { message } => html! { span.badge.err { "error" } " " (message) },
        StepOutcome::Failed { message, mismatch } => html! {
            span.badge.fail { "failed" }
            div.diff {
                @match mismatch {
                    Some(m) => {
                        div { "at " strong { (if m.path.is_empty() { "the value" } else { &m.path }) } }
                        div.want { "- expected: " (m.expected) }
                        div.got { "+ got:      " (m.actual) }
                    }
                    None => { div { (message) } }
                }
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matchers::Mismatch;
    use crate::runner::StepReport;
    use crate::timeline::TimedEvent;

    #[test]
    fn the_page_escapes_and_shows_the_diff() {
        let report = ScenarioReport {
            name: "<script>alert(1)</script>".into(),
            file: "x.yaml".into(),
            reference: None,
            tags: vec![],
            passed: false,
            unreachable: false,
            took_ms: 10.0,
            steps: vec![StepReport {
                index: 0,
                kind: "new",
                id: None,
                started_ms: 0.0,
                took_ms: 5.0,
                outcome: StepOutcome::Failed {
                    message: "m".into(),
                    mismatch: Some(Mismatch {
                        path: "data.session_duration_limit".into(),
                        expected: "600".into(),
                        actual: "300".into(),
                    }),
                },
            }],
            events: vec![TimedEvent {
                at_ms: 4.0,
                source: "rest",
                name: "rest:new".into(),
                fields: serde_json::json!({}),
            }],
        };
        let page = page(&[report]);
        assert!(!page.contains("<script>alert"), "names are escaped");
        assert!(page.contains("data.session_duration_limit"));
        assert!(page.contains("expected: 600"));
        assert!(!page.contains("<script src"), "self-contained");
    }
}
