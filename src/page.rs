//! The page at `/`: the daemon at a glance for people, rendered on the server from the same
//! snapshot as `/status`. One document, no external assets, no JavaScript: it reads the same
//! in a terminal browser, and reloads itself once a minute with a `<meta>` refresh.

use std::fmt::Write as _;

use crate::engine::status::{ResourceState, StatusSnapshot};
use crate::model::rightsizing::SizingState;

/// Escapes text for HTML element content and attribute values.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
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

const STYLE: &str = "body{font:14px/1.45 system-ui,sans-serif;margin:1.5rem auto;max-width:72rem;padding:0 1rem;color:#1c1c1c}\
h1{font-size:1.4rem;margin:0 0 .3rem}h2{font-size:1.1rem;margin:1.6rem 0 .4rem;border-bottom:1px solid #ddd}\
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.2rem .5rem;border-bottom:1px solid #eee;vertical-align:top}\
th{font-weight:600;background:#f6f6f6}.num{text-align:right;font-variant-numeric:tabular-nums}\
.ok{color:#116b2e}.bad{color:#a4161a}.warn{color:#8a5a00}.muted{color:#666}\
.badge{display:inline-block;padding:.1rem .6rem;border-radius:1rem;font-weight:600}\
.badge.ok{background:#e3f4e8}.badge.bad{background:#fde2e2}code{font-size:.92em}";

/// The whole page.
pub fn render(s: &StatusSnapshot) -> String {
    let mut o = String::new();
    let _ = write!(
        o,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
<meta http-equiv=\"refresh\" content=\"60\"><title>trimtab</title><style>{STYLE}</style></head><body>"
    );
    header(&mut o, s);
    cycles(&mut o, s);
    plan(&mut o, s);
    inventory(&mut o, s);
    cost(&mut o, s);
    right_sizing(&mut o, s);
    errors(&mut o, s);
    o.push_str("<p class=\"muted\">Machine-readable: <a href=\"/status\">/status</a> · <a href=\"/metrics\">/metrics</a> · <a href=\"/healthz\">/healthz</a> · <a href=\"/readyz\">/readyz</a></p></body></html>\n");
    o
}

fn header(o: &mut String, s: &StatusSnapshot) {
    let (class, verdict, why) = match (s.healthy, s.ready) {
        (false, _) => (
            "bad",
            "Unhealthy",
            "no cycle has made progress within 3 intervals".to_string(),
        ),
        (true, false) => (
            "bad",
            "Starting",
            "waiting for the first observation".to_string(),
        ),
        (true, true) => match &s.last_cycle {
            Some(c) if c.outcome == "failed" => (
                "bad",
                "Observing fails",
                format!(
                    "the loop is alive; the last cycle failed: {}",
                    c.error.as_deref().unwrap_or("")
                ),
            ),
            Some(c) if c.outcome == "partial" => (
                "bad",
                "Changes failing",
                format!(
                    "{} of {} changes failed in the last cycle",
                    c.failed, c.planned
                ),
            ),
            _ if !s.pending.is_empty() || !s.refusals.is_empty() => (
                "ok",
                "Healthy",
                format!(
                    "{} changes pending, {} refused",
                    s.pending.len(),
                    s.refusals.len()
                ),
            ),
            _ => (
                "ok",
                "Healthy",
                "the account matches the desired state".to_string(),
            ),
        },
    };
    let id = &s.identity;
    let _ = write!(
        o,
        "<h1>trimtab <span class=\"badge {class}\" id=\"health\">{verdict}</span></h1>\
<p>{}</p><p class=\"muted\">version {} · {} · backend {} · region {} · account {} · config <code>{}</code> (generation {}) · every {:.0} s · up since {}</p>",
        esc(&why),
        esc(id.version),
        match id.role.as_str() {
            "leader" => "the writer (holds the lease)",
            "standby" =>
                "<strong>standby</strong>: another replica holds the lease; this one writes nothing",
            _ => "the only writer",
        },
        esc(&id.backend),
        esc(&id.region),
        esc(id.account.as_deref().unwrap_or("not seen yet")),
        esc(&s.config_path),
        s.config_generation,
        s.interval_s,
        esc(&s.started_at),
    );
}

fn cycles(o: &mut String, s: &StatusSnapshot) {
    o.push_str("<h2>Last cycles</h2>");
    if s.recent_cycles.is_empty() {
        o.push_str("<p class=\"muted\">No cycle has completed yet.</p>");
        return;
    }
    o.push_str("<table id=\"cycles\"><tr><th>started</th><th>outcome</th><th class=\"num\">ms</th><th class=\"num\">planned</th><th class=\"num\">applied</th><th class=\"num\">failed</th><th class=\"num\">functions</th><th class=\"num\">alarms seen</th></tr>");
    for c in s.recent_cycles.iter().rev() {
        let class = if c.outcome == "success" { "ok" } else { "bad" };
        let _ = write!(
            o,
            "<tr><td>{}</td><td class=\"{class}\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            esc(&c.started_at),
            esc(&c.outcome),
            c.duration_ms,
            c.planned,
            c.applied,
            c.failed,
            c.functions_in_scope,
            c.alarms_observed
        );
    }
    o.push_str("</table>");
}

