"""Security Hub findings as AWS keeps them, so code that imports, updates and reads findings is
tested against the rules it meets in an account.

moto 5.2.5 imports any finding (it only checks that Resources is a non-empty list), merges a
re-import into the stored one, imports into a hub that is not enabled, its GetFindings ignores
Filters and SortCriteria, and it has no BatchUpdateFindings. This module replaces
BatchImportFindings and GetFindings on moto's own Security Hub responses and adds
BatchUpdateFindings (routing moto's server to PATCH /findings/batchupdate), with the findings kept
on the backend (per account and region, so `/moto-api/reset` clears them). What it does, and where
AWS documents it:

BatchImportFindings (API_BatchImportFindings, userguide/finding-update-batchimportfindings):
- 1 to 100 findings a request, else InvalidInputException (HTTP 400).
- The caller may only import into its own custom integration in this region,
  `arn:aws:securityhub:<region>:<account>:product/<account>/default`, findings whose AwsAccountId
  is its own: anything else fails the whole request with AccessDeniedException (HTTP 403), as AWS
  answers an unauthorised product ARN (AWS Support's answer in prowler-cloud/prowler#867).
- Hub not enabled in the account and region: every finding comes back in FailedFindings with
  ErrorCode `InvalidAccess` (the user guide says so; other Security Hub calls answer
  InvalidAccessException, HTTP 401, "Account <id> is not subscribed to AWS Security Hub").
- Per finding, ErrorCode `InvalidInput` with AWS's "Finding does not adhere to Amazon Finding
  Format." message, the other findings still imported: a missing required attribute
  (userguide/asff-required-attributes: AwsAccountId, CreatedAt, Description, GeneratorId, Id,
  ProductArn, Resources, SchemaVersion, Severity, Title, Types, UpdatedAt; Severity and Types may
  come in FindingProviderFields instead), values outside the API's enums and length limits
  (API_AwsSecurityFinding, API_Severity, API_Resource), timestamps not in the documented formats
  (APIReference/Welcome.html#timestamps).
- An import of an existing Id (with the same ProductArn) replaces the provider's attributes
  (partner guide: "overwrite the existing finding"), unless its UpdatedAt is not later than the
  stored one, then it is ignored. Workflow, Note, UserDefinedFields and VerificationState stay as
  they were: BatchImportFindings cannot change them once the finding exists. Nor can it change
  the top-level Confidence, Criticality, RelatedFindings, Severity or Types once BatchUpdateFindings
  has set them: then only FindingProviderFields take the import's values.
- New findings get Workflow.Status NEW (or the one imported), RecordState ACTIVE unless given,
  Severity Label/Normalized completed from each other, FindingProviderFields filled from the
  top-level attributes, Region, ProcessedAt, CompanyName "Personal"/ProductName "Default" unless
  given, and ProductFields `aws/securityhub/{FindingId,ProductName,CompanyName}` (as published
  GetFindings output shows custom-integration findings; AWS's reference has no such list).
- Workflow status changes on update (userguide/finding-workflow-status, API_Workflow): NOTIFIED
  or RESOLVED goes back to NEW when RecordState changes ARCHIVED -> ACTIVE or Compliance.Status
  changes PASSED -> FAILED/WARNING/NOT_AVAILABLE. AWS documents setting RESOLVED on PASSED only
  for its own control and Config findings, so a custom finding that passes keeps its status.

BatchUpdateFindings (API_BatchUpdateFindings, API_BatchUpdateFindingsUnprocessedFinding,
userguide/finding-update-batchupdatefindings):
- FindingIdentifiers [{Id, ProductArn}], 1 to 100, else InvalidInputException (HTTP 400); so is
  a value outside the API's types (Workflow.Status, Severity.Label, VerificationState enums,
  Confidence/Criticality/Severity.Normalized 0-100, Note without Text or UpdatedBy) and, the
  emulator's own rule, a request that updates none of UPDATABLE_FIELDS.
- InvalidAccessException (HTTP 401) when the hub is not enabled.
- Per identifier, in UnprocessedFindings with the documented code and message: FindingNotFound
  for no finding with that ProductArn and Id, DuplicatedFindingIdentifier for every occurrence
  of an identifier given twice, InvalidInput for a value over the ASFF's limits (Note.Text or
  UpdatedBy over 512, userguide/asff-note; Types beyond 1-50 items); the others are updated and
  listed in ProcessedFindings.
- Sets the top-level Workflow.Status, Note (with UpdatedAt now), Severity (Label and Normalized
  completed from each other as on import, Product kept unless given), Confidence, Criticality,
  RelatedFindings, Types, UserDefinedFields (replaced as given: AWS documents no merge) and
  VerificationState; never FindingProviderFields (API_FindingProviderFields), and never UpdatedAt
  ("Updates from BatchUpdateFindings don't affect the value of UpdatedAt", API_BatchUpdateFindings).
- A later import still resets RESOLVED or NOTIFIED to NEW as above.

GetFindings (API_GetFindings, API_StringFilter, API_MapFilter):
- InvalidAccessException (HTTP 401) when the hub is not enabled.
- StringFilters EQUALS/PREFIX (OR'd per field) and NOT_EQUALS/PREFIX_NOT_EQUALS (AND'd), fields
  AND'd; EQUALS with a negative filter on one field is InvalidInputException. MapFilters
  EQUALS/NOT_EQUALS per key. CONTAINS-style comparisons (automation rules and the V2 APIs only)
  and fields not listed in STRING_FIELDS/MAP_FIELDS are InvalidInputException, so a test never
  passes on a filter that was ignored.
- SortCriteria on the fields in SORT_FIELDS; otherwise findings in the order they were created.
- MaxResults 1-100 (default 100) and NextToken, through paging.page.

Sources: API_<name> is https://docs.aws.amazon.com/securityhub/1.0/APIReference/API_<name>.html,
userguide/<page> is https://docs.aws.amazon.com/securityhub/latest/userguide/<page>.html,
timestamps https://docs.aws.amazon.com/securityhub/1.0/APIReference/Welcome.html#timestamps, the
partner guide https://docs.aws.amazon.com/securityhub/latest/partnerguide/ (quoted in
https://github.com/prowler-cloud/prowler/pull/712), AWS Support on other accounts' findings
https://github.com/prowler-cloud/prowler/issues/867.
"""

