//! CloudWatch metric reads in bulk: one GetMetricData call answers up to 500 metrics, so a
//! sweep over every endpoint makes a handful of calls instead of one per endpoint.

use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat, StatusCode};
use aws_smithy_types::DateTime as SmithyDateTime;
use chrono::{DateTime, Utc};

use crate::aws::{AwsError, AwsResultExt};

/// GetMetricData accepts at most this many queries per call.
pub const MAX_QUERIES_PER_CALL: usize = 500;

/// The statistic read for each period, and how the periods are combined over the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stat {
    /// Counts (requests): the periods' sums are added up.
    Sum,
    /// Gauges (a queue's size): the largest of the periods' maxima.
    Maximum,
}

impl Stat {
    pub fn as_str(self) -> &'static str {
        match self {
            Stat::Sum => "Sum",
            Stat::Maximum => "Maximum",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricQuery {
    pub namespace: String,
    pub metric: String,
    pub dimensions: Vec<(String, String)>,
    pub stat: Stat,
}

/// What CloudWatch holds for one metric over the window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reading {
    /// How many periods have a datapoint. 0: the metric was not published in the window
    /// (CloudWatch stores nothing, not zeros, for a metric nobody published), which callers
    /// must read as "no traffic" or "unknown" depending on what publishes it.
    pub datapoints: usize,
    /// The periods' values combined by the query's [`Stat`]; 0 without datapoints.
    pub value: f64,
}

impl Reading {
    pub fn is_empty(&self) -> bool {
        self.datapoints == 0
    }
}

/// Each metric from `start` to `end`, in `queries` order, read `period_secs` at a time and
/// combined by its [`Stat`]. `None` where CloudWatch could not answer completely (an internal
/// error, no permission), so callers never mistake "unknown" for "zero".
pub async fn read(
    client: &Client,
    queries: &[MetricQuery],
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    period_secs: i32,
) -> Result<Vec<Option<Reading>>, AwsError> {
    let mut readings = Vec::with_capacity(queries.len());
    for chunk in queries.chunks(MAX_QUERIES_PER_CALL) {
        readings.extend(read_chunk(client, chunk, start, end, period_secs).await?);
    }
    Ok(readings)
}

async fn read_chunk(
    client: &Client,
    chunk: &[MetricQuery],
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    period_secs: i32,
) -> Result<Vec<Option<Reading>>, AwsError> {
    let data_queries: Vec<MetricDataQuery> = chunk
        .iter()
        .enumerate()
        .map(|(i, q)| {
            let metric = Metric::builder()
                .namespace(&q.namespace)
                .metric_name(&q.metric)
                .set_dimensions(Some(
                    q.dimensions
                        .iter()
                        .map(|(name, value)| Dimension::builder().name(name).value(value).build())
                        .collect(),
                ))
                .build();
            MetricDataQuery::builder()
                .id(query_id(i))
                .metric_stat(
                    MetricStat::builder()
                        .metric(metric)
                        .period(period_secs)
                        .stat(q.stat.as_str())
                        .build(),
                )
                .return_data(true)
                .build()
        })
        .collect();
    let mut pages = client
        .get_metric_data()
        .set_metric_data_queries(Some(data_queries))
        .start_time(SmithyDateTime::from_millis(start.timestamp_millis()))
        .end_time(SmithyDateTime::from_millis(end.timestamp_millis()))
        .into_paginator()
        .send();
    // Per query: what its pages said so far, and the status of its latest page (a result
    // split over pages says PartialData until its last one).
    let mut totals: Vec<(Reading, Option<StatusCode>)> = vec![
        (
            Reading {
                datapoints: 0,
                value: 0.0,
            },
            None
        );
        chunk.len()
    ];
    while let Some(page) = pages.next().await {
        let page = page.aws("GetMetricData")?;
        for result in page.metric_data_results.unwrap_or_default() {
            let Some(index) = result.id.as_deref().and_then(index_of) else {
                continue;
            };
            let (Some(total), Some(query)) = (totals.get_mut(index), chunk.get(index)) else {
                continue;
            };
            for value in result.values.unwrap_or_default() {
                total.0.value = match (query.stat, total.0.datapoints) {
                    (_, 0) => value,
                    (Stat::Sum, _) => total.0.value + value,
                    (Stat::Maximum, _) => total.0.value.max(value),
                };
                total.0.datapoints += 1;
            }
            total.1 = result.status_code;
        }
    }
    Ok(totals
        .into_iter()
        .map(|(reading, status)| (status == Some(StatusCode::Complete)).then_some(reading))
        .collect())
}

/// Query ids must start with a lower-case letter.
fn query_id(index: usize) -> String {
    format!("m{index}")
}

fn index_of(id: &str) -> Option<usize> {
    id.strip_prefix('m')?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_cloudwatch::operation::get_metric_data::GetMetricDataOutput;
    use aws_sdk_cloudwatch::types::MetricDataResult;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use chrono::TimeZone;

    fn invocations(endpoint: usize) -> MetricQuery {
        MetricQuery {
            namespace: "AWS/SageMaker".to_owned(),
            metric: "Invocations".to_owned(),
            dimensions: vec![
                ("EndpointName".to_owned(), format!("ep-{endpoint}")),
                ("VariantName".to_owned(), "AllTraffic".to_owned()),
            ],
            stat: Stat::Sum,
        }
    }

    fn reading(datapoints: usize, value: f64) -> Option<Reading> {
        Some(Reading { datapoints, value })
    }

    fn result(id: &str, values: &[f64], status: StatusCode) -> MetricDataResult {
        MetricDataResult::builder()
            .id(id)
            .set_values(Some(values.to_vec()))
            .status_code(status)
            .build()
    }

    // Batching and pagination are about call counts, which the emulator cannot show: 501
    // metrics must take two calls (500 + 1), and a result split over pages is summed.
    #[tokio::test]
    async fn reads_500_metrics_per_call_and_sums_across_pages() {
        let first_page = mock!(Client::get_metric_data)
            .match_requests(|r| r.metric_data_queries().len() == 500 && r.next_token().is_none())
            .then_output(|| {
                GetMetricDataOutput::builder()
                    .metric_data_results(result("m0", &[1.0, 2.0], StatusCode::PartialData))
                    .metric_data_results(result("m1", &[], StatusCode::Complete))
                    .metric_data_results(result("m2", &[], StatusCode::InternalError))
                    .next_token("page-2")
                    .build()
            });
        let second_page = mock!(Client::get_metric_data)
            .match_requests(|r| r.next_token() == Some("page-2"))
            .then_output(|| {
                GetMetricDataOutput::builder()
                    .metric_data_results(result("m0", &[4.0], StatusCode::Complete))
                    .build()
            });
        let second_call = mock!(Client::get_metric_data)
            .match_requests(|r| {
                r.metric_data_queries().len() == 1
                    && r.metric_data_queries()[0]
                        .metric_stat()
                        .and_then(|s| s.metric())
                        .map(|m| m.dimensions()[0].value() == Some("ep-500"))
                        .unwrap_or(false)
            })
            .then_output(|| {
                GetMetricDataOutput::builder()
                    .metric_data_results(result("m0", &[7.0], StatusCode::Complete))
                    .build()
            });
        let client = mock_client!(
            aws_sdk_cloudwatch,
            RuleMode::MatchAny,
            [&first_page, &second_page, &second_call]
        );
        let queries: Vec<MetricQuery> = (0..501).map(invocations).collect();
        let end = Utc.with_ymd_and_hms(2026, 11, 20, 4, 0, 0).unwrap();
        let sums = read(
            &client,
            &queries,
            end - chrono::Duration::days(7),
            end,
            86_400,
        )
        .await
        .unwrap();
        assert_eq!(sums.len(), 501);
        assert_eq!(sums[0], reading(3, 7.0));
        // Complete without a datapoint: published by nobody in the window, not unknown.
        assert_eq!(sums[1], reading(0, 0.0));
        assert!(sums[1].is_some_and(|r| r.is_empty()));
        // An internal error, and metrics CloudWatch said nothing about, are unknown.
        assert_eq!(sums[2], None);
        assert_eq!(sums[3], None);
        assert_eq!(sums[500], reading(1, 7.0));
        assert_eq!(
            first_page.num_calls() + second_page.num_calls() + second_call.num_calls(),
            3
        );
    }

    // A gauge is read with its own statistic and combined by maximum, not added up.
    #[tokio::test]
    async fn a_maximum_query_asks_for_maximum_and_keeps_the_largest_period() {
        let rule = mock!(Client::get_metric_data)
            .match_requests(|r| {
                let stats: Vec<Option<&str>> = r
                    .metric_data_queries()
                    .iter()
                    .map(|q| q.metric_stat().and_then(|s| s.stat()))
                    .collect();
                stats == [Some("Maximum"), Some("Sum")]
            })
            .then_output(|| {
                GetMetricDataOutput::builder()
                    .metric_data_results(
                        MetricDataResult::builder()
                            .id("m0")
                            .set_values(Some(vec![0.0, 4.0, 2.0]))
                            .status_code(StatusCode::Complete)
                            .build(),
                    )
                    .metric_data_results(
                        MetricDataResult::builder()
                            .id("m1")
                            .set_values(Some(vec![0.0, 4.0, 2.0]))
                            .status_code(StatusCode::Complete)
                            .build(),
                    )
                    .build()
            });
        let client = mock_client!(aws_sdk_cloudwatch, RuleMode::MatchAny, [&rule]);
        let query = |stat| MetricQuery {
            namespace: "AWS/SageMaker".to_owned(),
            metric: "ApproximateBacklogSize".to_owned(),
            dimensions: vec![("EndpointName".to_owned(), "ep".to_owned())],
            stat,
        };
        let end = Utc.with_ymd_and_hms(2026, 11, 20, 4, 0, 0).unwrap();
        let readings = read(
            &client,
            &[query(Stat::Maximum), query(Stat::Sum)],
            end - chrono::Duration::days(7),
            end,
            86_400,
        )
        .await
        .unwrap();
        assert_eq!(
            readings,
            [
                Some(Reading {
                    datapoints: 3,
                    value: 4.0
                }),
                Some(Reading {
                    datapoints: 3,
                    value: 6.0
                })
            ]
        );
        assert_eq!(rule.num_calls(), 1);
    }
}