fn plan(o: &mut String, s: &StatusSnapshot) {
    let _ = write!(o, "<h2>Plan ({} changes)</h2>", s.last_plan.len());
    if s.last_plan.is_empty() {
        o.push_str("<p id=\"plan\">No changes: the last cycle verified everything it manages.</p>");
    } else {
        o.push_str("<table id=\"plan\"><tr><th>action</th><th>kind</th><th>resource</th><th>reason</th></tr>");
        for c in &s.last_plan {
            let done = !s.pending.iter().any(|p| p.kind == c.kind && p.id == c.id);
            let _ = write!(
                o,
                "<tr><td>{}{}</td><td>{}</td><td><code>{}</code></td><td>{}</td></tr>",
                esc(c.action.as_str()),
                if done {
                    ""
                } else {
                    " <span class=\"bad\">(pending)</span>"
                },
                esc(&c.kind.to_string()),
                esc(&c.id),
                esc(&c.reason)
            );
        }
        o.push_str("</table>");
    }
    if !s.drift.is_empty() {
        let drift: Vec<String> = s.drift.iter().map(|(k, n)| format!("{k}: {n}")).collect();
        let _ = write!(
            o,
            "<p class=\"warn\">Drift corrected or pending: {}</p>",
            esc(&drift.join(", "))
        );
    }
    if !s.refusals.is_empty() {
        let _ = write!(
            o,
            "<h2>Refused ({})</h2><table id=\"refusals\"><tr><th>kind</th><th>resource</th><th>why</th></tr>",
            s.refusals.len()
        );
        for r in &s.refusals {
            let _ = write!(
                o,
                "<tr><td>{}</td><td><code>{}</code></td><td>{}</td></tr>",
                esc(&r.kind.to_string()),
                esc(&r.id),
                esc(&r.reason)
            );
        }
        o.push_str("</table>");
    }
    if !s.notes.is_empty() {
        let omitted: usize = s.notes_omitted.iter().map(|n| n.count).sum();
        let _ = write!(
            o,
            "<h2>Notes ({})</h2><table id=\"notes\"><tr><th>from</th><th>about</th><th>note</th></tr>",
            s.notes.len() + omitted
        );
        for n in &s.notes {
            let _ = write!(
                o,
                "<tr><td>{}/{}</td><td><code>{}</code></td><td>{}</td></tr>",
                esc(n.controller),
                esc(n.code),
                esc(&n.id),
                esc(&n.message)
            );
        }
        for n in &s.notes_omitted {
            let _ = write!(
                o,
                "<tr><td>{}/{}</td><td></td><td>… and {} more of this kind (<code>trimtab plan</code> lists them all)</td></tr>",
                esc(n.controller),
                esc(n.code),
                n.count
            );
        }
        o.push_str("</table>");
    }
}

fn inventory(o: &mut String, s: &StatusSnapshot) {
    let total: usize = s.inventory.values().map(|k| k.count).sum();
    let _ = write!(o, "<h2>Managed ({total} resources)</h2>");
    if s.inventory.is_empty() {
        o.push_str("<p class=\"muted\">Nothing yet.</p>");
        return;
    }
    const STATES: [ResourceState; 5] = [
        ResourceState::InSync,
        ResourceState::Changed,
        ResourceState::Drifted,
        ResourceState::Pending,
        ResourceState::Refused,
    ];
    o.push_str("<table id=\"inventory\"><tr><th>kind</th><th class=\"num\">count</th><th class=\"num\">in sync</th><th class=\"num\">changed</th><th class=\"num\">drifted</th><th class=\"num\">pending</th><th class=\"num\">refused</th><th>not in sync</th></tr>");
    for (kind, k) in &s.inventory {
        let _ = write!(
            o,
            "<tr><td>{}</td><td class=\"num\">{}</td>",
            esc(&kind.to_string()),
            k.count
        );
        for st in STATES {
            let n = k.by_state.get(&st).copied().unwrap_or(0);
            let class = if n > 0 && st != ResourceState::InSync && st != ResourceState::Changed {
                "num bad"
            } else {
                "num"
            };
            let _ = write!(o, "<td class=\"{class}\">{n}</td>");
        }
        let off: Vec<String> = k
            .resources
            .iter()
            .filter(|r| r.state != ResourceState::InSync)
            .take(10)
            .map(|r| esc(&r.id))
            .collect();
        let _ = write!(
            o,
            "<td><code>{}</code></td></tr>",
            off.join("</code> <code>")
        );
    }
    o.push_str("</table>");
}