import copy
import datetime
import json
import re
import threading

from moto.securityhub.exceptions import SecurityHubClientError
from moto.securityhub.models import SecurityHubBackend
from moto.securityhub import urls as securityhub_urls
from moto.securityhub.responses import SecurityHubResponse

import paging

MAX_BATCH = 100
SCHEMA_VERSION = "2018-10-08"
NOT_ADHERING = "Finding does not adhere to Amazon Finding Format."
# The custom integration's ProductFields, as GetFindings shows them.
CUSTOM_COMPANY, CUSTOM_PRODUCT = "Personal", "Default"

SEVERITY_LABELS = ("INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL")
# API_Severity: Label -> Normalized, and the lower bound of each Label's Normalized range.
NORMALIZED_OF_LABEL = {"INFORMATIONAL": 0, "LOW": 1, "MEDIUM": 40, "HIGH": 70, "CRITICAL": 90}
COMPLIANCE_STATUSES = ("PASSED", "WARNING", "FAILED", "NOT_AVAILABLE")
RECORD_STATES = ("ACTIVE", "ARCHIVED")
WORKFLOW_STATUSES = ("NEW", "NOTIFIED", "RESOLVED", "SUPPRESSED")
VERIFICATION_STATES = ("UNKNOWN", "TRUE_POSITIVE", "FALSE_POSITIVE", "BENIGN_POSITIVE")
PARTITIONS = ("aws", "aws-cn", "aws-us-gov", "aws-us-iso", "aws-us-iso-b", "AzureCloud")
# What BatchImportFindings keeps from the stored finding (finding-update-batchimportfindings).
CUSTOMER_ATTRIBUTES = ("Note", "UserDefinedFields", "VerificationState")
PROVIDER_FIELDS = ("Confidence", "Criticality", "RelatedFindings", "Severity", "Types")
# What BatchUpdateFindings may change (API_BatchUpdateFindings).
UPDATABLE_FIELDS = (*PROVIDER_FIELDS, "Note", "UserDefinedFields", "VerificationState", "Workflow")
NOTE_MAX = 512  # Note.Text and Note.UpdatedBy (userguide/asff-note)
# Timestamps: Z or an offset, up to 9 fraction digits, offset within +/-18:00.
TIMESTAMP = re.compile(
    r"^(\d{4})-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):([0-5]\d):([0-5]\d|60)"
    r"(?:\.(\d{1,9}))?(Z|([+-])(\d\d):?(\d\d)?)$"
)
OBSERVED_TIMESTAMPS = ("FirstObservedAt", "LastObservedAt")

_lock = threading.Lock()  # moto's server answers on several threads
JSON_HEADERS = {"Content-Type": "application/json"}  # moto would send text/html for a str body


def _invalid_input(message):
    return SecurityHubClientError("InvalidInputException", message)


def _not_subscribed(account):
    return f"Account {account} is not subscribed to AWS Security Hub"


def findings_of(backend):
    """(ProductArn, Id) -> finding, in creation order; AWS keys findings by both."""
    return backend.__dict__.setdefault("_findings", {})


def customer_updated_of(backend):
    """(ProductArn, Id) -> the PROVIDER_FIELDS that BatchUpdateFindings has set on the finding,
    which a later BatchImportFindings no longer changes at the top level."""
    return backend.__dict__.setdefault("_customer_updated", {})


