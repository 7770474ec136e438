"""Model Monitor schedules and their executions, so the drift retrainer can read a real one.

moto 5.2.5 has no monitoring schedules or executions: ListMonitoringExecutions answers HTTP 500,
which the SDK reports as "malformed JSON error body". This module adds
Create/Describe/List/DeleteMonitoringSchedule and ListMonitoringExecutions on moto's own
SageMaker backend (state on the backend object, so `/moto-api/reset` clears it).

AWS has no API that creates an execution: the schedule starts a processing job every hour.
Here a seed makes one with a real call instead, CreateProcessingJob with reserved tags:
- `emulator:monitoring-schedule` = the schedule's name (required; the schedule must exist,
  else ValidationException), which makes the job an execution of that schedule, with the job
  as its ProcessingJobArn; DescribeProcessingJob then gives the job's ProcessingOutputConfig,
  where the execution's reports are;
- `emulator:execution-status` = an ExecutionStatus (default `Completed`); the job's own status
  follows it (Completed/CompletedWithViolations -> Completed, Failed -> Failed,
  Pending/InProgress -> InProgress, Stopping/Stopped -> Stopped);
- `emulator:scheduled-time` = epoch seconds (default: the job's creation time);
- `emulator:endpoint` = an endpoint name (default: the schedule's, from its inline job
  definition or the named data-quality/model-quality/bias/explainability job definition).
The reserved tags are consumed: the job does not carry them.

ListMonitoringExecutions filters by MonitoringScheduleName, EndpointName, Scheduled/Creation/
LastModifiedTime Before/After (strict), StatusEquals, MonitoringJobDefinitionName and
MonitoringTypeEquals; sorts by CreationTime (default), ScheduledTime or Status, Descending by
default; pages with MaxResults (default 10) and NextToken, as AWS documents.
"""

from moto.core.resource_tagging import TaggedResource
from moto.core.responses import ActionResult, EmptyResult
from moto.core.utils import utcnow
from moto.sagemaker.exceptions import ResourceInUseException, ResourceNotFound, ValidationError
from moto.sagemaker.models import SageMakerModelBackend
from moto.sagemaker.responses import SageMakerResponse
from moto.sagemaker.utils import arn_formatter

import paging

SCHEDULE_TAG = "emulator:monitoring-schedule"
STATUS_TAG = "emulator:execution-status"
SCHEDULED_TIME_TAG = "emulator:scheduled-time"
ENDPOINT_TAG = "emulator:endpoint"
# Execution status -> the status of the processing job behind it.
JOB_STATUS = {
    "Pending": "InProgress",
    "InProgress": "InProgress",
    "Completed": "Completed",
    "CompletedWithViolations": "Completed",
    "Failed": "Failed",
    "Stopping": "Stopped",
    "Stopped": "Stopped",
}
# Named job definitions: (backend store, MonitoringType, attribute holding its job input).
JOB_DEFINITIONS = (
    ("data_quality_job_definitions", "DataQuality", "data_quality_job_input"),
    ("model_quality_job_definitions", "ModelQuality", "model_quality_job_input"),
    ("model_bias_job_definitions", "ModelBias", "model_bias_job_input"),
    (
        "model_explainability_job_definitions",
        "ModelExplainability",
        "model_explainability_job_input",
    ),
)


class Monitoring:
    """The monitoring state of one backend (account and region)."""

    def __init__(self):
        self.schedules = {}  # name -> Schedule
        self.executions = []  # Execution, in creation order


def monitoring(backend):
    """The backend's monitoring state, made on first use; a reset drops the backend and this."""
    return backend.__dict__.setdefault("_monitoring", Monitoring())


def _endpoint_of(job_input):
    return ((job_input or {}).get("EndpointInput") or {}).get("EndpointName")


def _watched(backend, config):
    """(MonitoringType, EndpointName) of a schedule's config, inline or named definition."""
    definition = config.get("MonitoringJobDefinition")
    if definition:
        inputs = definition.get("MonitoringInputs") or [{}]
        return config.get("MonitoringType") or "DataQuality", _endpoint_of(inputs[0])
    name = config.get("MonitoringJobDefinitionName")
    for store, monitoring_type, input_attribute in JOB_DEFINITIONS:
        found = getattr(backend, store).get(name)
        if found is not None:
            return config.get("MonitoringType") or monitoring_type, _endpoint_of(
                getattr(found, input_attribute)
            )
    return config.get("MonitoringType") or "DataQuality", None


