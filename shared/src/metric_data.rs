//! CloudWatch metric reads in bulk: one GetMetricData call answers up to 500 metrics, so a
//! sweep over every endpoint makes a handful of calls instead of one per endpoint.

use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat, StatusCode};
use aws_smithy_types::DateTime as SmithyDateTime;
use chrono::{DateTime, Utc};

use crate::aws::{AwsError, AwsResultExt};

/// GetMetricData accepts at most this many queries per call.
pub const MAX_QUERIES_PER_CALL: usize = 500;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricQuery {
    pub namespace: String,
    pub metric: String,
    pub dimensions: Vec<(String, String)>,
}

/// The `Sum` of each metric from `start` to `end`, in `queries` order, read `period_secs` at a
/// time and added up. A metric without datapoints sums to 0 (CloudWatch stores no zeros for
/// missing traffic); `None` where CloudWatch could not answer completely (an internal error,
/// no permission), so callers never mistake "unknown" for "zero".
pub async fn sums(
    client: &Client,
    queries: &[MetricQuery],
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    period_secs: i32,
) -> Result<Vec<Option<f64>>, AwsError> {
    let mut sums = Vec::with_capacity(queries.len());
    for chunk in queries.chunks(MAX_QUERIES_PER_CALL) {
        sums.extend(sums_of_chunk(client, chunk, start, end, period_secs).await?);
    }
    Ok(sums)
}

async fn sums_of_chunk(
    client: &Client,
    chunk: &[MetricQuery],
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    period_secs: i32,
) -> Result<Vec<Option<f64>>, AwsError> {
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
                        .stat("Sum")
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
    // Per query: the running sum, and the status of its latest page (a result split over
    // pages says PartialData until its last one).
    let mut totals: Vec<(f64, Option<StatusCode>)> = vec![(0.0, None); chunk.len()];
    while let Some(page) = pages.next().await {
        let page = page.aws("GetMetricData")?;
        for result in page.metric_data_results.unwrap_or_default() {
            let Some(index) = result.id.as_deref().and_then(index_of) else {
                continue;
            };
            let Some(total) = totals.get_mut(index) else {
                continue;
            };
            total.0 += result.values.unwrap_or_default().iter().sum::<f64>();
            total.1 = result.status_code;
        }
    }
    Ok(totals
        .into_iter()
        .map(|(sum, status)| (status == Some(StatusCode::Complete)).then_some(sum))
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
        }
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
        let sums = sums(
            &client,
            &queries,
            end - chrono::Duration::days(7),
            end,
            86_400,
        )
        .await
        .unwrap();
        assert_eq!(sums.len(), 501);
        assert_eq!(sums[0], Some(7.0));
        assert_eq!(sums[1], Some(0.0));
        // An internal error, and metrics CloudWatch said nothing about, are unknown.
        assert_eq!(sums[2], None);
        assert_eq!(sums[3], None);
        assert_eq!(sums[500], Some(7.0));
        assert_eq!(
            first_page.num_calls() + second_page.num_calls() + second_call.num_calls(),
            3
        );
    }
}