def custom_product_arn(backend):
    account = backend.account_id
    return f"arn:aws:securityhub:{backend.region_name}:{account}:product/{account}/default"


# --- timestamps ------------------------------------------------------------------------------


def timestamp_ns(value):
    """Nanoseconds since the epoch of a documented timestamp, or None when it is not one."""
    match = TIMESTAMP.match(value) if isinstance(value, str) else None
    if not match:
        return None
    year, month, day, hour, minute, second, fraction, zone, sign, off_h, off_m = match.groups()
    if zone != "Z" and int(off_h) * 60 + int(off_m or 0) > 18 * 60:
        return None
    if second == "60" and (hour, minute) != ("23", "59"):  # a leap second only ends a day
        return None
    try:
        moment = datetime.datetime(int(year), int(month), int(day), int(hour), int(minute))
    except ValueError:  # 31 February
        return None
    offset = 0 if zone == "Z" else (1 if sign == "+" else -1) * (int(off_h) * 60 + int(off_m or 0))
    epoch_s = (moment - datetime.datetime(1970, 1, 1)).total_seconds() + int(second) - offset * 60
    return int(epoch_s) * 10**9 + int((fraction or "").ljust(9, "0"))


def _now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


# --- validation ------------------------------------------------------------------------------


def _text(path, value, low, high):
    if not isinstance(value, str) or not low <= len(value) <= high:
        return f"data.{path} should be a string of {low} to {high} characters"
    return None


def _required_missing(finding):
    provided = finding.get("FindingProviderFields") or {}
    for name in (
        "AwsAccountId",
        "CreatedAt",
        "Description",
        "GeneratorId",
        "Id",
        "ProductArn",
        "Resources",
        "SchemaVersion",
        "Severity",
        "Title",
        "Types",
        "UpdatedAt",
    ):
        if finding.get(name) in (None, "") and not (
            name in PROVIDER_FIELDS and provided.get(name) is not None
        ):
            return f"data should have required property '{name}'"
    return None


def _severity_problem(severity, path):
    if not isinstance(severity, dict):
        return f"data.{path} should be an object"
    label, normalized = severity.get("Label"), severity.get("Normalized")
    if label is None and normalized is None:
        return f"data.{path} should have required property 'Label' or 'Normalized'"
    if label is not None and label not in SEVERITY_LABELS:
        return f"data.{path}.Label should be equal to one of the allowed values {SEVERITY_LABELS}"
    whole = isinstance(normalized, int) and not isinstance(normalized, bool)
    if normalized is not None and not (whole and 0 <= normalized <= 100):
        return f"data.{path}.Normalized should be an integer from 0 to 100"
    return None


def _types_problem(types, path):
    if not isinstance(types, list) or not 1 <= len(types) <= 50:
        return f"data.{path} should have 1 to 50 items"
    if any(not isinstance(t, str) or not t for t in types):
        return f"data.{path} items should be non-empty strings"
    return None


def _resources_problem(resources):
    if not isinstance(resources, list) or not 1 <= len(resources) <= 32:
        return "data.Resources should have 1 to 32 items"
    for i, resource in enumerate(resources):
        if not isinstance(resource, dict):
            return f"data.Resources[{i}] should be an object"
        for name in ("Type", "Id"):
            if not resource.get(name):
                return f"data.Resources[{i}] should have required property '{name}'"
        problem = _text(f"Resources[{i}].Type", resource["Type"], 1, 256)
        if problem:
            return problem
        if "Partition" in resource and resource["Partition"] not in PARTITIONS:
            return f"data.Resources[{i}].Partition should be equal to one of {PARTITIONS}"
        if "Region" in resource:
            problem = _text(f"Resources[{i}].Region", resource["Region"], 1, 16)
            if problem:
                return problem
    return None


def _enum_problem(value, path, allowed):
    if value is not None and value not in allowed:
        return f"data.{path} should be equal to one of the allowed values {allowed}"
    return None


def _product_fields_problem(fields):
    if fields is None:
        return None
    if not isinstance(fields, dict) or len(fields) > 50:
        return "data.ProductFields should be a map of at most 50 entries"
    for key, value in fields.items():
        if not 1 <= len(key) <= 128 or not isinstance(value, str) or not 1 <= len(value) <= 2048:
            return f"data.ProductFields['{key}'] should have 1-128 characters, its value 1-2048"
    return None