/// A small line chart of the cost per student, as inline SVG with the target band.
fn chart(points: &[(String, f64)], target: (f64, f64)) -> String {
    let (w, h, pad) = (560.0, 120.0, 4.0);
    let hi = points
        .iter()
        .map(|p| p.1)
        .fold(target.1 * 1.2, f64::max)
        .max(1e-9);
    let y = |v: f64| h - pad - (v / hi) * (h - 2.0 * pad);
    let n = points.len().max(2) as f64 - 1.0;
    let x = |i: usize| pad + i as f64 * (w - 2.0 * pad) / n;
    let line: Vec<String> = points
        .iter()
        .enumerate()
        .map(|(i, (_, v))| format!("{:.1},{:.1}", x(i), y(*v)))
        .collect();
    format!(
        "<svg id=\"cost-chart\" role=\"img\" aria-label=\"cost per student, hourly\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\">\
<rect x=\"0\" y=\"{:.1}\" width=\"{w}\" height=\"{:.1}\" fill=\"#e3f4e8\"/>\
<polyline fill=\"none\" stroke=\"#1f4e9c\" stroke-width=\"2\" points=\"{}\"/></svg>",
        y(target.1),
        (y(target.0) - y(target.1)).max(0.0),
        line.join(" ")
    )
}

fn cost(o: &mut String, s: &StatusSnapshot) {
    o.push_str("<h2>Cost</h2>");
    let Some(c) = &s.cost else {
        o.push_str("<p class=\"muted\">No estimate yet (the cost model is off, or its reads are not in).</p>");
        return;
    };
    let cur = esc(&c.currency);
    match c.per_student_monthly {
        Some(p) => {
            let class = if p > c.target_per_student.1 {
                "bad"
            } else {
                "ok"
            };
            let _ = write!(
                o,
                "<p id=\"per-student\">Cost per student: <strong class=\"{class}\">{p:.2} {cur}</strong> a month (target {}–{} {cur}; {:.0} students, {}). Monthly run rate {:.0} {cur}.</p>",
                c.target_per_student.0,
                c.target_per_student.1,
                c.students.unwrap_or(0.0),
                esc(&c.students_source),
                c.total_monthly
            );
        }
        None => {
            let _ = write!(
                o,
                "<p id=\"per-student\">Cost per student: unknown (no active students). Monthly run rate {:.0} {cur}.</p>",
                c.total_monthly
            );
        }
    }
    // The model's own hour-by-hour figures over its window; else what this process has seen.
    let hourly: Vec<(String, f64)> = c
        .hourly
        .iter()
        .filter_map(|h| Some((h.hour.clone(), h.per_student_monthly?)))
        .collect();
    let series = if hourly.len() >= 2 {
        &hourly
    } else {
        &s.cost_history
    };
    if series.len() >= 2 {
        o.push_str(&chart(series, c.target_per_student));
        let _ = write!(
            o,
            "<p class=\"muted\">Cost per student, hour by hour, {} to {} (each hour projected to a month): from {:.2} to {:.2} {cur}; the green band is the target, {}–{} {cur}.</p>",
            esc(&series[0].0),
            esc(&series[series.len() - 1].0),
            series.iter().map(|p| p.1).fold(f64::INFINITY, f64::min),
            series.iter().map(|p| p.1).fold(0.0, f64::max),
            c.target_per_student.0,
            c.target_per_student.1
        );
    }
    let _ = write!(
        o,
        "<table id=\"cost\"><tr><th>component</th><th class=\"num\">{cur} a month</th><th>source</th></tr>"
    );
    for x in &c.components {
        let _ = write!(
            o,
            "<tr><td>{}</td><td class=\"num\">{:.2}</td><td class=\"muted\">{}</td></tr>",
            esc(&x.component),
            x.monthly,
            esc(&x.source)
        );
    }
    o.push_str("</table>");
    let _ = write!(
        o,
        "<p>trimtab's means (warm-ups, provisioned concurrency, its alarms, metrics and reads): {:.2} {cur} a month. Right-sizing saves {:.2} {cur} a month already, {:.2} more to take.</p>",
        c.means_monthly,
        c.right_sizing_realised.unwrap_or(0.0),
        c.right_sizing_available.unwrap_or(0.0)
    );
    for w in &c.warnings {
        let _ = write!(o, "<p class=\"warn\">{}</p>", esc(w));
    }
}

