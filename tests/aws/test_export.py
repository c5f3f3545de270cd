"""exportApiGateway's template and policy, importApiGateway, and drift either way (moto)."""

import json
import re

import pytest
from cfnlint.api import lint
from django.core.management import CommandError, call_command

from django_aws_api_gateway_websockets.aws.export import cloudformation_template
from django_aws_api_gateway_websockets.models import ApiGateway, ApiGatewayAdditionalRoute

pytestmark = pytest.mark.django_db

SECRET = "s" * 43


@pytest.fixture
def described(gateway):
    """A gateway with a replying and a one-way route, a custom domain and tags."""
    for key, reply in (("chat", True), ("notify", False)):
        ApiGatewayAdditionalRoute.objects.create(
            api_gateway=gateway,
            name=key,
            route_key=key,
            integration_url=f"https://app.example.com/ws/{key}",
            route_response=reply,
        )
    gateway.domain_name = "ws.example.com"
    gateway.certificate_arn = "arn:aws:acm:us-east-1:123456789012:certificate/abc"
    gateway.stage_description = "release 1"
    gateway.tags = {"team": "chat"}
    gateway.gateway_secret = SECRET
    gateway.save()
    return gateway


def export(gateway, capsys, fmt="cloudformation", **options):
    call_command("exportApiGateway", pk=gateway.pk, format=fmt, **options)
    return json.loads(capsys.readouterr().out)


def test_the_template_passes_cfn_lint_and_never_holds_the_secret(described, capsys):
    template = export(described, capsys)
    text = json.dumps(template)
    assert SECRET not in text
    assert template["Parameters"]["GatewaySecret"]["NoEcho"] is True
    matches = lint(text, regions=["us-east-1"])
    assert [str(m) for m in matches] == []
    types = {r["Type"] for r in template["Resources"].values()}
    assert types == {
        f"AWS::ApiGatewayV2::{kind}"
        for kind in (
            "Api",
            "Integration",
            "Route",
            "RouteResponse",
            "Deployment",
            "Stage",
            "DomainName",
            "ApiMapping",
        )
    }


def test_no_custom_domain_without_one(gateway, capsys):
    template = export(gateway, capsys)
    assert not [r for r in template["Resources"].values() if "Domain" in r["Type"]]
    assert lint(json.dumps(template), regions=["us-east-1"]) == []


def resolve(value, names):
    """A template value with ``Ref``/``Fn::Sub`` replaced by what AWS assigned."""
    if isinstance(value, dict) and "Ref" in value:
        return names[value["Ref"]]
    if isinstance(value, dict) and "Fn::Sub" in value:
        return re.sub(r"\$\{(\w+)\}", lambda m: names[m.group(1)], value["Fn::Sub"])
    if isinstance(value, dict):
        return {k: resolve(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, names) for v in value]
    return value


def of_type(template, kind):
    return {
        name: resource
        for name, resource in template["Resources"].items()
        if resource["Type"] == f"AWS::ApiGatewayV2::{kind}"
    }


def test_the_template_describes_what_provisioning_creates_route_by_route(aws, described):
    template = cloudformation_template(described)
    described.create_gateway()
    described.refresh_from_db()
    api_id = described.api_id
    remote = aws.routes(api_id)
    names = {"Api": api_id, "GatewaySecret": SECRET}
    routes = of_type(template, "Route")
    assert sorted(r["Properties"]["RouteKey"] for r in routes.values()) == sorted(remote)
    responses = {
        r["Properties"]["RouteId"]["Ref"]: r["Properties"]["RouteResponseKey"]
        for r in of_type(template, "RouteResponse").values()
    }
    for name, resource in routes.items():
        props = resource["Properties"]
        actual = remote[props["RouteKey"]]
        integration_name = props["Target"]["Fn::Sub"].removeprefix("integrations/${")[:-1]
        names[integration_name] = actual["Target"].removeprefix("integrations/")
        for key in ("AuthorizationType", "ApiKeyRequired", "RouteResponseSelectionExpression"):
            assert props.get(key) == actual.get(key), (props["RouteKey"], key)
        assert resolve(props["Target"], names) == actual["Target"]
        wanted = resolve(template["Resources"][integration_name]["Properties"], names)
        created = aws.integration(api_id, actual)
        for key, value in wanted.items():
            if key != "ApiId":  # the API they belong to, asked for by id
                assert created[key] == value, (props["RouteKey"], key)
        expected_responses = [responses[name]] if name in responses else []
        assert aws.response_keys(api_id, actual) == expected_responses, props["RouteKey"]
    stage = of_type(template, "Stage")["Stage"]["Properties"]
    created_stage = aws.client.get_stage(ApiId=api_id, StageName="prod")
    assert (stage["StageName"], stage["Description"]) == ("prod", created_stage["Description"])
    api = of_type(template, "Api")["Api"]["Properties"]
    created_api = aws.client.get_api(ApiId=api_id)
    for key in ("Name", "ProtocolType", "RouteSelectionExpression", "ApiKeySelectionExpression"):
        assert api[key] == created_api[key]