def _problems(finding):
    """Each check in turn; a generator, so later checks may rely on what earlier ones passed."""
    if not isinstance(finding, dict):
        yield "data should be an object"
        return
    provided = finding.get("FindingProviderFields") or {}
    yield _required_missing(finding)
    if finding["SchemaVersion"] != SCHEMA_VERSION:
        yield f"data.SchemaVersion should be equal to '{SCHEMA_VERSION}'"
    for name, low, high in (
        ("Id", 1, 512),
        ("GeneratorId", 1, 512),
        ("Title", 1, 256),
        ("Description", 1, 1024),
        ("ProductArn", 12, 2048),
    ):
        yield _text(name, finding[name], low, high)
    if not re.fullmatch(r"\d{12}", str(finding["AwsAccountId"])):
        yield "data.AwsAccountId should be 12 digits"
    for name in ("CreatedAt", "UpdatedAt", *OBSERVED_TIMESTAMPS):
        if name in finding and timestamp_ns(finding[name]) is None:
            yield f"data.{name} should be a timestamp as documented, e.g. 2019-01-31T23:00:00.123Z"
    for path, owner in (("", finding), ("FindingProviderFields.", provided)):
        if "Severity" in owner:
            yield _severity_problem(owner["Severity"], f"{path}Severity")
        if "Types" in owner:
            yield _types_problem(owner["Types"], f"{path}Types")
    yield _resources_problem(finding["Resources"])
    compliance = (finding.get("Compliance") or {}).get("Status")
    yield _enum_problem(compliance, "Compliance.Status", COMPLIANCE_STATUSES)
    yield _enum_problem(finding.get("RecordState"), "RecordState", RECORD_STATES)
    workflow = (finding.get("Workflow") or {}).get("Status")
    yield _enum_problem(workflow, "Workflow.Status", WORKFLOW_STATUSES)
    yield _product_fields_problem(finding.get("ProductFields"))
    for name in ("ProductName", "CompanyName"):
        if name in finding:
            yield _text(name, finding[name], 1, 128)


def finding_problem(finding):
    """Why AWS would refuse this finding (the detail of its ErrorMessage), or None."""
    return next((problem for problem in _problems(finding) if problem), None)


def authorize(backend, findings):
    """AccessDeniedException for the whole request when a finding names another product or
    account: IAM refuses the product ARN before Security Hub looks at the findings."""
    own = custom_product_arn(backend)
    for finding in findings:
        if not isinstance(finding, dict):
            continue
        # Malformed values are the finding's own InvalidInput, not an access question.
        product, account = finding.get("ProductArn"), finding.get("AwsAccountId")
        other_product = isinstance(product, str) and product.startswith("arn:") and product != own
        other_account = isinstance(account, str) and re.fullmatch(r"\d{12}", account)
        if other_product or (other_account and account != backend.account_id):
            raise SecurityHubClientError(
                "AccessDeniedException",
                f"User: arn:aws:iam::{backend.account_id}:user/emulator is not authorized to "
                f"perform: securityhub:BatchImportFindings on resource: {product or own}",
            )


# --- import ----------------------------------------------------------------------------------


def _complete_severity(severity):
    """API_Severity: a Label alone gets its Normalized, a Normalized alone its Label."""
    if severity.get("Normalized") is None and severity.get("Label") is not None:
        severity["Normalized"] = NORMALIZED_OF_LABEL[severity["Label"]]
    elif severity.get("Label") is None and severity.get("Normalized") is not None:
        severity["Label"] = max(
            (label for label, low in NORMALIZED_OF_LABEL.items() if severity["Normalized"] >= low),
            key=NORMALIZED_OF_LABEL.get,
        )


def _merge_provider_fields(record, is_new):
    """finding-update-batchimportfindings: FindingProviderFields fill missing top-level values
    (and win for a new finding); top-level values fill missing FindingProviderFields."""
    provided = record.setdefault("FindingProviderFields", {})
    for name in PROVIDER_FIELDS:
        if name in provided and (name not in record or is_new):
            record[name] = copy.deepcopy(provided[name])
        elif name in record and name not in provided:
            provided[name] = copy.deepcopy(record[name])
    if "Severity" in record:
        _complete_severity(record["Severity"])


def next_workflow_status(stored, record):
    """The stored finding's workflow status after this update (finding-workflow-status)."""
    status = stored["Workflow"]["Status"]
    if status not in ("NOTIFIED", "RESOLVED"):
        return status
    unarchived = stored.get("RecordState") == "ARCHIVED" and record["RecordState"] == "ACTIVE"
    was = (stored.get("Compliance") or {}).get("Status")
    now = (record.get("Compliance") or {}).get("Status")
    failing_again = was == "PASSED" and now in ("FAILED", "WARNING", "NOT_AVAILABLE")
    return "NEW" if unarchived or failing_again else status


