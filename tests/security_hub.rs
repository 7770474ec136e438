//! Findings exported to AWS Security Hub (`SECURITY_HUB_EXPORT=true`), against the emulator's
//! Security Hub (moto's, made to validate and filter as AWS does by
//! scripts/emulator/securityhub.py): imported in ASFF, updated in place by later runs,
//! resolved when the resource is exempted or fixed, and nothing at all without the setting.

use std::collections::BTreeMap;

use aws_sdk_securityhub::types::{AwsSecurityFinding, ComplianceStatus};

mod support;
use support::{Sandbox, buckets, sandbox, unique};

const ENFORCER: &str = "encryption-enforcer";
const RULE: &str = "s3-default-encryption-kms";

fn securityhub(account: &Sandbox) -> aws_sdk_securityhub::Client {
    account.aws.securityhub()
}

/// Every finding in the account's Security Hub, by id.
async fn findings(account: &Sandbox) -> BTreeMap<String, AwsSecurityFinding> {
    let mut pages = securityhub(account)
        .get_findings()
        .max_results(100)
        .into_paginator()
        .send();
    let mut all = BTreeMap::new();
    while let Some(page) = pages.next().await {
        for finding in page.unwrap().findings.unwrap_or_default() {
            all.insert(finding.id().unwrap_or_default().to_owned(), finding);
        }
    }
    all
}

fn about<'a>(
    all: &'a BTreeMap<String, AwsSecurityFinding>,
    bucket: &str,
    rule: &str,
) -> &'a AwsSecurityFinding {
    all.values()
        .find(|f| {
            f.generator_id() == Some(rule) && resource_of(f) == format!("arn:aws:s3:::{bucket}")
        })
        .unwrap_or_else(|| panic!("no {rule} finding for {bucket}: {:#?}", all.keys()))
}

fn resource_of(finding: &AwsSecurityFinding) -> &str {
    finding
        .resources()
        .first()
        .and_then(|r| r.id())
        .unwrap_or_default()
}

fn status(finding: &AwsSecurityFinding) -> Option<&ComplianceStatus> {
    finding.compliance().and_then(|c| c.status())
}

/// A sweep of `function` that exports to Security Hub.
fn exporting_sweep(
    account: &Sandbox,
    function: &str,
    env: &[(&str, &str)],
    dry_run: bool,
) -> support::Run {
    let mut all = vec![("SECURITY_HUB_EXPORT", "true")];
    all.extend_from_slice(env);
    let args: &[&str] = if dry_run { &["--dry-run"] } else { &[] };
    let run = account.run(function, "scheduled.json", args, &all);
    assert_eq!(run.code(), 0, "{:#}\n{}", run.json, run.stderr());
    run
}

fn sweep(account: &Sandbox, env: &[(&str, &str)], dry_run: bool) -> support::Run {
    exporting_sweep(account, ENFORCER, env, dry_run)
}

/// A fresh account with Security Hub enabled in us-east-1.
async fn with_security_hub() -> Sandbox {
    let account = sandbox("us-east-1").await;
    securityhub(&account)
        .enable_security_hub()
        .send()
        .await
        .unwrap();
    account
}