def test_4_1_0s_secret_is_a_noecho_parameter_too(described, capsys, settings):
    legacy = "legacy-4-1-0-secret-" + "x" * 20
    settings.WEBSOCKETS = {**getattr(settings, "WEBSOCKETS", {}), "gateway_secret": legacy}
    template = export(described, capsys)
    text = json.dumps(template)
    assert legacy not in text and SECRET not in text
    assert template["Parameters"]["LegacyGatewaySecret"]["NoEcho"] is True
    integrations = [
        r["Properties"]["RequestParameters"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::ApiGatewayV2::Integration"
    ]
    header = "integration.request.header.X-Ws-Gateway-Secret"
    assert {json.dumps(p[header]) for p in integrations} == {
        json.dumps({"Fn::Sub": "'${LegacyGatewaySecret}'"})
    }
    assert [str(m) for m in lint(text, regions=["us-east-1"])] == []


def create_from_template(client, template, secret):
    """What CloudFormation does with the template, call by call, against moto."""
    names = {"GatewaySecret": secret}
    resources = template["Resources"]
    api = resources["Api"]["Properties"]
    names["Api"] = client.create_api(**api)["ApiId"]
    for name, resource in of_type(template, "Integration").items():
        created = client.create_integration(**resolve(resource["Properties"], names))
        names[name] = created["IntegrationId"]
    for name, resource in of_type(template, "Route").items():
        names[name] = client.create_route(**resolve(resource["Properties"], names))["RouteId"]
    for resource in of_type(template, "RouteResponse").values():
        client.create_route_response(**resolve(resource["Properties"], names))
    stage = resolve(
        {k: v for k, v in resources["Stage"]["Properties"].items()}, names | {"Deployment": ""}
    )
    stage.pop("DeploymentId")
    client.create_stage(**stage)
    deployment = resolve(resources["Deployment"]["Properties"], names)
    client.create_deployment(StageName=stage["StageName"], **deployment)
    names["Stage"] = stage["StageName"]  # a stage's Ref is its name
    for name, resource in of_type(template, "DomainName").items():
        names[name] = client.create_domain_name(**resource["Properties"])["DomainName"]
    for resource in of_type(template, "ApiMapping").values():
        client.create_api_mapping(**resolve(resource["Properties"], names))
    return names["Api"]


def test_import_records_an_api_made_from_the_template(aws, described, capsys):
    template = cloudformation_template(described)
    routes = set(described.additional_routes.values_list("route_key", flat=True))
    described.delete()  # the record goes; the API will come from the template
    api_id = create_from_template(aws.client, template, SECRET)
    call_command("importApiGateway", api_id=api_id, stage="prod", domain_name="ws.example.com")
    assert f"recorded API {api_id}" in capsys.readouterr().out
    gateway = ApiGateway.objects.get(api_id=api_id)
    assert (gateway.provisioning_status, gateway.is_deployed) == ("mapped", True)
    [domain] = aws.client.get_domain_names()["Items"]
    [mapping] = aws.client.get_api_mappings(DomainName="ws.example.com")["Items"]
    configuration = domain["DomainNameConfigurations"][0]
    assert (gateway.domain_name, gateway.certificate_arn) == (
        "ws.example.com",
        described.certificate_arn,
    )
    # The outputs AWS gives a domain (moto gives fewer): the DNS alias target.
    assert gateway.api_gateway_domain_name == configuration.get("ApiGatewayDomainName", "")
    assert gateway.hosted_zone_id == configuration.get("HostedZoneId", "")
    assert gateway.api_mapping_id == mapping["ApiMappingId"]
    assert (gateway.api_created, gateway.custom_domain_created) == (True, True)  # 4.1.0's flags
    assert gateway.gateway_secret == SECRET  # read back from the integrations
    assert gateway.target_base_endpoint == "https://app.example.com/ws/"
    assert gateway.stage_description == "release 1"
    remote = aws.routes(api_id)
    for route in gateway.additional_routes.all():
        assert route.route_id == remote[route.route_key]["RouteId"]
        assert route.integration_id and route.deployed
    assert set(gateway.additional_routes.values_list("route_key", flat=True)) == routes
    assert gateway.additional_routes.get(route_key="notify").route_response is False
    call_command("checkApiGateway", pk=gateway.pk)
    assert "all good" in capsys.readouterr().out
    with pytest.raises(CommandError, match="already recorded"):
        call_command("importApiGateway", api_id=api_id, stage="prod")


def test_import_refuses_a_domain_not_mapped_to_the_stage(aws, described):
    template = cloudformation_template(described)
    described.delete()
    api_id = create_from_template(aws.client, template, SECRET)
    aws.client.create_domain_name(
        DomainName="other.example.com",
        DomainNameConfigurations=[{"CertificateArn": described.certificate_arn}],
    )
    with pytest.raises(CommandError, match=re.escape("'other.example.com' is not mapped to API")):
        call_command(
            "importApiGateway", api_id=api_id, stage="prod", domain_name="other.example.com"
        )
    with pytest.raises(CommandError, match=re.escape("'missing.example.com' does not exist")):
        call_command(
            "importApiGateway", api_id=api_id, stage="prod", domain_name="missing.example.com"
        )
    assert not ApiGateway.objects.exists()


def test_import_needs_a_deployed_stage(aws):
    api = aws.client.create_api(
        Name="Bare", ProtocolType="WEBSOCKET", RouteSelectionExpression="$request.body.action"
    )
    with pytest.raises(CommandError, match="no deployed stage 'prod'"):
        call_command("importApiGateway", api_id=api["ApiId"], stage="prod")
    assert not ApiGateway.objects.exists()


def test_check_reports_drift_either_way(aws, gateway, capsys):
    gateway.create_gateway()
    gateway.refresh_from_db()
    api_id = gateway.api_id
    # AWS has a route no record describes ...
    aws.client.create_route(ApiId=api_id, RouteKey="made-in-console")
    # ... and a record says what AWS does not have.
    ApiGateway.objects.filter(pk=gateway.pk).update(api_description="described in Django")
    with pytest.raises(CommandError, match="difference"):
        call_command("checkApiGateway", pk=gateway.pk)
    out = capsys.readouterr().out
    assert "made-in-console\n    - route is in AWS but not recorded in Django" in out
    assert "API\n    - Description differ from the record" in out


def test_the_iam_policy(gateway, capsys, settings):
    gateway.api_id = "abc123"
    gateway.save()
    policy = export(gateway, capsys, fmt="iam-policy", account_id="123456789012")
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    assert by_sid["ManageConnections"] == {
        "Sid": "ManageConnections",
        "Effect": "Allow",
        "Action": "execute-api:ManageConnections",
        "Resource": [
            f"arn:aws:execute-api:us-east-1:123456789012:abc123/prod/{m}/@connections/*"
            for m in ("POST", "GET", "DELETE")
        ],
    }
    resources = {r for s in policy["Statement"] for r in s["Resource"]}
    assert "*" not in resources
    assert all(
        r.startswith(
            ("arn:aws:execute-api:us-east-1:", "arn:aws:apigateway:us-east-1::/apis/abc123")
        )
        for r in resources
    )
    actions = {
        a
        for s in policy["Statement"]
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert actions == {
        "execute-api:ManageConnections",
        "apigateway:GET",
        "apigateway:POST",
        "apigateway:PATCH",
        "apigateway:DELETE",
    }


def test_export_to_a_file(gateway, tmp_path, capsys):
    target = tmp_path / "websocket.json"
    call_command("exportApiGateway", pk=gateway.pk, output=str(target))
    assert json.loads(target.read_text())["Resources"]["Api"]["Properties"]["Name"] == "Moto"
    assert capsys.readouterr().out == ""
    with pytest.raises(CommandError, match="No ApiGateway with pk 999"):
        call_command("exportApiGateway", pk=999)


def test_an_imported_domain_keeps_the_alias_target_aws_gives_it():
    """GetDomainName's outputs (which moto leaves out) as AWS documents them, via Stubber."""
    import boto3
    from botocore.stub import Stubber

    from django_aws_api_gateway_websockets.aws.custom_domain import mapped_domain

    client = boto3.client(
        "apigatewayv2",
        region_name="eu-west-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )
    configuration = {
        "CertificateArn": "arn:aws:acm:eu-west-1:123456789012:certificate/abc",
        "ApiGatewayDomainName": "d-abc123.execute-api.eu-west-1.amazonaws.com",
        "HostedZoneId": "ZLY8HYME6SFDD",
        "EndpointType": "REGIONAL",
    }
    mapping = {"ApiId": "a1b2c3d4e5", "Stage": "prod", "ApiMappingId": "m1"}
    with Stubber(client) as stub:
        stub.add_response(
            "get_domain_name",
            {"DomainName": "ws.example.com", "DomainNameConfigurations": [configuration]},
            {"DomainName": "ws.example.com"},
        )
        stub.add_response(
            "get_api_mappings",
            {"Items": [{**mapping, "Stage": "other", "ApiMappingId": "m0"}, mapping]},
            {"DomainName": "ws.example.com"},
        )
        fields = mapped_domain(client, "ws.example.com", "a1b2c3d4e5", "prod")
    assert fields == {
        "domain_name": "ws.example.com",
        "certificate_arn": configuration["CertificateArn"],
        "api_gateway_domain_name": "d-abc123.execute-api.eu-west-1.amazonaws.com",
        "hosted_zone_id": "ZLY8HYME6SFDD",
        "api_mapping_id": "m1",
    }
