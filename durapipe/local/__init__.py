"""The embedded local host: the Functions host's part, driving the app through the real SDK."""
from durapipe.local.deferred_imports import defer_host_imports

# Before anything here imports azure.functions or the Durable SDK: see deferred_imports for why.
defer_host_imports()
