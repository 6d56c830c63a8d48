//! Inline SVG drawings of anomalies: dependency cycles laid out on a circle with labelled
//! edges (as Elle's cycle plots), and linearizability witnesses on a time axis with one lane
//! per process (as Porcupine's visualization).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use schism_histories::Process;

use crate::anomaly::{LinWitness, Node, Step};
use crate::data::{value_text, Timeline};
use crate::escape_html;

fn edge_colour(kind: &str) -> &'static str {
    match kind {
        "ww" => "#c0392b",
        "wr" => "#2471a3",
        "rw" => "#8e44ad",
        "process" | "so" => "#117a65",
        "realtime" => "#b9770e",
        _ => "#555555",
    }
}

/// The cycle of an anomaly, its operations on a circle and its steps as labelled arrows.
pub(crate) fn cycle(steps: &[Step], timeline: &Timeline) -> String {
    let mut nodes: Vec<&Node> = Vec::new();
    for s in steps {
        for n in [&s.from, &s.to] {
            if !nodes.contains(&n) {
                nodes.push(n);
            }
        }
    }
    let n = nodes.len().max(1);
    let radius = (40.0 * n as f64).clamp(90.0, 320.0);
    let margin = 60.0;
    let size = 2.0 * (radius + margin);
    let centre = size / 2.0;
    let node_r = 26.0;
    let pos: BTreeMap<&Node, (f64, f64)> = nodes
        .iter()
        .enumerate()
        .map(|(k, &i)| {
            let angle =
                -std::f64::consts::FRAC_PI_2 + 2.0 * std::f64::consts::PI * k as f64 / n as f64;
            (
                i,
                (centre + radius * angle.cos(), centre + radius * angle.sin()),
            )
        })
        .collect();
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        "<svg class=\"cycle\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{size:.0}\" height=\"{size:.0}\" \
         viewBox=\"0 0 {size:.0} {size:.0}\" role=\"img\" aria-label=\"dependency cycle\">"
    );
    svg.push_str("<defs>");
    for kind in ["ww", "wr", "rw", "process", "realtime", "dep"] {
        let _ = write!(
            svg,
            "<marker id=\"arrow-{kind}\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"8\" \
             markerHeight=\"8\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"{}\"/></marker>",
            edge_colour(kind)
        );
    }
    svg.push_str("</defs>\n");
    // Parallel edges between the same two operations bend further apart.
    let mut seen_pairs: BTreeMap<(&Node, &Node), usize> = BTreeMap::new();
    for s in steps {
        let (Some(&(x1, y1)), Some(&(x2, y2))) = (pos.get(&s.from), pos.get(&s.to)) else {
            continue;
        };
        let nth = seen_pairs.entry((&s.from, &s.to)).or_default();
        let bend = 30.0 + 25.0 * *nth as f64;
        *nth += 1;
        let (dx, dy) = (x2 - x1, y2 - y1);
        let len = (dx * dx + dy * dy).sqrt().max(1.0);
        let (ux, uy) = (dx / len, dy / len);
        // The control point lies to the left of the direction of travel, so that the two
        // directions between a pair of operations are drawn apart.
        let (mx, my) = ((x1 + x2) / 2.0 - uy * bend, (y1 + y2) / 2.0 + ux * bend);
        let shorten = |x: f64, y: f64, tx: f64, ty: f64| {
            let (ddx, ddy) = (tx - x, ty - y);
            let l = (ddx * ddx + ddy * ddy).sqrt().max(1.0);
            (x + ddx / l * node_r, y + ddy / l * node_r)
        };
        let (sx, sy) = shorten(x1, y1, mx, my);
        let (ex, ey) = shorten(x2, y2, mx, my);
        let kind_class = match s.kind.as_str() {
            k @ ("ww" | "wr" | "rw" | "process" | "realtime") => k,
            "so" => "process",
            _ => "dep",
        };
        let colour = edge_colour(kind_class);
        let (lx, ly) = (
            0.25 * sx + 0.5 * mx + 0.25 * ex,
            0.25 * sy + 0.5 * my + 0.25 * ey,
        );
        let title = format!(
            "{} → {} ({}){}",
            s.from.label,
            s.to.label,
            s.kind,
            s.explanation
                .as_ref()
                .map(|e| format!(": {e}"))
                .unwrap_or_default()
        );
        let _ = writeln!(
            svg,
            "<g class=\"edge\"><title>{}</title><path d=\"M{sx:.1},{sy:.1} Q{mx:.1},{my:.1} {ex:.1},{ey:.1}\" \
             fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\" marker-end=\"url(#arrow-{kind_class})\"/>\
             <text x=\"{lx:.1}\" y=\"{ly:.1}\" class=\"edge-label\" fill=\"{colour}\" text-anchor=\"middle\">{}</text></g>",
            escape_html(&title),
            escape_html(&s.kind)
        );
    }
    for &node in &nodes {
        let Some(&(x, y)) = pos.get(node) else {
            continue;
        };
        let title = match node.index.and_then(|i| timeline.op(i).map(|op| (i, op))) {
            Some((i, op)) => format!(
                "{}: op {i}, process {}, {} {} → {}",
                node.label,
                op.process,
                op.f,
                value_text(&op.value, 120),
                op.outcome.as_str()
            ),
            None => node.label.clone(),
        };
        let mut label = node.label.clone();
        if label.chars().count() > 8 {
            label = label.chars().take(7).collect::<String>() + "…";
        }
        let circle = format!(
            "<g class=\"node\"><title>{}</title><circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"{node_r}\"/>\
             <text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text></g>",
            escape_html(&title),
            y + 4.0,
            escape_html(&label)
        );
        match node.index {
            Some(i) => {
                let _ = writeln!(svg, "<a href=\"#op-{i}\">{circle}</a>");
            }
            None => {
                let _ = writeln!(svg, "{circle}");
            }
        }
    }
    svg.push_str("</svg>\n");
    svg
}

