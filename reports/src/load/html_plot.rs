//! Line charts as inline SVG for `load.html`: one chart per quantity over
//! the run's seconds, drawn here so the page needs no script and fetches
//! nothing. Every text placed in the SVG is escaped; values that are not
//! finite are left out of their line.

use std::fmt::Write as _;

/// The drawing's size in SVG units (it scales to the page's width).
const WIDTH: f64 = 760.0;
const HEIGHT: f64 = 250.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 28.0;
const BOTTOM: f64 = 36.0;

/// One line of a chart.
#[derive(Debug, Clone)]
pub(crate) struct Series {
    pub name: String,
    pub color: &'static str,
    pub dashed: bool,
    /// (seconds since the start, value).
    pub points: Vec<(f64, f64)>,
}

/// A chart: an id for the page and tools, the unit of its y axis, lines.
#[derive(Debug, Clone)]
pub(crate) struct Chart {
    pub id: &'static str,
    pub y_unit: String,
    pub series: Vec<Series>,
}

/// Colours for lines that have no fixed one, in order.
pub(crate) const PALETTE: [&str; 8] = [
    "#0969da", "#bf3989", "#1a7f37", "#9a6700", "#8250df", "#cf222e", "#57606a", "#0550ae",
];

/// Escapes text for SVG or HTML content and attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A round number at or above `value` for the top of an axis: 1, 2 or 5
/// times a power of ten (at least 1).
fn nice_ceiling(value: f64) -> f64 {
    if !value.is_finite() || value <= 1.0 {
        return 1.0;
    }
    let magnitude = 10f64.powf(value.log10().floor());
    for step in [1.0, 2.0, 5.0, 10.0] {
        if step * magnitude >= value {
            return step * magnitude;
        }
    }
    10.0 * magnitude
}

/// A tick label: whole numbers plain, small ones with up to two decimals.
fn tick_label(value: f64) -> String {
    if value >= 100.0 || value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        let text = format!("{value:.2}");
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

/// The chart as an `<svg>` element.
pub(crate) fn svg(chart: &Chart) -> String {
    let finite = |v: &f64| v.is_finite();
    let x_max = chart
        .series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0))
        .filter(finite)
        .fold(0.0f64, f64::max)
        .max(1.0);
    let y_top = nice_ceiling(
        chart
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.1))
            .filter(finite)
            .fold(0.0f64, f64::max),
    );
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let x = |t: f64| LEFT + t / x_max * plot_w;
    let y = |v: f64| TOP + plot_h - (v / y_top).clamp(0.0, 1.0) * plot_h;
    let mut out = String::new();
    let _ = write!(
        out,
        "<svg class=\"plot\" id=\"{}\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" \
         preserveAspectRatio=\"xMinYMin meet\">",
        escape(chart.id)
    );
    // Axes, grid and ticks.
    for i in 0..=4 {
        let v = y_top * f64::from(i) / 4.0;
        let py = y(v);
        let _ = write!(
            out,
            "<line class=\"grid\" x1=\"{LEFT}\" y1=\"{py:.1}\" x2=\"{:.1}\" y2=\"{py:.1}\"/>\
             <text class=\"tick\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            WIDTH - RIGHT,
            LEFT - 6.0,
            py + 4.0,
            escape(&tick_label(v))
        );
    }
    let x_step = nice_ceiling(x_max / 6.0);
    let mut t = 0.0;
    while t <= x_max + 1e-9 {
        let _ = write!(
            out,
            "<text class=\"tick\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            x(t),
            HEIGHT - BOTTOM + 16.0,
            escape(&tick_label(t))
        );
        t += x_step;
    }
    let _ = write!(
        out,
        "<line class=\"axis\" x1=\"{LEFT}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\"/>\
         <line class=\"axis\" x1=\"{LEFT}\" y1=\"{TOP}\" x2=\"{LEFT}\" y2=\"{:.1}\"/>\
         <text class=\"unit\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">seconds</text>\
         <text class=\"unit\" x=\"{LEFT}\" y=\"{:.1}\" text-anchor=\"start\">{}</text>",
        TOP + plot_h,
        WIDTH - RIGHT,
        TOP + plot_h,
        TOP + plot_h,
        LEFT + plot_w / 2.0,
        HEIGHT - 4.0,
        TOP - 10.0,
        escape(&chart.y_unit)
    );
    // The lines.
    for series in &chart.series {
        let mut points = String::with_capacity(series.points.len() * 12);
        for &(t, v) in &series.points {
            if t.is_finite() && v.is_finite() {
                let _ = write!(points, "{:.1},{:.1} ", x(t), y(v));
            }
        }
        let dash = if series.dashed {
            " stroke-dasharray=\"5 3\""
        } else {
            ""
        };
        let _ = write!(
            out,
            "<polyline class=\"series\" data-series=\"{name}\" fill=\"none\" stroke=\"{}\" \
             stroke-width=\"1.5\"{dash} points=\"{}\"><title>{name}</title></polyline>",
            series.color,
            points.trim_end(),
            name = escape(&series.name)
        );
    }
    // The legend, right-aligned above the plot.
    let mut lx = WIDTH - RIGHT;
    for series in chart.series.iter().rev() {
        let label_w = 7.0 * series.name.chars().count() as f64 + 26.0;
        lx -= label_w;
        let dash = if series.dashed {
            " stroke-dasharray=\"5 3\""
        } else {
            ""
        };
        let _ = write!(
            out,
            "<line x1=\"{lx:.1}\" y1=\"{ly:.1}\" x2=\"{:.1}\" y2=\"{ly:.1}\" stroke=\"{}\" \
             stroke-width=\"2\"{dash}/><text class=\"legend\" x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            lx + 16.0,
            series.color,
            lx + 20.0,
            TOP - 10.0,
            escape(&series.name),
            ly = TOP - 14.0,
        );
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart(points: Vec<(f64, f64)>) -> Chart {
        Chart {
            id: "plot-test",
            y_unit: "per second".to_owned(),
            series: vec![Series {
                name: "a<b>&\"c\"".to_owned(),
                color: PALETTE[0],
                dashed: true,
                points,
            }],
        }
    }

    #[test]
    fn axes_end_on_round_numbers() {
        assert_eq!(nice_ceiling(0.0), 1.0);
        assert_eq!(nice_ceiling(0.3), 1.0);
        assert_eq!(nice_ceiling(7.0), 10.0);
        assert_eq!(nice_ceiling(11.0), 20.0);
        assert_eq!(nice_ceiling(4_100.0), 5_000.0);
        assert_eq!(nice_ceiling(f64::NAN), 1.0);
        assert_eq!(tick_label(2.5), "2.5");
        assert_eq!(tick_label(1250.0), "1250");
    }

    #[test]
    fn names_are_escaped_and_odd_values_left_out() {
        let svg = svg(&chart(vec![(0.0, 1.0), (1.0, f64::NAN), (2.0, 3.0)]));
        assert!(svg.starts_with("<svg class=\"plot\" id=\"plot-test\""));
        assert!(svg.contains("a&lt;b&gt;&amp;&quot;c&quot;"));
        assert!(!svg.contains("a<b>"));
        assert!(!svg.contains("NaN"));
        let points = svg
            .split("points=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .expect("a polyline");
        assert_eq!(points.split(' ').count(), 2, "{points}");
        assert!(svg.contains("stroke-dasharray"));
    }

    #[test]
    fn an_empty_chart_still_draws_its_axes() {
        let svg = svg(&chart(Vec::new()));
        assert!(svg.contains("class=\"axis\""));
        assert!(svg.ends_with("</svg>"));
    }
}
