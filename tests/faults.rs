//! Reliability under injected faults: the functions talk to the emulator through
//! scripts/faultproxy.py, which throttles, fails with 500s and drops connections (before and
//! after the emulator saw the request) at a fixed rate. The SDK retries; what it cannot hide
//! fails a run, and the next run must repair it. Nothing may be lost.

use sagekeeper_core::Outcome;
use serde_json::Value;

mod support;
use support::faultproxy::Proxy;
use support::{Run, Sandbox, sandbox, seed_autoscaling, seed_endpoint, unique};

const ENDPOINTS: usize = 4;
const CYCLES: usize = 50;
const FAULT_RATE: &str = "0.15";
/// Runs allowed for one phase to converge; each run retries what failed before.
const MAX_RUNS_PER_PHASE: usize = 8;
/// Runs started at the same moment, and the evenings and mornings they overlap in.
const OVERLAPPING: usize = 3;
const OVERLAP_CYCLES: usize = 3;

/// Runs the scheduler through the proxy with the SDK's retries on (5 attempts, short
/// back-off so the test stays quick).
fn run_through(proxy: &Proxy, account: &Sandbox, event: &str, bucket: &str) -> Run {
    let mut env = vec![("STATE_BUCKET", bucket), ("TIMEZONE", "Europe/Madrid")];
    env.extend(proxy.function_env("5"));
    account.run("endpoint-scheduler", event, &[], &env)
}

/// Everything that must come back after parking, read directly from the emulator.
async fn observed(account: &Sandbox, name: &str) -> Value {
    let sm = account.aws.sagemaker();
    let endpoint = sm.describe_endpoint().endpoint_name(name).send().await.ok();
    let tags = match &endpoint {
        Some(e) => support::sagemaker_tag_lines(&account.aws, e.endpoint_arn().unwrap()).await,
        None => vec![],
    };
    let (targets, policies, _) = support::parking::autoscaling(&account.aws, name).await;
    serde_json::json!({
        "status": endpoint.as_ref().and_then(|e| e.endpoint_status()).map(|s| s.as_str().to_owned()),
        "config": endpoint.as_ref().and_then(|e| e.endpoint_config_name()).map(str::to_owned),
        "tags": tags,
        "targets": targets.scalable_targets().iter().map(|t| (t.min_capacity, t.max_capacity)).collect::<Vec<_>>(),
        "policies": policies
            .scaling_policies()
            .iter()
            .map(|p| (p.policy_name.clone(), p.target_tracking_scaling_policy_configuration.as_ref().map(|c| c.target_value)))
            .collect::<Vec<_>>(),
    })
}

async fn snapshot_keys(account: &Sandbox, bucket: &str, prefix: &str) -> usize {
    let out = account
        .aws
        .s3()
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .send()
        .await
        .unwrap();
    out.contents().len()
}

/// Runs the phase until the scheduler reports nothing left to do, and returns how many runs
/// that took and what the last one printed.
fn converge(proxy: &Proxy, account: &Sandbox, event: &str, bucket: &str) -> (usize, String) {
    for runs in 1..=MAX_RUNS_PER_PHASE {
        let run = run_through(proxy, account, event, bucket);
        let pending = run
            .try_report()
            .map(|r| r.actions.iter().any(|a| a.outcome != Outcome::Skipped))
            .unwrap_or(true);
        let failed = run.code() != 0;
        if !pending && !failed {
            return (runs, format!("{}\n{}", run.json, run.stderr()));
        }
        if runs == MAX_RUNS_PER_PHASE {
            eprintln!("last run: {}\n{}", run.json, run.stderr());
        }
    }
    panic!("{event}: not converged after {MAX_RUNS_PER_PHASE} runs");
}

