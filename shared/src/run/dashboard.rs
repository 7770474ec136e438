//! The CloudWatch dashboard of template.yaml, generated from the list of metrics
//! ([`crate::run::metrics`]): a test checks that the template holds exactly this body, so a
//! metric cannot be added to one and not the other. The body keeps CloudFormation `!Sub`
//! placeholders (`${AWS::Region}`, `${AWS::StackName}`, function logical ids).

use serde_json::{Value, json};

use crate::run::metrics::{self as m, FUNCTIONS, NON_COMPLIANT_PREFIX};

/// A function as the dashboard shows it: its `Function` dimension, its logical id in
/// template.yaml (for the AWS/Lambda metrics) and its timeout in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deployed {
    pub name: &'static str,
    pub logical_id: &'static str,
    pub timeout_seconds: u32,
}

/// The four functions' logical ids in template.yaml, in [`FUNCTIONS`] order.
pub const LOGICAL_IDS: [&str; 4] = [
    "EndpointSchedulerFunction",
    "EncryptionEnforcerFunction",
    "DriftRetrainerFunction",
    "LifecycleTaggerFunction",
];

const WIDTH: u32 = 12;
const HEIGHT: u32 = 6;
const HOURS_PER_MONTH: u32 = 730;

fn ours(metric: &str, function: &str) -> Value {
    json!(["Sagekeeper", metric, "Function", function])
}

fn graph(title: &str, stat: &str, period: u32, metrics: Vec<Value>) -> Value {
    json!({
        "type": "metric",
        "properties": {
            "title": title, "region": "${AWS::Region}", "view": "timeSeries",
            "stacked": false, "stat": stat, "period": period, "metrics": metrics
        }
    })
}

fn of(function: &str, metrics: &[&str]) -> Vec<Value> {
    metrics
        .iter()
        .map(|metric| ours(metric, function))
        .collect()
}

fn per_function(metrics: &[&str]) -> Vec<Value> {
    metrics
        .iter()
        .flat_map(|metric| FUNCTIONS.iter().map(move |f| ours(metric, f)))
        .collect()
}

/// The dashboard's widgets, laid out two to a row.
pub fn widgets(functions: &[Deployed]) -> Vec<Value> {
    let [scheduler, enforcer, retrainer, tagger] = FUNCTIONS;
    let mut widgets = vec![
        graph(
            "Estimated savings (USD): per hour parked, and per month at that rate",
            "Maximum",
            900,
            vec![
                json!(["Sagekeeper", m::ESTIMATED_HOURLY_SAVINGS_USD, "Function", scheduler,
                       {"id": "hourly", "label": "per hour"}]),
                json!([{"expression": format!("hourly*{HOURS_PER_MONTH}"),
                        "label": format!("per month ({HOURS_PER_MONTH} h)"), "id": "monthly"}]),
            ],
        ),
        graph(
            "Parked now: endpoints, notebooks, Studio apps; Canvas sessions closed",
            "Maximum",
            900,
            of(
                scheduler,
                &[
                    m::ENDPOINTS_PARKED,
                    m::NOTEBOOKS_STOPPED,
                    m::STUDIO_APPS_PARKED,
                    m::CANVAS_SESSIONS_CLOSED,
                ],
            ),
        ),
        graph("Non-compliant resources by rule", "Maximum", 3600, {
            let mut metrics = of(
                enforcer,
                &[
                    m::NON_COMPLIANT_RESOURCES,
                    m::EXEMPT,
                    m::RESOURCES_EVALUATED,
                    m::BUCKETS_IN_SCOPE,
                ],
            );
            let rules = rules_search_term();
            let total = m::NON_COMPLIANT_RESOURCES;
            let search = format!(
                "SEARCH('{{Sagekeeper,Function}} Function=\"{enforcer}\" {rules} NOT MetricName=\"{total}\"', 'Maximum', 3600)"
            );
            metrics.push(json!([{"expression": search, "label": "by rule", "id": "rules"}]));
            metrics
        }),
        graph(
            "Retrains started / suppressed",
            "Sum",
            3600,
            of(retrainer, &[m::RETRAINS_STARTED, m::RETRAINS_SUPPRESSED]),
        ),
        graph(
            "Idle endpoints, their monthly cost (USD); training without spot and its saving",
            "Maximum",
            86400,
            of(
                tagger,
                &[
                    m::IDLE_ENDPOINTS,
                    m::IDLE_ENDPOINTS_DELETED,
                    m::IDLE_ENDPOINTS_MONTHLY_COST_USD,
                    m::TRAINING_JOBS_WITHOUT_SPOT,
                    m::ESTIMATED_SPOT_SAVINGS_USD,
                ],
            ),
        ),
        graph(
            "Tagging: resources tagged, missing tags, lifecycle rules, log retention",
            "Sum",
            86400,
            of(
                tagger,
                &[
                    m::RESOURCES_TAGGED,
                    m::RESOURCES_MISSING_TAGS,
                    m::LIFECYCLE_RULES_APPLIED,
                    m::LOG_GROUPS_RETAINED,
                ],
            ),
        ),
        graph(
            "Actions failed and errors, per function",
            "Sum",
            3600,
            per_function(&[m::ACTIONS_FAILED, m::ERRORS]),
        ),
        graph(
            "Actions planned / done / skipped and findings, per function",
            "Sum",
            3600,
            per_function(&[
                m::ACTIONS_PLANNED,
                m::ACTIONS_DONE,
                m::ACTIONS_SKIPPED,
                m::FINDINGS,
            ]),
        ),
        graph(
            "Fan-out: targets enqueued, and runs cut short by their deadline",
            "Sum",
            3600,
            [m::TARGETS_ENQUEUED, m::RUNS_CUT_SHORT]
                .into_iter()
                .flat_map(|metric| [scheduler, enforcer, tagger].map(|f| ours(metric, f)))
                .collect(),
        ),
    ];
    for deployed in functions {
        let mut duration = graph(
            &format!("{}: duration (ms) against its timeout", deployed.name),
            "Maximum",
            3600,
            vec![json!([
                "AWS/Lambda",
                "Duration",
                "FunctionName",
                format!("${{{}}}", deployed.logical_id)
            ])],
        );
        duration["properties"]["annotations"] = json!({"horizontal": [
            {"label": "timeout", "value": deployed.timeout_seconds * 1000}
        ]});
        widgets.push(duration);
    }
    widgets
}

