//! Carrying out a plan's writes a few resources at a time. One resource's writes stay in
//! order (a snapshot before its delete, encryption before the policy); different resources
//! are independent, and at AWS latency (~50 ms a call) writing them one after another leaves
//! a run waiting on the network. Each resource's outcomes go to a report fragment, merged in
//! the order the resources first appear in the plan, so the report reads exactly as a serial
//! run's would.

use std::collections::HashMap;
use std::future::Future;

use crate::aws::map_bounded;
use crate::run::report::Report;

/// Applies `writes` grouped by resource, at most `limit` resources at a time. `apply` gets a
/// resource, its writes in plan order and an empty report fragment to record into, and
/// returns the fragment with what it made of them; the fragments are merged into `report`.
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
    let blank = report.fragment();
    let done = map_bounded(groups, limit.max(1), |(resource, writes)| {
        apply(resource, writes, blank.clone())
    })
    .await;
    done.into_iter()
        .map(|(fragment, outcome)| {
            report.absorb(fragment);
            outcome
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use chrono::Utc;

    use super::*;
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
}
