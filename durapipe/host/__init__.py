"""The embedded local host: the Functions host's part, driving the app through the real SDK."""
from durapipe.host.sdk_compat import defer_host_imports

# Before anything here imports azure.functions or the Durable SDK: see sdk_compat for why.
defer_host_imports()
