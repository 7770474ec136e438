//! encryption-enforcer remediation under injected faults (scripts/faultproxy.py, see
//! tests/faults.rs): the daily sweep, run until it has nothing left to do, leaves every bucket
//! as a fault-free sweep leaves the same buckets, and no run ever drops a statement of a bucket
//! policy.
//!
//! Two accounts of their own (so a sweep in remediate mode touches no other test's buckets)
//! get the same buckets: one is swept once without faults, the reference; the other is swept
//! through the proxy, then put back as it was seeded and swept again, several rounds. The
//! first runs of a round have only two SDK attempts per call, so faults get through the
//! retries and runs end half done; the next run must finish the job without harm.

use aws_sdk_s3::types::{
    ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration,
    ServerSideEncryptionRule,
};
use sagekeeper_core::{Aws, Outcome};
use serde_json::{Value, json};

mod support;
use support::faultproxy::Proxy;
use support::{Run, Sandbox, buckets, sandbox, unique};

const ENFORCER: &str = "encryption-enforcer";
const FAULT_RATE: &str = "0.15";
/// Fixed, so a failure can be replayed (the order in which concurrent calls draw still varies).
const SEED: u32 = 20261120;
/// SDK attempts per call in the first runs of a round: with two, about one call in 45 fails
/// for good, so those runs end with errors and work left for the next.
const HARD_ATTEMPTS: &str = "2";
const HARD_RUNS: usize = 3;
/// Attempts per call in the later runs, as tests/faults.rs has them: the retries hide nearly
/// every fault, so a round converges.
const ATTEMPTS: &str = "5";
const ROUNDS: usize = 5;
/// Runs allowed for one round to converge; each run redoes what failed before.
const MAX_RUNS: usize = 10;
const COPIES: usize = 2;
/// The Sid of the enforcer's TLS-only statement.
const OURS: &str = "SagekeeperDenyInsecureTransport";
const ROLE: &str = "arn:aws:iam::123456789012:role/SageMakerExecutionRole";

#[derive(Clone, Copy, Debug, PartialEq)]
enum Encryption {
    /// No default encryption configuration at all.
    None,
    Aes256,
    /// SSE-KMS with KMS_KEY_ARN.
    Required,
    /// SSE-KMS with another customer-managed key.
    Other,
}

/// How one kind of bucket starts out.
#[derive(Clone, Copy)]
struct Case {
    name: &'static str,
    encryption: Encryption,
    policy: fn(&str) -> Option<String>,
    public_access_block: bool,
    tags: &'static [(&'static str, &'static str)],
}

fn arn(bucket: &str) -> String {
    format!("arn:aws:s3:::{bucket}")
}

fn no_policy(_: &str) -> Option<String> {
    None
}

/// Three statements of the bucket's owner, and an `Id`.
fn several_statements(bucket: &str) -> Option<String> {
    let (bucket, objects) = (arn(bucket), format!("{}/*", arn(bucket)));
    let policy = json!({"Version": "2012-10-17", "Id": "acme-data", "Statement": [
        {"Sid": "SageMakerReads", "Effect": "Allow", "Principal": {"AWS": ROLE},
         "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": [bucket, objects]},
        {"Sid": "DenyUnencryptedUploads", "Effect": "Deny", "Principal": "*",
         "Action": "s3:PutObject", "Resource": objects,
         "Condition": {"StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"}}},
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::210987654321:root"},
         "Action": "s3:ListBucket", "Resource": bucket}
    ]});
    Some(policy.to_string())
}

/// One statement written as an object rather than a list of one.
fn single_statement(bucket: &str) -> Option<String> {
    let policy = json!({"Version": "2012-10-17", "Statement":
        {"Sid": "AuditorLists", "Effect": "Allow",
         "Principal": {"AWS": "arn:aws:iam::210987654321:role/Auditor"},
         "Action": "s3:ListBucket", "Resource": arn(bucket)}});
    Some(policy.to_string())
}

