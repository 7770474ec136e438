//! Training cost findings: a pure function of a finished training job's run, the policy and
//! the price table. Findings only; nothing about a job is ever changed.
//!
//! Judged: training jobs the sweep listed (created in the last `TRAINING_LOOKBACK_DAYS`) that
//! are `Completed` or `Stopped` — their billed time is final. Running and failed jobs are not
//! judged.
//!
//! - `training-without-spot` (low): ran on on-demand capacity. With the estimated saving of
//!   that run: billed seconds per instance / 3600 × instance count × on-demand hourly price ×
//!   `SPOT_DISCOUNT` (summed over instance groups). Billed seconds are `BillableTimeInSeconds`
//!   (what SageMaker bills per instance), else `TrainingTimeInSeconds`, else
//!   `TrainingEndTime − TrainingStartTime`; the message says which. A type the price table
//!   does not know gives no figure ("price unknown"), nor does a run without any time.
//! - `spot-without-checkpoint` (medium): managed spot without `CheckpointConfig.S3Uri`: an
//!   interruption restarts the job from the start. No figure: what an interruption costs
//!   depends on when it comes (up to the whole run again), and the run already used spot.
//! - `spot-without-max-wait` (low): managed spot without
//!   `StoppingCondition.MaxWaitTimeInSeconds`: nothing bounds the time spent waiting for spot
//!   capacity plus training.
//! - `training-runtime-unbounded`: no `StoppingCondition.MaxRuntimeInSeconds` (low: SageMaker
//!   then stops the job after its default of one day), or one above `TRAINING_MAX_RUNTIME_HOURS`
//!   when that cap is set (medium).

use sagekeeper_core::Severity;
use sagekeeper_core::model::pricing::PriceTable;
use sagekeeper_core::sagemaker::jobs::TrainingRun;

pub const WITHOUT_SPOT: &str = "training-without-spot";
pub const SPOT_WITHOUT_CHECKPOINT: &str = "spot-without-checkpoint";
pub const SPOT_WITHOUT_MAX_WAIT: &str = "spot-without-max-wait";
pub const RUNTIME_UNBOUNDED: &str = "training-runtime-unbounded";

/// Every rule a judged run is evaluated against: one it does not break passes (the spot rules
/// pass an on-demand run, to which they do not apply).
pub const RULES: [&str; 4] = [
    WITHOUT_SPOT,
    SPOT_WITHOUT_CHECKPOINT,
    SPOT_WITHOUT_MAX_WAIT,
    RUNTIME_UNBOUNDED,
];

/// Statuses whose billed time is final.
const JUDGED_STATUSES: [&str; 2] = ["Completed", "Stopped"];

/// Whether the run is judged at all: a running or failed one is neither failing nor passing.
pub fn is_judged(run: &TrainingRun) -> bool {
    JUDGED_STATUSES.contains(&run.status.as_str())
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainingPolicy {
    /// Jobs created this many days before the sweep are judged.
    pub lookback_days: u32,
    /// The share of the on-demand price managed spot saves (0.7: spot costs 30% of it).
    pub spot_discount: f64,
    /// A `MaxRuntimeInSeconds` above this many hours is a finding; `None`: only a missing one.
    pub max_runtime_hours: Option<u32>,
}

/// One finding about a training job, and the saving it estimates (`training-without-spot`
/// with a price and a run time only).
#[derive(Debug, Clone, PartialEq)]
pub struct TrainingFinding {
    pub rule: &'static str,
    pub severity: Severity,
    pub message: String,
    pub saving_usd: Option<f64>,
}

/// How long a run was billed per instance, and which field says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Billed {
    pub seconds: i64,
    pub source: &'static str,
}

pub fn billed(run: &TrainingRun) -> Option<Billed> {
    let field = |seconds: Option<i32>, source| {
        seconds.map(|s| Billed {
            seconds: i64::from(s.max(0)),
            source,
        })
    };
    field(run.billable_seconds, "BillableTimeInSeconds")
        .or_else(|| field(run.training_seconds, "TrainingTimeInSeconds"))
        .or_else(|| {
            let (started, ended) = (run.started?, run.ended?);
            Some(Billed {
                seconds: (ended - started).num_seconds().max(0),
                source: "TrainingEndTime - TrainingStartTime",
            })
        })
}

