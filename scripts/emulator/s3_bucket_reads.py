"""Bucket settings read back as S3 returns them, where moto 5.2.5 drops part of what it stored.

- GetBucketAcl: moto lists a grant of several permissions (the canned ACL
  `log-delivery-write` gives the S3 Log Delivery group WRITE and READ_ACP) with its first
  permission only; S3 lists one grant per permission.
- GetBucketReplication: moto leaves out each rule's SourceSelectionCriteria, which says
  whether objects encrypted with SSE-KMS are replicated.

The encryption-enforcer reads both to tell which buckets cannot take SSE-KMS.
"""

from typing import Any

from moto.s3.responses import S3Response


def _acl_to_dict(acl: Any) -> dict[str, Any]:
    grants = [
        {
            "Grantee": {
                "Type": grantee.type,
                "URI": grantee.uri or None,
                "ID": grantee.id or None,
                "DisplayName": grantee.display_name or None,
            },
            "Permission": permission,
        }
        for grant in acl.grants
        for grantee in grant.grantees
        for permission in grant.permissions
    ]
    return {
        "Owner": {
            "ID": "75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a",
            "DisplayName": "webfile",
        },
        "Grants": grants,
    }


def install() -> None:
    S3Response._acl_to_dict = staticmethod(_acl_to_dict)
    original = S3Response.get_bucket_replication

    def get_bucket_replication(self):  # type: ignore[no-untyped-def]
        response = original(self)
        replication = self.backend.get_bucket_replication(self.bucket_name)
        stored = (replication or {}).get("Rule") or []
        if isinstance(stored, dict):
            stored = [stored]
        criteria = {
            rule.get("ID"): rule["SourceSelectionCriteria"]
            for rule in stored
            if rule.get("SourceSelectionCriteria")
        }
        if not criteria:
            return response
        # moto serializes from a dict; add the criteria to each rule and serialize again.
        from moto.core.responses import ActionResult

        rules = []
        for rule in stored:
            out = {
                "ID": rule["ID"],
                "Priority": rule["Priority"],
                "Status": rule["Status"],
                "DeleteMarkerReplication": {"Status": "Disabled"},
                "Filter": {"Prefix": ""},
                "Destination": rule["Destination"],
            }
            if rule.get("ID") in criteria:
                out["SourceSelectionCriteria"] = criteria[rule["ID"]]
            rules.append(out)
        return self.serialized(
            ActionResult(
                {"ReplicationConfiguration": {"Role": replication["Role"], "Rules": rules}}
            )
        )

    S3Response.get_bucket_replication = get_bucket_replication
