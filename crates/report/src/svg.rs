//! Our own inline SVG charts: no JavaScript, no external fonts or files, so the same markup goes
//! into the web page, the print view and documents.
//!
//! Output is deterministic: coordinates are written with one decimal, labels with
//! [`format_value`], and all text is escaped with [`escape`].

use crate::render::group_digits;
use std::fmt::Write as _;

/// The font stack of every chart: IPAex (Debian `fonts-ipaexfont`) or Noto CJK when installed.
pub const FONT_FAMILY: &str = "IPAexGothic, 'Noto Sans CJK JP', sans-serif";

/// Fill colours of bar series, in order (Tableau 10, distinguishable when printed).
pub const BAR_COLORS: [&str; 8] =
    ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#9c755f"];

/// Stroke colour of the line series.
pub const LINE_COLOR: &str = "#222222";

/// A named series of values, one per category; `None` is a gap (no bar, a break in the line).
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub label: String,
    pub values: Vec<Option<f64>>,
}

impl Series {
    /// A series without gaps.
    pub fn new(label: impl Into<String>, values: impl IntoIterator<Item = f64>) -> Self {
        Series { label: label.into(), values: values.into_iter().map(Some).collect() }
    }

    fn get(&self, i: usize) -> Option<f64> {
        self.values.get(i).copied().flatten().filter(|v| v.is_finite())
    }
}

/// A bar chart with an optional line on a second (right-hand) axis, e.g. monthly incidents as bars
/// and spares remaining as a line.
#[derive(Debug, Clone, PartialEq)]
pub struct BarLineChart {
    /// Accessible name (`<title>`, `aria-label`); not drawn.
    pub title: String,
    /// Category labels along the horizontal axis, e.g. `4月` … `3月`.
    pub categories: Vec<String>,
    /// Bar series, stacked in this order from the axis up, on the left-hand axis.
    pub bars: Vec<Series>,
    /// Label above the left-hand axis, e.g. `件数（台）`.
    pub bar_axis_label: String,
    /// Line series on the right-hand axis.
    pub line: Option<Series>,
    /// Label above the right-hand axis, e.g. `保守残数（台）`.
    pub line_axis_label: String,
}

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 360.0;
const LEFT: f64 = 64.0;
const TOP: f64 = 56.0;
const BOTTOM: f64 = HEIGHT - 40.0;
const TICKS: u32 = 5;
const FONT_SIZE: f64 = 12.0;