def stored_record(backend, finding, stored):
    """What GetFindings shows after importing `finding` over `stored` (None for a new one)."""
    record = copy.deepcopy(finding)
    record.setdefault("RecordState", "ACTIVE")
    _merge_provider_fields(record, is_new=stored is None)
    record["Region"] = backend.region_name
    record["ProcessedAt"] = _now()
    record.setdefault("CompanyName", CUSTOM_COMPANY)
    record.setdefault("ProductName", CUSTOM_PRODUCT)
    record["ProductFields"] = {
        **(record.get("ProductFields") or {}),
        "aws/securityhub/FindingId": f"{record['ProductArn']}/{record['Id']}",
        "aws/securityhub/ProductName": CUSTOM_PRODUCT,
        "aws/securityhub/CompanyName": CUSTOM_COMPANY,
    }
    if stored is None:
        record["Workflow"] = {"Status": (finding.get("Workflow") or {}).get("Status") or "NEW"}
        return record
    for name in CUSTOMER_ATTRIBUTES:
        record.pop(name, None)
        if name in stored:
            record[name] = stored[name]
    # finding-update-batchimportfindings: a provider updates these only while BatchUpdateFindings
    # has not; FindingProviderFields still take the import's values.
    for name in customer_updated_of(backend).get((record["ProductArn"], record["Id"]), ()):
        record[name] = copy.deepcopy(stored[name])
    record["Workflow"] = {**stored["Workflow"], "Status": next_workflow_status(stored, record)}
    return record


def _failure(finding, code, message):
    """One FailedFindings entry (API_ImportFindingsError)."""
    id_ = finding.get("Id") if isinstance(finding, dict) else None
    return {"Id": id_ if isinstance(id_, str) else "", "ErrorCode": code, "ErrorMessage": message}


def import_findings(backend, findings):
    """(FailedFindings, SuccessCount) of a BatchImportFindings request."""
    if not isinstance(findings, list) or not 1 <= len(findings) <= MAX_BATCH:
        count = len(findings) if isinstance(findings, list) else 0
        raise _invalid_input(
            f"Findings must contain 1 to {MAX_BATCH} findings, the request has {count}."
        )
    authorize(backend, findings)
    if not backend.enabled:
        message = _not_subscribed(backend.account_id)
        return [_failure(f, "InvalidAccess", message) for f in findings], 0
    failed, success = [], 0
    store = findings_of(backend)
    for finding in findings:
        problem = finding_problem(finding)
        if problem:
            failed.append(_failure(finding, "InvalidInput", f"{NOT_ADHERING} {problem}"))
            continue
        success += 1
        key = (finding["ProductArn"], finding["Id"])
        stored = store.get(key)
        if stored is not None and timestamp_ns(finding["UpdatedAt"]) <= timestamp_ns(
            stored["UpdatedAt"]
        ):
            continue  # finding-update-batchimportfindings: not newer, so ignored
        store[key] = stored_record(backend, finding, stored)
    return failed, success


# --- customer updates ------------------------------------------------------------------------


def _ratio_problem(value, name):
    whole = isinstance(value, int) and not isinstance(value, bool)
    return None if whole and 0 <= value <= 100 else f"{name} must be an integer from 0 to 100."


def _non_empty(value):
    return isinstance(value, str) and value.strip() != ""


def _identifiers_problem(identifiers, name):
    if not isinstance(identifiers, list):
        return f"{name} must be a list."
    for identifier in identifiers:
        if not isinstance(identifier, dict) or not all(
            _non_empty(identifier.get(key)) for key in ("Id", "ProductArn")
        ):
            return f"Each of {name} must have a non-empty Id and ProductArn."
    return None


def _update_problems(update):
    """The request's own shape (API_BatchUpdateFindings and the types it names)."""
    # AWS documents no answer to an update of nothing; refusing it keeps a test from passing on
    # a call that changed nothing.
    if not any(update.get(name) is not None for name in UPDATABLE_FIELDS):
        yield f"The request must update at least one of {', '.join(UPDATABLE_FIELDS)}."
    workflow = update.get("Workflow")
    if workflow is not None and (
        not isinstance(workflow, dict) or workflow.get("Status") not in WORKFLOW_STATUSES
    ):
        yield f"Workflow.Status must be one of {', '.join(WORKFLOW_STATUSES)}."
    note = update.get("Note")
    if note is not None and not (
        isinstance(note, dict) and all(_non_empty(note.get(name)) for name in ("Text", "UpdatedBy"))
    ):
        yield "Note must have a non-empty Text and UpdatedBy."
    severity = update.get("Severity")
    if severity is not None:
        if not isinstance(severity, dict) or all(
            severity.get(name) is None for name in ("Label", "Normalized", "Product")
        ):
            yield "Severity must have a Label, Normalized or Product."
        else:
            if severity.get("Label") is not None and severity["Label"] not in SEVERITY_LABELS:
                yield f"Severity.Label must be one of {', '.join(SEVERITY_LABELS)}."
            if severity.get("Normalized") is not None:
                yield _ratio_problem(severity["Normalized"], "Severity.Normalized")
            product = severity.get("Product")
            if product is not None and (
                isinstance(product, bool) or not isinstance(product, (int, float))
            ):
                yield "Severity.Product must be a number."
    state = update.get("VerificationState")
    if state is not None and state not in VERIFICATION_STATES:
        yield f"VerificationState must be one of {', '.join(VERIFICATION_STATES)}."
    for name in ("Confidence", "Criticality"):
        if update.get(name) is not None:
            yield _ratio_problem(update[name], name)
    types = update.get("Types")
    if types is not None and not (isinstance(types, list) and all(map(_non_empty, types))):
        yield "Types must be a list of non-empty strings."
    fields = update.get("UserDefinedFields")
    if fields is not None and (
        not isinstance(fields, dict)
        or not all(isinstance(k, str) and isinstance(v, str) for k, v in fields.items())
    ):
        yield "UserDefinedFields must map strings to strings."
    if update.get("RelatedFindings") is not None:
        yield _identifiers_problem(update["RelatedFindings"], "RelatedFindings")