/// The run's on-demand cost in USD: per instance group, hours × count × hourly price. `Err`
/// names the instance types without a price.
pub fn on_demand_usd(
    seconds: i64,
    instances: &[(String, i32)],
    prices: &PriceTable,
) -> Result<f64, Vec<String>> {
    let mut usd = 0.0;
    let mut unpriced = Vec::new();
    for (instance_type, count) in instances {
        match prices.hourly(instance_type) {
            Some(hourly) => usd += seconds as f64 / 3600.0 * f64::from(*count) * hourly,
            None => unpriced.push(instance_type.clone()),
        }
    }
    if unpriced.is_empty() {
        Ok(usd)
    } else {
        Err(unpriced)
    }
}

/// Every finding about one training job; none for a job still running or failed.
pub fn judge(
    run: &TrainingRun,
    policy: &TrainingPolicy,
    prices: &PriceTable,
) -> Vec<TrainingFinding> {
    if !is_judged(run) {
        return Vec::new();
    }
    let mut findings = Vec::new();
    if !run.managed_spot {
        let (message, saving_usd) = without_spot(run, policy, prices);
        findings.push(TrainingFinding {
            rule: WITHOUT_SPOT,
            severity: Severity::Low,
            message,
            saving_usd,
        });
    } else {
        let trained = billed(run).map_or("an unknown time".to_owned(), |b| {
            format!("{} s ({})", b.seconds, b.source)
        });
        if run.checkpoint_s3_uri.is_none() {
            findings.push(TrainingFinding {
                rule: SPOT_WITHOUT_CHECKPOINT,
                severity: Severity::Medium,
                message: format!(
                    "managed spot without CheckpointConfig.S3Uri: a spot interruption restarts the job from the start, repeating up to the whole run (this one: {trained}); set a checkpoint location the training code writes to"
                ),
                saving_usd: None,
            });
        }
        if run.max_wait_seconds.is_none() {
            findings.push(TrainingFinding {
                rule: SPOT_WITHOUT_MAX_WAIT,
                severity: Severity::Low,
                message: "managed spot without StoppingCondition.MaxWaitTimeInSeconds: nothing bounds the time spent waiting for spot capacity and training; set it (at least MaxRuntimeInSeconds)".to_owned(),
                saving_usd: None,
            });
        }
    }
    if let Some(finding) = runtime(run, policy) {
        findings.push(finding);
    }
    findings
}

fn instances(run: &TrainingRun, prices: &PriceTable) -> String {
    run.instances
        .iter()
        .map(|(t, count)| match prices.hourly(t) {
            Some(hourly) => format!("{count} × {t} at ${hourly:.3}/h"),
            None => format!("{count} × {t}"),
        })
        .collect::<Vec<_>>()
        .join(" + ")
}

fn without_spot(
    run: &TrainingRun,
    policy: &TrainingPolicy,
    prices: &PriceTable,
) -> (String, Option<f64>) {
    let on = if run.instances.is_empty() {
        "instances of unknown type".to_owned()
    } else {
        instances(run, prices)
    };
    let head = "ran on on-demand capacity (EnableManagedSpotTraining off)";
    let Some(billed) = billed(run) else {
        return (
            format!("{head} on {on}; saving not estimated: run time unknown"),
            None,
        );
    };
    let ran = format!("{} s billed ({}) on {on}", billed.seconds, billed.source);
    if run.instances.is_empty() {
        return (
            format!("{head}: {ran}; saving not estimated: instance type unknown"),
            None,
        );
    }
    match on_demand_usd(billed.seconds, &run.instances, prices) {
        Ok(cost) => {
            let saving = cost * policy.spot_discount;
            (
                format!(
                    "{head}: {ran} = ${cost:.2}; managed spot (with a checkpoint location and MaxWaitTimeInSeconds) would have saved ~${saving:.2} of it at SPOT_DISCOUNT {:.2}",
                    policy.spot_discount
                ),
                Some(saving),
            )
        }
        Err(unpriced) => (
            format!(
                "{head}: {ran}; saving not estimated: price unknown for {}",
                unpriced.join(", ")
            ),
            None,
        ),
    }
}

