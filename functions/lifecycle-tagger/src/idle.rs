//! Idle endpoints: which endpoints to judge, which metrics to read for each, and the verdict —
//! a pure function of the endpoint, what CloudWatch holds, the policy and the clock.
//!
//! An endpoint is idle when it took no request in the last `IDLE_DAYS` days. It gets a
//! `sagekeeper:idle-since` date (kept while it stays idle, removed once it is used again) and
//! a finding with what it costs; when deletion is on, it is deleted once `IDLE_GRACE_DAYS`
//! have passed since that date.
//!
//! Each kind of endpoint is judged by what it publishes (AWS/SageMaker namespace):
//! - real-time: `Invocations` per variant (`EndpointName`, `VariantName`). SageMaker publishes
//!   it for requests and never a zero ("SageMaker doesn't emit metrics with a value of zero",
//!   the autoscaling guide's scale-in note), so a window without datapoints is a window
//!   without requests: idle.
//! - asynchronous: never `Invocations`. `InvocationsProcessed` per variant counts requests
//!   handled (published like `Invocations`, only when there are some), and
//!   `ApproximateBacklogSize` (`EndpointName`) is the queue's size, published while the
//!   endpoint is up, zero included. Idle needs that queue metric present and zero throughout
//!   and nothing processed; without a single queue datapoint nothing shows that the
//!   endpoint's metrics reach CloudWatch at all, so the verdict is "unknown", never idle.
//! - inference components: traffic is counted per component, which is not read here: an info
//!   finding, never tagged idle nor deleted.
//! - serverless: costs nothing when idle, so it is not judged.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use sagekeeper_core::cloudwatch::metric_data::{MetricQuery, Reading, Stat};
use sagekeeper_core::model::pricing::PriceTable;
use sagekeeper_core::model::tags::Tags;
use sagekeeper_core::sagemaker::endpoints::{Endpoint, EndpointConfig};
use sagekeeper_core::sagemaker::invocation_mode::InvocationMode;

use crate::creator::CREATED_AT;

pub const IDLE_SINCE_TAG: &str = "sagekeeper:idle-since";
/// Hours in an average month, for monthly cost estimates.
pub const HOURS_PER_MONTH: f64 = 730.0;
/// Metrics are read a day at a time and combined.
pub const PERIOD_SECS: i32 = 86_400;
const NAMESPACE: &str = "AWS/SageMaker";

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
    pub mode: InvocationMode,
}

/// What a metric's silence (no datapoint in the window) says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhenSilent {
    /// Published only when there is traffic: silence is no traffic.
    NoTraffic,
    /// Published the whole time the endpoint is up, zero included: silence says nothing.
    Unknown,
}

/// One metric that decides whether an endpoint is idle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signal {
    pub query: MetricQuery,
    pub when_silent: WhenSilent,
}

/// Why an endpoint is not judged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotJudged {
    /// Idleness does not apply now (not in service, too young, serverless): nothing to say.
    Quiet(String),
    /// It may cost money idle, but its traffic is not read here: an info finding.
    Unreadable(String),
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

    /// The metrics whose readings decide, or why this endpoint is not judged.
    pub fn signals(
        &self,
        policy: &IdlePolicy,
        now: DateTime<Utc>,
    ) -> Result<Vec<Signal>, NotJudged> {
        if !self.endpoint.is_in_service() {
            return Err(NotJudged::Quiet(format!("it is {}", self.endpoint.status)));
        }
        if self.config.is_serverless() {
            return Err(NotJudged::Quiet(
                "serverless endpoints cost nothing when idle".to_owned(),
            ));
        }
        if self
            .first_seen()
            .is_some_and(|t| t > window_start(policy, now))
        {
            return Err(NotJudged::Quiet(format!(
                "it is younger than the {}-day idle window",
                policy.idle_days
            )));
        }
        if self.config.hosts_inference_components() {
            return Err(NotJudged::Unreadable(
                "its traffic is counted per inference component, which idle detection does not read; it is neither tagged idle nor deleted"
                    .to_owned(),
            ));
        }
        let name = &self.endpoint.name;
        let per_variant = |metric: &'static str| -> Vec<Signal> {
            self.config
                .variants
                .iter()
                .map(|v| Signal {
                    query: variant_query(metric, name, &v.name),
                    when_silent: WhenSilent::NoTraffic,
                })
                .collect()
        };
        Ok(match self.mode {
            InvocationMode::RealTime => per_variant("Invocations"),
            InvocationMode::Async => {
                let mut signals = per_variant("InvocationsProcessed");
                signals.push(Signal {
                    query: MetricQuery {
                        namespace: NAMESPACE.to_owned(),
                        metric: "ApproximateBacklogSize".to_owned(),
                        dimensions: vec![("EndpointName".to_owned(), name.clone())],
                        stat: Stat::Maximum,
                    },
                    when_silent: WhenSilent::Unknown,
                });
                signals
            }
        })
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

