"""Request and response models of the REST API (the edge's own models)."""
