"""Gateways, connections, connect tokens, rate-limit rows and delivery reports."""

from __future__ import annotations

import re
import secrets
import uuid
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import boto3
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone

from .conf import MAX_MESSAGE_BYTES, app_settings
from .fields import EndpointURLField

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

__all__ = [
    "MAX_MESSAGE_SIZE",
    "ApiGateway",
    "ApiGatewayAdditionalRoute",
    "ConnectionRateLimit",
    "DeliveryBatch",
    "DeliveryReport",
    "WebSocketSession",
    "WebSocketToken",
    "get_boto3_client",
    "get_region_name",
]

MAX_MESSAGE_SIZE = MAX_MESSAGE_BYTES

DOMAIN_NAME_RE = re.compile(
    r"^(?=.{1,253}$)([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$"
)
API_NAME_RE = re.compile(r"^[ a-zA-Z0-9_-]+$")


def get_region_name() -> str:
    """Return the AWS region from ``AWS_GATEWAY_REGION_NAME`` or ``AWS_REGION_NAME``."""
    region = app_settings.AWS_REGION
    if not region:
        raise RuntimeError(
            "AWS_GATEWAY_REGION_NAME or AWS_REGION_NAME must be set within settings.py"
        )
    return region


def get_boto3_client(service: str = "apigatewayv2", **kwargs: Any) -> Any:
    """Build a boto3 client from a profile, explicit keys, or the ambient credentials.

    Every AWS call of the app looks this function up on this module when it runs, so
    patching ``django_aws_api_gateway_websockets.models.get_boto3_client`` intercepts them all.
    """
    if app_settings.AWS_IAM_PROFILE:
        return boto3.Session(profile_name=app_settings.AWS_IAM_PROFILE).client(service, **kwargs)
    kwargs.setdefault("region_name", get_region_name())
    if app_settings.AWS_ACCESS_KEY_ID and app_settings.AWS_SECRET_ACCESS_KEY:
        kwargs.setdefault("aws_access_key_id", app_settings.AWS_ACCESS_KEY_ID)
        kwargs.setdefault("aws_secret_access_key", app_settings.AWS_SECRET_ACCESS_KEY)
    return boto3.client(service, **kwargs)


# Delivery posts directly (see ``direct.py``) only through clients this function made.
default_client_factory = get_boto3_client


def management_endpoint(api_id: str, stage: str) -> str:
    """The Management API URL of one deployed stage, from ``WEBSOCKETS["management_endpoint"]``."""
    region = app_settings.AWS_REGION or ""
    return app_settings.MANAGEMENT_ENDPOINT.format(api_id=api_id, region=region, stage=stage)