def _asff_problem(update):
    """Whether the updated finding would break the ASFF's own limits: AWS answers these per
    finding, with ErrorCode InvalidInput (API_BatchUpdateFindingsUnprocessedFinding)."""
    note = update.get("Note")
    if note and any(len(note[name]) > NOTE_MAX for name in ("Text", "UpdatedBy")):
        return True
    types = update.get("Types")
    return types is not None and _types_problem(types, "Types") is not None


def _updated_severity(stored, wanted):
    """API_SeverityUpdate: a new Label or Normalized replaces both (the other one derived from
    it as on import); Product is kept unless given."""
    severity = dict(stored or {})
    if wanted.get("Label") is not None or wanted.get("Normalized") is not None:
        severity.pop("Label", None)
        severity.pop("Normalized", None)
    severity.update({name: value for name, value in wanted.items() if value is not None})
    _complete_severity(severity)
    return severity


def apply_update(backend, key, update):
    """Change the stored finding as BatchUpdateFindings does. UpdatedAt stays as it was:
    "Updates from BatchUpdateFindings don't affect the value of UpdatedAt"
    (https://docs.aws.amazon.com/securityhub/1.0/APIReference/API_BatchUpdateFindings.html)."""
    record = findings_of(backend)[key]
    wanted = {name: update[name] for name in UPDATABLE_FIELDS if update.get(name) is not None}
    if "Workflow" in wanted:
        record["Workflow"] = {**record.get("Workflow", {}), "Status": wanted["Workflow"]["Status"]}
    if "Note" in wanted:
        note = wanted["Note"]
        record["Note"] = {"Text": note["Text"], "UpdatedBy": note["UpdatedBy"], "UpdatedAt": _now()}
    if "Severity" in wanted:
        record["Severity"] = _updated_severity(record.get("Severity"), wanted["Severity"])
    # The map is replaced as given: AWS documents no merge of UserDefinedFields.
    for name in ("Confidence", "Criticality", "RelatedFindings", "Types", "UserDefinedFields"):
        if name in wanted:
            record[name] = copy.deepcopy(wanted[name])
    if "VerificationState" in wanted:
        record["VerificationState"] = wanted["VerificationState"]
    # Top-level values only: FindingProviderFields stay the provider's (API_FindingProviderFields).
    customer_updated_of(backend).setdefault(key, set()).update(
        name for name in PROVIDER_FIELDS if name in wanted
    )


def _unprocessed(identifier, code, message):
    """One UnprocessedFindings entry, with a code and message that
    API_BatchUpdateFindingsUnprocessedFinding lists."""
    return {"FindingIdentifier": identifier, "ErrorCode": code, "ErrorMessage": message}


def update_findings(backend, update):
    """(ProcessedFindings, UnprocessedFindings) of a BatchUpdateFindings request."""
    identifiers = update.get("FindingIdentifiers")
    if not isinstance(identifiers, list) or not 1 <= len(identifiers) <= MAX_BATCH:
        count = len(identifiers) if isinstance(identifiers, list) else 0
        raise _invalid_input(
            f"FindingIdentifiers must contain 1 to {MAX_BATCH} findings, the request has {count}."
        )
    problem = _identifiers_problem(identifiers, "FindingIdentifiers") or next(
        (p for p in _update_problems(update) if p), None
    )
    if problem:
        raise _invalid_input(problem)
    if not backend.enabled:
        raise SecurityHubClientError("InvalidAccessException", _not_subscribed(backend.account_id))
    keys = [(i["ProductArn"], i["Id"]) for i in identifiers]
    # Every occurrence of a repeated identifier is refused, so none is updated twice.
    repeated = {key for key in keys if keys.count(key) > 1}
    store = findings_of(backend)
    processed, unprocessed = [], []
    for identifier, key in zip(identifiers, keys):
        identifier = {"Id": identifier["Id"], "ProductArn": identifier["ProductArn"]}
        if key in repeated:
            failure = ("DuplicatedFindingIdentifier", "Finding Identifier is duplicated")
        elif key not in store:
            failure = ("FindingNotFound", "Finding Not Found")
        elif _asff_problem(update):
            failure = ("InvalidInput", "Invalid Input")
        else:
            apply_update(backend, key, update)
            processed.append(identifier)
            continue
        unprocessed.append(_unprocessed(identifier, *failure))
    return processed, unprocessed


