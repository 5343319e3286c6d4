"""Deploying a project to Azure: the function app package, its Event Grid parameters, azd scaffolding."""
