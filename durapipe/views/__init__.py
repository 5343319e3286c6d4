"""Views of pipelines and runs shared by the CLI, the HTTP API and the web view: progress, graphs, details, plans, comparisons."""
