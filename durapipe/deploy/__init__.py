"""Deploying a project to Azure: the function app package, its Event Grid parameters, azd scaffolding."""
from pathlib import Path

# What every function app of durapipe's is deployed with: the entry file (main.py.txt), host.json, azure.yaml.
TEMPLATES = Path(__file__).resolve().parent / "templates"