#[tokio::test(flavor = "multi_thread")]
async fn park_and_restore_cycles_under_faults_lose_nothing() {
    let account = sandbox("us-east-1").await;
    let bucket = support::new_bucket(&account.aws, "sk-faults").await;
    let mut names = Vec::new();
    for i in 0..ENDPOINTS {
        let name = unique(&format!("faulty{i}"));
        seed_endpoint(
            &account.aws,
            &name,
            &[("AutoShutdown", "true"), ("Team", &format!("team-{i}"))],
        )
        .await;
        seed_autoscaling(&account.aws, &name, 3, 50.0).await;
        names.push(name);
    }
    let mut expected = Vec::new();
    for name in &names {
        expected.push(observed(&account, name).await);
    }

    let proxy = Proxy::start(FAULT_RATE, std::process::id(), &[]);
    let mut runs = 0;
    for cycle in 0..CYCLES {
        let (taken, last) = converge(&proxy, &account, "scheduled.json", &bucket);
        runs += taken;
        for name in &names {
            let parked = observed(&account, name).await;
            assert_eq!(
                parked["status"],
                Value::Null,
                "cycle {cycle}: {name} still up after\n{last}"
            );
        }
        assert_eq!(
            snapshot_keys(&account, &bucket, "snapshots/").await,
            ENDPOINTS,
            "cycle {cycle}: a snapshot is missing"
        );

        let (taken, last) = converge(&proxy, &account, "scheduled-morning.json", &bucket);
        runs += taken;
        for (name, expected) in names.iter().zip(&expected) {
            assert_eq!(
                &observed(&account, name).await,
                expected,
                "cycle {cycle}: {name} came back different after\n{last}"
            );
        }
        assert_eq!(
            snapshot_keys(&account, &bucket, "snapshots/").await,
            0,
            "cycle {cycle}: snapshot not archived"
        );
    }
    // Archives are keyed by park time, which is the (same) event time in every cycle here.
    assert_eq!(
        snapshot_keys(&account, &bucket, "archive/").await,
        ENDPOINTS,
        "archived snapshots"
    );

    let counts = proxy.assert_faults_injected((ENDPOINTS * CYCLES * 10) as u64);
    eprintln!(
        "{} park/restore cycles in {runs} runs; {} requests, {} faults injected: {}",
        ENDPOINTS * CYCLES,
        counts.requests,
        counts.injected,
        counts.all
    );
}

/// The proxy's `--deny-assume-account`, for organisation tests: AssumeRole into a listed
/// account is refused as STS refuses it (the SDK reads a 403 AccessDenied), into any other
/// account it works, and the denial is counted apart from random faults.
#[tokio::test]
async fn the_proxy_denies_assume_role_into_listed_accounts_only() {
    use aws_sdk_sts::error::ProvideErrorMetadata;

    let proxy = Proxy::start("0", 7, &["--deny-assume-account", "111111111111"]);
    let aws = support::aws().await;
    let config = aws_sdk_sts::config::Builder::from(aws.sdk_config()).endpoint_url(&proxy.url);
    let sts = aws_sdk_sts::Client::from_conf(config.build());
    let assume = |account: &str| {
        sts.assume_role()
            .role_arn(format!(
                "arn:aws:iam::{account}:role/OrganizationAccountAccessRole"
            ))
            .role_session_name("sagekeeper")
            .send()
    };

    let denied = assume("111111111111").await.unwrap_err();
    assert_eq!(
        denied.raw_response().map(|r| r.status().as_u16()),
        Some(403)
    );
    let denied = denied.into_service_error();
    assert_eq!(denied.code(), Some("AccessDenied"));
    let message = denied.message().unwrap_or_default();
    assert!(
        message.ends_with(
            "is not authorized to perform: sts:AssumeRole on resource: \
             arn:aws:iam::111111111111:role/OrganizationAccountAccessRole"
        ),
        "{message}"
    );
    let assumed = assume("222222222222").await.unwrap();
    assert!(assumed.credentials.is_some());

    let counts = proxy.counts();
    assert_eq!(counts.all["denied-assume"], 1, "{}", counts.all);
    assert_eq!(counts.requests, 1, "{}", counts.all);
}