class ApiGateway(models.Model):
    """One API Gateway WebSocket API, and what AWS returned when it was created."""

    api_name = models.CharField(max_length=255, unique=True)
    api_description = models.CharField(max_length=255, blank=True, default="")
    default_channel_name = models.CharField(
        max_length=128, blank=True, default="", help_text="Channel for clients that name none."
    )
    domain_name = models.CharField(
        max_length=255, blank=True, default="", help_text="Custom domain, e.g. ws.example.com."
    )
    target_base_endpoint = EndpointURLField(
        null=True,
        blank=True,
        default=None,
        help_text="Django URL the routes are appended to, with a trailing slash: https://example.com/ws/",
    )
    certificate_arn = models.CharField(max_length=255, blank=True, default="")
    hosted_zone_id = models.CharField(max_length=32, blank=True, default="")
    api_key_selection_expression = models.CharField(
        max_length=255, default="$request.header.x-api-key"
    )
    route_selection_expression = models.CharField(max_length=255, default="$request.body.action")
    route_key = models.CharField(max_length=255, default="$default")
    stage_name = models.CharField(max_length=63, default="production", blank=True)
    stage_description = models.CharField(max_length=63, default="", blank=True)
    deployment_id = models.CharField(max_length=32, default="", blank=True, editable=False)
    tags = models.JSONField(blank=True, default=dict, help_text='{"tag-name": "tag-value"}')
    api_id = models.CharField(max_length=32, blank=True, default="")
    api_endpoint = models.CharField(max_length=255, blank=True, default="")
    api_gateway_domain_name = models.CharField(max_length=255, blank=True, default="")
    api_mapping_id = models.CharField(max_length=128, blank=True, default="")
    api_created = models.BooleanField(default=False, editable=False)
    custom_domain_created = models.BooleanField(default=False, editable=False)
    created_on = models.DateTimeField(auto_now_add=True)
    updated_on = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "API Gateway"
        indexes = [
            models.Index(fields=["api_id"]),
            models.Index(fields=["domain_name"]),
            models.Index(fields=["custom_domain_created"]),
            models.Index(fields=["api_created"]),
            models.Index(fields=["created_on"]),
        ]

    def __str__(self) -> str:
        return self.api_name

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.full_clean()
        if self.target_base_endpoint and not self.target_base_endpoint.endswith("/"):
            self.target_base_endpoint += "/"
        super().save(*args, **kwargs)

    def clean(self) -> None:
        if self.domain_name and not DOMAIN_NAME_RE.match(self.domain_name):
            raise ValidationError({"domain_name": "Invalid domain name format"})
        if self.api_name and not API_NAME_RE.match(self.api_name):
            raise ValidationError(
                {"api_name": "Use letters, digits, spaces, hyphens and underscores only"}
            )

    @property
    def management_endpoint(self) -> str:
        return management_endpoint(self.api_id, self.stage_name)

    # AWS provisioning. Each step saves only once AWS has answered, so a failure part-way
    # never marks the gateway created and the call can be repeated.

    def create_gateway(self) -> bool:
        """Create the API, its three routes, extra routes, the stage and a deployment.

        Returns True when created, False when it already was.
        """
        if self.api_created:
            return False
        if not self.target_base_endpoint:
            raise ValueError("A target base endpoint is required")
        client = get_boto3_client()
        routes_done: set[str] = set()
        stages_done: set[str] = set()
        if self.api_id:
            # A previous attempt failed part-way: carry on from what AWS already has.
            routes_done = {i["RouteKey"] for i in client.get_routes(ApiId=self.api_id)["Items"]}
            stages_done = {i["StageName"] for i in client.get_stages(ApiId=self.api_id)["Items"]}
        else:
            response = client.create_api(
                ApiKeySelectionExpression=self.api_key_selection_expression,
                Description=self.api_description,
                DisableSchemaValidation=True,
                Name=self.api_name,
                ProtocolType="WEBSOCKET",
                RouteSelectionExpression=self.route_selection_expression,
                Tags={str(k): str(v) for k, v in self.tags.items()},
            )
            self.api_id = response["ApiId"]
            self.api_endpoint = response["ApiEndpoint"]
            self.save(update_fields=["api_id", "api_endpoint", "updated_on"])
        for route_key in ("$connect", "$disconnect", "$default"):
            if route_key not in routes_done:
                uri = self.target_base_endpoint + route_key.lstrip("$")
                self._create_route(client, route_key, uri)
        routes = list(self.additional_routes.filter(deployed=False))
        for route in routes:
            if route.route_key not in routes_done:
                route.create_route(client, deploy=False)
        if self.stage_name not in stages_done:
            client.create_stage(ApiId=self.api_id, StageName=self.stage_name)
        self.deploy_api(client)
        with transaction.atomic():
            self.api_created = True
            self.save(update_fields=["api_created", "deployment_id", "updated_on"])
            ApiGatewayAdditionalRoute.objects.filter(pk__in=[r.pk for r in routes]).update(
                deployed=True
            )
        return True

    def _create_route(self, client: Any, route_key: str, uri: str) -> None:
        integration = client.create_integration(**self._integration_params(uri))
        client.create_route(
            ApiId=self.api_id,
            ApiKeyRequired=False,
            AuthorizationType="NONE",
            RouteKey=route_key,
            RouteResponseSelectionExpression="$default",
            Target=f"integrations/{integration['IntegrationId']}",
        )

    def _integration_params(self, uri: str) -> dict[str, Any]:
        parameters = {"integration.request.header.connectionId": "context.connectionId"}
        if app_settings.GATEWAY_SECRETS:
            header = f"integration.request.header.{app_settings.GATEWAY_SECRET_HEADER}"
            parameters[header] = f"'{app_settings.GATEWAY_SECRETS[0]}'"
        return {
            "ApiId": self.api_id,
            "ConnectionType": "INTERNET",
            "IntegrationMethod": "POST",
            "IntegrationType": "HTTP_PROXY",
            "IntegrationUri": uri,
            "PassthroughBehavior": "WHEN_NO_MATCH",
            "PayloadFormatVersion": "1.0",
            "RequestParameters": parameters,
            "TimeoutInMillis": 29000,
        }

    def deploy_api(self, client: Any) -> None:
        response = client.create_deployment(
            ApiId=self.api_id, Description=self.stage_description, StageName=self.stage_name
        )
        self.deployment_id = response["DeploymentId"]

    def create_custom_domain(self) -> bool:
        """Create the custom domain and map it to the stage. Route 53 records stay manual."""
        if not self.api_created:
            raise ValueError("The API needs to be created before calling this method")
        if not self.domain_name:
            raise ValueError("A domain name is required")
        if not self.certificate_arn:
            raise ValueError("A Certificate ARN is required")
        if self.custom_domain_created:
            return False
        config = {
            "CertificateArn": self.certificate_arn,
            "EndpointType": "REGIONAL",
            "SecurityPolicy": "TLS_1_2",
        }
        if self.hosted_zone_id:
            config["HostedZoneId"] = self.hosted_zone_id
        client = get_boto3_client()
        response = client.create_domain_name(
            DomainName=self.domain_name, DomainNameConfigurations=[config]
        )
        self.api_gateway_domain_name = response["DomainNameConfigurations"][0][
            "ApiGatewayDomainName"
        ]
        mapping = client.create_api_mapping(
            ApiId=self.api_id, DomainName=self.domain_name, Stage=self.stage_name
        )
        self.api_mapping_id = mapping["ApiMappingId"]
        self.custom_domain_created = True
        self.save(
            update_fields=[
                "api_gateway_domain_name",
                "api_mapping_id",
                "custom_domain_created",
                "updated_on",
            ]
        )
        return True


