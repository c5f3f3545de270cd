from ._provision import ProvisionCommand


class Command(ProvisionCommand):
    help = "Create the custom domain and its API mapping for one created ApiGateway."
    method = "create_custom_domain"
    what = "custom domain"
