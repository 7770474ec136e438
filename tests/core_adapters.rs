//! The core crate's AWS adapters against the local emulator.

use sagekeeper_core::run::notify::{self, Notifier};
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

#[tokio::test]
async fn a_conditional_write_never_overwrites_what_another_run_wrote() {
    use sagekeeper_core::s3::state::{Expect, StateError, StateStore};
    let aws = aws().await;
    let store = StateStore::new(aws.s3(), support::new_bucket(&aws, "cond").await, None);

    let first = store
        .put_json_if("doc.json", &1, &Expect::Absent)
        .await
        .unwrap();
    // Creating again loses: the document exists.
    let again = store.put_json_if("doc.json", &2, &Expect::Absent).await;
    assert!(
        matches!(again, Err(StateError::Conflict { .. })),
        "{again:?}"
    );
    // Replacing the version that was read wins (control) ...
    let read = store
        .get_versioned::<i32>("doc.json")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((read.value, &read.etag), (1, &first));
    store
        .put_json_if("doc.json", &3, &Expect::Version(read.etag.clone()))
        .await
        .unwrap();
    // ... and a second replace of that same, now stale, version loses.
    let stale = store
        .put_json_if("doc.json", &4, &Expect::Version(read.etag))
        .await;
    assert!(
        matches!(stale, Err(StateError::Conflict { .. })),
        "{stale:?}"
    );
    assert_eq!(store.get_json::<i32>("doc.json").await.unwrap(), Some(3));
}

#[tokio::test]
async fn one_run_of_several_at_once_holds_a_lease_until_it_expires_or_is_released() {
    use chrono::{Duration, TimeZone, Utc};
    use sagekeeper_core::s3::lease::{self, Acquired};
    use sagekeeper_core::s3::state::StateStore;
    let aws = aws().await;
    let store = StateStore::new(aws.s3(), support::new_bucket(&aws, "lease").await, None);
    let now = Utc.with_ymd_and_hms(2026, 12, 1, 18, 0, 0).unwrap();
    let ttl = Duration::minutes(10);

    let mut runs = tokio::task::JoinSet::new();
    for i in 0..5 {
        let store = store.clone();
        runs.spawn(
            async move { lease::acquire(&store, "sweep", &format!("run-{i}"), now, ttl).await },
        );
    }
    let mut held = Vec::new();
    while let Some(tried) = runs.join_next().await {
        if let Acquired::Held(lease) = tried.unwrap().unwrap() {
            held.push(lease);
        }
    }
    assert_eq!(held.len(), 1, "exactly one of five runs holds the lease");

    let later = now + Duration::minutes(1);
    let busy = lease::acquire(&store, "sweep", "late", later, ttl)
        .await
        .unwrap();
    assert!(matches!(busy, Acquired::Busy { .. }), "{busy:?}");
    // Another name is independent (control).
    let other = lease::acquire(&store, "other", "late", later, ttl)
        .await
        .unwrap();
    assert!(matches!(other, Acquired::Held(_)), "{other:?}");

    let lease = held.into_iter().next().unwrap();
    lease::release(&store, lease, later).await.unwrap();
    let after_release = lease::acquire(&store, "sweep", "next", later, ttl)
        .await
        .unwrap();
    assert!(
        matches!(after_release, Acquired::Held(_)),
        "{after_release:?}"
    );

    // A holder that crashed never releases: the lease is free once it expires.
    let crashed = lease::acquire(&store, "sweep", "after-crash", later + ttl / 2, ttl)
        .await
        .unwrap();
    assert!(matches!(crashed, Acquired::Busy { .. }), "{crashed:?}");
    let expired = lease::acquire(&store, "sweep", "after-crash", later + ttl * 2, ttl)
        .await
        .unwrap();
    assert!(matches!(expired, Acquired::Held(_)), "{expired:?}");
}