class ApiGatewayAdditionalRoute(models.Model):
    """A custom route key that API Gateway forwards to its own Django URL."""

    api_gateway = models.ForeignKey(
        ApiGateway, on_delete=models.CASCADE, related_name="additional_routes"
    )
    name = models.CharField(max_length=63, help_text="Descriptive name for the route")
    route_key = models.CharField(max_length=64, db_index=True)
    integration_url = EndpointURLField()
    deployed = models.BooleanField(default=False, editable=False)
    created_on = models.DateTimeField(auto_now_add=True)
    updated_on = models.DateTimeField(auto_now=True)

    class Meta:
        unique_together = [["api_gateway", "route_key"]]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        super().save(*args, **kwargs)
        if self.api_gateway.api_created and not self.deployed:
            self.create_route(get_boto3_client())

    def create_route(self, client: Any, deploy: bool = True) -> None:
        """Create this route in AWS; with ``deploy``, redeploy the stage and mark it deployed."""
        gateway = self.api_gateway
        gateway._create_route(client, self.route_key, self.integration_url)
        if deploy:
            gateway.deploy_api(client)
            gateway.save(update_fields=["deployment_id", "updated_on"])
            self.deployed = True
            super().save(update_fields=["deployed", "updated_on"])


class WebSocketSessionQuerySet(models.QuerySet):
    def connected(self) -> WebSocketSessionQuerySet:
        return self.filter(connected=True)

    def send_message(self, data: Any) -> DeliveryReport:
        """Queue ``data`` for every connected session of this queryset; return its report."""
        from .selection import from_queryset
        from .sending import enqueue

        return enqueue(data, from_queryset(self))

    def send_to_channel(
        self, channel_name: str, data: Any, *, exclude: str | None = None
    ) -> DeliveryReport:
        """Queue ``data`` for a channel, optionally leaving out one connection (the sender)."""
        return self._send_structured(data, {"channel_name": channel_name}, exclude)

    def send_to_user(
        self, user: AbstractBaseUser | int, data: Any, *, exclude: str | None = None
    ) -> DeliveryReport:
        """Queue ``data`` for every connection of one user (all tabs and devices)."""
        return self._send_structured(data, {"user_id": getattr(user, "pk", user)}, exclude)

    def send_to_all(self, data: Any, *, exclude: str | None = None) -> DeliveryReport:
        """Queue ``data`` for every connected session."""
        return self._send_structured(data, {}, exclude)

    def _send_structured(
        self, data: Any, filters: dict[str, Any], exclude: str | None
    ) -> DeliveryReport:
        from .selection import structured
        from .sending import enqueue

        excludes = {"connection_id": exclude} if exclude else {}
        return enqueue(data, structured(filters, excludes))


