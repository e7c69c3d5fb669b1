"""Compiled execution of known documents.

A query document that is persisted, trusted or seen often is compiled once into a plan
(``execution.plan``): its selections resolved against the schema, fragments inlined, ``@skip`` and
``@include`` reduced to run-time conditions, each field bound to a batched reader
(``execution.fields``). Running a plan (``execution.run``) reads level by level, one batched load
per field source per level, and builds the response data directly.

The plan never decides an error: anything it cannot answer exactly as graphql-core would (a field
without a reader, a null in a non-null position, a failing read, a bad variable) raises
``Fallback`` and the request goes through the normal strawberry path, which reports it.
"""
