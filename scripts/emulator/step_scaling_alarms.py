"""Step-scaling policies and their CloudWatch alarms, as Application Auto Scaling links them.

In AWS a step-scaling policy is invoked by the alarms whose actions name its ARN:
DescribeScalingPolicies lists them under the policy's `Alarms`, and deleting the policy (or
deregistering its scalable target, which deletes its policies) takes the policy's ARN out of
those alarms' actions while the alarms stay. moto 5.2.5 lists only the alarms it makes for
target tracking itself, and keeps a deregistered target's policies. This module makes moto do
as AWS does, so a test can see an alarm lose its policy and get it back.
"""

from moto.applicationautoscaling import models, responses
from moto.cloudwatch.models import cloudwatch_backends

_ACTION_LISTS = ("alarm_actions", "ok_actions", "insufficient_data_actions")


def _alarms_invoking(policy):
    backend = cloudwatch_backends[policy.account_id][policy.region_name]
    return [
        alarm
        for alarm in backend.alarms.values()
        if any(policy.policy_arn in (getattr(alarm, name) or []) for name in _ACTION_LISTS)
    ]


def _detach(policy):
    for alarm in _alarms_invoking(policy):
        for name in _ACTION_LISTS:
            actions = getattr(alarm, name) or []
            setattr(alarm, name, [a for a in actions if a != policy.policy_arn])


def install() -> None:
    original_build_alarms = responses._build_alarms

    def build_alarms(policy):  # type: ignore[no-untyped-def]
        listed = original_build_alarms(policy)
        if policy.policy_type == "StepScaling":
            listed += [{"AlarmARN": a.alarm_arn, "AlarmName": a.name} for a in _alarms_invoking(policy)]
        return listed

    responses._build_alarms = build_alarms

    backend_class = models.ApplicationAutoscalingBackend
    original_delete_policy = backend_class.delete_scaling_policy
    original_deregister = backend_class.deregister_scalable_target

    def delete_scaling_policy(self, policy_name, service_namespace, resource_id, scalable_dimension):  # type: ignore[no-untyped-def]
        key = models.FakeApplicationAutoscalingPolicy.formulate_key(
            service_namespace, resource_id, scalable_dimension, policy_name
        )
        if key in self.policies:
            _detach(self.policies[key])
        return original_delete_policy(self, policy_name, service_namespace, resource_id, scalable_dimension)

    def deregister_scalable_target(self, namespace, r_id, dimension):  # type: ignore[no-untyped-def]
        original_deregister(self, namespace, r_id, dimension)
        for key, policy in list(self.policies.items()):
            if (policy.service_namespace, policy.resource_id, policy.scalable_dimension) == (
                namespace,
                r_id,
                dimension,
            ):
                _detach(policy)
                policy.delete_alarms(self.account_id, self.region_name)
                del self.policies[key]

    backend_class.delete_scaling_policy = delete_scaling_policy
    backend_class.deregister_scalable_target = deregister_scalable_target
