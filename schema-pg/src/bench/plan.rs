//! Reads `explain (analyze, verbose, format json)` output: InitPlans that evaluate the auth call once, which index (if any) scans the queried table, and how many rows a filter calling an auth function or a policy helper was evaluated for.

use serde_json::Value;

/// What the plan of one query says.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PlanSummary {
    /// InitPlans in the plan (each runs once per statement).
    pub initplans: usize,
    /// Whether some InitPlan (or once-evaluated SubPlan) computes an auth call or policy helper.
    pub auth_in_initplan: bool,
    /// How the queried table is read: `Index Scan using x`, `Seq Scan`, ... (outermost scan).
    pub target_scan: String,
    /// The index used on the queried table, if any.
    pub target_index: Option<String>,
    /// Rows for which a filter calling an auth function or policy helper was evaluated
    /// (0 when every such call sits in an InitPlan).
    pub per_row_auth_evals: u64,
    /// Per-row filters that call an auth function or helper (as the plan prints them).
    pub per_row_filters: Vec<String>,
    /// Server-side execution time (with the instrumentation overhead of `explain analyze`).
    pub execution_ms: f64,
    pub planning_ms: f64,
    /// Rows the query returned.
    pub rows: u64,
    /// Node types from the root, depth-first (a short picture of the plan).
    pub shape: String,
}

/// Text fragments that mean "an auth function or policy helper is evaluated here".
pub fn auth_markers(helpers_schema: &str) -> Vec<String> {
    vec![
        "auth.uid()".into(),
        "auth.jwt()".into(),
        "auth.role()".into(),
        "auth.email()".into(),
        "current_setting('request.jwt".into(),
        format!("{helpers_schema}."),
    ]
}

fn has_marker(text: &str, markers: &[String]) -> bool {
    markers.iter().any(|m| text.contains(m.as_str()))
}

/// All strings in a node's own fields (not its children), for marker search.
fn node_text(node: &Value) -> String {
    let mut out = String::new();
    if let Some(obj) = node.as_object() {
        for (k, v) in obj {
            if k == "Plans" {
                continue;
            }
            match v {
                Value::String(s) => {
                    out.push_str(s);
                    out.push('\n');
                }
                Value::Array(items) => {
                    for i in items {
                        if let Some(s) = i.as_str() {
                            out.push_str(s);
                            out.push('\n');
                        }
                    }
                }
                _ => {}
            }
        }
    }
    out
}

fn subtree_has_marker(node: &Value, markers: &[String]) -> bool {
    has_marker(&node_text(node), markers)
        || node["Plans"]
            .as_array()
            .is_some_and(|ps| ps.iter().any(|p| subtree_has_marker(p, markers)))
}

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or(0.0)
}

struct Walk<'m> {
    table: &'m str,
    markers: &'m [String],
    summary: PlanSummary,
    shape: Vec<String>,
}

impl Walk<'_> {
    fn visit(&mut self, node: &Value, depth: usize) {
        let node_type = node["Node Type"].as_str().unwrap_or("?");
        let relationship = node["Parent Relationship"].as_str().unwrap_or("");
        let loops = num(&node["Actual Loops"]).max(1.0);
        if relationship == "InitPlan" {
            self.summary.initplans += 1;
            if subtree_has_marker(node, self.markers) {
                self.summary.auth_in_initplan = true;
            }
        }
        if relationship == "SubPlan" && loops <= 1.0 && subtree_has_marker(node, self.markers) {
            self.summary.auth_in_initplan = true;
        }
        if depth < 12 {
            let mut label = node_type.to_string();
            if let Some(r) = node["Relation Name"].as_str() {
                label.push_str(&format!(" on {r}"));
            }
            if let Some(i) = node["Index Name"].as_str() {
                label.push_str(&format!(" using {i}"));
            }
            if !relationship.is_empty() && relationship != "Outer" {
                label = format!("[{relationship}] {label}");
            }
            self.shape.push(format!("{}{label}", "  ".repeat(depth)));
        }
        // The outermost read of the queried table.
        if self.summary.target_scan.is_empty()
            && node["Relation Name"].as_str() == Some(self.table)
            && relationship != "InitPlan"
            && relationship != "SubPlan"
        {
            self.summary.target_index = node["Index Name"].as_str().map(str::to_string);
            self.summary.target_scan = match &self.summary.target_index {
                Some(i) => format!("{node_type} using {i}"),
                None => node_type.to_string(),
            };
            if node_type == "Bitmap Heap Scan" {
                let mut names = Vec::new();
                collect_bitmap_indexes(node, &mut names);
                if !names.is_empty() {
                    self.summary.target_index = Some(names.join(" + "));
                    self.summary.target_scan =
                        format!("Bitmap Heap Scan using {}", names.join(" + "));
                }
            }
        }
        // Filters evaluated per row.
        for key in ["Filter", "Join Filter"] {
            if let Some(f) = node[key].as_str() {
                if has_marker(f, self.markers) {
                    let removed = num(&node[format!("Rows Removed by {key}").as_str()]);
                    let evals = ((num(&node["Actual Rows"]) + removed) * loops).round() as u64;
                    if evals > 1 {
                        self.summary.per_row_auth_evals += evals;
                        if self.summary.per_row_filters.len() < 4 {
                            self.summary.per_row_filters.push(f.to_string());
                        }
                    }
                }
            }
        }
        // A function scan of a policy helper run once per row.
        if node_type == "Function Scan" && loops > 1.0 && has_marker(&node_text(node), self.markers)
        {
            self.summary.per_row_auth_evals += loops as u64;
            if self.summary.per_row_filters.len() < 4 {
                self.summary.per_row_filters.push(format!(
                    "{} called {} times",
                    node["Function Name"].as_str().unwrap_or("function"),
                    loops as u64
                ));
            }
        }
        if let Some(children) = node["Plans"].as_array() {
            for c in children {
                self.visit(c, depth + 1);
            }
        }
    }
}

