"""The form engine: a call's form as data (see docs/form-schema.md).

Sections, typed fields, conditions, repeatable blocks and computed fields; schema validation,
value cleaning, completeness and rendering to Django forms. It knows nothing of dossiers: it
works on a schema and a dict of answers.
"""
