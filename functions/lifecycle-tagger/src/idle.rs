//! Idle endpoints: which endpoints to judge, how to read their traffic, and the verdict — a
//! pure function of the endpoint, its invocation counts, the policy and the clock.
//!
//! An endpoint is idle when none of its variants was invoked in the last `IDLE_DAYS` days. It
//! gets a `sagekeeper:idle-since` date (kept while it stays idle, removed once it is used
//! again) and a finding with what it costs; when deletion is on, it is deleted once
//! `IDLE_GRACE_DAYS` have passed since that date.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use sagekeeper_core::metric_data::MetricQuery;
use sagekeeper_core::pricing::PriceTable;
use sagekeeper_core::sagemaker::endpoints::{Endpoint, EndpointConfig};
use sagekeeper_core::tagging::Tags;

use crate::creator::CREATED_AT;

pub const IDLE_SINCE_TAG: &str = "sagekeeper:idle-since";
/// Hours in an average month, for monthly cost estimates.
pub const HOURS_PER_MONTH: f64 = 730.0;
/// Invocation counts are read a day at a time and added up.
pub const PERIOD_SECS: i32 = 86_400;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdlePolicy {
    pub idle_days: u32,
    pub delete: bool,
    pub grace_days: u32,
}

/// What the sweep knows about one live endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub arn: String,
    pub tags: Tags,
    /// When SageMaker created it (a parked-and-restored endpoint is re-created each time).
    pub created: Option<DateTime<Utc>>,
    pub endpoint: Endpoint,
    pub config: EndpointConfig,
}

