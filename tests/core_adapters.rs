//! The core crate's AWS adapters against the local emulator.

use sagekeeper_core::notify::{self, Notifier};
use sagekeeper_core::tagging;
use sagekeeper_core::{Outcome, Report, Severity};

mod support;
use support::{aws, seed_endpoint, unique};

#[tokio::test]
async fn bulk_tag_lookup_finds_only_resources_with_the_tag_value() {
    let aws = aws().await;
    let opted_in = seed_endpoint(&aws, &unique("tag-on"), &[("AutoShutdown", "true")]).await;
    let opted_out = seed_endpoint(&aws, &unique("tag-off"), &[("AutoShutdown", "false")]).await;
    let untagged = seed_endpoint(&aws, &unique("tag-none"), &[("Team", "fraud")]).await;

    let found = tagging::resources_with_tag(
        &aws.tagging(),
        &["sagemaker:endpoint"],
        "AutoShutdown",
        &["true"],
    )
    .await
    .unwrap();
    let arns: Vec<&str> = found.iter().map(|r| r.arn.as_str()).collect();
    assert!(arns.contains(&opted_in.as_str()), "{arns:?}");
    assert!(!arns.contains(&opted_out.as_str()));
    assert!(!arns.contains(&untagged.as_str()));
    let mine = found.iter().find(|r| r.arn == opted_in).unwrap();
    assert_eq!(mine.tags["AutoShutdown"], "true");
}

#[tokio::test]
async fn s3_client_uses_path_style_against_the_emulator() {
    let aws = aws().await;
    let bucket = unique("path-style");
    let s3 = aws.s3();
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let listed = s3.list_buckets().send().await.unwrap();
    assert!(
        listed
            .buckets()
            .iter()
            .any(|b| b.name() == Some(bucket.as_str()))
    );
}

#[tokio::test]
async fn one_notification_with_subject_body_and_attributes_reaches_subscribers() {
    let aws = aws().await;
    let inbox = support::Inbox::new(&aws).await;

    let mut report = Report::new("encryption-enforcer", false, chrono::Utc::now());
    report.trigger = "schedule".into();
    report.finding(
        "arn:aws:s3:::acme-ml-training-data",
        "s3-default-encryption-kms",
        Severity::High,
        "not SSE-KMS",
    );
    report.action(
        "arn:aws:s3:::acme-ml-training-data",
        "put-bucket-encryption",
        Outcome::Done,
        None,
    );
    let message = notify::compose(&report, notify::MAX_MESSAGE_BYTES).unwrap();
    Notifier::new(aws.sns(), inbox.topic_arn.clone())
        .publish(&message)
        .await
        .unwrap();

    let received = inbox.envelopes().await;
    assert_eq!(received.len(), 1);
    let envelope = &received[0];
    assert_eq!(
        envelope["Subject"],
        "sagekeeper encryption-enforcer: 1 findings, 1 actions done"
    );
    assert!(
        envelope["Message"]
            .as_str()
            .unwrap()
            .contains("s3-default-encryption-kms")
    );
    assert_eq!(envelope["MessageAttributes"]["severity"]["Value"], "high");
    assert_eq!(
        envelope["MessageAttributes"]["function"]["Value"],
        "encryption-enforcer"
    );
}
