//! Bucket policies: does one deny requests over plain HTTP, and the policy with our TLS-only
//! statement merged in.
//!
//! The merge never touches other statements: they are carried over as parsed JSON values, equal
//! to what was stored (key order within an object may differ, as it does for any JSON
//! re-serialization; IAM ignores it). Our statement is recognised by its Sid. A policy that
//! already denies requests without TLS (by effect, not by text: ours, an owner's edited copy of
//! ours with their exceptions, or an equivalent statement of theirs) is left as it is, so a run
//! after a remediation is a no-op and an owner's exception is not reverted every day.

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
    /// The policy already denies requests without TLS (see `tls_deny`): nothing to change.
    Unchanged,
    /// The policy to store.
    Updated(String),
}

/// How a policy denies requests made without TLS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsDeny {
    Absent,
    /// A statement denies every S3 action on the bucket's objects to everyone without TLS.
    Everyone,
    /// Denied with the owner's exceptions: our statement as they edited it (a principal
    /// exception, an extra condition), or a deny of everyone with extra conditions. Each
    /// exception, as written.
    WithExceptions(Vec<String>),
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
/// of it that no longer denies requests without TLS; every other statement stays as it was. A
/// policy that already denies them (`tls_deny` is not `Absent`) is `Unchanged`.
pub fn merge_tls_only(policy: Option<&str>, bucket: &str) -> Result<Merge, PolicyError> {
    let ours = tls_only_statement(bucket);
    let (mut document, mut statements) = match policy {
        None => (Map::new(), Vec::new()),
        Some(text) => {
            if tls_deny(text, bucket)? != TlsDeny::Absent {
                return Ok(Merge::Unchanged);
            }
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

/// True when the policy denies requests without TLS (`tls_deny` is not `Absent`).
pub fn denies_insecure_transport(policy: &str, bucket: &str) -> Result<bool, PolicyError> {
    Ok(tls_deny(policy, bucket)? != TlsDeny::Absent)
}

/// Whether some statement denies all S3 actions on the bucket's objects when
/// `aws:SecureTransport` is false, compared by effect: ours, an equivalent one somebody else
/// wrote, or ours as the owner edited it. Someone else's statement counts only when it denies
/// everyone (a deny of a few principals is not a TLS-only rule); our own statement keeps
/// counting with the owner's principal exception (`NotPrincipal`, a narrower `Principal`) or
/// extra conditions, which are returned so they can be reported.
pub fn tls_deny(policy: &str, bucket: &str) -> Result<TlsDeny, PolicyError> {
    let document = parse(policy)?;
    let objects = format!("{}/*", sagekeeper_core::s3::bucket_arn(bucket));
    let mut exceptions = Vec::new();
    for s in statements(&document)? {
        let denies = s.get("Effect").and_then(Value::as_str) == Some("Deny")
            && strings(s.get("Action")).any(|a| a == "s3:*" || a == "*")
            && strings(s.get("Resource")).any(|r| r == "*" || r == objects)
            && insecure_transport_condition(s.get("Condition"));
        if !denies {
            continue;
        }
        let principal = principal_exception(s);
        let ours = s.get("Sid").and_then(Value::as_str) == Some(SID);
        if principal.is_some() && !ours {
            continue;
        }
        let found: Vec<String> = principal
            .into_iter()
            .chain(condition_exceptions(s.get("Condition")))
            .collect();
        if found.is_empty() {
            return Ok(TlsDeny::Everyone);
        }
        exceptions.extend(found);
    }
    Ok(if exceptions.is_empty() {
        TlsDeny::Absent
    } else {
        TlsDeny::WithExceptions(exceptions)
    })
}

/// Every principal an `Allow` statement names (`*`, account or role ARNs, account ids, service
/// names), for telling which services deliver to the bucket.
pub fn allowed_principals(policy: &str) -> Result<Vec<String>, PolicyError> {
    let document = parse(policy)?;
    let mut found = Vec::new();
    for s in statements(&document)? {
        if s.get("Effect").and_then(Value::as_str) != Some("Allow") {
            continue;
        }
        match s.get("Principal") {
            Some(Value::String(p)) => found.push(p.clone()),
            Some(Value::Object(kinds)) => {
                for names in kinds.values() {
                    found.extend(strings(Some(names)).map(str::to_owned));
                }
            }
            _ => {}
        }
    }
    Ok(found)
}

/// The statements of `before` (other than ours, which a merge may replace) that `after` no
/// longer has. A missing or unparseable policy has no statements.
pub fn lost_statements(before: Option<&str>, after: Option<&str>) -> Vec<Value> {
    let all = |text: Option<&str>| -> Vec<Value> {
        text.and_then(|t| parse(t).ok())
            .and_then(|d| {
                statements(&d)
                    .ok()
                    .map(|s| s.into_iter().cloned().collect())
            })
            .unwrap_or_default()
    };
    let kept = all(after);
    all(before)
        .into_iter()
        .filter(|s| s.get("Sid").and_then(Value::as_str) != Some(SID))
        .filter(|s| !kept.contains(s))
        .collect()
}

fn parse(text: &str) -> Result<Map<String, Value>, PolicyError> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(document)) => Ok(document),
        Ok(_) => Err(PolicyError::NotAPolicy("not a JSON object")),
        Err(err) => Err(PolicyError::NotJson(err.to_string())),
    }
}

