"""The embedded local host: the Functions host's part, driving the app through the real SDK."""
from durapipe.local.sdk_client_http import defer_client_http

# Before anything here imports azure.durable_functions: see sdk_client_http for why.
defer_client_http()
