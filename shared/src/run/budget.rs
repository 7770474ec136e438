//! How long a run may keep starting work, and where a run cut short goes on.
//!
//! A sweep of a large account can need longer than one Lambda invocation. Its writes are made
//! resource by resource in a fixed order (see [`crate::run::apply::by_resource`]); once the
//! run is past its stop time it starts no further resource, lets the started ones finish and
//! records a [`Cursor`]: the pass (the function's n-th call of `by_resource`) and the last
//! resource started. A continuation re-gathers and re-plans, then skips what the cursor says
//! was started, so each resource is handled once across the parts of one sweep.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// Where the next part of a sweep starts: passes before `pass` are done, and in `pass` every
/// resource up to and including `after` (in the order `by_resource` uses) was started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    pub pass: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
}

/// Time kept back from a Lambda deadline for the started resources to finish and the report
/// to be logged, notified and the continuation sent: a quarter of the time the invocation had,
/// at least 2 s and at most 60 s.
fn reserve(remaining: Duration) -> Duration {
    (remaining / 4).clamp(Duration::from_secs(2), Duration::from_secs(60))
}

/// One run's time and resume point.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Budget {
    /// No resource is started after this (but always at least one per run, so every part of
    /// a sweep makes progress).
    stop_at: Option<Instant>,
    /// Where this run picks up a sweep an earlier run left.
    resume: Option<Cursor>,
    /// Whether a run cut short is continued by a new message (fan-out queue); if not, the
    /// rest waits for the next scheduled run and the report says so.
    pub continuable: bool,
    passes_begun: usize,
    started_any: bool,
}

/// What one `by_resource` call may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PassPlan {
    /// Nothing: an earlier part of the sweep did this pass, or this run already stopped.
    Skip,
    /// Start resources after `after` (all, when `None`) while `stop_at` allows.
    Run {
        pass: usize,
        after: Option<String>,
        stop_at: Option<Instant>,
        must_start_one: bool,
    },
}

impl Budget {
    /// No limit: every resource is started.
    pub fn unlimited() -> Budget {
        Budget::default()
    }

    /// The stop time from the Lambda invocation's deadline (milliseconds since the epoch, as
    /// the runtime API gives it) and `limit` (`RUN_TIME_LIMIT_MS`), whichever comes first.
    pub fn new(deadline_epoch_ms: Option<u64>, limit: Option<Duration>) -> Budget {
        let now = Instant::now();
        let from_deadline = deadline_epoch_ms.map(|deadline| {
            let since_epoch = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default();
            let remaining = Duration::from_millis(deadline).saturating_sub(since_epoch);
            now.checked_add(remaining.saturating_sub(reserve(remaining)))
        });
        let from_limit = limit.map(|limit| now.checked_add(limit));
        Budget {
            // A stop time too far to represent is no stop time.
            stop_at: [from_deadline, from_limit]
                .into_iter()
                .flatten()
                .flatten()
                .min(),
            ..Budget::default()
        }
    }

    /// This budget, picking up where `cursor` says an earlier part stopped.
    pub fn resuming(mut self, cursor: Option<Cursor>) -> Budget {
        self.resume = cursor;
        self
    }

    pub fn continuable(mut self, continuable: bool) -> Budget {
        self.continuable = continuable;
        self
    }

    /// Called once per `by_resource` call, in order. `stopped` is whether this run already
    /// stopped in an earlier pass.
    pub fn begin_pass(&mut self, stopped: bool) -> PassPlan {
        let pass = self.passes_begun;
        self.passes_begun += 1;
        let after = match &self.resume {
            Some(cursor) if pass < cursor.pass => return PassPlan::Skip,
            Some(cursor) if pass == cursor.pass => cursor.after.clone(),
            _ => None,
        };
        if stopped {
            return PassPlan::Skip;
        }
        PassPlan::Run {
            pass,
            after,
            stop_at: self.stop_at,
            must_start_one: !self.started_any,
        }
    }

    /// Whether the stop time has passed.
    pub fn expired(&self) -> bool {
        self.stop_at.is_some_and(|stop| Instant::now() >= stop)
    }

    /// Records that the run started a resource, so later passes need not force progress.
    pub fn started(&mut self) {
        self.started_any = true;
    }
}

/// The key resources are ordered by: a write for several resources (named by them joined
/// with ", ", e.g. a tag call for up to 20 ARNs) is ordered by the greatest of them, so a
/// cursor skips only writes whose every resource sorts before it. (Names of buckets, log
/// groups and ARNs hold no ", ".)
pub fn order_key(resource: &str) -> (&str, &str) {
    let last = resource.split(", ").max().unwrap_or(resource);
    (last, resource)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deadline_keeps_a_reserve_and_a_limit_can_come_first() {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        let budget = Budget::new(Some(now_ms + 900_000), None);
        let left = budget.stop_at.unwrap() - Instant::now();
        assert!(
            left > Duration::from_secs(835) && left <= Duration::from_secs(840),
            "{left:?}"
        );
        let short = Budget::new(Some(now_ms + 8_000), None);
        let left = short.stop_at.unwrap() - Instant::now();
        assert!(left <= Duration::from_secs(6), "a 2 s reserve: {left:?}");
        let limited = Budget::new(Some(now_ms + 900_000), Some(Duration::from_millis(300)));
        assert!(limited.stop_at.unwrap() - Instant::now() <= Duration::from_millis(300));
        assert_eq!(Budget::new(None, None).stop_at, None);
    }

    #[test]
    fn a_continuation_skips_the_passes_done_and_resumes_its_own() {
        let mut budget = Budget::unlimited().resuming(Some(Cursor {
            pass: 1,
            after: Some("b".into()),
        }));
        assert_eq!(budget.begin_pass(false), PassPlan::Skip);
        assert_eq!(
            budget.begin_pass(false),
            PassPlan::Run {
                pass: 1,
                after: Some("b".into()),
                stop_at: None,
                must_start_one: true
            }
        );
        budget.started();
        assert_eq!(
            budget.begin_pass(false),
            PassPlan::Run {
                pass: 2,
                after: None,
                stop_at: None,
                must_start_one: false
            }
        );
        assert_eq!(budget.begin_pass(true), PassPlan::Skip, "already stopped");
    }

    #[test]
    fn a_write_for_several_resources_is_ordered_by_its_last() {
        let mut keys = vec!["arn:c", "arn:a, arn:d", "arn:b"];
        keys.sort_by_key(|k| order_key(k));
        assert_eq!(keys, ["arn:b", "arn:c", "arn:a, arn:d"]);
    }

    #[test]
    fn a_cursor_round_trips_and_reads_without_after() {
        let cursor = Cursor {
            pass: 0,
            after: Some("arn:aws:logs:us-east-1:1:log-group:/a".into()),
        };
        let json = serde_json::to_value(&cursor).unwrap();
        assert_eq!(serde_json::from_value::<Cursor>(json).unwrap(), cursor);
        let bare: Cursor = serde_json::from_str(r#"{"pass": 2}"#).unwrap();
        assert_eq!(bare.after, None);
    }
}