/// The whole DashboardBody: a header, then the widgets two to a row.
pub fn body(functions: &[Deployed]) -> String {
    let header = json!({
        "type": "text", "x": 0, "y": 0, "width": 24, "height": 2,
        "properties": {"markdown": "## sagekeeper (${AWS::StackName})\nMetrics from namespace **Sagekeeper**, dimension **Function**. DryRun is **${DryRun}**."}
    });
    let mut all = vec![header];
    for (i, mut widget) in widgets(functions).into_iter().enumerate() {
        let i = i as u32;
        widget["x"] = json!((i % 2) * WIDTH);
        widget["y"] = json!(2 + (i / 2) * HEIGHT);
        widget["width"] = json!(WIDTH);
        widget["height"] = json!(HEIGHT);
        all.push(widget);
    }
    // One widget a line: the template stays readable and a change shows as one line.
    let lines: Vec<String> = all.iter().map(|w| format!("    {w}")).collect();
    format!("{{\n  \"widgets\": [\n{}\n  ]\n}}\n", lines.join(",\n"))
}

/// The search term that finds every `NonCompliant.<rule>` metric. A quoted value would match a
/// whole name only; a bare token matches any name holding it (by CloudWatch's camel-case
/// tokens also the total, `NonCompliantResources`, which the search excludes: it is graphed
/// on its own).
fn rules_search_term() -> String {
    format!("MetricName={}", NON_COMPLIANT_PREFIX.trim_end_matches('.'))
}