# --- filters ---------------------------------------------------------------------------------


def _one(*path):
    def values(finding):
        value = finding
        for name in path:
            value = value.get(name) if isinstance(value, dict) else None
        return [value] if isinstance(value, str) else []

    return values


def _of_resources(name):
    return lambda finding: [
        r[name] for r in finding.get("Resources") or [] if isinstance(r.get(name), str)
    ]


# Filter name -> the finding's values for it (several for list attributes).
STRING_FIELDS = {
    **{
        name: _one(name)
        for name in (
            "Id",
            "ProductArn",
            "AwsAccountId",
            "GeneratorId",
            "Title",
            "Description",
            "RecordState",
            "Region",
            "ProductName",
            "CompanyName",
            "SourceUrl",
        )
    },
    "ComplianceStatus": _one("Compliance", "Status"),
    "WorkflowStatus": _one("Workflow", "Status"),
    "SeverityLabel": _one("Severity", "Label"),
    "ResourceType": _of_resources("Type"),
    "ResourceId": _of_resources("Id"),
    "ResourcePartition": _of_resources("Partition"),
    "ResourceRegion": _of_resources("Region"),
    "Type": lambda finding: [t for t in finding.get("Types") or [] if isinstance(t, str)],
}
MAP_FIELDS = {
    "ProductFields": lambda finding: [finding.get("ProductFields") or {}],
    "UserDefinedFields": lambda finding: [finding.get("UserDefinedFields") or {}],
    "ResourceTags": lambda finding: [r.get("Tags") or {} for r in finding.get("Resources") or []],
}
POSITIVE = {"EQUALS": str.__eq__, "PREFIX": str.startswith}
NEGATIVE = {"NOT_EQUALS": str.__eq__, "PREFIX_NOT_EQUALS": str.startswith}
# API_StringFilter / API_MapFilter: these work in automation rules and the V2 APIs only.
NOT_IN_GET_FINDINGS = ("CONTAINS", "NOT_CONTAINS", "CONTAINS_WORD")


def _conditions(field, conditions, allowed, keyed):
    if not isinstance(conditions, list):
        raise _invalid_input(f"Filters.{field} must be a list.")
    for condition in conditions:
        comparison = condition.get("Comparison") if isinstance(condition, dict) else None
        if comparison in NOT_IN_GET_FINDINGS:
            raise _invalid_input(f"Comparison {comparison} is not supported by GetFindings.")
        if comparison not in allowed or not isinstance(condition.get("Value"), str) or (
            keyed and not isinstance(condition.get("Key"), str)
        ):
            raise _invalid_input(f"Invalid filter in Filters.{field}: {condition}.")
    return conditions


def _matcher(field, conditions, values_of):
    """One field's filters: positives OR'd, negatives AND'd (API_StringFilter)."""
    positives = [
        (POSITIVE[c["Comparison"]], c["Value"]) for c in conditions if c["Comparison"] in POSITIVE
    ]
    negatives = [
        (NEGATIVE[c["Comparison"]], c["Value"]) for c in conditions if c["Comparison"] in NEGATIVE
    ]
    if negatives and any(c["Comparison"] == "EQUALS" for c in conditions):
        raise _invalid_input(
            f"Filters.{field} cannot combine EQUALS with NOT_EQUALS or PREFIX_NOT_EQUALS."
        )

    def matches(finding):
        values = values_of(finding)
        if positives and not any(test(v, wanted) for v in values for test, wanted in positives):
            return False
        return not any(test(v, unwanted) for v in values for test, unwanted in negatives)

    return matches


# API_GetFindings: "You can filter by up to 10 finding attributes. For each attribute, you can
# provide up to 20 filter values."
MAX_FILTER_ATTRIBUTES = 10
MAX_FILTER_VALUES = 20


