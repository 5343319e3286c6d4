"""The web view of runs and pipelines: page shells and their static assets, served by the function app.

Pages are plain HTML shells; their script reads everything it shows from the JSON API, so
the pages hold no data of their own and need nothing from the internet.
"""
