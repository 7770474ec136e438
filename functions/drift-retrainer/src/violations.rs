//! Why a retrain starts: the Model Monitor constraint-violations report of the execution that
//! raised the alarm, summarised as the most violated features and the kinds of checks that
//! failed. Pure: gather.rs fetches the report.

use std::collections::BTreeMap;

use serde::Deserialize;

/// `constraint_violations.json` as Model Monitor writes it. Data-quality reports name a
/// `feature_name`; model-quality and bias reports a `metric_name`. Unknown fields are ignored,
/// so newer report versions still parse.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ViolationReport {
    #[serde(default)]
    pub violations: Vec<Violation>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Violation {
    pub feature_name: Option<String>,
    pub metric_name: Option<String>,
    pub constraint_check_type: Option<String>,
    #[serde(default)]
    pub description: String,
}

/// The report's file name in a monitoring execution's output.
pub const REPORT_FILE: &str = "constraint_violations.json";

#[derive(Debug, Clone, PartialEq)]
pub struct FeatureViolations {
    pub name: String,
    /// The checks it failed, in report order, each once.
    pub checks: Vec<String>,
    /// The largest baseline drift distance reported for it.
    pub distance: Option<f64>,
    count: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub violations: usize,
    /// `features` for data-quality reports, `metrics` for model-quality ones.
    pub noun: &'static str,
    /// The most violated ones, at most the configured number.
    pub top: Vec<FeatureViolations>,
    /// How many more were violated.
    pub more: usize,
    /// Check type → number of violations, most frequent first.
    pub checks: Vec<(String, usize)>,
}

/// Ranks features by number of violations, then by drift distance (largest first), then by
/// their order in the report, and keeps the first `top_n`.
pub fn summarize(report: &ViolationReport, top_n: usize) -> Summary {
    let mut features: Vec<FeatureViolations> = Vec::new();
    let mut checks: BTreeMap<String, usize> = BTreeMap::new();
    for violation in &report.violations {
        let name = violation
            .feature_name
            .as_deref()
            .or(violation.metric_name.as_deref())
            .unwrap_or("(unnamed)");
        let check = violation
            .constraint_check_type
            .as_deref()
            .unwrap_or("unknown_check");
        *checks.entry(check.to_owned()).or_default() += 1;
        let index = match features.iter().position(|f| f.name == name) {
            Some(index) => index,
            None => {
                features.push(FeatureViolations {
                    name: name.to_owned(),
                    checks: Vec::new(),
                    distance: None,
                    count: 0,
                });
                features.len() - 1
            }
        };
        let feature = &mut features[index];
        feature.count += 1;
        if !feature.checks.iter().any(|c| c == check) {
            feature.checks.push(check.to_owned());
        }
        if let Some(distance) = drift_distance(&violation.description) {
            feature.distance = Some(feature.distance.map_or(distance, |d| d.max(distance)));
        }
    }
    // A stable sort keeps report order among equals.
    features.sort_by(|a, b| {
        b.count.cmp(&a.count).then(
            b.distance
                .unwrap_or(f64::MIN)
                .total_cmp(&a.distance.unwrap_or(f64::MIN)),
        )
    });
    let more = features.len().saturating_sub(top_n);
    features.truncate(top_n);
    let mut checks: Vec<(String, usize)> = checks.into_iter().collect();
    checks.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
    let by_metric = report
        .violations
        .iter()
        .all(|v| v.feature_name.is_none() && v.metric_name.is_some());
    Summary {
        violations: report.violations.len(),
        noun: if by_metric && !report.violations.is_empty() {
            "metrics"
        } else {
            "features"
        },
        top: features,
        more,
        checks,
    }
}

/// "Baseline drift distance: 0.3471 exceeds threshold: 0.2" → 0.3471.
fn drift_distance(description: &str) -> Option<f64> {
    let (_, rest) = description.split_once("distance:")?;
    rest.split_whitespace().next()?.parse().ok()
}

impl Summary {
    pub fn feature_names(&self) -> Vec<&str> {
        self.top.iter().map(|f| f.name.as_str()).collect()
    }

    /// "merchant_category, total_amount and 1 more"
    fn names_sentence(&self) -> String {
        let names = self.feature_names().join(", ");
        if self.more > 0 {
            format!("{names} and {} more", self.more)
        } else {
            names
        }
    }
}

/// The reason for a retrain as far as it could be found out.
#[derive(Debug, Clone, PartialEq)]
pub enum Why {
    Report {
        uri: String,
        summary: Summary,
    },
    /// Missing, unreadable, or not looked for; the text says which.
    Unavailable(String),
}

impl Why {
    /// For headlines: "drift in 6 features: a, b and 4 more".
    pub fn short(&self) -> String {
        match self {
            Why::Report { summary, .. } if summary.violations == 0 => {
                "the latest monitoring report lists no violations".to_owned()
            }
            Why::Report { summary, .. } => format!(
                "violations in {} {}: {}",
                summary.top.len() + summary.more,
                summary.noun,
                summary.names_sentence()
            ),
            Why::Unavailable(_) => "violation report unavailable".to_owned(),
        }
    }