fn statements(document: &Map<String, Value>) -> Result<Vec<&Value>, PolicyError> {
    match document.get("Statement") {
        None => Ok(Vec::new()),
        Some(Value::Array(list)) => Ok(list.iter().collect()),
        Some(single @ Value::Object(_)) => Ok(vec![single]),
        Some(_) => Err(PolicyError::NotAPolicy("Statement is not a list")),
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

/// Who a deny statement leaves out, when it does not cover everyone.
fn principal_exception(statement: &Value) -> Option<String> {
    if let Some(not) = statement.get("NotPrincipal") {
        return Some(format!("NotPrincipal {not}"));
    }
    let principal = statement.get("Principal");
    if is_everyone(principal) {
        return None;
    }
    Some(match principal {
        Some(p) => format!("only Principal {p}"),
        None => "no Principal".to_owned(),
    })
}

/// The conditions of a deny besides `aws:SecureTransport`: each narrows when it applies.
fn condition_exceptions(condition: Option<&Value>) -> Vec<String> {
    let Some(Value::Object(operators)) = condition else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for (operator, keys) in operators {
        let Some(keys) = keys.as_object() else {
            found.push(format!("{operator} {keys}"));
            continue;
        };
        for (key, value) in keys {
            if operator == "Bool" && key.eq_ignore_ascii_case("aws:SecureTransport") {
                continue;
            }
            found.push(format!("{operator} {key} {value}"));
        }
    }
    found
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

    fn with(statements: Vec<Value>) -> String {
        json!({"Version": "2012-10-17", "Statement": statements}).to_string()
    }

    // GIVEN our statement as an owner edited it: a principal exception (NotPrincipal, or a
    // Principal narrowed to some accounts) or an extra condition
    // THEN it still counts, by effect, and merging leaves the policy as it is; the control (the
    // same statement without TLS: SecureTransport "true") is put right.
    #[test]
    fn an_owners_edited_copy_of_our_statement_is_kept_with_its_exceptions() {
        let edits = [
            (
                "NotPrincipal",
                json!({"AWS": "arn:aws:iam::123456789012:role/Legacy"}),
                "NotPrincipal",
            ),
            (
                "Principal",
                json!({"AWS": ["arn:aws:iam::210987654321:root"]}),
                "only Principal",
            ),
        ];
        for (field, value, says) in edits {
            let mut edited = tls_only_statement(BUCKET);
            let object = edited.as_object_mut().unwrap();
            object.remove("Principal");
            object.insert(field.to_owned(), value);
            let policy = with(vec![other_statements()[0].clone(), edited]);
            match tls_deny(&policy, BUCKET).unwrap() {
                TlsDeny::WithExceptions(found) => {
                    assert_eq!(found.len(), 1, "{found:?}");
                    assert!(found[0].starts_with(says), "{found:?}");
                }
                other => panic!("{field}: {other:?}"),
            }
            assert_eq!(
                merge_tls_only(Some(&policy), BUCKET).unwrap(),
                Merge::Unchanged
            );
        }
        let mut conditioned = tls_only_statement(BUCKET);
        conditioned["Condition"]["StringNotEquals"] = json!({"aws:SourceVpce": "vpce-1a2b3c4d"});
        let policy = with(vec![conditioned]);
        assert_eq!(
            tls_deny(&policy, BUCKET).unwrap(),
            TlsDeny::WithExceptions(vec![
                r#"StringNotEquals aws:SourceVpce "vpce-1a2b3c4d""#.to_owned()
            ])
        );
        assert_eq!(
            merge_tls_only(Some(&policy), BUCKET).unwrap(),
            Merge::Unchanged
        );
        // Ours as written, and the owner's own equivalent rule, deny everyone.
        assert_eq!(
            tls_deny(&with(vec![tls_only_statement(BUCKET)]), BUCKET).unwrap(),
            TlsDeny::Everyone
        );
        // The control: an edit that no longer denies plain HTTP is put right.
        let mut disabled = tls_only_statement(BUCKET);
        disabled["Condition"] = json!({"Bool": {"aws:SecureTransport": "true"}});
        disabled["NotPrincipal"] = json!({"AWS": "arn:aws:iam::123456789012:role/Legacy"});
        let policy = with(vec![disabled]);
        assert_eq!(tls_deny(&policy, BUCKET).unwrap(), TlsDeny::Absent);
        assert_eq!(
            updated(merge_tls_only(Some(&policy), BUCKET).unwrap())["Statement"],
            json!([tls_only_statement(BUCKET)])
        );
    }

    #[test]
    fn somebody_elses_deny_of_a_few_principals_is_not_a_tls_only_rule() {
        let mut theirs = tls_only_statement(BUCKET);
        theirs["Sid"] = json!("TheirRule");
        theirs["Principal"] = json!({"AWS": "arn:aws:iam::210987654321:root"});
        assert_eq!(
            tls_deny(&with(vec![theirs]), BUCKET).unwrap(),
            TlsDeny::Absent
        );
    }

    #[test]
    fn lost_statements_are_those_no_longer_there_ours_aside() {
        let before = with(vec![
            other_statements()[0].clone(),
            other_statements()[1].clone(),
            tls_only_statement(BUCKET),
        ]);
        let after = with(vec![other_statements()[1].clone()]);
        assert_eq!(
            lost_statements(Some(&before), Some(&after)),
            [other_statements()[0].clone()]
        );
        assert_eq!(
            lost_statements(Some(&before), Some(&before)),
            Vec::<Value>::new()
        );
        assert_eq!(lost_statements(None, Some(&after)), Vec::<Value>::new());
        assert_eq!(lost_statements(Some(&after), None).len(), 1);
    }

    #[test]
    fn allowed_principals_lists_who_allow_statements_name() {
        let policy = with(vec![
            json!({"Effect": "Allow", "Principal": {"Service": "logging.s3.amazonaws.com", "AWS": ["arn:aws:iam::127311923021:root"]}, "Action": "s3:PutObject", "Resource": "*"}),
            json!({"Effect": "Deny", "Principal": {"Service": "delivery.logs.amazonaws.com"}, "Action": "s3:*", "Resource": "*"}),
        ]);
        let mut found = allowed_principals(&policy).unwrap();
        found.sort();
        assert_eq!(
            found,
            ["arn:aws:iam::127311923021:root", "logging.s3.amazonaws.com"]
        );
    }
}
