//! Every sample in events/ parses into the trigger its functions accept, and a malformed copy
//! of each is rejected with an error that says what is wrong.

use sagekeeper_core::events::{AlarmDelivery, AlarmState, EventError};
use sagekeeper_core::run::fanout;
use sagekeeper_core::{Trigger, TriggerKind};
use serde_json::Value;

mod support;

/// (file, kind, functions that accept it)
const SAMPLES: &[(&str, TriggerKind, &[&str])] = &[
    (
        "scheduled.json",
        TriggerKind::Schedule,
        &[
            "endpoint-scheduler",
            "encryption-enforcer",
            "lifecycle-tagger",
        ],
    ),
    (
        "scheduled-morning.json",
        TriggerKind::Schedule,
        &["endpoint-scheduler"],
    ),
    (
        "cloudtrail-s3-create-bucket.json",
        TriggerKind::ApiCall,
        &["encryption-enforcer", "lifecycle-tagger"],
    ),
    (
        "cloudtrail-s3-put-bucket-encryption.json",
        TriggerKind::ApiCall,
        &["encryption-enforcer"],
    ),
    (
        "cloudtrail-s3-delete-bucket-encryption.json",
        TriggerKind::ApiCall,
        &["encryption-enforcer"],
    ),
    (
        "cloudtrail-s3-put-bucket-policy.json",
        TriggerKind::ApiCall,
        &["encryption-enforcer"],
    ),
    (
        "cloudtrail-s3-delete-bucket-public-access-block.json",
        TriggerKind::ApiCall,
        &["encryption-enforcer"],
    ),
    (
        "cloudtrail-sagemaker-create-processing-job.json",
        TriggerKind::ApiCall,
        &["encryption-enforcer"],
    ),
    (
        "cloudtrail-sagemaker-create-transform-job.json",
        TriggerKind::ApiCall,
        &["encryption-enforcer"],
    ),
    (
        "cloudtrail-sagemaker-create-hyper-parameter-tuning-job.json",
        TriggerKind::ApiCall,
        &["encryption-enforcer"],
    ),
    (
        "cloudtrail-sagemaker-create-training-job.json",
        TriggerKind::ApiCall,
        &["encryption-enforcer", "lifecycle-tagger"],
    ),
    (
        "cloudtrail-sagemaker-create-endpoint-config.json",
        TriggerKind::ApiCall,
        &["encryption-enforcer", "lifecycle-tagger"],
    ),
    (
        "cloudtrail-sagemaker-create-endpoint.json",
        TriggerKind::ApiCall,
        &["lifecycle-tagger"],
    ),
    (
        "cloudtrail-sagemaker-create-notebook-instance.json",
        TriggerKind::ApiCall,
        &["encryption-enforcer", "lifecycle-tagger"],
    ),
    (
        "cloudtrail-sagemaker-create-space.json",
        TriggerKind::ApiCall,
        &["lifecycle-tagger"],
    ),
    (
        "alarm-eventbridge.json",
        TriggerKind::Alarm,
        &["drift-retrainer"],
    ),
    (
        "alarm-eventbridge-ok.json",
        TriggerKind::Alarm,
        &["drift-retrainer"],
    ),
    (
        "alarm-lambda-action.json",
        TriggerKind::Alarm,
        &["drift-retrainer"],
    ),
    ("alarm-sns.json", TriggerKind::Alarm, &["drift-retrainer"]),
];

/// SQS deliveries of the organisation fan-out: each message carries a trigger and a target.
const FANOUT_SAMPLES: &[&str] = &["sqs-fanout.json"];

fn accepted_by(function: &str) -> &'static [TriggerKind] {
    match function {
        "endpoint-scheduler" => &[TriggerKind::Schedule],
        "drift-retrainer" => &[TriggerKind::Alarm],
        _ => &[TriggerKind::Schedule, TriggerKind::ApiCall],
    }
}

fn load(file: &str) -> Value {
    let path = support::repo_root().join("events").join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"))
}

#[test]
fn every_sample_file_is_listed_here() {
    let mut on_disk: Vec<String> = std::fs::read_dir(support::repo_root().join("events"))
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|name| name.ends_with(".json"))
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = SAMPLES
        .iter()
        .map(|(f, ..)| f.to_string())
        .chain(FANOUT_SAMPLES.iter().map(|f| f.to_string()))
        .collect();
    listed.sort();
    assert_eq!(on_disk, listed);
}

#[test]
fn every_sample_parses_for_each_function_that_consumes_it() {
    for (file, kind, functions) in SAMPLES {
        let event = load(file);
        for function in *functions {
            let trigger = Trigger::parse_for(function, &event, accepted_by(function))
                .unwrap_or_else(|e| panic!("{file} for {function}: {e}"));
            assert_eq!(trigger.kind(), *kind, "{file}");
        }
    }
}

