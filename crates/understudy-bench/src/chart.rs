//! Small SVG charts for the HTML report: axes with ticks and labels, and bars, a line or dots.
//! Written out by hand because the plotting crates need a font library to place text, and a
//! report without axis labels is not worth opening.

use std::fmt::Write as _;

const WIDTH: f64 = 420.0;
const HEIGHT: f64 = 280.0;
/// Room for the y labels on the left, the x labels below, the title above.
const LEFT: f64 = 56.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 28.0;
const BOTTOM: f64 = 42.0;

/// How a horizontal axis maps values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scale {
    Linear,
    /// Base 10; every value must be above zero.
    Log,
}

/// One chart: its axes, then what is drawn on them.
#[derive(Debug)]
pub struct Chart {
    title: String,
    x_label: String,
    y_label: String,
    x: (f64, f64),
    y: (f64, f64),
    x_scale: Scale,
    body: String,
}

impl Chart {
    /// A chart over `x` by `y` (each `(low, high)`; an empty range is widened).
    pub fn new(title: &str, x_label: &str, y_label: &str, x: (f64, f64), y: (f64, f64)) -> Self {
        let widen = |(lo, hi): (f64, f64)| {
            if hi - lo > f64::EPSILON {
                (lo, hi)
            } else {
                (lo, lo + 1.0)
            }
        };
        Self {
            title: title.to_owned(),
            x_label: x_label.to_owned(),
            y_label: y_label.to_owned(),
            x: widen(x),
            y: widen(y),
            x_scale: Scale::Linear,
            body: String::new(),
        }
    }

    pub fn x_scale(mut self, scale: Scale) -> Self {
        self.x_scale = scale;
        self
    }

    fn px(&self, x: f64) -> f64 {
        let (lo, hi) = self.x;
        let t = match self.x_scale {
            Scale::Linear => (x - lo) / (hi - lo),
            Scale::Log => (x.max(lo).log10() - lo.log10()) / (hi.log10() - lo.log10()),
        };
        LEFT + t.clamp(0.0, 1.0) * (WIDTH - LEFT - RIGHT)
    }

    fn py(&self, y: f64) -> f64 {
        let (lo, hi) = self.y;
        let t = ((y - lo) / (hi - lo)).clamp(0.0, 1.0);
        HEIGHT - BOTTOM - t * (HEIGHT - TOP - BOTTOM)
    }

    /// Bars from the x axis: `(left, right, height)` each.
    pub fn bars(mut self, bars: impl IntoIterator<Item = (f64, f64, f64)>) -> Self {
        for (x0, x1, h) in bars {
            let (left, right) = (self.px(x0), self.px(x1));
            let (top, base) = (self.py(h), self.py(self.y.0));
            let _ = write!(
                self.body,
                r##"<rect x="{left:.1}" y="{top:.1}" width="{:.1}" height="{:.1}" fill="#4a7bd0" fill-opacity="0.7"/>"##,
                (right - left - 0.5).max(0.5),
                base - top
            );
        }
        self
    }

    /// A line through the points, in order.
    pub fn line(mut self, points: impl IntoIterator<Item = (f64, f64)>) -> Self {
        let path: Vec<String> = points
            .into_iter()
            .map(|(x, y)| format!("{:.1},{:.1}", self.px(x), self.py(y)))
            .collect();
        let _ = write!(
            self.body,
            r##"<polyline points="{}" fill="none" stroke="#4a7bd0" stroke-width="2"/>"##,
            path.join(" ")
        );
        self
    }

    /// A dot at each point.
    pub fn dots(mut self, points: impl IntoIterator<Item = (f64, f64)>) -> Self {
        for (x, y) in points {
            let _ = write!(
                self.body,
                r##"<circle cx="{:.1}" cy="{:.1}" r="1.8" fill="#4a7bd0" fill-opacity="0.5"/>"##,
                self.px(x),
                self.py(y)
            );
        }
        self
    }