#[tokio::test]
async fn findings_are_imported_updated_in_place_and_resolved_when_exempt_or_fixed() {
    let account = with_security_hub().await;
    let key = account.aws.kms().create_key().send().await.unwrap();
    let key = key.key_metadata.unwrap().arn.unwrap();
    let (exempted, fixed) = (unique("sh-exempt"), unique("sh-fixed"));
    for bucket in [&exempted, &fixed] {
        buckets::create(&account.aws, bucket, None).await;
    }
    // Enough other buckets that the run has more than 20 finding ids: the export then reads
    // every finding of the function (tests below with fewer ids read them by id).
    for n in 0..6 {
        buckets::create(&account.aws, &unique(&format!("sh-bystander-{n}")), None).await;
    }
    let key_env = ("KMS_KEY_ARN", key.as_str());

    // A dry run reports, and its findings are facts: both buckets fail the KMS rule.
    sweep(&account, &[key_env], true);
    let first = findings(&account).await;
    let finding = about(&first, &fixed, RULE);
    assert_eq!(status(finding), Some(&ComplianceStatus::Failed));
    assert_eq!(
        finding.product_arn(),
        Some(
            format!(
                "arn:aws:securityhub:us-east-1:{0}:product/{0}/default",
                account.account_id
            )
            .as_str()
        )
    );
    assert_eq!(finding.aws_account_id(), Some(account.account_id.as_str()));
    assert_eq!(finding.resources()[0].r#type(), Some("AwsS3Bucket"));
    assert!(!finding.types().is_empty());
    assert!(finding.severity().and_then(|s| s.label()).is_some());
    assert_eq!(
        status(about(&first, &exempted, RULE)),
        Some(&ComplianceStatus::Failed)
    );

    // Again: the same findings, updated in place (same ids, first creation time kept).
    sweep(&account, &[key_env], true);
    let second = findings(&account).await;
    assert_eq!(
        second.keys().collect::<Vec<_>>(),
        first.keys().collect::<Vec<_>>()
    );
    let again = about(&second, &fixed, RULE);
    assert_eq!(again.created_at(), finding.created_at());

    // Exempting one bucket resolves its findings; the other (the control) still fails.
    let exempt_arn = format!("arn:aws:s3:::{exempted}");
    let exempt_env = ("EXEMPT_RESOURCES", exempt_arn.as_str());
    sweep(&account, &[key_env, exempt_env], true);
    let third = findings(&account).await;
    let resolved = about(&third, &exempted, RULE);
    assert_eq!(status(resolved), Some(&ComplianceStatus::Passed));
    assert_eq!(
        resolved
            .workflow()
            .and_then(|w| w.status())
            .map(|s| s.as_str()),
        Some("RESOLVED")
    );
    assert_eq!(
        status(about(&third, &fixed, RULE)),
        Some(&ComplianceStatus::Failed)
    );

    // A real run fixes the other bucket; the next sweep resolves its findings too.
    sweep(&account, &[key_env, exempt_env], false);
    sweep(&account, &[key_env, exempt_env], true);
    let fourth = findings(&account).await;
    assert_eq!(
        status(about(&fourth, &fixed, RULE)),
        Some(&ComplianceStatus::Passed)
    );
    let of_buckets = |f: &&AwsSecurityFinding| {
        let resource = resource_of(f);
        resource.ends_with(exempted.as_str()) || resource.ends_with(fixed.as_str())
    };
    assert!(
        fourth
            .values()
            .filter(of_buckets)
            .all(|f| status(f) == Some(&ComplianceStatus::Passed)),
        "{fourth:#?}"
    );
}

#[tokio::test]
async fn without_the_setting_nothing_is_exported_and_a_disabled_hub_is_an_error() {
    let account = sandbox("us-east-1").await;
    let bucket = unique("sh-off");
    buckets::create(&account.aws, &bucket, None).await;

    // Security Hub is not enabled here: the run says so in a finding, and neither fails nor
    // asks to be retried (its own work stands).
    let run = account.run(
        ENFORCER,
        "scheduled.json",
        &["--dry-run"],
        &[("SECURITY_HUB_EXPORT", "true")],
    );
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let report = run.report();
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.rule == "security-hub-export-failed"
                && f.message.contains("InvalidAccessException")),
        "{:#?}",
        report.findings
    );

    // Enabled, but the setting is off: nothing is imported.
    securityhub(&account)
        .enable_security_hub()
        .send()
        .await
        .unwrap();
    let run = account.run(ENFORCER, "scheduled.json", &["--dry-run"], &[]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert!(findings(&account).await.is_empty());
    // Control: the same run with the setting imports this bucket's findings.
    sweep(&account, &[], true);
    let exported = findings(&account).await;
    assert_eq!(
        status(about(&exported, &bucket, RULE)),
        Some(&ComplianceStatus::Failed)
    );
}