    /// For findings: every top feature with its checks, the check counts and the source.
    pub fn detail(&self) -> String {
        match self {
            Why::Unavailable(reason) => format!("violation report unavailable: {reason}"),
            Why::Report { uri, summary } if summary.violations == 0 => {
                format!("{uri} lists no violations")
            }
            Why::Report { uri, summary } => {
                let features: Vec<String> = summary
                    .top
                    .iter()
                    .map(|f| {
                        let distance = f
                            .distance
                            .map(|d| format!(", drift distance {d}"))
                            .unwrap_or_default();
                        format!("{} ({}{distance})", f.name, f.checks.join(", "))
                    })
                    .collect();
                let more = if summary.more > 0 {
                    format!("; and {} more", summary.more)
                } else {
                    String::new()
                };
                let checks: Vec<String> = summary
                    .checks
                    .iter()
                    .map(|(check, n)| format!("{check} ×{n}"))
                    .collect();
                format!(
                    "{} violations in {} {}: {}{more}. Checks failed: {}. Report: {uri}",
                    summary.violations,
                    summary.top.len() + summary.more,
                    summary.noun,
                    features.join("; "),
                    checks.join(", ")
                )
            }
        }
    }

    /// The top features, comma-separated (a pipeline parameter).
    pub fn features_csv(&self) -> Option<String> {
        match self {
            Why::Report { summary, .. } if !summary.top.is_empty() => {
                Some(summary.feature_names().join(","))
            }
            _ => None,
        }
    }

    pub fn report_uri(&self) -> Option<&str> {
        match self {
            Why::Report { uri, .. } => Some(uri),
            Why::Unavailable(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> ViolationReport {
        serde_json::from_str(json).unwrap()
    }

    const DATA_QUALITY: &str = include_str!("../../../tests/fixtures/constraint_violations.json");
    const MODEL_QUALITY: &str =
        include_str!("../../../tests/fixtures/constraint_violations_model_quality.json");
    const NONE: &str = include_str!("../../../tests/fixtures/constraint_violations_none.json");

    #[test]
    fn ranks_features_by_violations_then_drift_distance() {
        let summary = summarize(&parse(DATA_QUALITY), 5);
        assert_eq!(summary.violations, 7);
        assert_eq!(summary.noun, "features");
        assert_eq!(
            summary.feature_names(),
            [
                "merchant_category",
                "total_amount",
                "card_age_days",
                "hour_of_day",
                "device_type"
            ]
        );
        assert_eq!(summary.more, 1);
        assert_eq!(
            summary.top[0].checks,
            ["data_type_check", "baseline_drift_check"]
        );
        assert_eq!(summary.top[1].distance, Some(0.3471));
        assert_eq!(summary.checks[0], ("baseline_drift_check".to_owned(), 4));
        assert_eq!(summary.checks.len(), 4);
    }

    #[test]
    fn texts_for_headline_finding_and_parameters() {
        let why = Why::Report {
            uri: "s3://reports/x/constraint_violations.json".to_owned(),
            summary: summarize(&parse(DATA_QUALITY), 2),
        };
        assert_eq!(
            why.short(),
            "violations in 6 features: merchant_category, total_amount and 4 more"
        );
        let detail = why.detail();
        assert!(
            detail.starts_with(
                "7 violations in 6 features: merchant_category (data_type_check, baseline_drift_check, drift distance 0.2214); total_amount (baseline_drift_check, drift distance 0.3471); and 4 more."
            ),
            "{detail}"
        );
        assert!(detail.contains("baseline_drift_check ×4"), "{detail}");
        assert!(detail.ends_with("Report: s3://reports/x/constraint_violations.json"));
        assert_eq!(
            why.features_csv().as_deref(),
            Some("merchant_category,total_amount")
        );
    }

    #[test]
    fn model_quality_reports_name_metrics() {
        let why = Why::Report {
            uri: "s3://r/constraint_violations.json".to_owned(),
            summary: summarize(&parse(MODEL_QUALITY), 5),
        };
        assert_eq!(why.short(), "violations in 2 metrics: f2, recall");
        assert!(why.detail().contains("LessThanThreshold ×2"));
    }

    #[test]
    fn empty_and_unavailable_reports_say_so() {
        let empty = Why::Report {
            uri: "s3://r/constraint_violations.json".to_owned(),
            summary: summarize(&parse(NONE), 5),
        };
        assert_eq!(
            empty.short(),
            "the latest monitoring report lists no violations"
        );
        assert_eq!(empty.features_csv(), None);
        let unavailable = Why::Unavailable("no report at s3://r/constraint_violations.json".into());
        assert_eq!(unavailable.short(), "violation report unavailable");
        assert!(unavailable.detail().contains("no report at"));
        assert_eq!(unavailable.report_uri(), None);
        // Unknown fields and missing names do not break parsing.
        let odd = parse(
            r#"{"version": "2.0", "violations": [{"constraint_check_type": "x", "facet": "f"}]}"#,
        );
        assert_eq!(summarize(&odd, 5).feature_names(), ["(unnamed)"]);
        assert_eq!(summarize(&parse("{}"), 5).violations, 0);
    }
}