/// A per-variant count (`Invocations`, `InvocationsProcessed`), summed.
pub fn variant_query(metric: &str, endpoint: &str, variant: &str) -> MetricQuery {
    MetricQuery {
        namespace: NAMESPACE.to_owned(),
        metric: metric.to_owned(),
        dimensions: vec![
            ("EndpointName".to_owned(), endpoint.to_owned()),
            ("VariantName".to_owned(), variant.to_owned()),
        ],
        stat: Stat::Sum,
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Active {
        /// It was idle before: its idle-since tag goes.
        clear_idle_tag: bool,
    },
    /// CloudWatch could not say for every metric: nothing is decided.
    Unknown,
    /// These metrics, which the endpoint publishes while it is up, have no datapoint in the
    /// window: nothing shows its traffic reaches CloudWatch, so nothing is decided.
    NoData {
        metrics: Vec<String>,
    },
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

/// `observed` pairs each of the candidate's signals with its reading over the window
/// (`None`: CloudWatch could not answer completely).
pub fn judge(
    candidate: &Candidate,
    observed: &[(Signal, Option<Reading>)],
    policy: &IdlePolicy,
    now: DateTime<Utc>,
    prices: &PriceTable,
) -> Verdict {
    let tagged = candidate.tags.get(IDLE_SINCE_TAG);
    if observed
        .iter()
        .any(|(_, r)| r.is_some_and(|r| r.value > 0.0))
    {
        return Verdict::Active {
            clear_idle_tag: tagged.is_some(),
        };
    }
    if observed.is_empty() || observed.iter().any(|(_, r)| r.is_none()) {
        return Verdict::Unknown;
    }
    let silent: Vec<String> = observed
        .iter()
        .filter(|(s, r)| s.when_silent == WhenSilent::Unknown && r.is_some_and(|r| r.is_empty()))
        .map(|(s, _)| s.query.metric.clone())
        .collect();
    if !silent.is_empty() {
        return Verdict::NoData { metrics: silent };
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
pub(crate) mod tests {
    use super::*;
    use chrono::TimeZone;
    use sagekeeper_core::sagemaker::endpoints::VariantConfig;
    use std::collections::BTreeMap;

    pub(crate) fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 20, 4, 0, 0).unwrap()
    }

    fn policy(delete: bool) -> IdlePolicy {
        IdlePolicy {
            idle_days: 7,
            delete,
            grace_days: 7,
        }
    }

    /// A real-time endpoint, 2 × ml.m5.large, created long before the idle window.
    pub(crate) fn candidate(tags: &[(&str, &str)]) -> Candidate {
        Candidate {
            arn: "arn:aws:sagemaker:eu-west-3:123456789012:endpoint/fraud".to_owned(),
            tags: sagekeeper_core::model::tags::from_pairs(tags),
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
                asynchronous: false,
            },
            mode: InvocationMode::RealTime,
        }
    }

    /// Readings of the `AllTraffic` variant's `Invocations`, one per entry: `Some(0.0)` is a
    /// window without datapoints, `None` a metric CloudWatch could not answer for.
    pub(crate) fn invocations(sums: &[Option<f64>]) -> Vec<(Signal, Option<Reading>)> {
        sums.iter()
            .map(|sum| {
                (
                    Signal {
                        query: variant_query("Invocations", "fraud", "AllTraffic"),
                        when_silent: WhenSilent::NoTraffic,
                    },
                    sum.map(|value| Reading {
                        datapoints: usize::from(value > 0.0),
                        value,
                    }),
                )
            })
            .collect()
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
            &invocations(&[Some(0.0)]),
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
                &invocations(&[Some(0.0), Some(1.0)]),
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
                &invocations(&[Some(3.0)]),
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
                &invocations(&[Some(0.0), None]),
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
            &invocations(&[Some(0.0)]),
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
            &invocations(&[Some(0.0)]),
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
            &invocations(&[Some(0.0)]),
            &policy(true),
            now(),
            &prices,
        ));
        assert_eq!(due.deletion, Deletion::Due);
        assert_eq!(due.since, NaiveDate::from_ymd_opt(2026, 11, 13).unwrap());
        let off = idle(judge(
            &candidate(&[(IDLE_SINCE_TAG, "2026-01-01")]),
            &invocations(&[Some(0.0)]),
            &policy(false),
            now(),
            &prices,
        ));
        assert_eq!(off.deletion, Deletion::Off);
        let bad = idle(judge(
            &candidate(&[(IDLE_SINCE_TAG, "last week")]),
            &invocations(&[Some(0.0)]),
            &policy(true),
            now(),
            &prices,
        ));
        assert_eq!(bad.deletion, Deletion::BadSinceTag("last week".to_owned()));
        assert_eq!(bad.tag, None);
    }

    fn metrics(signals: &[Signal]) -> Vec<(&str, Stat, WhenSilent)> {
        signals
            .iter()
            .map(|s| (s.query.metric.as_str(), s.query.stat, s.when_silent))
            .collect()
    }

    fn quiet(reason: Result<Vec<Signal>, NotJudged>) -> String {
        match reason {
            Err(NotJudged::Quiet(reason)) => reason,
            other => panic!("expected a quiet reason, got {other:?}"),
        }
    }

    #[test]
    fn only_old_enough_in_service_instance_endpoints_are_judged() {
        let p = policy(false);
        assert_eq!(
            metrics(&candidate(&[]).signals(&p, now()).unwrap()),
            [("Invocations", Stat::Sum, WhenSilent::NoTraffic)]
        );

        let mut young = candidate(&[]);
        young.created = Some(now() - Duration::days(2));
        assert!(quiet(young.signals(&p, now())).contains("younger"));
        // Re-created by the scheduler last night, but first created long ago.
        young
            .tags
            .insert(CREATED_AT.to_owned(), "2026-09-01T10:00:00Z".to_owned());
        assert!(young.signals(&p, now()).is_ok());

        let mut updating = candidate(&[]);
        updating.endpoint.status = "Updating".to_owned();
        assert_eq!(quiet(updating.signals(&p, now())), "it is Updating");

        let mut serverless = candidate(&[]);
        serverless.config.variants[0].serverless = true;
        serverless.config.variants[0].instance_type = None;
        assert!(quiet(serverless.signals(&p, now())).contains("serverless"));
    }

    // An endpoint hosting inference components costs money idle, but its traffic is counted
    // per component: an info finding, never a verdict.
    #[test]
    fn inference_component_endpoints_are_reported_as_not_judged() {
        let mut components = candidate(&[]);
        components.config.variants[0].model_name = None;
        match components.signals(&policy(true), now()) {
            Err(NotJudged::Unreadable(reason)) => {
                assert!(reason.contains("inference component"), "{reason}")
            }
            other => panic!("expected unreadable, got {other:?}"),
        }
    }

    #[test]
    fn queries_name_the_endpoint_and_variant() {
        let q = variant_query("Invocations", "fraud", "AllTraffic");
        assert_eq!(q.namespace, "AWS/SageMaker");
        assert_eq!(q.metric, "Invocations");
        assert_eq!(q.stat, Stat::Sum);
        assert_eq!(
            q.dimensions,
            [
                ("EndpointName".to_owned(), "fraud".to_owned()),
                ("VariantName".to_owned(), "AllTraffic".to_owned())
            ]
        );
    }

    fn async_candidate(tags: &[(&str, &str)]) -> Candidate {
        Candidate {
            mode: InvocationMode::Async,
            ..candidate(tags)
        }
    }

    /// An asynchronous endpoint's readings: requests processed, then the queue's maximum.
    fn async_readings(
        c: &Candidate,
        processed: Option<Reading>,
        backlog: Option<Reading>,
    ) -> Vec<(Signal, Option<Reading>)> {
        let signals = c.signals(&policy(true), now()).unwrap();
        signals.into_iter().zip([processed, backlog]).collect()
    }

    fn read(datapoints: usize, value: f64) -> Option<Reading> {
        Some(Reading { datapoints, value })
    }

    // An asynchronous endpoint never publishes Invocations: it is judged by the requests it
    // processed and by its queue, never by Invocations.
    #[test]
    fn an_async_endpoint_is_judged_by_processed_requests_and_its_queue() {
        let c = async_candidate(&[]);
        let signals = c.signals(&policy(true), now()).unwrap();
        assert_eq!(
            metrics(&signals),
            [
                ("InvocationsProcessed", Stat::Sum, WhenSilent::NoTraffic),
                ("ApproximateBacklogSize", Stat::Maximum, WhenSilent::Unknown),
            ]
        );
        assert_eq!(
            signals[1].query.dimensions,
            [("EndpointName".to_owned(), "fraud".to_owned())]
        );
        let prices = PriceTable::default();
        let verdict = |processed, backlog| {
            judge(
                &c,
                &async_readings(&c, processed, backlog),
                &policy(true),
                now(),
                &prices,
            )
        };
        let active = Verdict::Active {
            clear_idle_tag: false,
        };
        assert_eq!(verdict(read(2, 40.0), read(7, 0.0)), active, "processed");
        assert_eq!(verdict(read(0, 0.0), read(7, 3.0)), active, "queued");
        assert_eq!(verdict(read(0, 0.0), None), Verdict::Unknown);
        // Nothing at all: its metrics may not reach CloudWatch; unknown, never idle.
        assert_eq!(
            verdict(read(0, 0.0), read(0, 0.0)),
            Verdict::NoData {
                metrics: vec!["ApproximateBacklogSize".to_owned()]
            }
        );
        // The queue was watched all week and stayed empty, and nothing was processed: idle.
        assert!(matches!(
            verdict(read(0, 0.0), read(7, 0.0)),
            Verdict::Idle(Idle {
                deletion: Deletion::InGrace { .. },
                ..
            })
        ));
    }

    // The control: a real-time endpoint publishes Invocations only for requests, so a window
    // without datapoints is a window without requests.
    #[test]
    fn a_silent_real_time_endpoint_is_idle_and_due_after_its_grace_period() {
        let c = candidate(&[(IDLE_SINCE_TAG, "2026-11-01")]);
        let silent = [(
            Signal {
                query: variant_query("Invocations", "fraud", "AllTraffic"),
                when_silent: WhenSilent::NoTraffic,
            },
            read(0, 0.0),
        )];
        assert!(matches!(
            judge(&c, &silent, &policy(true), now(), &PriceTable::default()),
            Verdict::Idle(Idle {
                deletion: Deletion::Due,
                ..
            })
        ));
    }
}
