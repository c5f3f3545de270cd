"""Everything that talks to AWS: client factory, provisioning, posting, outcome classification.

Nothing here imports the models: gateways and sessions are passed in, and the boto3 client
factory is looked up on the models module at call time (``clients.boto3_client``).
"""
