//! Bucket policies: does one deny requests over plain HTTP, and the policy with our TLS-only
//! statement merged in.
//!
//! The merge never touches other statements: they are carried over as parsed JSON values, equal
//! to what was stored (key order within an object may differ, as it does for any JSON
//! re-serialization; IAM ignores it). Our statement is recognised by its Sid, so merging into a
//! policy that already has it changes nothing, and a run after a remediation is a no-op.

use serde_json::{Map, Value, json};

/// The Sid of the statement sagekeeper adds; nothing else in a policy is ever ours.
pub const SID: &str = "SagekeeperDenyInsecureTransport";

/// S3's limit on the size of a bucket policy.
pub const MAX_POLICY_BYTES: usize = 20 * 1024;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PolicyError {
    #[error("the bucket policy is not valid JSON: {0}")]
    NotJson(String),
    #[error("the bucket policy is not a policy document: {0}")]
    NotAPolicy(&'static str),
    #[error(
        "adding the TLS-only statement would make the policy {0} bytes, over S3's limit of 20 KB"
    )]
    TooLarge(usize),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Merge {
    /// Our statement is already there, exactly as we would write it.
    Unchanged,
    /// The policy to store.
    Updated(String),
}

/// The statement denying every S3 action on the bucket and its objects unless the request came
/// over TLS.
pub fn tls_only_statement(bucket: &str) -> Value {
    let arn = sagekeeper_core::s3::bucket_arn(bucket);
    json!({
        "Sid": SID,
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [arn.clone(), format!("{arn}/*")],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}}
    })
}

/// `policy` with our TLS-only statement: added at the end, or put in place of an edited copy
/// of it; every other statement stays as it was.
pub fn merge_tls_only(policy: Option<&str>, bucket: &str) -> Result<Merge, PolicyError> {
    let ours = tls_only_statement(bucket);
    let (mut document, mut statements) = match policy {
        None => (Map::new(), Vec::new()),
        Some(text) => {
            let mut document = parse(text)?;
            let statements = match document.remove("Statement") {
                None => Vec::new(),
                Some(Value::Array(list)) => list,
                // A single statement may be written as an object instead of a list of one.
                Some(single @ Value::Object(_)) => vec![single],
                Some(_) => return Err(PolicyError::NotAPolicy("Statement is not a list")),
            };
            (document, statements)
        }
    };
    match statements
        .iter()
        .position(|s| s.get("Sid") == ours.get("Sid"))
    {
        Some(at) if statements[at] == ours => return Ok(Merge::Unchanged),
        Some(at) => statements[at] = ours,
        None => statements.push(ours),
    }
    document
        .entry("Version")
        .or_insert_with(|| Value::String("2012-10-17".to_owned()));
    document.insert("Statement".to_owned(), Value::Array(statements));
    let text = Value::Object(document).to_string();
    if text.len() > MAX_POLICY_BYTES {
        return Err(PolicyError::TooLarge(text.len()));
    }
    Ok(Merge::Updated(text))
}

/// True when some statement denies all S3 actions on the bucket's objects to everyone when
/// `aws:SecureTransport` is false: ours, or any equivalent one somebody else wrote.
pub fn denies_insecure_transport(policy: &str, bucket: &str) -> Result<bool, PolicyError> {
    let document = parse(policy)?;
    let statements = match document.get("Statement") {
        None => return Ok(false),
        Some(Value::Array(list)) => list.iter().collect(),
        Some(single @ Value::Object(_)) => vec![single],
        Some(_) => return Err(PolicyError::NotAPolicy("Statement is not a list")),
    };
    let objects = format!("{}/*", sagekeeper_core::s3::bucket_arn(bucket));
    Ok(statements.into_iter().any(|s| {
        s.get("Effect").and_then(Value::as_str) == Some("Deny")
            && is_everyone(s.get("Principal"))
            && strings(s.get("Action")).any(|a| a == "s3:*" || a == "*")
            && strings(s.get("Resource")).any(|r| r == "*" || r == objects)
            && insecure_transport_condition(s.get("Condition"))
    }))
}