fn right_sizing(o: &mut String, s: &StatusSnapshot) {
    let r = &s.right_sizing;
    if r.functions.is_empty() {
        return;
    }
    let states: Vec<String> = r
        .functions_by_state
        .iter()
        .map(|(st, n)| format!("{} {n}", st.as_str()))
        .collect();
    let _ = write!(
        o,
        "<h2>Right-sizing</h2><p>{}. Saving available ${:.2} a month; realised ${:.2} a month.</p>",
        esc(&states.join(", ")),
        r.monthly_saving_available,
        r.monthly_saving_realised
    );
    o.push_str("<table id=\"right-sizing\"><tr><th>function</th><th>state</th><th class=\"num\">memory now</th><th class=\"num\">proposed</th><th class=\"num\">$ a month</th><th>reason</th></tr>");
    for f in r
        .functions
        .iter()
        .filter(|f| f.state != SizingState::Optimal)
        .take(25)
    {
        let _ = write!(
            o,
            "<tr><td><code>{}</code></td><td>{}</td><td class=\"num\">{} MB</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            esc(&f.function),
            f.state.as_str(),
            f.current.memory_mb,
            f.proposed
                .as_ref()
                .map_or("–".to_string(), |p| format!("{} MB", p.memory_mb)),
            f.monthly_saving
                .map_or("–".to_string(), |v| format!("{v:.2}")),
            esc(&f.reason)
        );
    }
    o.push_str("</table>");
}

fn errors(o: &mut String, s: &StatusSnapshot) {
    if s.recent_errors.is_empty() {
        return;
    }
    let open = s
        .recent_errors
        .iter()
        .filter(|e| e.resolved_at.is_none())
        .count();
    let _ = write!(
        o,
        "<h2>Errors of the last day ({open} open)</h2><table id=\"errors\"><tr><th>at</th><th>what</th><th>error</th><th>resolved</th></tr>"
    );
    for e in s.recent_errors.iter().rev().take(25) {
        let _ = write!(
            o,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"{}\">{}</td></tr>",
            esc(&e.at),
            esc(&e.context),
            esc(&e.message),
            if e.resolved_at.is_some() { "ok" } else { "bad" },
            esc(e.resolved_at.as_deref().unwrap_or("open"))
        );
    }
    o.push_str("</table>");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::status::{Heartbeat, NOTES_PER_CODE, StatusBoard};

    /// A fresh board on a clock at the epoch.
    fn board() -> StatusBoard {
        StatusBoard::new(
            std::sync::Arc::new(crate::clock::ManualClock::at_epoch()),
            Heartbeat::default(),
            "t.toml".into(),
            std::time::Duration::from_secs(60),
        )
    }

    #[test]
    fn a_standby_says_so_and_a_fresh_daemon_says_it_is_starting() {
        let board = board();
        board.set_role("standby");
        let page = render(&board.snapshot());
        assert!(page.contains("<strong>standby</strong>"), "{page}");
        assert!(page.contains(">Starting<"), "{page}");
        assert!(page.contains("No cycle has completed yet."));
        assert!(!page.contains("<script"));
    }

    /// The notes' heading counts every note of the plan; the kinds cut short say how many more.
    #[test]
    fn notes_left_off_the_board_are_counted() {
        let board = board();
        let plan = crate::model::Plan {
            notes: (0..NOTES_PER_CODE + 4)
                .map(|i| crate::model::Note {
                    controller: "alarm_data",
                    code: "metric_without_data",
                    id: format!("alarm-{i}"),
                    message: "no data".into(),
                })
                .collect(),
            ..Default::default()
        };
        board.standby(
            &plan,
            std::time::SystemTime::UNIX_EPOCH,
            std::time::Duration::ZERO,
        );
        let page = render(&board.snapshot());
        assert!(
            page.contains(&format!("<h2>Notes ({})</h2>", NOTES_PER_CODE + 4)),
            "{page}"
        );
        assert!(page.contains("… and 4 more of this kind"), "{page}");
        assert_eq!(page.matches("<td><code>alarm-").count(), NOTES_PER_CODE);
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            esc("<a href=\"x\">&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn the_chart_draws_every_point_inside_its_box() {
        let points: Vec<(String, f64)> = (0..5)
            .map(|i| (format!("h{i}"), 8.0 + f64::from(i)))
            .collect();
        let svg = chart(&points, (8.0, 15.0));
        let line = svg
            .split("points=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        let xy: Vec<(f64, f64)> = line
            .split(' ')
            .map(|p| {
                let (x, y) = p.split_once(',').unwrap();
                (x.parse().unwrap(), y.parse().unwrap())
            })
            .collect();
        assert_eq!(xy.len(), 5);
        assert!(
            xy.iter()
                .all(|(x, y)| (0.0..=560.0).contains(x) && (0.0..=120.0).contains(y))
        );
        assert!(
            xy.windows(2).all(|w| w[1].1 < w[0].1),
            "rising cost draws upward"
        );
    }
}
