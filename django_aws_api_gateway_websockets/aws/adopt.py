"""Record in Django an API that exists in AWS (created from the exported template, say).

The API is read back through the control plane (``remote.RemoteApi``): its stage must be
deployed. The record is made as provisioning would have left it (``deployed``, with the
stage's deployment), then ``sync.pull`` reads the rest into it: attributes, the target base
endpoint, and every additional route with its ids. The gateway secret the integrations send
is read first: it is recorded as the gateway secret (AWS sends it), so none is left pending.
A custom domain named by the caller is read with its mapping, and recorded as ``MAPPED``.
"""

from __future__ import annotations

from typing import Any

from .custom_domain import mapped_domain
from .provisioning import provisioning_client
from .remote import RemoteApi, reporting_errors
from .sync import pull, secret_sent_by


def adopt(
    model: Any, api_id: str, stage_name: str, domain_name: str = "", **fields: Any
) -> tuple[Any, list[str]]:
    """A new ``model`` (``ApiGateway``) record of API ``api_id``; and what was read, in words.

    Raises ``ValueError`` when the stage is missing or not deployed, the API is already
    recorded, or ``domain_name`` is not mapped to the stage; ``ApiGatewaySyncError`` when AWS
    cannot be read.
    """
    existing = model.objects.filter(api_id=api_id).first()
    if existing is not None:
        raise ValueError(f"API {api_id} is already recorded (pk {existing.pk}, {existing}).")
    client = provisioning_client()
    with reporting_errors():
        remote = RemoteApi.read(client, api_id, stage_name)
    deployment = (remote.stage or {}).get("DeploymentId")
    if not deployment:
        raise ValueError(f"API {api_id} has no deployed stage {stage_name!r}.")
    api = remote.api or {}
    if api.get("ProtocolType", "WEBSOCKET") != "WEBSOCKET":
        raise ValueError(f"API {api_id} is not a WebSocket API.")
    domain: dict[str, str] = {}
    if domain_name:
        with reporting_errors():
            domain = mapped_domain(client, domain_name, api_id, stage_name)
    default = remote.routes.get("$default")
    uri = (remote.integration_of(default) or {}).get("IntegrationUri", "") if default else ""
    gateway = model(
        api_id=api_id,
        api_name=fields.pop("api_name", None) or api.get("Name", api_id),
        stage_name=stage_name,
        deployment_id=deployment,
        target_base_endpoint=uri.removesuffix("default") or None,
        provisioning_status=model.Status.MAPPED if domain else model.Status.DEPLOYED,
        # Read from AWS, so known to be sent. When AWS sends none, the record gets a pending
        # secret, which stays pending until a push carried it to every integration.
        gateway_secret=secret_sent_by(remote),
        **domain,
        **fields,
    )
    gateway.save()  # validated; a new record: nothing goes to AWS
    return gateway, pull(gateway, client)
