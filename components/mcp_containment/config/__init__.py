"""The stack config: its schema, cross-key validation, loading, names and the network lock."""