/// Every Sagekeeper metric name the body graphs (the `NonCompliant.` search as its prefix).
pub fn graphed(functions: &[Deployed]) -> Vec<String> {
    let mut names = Vec::new();
    for widget in widgets(functions) {
        for metric in widget["properties"]["metrics"]
            .as_array()
            .into_iter()
            .flatten()
        {
            if metric[0] == "Sagekeeper" {
                names.extend(metric[1].as_str().map(str::to_owned));
            } else if let Some(expression) = metric[0]["expression"].as_str()
                && expression.contains(&rules_search_term())
            {
                names.push(NON_COMPLIANT_PREFIX.to_owned());
            }
        }
    }
    names.sort();
    names.dedup();
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::metrics::ALL;

    const TEMPLATE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml");
    const BODY_START: &str = "      DashboardBody: !Sub |\n";
    const INDENT: &str = "        ";

    /// The `Timeout:` of a function's resource block, else of `Globals`.
    fn timeout_of(template: &str, logical_id: &str) -> u32 {
        // A block: the lines after its header, up to the next line indented less than `inner`.
        let block = |header: &str, inner: &str| -> Vec<String> {
            let mut lines = template.lines().skip_while(|l| *l != header).skip(1);
            let mut taken = Vec::new();
            for line in lines.by_ref() {
                if !line.trim().is_empty() && !line.starts_with(inner) {
                    break;
                }
                taken.push(line.to_owned());
            }
            taken
        };
        let timeout = |lines: Vec<String>, indent: &str| {
            lines.iter().find_map(|l| {
                let value = l.strip_prefix(indent)?.strip_prefix("Timeout: ")?;
                value.trim().parse().ok()
            })
        };
        let own = block(&format!("  {logical_id}:"), "   ");
        assert!(!own.is_empty(), "{logical_id} not in template.yaml");
        timeout(own, "      ")
            .or_else(|| timeout(block("Globals:", " "), "    "))
            .expect("a Timeout")
    }

    fn deployed(template: &str) -> Vec<Deployed> {
        FUNCTIONS
            .iter()
            .zip(LOGICAL_IDS)
            .map(|(name, logical_id)| Deployed {
                name,
                logical_id,
                timeout_seconds: timeout_of(template, logical_id),
            })
            .collect()
    }

    /// The DashboardBody block of template.yaml: where it starts, ends, and its text.
    fn body_in(template: &str) -> (usize, usize, String) {
        let start = template
            .find(BODY_START)
            .expect("DashboardBody in template.yaml")
            + BODY_START.len();
        let mut end = start;
        let mut text = String::new();
        for line in template[start..].split_inclusive('\n') {
            if !line.trim().is_empty() && !line.starts_with(INDENT) {
                break;
            }
            text.push_str(line.strip_prefix(INDENT).unwrap_or("\n"));
            end += line.len();
        }
        while text.ends_with("\n\n") {
            text.pop();
        }
        (start, end, text)
    }

    /// Regenerate with `SAGEKEEPER_WRITE_DASHBOARD=1 cargo test --workspace --locked -- dashboard`.
    #[test]
    fn the_template_holds_the_dashboard_generated_from_the_metric_list() {
        let template = std::fs::read_to_string(TEMPLATE).expect("read template.yaml");
        let generated = body(&deployed(&template));
        let (start, end, held) = body_in(&template);
        if held != generated && std::env::var_os("SAGEKEEPER_WRITE_DASHBOARD").is_some() {
            let indented: String = generated
                .lines()
                .map(|l| {
                    if l.is_empty() {
                        "\n".to_owned()
                    } else {
                        format!("{INDENT}{l}\n")
                    }
                })
                .collect();
            let rewritten = format!(
                "{}{indented}\n{}",
                &template[..start],
                template[end..].trim_start_matches('\n')
            );
            std::fs::write(TEMPLATE, rewritten).expect("write template.yaml");
            return;
        }
        assert!(
            held == generated,
            "template.yaml's DashboardBody is not the one generated from shared/src/run/metrics.rs; \
             regenerate: SAGEKEEPER_WRITE_DASHBOARD=1 cargo test --workspace --locked -- dashboard"
        );
    }

    #[test]
    fn every_listed_metric_is_on_the_dashboard_and_nothing_else() {
        let template = std::fs::read_to_string(TEMPLATE).expect("read template.yaml");
        let mut listed: Vec<String> = ALL.iter().map(|m| m.name.to_owned()).collect();
        listed.push(NON_COMPLIANT_PREFIX.to_owned());
        listed.sort();
        assert_eq!(graphed(&deployed(&template)), listed);
    }

    #[test]
    fn each_function_is_graphed_against_its_own_timeout() {
        let template = std::fs::read_to_string(TEMPLATE).expect("read template.yaml");
        let timeouts: Vec<_> = deployed(&template)
            .iter()
            .map(|d| d.timeout_seconds)
            .collect();
        assert_eq!(timeouts, [300, 300, 60, 300]);
    }
}
