"""Labels in other tools' layouts: exports (and imports) of a project's masks."""