impl Candidate {
    /// The earliest of its creation time and its `CreatedAt` tag: the tag survives the
    /// scheduler's nightly delete-and-recreate, the creation time does not.
    pub fn first_seen(&self) -> Option<DateTime<Utc>> {
        let tagged = self
            .tags
            .get(CREATED_AT)
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc));
        match (tagged, self.created) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The variants whose traffic decides, or why this endpoint is not judged.
    pub fn variants_to_judge(
        &self,
        policy: &IdlePolicy,
        now: DateTime<Utc>,
    ) -> Result<Vec<String>, String> {
        if !self.endpoint.is_in_service() {
            return Err(format!("it is {}", self.endpoint.status));
        }
        if self.config.is_serverless() {
            return Err("serverless endpoints cost nothing when idle".to_owned());
        }
        if self.config.hosts_inference_components() {
            return Err(
                "its traffic is counted per inference component, which idle detection does not read yet"
                    .to_owned(),
            );
        }
        if self
            .first_seen()
            .is_some_and(|t| t > window_start(policy, now))
        {
            return Err(format!(
                "it is younger than the {}-day idle window",
                policy.idle_days
            ));
        }
        Ok(self
            .config
            .variants
            .iter()
            .map(|v| v.name.clone())
            .collect())
    }

    /// On-demand cost per month of what runs now; unknown instance types are listed apart.
    pub fn monthly_cost(&self, prices: &PriceTable) -> (f64, Vec<String>) {
        let mut total = 0.0;
        let mut unpriced = Vec::new();
        for variant in &self.config.variants {
            let Some(instance_type) = &variant.instance_type else {
                continue;
            };
            let count = self
                .endpoint
                .instance_counts
                .get(&variant.name)
                .copied()
                .or(variant.initial_instance_count)
                .unwrap_or(0);
            match prices.hourly(instance_type) {
                Some(price) => total += price * f64::from(count) * HOURS_PER_MONTH,
                None => unpriced.push(instance_type.clone()),
            }
        }
        (total, unpriced)
    }

    /// What runs now, e.g. `2 × ml.g4dn.xlarge`.
    pub fn instances(&self) -> String {
        self.config
            .variants
            .iter()
            .map(|v| {
                let count = self
                    .endpoint
                    .instance_counts
                    .get(&v.name)
                    .copied()
                    .or(v.initial_instance_count)
                    .unwrap_or(0);
                format!("{count} × {}", v.instance_type.as_deref().unwrap_or("?"))
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

pub fn window_start(policy: &IdlePolicy, now: DateTime<Utc>) -> DateTime<Utc> {
    now - Duration::days(i64::from(policy.idle_days))
}

/// The `Invocations` metric of one variant.
pub fn invocations_query(endpoint: &str, variant: &str) -> MetricQuery {
    MetricQuery {
        namespace: "AWS/SageMaker".to_owned(),
        metric: "Invocations".to_owned(),
        dimensions: vec![
            ("EndpointName".to_owned(), endpoint.to_owned()),
            ("VariantName".to_owned(), variant.to_owned()),
        ],
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Active {
        /// It was idle before: its idle-since tag goes.
        clear_idle_tag: bool,
    },
    /// CloudWatch could not say for every variant: nothing is decided.
    Unknown,
    Idle(Idle),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Idle {
    pub since: NaiveDate,
    /// The idle-since tag to add (`None`: it is already there).
    pub tag: Option<String>,
    pub monthly_usd: f64,
    pub unpriced: Vec<String>,
    pub deletion: Deletion,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Deletion {
    /// `DELETE_IDLE_ENDPOINTS` is off.
    Off,
    InGrace {
        due: NaiveDate,
    },
    Due,
    /// The idle-since tag is not a date, so the grace period cannot be counted.
    BadSinceTag(String),
}

/// `sums` holds each variant's invocation count over the window (`None`: unknown).
pub fn judge(
    candidate: &Candidate,
    sums: &[Option<f64>],
    policy: &IdlePolicy,
    now: DateTime<Utc>,
    prices: &PriceTable,
) -> Verdict {
    let tagged = candidate.tags.get(IDLE_SINCE_TAG);
    if sums.iter().any(|s| s.is_some_and(|n| n > 0.0)) {
        return Verdict::Active {
            clear_idle_tag: tagged.is_some(),
        };
    }
    if sums.is_empty() || sums.iter().any(Option::is_none) {
        return Verdict::Unknown;
    }
    let today = now.date_naive();
    let parsed = tagged.map(|t| NaiveDate::parse_from_str(t.trim(), "%Y-%m-%d"));
    let since = match &parsed {
        Some(Ok(date)) => *date,
        _ => today,
    };
    let deletion = match (&parsed, policy.delete) {
        (_, false) => Deletion::Off,
        (Some(Err(_)), true) => Deletion::BadSinceTag(tagged.cloned().unwrap_or_default()),
        _ => {
            let due = since + Duration::days(i64::from(policy.grace_days));
            if today >= due {
                Deletion::Due
            } else {
                Deletion::InGrace { due }
            }
        }
    };
    let (monthly_usd, unpriced) = candidate.monthly_cost(prices);
    Verdict::Idle(Idle {
        since,
        tag: tagged
            .is_none()
            .then(|| today.format("%Y-%m-%d").to_string()),
        monthly_usd,
        unpriced,
        deletion,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use sagekeeper_core::sagemaker::endpoints::VariantConfig;
    use std::collections::BTreeMap;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 20, 4, 0, 0).unwrap()
    }

    fn policy(delete: bool) -> IdlePolicy {
        IdlePolicy {
            idle_days: 7,
            delete,
            grace_days: 7,
        }
    }

    fn candidate(tags: &[(&str, &str)]) -> Candidate {
        Candidate {
            arn: "arn:aws:sagemaker:eu-west-3:123456789012:endpoint/fraud".to_owned(),
            tags: sagekeeper_core::tagging::from_pairs(tags),
            created: Some(Utc.with_ymd_and_hms(2026, 10, 1, 0, 0, 0).unwrap()),
            endpoint: Endpoint {
                name: "fraud".to_owned(),
                arn: "arn:aws:sagemaker:eu-west-3:123456789012:endpoint/fraud".to_owned(),
                status: "InService".to_owned(),
                config_name: "fraud-config".to_owned(),
                instance_counts: BTreeMap::from([("AllTraffic".to_owned(), 2)]),
                weights: BTreeMap::new(),
                deployment_config: None,
            },
            config: EndpointConfig {
                name: "fraud-config".to_owned(),
                variants: vec![VariantConfig {
                    name: "AllTraffic".to_owned(),
                    model_name: Some("fraud-model".to_owned()),
                    instance_type: Some("ml.m5.large".to_owned()),
                    initial_instance_count: Some(1),
                    serverless: false,
                    managed_min_instances: None,
                }],
            },
        }
    }

    fn idle(verdict: Verdict) -> Idle {
        match verdict {
            Verdict::Idle(idle) => idle,
            other => panic!("expected idle, got {other:?}"),
        }
    }

    #[test]
    fn no_datapoints_is_idle_and_gets_todays_date_and_its_cost() {
        let c = candidate(&[]);
        let verdict = idle(judge(
            &c,
            &[Some(0.0)],
            &policy(false),
            now(),
            &PriceTable::default(),
        ));
        assert_eq!(verdict.tag.as_deref(), Some("2026-11-20"));
        assert_eq!(
            verdict.since,
            NaiveDate::from_ymd_opt(2026, 11, 20).unwrap()
        );
        // 2 × ml.m5.large at $0.115/h for 730 h.
        assert!(
            (verdict.monthly_usd - 167.9).abs() < 0.01,
            "{}",
            verdict.monthly_usd
        );
        assert_eq!(verdict.deletion, Deletion::Off);
        assert_eq!(c.instances(), "2 × ml.m5.large");
    }

    #[test]
    fn any_invocation_is_active_and_clears_an_old_idle_tag() {
        let c = candidate(&[(IDLE_SINCE_TAG, "2026-11-01")]);
        assert_eq!(
            judge(
                &c,
                &[Some(0.0), Some(1.0)],
                &policy(true),
                now(),
                &PriceTable::default()
            ),
            Verdict::Active {
                clear_idle_tag: true
            }
        );
        assert_eq!(
            judge(
                &candidate(&[]),
                &[Some(3.0)],
                &policy(true),
                now(),
                &PriceTable::default()
            ),
            Verdict::Active {
                clear_idle_tag: false
            }
        );
    }

    #[test]
    fn unknown_traffic_decides_nothing() {
        let c = candidate(&[]);
        assert_eq!(
            judge(
                &c,
                &[Some(0.0), None],
                &policy(true),
                now(),
                &PriceTable::default()
            ),
            Verdict::Unknown
        );
        assert_eq!(
            judge(&c, &[], &policy(true), now(), &PriceTable::default()),
            Verdict::Unknown
        );
    }

    #[test]
    fn deletion_waits_for_the_grace_period_from_the_idle_since_tag() {
        let prices = PriceTable::default();
        let fresh = idle(judge(
            &candidate(&[]),
            &[Some(0.0)],
            &policy(true),
            now(),
            &prices,
        ));
        assert_eq!(
            fresh.deletion,
            Deletion::InGrace {
                due: NaiveDate::from_ymd_opt(2026, 11, 27).unwrap()
            }
        );
        let in_grace = idle(judge(
            &candidate(&[(IDLE_SINCE_TAG, "2026-11-14")]),
            &[Some(0.0)],
            &policy(true),
            now(),
            &prices,
        ));
        assert_eq!(in_grace.tag, None, "the tag is kept as it is");
        assert_eq!(
            in_grace.deletion,
            Deletion::InGrace {
                due: NaiveDate::from_ymd_opt(2026, 11, 21).unwrap()
            }
        );
        let due = idle(judge(
            &candidate(&[(IDLE_SINCE_TAG, "2026-11-13")]),
            &[Some(0.0)],
            &policy(true),
            now(),
            &prices,
        ));
        assert_eq!(due.deletion, Deletion::Due);
        assert_eq!(due.since, NaiveDate::from_ymd_opt(2026, 11, 13).unwrap());
        let off = idle(judge(
            &candidate(&[(IDLE_SINCE_TAG, "2026-01-01")]),
            &[Some(0.0)],
            &policy(false),
            now(),
            &prices,
        ));
        assert_eq!(off.deletion, Deletion::Off);
        let bad = idle(judge(
            &candidate(&[(IDLE_SINCE_TAG, "last week")]),
            &[Some(0.0)],
            &policy(true),
            now(),
            &prices,
        ));
        assert_eq!(bad.deletion, Deletion::BadSinceTag("last week".to_owned()));
        assert_eq!(bad.tag, None);
    }

    #[test]
    fn only_old_enough_in_service_instance_endpoints_are_judged() {
        let p = policy(false);
        assert_eq!(
            candidate(&[]).variants_to_judge(&p, now()),
            Ok(vec!["AllTraffic".to_owned()])
        );

        let mut young = candidate(&[]);
        young.created = Some(now() - Duration::days(2));
        assert!(
            young
                .variants_to_judge(&p, now())
                .unwrap_err()
                .contains("younger")
        );
        // Re-created by the scheduler last night, but first created long ago.
        young
            .tags
            .insert(CREATED_AT.to_owned(), "2026-09-01T10:00:00Z".to_owned());
        assert!(young.variants_to_judge(&p, now()).is_ok());

        let mut updating = candidate(&[]);
        updating.endpoint.status = "Updating".to_owned();
        assert_eq!(
            updating.variants_to_judge(&p, now()).unwrap_err(),
            "it is Updating"
        );

        let mut serverless = candidate(&[]);
        serverless.config.variants[0].serverless = true;
        serverless.config.variants[0].instance_type = None;
        assert!(serverless.variants_to_judge(&p, now()).is_err());

        let mut components = candidate(&[]);
        components.config.variants[0].model_name = None;
        assert!(components.variants_to_judge(&p, now()).is_err());
    }

    #[test]
    fn queries_name_the_endpoint_and_variant() {
        let q = invocations_query("fraud", "AllTraffic");
        assert_eq!(q.namespace, "AWS/SageMaker");
        assert_eq!(q.metric, "Invocations");
        assert_eq!(
            q.dimensions,
            [
                ("EndpointName".to_owned(), "fraud".to_owned()),
                ("VariantName".to_owned(), "AllTraffic".to_owned())
            ]
        );
    }
}