/// Renders the chart as a standalone `<svg>` element (720 × 360 user units, scalable through its
/// `viewBox`). Both axes start at zero and have five intervals with round steps, so their grid
/// lines coincide; values below zero are drawn at zero. The legend lists the bar series, then the
/// line. Each bar and line point has a `<title>` tooltip (`4月 破損: 16`).
pub fn bar_line_chart(chart: &BarLineChart) -> String {
    let right = if chart.line.is_some() { WIDTH - 64.0 } else { WIDTH - 24.0 };
    let plot_h = BOTTOM - TOP;
    let n = chart.categories.len();
    let band = if n == 0 { 0.0 } else { (right - LEFT) / n as f64 };

    let stacked: Vec<f64> =
        (0..n).map(|i| chart.bars.iter().filter_map(|s| s.get(i)).map(|v| v.max(0.0)).sum()).collect();
    let bar_axis =
        Axis::fit(stacked.iter().copied(), chart.bars.iter().flat_map(|s| s.values.iter().flatten().copied()));
    let line_axis =
        chart.line.as_ref().map(|l| Axis::fit(l.values.iter().flatten().copied(), l.values.iter().flatten().copied()));
    let y = |axis: &Axis, v: f64| BOTTOM - (v.max(0.0) / axis.max) * plot_h;
    let cx = |i: usize| LEFT + band * (i as f64 + 0.5);

    let mut s = String::new();
    let title = escape(&chart.title);
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-label="{title}" font-family="{font}" font-size="{fs}">"#,
        w = c(WIDTH),
        h = c(HEIGHT),
        font = FONT_FAMILY,
        fs = c(FONT_SIZE),
    );
    let _ = writeln!(s, "<title>{title}</title>");
    let _ = writeln!(s, r##"<rect width="{}" height="{}" fill="#ffffff"/>"##, c(WIDTH), c(HEIGHT));

    // grid and tick labels
    s.push_str("<g class=\"grid\" stroke=\"#dddddd\" stroke-width=\"1\">\n");
    for k in 1..=TICKS {
        let gy = c(BOTTOM - plot_h * f64::from(k) / f64::from(TICKS));
        let _ = writeln!(s, r#"<line x1="{}" y1="{gy}" x2="{}" y2="{gy}"/>"#, c(LEFT), c(right));
    }
    s.push_str("</g>\n");
    s.push_str("<g class=\"axis\" fill=\"#333333\">\n");
    let _ = writeln!(
        s,
        r##"<path d="M{l} {t} V{b} H{r}{rv}" fill="none" stroke="#333333" stroke-width="1"/>"##,
        l = c(LEFT),
        t = c(TOP),
        b = c(BOTTOM),
        r = c(right),
        rv = if chart.line.is_some() { format!(" V{}", c(TOP)) } else { String::new() },
    );
    for k in 0..=TICKS {
        let ty = c(BOTTOM - plot_h * f64::from(k) / f64::from(TICKS) + FONT_SIZE / 3.0);
        let _ = writeln!(
            s,
            r#"<text x="{}" y="{ty}" text-anchor="end">{}</text>"#,
            c(LEFT - 6.0),
            format_value(bar_axis.step * f64::from(k))
        );
        if let Some(axis) = &line_axis {
            let _ = writeln!(
                s,
                r#"<text x="{}" y="{ty}" text-anchor="start">{}</text>"#,
                c(right + 6.0),
                format_value(axis.step * f64::from(k))
            );
        }
    }
    let _ = writeln!(
        s,
        r#"<text x="{}" y="{}" text-anchor="start">{}</text>"#,
        c(8.0),
        c(TOP - 12.0),
        escape(&chart.bar_axis_label)
    );
    if chart.line.is_some() {
        let _ = writeln!(
            s,
            r#"<text x="{}" y="{}" text-anchor="end">{}</text>"#,
            c(WIDTH - 8.0),
            c(TOP - 12.0),
            escape(&chart.line_axis_label)
        );
    }
    for (i, label) in chart.categories.iter().enumerate() {
        let _ = writeln!(
            s,
            r#"<text x="{}" y="{}" text-anchor="middle">{}</text>"#,
            c(cx(i)),
            c(BOTTOM + 18.0),
            escape(label)
        );
    }
    s.push_str("</g>\n");

    // bars
    s.push_str("<g class=\"bars\">\n");
    let bar_w = band * 0.6;
    for (i, category) in chart.categories.iter().enumerate() {
        let mut acc = 0.0;
        for (k, series) in chart.bars.iter().enumerate() {
            let Some(v) = series.get(i) else { continue };
            let v = v.max(0.0);
            if v == 0.0 {
                continue;
            }
            let (y0, y1) = (y(&bar_axis, acc), y(&bar_axis, acc + v));
            acc += v;
            let _ = writeln!(
                s,
                r#"<rect x="{}" y="{}" width="{}" height="{}" fill="{}"><title>{} {}: {}</title></rect>"#,
                c(cx(i) - bar_w / 2.0),
                c(y1),
                c(bar_w),
                c(y0 - y1),
                BAR_COLORS[k % BAR_COLORS.len()],
                escape(category),
                escape(&series.label),
                format_value(v)
            );
        }
    }
    s.push_str("</g>\n");

    // line
    if let (Some(line), Some(axis)) = (&chart.line, &line_axis) {
        let mut d = String::new();
        let mut pen_down = false;
        for i in 0..n {
            match line.get(i) {
                Some(v) => {
                    let _ = write!(
                        d,
                        "{}{} {}",
                        if pen_down {
                            " L"
                        } else if d.is_empty() {
                            "M"
                        } else {
                            " M"
                        },
                        c(cx(i)),
                        c(y(axis, v))
                    );
                    pen_down = true;
                }
                None => pen_down = false,
            }
        }
        let _ = writeln!(s, r#"<g class="line" stroke="{LINE_COLOR}" stroke-width="2">"#);
        if !d.is_empty() {
            let _ = writeln!(s, r#"<path d="{d}" fill="none"/>"#);
        }
        for (i, category) in chart.categories.iter().enumerate() {
            if let Some(v) = line.get(i) {
                let _ = writeln!(
                    s,
                    r##"<circle cx="{}" cy="{}" r="3" fill="#ffffff"><title>{} {}: {}</title></circle>"##,
                    c(cx(i)),
                    c(y(axis, v)),
                    escape(category),
                    escape(&line.label),
                    format_value(v)
                );
            }
        }
        s.push_str("</g>\n");
    }

    // legend
    s.push_str("<g class=\"legend\" fill=\"#333333\">\n");
    let mut x = LEFT;
    let ly = 20.0;
    for (k, series) in chart.bars.iter().enumerate() {
        let _ = writeln!(
            s,
            r#"<rect x="{}" y="{}" width="12" height="12" fill="{}"/>"#,
            c(x),
            c(ly - 10.0),
            BAR_COLORS[k % BAR_COLORS.len()]
        );
        let _ = writeln!(s, r#"<text x="{}" y="{}">{}</text>"#, c(x + 16.0), c(ly), escape(&series.label));
        x += 16.0 + text_width(&series.label) + 16.0;
    }
    if let Some(line) = &chart.line {
        let _ = writeln!(
            s,
            r#"<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{LINE_COLOR}" stroke-width="2"/>"#,
            c(x),
            c(ly - 4.0),
            c(x + 20.0),
            c(ly - 4.0)
        );
        let _ = writeln!(
            s,
            r##"<circle cx="{}" cy="{}" r="3" fill="#ffffff" stroke="{LINE_COLOR}" stroke-width="2"/>"##,
            c(x + 10.0),
            c(ly - 4.0)
        );
        let _ = writeln!(s, r#"<text x="{}" y="{}">{}</text>"#, c(x + 24.0), c(ly), escape(&line.label));
    }
    s.push_str("</g>\n</svg>");
    s
}

/// A value axis from zero with [`TICKS`] equal intervals of a round step (1, 2 or 5 × 10ⁿ).
struct Axis {
    step: f64,
    max: f64,
}

impl Axis {
    /// Fits the axis to the largest of `tops`; the step is at least 1 when every value in `all`
    /// is a whole number (counts never get fractional ticks).
    fn fit(tops: impl Iterator<Item = f64>, mut all: impl Iterator<Item = f64>) -> Axis {
        let top = tops.filter(|v| v.is_finite()).fold(0.0_f64, f64::max);
        let integral = all.all(|v| !v.is_finite() || v.fract() == 0.0);
        let raw = top / f64::from(TICKS);
        let mut step = if raw > 0.0 { nice_step(raw) } else { 1.0 };
        if integral {
            step = step.max(1.0);
        }
        Axis { step, max: step * f64::from(TICKS) }
    }
}

/// The smallest of 1, 2, 5 × 10ⁿ that is ≥ `raw` (`raw` > 0). Pure arithmetic, no logarithms, so
/// the result is the same on every platform.
/// A funnel: one centred horizontal bar per stage, its width proportional to its value (the
/// first stage's value is the full width), e.g. the cases of a cohort at ①, ②, ③, ④. Each bar is
/// labelled with its stage and value, and `notes` (one per stage, may be empty) are written to
/// the right of the bar, e.g. 「改善 5」.
#[derive(Debug, Clone, PartialEq)]
pub struct FunnelChart {
    /// Accessible name and heading drawn above the funnel.
    pub title: String,
    /// (stage label, value), top to bottom.
    pub stages: Vec<(String, f64)>,
    /// A note per stage, shown right of its bar.
    pub notes: Vec<String>,
}

/// Renders a [`FunnelChart`] as a standalone `<svg>` (360 units wide, 36 per stage).
pub fn funnel_chart(chart: &FunnelChart) -> String {
    const W: f64 = 360.0;
    const ROW: f64 = 36.0;
    const TOP_F: f64 = 32.0;
    const BAR_MAX: f64 = 200.0;
    const MID: f64 = 130.0;
    let h = TOP_F + ROW * chart.stages.len() as f64 + 8.0;
    let max = chart.stages.iter().map(|(_, v)| *v).filter(|v| v.is_finite()).fold(0.0_f64, f64::max);
    let title = escape(&chart.title);
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart funnel" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-label="{title}" font-family="{font}" font-size="{fs}">"#,
        w = c(W),
        h = c(h),
        font = FONT_FAMILY,
        fs = c(FONT_SIZE),
    );
    let _ = writeln!(s, "<title>{title}</title>");
    let _ = writeln!(s, r##"<rect width="{}" height="{}" fill="#ffffff"/>"##, c(W), c(h));
    let _ = writeln!(s, r##"<text x="{}" y="{}" font-weight="bold" fill="#111111">{title}</text>"##, c(8.0), c(18.0));
    for (i, (label, v)) in chart.stages.iter().enumerate() {
        let v = if v.is_finite() { v.max(0.0) } else { 0.0 };
        let width = if max > 0.0 { (v / max * BAR_MAX).max(2.0) } else { 2.0 };
        let y = TOP_F + ROW * i as f64;
        let color = BAR_COLORS[i % BAR_COLORS.len()];
        let _ = writeln!(
            s,
            r#"<rect x="{}" y="{}" width="{}" height="{}" fill="{color}"><title>{}: {}</title></rect>"#,
            c(MID - width / 2.0),
            c(y),
            c(width),
            c(ROW - 8.0),
            escape(label),
            format_value(v)
        );
        let _ = writeln!(
            s,
            r##"<text x="{}" y="{}" text-anchor="middle" fill="#111111">{} {}</text>"##,
            c(MID),
            c(y + ROW / 2.0),
            escape(label),
            format_value(v)
        );
        if let Some(note) = chart.notes.get(i).filter(|n| !n.is_empty()) {
            let _ = writeln!(
                s,
                r##"<text x="{}" y="{}" text-anchor="start" fill="#333333">{}</text>"##,
                c(MID + BAR_MAX / 2.0 + 8.0),
                c(y + ROW / 2.0),
                escape(note)
            );
        }
    }
    s.push_str("</svg>\n");
    s
}

fn nice_step(raw: f64) -> f64 {
    let mut p = 1.0_f64;
    while p * 10.0 <= raw {
        p *= 10.0;
    }
    while p > raw {
        p /= 10.0;
    }
    let f = raw / p;
    let m = if f <= 1.0 {
        1.0
    } else if f <= 2.0 {
        2.0
    } else if f <= 5.0 {
        5.0
    } else {
        10.0
    };
    m * p
}

/// A coordinate: one decimal, without a trailing `.0` and never `-0`.
fn c(v: f64) -> String {
    let s = format!("{v:.1}");
    let s = s.strip_suffix(".0").unwrap_or(&s).to_string();
    if s == "-0" {
        "0".to_string()
    } else {
        s
    }
}

/// A value label: at most two decimals (trailing zeros dropped) and thousands separators, e.g.
/// `24,213`, `0.5`, `12.34`. Empty for a value that is not finite.
pub fn format_value(v: f64) -> String {
    if !v.is_finite() {
        return String::new();
    }
    let s = format!("{v:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    let s = if s == "-0" { "0" } else { s };
    group_digits(s)
}

/// Approximate drawn width at the chart's font size: full-width characters 1.1 em, others 0.55 em.
fn text_width(s: &str) -> f64 {
    crate::render::display_width(s) as f64 * FONT_SIZE * 0.55
}

/// Escapes text for SVG/XML content and attribute values: `&`, `<`, `>`, `"` and `'`.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(ch),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_round() {
        assert_eq!(nice_step(8.8), 10.0);
        assert_eq!(nice_step(10.0), 10.0);
        assert_eq!(nice_step(106.8), 200.0);
        assert_eq!(nice_step(0.6), 1.0);
        assert_eq!(nice_step(0.13), 0.2);
        assert_eq!(nice_step(3.0), 5.0);
        let a = Axis::fit([2.0].into_iter(), [2.0].into_iter());
        assert_eq!((a.step, a.max), (1.0, 5.0));
        let a = Axis::fit([0.0].into_iter(), [0.0].into_iter());
        assert_eq!((a.step, a.max), (1.0, 5.0));
        let a = Axis::fit([0.5].into_iter(), [0.5].into_iter());
        assert_eq!((a.step, a.max), (0.1, 0.5));
    }

    #[test]
    fn numbers_are_stable() {
        assert_eq!(c(12.04), "12");
        assert_eq!(c(-0.01), "0");
        assert_eq!(c(3.25), "3.2");
        assert_eq!(format_value(24213.0), "24,213");
        assert_eq!(format_value(0.30000000000000004), "0.3");
        assert_eq!(format_value(12.345), "12.35");
        assert_eq!(format_value(-0.001), "0");
    }

    #[test]
    fn funnel_bars_shrink_with_their_values() {
        let svg = funnel_chart(&FunnelChart {
            title: "2022年9月の対象者".into(),
            stages: vec![("①".into(), 16.0), ("②".into(), 11.0), ("③".into(), 3.0), ("④".into(), 0.0)],
            notes: vec!["改善 5".into(), "改善 8".into(), String::new(), String::new()],
        });
        assert!(svg.contains(r#"width="200" height="28""#), "{svg}");
        assert!(svg.contains(r#"width="137.5""#), "11/16 of 200: {svg}");
        assert!(svg.contains(">② 11</text>") && svg.contains(">改善 8</text>"));
        assert_eq!(svg.matches("<rect x=").count(), 4);
    }

    #[test]
    fn gaps_break_the_line() {
        let chart = BarLineChart {
            title: "t".into(),
            categories: vec!["a".into(), "b".into(), "c".into()],
            bars: vec![],
            bar_axis_label: String::new(),
            line: Some(Series { label: "l".into(), values: vec![Some(1.0), None, Some(2.0)] }),
            line_axis_label: String::new(),
        };
        let svg = bar_line_chart(&chart);
        let path = svg
            .lines()
            .find(|l| l.starts_with("<path d=\"M") && l.contains("fill=\"none\"/>") && !l.contains("stroke"))
            .unwrap();
        assert_eq!(path.matches('M').count(), 2, "{path}");
    }
}
