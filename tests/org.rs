//! Organisation scale against the emulator: one deployment (the hub account) governs three
//! accounts in two regions through each account's member role. The emulator keys resources
//! by the account of the credentials, and assumed-role credentials carry the role's account,
//! so a call made with the wrong account's credentials would find or change the wrong thing.

use std::collections::BTreeMap;

use aws_sdk_sqs::types::{Message, QueueAttributeName};
use sagekeeper_core::{Aws, Outcome, Report};
use serde_json::{Value, json};

mod support;
use support::faultproxy::Proxy;
use support::reports::{ActionRecord, Finding, ReportExt};
use support::{Run, Sandbox, repo_root, sandbox, seed_endpoint, unique};

const REGIONS: [&str; 2] = ["us-east-1", "eu-west-1"];
/// Friday evening in Madrid, then Monday morning (see tests/scheduler.rs).
const EVENING: &str = "scheduled.json";
const MORNING: &str = "scheduled-morning.json";

/// The hub and two members, each a fresh account of the emulator.
struct Org {
    hub: Sandbox,
    members: Vec<Sandbox>,
}

impl Org {
    async fn new() -> Org {
        Org {
            hub: sandbox("us-east-1").await,
            members: vec![sandbox("us-east-1").await, sandbox("us-east-1").await],
        }
    }

    fn accounts(&self) -> Vec<&Sandbox> {
        std::iter::once(&self.hub).chain(&self.members).collect()
    }

    /// Every `account/region` label, sorted.
    fn every_target(&self) -> Vec<String> {
        let mut labels: Vec<String> = self
            .accounts()
            .iter()
            .flat_map(|a| REGIONS.map(|r| label(a, r)))
            .collect();
        labels.sort();
        labels
    }

    fn target_env(&self) -> Vec<(&'static str, String)> {
        let ids: Vec<&str> = self
            .accounts()
            .iter()
            .map(|a| a.account_id.as_str())
            .collect();
        vec![
            ("TARGET_ACCOUNTS", ids.join(",")),
            ("TARGET_REGIONS", REGIONS.join(",")),
            ("MEMBER_ROLE_NAME", "sagekeeper-member".to_owned()),
            ("TIMEZONE", "Europe/Madrid".to_owned()),
        ]
    }

