"""Connectors: one module per source format, each get -> transform -> load -> cleanup.

A connector module defines a `CONNECTOR = Connector(...)`; `graph.ingest.registry`
lists them, sniffs formats and runs ingests (see `graph/ingest/base.py`), then the
derivations of graph/derive. Schemas come from graph/catalog; transforms see the twin
through a read-only graph.reader.TwinReader.
"""