def compile_filters(filters):
    """A predicate for the findings that match every field of `filters`."""
    if not isinstance(filters, dict):
        raise _invalid_input("Filters must be an object.")
    if len(filters) > MAX_FILTER_ATTRIBUTES:
        raise _invalid_input(f"Filters can use at most {MAX_FILTER_ATTRIBUTES} attributes.")
    for field, conditions in filters.items():
        if isinstance(conditions, list) and len(conditions) > MAX_FILTER_VALUES:
            raise _invalid_input(f"Filters.{field} can have at most {MAX_FILTER_VALUES} values.")
    matchers = []
    for field, conditions in filters.items():
        if field in STRING_FIELDS:
            conditions = _conditions(field, conditions, (*POSITIVE, *NEGATIVE), keyed=False)
            matchers.append(_matcher(field, conditions, STRING_FIELDS[field]))
        elif field in MAP_FIELDS:
            conditions = _conditions(field, conditions, ("EQUALS", "NOT_EQUALS"), keyed=True)
            maps_of = MAP_FIELDS[field]
            # A map filter compares one key's value: each key is its own field here.
            for key in dict.fromkeys(c["Key"] for c in conditions):
                matchers.append(
                    _matcher(
                        f"{field}[{key}]",
                        [c for c in conditions if c["Key"] == key],
                        lambda finding, key=key, maps_of=maps_of: [
                            m[key] for m in maps_of(finding) if isinstance(m.get(key), str)
                        ],
                    )
                )
        else:
            raise _invalid_input(f"The emulator does not filter findings on {field}.")
    return lambda finding: all(matches(finding) for matches in matchers)


# --- sorting ---------------------------------------------------------------------------------

SORT_FIELDS = {
    **{
        name: (lambda f, values=values: next(iter(values(f)), None))
        for name, values in STRING_FIELDS.items()
    },
    **{
        name: (lambda f, name=name: timestamp_ns(f.get(name)))
        for name in ("CreatedAt", "UpdatedAt", "ProcessedAt", *OBSERVED_TIMESTAMPS)
    },
    "SeverityNormalized": lambda f: (f.get("Severity") or {}).get("Normalized"),
}


def ordered(findings, criteria):
    """Findings sorted by SortCriteria, the first criterion first; findings without the field
    last; otherwise creation order."""
    for criterion in reversed(criteria or []):
        field, order = criterion.get("Field"), criterion.get("SortOrder") or "asc"
        if field not in SORT_FIELDS or order not in ("asc", "desc"):
            raise _invalid_input(f"The emulator does not sort findings by {criterion}.")
        key = SORT_FIELDS[field]
        present = [f for f in findings if key(f) is not None]
        missing = [f for f in findings if key(f) is None]
        findings = sorted(present, key=key, reverse=order == "desc") + missing
    return findings


def get_findings(backend, params):
    """(findings, next token) of a GetFindings request."""
    if not backend.enabled:
        raise SecurityHubClientError("InvalidAccessException", _not_subscribed(backend.account_id))
    matches = compile_filters(params("Filters") or {})
    chosen = [f for f in findings_of(backend).values() if matches(f)]
    chosen = ordered(chosen, params("SortCriteria"))
    return paging.page(
        chosen, params("MaxResults"), params("NextToken"), default_size=100, error=_invalid_input
    )


# --- wiring ----------------------------------------------------------------------------------


def _batch_import_findings(self):
    with _lock:
        failed, success = import_findings(self.securityhub_backend, self._get_param("Findings"))
    body = {"FailedCount": len(failed), "SuccessCount": success, "FailedFindings": failed}
    return json.dumps(body), JSON_HEADERS


def _get_findings(self):
    with _lock:
        found, token = get_findings(self.securityhub_backend, self._get_param)
        body = {"Findings": copy.deepcopy(found)}
    if token:
        body["NextToken"] = token
    return json.dumps(body), JSON_HEADERS


def _batch_update_findings(self):
    with _lock:
        update = {name: self._get_param(name) for name in ("FindingIdentifiers", *UPDATABLE_FIELDS)}
        processed, unprocessed = update_findings(self.securityhub_backend, update)
    body = {"ProcessedFindings": processed, "UnprocessedFindings": unprocessed}
    return json.dumps(body), JSON_HEADERS


def install() -> None:
    SecurityHubResponse.batch_import_findings = _batch_import_findings
    SecurityHubResponse.batch_update_findings = _batch_update_findings
    SecurityHubResponse.get_findings = _get_findings
    # moto routes no PATCH /findings/batchupdate; its server builds the Flask routes from this
    # table when the first Security Hub request arrives, so adding to it here is enough.
    # BaseResponse then names the action from botocore's model (method and requestUri).
    securityhub_urls.url_paths["{0}/findings/batchupdate$"] = SecurityHubResponse.dispatch
    original_disable = SecurityHubBackend.disable_security_hub

    def disable_security_hub(self):  # type: ignore[no-untyped-def]
        result = original_disable(self)
        findings_of(self).clear()  # as moto drops its own findings on disable
        customer_updated_of(self).clear()
        return result

    SecurityHubBackend.disable_security_hub = disable_security_hub
