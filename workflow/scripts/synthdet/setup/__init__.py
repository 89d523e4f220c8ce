"""Before any job: the config and its schema, prompt templates, the ontology, LLM augmentation, and the plan the rules wire."""
