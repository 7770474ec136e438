//! A sweep of a large account logs tens of thousands of findings as OCSF lines. They must be
//! built and written one at a time: all of them held at once took a 5,000-bucket sweep from
//! about 45 MB to over 200 MB. Its own test binary, so that the allocation counter below sees
//! only this test.

use chrono::Utc;
use peak_alloc::PeakAlloc;
use sagekeeper_core::run::ocsf;
use sagekeeper_core::{Report, Severity};

/// Counts the bytes live and their peak.
#[global_allocator]
static ALLOCATOR: PeakAlloc = PeakAlloc;

fn report_with_findings(count: usize) -> Report {
    let mut report = Report::new("encryption-enforcer", false, Utc::now());
    report.target = Some("123456789012/eu-west-1".into());
    for i in 0..count {
        report.finding(
            format!("arn:aws:s3:::ml-data-{i:06}"),
            "s3-encryption",
            Severity::High,
            "not encrypted with KMS",
        );
    }
    report
}

/// The most memory held beyond what was live before, while every finding of `report` is
/// turned into its log line as the reporter does; and the bytes of those lines.
fn peak_while_logging(report: &Report) -> (usize, usize) {
    let before = ALLOCATOR.current_usage();
    ALLOCATOR.reset_peak_usage();
    let mut written = 0;
    for event in ocsf::events(report) {
        written += event.to_string().len();
    }
    (ALLOCATOR.peak_usage() - before, written)
}

#[test]
fn findings_become_log_lines_one_at_a_time_whatever_their_number() {
    let few = report_with_findings(10);
    let many = report_with_findings(10_000);
    let (few_peak, few_written) = peak_while_logging(&few);
    let (many_peak, many_written) = peak_while_logging(&many);
    // Control: every finding became a line, and the counter sees an event's own memory.
    assert!(
        many_written > few_written * 900,
        "lines: {many_written} bytes"
    );
    assert!(
        few_peak > 1_000,
        "one event's memory was not seen: {few_peak} bytes"
    );
    assert!(
        many_peak < 4 * few_peak,
        "10,000 findings held {many_peak} bytes at once, 10 held {few_peak}"
    );
}
