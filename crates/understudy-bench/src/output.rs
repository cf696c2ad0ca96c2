//! The run written out for people and tools: raw samples as NDJSON, each phase's histogram in
//! HdrHistogram's percentile-distribution text (`.hgrm`, which HdrHistogram's plotters read),
//! a Markdown summary for a pull request, and one self-contained HTML page with a latency
//! histogram, a percentile curve and a time series per phase.

use crate::chart::{self, Chart, Scale};
use crate::phases::{Phase, Results, SUMMARY_COLUMNS, Sample};
use hdrhistogram::Histogram;
use maud::{DOCTYPE, Markup, PreEscaped, html};
use std::fmt::Write as _;

/// What the run was, for the reports' headers.
#[derive(Debug, Clone, Default)]
pub struct RunInfo {
    /// One line: sessions, speaks, path, loop, target.
    pub description: String,
    /// When the run started (RFC 3339 or any text).
    pub started: String,
}

/// Every sample, one JSON object per line, in the order they were taken.
pub fn ndjson(results: &Results) -> String {
    let mut samples: Vec<&Sample> = results.samples.iter().collect();
    samples.sort_by_key(|s| (s.at_us, s.session));
    samples
        .into_iter()
        .map(|s| {
            serde_json::json!({
                "phase": s.phase.name(),
                "session": s.session,
                "at_ms": s.at_us as f64 / 1000.0,
                "ms": s.value_us as f64 / 1000.0,
            })
            .to_string()
                + "\n"
        })
        .collect()
}

/// One histogram as HdrHistogram's percentile distribution, values in milliseconds: five
/// steps per halving of the distance to 100%, then the mean, deviation, max and count.
pub fn hgrm(histogram: &Histogram<u64>) -> String {
    let mut out = format!(
        "{:>12} {:>14} {:>10} {:>14}\n\n",
        "Value", "Percentile", "TotalCount", "1/(1-Percentile)"
    );
    let ms = |us: u64| us as f64 / 1000.0;
    for step in histogram.iter_quantiles(5) {
        let q = step.quantile_iterated_to();
        let inverse = if q < 1.0 {
            format!("{:>14.2}", 1.0 / (1.0 - q))
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "{:>12.3} {:>2.12} {:>10} {inverse}",
            ms(step.value_iterated_to()),
            q,
            // Samples at or below this value.
            histogram.count_between(0, step.value_iterated_to()),
        );
    }
    let _ = writeln!(
        out,
        "#[Mean    = {:>12.3}, StdDeviation   = {:>12.3}]",
        histogram.mean() / 1000.0,
        histogram.stdev() / 1000.0
    );
    let _ = writeln!(
        out,
        "#[Max     = {:>12.3}, Total count    = {:>12}]",
        ms(histogram.max()),
        histogram.len()
    );
    let _ = writeln!(
        out,
        "#[Buckets = {:>12}, SubBuckets     = {:>12}]",
        histogram.buckets(),
        histogram.distinct_values()
    );
    out
}

/// The summary as a Markdown table, for a pull request or a job summary.
pub fn markdown(results: &Results, info: &RunInfo) -> String {
    let mut out = format!("### understudy bench\n\n{}\n\n", info.description);
    let _ = writeln!(out, "| {} |", SUMMARY_COLUMNS.join(" | "));
    out.push_str("|---|---:|---:|---:|---:|---:|---:|---:|\n");
    for s in results.summaries() {
        let _ = writeln!(out, "| {} |", s.cells().join(" | "));
    }
    if !results.errors.is_empty() {
        out.push_str("\nErrors:\n\n");
        for ((phase, code), n) in &results.errors {
            let _ = writeln!(out, "- {}: code {code}, {n}", phase.name());
        }
    }
    let _ = writeln!(out, "\nWall time {:.1} s.", results.wall.as_secs_f64());
    out
}

