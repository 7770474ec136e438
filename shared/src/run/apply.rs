//! Carrying out a plan's writes a few resources at a time. One resource's writes stay in
//! order (a snapshot before its delete, encryption before the policy); different resources
//! are independent, and at AWS latency (~50 ms a call) writing them one after another leaves
//! a run waiting on the network. Resources are taken in a fixed order (by name, see
//! [`order_key`]), so a run cut short by its [`Budget`](crate::run::budget::Budget) has
//! started exactly a prefix of them, which its cursor names. Each resource's outcomes go to a
//! report fragment, merged in that order, so the report reads exactly as a serial run's would.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::Future;
use std::time::Instant;

use crate::aws::map_bounded;
use crate::run::budget::{Cursor, PassPlan, order_key};
use crate::run::report::Report;

/// Applies `writes` grouped by resource, at most `limit` resources at a time. `apply` gets a
/// resource, its writes in plan order and an empty report fragment to record into, and
/// returns the fragment with what it made of them; the fragments are merged into `report`.
///
/// Past the run's stop time no further resource is started (the started ones finish) and
/// `report.continuation` says where the next part resumes; a continuation skips the
/// resources an earlier part started. The result holds the started resources' outcomes.
pub async fn by_resource<W, S, F, Fut>(
    report: &mut Report,
    writes: Vec<(String, W)>,
    limit: usize,
    apply: F,
) -> Vec<S>
where
    F: Fn(String, Vec<W>, Report) -> Fut,
    Fut: Future<Output = (Report, S)>,
{
    let stopped = report.continuation.is_some();
    let PassPlan::Run {
        pass,
        after,
        stop_at,
        must_start_one,
    } = report.budget.begin_pass(stopped)
    else {
        return Vec::new();
    };
    let mut groups = group(writes);
    if let Some(after) = &after {
        groups.retain(|(resource, _)| order_key(resource) > order_key(after));
    }
    let total = groups.len();
    let started = Cell::new(0usize);
    let last_started = RefCell::new(None::<String>);
    // Pulled lazily: a resource counts as started when the bounded map takes it up.
    let due = groups.into_iter().take_while(|(resource, _)| {
        let forced = must_start_one && started.get() == 0;
        let in_time = stop_at.is_none_or(|stop| Instant::now() < stop);
        if forced || in_time {
            started.set(started.get() + 1);
            *last_started.borrow_mut() = Some(resource.clone());
        }
        forced || in_time
    });
    let blank = report.fragment();
    let done = map_bounded(due, limit.max(1), |(resource, writes)| {
        apply(resource, writes, blank.clone())
    })
    .await;
    if started.get() > 0 {
        report.budget.started();
    }
    if started.get() < total {
        report.continuation = Some(Cursor {
            pass,
            after: last_started.into_inner().or(after),
        });
    }
    done.into_iter()
        .map(|(fragment, outcome)| {
            report.absorb(fragment);
            outcome
        })
        .collect()
}