class Schedule:
    def __init__(self, backend, name, config, tags):
        self.name, self.config = name, config
        self.arn = arn_formatter(
            "monitoring-schedule", name, backend.account_id, backend.region_name
        )
        self.monitoring_type, self.endpoint = _watched(backend, config)
        self.tags = list(tags or [])
        self.creation_time = self.last_modified_time = utcnow()

    def summary(self):
        return {
            "MonitoringScheduleName": self.name,
            "MonitoringScheduleArn": self.arn,
            "CreationTime": self.creation_time,
            "LastModifiedTime": self.last_modified_time,
            "MonitoringScheduleStatus": "Scheduled",
            "EndpointName": self.endpoint,
            "MonitoringJobDefinitionName": self.config.get("MonitoringJobDefinitionName"),
            "MonitoringType": self.monitoring_type,
        }

    def describe(self, latest):
        return {
            **self.summary(),
            "MonitoringScheduleConfig": self.config,
            "LastMonitoringExecutionSummary": latest.summary() if latest else None,
        }


class Execution:
    def __init__(self, schedule, job, status, scheduled_time, endpoint):
        self.schedule, self.job_arn = schedule, job.arn
        self.status, self.scheduled_time, self.endpoint = status, scheduled_time, endpoint
        self.creation_time = self.last_modified_time = job.creation_time

    def summary(self):
        return {
            "MonitoringScheduleName": self.schedule.name,
            "ScheduledTime": self.scheduled_time,
            "CreationTime": self.creation_time,
            "LastModifiedTime": self.last_modified_time,
            "MonitoringExecutionStatus": self.status,
            "ProcessingJobArn": self.job_arn,
            "EndpointName": self.endpoint,
            "MonitoringJobDefinitionName": self.schedule.config.get("MonitoringJobDefinitionName"),
            "MonitoringType": self.schedule.monitoring_type,
        }


# --- schedules -------------------------------------------------------------------------------


def create_schedule(backend, name, config, tags):
    schedules = monitoring(backend).schedules
    if name in schedules:
        raise ResourceInUseException(message=f"Monitoring schedule '{name}' already exists.")
    if not config or not (
        config.get("MonitoringJobDefinition") or config.get("MonitoringJobDefinitionName")
    ):
        raise ValidationError(
            message="MonitoringScheduleConfig needs MonitoringJobDefinition or MonitoringJobDefinitionName."
        )
    schedules[name] = Schedule(backend, name, config, tags)
    return schedules[name]


def schedule(backend, name):
    found = monitoring(backend).schedules.get(name)
    if found is None:
        raise ResourceNotFound(message=f"Monitoring schedule '{name}' does not exist.")
    return found


def latest_execution(backend, of_schedule):
    mine = [e for e in monitoring(backend).executions if e.schedule is of_schedule]
    return max(mine, key=lambda e: e.scheduled_time, default=None)


def list_schedules(backend, params):
    endpoint, contains = params("EndpointName"), params("NameContains")
    chosen = [
        s
        for s in monitoring(backend).schedules.values()
        if (not endpoint or s.endpoint == endpoint)
        and (not contains or contains in s.name)
        and (not params("StatusEquals") or params("StatusEquals") == "Scheduled")
        and (
            not params("MonitoringTypeEquals")
            or s.monitoring_type == params("MonitoringTypeEquals")
        )
        and (
            not params("MonitoringJobDefinitionName")
            or s.config.get("MonitoringJobDefinitionName") == params("MonitoringJobDefinitionName")
        )
    ]
    key = (lambda s: s.name) if params("SortBy") == "Name" else (lambda s: s.creation_time)
    chosen = paging.ordered(chosen, key, params("SortOrder"), "Descending")
    return paging.page(chosen, params("MaxResults"), params("NextToken"))


def delete_schedule(backend, name):
    """Delete a schedule and, as AWS does, its execution history."""
    state = monitoring(backend)
    found = schedule(backend, name)
    state.executions = [e for e in state.executions if e.schedule is not found]
    del state.schedules[name]


# --- executions ------------------------------------------------------------------------------


def execution_seed(backend, reserved):
    """What the reserved tags of a CreateProcessingJob ask for: (schedule, status, scheduled
    time or None, endpoint), or None when they name no schedule. Checked before the job exists,
    so a bad seed leaves nothing behind."""
    if SCHEDULE_TAG not in reserved:
        return None
    of_schedule = monitoring(backend).schedules.get(reserved[SCHEDULE_TAG])
    if of_schedule is None:
        raise ValidationError(
            message=f"{SCHEDULE_TAG}: no monitoring schedule '{reserved[SCHEDULE_TAG]}'."
        )
    status = reserved.get(STATUS_TAG, "Completed")
    if status not in JOB_STATUS:
        raise ValidationError(message=f"{STATUS_TAG} must be one of {sorted(JOB_STATUS)}.")
    scheduled = reserved.get(SCHEDULED_TIME_TAG)
    scheduled_time = paging.epoch_tag(SCHEDULED_TIME_TAG, scheduled) if scheduled else None
    return of_schedule, status, scheduled_time, reserved.get(ENDPOINT_TAG) or of_schedule.endpoint


def record_execution(backend, job, seed):
    """The processing job just created, recorded as an execution of the seed's schedule."""
    of_schedule, status, scheduled_time, endpoint = seed
    job.processing_job_status = JOB_STATUS[status]
    execution = Execution(of_schedule, job, status, scheduled_time or job.creation_time, endpoint)
    monitoring(backend).executions.append(execution)


