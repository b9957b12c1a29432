//! Bench reports as text tables for people and as JSON for tools (every figure, plan summary and SQL).

use super::plan::PlanSummary;
use super::{BenchReport, Measure};
use serde_json::{json, Value};
use std::fmt::Write;

/// The RLS overhead the generated policies must stay under (actor / service_role).
pub const TARGET_RATIO: f64 = 1.5;

fn plan_flags(p: &PlanSummary) -> String {
    format!(
        "{}; {}; {}",
        if p.auth_in_initplan {
            format!("initPlan x{}", p.initplans)
        } else {
            "no auth initPlan".into()
        },
        p.target_scan,
        if p.per_row_auth_evals == 0 {
            "no per-row auth calls".to_string()
        } else {
            format!("auth/helper evaluated for {} rows", p.per_row_auth_evals)
        }
    )
}

/// The report as text: load figures, then one block per query.
pub fn human(r: &BenchReport) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "schemac bench: PostgreSQL {} ({})",
        r.server_version,
        r.settings
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let _ = writeln!(s, "\nData ({} users):", r.users);
    for t in &r.tables {
        let _ = writeln!(
            s,
            "  {:<32} {:>10} rows  {:<10} {:>7.1} s{}",
            t.table,
            t.rows,
            t.kind.name(),
            t.seconds,
            if t.source == "trigger" {
                "  (signup trigger)"
            } else {
                ""
            }
        );
    }
    let _ = writeln!(
        s,
        "  migration {:.2} s; users {:.1} s; load total {:.1} s; vacuum analyze {:.1} s",
        r.migration_seconds, r.users_seconds, r.load_seconds, r.vacuum_analyze_seconds
    );
    for (ix, secs) in &r.index_builds {
        let _ = writeln!(
            s,
            "  index build {ix}: {secs:.1} s (maintenance_work_mem {})",
            r.maintenance_work_mem
        );
    }
    let _ = writeln!(
        s,
        "\nQueries (median ms; actor = authenticated with the user's JWT claims, service = service_role with the explicit filter):"
    );
    for q in &r.queries {
        let verdict = if q.ratio <= TARGET_RATIO {
            "ok"
        } else {
            "OVER TARGET"
        };
        let _ = writeln!(s, "\n  {} [{}]", q.query.name, q.query.kind.name());
        let _ = writeln!(
            s,
            "    generated: actor {:.3} ms, service_role {:.3} ms, ratio {:.2} ({verdict} <= {TARGET_RATIO}); rows {}/{}{}",
            q.actor.median_ms,
            q.service.median_ms,
            q.ratio,
            q.actor.rows,
            q.service.rows,
            if q.same_rows { ", same rows" } else { ", ROWS DIFFER" }
        );
        let _ = writeln!(s, "      plan: {}", plan_flags(&q.actor.plan));
        let _ = writeln!(s, "      service plan: {}", q.service.plan.target_scan);
        for (label, m) in [
            ("member form in (select helper())", &q.in_select),
            ("member form = any (array(select helper()))", &q.any_array),
            ("without app-role rules", &q.without_role_rules),
            (
                "without app-role rules, member form in (select helper())",
                &q.no_role_in_select,
            ),
            (
                "without app-role rules, member form = any (array(select helper()))",
                &q.no_role_any_array,
            ),
        ] {
            if let Some(m) = m {
                let _ = writeln!(
                    s,
                    "    {label}: {:.3} ms (ratio {:.2}); {}",
                    m.median_ms,
                    ratio(m, &q.service),
                    plan_flags(&m.plan)
                );
            }
        }
        if let Some(m) = &q.naive {
            let _ = writeln!(
                s,
                "    naive: {:.3} ms (ratio {:.2}, {:.1}x the generated policies){}; {}",
                m.median_ms,
                ratio(m, &q.service),
                if q.actor.median_ms > 0.0 {
                    m.median_ms / q.actor.median_ms
                } else {
                    0.0
                },
                if q.naive_same_rows == Some(false) {
                    ", ROWS DIFFER"
                } else {
                    ""
                },
                plan_flags(&m.plan)
            );
            for f in &m.plan.per_row_filters {
                let _ = writeln!(s, "      per-row: {}", shorten(f, 160));
            }
        }
    }
    for (without, label) in [
        (false, "generated policies"),
        (true, "without app-role rules"),
    ] {
        let Some(v) = r.member_verdict(without) else {
            continue;
        };
        let _ = writeln!(
            s,
            "\nMembership forms, {label} (sum of medians over the membership queries): in (select helper()) {:.3} ms (faster in {} queries), \
             = any (array(select helper())) {:.3} ms (faster in {}); faster overall: {}{}",
            v.in_select_ms,
            v.in_select_wins,
            v.any_array_ms,
            v.any_array_wins,
            v.faster.name(),
            match r.generated_member_form {
                Some(g) if g == v.faster => " (what schemac generates)".to_string(),
                Some(g) => format!(" (schemac generates {})", g.name()),
                None => String::new(),
            }
        );
    }
    let over: Vec<&str> = r
        .queries
        .iter()
        .filter(|q| q.ratio > TARGET_RATIO)
        .map(|q| q.query.name.as_str())
        .collect();
    let _ = writeln!(
        s,
        "\n{} of {} queries within {TARGET_RATIO}x of service_role{}; total {:.1} s",
        r.queries.len() - over.len(),
        r.queries.len(),
        if over.is_empty() {
            String::new()
        } else {
            format!(" (over: {})", over.join("; "))
        },
        r.total_seconds
    );
    s
}

