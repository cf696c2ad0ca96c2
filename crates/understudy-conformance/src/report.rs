//! What a run tells its reader: a progress line per scenario and a summary table on stdout, a
//! JSON document (`--json`) and JUnit XML (`--junit`) for CI systems.

use crate::runner::{ScenarioReport, StepOutcome};
use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
use std::io::Write;
use std::time::Duration;

/// The one-line verdict printed as each scenario ends.
pub fn progress_line(done: usize, total: usize, report: &ScenarioReport) -> String {
    let verdict = if report.passed { "ok  " } else { "FAIL" };
    format!(
        "[{done:>3}/{total}] {verdict} {} ({:.0} ms)",
        report.name, report.took_ms
    )
}

/// The first failed step of a report, described for a human.
pub fn failure(report: &ScenarioReport) -> Option<String> {
    report.steps.iter().find_map(|step| {
        let at = match &step.id {
            Some(id) => format!("step {} ({} `{id}`)", step.index + 1, step.kind),
            None => format!("step {} ({})", step.index + 1, step.kind),
        };
        match &step.outcome {
            StepOutcome::Failed { message, .. } => Some(format!("{at}: {message}")),
            StepOutcome::Error { message } => Some(format!("{at}: error: {message}")),
            StepOutcome::Passed | StepOutcome::Skipped => None,
        }
    })
}

/// The summary table: every failure with its file and cause, then the counts.
pub fn summary(
    reports: &[ScenarioReport],
    took: Duration,
    out: &mut impl Write,
) -> std::io::Result<()> {
    let failed: Vec<&ScenarioReport> = reports.iter().filter(|r| !r.passed).collect();
    if !failed.is_empty() {
        writeln!(out)?;
        writeln!(out, "failures:")?;
        for report in &failed {
            writeln!(out, "  {} ({})", report.name, report.file)?;
            if let Some(why) = failure(report) {
                writeln!(out, "    {why}")?;
            }
        }
    }
    let steps: usize = reports.iter().map(|r| r.steps.len()).sum();
    let events: usize = reports.iter().map(|r| r.events.len()).sum();
    writeln!(out)?;
    writeln!(
        out,
        "{} scenarios: {} passed, {} failed; {steps} steps, {events} events; {:.1} s",
        reports.len(),
        reports.len() - failed.len(),
        failed.len(),
        took.as_secs_f64()
    )
}

/// The whole run as JSON: every scenario with its steps and its timeline.
///
/// # Errors
/// Serialisation cannot fail for these types; the error is the writer's.
pub fn json(reports: &[ScenarioReport], out: &mut impl Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, reports)?;
    writeln!(out)
}

/// The run as JUnit XML: one suite, one test case per scenario.
///
/// # Errors
/// The writer's.
pub fn junit(reports: &[ScenarioReport], out: &mut impl Write) -> std::io::Result<()> {
    let mut suite = TestSuite::new("understudy conformance");
    for report in reports {
        let status = if report.passed {
            TestCaseStatus::success()
        } else {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            if let Some(why) = failure(report) {
                status.set_message(why.clone());
                status.set_description(why);
            }
            status
        };
        let mut case = TestCase::new(report.name.clone(), status);
        case.set_classname(report.file.clone());
        case.set_time(Duration::from_secs_f64(report.took_ms / 1000.0));
        suite.add_test_case(case);
    }
    let mut junit = Report::new("understudy");
    junit.add_test_suite(suite);
    junit
        .serialize(&mut *out)
        .map_err(|e| std::io::Error::other(e.to_string()))
}