/// How many operations of the linearizable prefix are drawn: the last ones, which lead to the
/// failing operation.
const PREFIX_DRAWN: usize = 20;

/// A linearizability witness on a time axis: the failing operation, the operations concurrent
/// with it and the end of the longest linearizable prefix, one lane per process.
pub(crate) fn witness(w: &LinWitness, timeline: &Timeline) -> String {
    // (op index, role) with role 0 = prefix, 1 = concurrent, 2 = failing.
    let mut shown: BTreeMap<u64, u8> = BTreeMap::new();
    let prefix_start = w.prefix.len().saturating_sub(PREFIX_DRAWN);
    for &p in w.prefix.get(prefix_start..).unwrap_or_default() {
        shown.insert(p, 0);
    }
    for &c in &w.concurrent {
        shown.insert(c, 1);
    }
    if let Some(f) = w.failing {
        shown.insert(f, 2);
    }
    let ops: Vec<(u64, u8, &crate::data::TimedOp)> = shown
        .iter()
        .filter_map(|(&i, &role)| timeline.op(i).map(|op| (i, role, op)))
        .collect();
    if ops.is_empty() {
        return "<p class=\"hint\">The witness's operations are not in this history, so they are \
                not drawn.</p>\n"
            .to_string();
    }
    let mut lanes: Vec<Process> = ops.iter().map(|(_, _, op)| op.process).collect();
    lanes.sort();
    lanes.dedup();
    let t0 = ops.iter().map(|(_, _, op)| op.start_ns).min().unwrap_or(0);
    let t1 = ops
        .iter()
        .map(|(_, _, op)| timeline.end_of(op))
        .max()
        .unwrap_or(t0)
        .max(t0 + 1);
    let (left, width, lane_h, top) = (110.0, 860.0, 30.0, 24.0);
    let height = top + lane_h * lanes.len() as f64 + 30.0;
    let x_of = |ns: i64| left + (ns - t0) as f64 / (t1 - t0) as f64 * width;
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        "<svg class=\"witness\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{:.0}\" height=\"{height:.0}\" \
         viewBox=\"0 0 {:.0} {height:.0}\" role=\"img\" aria-label=\"linearizability witness\">",
        left + width + 20.0,
        left + width + 20.0
    );
    let _ = writeln!(
        svg,
        "<text x=\"{left}\" y=\"14\" class=\"legend-text\">grey: end of the longest linearizable prefix · \
         amber: concurrent · red: cannot be linearized</text>"
    );
    for (k, p) in lanes.iter().enumerate() {
        let y = top + lane_h * k as f64;
        let _ = writeln!(
            svg,
            "<text x=\"4\" y=\"{:.1}\" class=\"lane-label\">process {}</text>\
             <line x1=\"{left}\" x2=\"{:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" class=\"lane-line\"/>",
            y + lane_h * 0.6,
            escape_html(&p.to_string()),
            left + width,
            y + lane_h - 2.0,
            y + lane_h - 2.0
        );
    }
    for (i, role, op) in &ops {
        let k = lanes.iter().position(|p| *p == op.process).unwrap_or(0);
        let y = top + lane_h * k as f64 + 3.0;
        let x1 = x_of(op.start_ns);
        let x2 = x_of(timeline.end_of(op)).max(x1 + 3.0);
        let class = ["prefix", "concurrent", "failing"][usize::from(*role).min(2)];
        let label = format!("{} {}", op.f, value_text(&op.value, 40));
        let _ = writeln!(
            svg,
            "<a href=\"#op-{i}\"><g class=\"bar {class}\"><title>op {i}: process {}, {} → {}</title>\
             <rect x=\"{x1:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{:.1}\" rx=\"3\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\">{}</text></g></a>",
            escape_html(&op.process.to_string()),
            escape_html(&label),
            op.outcome.as_str(),
            x2 - x1,
            lane_h - 8.0,
            x1 + 3.0,
            y + lane_h * 0.5,
            escape_html(&label)
        );
    }
    let axis_y = top + lane_h * lanes.len() as f64 + 14.0;
    for k in 0..=4 {
        let ns = t0 + (t1 - t0) * k / 4;
        let _ = writeln!(
            svg,
            "<text x=\"{:.1}\" y=\"{axis_y:.1}\" class=\"axis\" text-anchor=\"{}\">{:.6} s</text>",
            x_of(ns),
            match k {
                0 => "start",
                4 => "end",
                _ => "middle",
            },
            (ns - timeline.min_ns) as f64 / 1e9
        );
    }
    svg.push_str("</svg>\n");
    svg
}
