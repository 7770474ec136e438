//! Every metric the functions emit (EMF, namespace `Sagekeeper`, dimension `Function`): the
//! one list the code, the template's dashboard (see [`crate::run::dashboard`]) and the tests
//! share. A metric added here and not to the dashboard, or emitted and not listed here, fails
//! a test.

/// The four functions, as the `Function` dimension names them.
pub const FUNCTIONS: [&str; 4] = [
    "endpoint-scheduler",
    "encryption-enforcer",
    "drift-retrainer",
    "lifecycle-tagger",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    /// US dollars: CloudWatch has no currency unit.
    Usd,
}

impl Unit {
    /// The EMF `Unit`.
    pub fn emf(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Usd => "None",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Metric {
    pub name: &'static str,
    pub unit: Unit,
    /// The functions that emit it (all four for the run's counts).
    pub emitted_by: &'static [&'static str],
}

const ALL_FUNCTIONS: &[&str] = &FUNCTIONS;
const SCHEDULER: &[&str] = &["endpoint-scheduler"];
const ENFORCER: &[&str] = &["encryption-enforcer"];
const RETRAINER: &[&str] = &["drift-retrainer"];
const TAGGER: &[&str] = &["lifecycle-tagger"];
const SWEEPERS: &[&str] = &[
    "endpoint-scheduler",
    "encryption-enforcer",
    "lifecycle-tagger",
];

macro_rules! metrics {
    ($($constant:ident = $name:literal, $unit:ident, $by:ident;)*) => {
        $(pub const $constant: &str = $name;)*
        /// Every metric, in the order the dashboard shows them.
        pub const ALL: &[Metric] = &[
            $(Metric { name: $name, unit: Unit::$unit, emitted_by: $by },)*
        ];
    };
}

metrics! {
    ACTIONS_PLANNED = "ActionsPlanned", Count, ALL_FUNCTIONS;
    ACTIONS_DONE = "ActionsDone", Count, ALL_FUNCTIONS;
    ACTIONS_SKIPPED = "ActionsSkipped", Count, ALL_FUNCTIONS;
    ACTIONS_FAILED = "ActionsFailed", Count, ALL_FUNCTIONS;
    FINDINGS = "Findings", Count, ALL_FUNCTIONS;
    ERRORS = "Errors", Count, ALL_FUNCTIONS;
    ENDPOINTS_PARKED = "EndpointsParked", Count, SCHEDULER;
    NOTEBOOKS_STOPPED = "NotebooksStopped", Count, SCHEDULER;
    STUDIO_APPS_PARKED = "StudioAppsParked", Count, SCHEDULER;
    CANVAS_SESSIONS_CLOSED = "CanvasSessionsClosed", Count, SCHEDULER;
    ESTIMATED_HOURLY_SAVINGS_USD = "EstimatedHourlySavingsUSD", Usd, SCHEDULER;
    BUCKETS_IN_SCOPE = "BucketsInScope", Count, ENFORCER;
    RESOURCES_EVALUATED = "ResourcesEvaluated", Count, ENFORCER;
    NON_COMPLIANT_RESOURCES = "NonCompliantResources", Count, ENFORCER;
    EXEMPT = "Exempt", Count, ENFORCER;
    RETRAINS_STARTED = "RetrainsStarted", Count, RETRAINER;
    RETRAINS_SUPPRESSED = "RetrainsSuppressed", Count, RETRAINER;
    RESOURCES_TAGGED = "ResourcesTagged", Count, TAGGER;
    RESOURCES_MISSING_TAGS = "ResourcesMissingTags", Count, TAGGER;
    LIFECYCLE_RULES_APPLIED = "LifecycleRulesApplied", Count, TAGGER;
    LOG_GROUPS_RETAINED = "LogGroupsRetained", Count, TAGGER;
    IDLE_ENDPOINTS = "IdleEndpoints", Count, TAGGER;
    IDLE_ENDPOINTS_DELETED = "IdleEndpointsDeleted", Count, TAGGER;
    IDLE_ENDPOINTS_MONTHLY_COST_USD = "IdleEndpointsMonthlyCostUSD", Usd, TAGGER;
    TRAINING_JOBS_WITHOUT_SPOT = "TrainingJobsWithoutSpot", Count, TAGGER;
    ESTIMATED_SPOT_SAVINGS_USD = "EstimatedSpotSavingsUSD", Usd, TAGGER;
    TARGETS_ENQUEUED = "TargetsEnqueued", Count, SWEEPERS;
    RUNS_CUT_SHORT = "RunsCutShort", Count, SWEEPERS;
}

/// One metric per enforcer rule: `NonCompliant.<rule id>`, 1 for each resource breaking it.
pub const NON_COMPLIANT_PREFIX: &str = "NonCompliant.";

/// The listed metric of this name (a `NonCompliant.<rule>` one counts as such).
pub fn find(name: &str) -> Option<Metric> {
    if let Some(rule) = name.strip_prefix(NON_COMPLIANT_PREFIX) {
        return (!rule.is_empty()).then_some(Metric {
            name: NON_COMPLIANT_PREFIX,
            unit: Unit::Count,
            emitted_by: ENFORCER,
        });
    }
    ALL.iter().find(|m| m.name == name).copied()
}

/// `NonCompliant.<rule id>`.
pub fn non_compliant(rule_id: &str) -> String {
    format!("{NON_COMPLIANT_PREFIX}{rule_id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_found() {
        let mut names: Vec<_> = ALL.iter().map(|m| m.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ALL.len());
        assert_eq!(find("EndpointsParked").map(|m| m.unit), Some(Unit::Count));
        assert_eq!(
            find("EstimatedHourlySavingsUSD").map(|m| m.unit),
            Some(Unit::Usd)
        );
        assert!(find("NonCompliant.s3-default-encryption-kms").is_some());
        assert!(find("NonCompliant.").is_none());
        assert!(find("Parked").is_none());
    }
}
