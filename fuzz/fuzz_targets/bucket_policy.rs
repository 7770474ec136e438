//! Any bucket policy text: merging our TLS-only statement never panics, keeps every statement
//! that was there, and merging twice changes nothing.
#![no_main]

use libfuzzer_sys::fuzz_target;

// bucket_policy.rs names the core crate's `s3::bucket_arn`; this crate stands in for it so the
// target needs no AWS SDK.
extern crate self as sagekeeper_core;
pub mod s3 {
    pub fn bucket_arn(bucket: &str) -> String {
        format!("arn:aws:s3:::{bucket}")
    }
}

#[path = "../../functions/encryption-enforcer/src/bucket_policy.rs"]
#[allow(dead_code)]
mod bucket_policy;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(bucket_policy::Merge::Updated(merged)) = bucket_policy::merge_tls_only(Some(text), "fuzz-bucket") else {
        return;
    };
    let before: serde_json::Value = serde_json::from_str(text).unwrap_or_default();
    let after: serde_json::Value = serde_json::from_str(&merged).expect("the merged policy is JSON");
    let kept = |statement: &serde_json::Value| {
        after["Statement"].as_array().is_some_and(|all| all.contains(statement))
    };
    if let Some(statements) = before["Statement"].as_array() {
        for statement in statements {
            if statement["Sid"] != bucket_policy::SID {
                assert!(kept(statement), "a statement was lost");
            }
        }
    }
    assert!(
        matches!(bucket_policy::merge_tls_only(Some(&merged), "fuzz-bucket"), Ok(bucket_policy::Merge::Unchanged)),
        "merging twice changed the policy"
    );
});
