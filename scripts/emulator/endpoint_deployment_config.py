"""An endpoint's DeploymentConfig, kept as SageMaker keeps it.

CreateEndpoint takes a DeploymentConfig (blue/green or rolling updates, auto-rollback alarms)
and DescribeEndpoint returns it as LastDeploymentConfig. moto 5.2.5 drops it, so a test could
not see whether a parked endpoint comes back with it; this module keeps it on moto's own
endpoint object, whose describe answer lists every attribute.
"""

from moto.sagemaker.responses import SageMakerResponse


def install() -> None:
    original = SageMakerResponse.create_endpoint

    def create_endpoint(self):  # type: ignore[no-untyped-def]
        result = original(self)
        config = self._get_param("DeploymentConfig")
        if config:
            endpoint = self.sagemaker_backend.endpoints[self._get_param("EndpointName")]
            endpoint.last_deployment_config = config
        return result

    SageMakerResponse.create_endpoint = create_endpoint