const TAGGER: &str = "lifecycle-tagger";
const CLASS: &str = "unknown-data-class";
const TAGS: &str = "required-tags-missing";

/// A tagger sweep that exports, with `DEFAULT_TAGS` when given.
fn tagger_sweep(account: &Sandbox, dry_run: bool, defaults: Option<&str>) {
    let mut env = vec![("REQUIRED_TAGS", "CostCenter")];
    env.extend(defaults.map(|d| ("DEFAULT_TAGS", d)));
    exporting_sweep(account, TAGGER, &env, dry_run);
}

#[tokio::test]
async fn the_taggers_findings_are_resolved_when_the_owner_fixes_the_bucket() {
    let account = with_security_hub().await;
    // Per rule, a bucket the owner fixes and a control left as it is.
    let cases = [
        (
            CLASS,
            "cold-storage",
            unique("sh-class-fixed"),
            unique("sh-class-left"),
        ),
        (
            TAGS,
            "temp",
            unique("sh-tags-fixed"),
            unique("sh-tags-left"),
        ),
    ];
    for (_, class, fixed, left) in &cases {
        for bucket in [fixed, left] {
            buckets::create(&account.aws, bucket, None).await;
            let tags = [("sagekeeper:data-class", *class)];
            buckets::put_tags(&account.aws, bucket, &tags).await;
        }
    }

    tagger_sweep(&account, true, None);
    let before = findings(&account).await;
    for (rule, _, fixed, left) in &cases {
        for bucket in [fixed, left] {
            let finding = about(&before, bucket, rule);
            assert_eq!(status(finding), Some(&ComplianceStatus::Failed), "{rule}");
            assert_eq!(finding.resources()[0].r#type(), Some("AwsS3Bucket"));
        }
    }

    // The owners name a known class and the cost center.
    let good = [("sagekeeper:data-class", "temp"), ("CostCenter", "ml-42")];
    for (_, _, fixed, _) in &cases {
        buckets::put_tags(&account.aws, fixed, &good).await;
    }
    tagger_sweep(&account, true, None);
    let after = findings(&account).await;
    for (rule, _, fixed, left) in &cases {
        let resolved = about(&after, fixed, rule);
        assert_eq!(status(resolved), Some(&ComplianceStatus::Passed), "{rule}");
        let workflow = resolved.workflow().and_then(|w| w.status());
        assert_eq!(workflow.map(|s| s.as_str()), Some("RESOLVED"), "{rule}");
        let open = about(&after, left, rule);
        assert_eq!(status(open), Some(&ComplianceStatus::Failed), "{rule}");
    }
}

#[tokio::test]
async fn a_required_tag_the_tagger_only_would_add_does_not_resolve_its_finding() {
    let account = with_security_hub().await;
    let bucket = unique("sh-tags-default");
    buckets::create(&account.aws, &bucket, None).await;
    let temp = [("sagekeeper:data-class", "temp")];
    buckets::put_tags(&account.aws, &bucket, &temp).await;
    let defaults = Some(r#"{"CostCenter": "ml-default"}"#);
    let status_now =
        |all: &BTreeMap<String, AwsSecurityFinding>| status(about(all, &bucket, TAGS)).cloned();

    tagger_sweep(&account, true, None);
    assert_eq!(
        status_now(&findings(&account).await),
        Some(ComplianceStatus::Failed)
    );
    // A default now supplies the tag, but a dry run adds nothing: still failing.
    tagger_sweep(&account, true, defaults);
    assert_eq!(
        status_now(&findings(&account).await),
        Some(ComplianceStatus::Failed)
    );
    // A real run adds it; the next run sees it on the bucket and resolves the finding.
    tagger_sweep(&account, false, defaults);
    tagger_sweep(&account, true, defaults);
    assert_eq!(
        status_now(&findings(&account).await),
        Some(ComplianceStatus::Passed)
    );
}