/// One resource's writes together, in plan order; resources in [`order_key`] order.
fn group<W>(writes: Vec<(String, W)>) -> Vec<(String, Vec<W>)> {
    let mut groups: Vec<(String, Vec<W>)> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for (resource, write) in writes {
        match index.get(&resource) {
            Some(&at) => groups[at].1.push(write),
            None => {
                index.insert(resource.clone(), groups.len());
                groups.push((resource, vec![write]));
            }
        }
    }
    groups.sort_by(|(a, _), (b, _)| order_key(a).cmp(&order_key(b)));
    groups
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use chrono::Utc;

    use super::*;
    use crate::run::budget::Budget;
    use crate::run::report::Outcome;

    #[tokio::test]
    async fn resources_overlap_but_each_ones_writes_stay_in_order_and_the_report_reads_serially() {
        let mut report = Report::new("test", false, Utc::now());
        report.add_metric("Before", 1.0);
        // Resource r0 first and last: its writes must run 0 then 1 then 2, never overlapping.
        let writes: Vec<(String, u64)> = [(0, 0), (1, 0), (2, 0), (0, 1), (3, 0), (0, 2)]
            .into_iter()
            .map(|(r, step)| (format!("r{r}"), step))
            .collect();
        let (in_flight, peak) = (AtomicUsize::new(0), AtomicUsize::new(0));
        let order = Mutex::new(Vec::new());
        let counts = by_resource(&mut report, writes, 3, |resource, steps, mut fragment| {
            let (in_flight, peak, order) = (&in_flight, &peak, &order);
            async move {
                let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                for step in &steps {
                    // The later resources finish first: the merge must still follow the plan.
                    let wait = 40 - 10 * resource[1..].parse::<u64>().unwrap();
                    tokio::time::sleep(Duration::from_millis(wait)).await;
                    order.lock().unwrap().push(format!("{resource}/{step}"));
                    fragment.action(&resource, format!("step-{step}"), Outcome::Done, None);
                    fragment.add_metric("Writes", 1.0);
                }
                in_flight.fetch_sub(1, Ordering::SeqCst);
                (fragment, steps.len())
            }
        })
        .await;
        assert_eq!(counts, [3, 1, 1, 1]);
        assert!(
            peak.load(Ordering::SeqCst) > 1,
            "resources ran one at a time"
        );
        assert!(
            peak.load(Ordering::SeqCst) <= 3,
            "more than the limit at once"
        );
        let order = order.into_inner().unwrap();
        let r0: Vec<_> = order.iter().filter(|s| s.starts_with("r0/")).collect();
        assert_eq!(r0, ["r0/0", "r0/1", "r0/2"]);
        assert_ne!(
            order[0], "r0/0",
            "r0 is the slowest: something else finished first"
        );
        let reported: Vec<_> = report
            .actions
            .iter()
            .map(|a| format!("{}/{}", a.resource, a.action))
            .collect();
        assert_eq!(
            reported,
            [
                "r0/step-0",
                "r0/step-1",
                "r0/step-2",
                "r1/step-0",
                "r2/step-0",
                "r3/step-0"
            ]
        );
        assert_eq!(report.metrics["Writes"], 6.0);
        assert_eq!(report.metrics["Before"], 1.0);
    }

    /// One part of a sweep with no time left: (what it applied, where it stopped).
    async fn part(resume: Option<Cursor>) -> (Vec<String>, Option<Cursor>) {
        let mut report = Report::new("test", false, Utc::now());
        report.budget = Budget::new(None, Some(Duration::ZERO)).resuming(resume);
        let applied = Mutex::new(Vec::new());
        let first: Vec<(String, u8)> = ["r3", "r1", "r2, r0", "r4"]
            .into_iter()
            .map(|r| (r.to_owned(), 0))
            .collect();
        let second: Vec<(String, u8)> = vec![("d1".to_owned(), 1), ("d0".to_owned(), 1)];
        for writes in [first, second] {
            by_resource(&mut report, writes, 4, |resource, _, fragment| {
                applied.lock().unwrap().push(resource);
                async move { (fragment, ()) }
            })
            .await;
        }
        (applied.into_inner().unwrap(), report.continuation)
    }

    #[tokio::test]
    async fn a_run_out_of_time_starts_one_resource_and_its_continuations_each_of_the_rest_once() {
        let mut applied = Vec::new();
        let (mut resume, mut parts) = (None, 0);
        loop {
            let (done, next) = part(resume).await;
            assert_eq!(done.len(), 1, "one resource a part: {done:?}");
            applied.extend(done);
            parts += 1;
            assert!(parts <= 6, "no end: {applied:?}");
            match next {
                Some(cursor) => resume = Some(cursor),
                None => break,
            }
        }
        // In order (a write for several resources by the greatest), each pass after the one before.
        assert_eq!(applied, ["r1", "r2, r0", "r3", "r4", "d0", "d1"]);
    }

    #[tokio::test]
    async fn without_a_limit_everything_runs_and_nothing_is_continued() {
        let mut report = Report::new("test", false, Utc::now());
        let writes: Vec<(String, u8)> = (0..30).map(|i| (format!("r{i:02}"), 0)).collect();
        let done = by_resource(&mut report, writes, 4, |_, _, fragment| async move {
            tokio::time::sleep(Duration::from_millis(1)).await;
            (fragment, ())
        })
        .await;
        assert_eq!(done.len(), 30);
        assert_eq!(report.continuation, None);
    }

    #[tokio::test]
    async fn a_run_stopped_midway_has_started_a_prefix_and_names_its_last() {
        let mut report = Report::new("test", false, Utc::now());
        report.budget = Budget::new(None, Some(Duration::from_millis(60)));
        let writes: Vec<(String, u8)> = (0..40).map(|i| (format!("r{i:02}"), 0)).collect();
        let applied = Mutex::new(Vec::new());
        by_resource(&mut report, writes, 2, |resource, _, fragment| {
            let applied = &applied;
            async move {
                tokio::time::sleep(Duration::from_millis(10)).await;
                applied.lock().unwrap().push(resource);
                (fragment, ())
            }
        })
        .await;
        let mut applied = applied.into_inner().unwrap();
        applied.sort();
        let count = applied.len();
        assert!((1..40).contains(&count), "{count} started");
        let prefix: Vec<String> = (0..count).map(|i| format!("r{i:02}")).collect();
        assert_eq!(applied, prefix);
        assert_eq!(
            report.continuation,
            Some(Cursor {
                pass: 0,
                after: Some(prefix[count - 1].clone())
            })
        );
    }
}