def _within(value, before, after):
    return (before is None or value < paging.naive_utc(before)) and (
        after is None or value > paging.naive_utc(after)
    )


def list_executions(backend, params):
    chosen = [
        e
        for e in monitoring(backend).executions
        if (
            not params("MonitoringScheduleName")
            or e.schedule.name == params("MonitoringScheduleName")
        )
        and (not params("EndpointName") or e.endpoint == params("EndpointName"))
        and (not params("StatusEquals") or e.status == params("StatusEquals"))
        and (
            not params("MonitoringTypeEquals")
            or e.schedule.monitoring_type == params("MonitoringTypeEquals")
        )
        and (
            not params("MonitoringJobDefinitionName")
            or e.schedule.config.get("MonitoringJobDefinitionName")
            == params("MonitoringJobDefinitionName")
        )
        and _within(e.scheduled_time, params("ScheduledTimeBefore"), params("ScheduledTimeAfter"))
        and _within(e.creation_time, params("CreationTimeBefore"), params("CreationTimeAfter"))
        and _within(
            e.last_modified_time, params("LastModifiedTimeBefore"), params("LastModifiedTimeAfter")
        )
    ]
    keys = {"ScheduledTime": lambda e: e.scheduled_time, "Status": lambda e: e.status}
    key = keys.get(params("SortBy"), lambda e: e.creation_time)
    chosen = paging.ordered(chosen, key, params("SortOrder"), "Descending")
    return paging.page(chosen, params("MaxResults"), params("NextToken"))


# --- wiring ----------------------------------------------------------------------------------


def install_backend():
    """Executions from tagged processing jobs; schedules taggable and in the tagging API."""
    backend_class = SageMakerModelBackend
    original_create_job = backend_class.create_processing_job
    original_lookup = backend_class._get_resource_from_arn
    original_iter = backend_class.iter_tagged_resources

    def create_processing_job(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        tags, reserved = paging.split_reserved(kwargs.get("tags"))
        seed = execution_seed(self, reserved)
        job = original_create_job(self, *args, **{**kwargs, "tags": tags})
        if seed:
            record_execution(self, job, seed)
        return job

    def _get_resource_from_arn(self, arn):  # type: ignore[no-untyped-def]
        resource = arn.split(":", 5)[-1]
        if resource.startswith("monitoring-schedule/"):
            found = monitoring(self).schedules.get(resource.split("/", 1)[1])
            if found is None:
                raise ValidationError(message=f"Could not find monitoring schedule '{arn}'.")
            return found
        return original_lookup(self, arn)

    def iter_tagged_resources(self):  # type: ignore[no-untyped-def]
        yield from original_iter(self)
        for record in monitoring(self).schedules.values():
            tags = {t["Key"]: t["Value"] for t in record.tags}
            yield TaggedResource(
                arn=record.arn, tags=tags, resource_type="sagemaker:monitoring-schedule"
            )

    backend_class.create_processing_job = create_processing_job
    backend_class._get_resource_from_arn = _get_resource_from_arn
    backend_class.iter_tagged_resources = iter_tagged_resources


def _create_monitoring_schedule(self):
    record = create_schedule(
        self.sagemaker_backend,
        self._get_param("MonitoringScheduleName"),
        self._get_param("MonitoringScheduleConfig"),
        self._get_param("Tags"),
    )
    return ActionResult({"MonitoringScheduleArn": record.arn})


def _describe_monitoring_schedule(self):
    record = schedule(self.sagemaker_backend, self._get_param("MonitoringScheduleName"))
    return ActionResult(record.describe(latest_execution(self.sagemaker_backend, record)))


def _list_monitoring_schedules(self):
    records, token = list_schedules(self.sagemaker_backend, self._get_param)
    return ActionResult(
        {"MonitoringScheduleSummaries": [r.summary() for r in records], "NextToken": token}
    )


def _delete_monitoring_schedule(self):
    delete_schedule(self.sagemaker_backend, self._get_param("MonitoringScheduleName"))
    return EmptyResult()


def _list_monitoring_executions(self):
    records, token = list_executions(self.sagemaker_backend, self._get_param)
    return ActionResult(
        {"MonitoringExecutionSummaries": [r.summary() for r in records], "NextToken": token}
    )


OPERATIONS = {
    "create_monitoring_schedule": _create_monitoring_schedule,
    "describe_monitoring_schedule": _describe_monitoring_schedule,
    "list_monitoring_schedules": _list_monitoring_schedules,
    "delete_monitoring_schedule": _delete_monitoring_schedule,
    "list_monitoring_executions": _list_monitoring_executions,
}


def install() -> None:
    for name, operation in OPERATIONS.items():
        setattr(SageMakerResponse, name, operation)
    install_backend()
