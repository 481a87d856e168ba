"""Test doubles for the outside services the pipelines talk to (model endpoints and the like).

Each fake is a real server on 127.0.0.1 or an in-process object, never a patch of a client
library, so the code under test runs exactly as it does against the real service.
"""
