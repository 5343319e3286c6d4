"""The catalog: data assets, models and their versions, resolving input references, lineage and garbage collection."""
