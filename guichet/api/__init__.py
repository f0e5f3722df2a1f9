"""The REST API for the ARS' own tools (see ``guichet.api.api``)."""