/// The page's order: the speak's phases first, since they are what a bench run is about.
const PAGE_ORDER: [Phase; Phase::ALL.len()] = [
    Phase::StartTalking,
    Phase::TalkingFrame,
    Phase::TalkingAudio,
    Phase::Answer,
    Phase::StopTalking,
    Phase::CreateToken,
    Phase::New,
    Phase::Start,
    Phase::StreamReady,
    Phase::FirstFrame,
];

/// One self-contained page (no script, no external file): the summary, then for each phase
/// with samples a histogram, a percentile curve and the samples over the run.
pub fn html(results: &Results, info: &RunInfo) -> String {
    let phases: Vec<Phase> = PAGE_ORDER
        .into_iter()
        .filter(|p| results.histograms.get(p).is_some_and(|h| !h.is_empty()))
        .collect();
    let page: Markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { "understudy bench" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                h1 { "understudy bench" }
                p { (info.description) }
                @if !info.started.is_empty() { p.muted { "Started " (info.started) ", wall time " (format!("{:.1}", results.wall.as_secs_f64())) " s." } }
                table {
                    thead { tr { @for column in SUMMARY_COLUMNS { th { (column) } } } }
                    tbody {
                        @for s in results.summaries() {
                            tr { @for cell in s.cells() { td { (cell) } } }
                        }
                    }
                }
                @if !results.errors.is_empty() {
                    h2 { "Errors" }
                    ul { @for ((phase, code), n) in &results.errors { li { (phase.name()) ": code " (code) ", " (n) } } }
                }
                @for phase in &phases {
                    section {
                        h2 { (phase.name()) }
                        div.charts {
                            (PreEscaped(histogram_svg(results, *phase)))
                            (PreEscaped(percentile_svg(results, *phase)))
                            (PreEscaped(series_svg(results, *phase)))
                        }
                    }
                }
            }
        }
    };
    page.into_string()
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2rem;color:#222}\
table{border-collapse:collapse}td,th{padding:.25rem .6rem;border-bottom:1px solid #ddd;text-align:right}\
td:first-child,th:first-child{text-align:left}.muted{color:#666}\
.charts{display:flex;flex-wrap:wrap;gap:1rem}section{margin-top:2rem}";

fn values_ms(results: &Results, phase: Phase) -> Vec<(f64, f64)> {
    results
        .samples
        .iter()
        .filter(|s| s.phase == phase)
        .map(|s| (s.at_us as f64 / 1e6, s.value_us as f64 / 1000.0))
        .collect()
}

fn histogram_svg(results: &Results, phase: Phase) -> String {
    const BINS: usize = 40;
    let values: Vec<f64> = values_ms(results, phase)
        .into_iter()
        .map(|(_, v)| v)
        .collect();
    let (lo, hi) = bounds(&values);
    let width = (hi - lo) / BINS as f64;
    let mut counts = [0u32; BINS];
    for v in &values {
        let bin = (((v - lo) / width) as usize).min(BINS - 1);
        counts[bin] += 1;
    }
    let top = f64::from(counts.iter().copied().max().unwrap_or(1));
    Chart::new("histogram", "ms", "samples", (lo, hi), (0.0, top * 1.1))
        .bars(counts.iter().enumerate().map(|(i, &n)| {
            let x0 = lo + width * i as f64;
            (x0, x0 + width, f64::from(n))
        }))
        .render(chart::short)
}

/// Latency by percentile on HdrHistogram's axis, 1/(1-q) on a log scale, so the tail shows.
fn percentile_svg(results: &Results, phase: Phase) -> String {
    let Some(histogram) = results.histograms.get(&phase) else {
        return String::new();
    };
    let points: Vec<(f64, f64)> = histogram
        .iter_quantiles(5)
        .map(|step| step.quantile_iterated_to())
        .filter(|q| *q < 1.0)
        .map(|q| {
            (
                1.0 / (1.0 - q),
                histogram.value_at_quantile(q) as f64 / 1000.0,
            )
        })
        .collect();
    let x_max = points.iter().map(|p| p.0).fold(10.0, f64::max);
    let y_max = histogram.max() as f64 / 1000.0 * 1.1;
    Chart::new(
        "by percentile",
        "percentile",
        "ms",
        (1.0, x_max),
        (0.0, y_max),
    )
    .x_scale(Scale::Log)
    .line(points)
    .render(|x| format!("{}%", chart::short(100.0 * (1.0 - 1.0 / x))))
}

/// Each sample at the time it was taken: a stall, a warm-up or a slow session shows.
fn series_svg(results: &Results, phase: Phase) -> String {
    let points = values_ms(results, phase);
    let t_max = points.iter().map(|p| p.0).fold(0.0, f64::max);
    let (_, hi) = bounds(&points.iter().map(|p| p.1).collect::<Vec<_>>());
    Chart::new(
        "over the run",
        "s into the run",
        "ms",
        (0.0, t_max),
        (0.0, hi * 1.1),
    )
    .dots(points)
    .render(chart::short)
}

/// The range a chart spans: the samples', widened when they are all one value.
fn bounds(values: &[f64]) -> (f64, f64) {
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !lo.is_finite() || !hi.is_finite() {
        return (0.0, 1.0);
    }
    if hi - lo < 1e-3 {
        return ((lo - 0.5).max(0.0), hi + 0.5);
    }
    (lo, hi)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn results() -> Results {
        let mut r = Results::default();
        for i in 0..500u64 {
            let took = Duration::from_micros(1000 + i * 37 % 5000);
            r.record(
                Phase::StartTalking,
                took,
                (i % 4) as usize,
                Duration::from_millis(i * 10),
            );
        }
        r.record(Phase::New, Duration::from_millis(20), 0, Duration::ZERO);
        r.error(Phase::Answer, Some(400123));
        r.wall = Duration::from_secs(5);
        r
    }

    #[test]
    fn ndjson_has_one_parsable_line_per_sample() {
        let r = results();
        let text = ndjson(&r);
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), r.samples.len());
        assert_eq!(lines.iter().filter(|l| l["phase"] == "new").count(), 1);
        let times: Vec<f64> = lines.iter().map(|l| l["at_ms"].as_f64().unwrap()).collect();
        assert!(times.windows(2).all(|w| w[0] <= w[1]), "in time order");
        assert!(lines.iter().all(|l| l["ms"].as_f64().unwrap() > 0.0));
    }

    #[test]
    fn hgrm_ends_at_the_max_and_counts_everything() {
        let r = results();
        let h = &r.histograms[&Phase::StartTalking];
        let text = hgrm(h);
        let rows: Vec<Vec<f64>> = text
            .lines()
            .skip(2)
            .take_while(|l| !l.starts_with('#'))
            .map(|l| l.split_whitespace().map(|w| w.parse().unwrap()).collect())
            .collect();
        let last = rows.last().unwrap();
        assert_eq!(last[1], 1.0);
        assert_eq!(last[2], 500.0);
        assert!((last[0] - h.max() as f64 / 1000.0).abs() < 0.01);
        // Percentiles only grow.
        assert!(
            rows.windows(2)
                .all(|w| w[0][1] <= w[1][1] && w[0][0] <= w[1][0])
        );
        assert!(text.contains("Total count    =          500"));
    }

    #[test]
    fn the_page_shows_every_phase_once() {
        let mut shown = PAGE_ORDER.to_vec();
        shown.sort();
        let mut all = Phase::ALL.to_vec();
        all.sort();
        assert_eq!(shown, all);
    }

    #[test]
    fn the_page_stands_alone_and_draws_every_phase() {
        let r = results();
        let page = html(
            &r,
            &RunInfo {
                description: "4 sessions".into(),
                started: "now".into(),
            },
        );
        assert!(page.contains("<svg"), "no chart");
        assert_eq!(
            page.matches("<svg").count(),
            6,
            "three charts for each of two phases"
        );
        assert!(page.contains(">by percentile</text>") && page.contains(">99%</text>"));
        assert!(!page.contains("<script") && !page.contains("src=\"http"));
        assert!(page.contains("start_talking") && page.contains("400123"));
        let md = markdown(&r, &RunInfo::default());
        assert!(md.contains("| start_talking | 500 |"), "{md}");
    }
}