/// Issue #12: at-least-once delivery and a slow run make two or three runs act at once. Here
/// three runs start at the same moment (the real binary, as separate processes) every evening
/// and every morning, through the proxy with faults and AWS-like latency, over endpoints with
/// autoscaling of both kinds (the step policy invoked by an alarm), hand-set capacity and
/// tags. Every evening each endpoint is parked with a full snapshot; every morning it is back
/// exactly as it was; a run that found another holding the lease changed nothing.
#[tokio::test(flavor = "multi_thread")]
async fn overlapping_runs_under_faults_park_and_restore_everything() {
    use support::parking::{restorable_state, seed_step_scaling, set_capacity};
    let account = sandbox("us-east-1").await;
    let bucket = support::new_bucket(&account.aws, "sk-overlap").await;
    let mut names = Vec::new();
    for i in 0..3 {
        let name = unique(&format!("overlap{i}"));
        seed_endpoint(
            &account.aws,
            &name,
            &[("AutoShutdown", "true"), ("Team", &format!("team-{i}"))],
        )
        .await;
        seed_autoscaling(&account.aws, &name, 4, 60.0).await;
        seed_step_scaling(&account.aws, &name).await;
        set_capacity(&account.aws, &name, 2, 0.75).await;
        names.push(name);
    }
    let mut expected = Vec::new();
    for name in &names {
        expected.push(restorable_state(&account.aws, name).await);
    }

    let proxy = Proxy::start(FAULT_RATE, std::process::id() + 1, &["--latency-ms", "40"]);
    let mut busy = 0;
    for cycle in 0..OVERLAP_CYCLES {
        for event in ["scheduled.json", "scheduled-morning.json"] {
            busy += runs_at_once(OVERLAPPING, &proxy, &account, event, &bucket);
            let (_, last) = converge(&proxy, &account, event, &bucket);
            for (name, expected) in names.iter().zip(&expected) {
                let now = restorable_state(&account.aws, name).await;
                if event == "scheduled.json" {
                    assert_eq!(
                        now["status"],
                        Value::Null,
                        "cycle {cycle}: {name} still up after\n{last}"
                    );
                    let snapshot = read_snapshot(&account, &bucket, name).await;
                    let target = &snapshot["scaling"]["targets"][0];
                    assert_eq!(
                        target["policies"].as_array().map(Vec::len),
                        Some(2),
                        "cycle {cycle}: {name}: a poorer snapshot: {snapshot}"
                    );
                    assert_eq!(snapshot["instances"][0]["count"], 2, "{snapshot}");
                } else {
                    assert_eq!(&now, expected, "cycle {cycle}: {name} came back different");
                }
            }
        }
    }
    assert!(busy > 0, "the runs never overlapped");
    let counts = proxy.assert_faults_injected(100);
    eprintln!(
        "{OVERLAP_CYCLES} overlapping cycles; {busy} runs found the lease held; {} requests, {} faults: {}",
        counts.requests, counts.injected, counts.all
    );
}

