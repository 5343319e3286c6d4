"""ML helpers the example pipelines' steps call; one module per concern, so a step's code
fingerprint covers only the helpers it uses.

The pipeline files import these as the top-level package `ml`: durapipe puts a pipeline
file's folder (`pipelines/`) on `sys.path` for the steps, as it does for any user project.
"""