fn collect_bitmap_indexes(node: &Value, out: &mut Vec<String>) {
    if let Some(i) = node["Index Name"].as_str() {
        if node["Node Type"].as_str() == Some("Bitmap Index Scan") {
            out.push(i.to_string());
        }
    }
    if let Some(children) = node["Plans"].as_array() {
        for c in children {
            if c["Parent Relationship"].as_str() != Some("InitPlan") {
                collect_bitmap_indexes(c, out);
            }
        }
    }
}

/// Summarises the JSON of `explain (analyze, verbose, format json)` for a query on `table`.
pub fn summarize(explain: &Value, table: &str, markers: &[String]) -> PlanSummary {
    let top = explain
        .as_array()
        .and_then(|a| a.first())
        .unwrap_or(explain);
    let mut w = Walk {
        table,
        markers,
        summary: PlanSummary::default(),
        shape: Vec::new(),
    };
    w.visit(&top["Plan"], 0);
    let mut s = w.summary;
    if s.target_scan.is_empty() {
        s.target_scan = "not read".into();
    }
    s.execution_ms = num(&top["Execution Time"]);
    s.planning_ms = num(&top["Planning Time"]);
    s.rows = num(&top["Plan"]["Actual Rows"]).round() as u64;
    s.shape = w.shape.join("\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn markers() -> Vec<String> {
        auth_markers("private")
    }

    #[test]
    fn an_initplan_auth_call_and_an_index_scan_are_recognised() {
        let plan = json!([{
            "Plan": {
                "Node Type": "Limit", "Actual Rows": 3.0, "Actual Loops": 1.0,
                "Plans": [
                    {"Node Type": "Result", "Parent Relationship": "InitPlan", "Subplan Name": "InitPlan 1",
                     "Actual Rows": 1.0, "Actual Loops": 1.0,
                     "Output": ["COALESCE(NULLIF(current_setting('request.jwt.claim.sub'::text, true), ''::text))::uuid"]},
                    {"Node Type": "Index Scan", "Parent Relationship": "Outer", "Relation Name": "notes",
                     "Index Name": "notes_user_id_idx", "Actual Rows": 3.0, "Actual Loops": 1.0,
                     "Index Cond": "(notes.user_id = (InitPlan 1).col1)"}
                ]
            },
            "Planning Time": 0.2, "Execution Time": 0.05
        }]);
        let s = summarize(&plan, "notes", &markers());
        assert_eq!(s.initplans, 1);
        assert!(s.auth_in_initplan);
        assert_eq!(s.target_index.as_deref(), Some("notes_user_id_idx"));
        assert_eq!(s.per_row_auth_evals, 0);
        assert_eq!(s.rows, 3);
    }

    #[test]
    fn a_per_row_auth_filter_is_counted() {
        let plan = json!([{
            "Plan": {
                "Node Type": "Seq Scan", "Relation Name": "notes", "Actual Rows": 10.0,
                "Actual Loops": 1.0, "Rows Removed by Filter": 990.0,
                "Filter": "(COALESCE(NULLIF(current_setting('request.jwt.claim.sub'::text, true), ''::text))::uuid = notes.user_id)"
            },
            "Planning Time": 0.2, "Execution Time": 5.0
        }]);
        let s = summarize(&plan, "notes", &markers());
        assert_eq!(s.initplans, 0);
        assert!(!s.auth_in_initplan);
        assert_eq!(s.target_scan, "Seq Scan");
        assert_eq!(s.per_row_auth_evals, 1000);
        assert_eq!(s.per_row_filters.len(), 1);
    }
}