fn parse(text: &str) -> Result<Map<String, Value>, PolicyError> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(document)) => Ok(document),
        Ok(_) => Err(PolicyError::NotAPolicy("not a JSON object")),
        Err(err) => Err(PolicyError::NotJson(err.to_string())),
    }
}

/// A string or a list of strings, as IAM allows for Action, Resource and condition values.
fn strings(value: Option<&Value>) -> impl Iterator<Item = &str> {
    let list: Vec<&str> = match value {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    list.into_iter()
}

fn is_everyone(principal: Option<&Value>) -> bool {
    match principal {
        Some(Value::String(s)) => s == "*",
        Some(Value::Object(map)) => strings(map.get("AWS")).any(|p| p == "*"),
        _ => false,
    }
}

/// `{"Bool": {"aws:SecureTransport": "false"}}`, with IAM's case-insensitive condition keys and
/// the boolean written as a string, a JSON boolean or a list of one.
fn insecure_transport_condition(condition: Option<&Value>) -> bool {
    let Some(Value::Object(operators)) = condition else {
        return false;
    };
    operators
        .iter()
        .filter(|(operator, _)| operator.as_str() == "Bool")
        .filter_map(|(_, keys)| keys.as_object())
        .flat_map(|keys| keys.iter())
        .filter(|(key, _)| key.eq_ignore_ascii_case("aws:SecureTransport"))
        .any(|(_, value)| match value {
            Value::Bool(b) => !b,
            Value::String(s) => s.eq_ignore_ascii_case("false"),
            Value::Array(items) => items.iter().any(|v| {
                v.as_str().is_some_and(|s| s.eq_ignore_ascii_case("false"))
                    || v == &Value::Bool(false)
            }),
            _ => false,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUCKET: &str = "acme-ml-experiment-logs";

    fn other_statements() -> Value {
        json!([
            {"Sid": "SageMakerReads", "Effect": "Allow",
             "Principal": {"AWS": "arn:aws:iam::123456789012:role/SageMakerExecutionRole"},
             "Action": ["s3:GetObject", "s3:ListBucket"],
             "Resource": ["arn:aws:s3:::acme-ml-experiment-logs", "arn:aws:s3:::acme-ml-experiment-logs/*"]},
            {"Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
             "Resource": "arn:aws:s3:::acme-ml-experiment-logs/*",
             "Condition": {"StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"}}}
        ])
    }

    fn updated(merge: Merge) -> Value {
        match merge {
            Merge::Updated(text) => serde_json::from_str(&text).unwrap(),
            Merge::Unchanged => panic!("expected a change"),
        }
    }

    #[test]
    fn merging_keeps_every_other_statement_and_the_version() {
        let policy = json!({"Version": "2008-10-17", "Id": "p1", "Statement": other_statements()});
        let merged = updated(merge_tls_only(Some(&policy.to_string()), BUCKET).unwrap());
        assert_eq!(merged["Version"], "2008-10-17");
        assert_eq!(merged["Id"], "p1");
        let statements = merged["Statement"].as_array().unwrap();
        assert_eq!(statements.len(), 3);
        assert_eq!(
            &statements[..2],
            other_statements().as_array().unwrap().as_slice()
        );
        assert_eq!(statements[2], tls_only_statement(BUCKET));
        assert!(denies_insecure_transport(&merged.to_string(), BUCKET).unwrap());
    }

    #[test]
    fn merging_twice_changes_nothing_the_second_time() {
        let policy = json!({"Version": "2012-10-17", "Statement": other_statements()}).to_string();
        let first = match merge_tls_only(Some(&policy), BUCKET).unwrap() {
            Merge::Updated(text) => text,
            Merge::Unchanged => panic!("expected a change"),
        };
        assert_eq!(
            merge_tls_only(Some(&first), BUCKET).unwrap(),
            Merge::Unchanged
        );
    }

    #[test]
    fn an_edited_copy_of_our_statement_is_replaced_in_place() {
        let mut edited = tls_only_statement(BUCKET);
        edited["Condition"] = json!({"Bool": {"aws:SecureTransport": "true"}});
        let mut statements = other_statements();
        statements.as_array_mut().unwrap().insert(1, edited);
        let policy = json!({"Version": "2012-10-17", "Statement": statements}).to_string();
        let merged = updated(merge_tls_only(Some(&policy), BUCKET).unwrap());
        let statements = merged["Statement"].as_array().unwrap();
        assert_eq!(statements.len(), 3);
        assert_eq!(statements[1], tls_only_statement(BUCKET));
        assert_eq!(statements[0], other_statements()[0]);
        assert_eq!(statements[2], other_statements()[1]);
    }

    #[test]
    fn no_policy_gets_a_policy_of_our_statement() {
        let merged = updated(merge_tls_only(None, BUCKET).unwrap());
        assert_eq!(
            merged,
            json!({"Version": "2012-10-17", "Statement": [tls_only_statement(BUCKET)]})
        );
    }

    #[test]
    fn a_single_statement_object_is_kept() {
        let single = other_statements()[0].clone();
        let policy = json!({"Version": "2012-10-17", "Statement": single.clone()}).to_string();
        let merged = updated(merge_tls_only(Some(&policy), BUCKET).unwrap());
        assert_eq!(merged["Statement"][0], single);
        assert_eq!(merged["Statement"][1], tls_only_statement(BUCKET));
    }

    #[test]
    fn an_unparseable_policy_is_refused() {
        for bad in ["{not json", "[1, 2]", r#"{"Statement": "everything"}"#] {
            assert!(merge_tls_only(Some(bad), BUCKET).is_err(), "{bad}");
            assert!(denies_insecure_transport(bad, BUCKET).is_err(), "{bad}");
        }
        assert!(matches!(
            merge_tls_only(Some("{not json"), BUCKET),
            Err(PolicyError::NotJson(_))
        ));
    }

    #[test]
    fn a_policy_too_large_for_s3_is_refused() {
        let filler: Vec<Value> = (0..400)
            .map(|i| json!({"Sid": format!("S{i}"), "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}))
            .collect();
        let policy = json!({"Version": "2012-10-17", "Statement": filler}).to_string();
        assert!(matches!(
            merge_tls_only(Some(&policy), BUCKET),
            Err(PolicyError::TooLarge(_))
        ));
    }

    #[test]
    fn recognises_equivalent_statements_written_by_others() {
        let check = |statement: Value| {
            denies_insecure_transport(&json!({"Statement": [statement]}).to_string(), BUCKET)
                .unwrap()
        };
        assert!(check(
            json!({"Effect": "Deny", "Principal": {"AWS": ["*"]}, "Action": ["s3:*"],
            "Resource": ["arn:aws:s3:::acme-ml-experiment-logs/*"],
            "Condition": {"Bool": {"aws:securetransport": false}}})
        ));
        assert!(check(
            json!({"Effect": "Deny", "Principal": "*", "Action": "*", "Resource": "*",
            "Condition": {"Bool": {"aws:SecureTransport": ["false"]}}})
        ));
        // Not enough: only the bucket (not its objects), only some actions, only some principals,
        // an Allow, or another condition.
        assert!(!check(
            json!({"Effect": "Deny", "Principal": "*", "Action": "s3:*",
            "Resource": "arn:aws:s3:::acme-ml-experiment-logs",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}})
        ));
        assert!(!check(
            json!({"Effect": "Deny", "Principal": "*", "Action": "s3:GetObject",
            "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}})
        ));
        assert!(!check(
            json!({"Effect": "Deny", "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
            "Action": "s3:*", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}})
        ));
        assert!(!check(
            json!({"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*",
            "Condition": {"Bool": {"aws:SecureTransport": "true"}}})
        ));
        assert!(!check(
            json!({"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*",
            "Condition": {"NumericLessThan": {"s3:TlsVersion": "1.2"}}})
        ));
        assert!(!denies_insecure_transport(r#"{"Version": "2012-10-17"}"#, BUCKET).unwrap());
    }
}