fn runtime(run: &TrainingRun, policy: &TrainingPolicy) -> Option<TrainingFinding> {
    match (run.max_runtime_seconds, policy.max_runtime_hours) {
        (None, cap) => Some(TrainingFinding {
            rule: RUNTIME_UNBOUNDED,
            severity: Severity::Low,
            message: format!(
                "no StoppingCondition.MaxRuntimeInSeconds: only SageMaker's default (1 day) stops it{}; set a limit that fits the job",
                cap.map_or(String::new(), |h| format!(
                    ", not TRAINING_MAX_RUNTIME_HOURS ({h} h)"
                ))
            ),
            saving_usd: None,
        }),
        (Some(limit), Some(cap)) if i64::from(limit) > i64::from(cap) * 3600 => {
            Some(TrainingFinding {
                rule: RUNTIME_UNBOUNDED,
                severity: Severity::Medium,
                message: format!(
                    "MaxRuntimeInSeconds {limit} s ({:.1} h) is above TRAINING_MAX_RUNTIME_HOURS ({cap} h)",
                    f64::from(limit) / 3600.0
                ),
                saving_usd: None,
            })
        }
        _ => None,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use std::collections::BTreeMap;

    fn policy() -> TrainingPolicy {
        TrainingPolicy {
            lookback_days: 7,
            spot_discount: 0.7,
            max_runtime_hours: None,
        }
    }

    pub(crate) fn run(name: &str) -> TrainingRun {
        TrainingRun {
            name: name.to_owned(),
            arn: format!("arn:aws:sagemaker:eu-west-3:123456789012:training-job/{name}"),
            status: "Completed".to_owned(),
            instances: vec![("ml.m5.xlarge".to_owned(), 2)],
            managed_spot: false,
            checkpoint_s3_uri: None,
            max_runtime_seconds: Some(86_400),
            max_wait_seconds: None,
            billable_seconds: Some(5400),
            training_seconds: Some(5400),
            started: None,
            ended: None,
        }
    }

    fn rules(findings: &[TrainingFinding]) -> Vec<&str> {
        findings.iter().map(|f| f.rule).collect()
    }

    #[test]
    fn an_on_demand_run_gets_its_saving_computed_by_hand() {
        // 5400 s = 1.5 h per instance; 2 instances: 3 instance-hours; ml.m5.xlarge costs
        // $0.23/h on demand: 3 × 0.23 = $0.69 for the run; spot saves 70% of it:
        // 0.69 × 0.7 = $0.483.
        let findings = judge(&run("churn"), &policy(), &PriceTable::default());
        assert_eq!(rules(&findings), [WITHOUT_SPOT]);
        let saving = findings[0].saving_usd.unwrap();
        assert!((saving - 0.483).abs() < 1e-9, "{saving}");
        assert_eq!(findings[0].severity, Severity::Low);
        assert_eq!(
            findings[0].message,
            "ran on on-demand capacity (EnableManagedSpotTraining off): 5400 s billed (BillableTimeInSeconds) on 2 × ml.m5.xlarge at $0.230/h = $0.69; managed spot (with a checkpoint location and MaxWaitTimeInSeconds) would have saved ~$0.48 of it at SPOT_DISCOUNT 0.70"
        );

        // The brief's example, 3600 s × 2 instances × $1.00/h × 0.7: 1 h × 2 = 2
        // instance-hours = $2.00 on demand, of which 70% is $1.40 (it is right).
        let prices = PriceTable::new(BTreeMap::from([("ml.x.large".to_owned(), 1.0)]));
        let mut one_hour = run("hour");
        one_hour.instances = vec![("ml.x.large".to_owned(), 2)];
        one_hour.billable_seconds = Some(3600);
        let saving = judge(&one_hour, &policy(), &prices)[0].saving_usd.unwrap();
        assert!((saving - 1.40).abs() < 1e-9, "{saving}");
    }

    #[test]
    fn billed_time_falls_back_to_training_time_then_start_to_end() {
        let mut r = run("fallback");
        r.billable_seconds = None;
        r.training_seconds = Some(1800);
        assert_eq!(
            billed(&r),
            Some(Billed {
                seconds: 1800,
                source: "TrainingTimeInSeconds"
            })
        );
        r.training_seconds = None;
        assert_eq!(billed(&r), None);
        r.started = Some(Utc.with_ymd_and_hms(2026, 11, 20, 10, 0, 0).unwrap());
        r.ended = Some(Utc.with_ymd_and_hms(2026, 11, 20, 10, 45, 0).unwrap());
        assert_eq!(
            billed(&r),
            Some(Billed {
                seconds: 2700,
                source: "TrainingEndTime - TrainingStartTime"
            })
        );
        // 2700 s = 0.75 h × 2 × $0.23 = $0.345; × 0.7 = $0.2415.
        let saving = judge(&r, &policy(), &PriceTable::default())[0]
            .saving_usd
            .unwrap();
        assert!((saving - 0.2415).abs() < 1e-9, "{saving}");
    }

    #[test]
    fn instance_groups_are_priced_each_and_an_unknown_type_gives_no_figure() {
        let mut r = run("hetero");
        // 1 h: 2 × $0.23 + 1 × $0.204 = $0.664; × 0.7 = $0.4648.
        r.billable_seconds = Some(3600);
        r.instances = vec![
            ("ml.m5.xlarge".to_owned(), 2),
            ("ml.c5.xlarge".to_owned(), 1),
        ];
        let saving = judge(&r, &policy(), &PriceTable::default())[0]
            .saving_usd
            .unwrap();
        assert!((saving - 0.4648).abs() < 1e-9, "{saving}");

        r.instances.push(("ml.trn9.huge".to_owned(), 1));
        let findings = judge(&r, &policy(), &PriceTable::default());
        assert_eq!(findings[0].saving_usd, None);
        assert!(
            findings[0]
                .message
                .ends_with("saving not estimated: price unknown for ml.trn9.huge"),
            "{}",
            findings[0].message
        );
    }

    #[test]
    fn a_safe_spot_job_has_no_finding_and_an_unsafe_one_says_why() {
        let mut safe = run("safe");
        safe.managed_spot = true;
        safe.checkpoint_s3_uri = Some("s3://ckpt/safe".to_owned());
        safe.max_wait_seconds = Some(172_800);
        assert!(judge(&safe, &policy(), &PriceTable::default()).is_empty());

        let mut bare = safe.clone();
        bare.checkpoint_s3_uri = None;
        bare.max_wait_seconds = None;
        let findings = judge(&bare, &policy(), &PriceTable::default());
        assert_eq!(
            rules(&findings),
            [SPOT_WITHOUT_CHECKPOINT, SPOT_WITHOUT_MAX_WAIT]
        );
        assert!(findings.iter().all(|f| f.saving_usd.is_none()));
        assert_eq!(findings[0].severity, Severity::Medium);
        assert!(
            findings[0]
                .message
                .contains("this one: 5400 s (BillableTimeInSeconds)")
        );
    }

    #[test]
    fn running_and_failed_jobs_are_not_judged_stopped_ones_are() {
        let mut r = run("r");
        r.max_runtime_seconds = None;
        for (status, judged) in [
            ("InProgress", false),
            ("Failed", false),
            ("Stopping", false),
            ("Stopped", true),
            ("Completed", true),
        ] {
            r.status = status.to_owned();
            let findings = judge(&r, &policy(), &PriceTable::default());
            assert_eq!(!findings.is_empty(), judged, "{status}");
        }
    }

    #[test]
    fn the_runtime_limit_must_exist_and_keep_under_the_cap() {
        let mut r = run("limits");
        r.managed_spot = true;
        r.checkpoint_s3_uri = Some("s3://c".to_owned());
        r.max_wait_seconds = Some(200_000);
        let capped = TrainingPolicy {
            max_runtime_hours: Some(24),
            ..policy()
        };
        // 86400 s is exactly 24 h: at the cap, no finding.
        assert!(judge(&r, &capped, &PriceTable::default()).is_empty());
        assert!(judge(&r, &policy(), &PriceTable::default()).is_empty());

        r.max_runtime_seconds = Some(86_401);
        assert!(judge(&r, &policy(), &PriceTable::default()).is_empty());
        let findings = judge(&r, &capped, &PriceTable::default());
        assert_eq!(rules(&findings), [RUNTIME_UNBOUNDED]);
        assert_eq!(findings[0].severity, Severity::Medium);
        assert_eq!(
            findings[0].message,
            "MaxRuntimeInSeconds 86401 s (24.0 h) is above TRAINING_MAX_RUNTIME_HOURS (24 h)"
        );

        r.max_runtime_seconds = None;
        let findings = judge(&r, &policy(), &PriceTable::default());
        assert_eq!(rules(&findings), [RUNTIME_UNBOUNDED]);
        assert_eq!(findings[0].severity, Severity::Low);
        assert!(findings[0].message.starts_with(
            "no StoppingCondition.MaxRuntimeInSeconds: only SageMaker's default (1 day) stops it;"
        ));
    }
}
