from ._provision import ProvisionCommand


class Command(ProvisionCommand):
    help = "Create the API Gateway WebSocket API, routes, stage and deployment for one record."
    method = "create_gateway"
    what = "API Gateway"
