"""Loading user code: pipeline targets, project definitions, the import path, the definition cache and the run guard."""