#[test]
fn api_call_samples_name_their_resource() {
    for (file, kind, _) in SAMPLES
        .iter()
        .filter(|(_, k, _)| *k == TriggerKind::ApiCall)
    {
        let Trigger::ApiCall(call) = Trigger::parse(&load(file)).unwrap() else {
            panic!("{file} is not a {kind}")
        };
        let resource = call
            .resource()
            .unwrap()
            .unwrap_or_else(|| panic!("{file}: no resource"));
        assert!(
            resource.arn.starts_with("arn:aws:"),
            "{file}: {}",
            resource.arn
        );
        assert!(!resource.name.is_empty());
    }
    let Trigger::ApiCall(call) =
        Trigger::parse(&load("cloudtrail-sagemaker-create-training-job.json")).unwrap()
    else {
        panic!()
    };
    let resource = call.resource().unwrap().unwrap();
    assert_eq!(resource.kind, "training-job");
    assert_eq!(
        resource.arn,
        "arn:aws:sagemaker:us-east-1:123456789012:training-job/churn-xgb-2026-11-20"
    );
}

#[test]
fn the_three_alarm_shapes_describe_the_same_transition() {
    let alarms: Vec<_> = [
        "alarm-eventbridge.json",
        "alarm-lambda-action.json",
        "alarm-sns.json",
    ]
    .iter()
    .map(|file| match Trigger::parse(&load(file)).unwrap() {
        Trigger::Alarm(alarm) => *alarm,
        other => panic!("{file}: {other:?}"),
    })
    .collect();
    for alarm in &alarms {
        assert_eq!(alarm.alarm_name, "sagekeeper-drift-fraud-detector-dev");
        assert_eq!(alarm.state, AlarmState::Alarm);
        assert_eq!(alarm.previous_state, Some(AlarmState::Ok));
        assert_eq!(alarm.dimension("Endpoint"), Some("fraud-detector-dev"));
        assert_eq!(
            alarm.dimension("MonitoringSchedule"),
            Some("fraud-detector-dev-data-quality")
        );
        assert_eq!(
            alarm.changed_at, alarms[0].changed_at,
            "{:?}",
            alarm.delivery
        );
    }
    let deliveries: Vec<_> = alarms.iter().map(|a| a.delivery).collect();
    assert_eq!(
        deliveries,
        [
            AlarmDelivery::EventBridge,
            AlarmDelivery::LambdaAction,
            AlarmDelivery::Sns
        ]
    );

    let Trigger::Alarm(ok) = Trigger::parse(&load("alarm-eventbridge-ok.json")).unwrap() else {
        panic!()
    };
    assert_eq!(ok.state, AlarmState::Ok);
}

/// A copy with the part that carries the meaning broken: still JSON, wrong shape.
fn malformed(event: &Value) -> Value {
    let mut copy = event.clone();
    if let Some(records) = copy.get_mut("Records") {
        records[0]["Sns"]["Message"] = Value::String("{not an alarm".into());
    } else if let Some(data) = copy.get_mut("alarmData") {
        data.as_object_mut().unwrap().remove("alarmName");
    } else if copy["detail-type"] == "Scheduled Event" {
        copy.as_object_mut().unwrap().remove("time");
    } else {
        copy["detail"] = Value::String("not an object".into());
    }
    copy
}

#[test]
fn a_malformed_copy_of_every_sample_is_rejected_clearly() {
    for (file, kind, _) in SAMPLES {
        let err = Trigger::parse(&malformed(&load(file))).expect_err(file);
        assert!(
            matches!(err, EventError::Malformed { kind: k, .. } | EventError::Invalid { kind: k, .. } if k == *kind),
            "{file}: {err}"
        );
        assert!(
            err.to_string().starts_with(&format!("malformed {kind}")),
            "{file}: {err}"
        );
    }
}

#[test]
fn fanout_samples_carry_a_target_and_a_trigger_its_function_accepts() {
    for file in FANOUT_SAMPLES {
        let deliveries = fanout::deliveries(&load(file)).unwrap_or_else(|| panic!("{file}"));
        assert!(!deliveries.is_empty(), "{file}");
        for delivery in deliveries {
            assert!(!delivery.message_id.is_empty(), "{file}");
            let message = delivery.message.unwrap_or_else(|e| panic!("{file}: {e}"));
            assert_eq!(message.target.account.len(), 12, "{file}");
            let trigger = Trigger::parse_for(
                &message.function,
                &message.event,
                accepted_by(&message.function),
            )
            .unwrap_or_else(|e| panic!("{file}: {e}"));
            assert_eq!(trigger.kind(), TriggerKind::Schedule, "{file}");
        }
        // A body that is not a target message is named by its message id, not dropped.
        let mut broken = load(file);
        broken["Records"][0]["body"] = Value::String("{\"function\": 1}".into());
        let deliveries = fanout::deliveries(&broken).unwrap();
        assert!(!deliveries[0].message_id.is_empty());
        assert!(
            deliveries[0]
                .message
                .as_ref()
                .unwrap_err()
                .contains("not a sagekeeper target message"),
            "{file}"
        );
    }
}