    /// The chart as an `<svg>` element, with `format_x` writing the x ticks' labels.
    pub fn render(&self, format_x: impl Fn(f64) -> String) -> String {
        let mut out = format!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="10">"#
        );
        let _ = write!(
            out,
            r#"<text x="{:.1}" y="16" text-anchor="middle" font-size="13">{}</text>"#,
            WIDTH / 2.0,
            escape(&self.title)
        );
        let (x0, x1, y0, y1) = (LEFT, WIDTH - RIGHT, TOP, HEIGHT - BOTTOM);
        let _ = write!(
            out,
            r##"<path d="M{x0},{y0} V{y1} H{x1}" fill="none" stroke="#444"/>"##
        );
        for y in ticks(self.y.0, self.y.1) {
            let py = self.py(y);
            let _ = write!(
                out,
                r##"<line x1="{x0}" x2="{x1}" y1="{py:.1}" y2="{py:.1}" stroke="#eee"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
                x0 - 4.0,
                py + 3.0,
                short(y)
            );
        }
        let x_ticks = match self.x_scale {
            Scale::Linear => ticks(self.x.0, self.x.1),
            Scale::Log => decades(self.x.0, self.x.1),
        };
        for x in x_ticks {
            let px = self.px(x);
            let _ = write!(
                out,
                r##"<line x1="{px:.1}" x2="{px:.1}" y1="{y1}" y2="{:.1}" stroke="#444"/><text x="{px:.1}" y="{:.1}" text-anchor="middle">{}</text>"##,
                y1 + 4.0,
                y1 + 15.0,
                escape(&format_x(x))
            );
        }
        let _ = write!(
            out,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            (x0 + x1) / 2.0,
            HEIGHT - 6.0,
            escape(&self.x_label)
        );
        let _ = write!(
            out,
            r#"<text transform="translate(12,{:.1}) rotate(-90)" text-anchor="middle">{}</text>"#,
            (y0 + y1) / 2.0,
            escape(&self.y_label)
        );
        out.push_str(&self.body);
        out.push_str("</svg>");
        out
    }
}

/// About five round ticks between `lo` and `hi`.
fn ticks(lo: f64, hi: f64) -> Vec<f64> {
    let raw = (hi - lo) / 5.0;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw)
        .unwrap_or(raw);
    let first = (lo / step).ceil() * step;
    (0..)
        .map(|i| first + step * f64::from(i))
        .take_while(|v| *v <= hi + step * 1e-9)
        .take(12)
        .collect()
}

/// Powers of ten between `lo` and `hi`.
fn decades(lo: f64, hi: f64) -> Vec<f64> {
    let first = lo.max(1e-9).log10().ceil() as i32;
    let last = hi.log10().floor() as i32;
    (first..=last).map(|e| 10f64.powi(e)).collect()
}

/// A tick label without needless digits.
pub fn short(v: f64) -> String {
    if v == v.trunc() && v.abs() < 1e9 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.3}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_owned()
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_inside() {
        assert_eq!(ticks(0.0, 10.0), vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
        let t = ticks(0.37, 0.52);
        assert!(
            t.iter().all(|v| (0.37..=0.52).contains(v)) && t.len() >= 3,
            "{t:?}"
        );
        assert_eq!(decades(1.0, 1000.0), vec![1.0, 10.0, 100.0, 1000.0]);
    }

    #[test]
    fn points_land_inside_the_plot() {
        let chart = Chart::new("t", "x", "y", (0.0, 10.0), (0.0, 5.0)).dots([(20.0, -3.0)]);
        let svg = chart.render(short);
        // Out-of-range points are clamped to the plot's edge, never drawn outside it.
        assert!(svg.contains(&format!(
            r#"cx="{:.1}" cy="{:.1}""#,
            WIDTH - RIGHT,
            HEIGHT - BOTTOM
        )));
        assert!(svg.contains(">t</text>") && svg.starts_with("<svg"));
    }
}