/// An edited copy of the enforcer's own statement (reads only, so not TLS-only any more),
/// which it puts right in place, beside a statement of the owner's.
fn stale_copy_of_ours(bucket: &str) -> Option<String> {
    let objects = format!("{}/*", arn(bucket));
    let policy = json!({"Version": "2012-10-17", "Statement": [
        {"Sid": OURS, "Effect": "Deny", "Principal": "*", "Action": "s3:GetObject",
         "Resource": objects, "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
        {"Sid": "SageMakerWrites", "Effect": "Allow", "Principal": {"AWS": ROLE},
         "Action": "s3:PutObject", "Resource": objects}
    ]});
    Some(policy.to_string())
}

/// The owner's own TLS-only rule (compliant) and another statement.
fn compliant(bucket: &str) -> Option<String> {
    let (bucket, objects) = (arn(bucket), format!("{}/*", arn(bucket)));
    let policy = json!({"Version": "2012-10-17", "Statement": [
        {"Sid": "OwnTlsRule", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
         "Resource": [bucket, objects], "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
        {"Sid": "SageMakerReads", "Effect": "Allow", "Principal": {"AWS": ROLE},
         "Action": "s3:GetObject", "Resource": objects}
    ]});
    Some(policy.to_string())
}

/// Real S3 refuses such a policy; the emulator stores it. The enforcer must leave it alone.
fn unparseable(_: &str) -> Option<String> {
    Some("{not json".to_owned())
}

const CASES: [Case; 8] = [
    Case {
        name: "open",
        encryption: Encryption::Aes256,
        policy: no_policy,
        public_access_block: false,
        tags: &[],
    },
    Case {
        name: "bare",
        encryption: Encryption::None,
        policy: no_policy,
        public_access_block: false,
        tags: &[],
    },
    Case {
        name: "multi",
        encryption: Encryption::Aes256,
        policy: several_statements,
        public_access_block: true,
        tags: &[],
    },
    Case {
        name: "single",
        encryption: Encryption::Required,
        policy: single_statement,
        public_access_block: false,
        tags: &[],
    },
    Case {
        name: "stale",
        encryption: Encryption::Other,
        policy: stale_copy_of_ours,
        public_access_block: true,
        tags: &[],
    },
    Case {
        name: "good",
        encryption: Encryption::Required,
        policy: compliant,
        public_access_block: true,
        tags: &[],
    },
    Case {
        name: "garbled",
        encryption: Encryption::Aes256,
        policy: unparseable,
        public_access_block: false,
        tags: &[],
    },
    Case {
        name: "exempt",
        encryption: Encryption::Aes256,
        policy: no_policy,
        public_access_block: false,
        tags: &[
            (
                "sagekeeper:exempt",
                "s3-default-encryption-kms s3-deny-insecure-transport s3-public-access-block",
            ),
            ("sagekeeper:exempt-reason", "public dataset"),
        ],
    },
];

/// One account's keys and buckets: `COPIES` buckets of every case, named `<prefix>-<case>-<i>`.
struct Fleet {
    account: Sandbox,
    prefix: String,
    required_key: String,
    other_key: String,
}

impl Fleet {
    async fn new(prefix: &str) -> Fleet {
        let account = sandbox("us-east-1").await;
        let kms = account.aws.kms();
        let mut keys = Vec::new();
        for _ in 0..2 {
            let key = kms.create_key().send().await.unwrap();
            keys.push(key.key_metadata.unwrap().arn.unwrap());
        }
        // The other key stays in use (its bucket keeps it); it starts rotating, so the test
        // is about buckets.
        kms.enable_key_rotation()
            .key_id(&keys[1])
            .send()
            .await
            .unwrap();
        let fleet = Fleet {
            account,
            prefix: unique(prefix),
            other_key: keys.pop().unwrap(),
            required_key: keys.pop().unwrap(),
        };
        for (name, _) in fleet.buckets() {
            let s3 = fleet.account.aws.s3();
            s3.create_bucket().bucket(&name).send().await.unwrap();
        }
        fleet.seed().await;
        fleet
    }

    fn buckets(&self) -> Vec<(String, Case)> {
        CASES
            .iter()
            .flat_map(|case| {
                (0..COPIES).map(move |i| (format!("{}-{}-{i}", self.prefix, case.name), *case))
            })
            .collect()
    }

    /// Every bucket as its case starts out, and KMS_KEY_ARN's key not rotating.
    async fn seed(&self) {
        let aws = &self.account.aws;
        for (name, case) in self.buckets() {
            let key = match case.encryption {
                Encryption::Required => Some(&self.required_key),
                Encryption::Other => Some(&self.other_key),
                _ => None,
            };
            set_encryption(aws, &name, case.encryption, key.map(String::as_str)).await;
            let s3 = aws.s3();
            match (case.policy)(&name) {
                Some(policy) => {
                    let put = s3.put_bucket_policy().bucket(&name).policy(policy);
                    put.send().await.unwrap();
                }
                None => {
                    let delete = s3.delete_bucket_policy().bucket(&name);
                    delete.send().await.unwrap();
                }
            }
            if case.public_access_block {
                buckets::block_public_access(aws, &name).await;
            } else {
                let delete = s3.delete_public_access_block().bucket(&name);
                delete.send().await.unwrap();
            }
            if !case.tags.is_empty() {
                buckets::put_tags(aws, &name, case.tags).await;
            }
        }
        let kms = aws.kms();
        let disable = kms.disable_key_rotation().key_id(&self.required_key);
        disable.send().await.unwrap();
    }

    /// One daily sweep of this fleet's buckets, in remediate mode (the default for S3 and KMS
    /// rules); `through` the proxy with that many SDK attempts per call, or straight to the
    /// emulator.
    fn sweep(&self, through: Option<(&Proxy, &'static str)>) -> Run {
        let mut env = vec![
            ("BUCKET_PREFIX", self.prefix.as_str()),
            ("KMS_KEY_ARN", self.required_key.as_str()),
        ];
        if let Some((proxy, attempts)) = through {
            env.extend(proxy.function_env(attempts));
        }
        self.account.run(ENFORCER, "scheduled.json", &[], &env)
    }

    /// What a sweep may change, with this fleet's names taken out so two fleets compare:
    /// per `<case>-<i>` the default encryption (the key as `required` or `other`), the policy
    /// (parsed, bucket as `BUCKET`; as stored when it does not parse) and the public access
    /// block; and whether KMS_KEY_ARN's key rotates.
    async fn state(&self) -> Value {
        let aws = &self.account.aws;
        let mut state = serde_json::Map::new();
        for (name, _) in self.buckets() {
            let (algorithm, key, bucket_key) = match encryption(aws, &name).await {
                Some((algorithm, key, bucket_key)) => (Some(algorithm), key, bucket_key),
                None => (None, None, false),
            };
            let key = key.map(|k| {
                if k == self.required_key {
                    "required".to_owned()
                } else if k == self.other_key {
                    "other".to_owned()
                } else {
                    k
                }
            });
            let policy = policy(aws, &name).await.map(|text| {
                let text = text.replace(&name, "BUCKET");
                serde_json::from_str::<Value>(&text).unwrap_or(Value::String(text))
            });
            let short = name.strip_prefix(&format!("{}-", self.prefix)).unwrap();
            state.insert(
                short.to_owned(),
                json!({
                    "encryption": [algorithm, key, bucket_key],
                    "policy": policy,
                    "public_access_block": public_access_block(aws, &name).await,
                }),
            );
        }
        let rotation = aws
            .kms()
            .get_key_rotation_status()
            .key_id(&self.required_key)
            .send()
            .await
            .unwrap()
            .key_rotation_enabled();
        json!({"buckets": state, "required_key_rotates": rotation})
    }

    /// After any run, finished or not: each policy still has every statement it was seeded
    /// with (the enforcer's own stale copy aside), at most one statement of the enforcer's,
    /// and nothing else; a policy that does not parse is as it was; so is an exempt bucket's.
    async fn assert_no_statement_lost(&self, context: &str) {
        let aws = &self.account.aws;
        for (name, case) in self.buckets() {
            let seeded = (case.policy)(&name);
            let now = policy(aws, &name).await;
            let context = format!("{context}, {name}: {now:?}");
            if case.name == "exempt" || case.name == "garbled" {
                assert_eq!(now, seeded, "{context}");
                continue;
            }
            let Some(now) = now else {
                // Only a bucket that never had a policy may still have none.
                assert_eq!(seeded, None, "{context}: the policy is gone");
                continue;
            };
            let now: Value = serde_json::from_str(&now).expect(&context);
            let now_statements = statements(&now);
            let seeded: Option<Value> = seeded.map(|s| serde_json::from_str(&s).unwrap());
            let kept: Vec<Value> = seeded
                .as_ref()
                .map(statements)
                .unwrap_or_default()
                .into_iter()
                .filter(|s| s["Sid"] != OURS)
                .collect();
            for statement in &kept {
                assert!(
                    now_statements.contains(statement),
                    "{context}: lost {statement}"
                );
            }
            let ours = now_statements.iter().filter(|s| s["Sid"] == OURS).count();
            assert!(ours <= 1, "{context}: {ours} statements of ours");
            assert_eq!(
                now_statements.len(),
                kept.len() + ours,
                "{context}: statements nobody wrote"
            );
            if let Some(seeded) = &seeded {
                assert_eq!(now["Id"], seeded["Id"], "{context}");
            }
        }
    }
}

async fn set_encryption(aws: &Aws, bucket: &str, encryption: Encryption, key: Option<&str>) {
    let s3 = aws.s3();
    let default = match encryption {
        Encryption::None => {
            let delete = s3.delete_bucket_encryption().bucket(bucket);
            delete.send().await.unwrap();
            return;
        }
        Encryption::Aes256 => {
            ServerSideEncryptionByDefault::builder().sse_algorithm(ServerSideEncryption::Aes256)
        }
        Encryption::Required | Encryption::Other => ServerSideEncryptionByDefault::builder()
            .sse_algorithm(ServerSideEncryption::AwsKms)
            .set_kms_master_key_id(key.map(str::to_owned)),
    };
    let rule = ServerSideEncryptionRule::builder()
        .apply_server_side_encryption_by_default(default.build().unwrap())
        .bucket_key_enabled(key.is_some())
        .build();
    let configuration = ServerSideEncryptionConfiguration::builder()
        .rules(rule)
        .build()
        .unwrap();
    s3.put_bucket_encryption()
        .bucket(bucket)
        .server_side_encryption_configuration(configuration)
        .send()
        .await
        .unwrap();
}

/// (algorithm, key, bucket key) of the default encryption; `None` without a configuration.
async fn encryption(aws: &Aws, bucket: &str) -> Option<(String, Option<String>, bool)> {
    let out = aws
        .s3()
        .get_bucket_encryption()
        .bucket(bucket)
        .send()
        .await
        .ok()?;
    let rule = out.server_side_encryption_configuration?.rules[0].clone();
    let default = rule.apply_server_side_encryption_by_default()?;
    Some((
        default.sse_algorithm().as_str().to_owned(),
        default.kms_master_key_id().map(str::to_owned),
        rule.bucket_key_enabled().unwrap_or(false),
    ))
}

async fn policy(aws: &Aws, bucket: &str) -> Option<String> {
    let out = aws.s3().get_bucket_policy().bucket(bucket).send().await;
    out.ok().and_then(|out| out.policy)
}

/// The four settings, or `None` when the bucket has no public access block.
async fn public_access_block(aws: &Aws, bucket: &str) -> Option<[Option<bool>; 4]> {
    let out = aws
        .s3()
        .get_public_access_block()
        .bucket(bucket)
        .send()
        .await
        .ok()?;
    let c = out.public_access_block_configuration?;
    Some([
        c.block_public_acls(),
        c.ignore_public_acls(),
        c.block_public_policy(),
        c.restrict_public_buckets(),
    ])
}

/// A policy's statements: a list, or one statement written as an object.
fn statements(policy: &Value) -> Vec<Value> {
    match &policy["Statement"] {
        Value::Array(list) => list.clone(),
        single @ Value::Object(_) => vec![single.clone()],
        _ => Vec::new(),
    }
}

/// A sweep with nothing left to do: it succeeded and every action it reports was skipped
/// (the unparseable policy's).
fn converged(run: &Run) -> bool {
    let actions = run.try_report().map(|r| &r.actions);
    run.code() == 0 && actions.is_some_and(|a| a.iter().all(|a| a.outcome == Outcome::Skipped))
}

#[tokio::test(flavor = "multi_thread")]
async fn remediation_under_faults_ends_as_without_faults_and_keeps_every_statement() {
    // GIVEN the same buckets in two accounts
    let reference = Fleet::new("skf-ref").await;
    let faulty = Fleet::new("skf-flt").await;
    let seeded = faulty.state().await;
    assert_eq!(reference.state().await, seeded, "both fleets start alike");

    // WHEN one is swept without faults
    let clean = reference.sweep(None);
    assert_eq!(clean.code(), 0, "{}\n{}", clean.json, clean.stderr());
    reference.assert_no_statement_lost("fault-free sweep").await;
    let expected = reference.state().await;
    assert!(converged(&reference.sweep(None)), "one sweep is enough");
    assert_eq!(
        reference.state().await,
        expected,
        "a second sweep changes nothing"
    );
    assert_remediated(&expected, &seeded);

    // AND the other, through the proxy, round after round from its seeded state
    let proxy = Proxy::start(FAULT_RATE, SEED, &[]);
    let (mut runs, mut half_done) = (0, 0);
    for round in 0..ROUNDS {
        if round > 0 {
            faulty.seed().await;
            assert_eq!(faulty.state().await, seeded, "round {round}: reseeded");
        }
        let mut done = false;
        for attempt in 1..=MAX_RUNS {
            let attempts = if attempt <= HARD_RUNS {
                HARD_ATTEMPTS
            } else {
                ATTEMPTS
            };
            let run = faulty.sweep(Some((&proxy, attempts)));
            runs += 1;
            // THEN no run, however it ended, lost a statement
            let context = format!("round {round}, run {attempt}");
            faulty.assert_no_statement_lost(&context).await;
            if converged(&run) {
                done = true;
                break;
            }
            let wrote = run
                .try_report()
                .is_some_and(|r| r.actions.iter().any(|a| a.outcome == Outcome::Done));
            half_done += usize::from(wrote && run.code() != 0);
            if attempt == MAX_RUNS {
                eprintln!("{context}: {}\n{}", run.json, run.stderr());
            }
        }
        assert!(done, "round {round}: not converged after {MAX_RUNS} runs");
        // AND the buckets end as the fault-free sweep left them
        assert_eq!(faulty.state().await, expected, "round {round}");
    }

    let counts = proxy.assert_faults_injected(100 * ROUNDS as u64);
    eprintln!(
        "{ROUNDS} rounds over {} buckets in {runs} runs ({half_done} changed something and \
         failed); {} requests, {} faults injected: {}",
        CASES.len() * COPIES,
        counts.requests,
        counts.injected,
        counts.all
    );
    // Faults got through the retries and left runs half done: the case this test is about.
    assert!(half_done > 0, "no run was left half done by a fault");
}

/// The fault-free sweep did remediate (so an enforcer that did nothing could not make the two
/// fleets agree): every bucket it may fix is fixed, and the rest are as they were.
#[track_caller]
fn assert_remediated(after: &Value, before: &Value) {
    let on = json!([true, true, true, true]);
    let encrypted = json!(["aws:kms", "required", true]);
    for (short, bucket) in after["buckets"].as_object().unwrap() {
        let was = &before["buckets"][short];
        if short.starts_with("exempt-") {
            assert_eq!(bucket, was, "{short}");
            continue;
        }
        // A bucket on its owner's key keeps it; one whose policy cannot be read may be a log
        // target (the policy would say), so it keeps SSE-S3.
        if short.starts_with("stale-") {
            assert_eq!(
                bucket["encryption"],
                json!(["aws:kms", "other", true]),
                "{short}"
            );
        } else if short.starts_with("garbled-") {
            assert_eq!(bucket["encryption"], was["encryption"], "{short}");
        } else {
            assert_eq!(bucket["encryption"], encrypted, "{short}");
        }
        assert_eq!(bucket["public_access_block"], on, "{short}");
        let policy = &bucket["policy"];
        if short.starts_with("garbled-") {
            assert_eq!(policy, &was["policy"], "{short}");
        } else if short.starts_with("good-") {
            assert_eq!(policy, &was["policy"], "{short}: already TLS-only");
        } else {
            let ours: Vec<Value> = statements(policy)
                .into_iter()
                .filter(|s| s["Sid"] == OURS)
                .collect();
            assert_eq!(ours.len(), 1, "{short}: {policy}");
            assert_eq!(
                ours[0]["Resource"],
                json!(["arn:aws:s3:::BUCKET", "arn:aws:s3:::BUCKET/*"])
            );
        }
    }
    assert_eq!(after["required_key_rotates"], true);
}