/// Starts `count` runs of `event` at the same moment (separate processes); returns how many
/// found the lease held, each of which must have done nothing else.
fn runs_at_once(
    count: usize,
    proxy: &Proxy,
    account: &Sandbox,
    event: &str,
    bucket: &str,
) -> usize {
    let start = std::sync::Barrier::new(count);
    let runs: Vec<Run> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..count)
            .map(|_| {
                let start = &start;
                scope.spawn(move || {
                    start.wait();
                    run_through(proxy, account, event, bucket)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut busy = 0;
    for run in &runs {
        let actions = run
            .try_report()
            .map(|r| r.actions.as_slice())
            .unwrap_or_default();
        if actions
            .iter()
            .any(|a| a.action == "run" && a.outcome == Outcome::Skipped)
        {
            busy += 1;
            assert_eq!(
                actions.len(),
                1,
                "a run without the lease acted: {}",
                run.json
            );
        }
    }
    busy
}

/// The same for Studio: three runs at once every evening and morning, with faults and
/// latency, over a JupyterLab and a Code Editor space and a Canvas user. Every evening both
/// apps are parked with their spec recorded and Canvas is closed; every morning both apps run
/// again on the same instance, image and lifecycle config, and Canvas stays closed.
#[tokio::test(flavor = "multi_thread")]
async fn overlapping_runs_under_faults_park_and_prewarm_studio_apps() {
    use aws_sdk_sagemaker::types::{AppInstanceType, AppType};
    use support::studio::{Owner, app_state, seed_app, seed_domain, seed_profile, seed_space};
    const IMAGE: &str = "arn:aws:sagemaker:us-east-1:081325390199:image/sagemaker-distribution-cpu";
    const LCC: &str = "arn:aws:sagemaker:us-east-1:123456789012:studio-lifecycle-config/pip";
    let account = sandbox("us-east-1").await;
    let aws = &account.aws;
    let bucket = support::new_bucket(aws, "sk-overlap-studio").await;
    let domain = seed_domain(aws, &unique("overlap"), &[("AutoShutdown", "true")]).await;
    let apps = [
        ("lab", AppType::JupyterLab, AppInstanceType::MlT3Large),
        ("code", AppType::CodeEditor, AppInstanceType::MlM5Large),
    ];
    for (space, app_type, instance) in &apps {
        seed_space(aws, &domain, space, &[]).await;
        let spec = Some((instance.clone(), IMAGE, LCC));
        seed_app(
            aws,
            &domain,
            Owner::Space(space),
            app_type.clone(),
            spec,
            &[],
        )
        .await;
    }
    seed_profile(aws, &domain, "ana", &[]).await;
    seed_app(aws, &domain, Owner::User("ana"), AppType::Canvas, None, &[]).await;

    let proxy = Proxy::start(FAULT_RATE, std::process::id() + 2, &["--latency-ms", "40"]);
    let mut busy = 0;
    for cycle in 0..OVERLAP_CYCLES {
        for event in ["scheduled.json", "scheduled-morning.json"] {
            busy += runs_at_once(OVERLAPPING, &proxy, &account, event, &bucket);
            let (_, last) = converge(&proxy, &account, event, &bucket);
            let evening = event == "scheduled.json";
            for (space, app_type, instance) in &apps {
                let (status, spec) =
                    app_state(aws, &domain, Owner::Space(space), app_type.clone()).await;
                let expected = if evening { "Deleted" } else { "InService" };
                assert_eq!(status, expected, "cycle {cycle} {event}: {space}\n{last}");
                let spec = spec.expect("the app's spec");
                assert_eq!(
                    spec,
                    (
                        instance.as_str().to_owned(),
                        IMAGE.to_owned(),
                        LCC.to_owned()
                    ),
                    "cycle {cycle} {event}: {space}"
                );
            }
            let canvas = app_state(aws, &domain, Owner::User("ana"), AppType::Canvas).await;
            assert_eq!(canvas.0, "Deleted", "cycle {cycle} {event}: Canvas\n{last}");
            let snapshots = support::object_keys(aws, &bucket, "snapshots/studio/").await;
            assert_eq!(
                snapshots.len(),
                if evening { 2 } else { 0 },
                "cycle {cycle} {event}: {snapshots:?}"
            );
        }
    }
    assert!(busy > 0, "the runs never overlapped");
    let counts = proxy.assert_faults_injected(20);
    eprintln!(
        "{OVERLAP_CYCLES} overlapping Studio cycles; {busy} runs found the lease held; {} requests, {} faults",
        counts.requests, counts.injected
    );
}

async fn read_snapshot(account: &Sandbox, bucket: &str, name: &str) -> Value {
    let out = account
        .aws
        .s3()
        .get_object()
        .bucket(bucket)
        .key(format!("snapshots/endpoints/{name}.json"))
        .send()
        .await
        .unwrap();
    serde_json::from_slice(&out.body.collect().await.unwrap().into_bytes()).unwrap()
}