    fn run(&self, function: &str, event: &str, env: &[(&'static str, String)]) -> Run {
        self.run_with(function, event, &[], env)
    }

    fn run_with(
        &self,
        function: &str,
        event: &str,
        args: &[&str],
        env: &[(&'static str, String)],
    ) -> Run {
        let mut all = self.target_env();
        all.extend(env.iter().cloned());
        let pairs: Vec<(&str, &str)> = all.iter().map(|(k, v)| (*k, v.as_str())).collect();
        self.hub.run(function, event, args, &pairs)
    }
}

fn label(account: &Sandbox, region: &str) -> String {
    format!("{}/{region}", account.account_id)
}

async fn state_bucket(hub: &Sandbox) -> String {
    support::new_bucket(&hub.aws, "sk-org-state").await
}

async fn endpoint_tags(aws: &Aws, name: &str) -> Option<BTreeMap<String, String>> {
    let arn = aws
        .sagemaker()
        .describe_endpoint()
        .endpoint_name(name)
        .send()
        .await
        .ok()?
        .endpoint_arn?;
    Some(support::sagemaker_tags(aws, &arn).await)
}

/// The report of each target of a multi-target run.
fn runs(run: &Run) -> &[Report] {
    &run.target_runs().runs
}

#[tokio::test]
async fn a_sweep_parks_and_restores_in_every_account_and_region_with_its_own_credentials() {
    let org = Org::new().await;
    let bucket = state_bucket(&org.hub).await;
    let name = unique("fraud");
    let kept = unique("kept");
    // The same endpoint name everywhere, each tagged with where it lives: a call made in the
    // wrong account or region would park or restore the wrong one.
    for account in org.accounts() {
        for region in REGIONS {
            let aws = account.aws.in_region(region);
            let owner = label(account, region);
            seed_endpoint(&aws, &name, &[("AutoShutdown", "true"), ("Owner", &owner)]).await;
        }
    }
    let member_us = org.members[0].aws.in_region("us-east-1");
    seed_endpoint(&member_us, &kept, &[("Owner", "not opted in")]).await;
    let env = [("STATE_BUCKET", bucket.clone())];

    let evening = org.run("endpoint-scheduler", EVENING, &env);
    assert_eq!(
        evening.code(),
        0,
        "{:#}\n{}",
        evening.json,
        evening.stderr()
    );
    let reports = runs(&evening);
    assert_eq!(reports.len(), 6, "3 accounts × 2 regions");
    let mut targets: Vec<String> = reports.iter().map(|r| r.target.clone().unwrap()).collect();
    targets.sort();
    assert_eq!(targets, org.every_target());
    for report in reports {
        assert_eq!(report.metric("EndpointsParked"), Some(1.0), "{report:#?}");
    }
    for account in org.accounts() {
        for region in REGIONS {
            let aws = account.aws.in_region(region);
            assert_eq!(
                endpoint_tags(&aws, &name).await,
                None,
                "{}",
                label(account, region)
            );
        }
    }
    assert!(
        endpoint_tags(&member_us, &kept).await.is_some(),
        "not opted in: untouched"
    );

    // One state bucket, each target's snapshots under its own prefix; the hub's own account
    // and region keep the single-account layout.
    let keys = support::object_keys(&org.hub.aws, &bucket, "").await;
    let snapshot = format!("snapshots/endpoints/{name}.json");
    assert!(keys.contains(&snapshot), "{keys:?}");
    for account in org.accounts() {
        for region in REGIONS {
            if account.account_id == org.hub.account_id && region == "us-east-1" {
                continue;
            }
            let key = format!("targets/{}/{snapshot}", label(account, region));
            assert!(keys.contains(&key), "{key} in {keys:?}");
        }
    }

    let morning = org.run("endpoint-scheduler", MORNING, &env);
    assert_eq!(
        morning.code(),
        0,
        "{:#}\n{}",
        morning.json,
        morning.stderr()
    );
    for account in org.accounts() {
        for region in REGIONS {
            let aws = account.aws.in_region(region);
            let tags = endpoint_tags(&aws, &name)
                .await
                .unwrap_or_else(|| panic!("restored in {}", label(account, region)));
            assert_eq!(
                tags["Owner"],
                label(account, region),
                "its own endpoint, back"
            );
        }
    }
}

struct Queues {
    sqs: aws_sdk_sqs::Client,
    work: String,
    dead_letters: String,
}

impl Queues {
    /// A work queue whose messages go to a dead-letter queue after two receives.
    async fn new(hub: &Sandbox) -> Queues {
        let sqs = aws_sdk_sqs::Client::new(hub.aws.sdk_config());
        let (dead_letters, dlq_arn) = support::new_queue(&sqs, "sk-fanout-dlq", &[]).await;
        let redrive = json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2}).to_string();
        let (work, _) = support::new_queue(
            &sqs,
            "sk-fanout",
            &[(QueueAttributeName::RedrivePolicy, redrive)],
        )
        .await;
        Queues {
            sqs,
            work,
            dead_letters,
        }
    }

    /// What the Lambda event source mapping would deliver: every visible message, hidden for
    /// two seconds.
    async fn receive(&self, queue: &str) -> Vec<Message> {
        let mut messages = Vec::new();
        loop {
            let page = self
                .sqs
                .receive_message()
                .queue_url(queue)
                .max_number_of_messages(10)
                .visibility_timeout(2)
                .send()
                .await
                .unwrap();
            if page.messages().is_empty() {
                return messages;
            }
            messages.extend_from_slice(page.messages());
        }
    }

    async fn delete(&self, message: &Message) {
        self.sqs
            .delete_message()
            .queue_url(&self.work)
            .receipt_handle(message.receipt_handle().unwrap())
            .send()
            .await
            .unwrap();
    }
}

/// The SQS event Lambda hands the function for `messages`.
fn sqs_event(messages: &[Message]) -> String {
    let records: Vec<Value> = messages
        .iter()
        .map(|m| {
            json!({
                "messageId": m.message_id(), "receiptHandle": m.receipt_handle(),
                "body": m.body(), "attributes": {}, "messageAttributes": {},
                "md5OfBody": m.md5_of_body(), "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:sk-fanout",
                "awsRegion": "us-east-1"
            })
        })
        .collect();
    let path = std::env::temp_dir().join(format!("{}.json", unique("sqs-event")));
    std::fs::write(&path, json!({ "Records": records }).to_string()).unwrap();
    path.to_string_lossy().into_owned()
}

fn message_target(message: &Message) -> String {
    let body: Value = serde_json::from_str(message.body().unwrap()).unwrap();
    format!(
        "{}/{}",
        body["target"]["account"].as_str().unwrap(),
        body["target"]["region"].as_str().unwrap()
    )
}

fn failed_ids(run: &Run) -> Vec<String> {
    let mut ids: Vec<String> = run
        .target_runs()
        .batch_item_failures
        .as_ref()
        .unwrap_or_else(|| panic!("a batch response: {:#}\n{}", run.json, run.stderr()))
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn a_fanned_out_sweep_retries_only_the_failing_target_then_dead_letters_it() {
    let org = Org::new().await;
    let bucket = state_bucket(&org.hub).await;
    let queues = Queues::new(&org.hub).await;
    let unreachable = &org.members[1];
    // A member account whose role was never deployed: the proxy refuses AssumeRole into it.
    let proxy = Proxy::start("0", 1, &["--deny-assume-account", &unreachable.account_id]);
    let env = [
        ("STATE_BUCKET", bucket.clone()),
        ("FANOUT_QUEUE_URL", queues.work.clone()),
    ];

    // `--dry-run` from a shell sweeps in place: the queue's consumers would not be dry.
    let dry = org.run_with("endpoint-scheduler", EVENING, &["--dry-run"], &env);
    assert_eq!(runs(&dry).len(), 6, "{:#}", dry.json);
    assert!(queues.receive(&queues.work).await.is_empty());

    // The scheduled invocation only enqueues: one message per target.
    let fan_out = org.run("endpoint-scheduler", EVENING, &env);
    assert_eq!(
        fan_out.code(),
        0,
        "{:#}\n{}",
        fan_out.json,
        fan_out.stderr()
    );
    // The derived summary, as operators read it in the response.
    assert_eq!(
        fan_out.json["summary"]["actions_done"], 6,
        "{:#}",
        fan_out.json
    );
    let delivered = queues.receive(&queues.work).await;
    let mut targets: Vec<String> = delivered.iter().map(message_target).collect();
    targets.sort();
    assert_eq!(
        targets,
        org.every_target(),
        "one message per (account, region)"
    );

    // The SQS-triggered invocation: the unreachable account's two messages fail, alone.
    let mut worker_env = env.to_vec();
    worker_env.push(("AWS_ENDPOINT_URL", proxy.url.clone()));
    let first = org.run("endpoint-scheduler", &sqs_event(&delivered), &worker_env);
    let mut unreachable_ids: Vec<String> = delivered
        .iter()
        .filter(|m| message_target(m).starts_with(&unreachable.account_id))
        .map(|m| m.message_id().unwrap().to_owned())
        .collect();
    unreachable_ids.sort();
    assert_eq!(unreachable_ids.len(), 2);
    assert_eq!(failed_ids(&first), unreachable_ids);
    assert_eq!(first.code(), 1, "a failed target fails the shell run");
    let role_findings: Vec<&Finding> = runs(&first)
        .iter()
        .flat_map(|r| &r.findings)
        .filter(|f| f.rule == "member-role-unavailable")
        .collect();
    assert_eq!(role_findings.len(), 2, "{:#}", first.json);
    assert!(role_findings[0].resource.contains(&format!(
        "{}:role/sagekeeper-member",
        unreachable.account_id
    )));
    // As the event source mapping does: delete what succeeded.
    for message in &delivered {
        if !unreachable_ids.contains(&message.message_id().unwrap().to_owned()) {
            queues.delete(message).await;
        }
    }

    // Redelivered: only the failed target's messages.
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let again = queues.receive(&queues.work).await;
    let mut again_ids: Vec<String> = again
        .iter()
        .map(|m| m.message_id().unwrap().to_owned())
        .collect();
    again_ids.sort();
    assert_eq!(again_ids, unreachable_ids);
    let second = org.run("endpoint-scheduler", &sqs_event(&again), &worker_env);
    assert_eq!(failed_ids(&second), unreachable_ids);
    assert_eq!(
        proxy.counts().all["denied-assume"],
        4,
        "two messages, two deliveries each"
    );

    // After the queue's maxReceiveCount, they wait in the dead-letter queue for people.
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert!(queues.receive(&queues.work).await.is_empty());
    let mut dead: Vec<String> = queues
        .receive(&queues.dead_letters)
        .await
        .iter()
        .map(|m| m.message_id().unwrap().to_owned())
        .collect();
    dead.sort();
    assert_eq!(dead, unreachable_ids);
}

async fn bucket_tags(aws: &Aws, name: &str) -> BTreeMap<String, String> {
    match aws.s3().get_bucket_tagging().bucket(name).send().await {
        Ok(out) => out
            .tag_set()
            .iter()
            .map(|t| (t.key().to_owned(), t.value().to_owned()))
            .collect(),
        Err(_) => BTreeMap::new(),
    }
}

/// A CloudTrail CreateBucket event as a member account's EventBridge rule forwards it.
fn create_bucket_event(account: &str, region: &str, bucket: &str) -> String {
    let text = std::fs::read_to_string(repo_root().join("events/cloudtrail-s3-create-bucket.json"))
        .unwrap()
        .replace("123456789012", account)
        .replace("us-east-1", region)
        .replace("acme-ml-scratch", bucket);
    let path = std::env::temp_dir().join(format!("{}.json", unique("forwarded")));
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

#[tokio::test]
async fn a_forwarded_event_is_handled_in_its_member_account_and_others_are_refused() {
    let org = Org::new().await;
    let member = &org.members[0];
    let region = "eu-west-1";
    let bucket = unique("sk-org-scratch");
    support::buckets::create_in(&member.aws.in_region(region), region, &bucket).await;

    let run = org.run(
        "lifecycle-tagger",
        &create_bucket_event(&member.account_id, region, &bucket),
        &[],
    );
    assert_eq!(run.code(), 0, "{:#}\n{}", run.json, run.stderr());
    assert_eq!(run.report().target, Some(label(member, region)));
    let tags = bucket_tags(&member.aws.in_region(region), &bucket).await;
    assert_eq!(
        tags.get("CreatedBy").map(String::as_str),
        Some("assumed-role/DataScientist/alice@acme.example"),
        "tagged in the member account: {tags:?}"
    );

    // An account outside TARGET_ACCOUNTS: a typed error, and nothing done there.
    let stranger = sandbox(region).await;
    let other = unique("sk-org-stranger");
    support::buckets::create_in(&stranger.aws, region, &other).await;
    let refused = org.run(
        "lifecycle-tagger",
        &create_bucket_event(&stranger.account_id, region, &other),
        &[],
    );
    assert_eq!(refused.code(), 1, "{:#}", refused.json);
    assert_eq!(refused.report().errors[0].kind, "not-a-target");
    assert!(refused.report().actions.is_empty());
    assert!(bucket_tags(&stranger.aws, &other).await.is_empty());
}

/// An emulated organisation managed by `hub`: the OU `ml` holds one account and a nested OU
/// with another; a third account sits at the root. Returns (ml OU id, [in ml, nested, outside]).
async fn organisation(hub: &Sandbox) -> (String, Vec<String>) {
    let org = aws_sdk_organizations::Client::new(hub.aws.sdk_config());
    org.create_organization().send().await.unwrap();
    let root = org.list_roots().send().await.unwrap().roots()[0]
        .id()
        .unwrap()
        .to_owned();
    let ou = |parent: String, name: &'static str| {
        let org = org.clone();
        async move {
            org.create_organizational_unit()
                .parent_id(parent)
                .name(name)
                .send()
                .await
                .unwrap()
                .organizational_unit
                .unwrap()
                .id
                .unwrap()
        }
    };
    let ml = ou(root.clone(), "ml").await;
    let prod = ou(ml.clone(), "prod").await;
    let mut accounts = Vec::new();
    for (name, parent) in [("ml-dev", &ml), ("ml-prod", &prod), ("finance", &root)] {
        let id = org
            .create_account()
            .email(format!("{name}@example.com"))
            .account_name(name)
            .send()
            .await
            .unwrap()
            .create_account_status
            .unwrap()
            .account_id
            .unwrap();
        if parent != &root {
            org.move_account()
                .account_id(&id)
                .source_parent_id(&root)
                .destination_parent_id(parent)
                .send()
                .await
                .unwrap();
        }
        accounts.push(id);
    }
    (ml, accounts)
}

#[tokio::test]
async fn an_organisation_sweep_covers_the_accounts_under_the_ou_nested_ones_included() {
    let hub = sandbox("us-east-1").await;
    let (ml, accounts) = organisation(&hub).await;
    let name = unique("org-ep");
    for account in &accounts {
        let member = support::sandbox_of(account, "us-east-1").await;
        seed_endpoint(&member.aws, &name, &[("AutoShutdown", "true")]).await;
    }
    let bucket = state_bucket(&hub).await;

    let run = hub.run(
        "endpoint-scheduler",
        EVENING,
        &["--dry-run"],
        &[
            ("TARGET_ACCOUNTS", "organization"),
            ("TARGET_OUS", ml.as_str()),
            ("STATE_BUCKET", bucket.as_str()),
            ("TIMEZONE", "Europe/Madrid"),
        ],
    );

    assert_eq!(run.code(), 0, "{:#}\n{}", run.json, run.stderr());
    let mut targets: Vec<&str> = runs(&run)
        .iter()
        .map(|r| r.target.as_deref().unwrap())
        .collect();
    targets.sort();
    let mut expected = vec![
        format!("{}/us-east-1", accounts[0]),
        format!("{}/us-east-1", accounts[1]),
    ];
    expected.sort();
    assert_eq!(
        targets, expected,
        "the OU's accounts only, not finance nor the hub"
    );
    for report in runs(&run) {
        let target = report.target.as_deref().unwrap();
        let account = target.split('/').next().unwrap();
        let planned: Vec<&ActionRecord> = report
            .actions
            .iter()
            .filter(|a| a.outcome == Outcome::Planned)
            .collect();
        assert!(!planned.is_empty(), "{report:#?}");
        assert!(
            planned
                .iter()
                .all(|a| a.resource.contains(&format!(":{account}:endpoint/"))),
            "acts on its own account's endpoint only: {report:#?}"
        );
    }
}

/// Every Security Hub finding of `account` in us-east-1, as (resource, AwsAccountId,
/// ProductArn).
async fn security_hub_findings(account: &Sandbox) -> Vec<(String, String, String)> {
    let mut pages = account
        .aws
        .securityhub()
        .get_findings()
        .max_results(100)
        .into_paginator()
        .send();
    let mut all = Vec::new();
    while let Some(page) = pages.next().await {
        for f in page.unwrap().findings.unwrap_or_default() {
            let resource = f.resources().first().and_then(|r| r.id()).unwrap_or("");
            let account = f.aws_account_id().unwrap_or_default();
            let product = f.product_arn().unwrap_or_default();
            all.push((resource.to_owned(), account.to_owned(), product.to_owned()));
        }
    }
    all
}

#[tokio::test]
async fn each_accounts_findings_go_to_that_accounts_security_hub_through_its_member_role() {
    let org = Org::new().await;
    let (member, off) = (&org.members[0], &org.members[1]);
    // Security Hub is on in the hub and the first member (us-east-1), off in the second.
    for account in [&org.hub, member] {
        let hub = account.aws.securityhub();
        hub.enable_security_hub().send().await.unwrap();
    }
    let (in_member, in_hub) = (unique("sk-org-sh"), unique("sk-org-sh-hub"));
    support::buckets::create_in(&member.aws, "us-east-1", &in_member).await;
    support::buckets::create_in(&org.hub.aws, "us-east-1", &in_hub).await;
    support::buckets::create_in(&off.aws, "us-east-1", &unique("sk-org-sh-off")).await;

    let export = [("SECURITY_HUB_EXPORT", "true".to_owned())];
    let run = org.run_with("encryption-enforcer", EVENING, &["--dry-run"], &export);
    assert_eq!(run.code(), 0, "{:#}\n{}", run.json, run.stderr());

    let product = |account: &Sandbox| {
        format!(
            "arn:aws:securityhub:us-east-1:{0}:product/{0}/default",
            account.account_id
        )
    };
    let about = |found: &[(String, String, String)], bucket: &str| -> Vec<(String, String)> {
        found
            .iter()
            .filter(|(resource, ..)| *resource == format!("arn:aws:s3:::{bucket}"))
            .map(|(_, account, product)| (account.clone(), product.clone()))
            .collect()
    };
    // Each bucket's findings are in its own account's Security Hub, as that account's own.
    let member_found = security_hub_findings(member).await;
    let mine = about(&member_found, &in_member);
    assert!(!mine.is_empty(), "{member_found:#?}");
    assert!(
        mine.iter()
            .all(|f| *f == (member.account_id.clone(), product(member))),
        "{mine:#?}"
    );
    assert!(about(&member_found, &in_hub).is_empty());
    let hub_found = security_hub_findings(&org.hub).await;
    assert!(!about(&hub_found, &in_hub).is_empty(), "{hub_found:#?}");
    assert!(about(&hub_found, &in_member).is_empty(), "{hub_found:#?}");

    // Where Security Hub is off, that account's run says so; the sweep stands.
    let off_run = runs(&run)
        .iter()
        .find(|r| r.target.as_deref() == Some(label(off, "us-east-1").as_str()))
        .expect("the second member's run");
    assert!(
        off_run
            .findings
            .iter()
            .any(|f| f.rule == "security-hub-export-failed"),
        "{:#?}",
        off_run.findings
    );
    assert!(off_run.errors.is_empty(), "{:#?}", off_run.errors);
}

/// Every log group's name under `prefix` in `aws`'s account and region, with its retention.
async fn log_group_retention(aws: &Aws, prefix: &str) -> BTreeMap<String, Option<i32>> {
    let mut groups = BTreeMap::new();
    let mut next = None;
    loop {
        let page = aws
            .logs()
            .describe_log_groups()
            .log_group_name_prefix(prefix)
            .set_next_token(next)
            .send()
            .await
            .unwrap();
        for group in page.log_groups() {
            let name = group.log_group_name().unwrap_or_default().to_owned();
            groups.insert(name, group.retention_in_days());
        }
        next = page.next_token().map(str::to_owned);
        if next.is_none() {
            return groups;
        }
    }
}

/// What the parts of one sweep did.
#[derive(Debug)]
struct Parts {
    /// How many parts there were, and how many of them were cut short.
    count: usize,
    cut_short: usize,
    /// Reports with a failure.
    failed: usize,
    /// Per log group, the put-retention actions with the outcome asked for, and failed ones.
    handled: BTreeMap<String, usize>,
    failed_writes: BTreeMap<String, usize>,
    /// PutRetentionPolicy calls the proxy saw.
    retention_calls: u64,
}

/// The parts of one sweep of the lifecycle-tagger, run as the fan-out queue's consumer until
/// the queue is empty, its calls through the fault proxy with `proxy_args`. Every message is
/// acknowledged (none named in batchItemFailures): a part that was cut short continues even
/// when some of its writes failed.
async fn sweep_in_parts(
    hub: &Sandbox,
    queues: &Queues,
    env: &[(&'static str, String)],
    outcome: Outcome,
    proxy_args: &[&str],
) -> Parts {
    let run = |event: &str, extra: Option<(&'static str, &str)>| {
        let mut all: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        all.extend(extra);
        hub.run("lifecycle-tagger", event, &[], &all)
    };
    let fan_out = run(EVENING, None);
    assert_eq!(
        fan_out.code(),
        0,
        "{:#}\n{}",
        fan_out.json,
        fan_out.stderr()
    );
    let proxy = Proxy::start("0", 1, proxy_args);
    let mut parts = Parts {
        count: 0,
        cut_short: 0,
        failed: 0,
        handled: BTreeMap::new(),
        failed_writes: BTreeMap::new(),
        retention_calls: 0,
    };
    loop {
        let delivered = queues.receive(&queues.work).await;
        if delivered.is_empty() {
            break;
        }
        assert_eq!(delivered.len(), 1, "one message carries each part");
        parts.count += 1;
        assert!(parts.count <= 40, "the sweep never ends: {parts:?}");
        let part = run(
            &sqs_event(&delivered),
            Some(("AWS_ENDPOINT_URL", &proxy.url)),
        );
        assert!(
            failed_ids(&part).is_empty(),
            "{:#}\n{}",
            part.json,
            part.stderr()
        );
        for report in runs(&part) {
            parts.failed += usize::from(report.failed());
            if report.continuation.is_some() {
                parts.cut_short += 1;
                assert_eq!(report.metric("RunsCutShort"), Some(1.0));
                assert!(
                    report.findings.iter().all(|f| f.rule != "sweep-incomplete"),
                    "continued, so nothing is left for people: {:#}",
                    part.json
                );
            }
            for action in report
                .actions
                .iter()
                .filter(|a| a.action == "put-retention")
            {
                let tally = match action.outcome {
                    o if o == outcome => &mut parts.handled,
                    Outcome::Failed => &mut parts.failed_writes,
                    _ => continue,
                };
                *tally.entry(action.resource.clone()).or_default() += 1;
            }
        }
        queues.delete(&delivered[0]).await;
    }
    let calls = &proxy.counts().all["operations"]["logs:PutRetentionPolicy"];
    parts.retention_calls = calls.as_u64().unwrap_or(0);
    parts
}

/// A fresh account-region with `count` SageMaker log groups without retention, and its queues;
/// returns the log groups' prefix too.
async fn account_of_log_groups(count: usize) -> (Sandbox, Queues, String) {
    let hub = sandbox("us-east-1").await;
    let queues = Queues::new(&hub).await;
    let prefix = format!("/aws/sagemaker/TrainingJobs-{}", unique("tg"));
    for i in 0..count {
        hub.aws
            .logs()
            .create_log_group()
            .log_group_name(format!("{prefix}-{i:03}"))
            .send()
            .await
            .unwrap();
    }
    (hub, queues, prefix)
}

/// The tagger's settings for a sweep of `hub` through its own fan-out queue.
fn tagger_env(
    hub: &Sandbox,
    queues: &Queues,
    limit_ms: &str,
    dry_run: &str,
) -> Vec<(&'static str, String)> {
    vec![
        ("TARGET_ACCOUNTS", hub.account_id.clone()),
        ("TARGET_REGIONS", hub.region.clone()),
        ("FANOUT_QUEUE_URL", queues.work.clone()),
        ("LOG_RETENTION_DAYS", "30".to_owned()),
        ("APPLY_CONCURRENCY", "1".to_owned()),
        ("RUN_TIME_LIMIT_MS", limit_ms.to_owned()),
        ("DRY_RUN", dry_run.to_owned()),
    ]
}

/// An account-region too large for one invocation: each part stops starting log groups at
/// RUN_TIME_LIMIT_MS (standing in for the Lambda deadline) and hands the rest to a message on
/// the fan-out queue carrying its cursor, until the sweep is done.
#[tokio::test]
async fn a_sweep_cut_short_by_its_deadline_continues_on_the_queue_each_resource_once() {
    const GROUPS: usize = 300;
    let (hub, queues, prefix) = account_of_log_groups(GROUPS).await;
    let env = tagger_env(&hub, &queues, "4000", "false");
    // 20 ms a call: 300 groups one at a time need ~7 s of writes, more than one part's 4 s.
    let latency = ["--fixed-latency-ms", "20"];

    let parts = sweep_in_parts(&hub, &queues, &env, Outcome::Done, &latency).await;

    assert!(
        parts.cut_short >= 1,
        "the limit never cut a part short: {parts:?}"
    );
    assert_eq!(
        parts.count,
        parts.cut_short + 1,
        "all but the last cut short"
    );
    assert_eq!(parts.failed, 0, "{parts:?}");
    assert_eq!(parts.handled.len(), GROUPS, "each log group handled");
    let twice: Vec<_> = parts.handled.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "handled twice: {twice:?}");
    assert_eq!(
        parts.retention_calls, GROUPS as u64,
        "one PutRetentionPolicy each"
    );
    let now = log_group_retention(&hub.aws, &prefix).await;
    assert_eq!(now.len(), GROUPS);
    assert!(now.values().all(|days| *days == Some(30)), "{now:?}");
}

/// In a dry run nothing changes between parts, so only the cursor keeps a part from planning
/// again what an earlier part did. With 1 ms each part is past its time at once and starts the
/// one resource every part must: five groups, five parts, each group once.
#[tokio::test]
async fn a_dry_sweep_in_parts_plans_each_resource_once_by_its_cursor() {
    let (hub, queues, _) = account_of_log_groups(5).await;
    let env = tagger_env(&hub, &queues, "1", "true");

    let parts = sweep_in_parts(&hub, &queues, &env, Outcome::Planned, &[]).await;

    assert_eq!((parts.count, parts.cut_short), (5, 4), "{parts:?}");
    assert_eq!(parts.handled.len(), 5);
    assert!(parts.handled.values().all(|n| *n == 1), "{parts:?}");
    assert_eq!(parts.retention_calls, 0, "a dry run writes nothing");
}

/// A part in which a write failed still hands the rest on: its message is not delivered again
/// (that would start a second chain), the failed group waits for the next sweep, and every
/// group after it is handled. The other four groups are the control.
#[tokio::test]
async fn a_part_whose_write_failed_still_continues_and_the_rest_is_handled() {
    let (hub, queues, prefix) = account_of_log_groups(5).await;
    let env = tagger_env(&hub, &queues, "1", "false");
    let poisoned_group = format!("{prefix}-001");
    // The group's name closed by its quote: the PutRetentionPolicy naming it, nothing else.
    let poisoned = format!("{poisoned_group}\"");
    let fail = ["--fail-body-containing", poisoned.as_str()];

    let parts = sweep_in_parts(&hub, &queues, &env, Outcome::Done, &fail).await;

    assert_eq!(
        (parts.count, parts.cut_short, parts.failed),
        (5, 4, 1),
        "{parts:?}"
    );
    let failed: Vec<&String> = parts.failed_writes.keys().collect();
    assert_eq!(failed.len(), 1, "{parts:?}");
    assert!(failed[0].ends_with(&poisoned_group), "{failed:?}");
    assert_eq!(parts.handled.len(), 4, "every other group: {parts:?}");
    assert!(parts.handled.values().all(|n| *n == 1), "{parts:?}");
    let now = log_group_retention(&hub.aws, &prefix).await;
    let without: Vec<&String> = now
        .iter()
        .filter(|(_, d)| d.is_none())
        .map(|(g, _)| g)
        .collect();
    assert_eq!(without, [&poisoned_group]);
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert!(
        queues.receive(&queues.work).await.is_empty(),
        "nothing delivered again"
    );
}