fn ratio(m: &Measure, service: &Measure) -> f64 {
    if service.median_ms > 0.0 {
        m.median_ms / service.median_ms
    } else {
        0.0
    }
}

fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        format!("{}...", s.chars().take(max).collect::<String>())
    }
}

fn plan_json(p: &PlanSummary) -> Value {
    json!({
        "initplans": p.initplans,
        "auth_in_initplan": p.auth_in_initplan,
        "target_scan": p.target_scan,
        "target_index": p.target_index,
        "per_row_auth_evals": p.per_row_auth_evals,
        "per_row_filters": p.per_row_filters,
        "execution_ms": p.execution_ms,
        "planning_ms": p.planning_ms,
        "rows": p.rows,
        "shape": p.shape,
    })
}

fn measure_json(m: &Measure) -> Value {
    json!({
        "median_ms": m.median_ms, "min_ms": m.min_ms, "max_ms": m.max_ms, "reps": m.reps,
        "rows": m.rows, "plan": plan_json(&m.plan),
    })
}

/// The report as pretty JSON.
pub fn json(r: &BenchReport) -> String {
    let queries: Vec<Value> = r
        .queries
        .iter()
        .map(|q| {
            json!({
                "name": q.query.name,
                "kind": q.query.kind.name(),
                "table": q.query.table,
                "user": q.query.user.to_string(),
                "actor_sql": q.query.actor_sql,
                "service_sql": q.query.service_sql,
                "uses_membership": q.query.uses_membership,
                "actor": measure_json(&q.actor),
                "service": measure_json(&q.service),
                "ratio": q.ratio,
                "within_target": q.ratio <= TARGET_RATIO,
                "same_rows": q.same_rows,
                "member_in_select": q.in_select.as_ref().map(measure_json),
                "member_any_array": q.any_array.as_ref().map(measure_json),
                "without_role_rules": q.without_role_rules.as_ref().map(measure_json),
                "without_role_rules_member_in_select": q.no_role_in_select.as_ref().map(measure_json),
                "without_role_rules_member_any_array": q.no_role_any_array.as_ref().map(measure_json),
                "naive": q.naive.as_ref().map(measure_json),
                "naive_same_rows": q.naive_same_rows,
            })
        })
        .collect();
    let verdict = |without: bool| {
        r.member_verdict(without).map(|v| {
            json!({"in_select_ms": v.in_select_ms, "any_array_ms": v.any_array_ms,
                   "in_select_wins": v.in_select_wins, "any_array_wins": v.any_array_wins,
                   "faster": v.faster.name(),
                   "generated": r.generated_member_form.map(|g| g.name())})
        })
    };
    let v = json!({
        "database": r.database,
        "server_version": r.server_version,
        "settings": r.settings.iter().map(|(k, v)| json!({"name": k, "value": v})).collect::<Vec<_>>(),
        "scale": {
            "users": r.scale.users, "leaf_rows": r.scale.leaf_rows, "vector_rows": r.scale.vector_rows,
            "fanout": r.scale.fanout, "per_user": r.scale.per_user,
        },
        "migration_seconds": r.migration_seconds,
        "users": r.users,
        "users_seconds": r.users_seconds,
        "tables": r.tables.iter().map(|t| json!({
            "table": t.table, "kind": t.kind.name(), "planned_rows": t.planned_rows, "rows": t.rows,
            "source": t.source, "seconds": t.seconds,
        })).collect::<Vec<_>>(),
        "load_seconds": r.load_seconds,
        "vacuum_analyze_seconds": r.vacuum_analyze_seconds,
        "index_builds": r.index_builds.iter().map(|(i, s)| json!({"index": i, "seconds": s})).collect::<Vec<_>>(),
        "maintenance_work_mem": r.maintenance_work_mem,
        "queries": queries,
        "membership_forms": verdict(false),
        "membership_forms_without_role_rules": verdict(true),
        "naive_dropped_indexes": r.naive_dropped_indexes,
        "total_seconds": r.total_seconds,
    });
    let mut s = serde_json::to_string_pretty(&v).expect("json");
    s.push('\n');
    s
}