class WebSocketSession(models.Model):
    """One API Gateway connection."""

    connection_id = models.CharField(max_length=255, unique=True)
    channel_name = models.CharField(
        max_length=128, blank=True, default="", help_text="Used to group connections together"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        default=None,
        on_delete=models.CASCADE,
        related_name="websocket_sessions",
    )
    connected = models.BooleanField(default=True)
    api_gateway = models.ForeignKey(
        ApiGateway,
        null=True,
        blank=True,
        default=None,
        on_delete=models.SET_NULL,
        related_name="sessions",
    )
    request_count = models.PositiveBigIntegerField(default=1)
    created_on = models.DateTimeField(auto_now_add=True)
    updated_on = models.DateTimeField(auto_now=True)

    objects = WebSocketSessionQuerySet.as_manager()

    class Meta:
        verbose_name = "WebSocket session"
        indexes = [
            models.Index(fields=["connection_id", "connected"]),
            models.Index(fields=["channel_name", "connection_id"]),
            models.Index(fields=["channel_name", "connected"]),
            models.Index(fields=["connected", "created_on"]),
        ]

    def __str__(self) -> str:
        return self.connection_id

    def send_message(self, data: Any) -> DeliveryReport:
        """Queue ``data`` for this connection; return its delivery report."""
        return WebSocketSession.objects.all()._send_structured(data, {"pk": self.pk}, None)

    def disconnect(self) -> None:
        """Ask API Gateway to close the connection and mark the session disconnected."""
        from .clients import delete_connection

        delete_connection(self)
        WebSocketSession.objects.filter(pk=self.pk).update(connected=False)
        self.connected = False


