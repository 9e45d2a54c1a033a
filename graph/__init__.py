"""Everything that knows Neo4j and the twin: the local server, the schema, the
write path, the connectors that load each source, and the tools agents query with."""