class WebSocketToken(models.Model):
    """A single-use token that lets a logged-in browser open one connection."""

    token = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="websocket_tokens"
    )
    session_key = models.CharField(max_length=40, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    used = models.BooleanField(default=False)

    class Meta:
        verbose_name = "WebSocket token"
        indexes = [models.Index(fields=["token", "used"], name="idx_websocket_tokens_used")]

    def __str__(self) -> str:
        return f"{self.token[:16]}..."

    @classmethod
    def generate_token(cls, user: AbstractBaseUser, session_key: str) -> WebSocketToken:
        return cls.objects.create(user=user, session_key=session_key, token=secrets.token_hex(32))

    @classmethod
    def validate_and_consume(
        cls, token_value: str, session_key: str, max_age_seconds: int | None = None
    ) -> AbstractBaseUser | None:
        """Return the token's user and spend the token, or None if it is unknown, used or old.

        One UPDATE claims the token, so two concurrent connects cannot both spend it.
        """
        if not token_value or not session_key:
            return None
        if max_age_seconds is None:
            max_age_seconds = app_settings.TOKEN_EXPIRY_SECONDS
        fresh = cls.objects.filter(
            token=token_value,
            session_key=session_key,
            used=False,
            created_at__gte=timezone.now() - timedelta(seconds=max_age_seconds),
        )
        token = fresh.select_related("user").first()
        if token is None or not fresh.filter(pk=token.pk).update(used=True):
            return None
        return token.user

    @classmethod
    def check_rate_limit(cls, user: AbstractBaseUser, max_tokens_per_minute: int = 10) -> bool:
        """True while ``user`` has been issued fewer than the limit in the last minute."""
        since = timezone.now() - timedelta(minutes=1)
        return cls.objects.filter(user=user, created_at__gte=since).count() < max_tokens_per_minute

    @classmethod
    def cleanup_expired(cls, max_age_seconds: int = 300) -> int:
        from .cleanup import delete_expired_tokens

        return delete_expired_tokens(max_age_seconds)


class ConnectionRateLimit(models.Model):
    """One connection attempt, counted per IP and per user."""

    ip_address = models.GenericIPAddressField(db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="connection_attempts",
    )
    attempt_time = models.DateTimeField(auto_now_add=True, db_index=True)
    successful = models.BooleanField(default=False)

    class Meta:
        verbose_name = "connection attempt"
        indexes = [
            models.Index(fields=["ip_address", "attempt_time"], name="idx_ip_attempt_time"),
            models.Index(fields=["user", "attempt_time"], name="idx_user_attempt_time"),
        ]

    def __str__(self) -> str:
        return f"{self.ip_address} at {self.attempt_time:%Y-%m-%d %H:%M:%S}"

    @classmethod
    def check_rate_limit(
        cls,
        ip_address: str,
        user: AbstractBaseUser | None = None,
        max_attempts: int = 20,
        window_minutes: int = 5,
    ) -> tuple[bool, int]:
        """Return ``(allowed, attempts)`` for the IP and, if authenticated, the user."""
        recent = cls.objects.filter(
            attempt_time__gte=timezone.now() - timedelta(minutes=window_minutes)
        )
        ip_count = recent.filter(ip_address=ip_address).count()
        if ip_count >= max_attempts:
            return False, ip_count
        if user is not None and user.is_authenticated:
            user_count = recent.filter(user=user).count()
            if user_count >= max_attempts:
                return False, user_count
        return True, ip_count

    @classmethod
    def record_attempt(
        cls, ip_address: str, user: AbstractBaseUser | None = None, successful: bool = False
    ) -> ConnectionRateLimit:
        authenticated = user is not None and user.is_authenticated
        return cls.objects.create(
            ip_address=ip_address, user=user if authenticated else None, successful=successful
        )

    @classmethod
    def cleanup_old_records(cls, days: int = 7) -> int:
        from .cleanup import delete_old_rate_limits

        return delete_old_rate_limits(days)


class DeliveryReport(models.Model):
    """What happened to one send: who it was for and how each recipient fared.

    Its id travels inside the posted JSON as ``delivery_id``, so clients can drop the
    duplicates that at-least-once delivery may produce.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    description = models.CharField(max_length=255, blank=True, default="")
    payload = models.TextField(help_text="The JSON posted to each connection.")
    selection = models.JSONField(help_text="Which sessions receive it, resolved by the worker.")
    planned = models.BooleanField(
        default=False, help_text="Every recipient has been assigned to a batch."
    )
    plan_cursor = models.BigIntegerField(default=0)
    batches_pending = models.IntegerField(default=0)
    recipients = models.PositiveIntegerField(default=0)
    delivered = models.PositiveIntegerField(default=0)
    gone = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    retried = models.PositiveIntegerField(default=0)
    created_on = models.DateTimeField(auto_now_add=True, db_index=True)
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_on"]
        indexes = [models.Index(fields=["finished", "created_on"])]

    def __str__(self) -> str:
        return f"{self.description or 'send'} ({self.id})"

    @property
    def settled(self) -> int:
        """Recipients with a final outcome."""
        return self.delivered + self.gone + self.failed

    @property
    def progress(self) -> float | None:
        """Share of recipients settled, 0.0-1.0; None until recipients are known."""
        if not self.planned and not self.recipients:
            return None
        return 1.0 if not self.recipients else self.settled / self.recipients


class DeliveryBatch(models.Model):
    """A slice of one send's recipients, posted by one task and retried as a unit of work."""

    report = models.ForeignKey(DeliveryReport, on_delete=models.CASCADE, related_name="batches")
    session_ids = models.JSONField()
    pending = models.JSONField(help_text="Session ids still to post on the next attempt.")
    attempt = models.PositiveSmallIntegerField(default=0)
    done = models.BooleanField(default=False)
    delivered = models.PositiveIntegerField(default=0)
    gone = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    updated_on = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "delivery batches"
        indexes = [models.Index(fields=["done", "updated_on"])]

    def __str__(self) -> str:
        return f"batch {self.pk} of {self.report_id}"
