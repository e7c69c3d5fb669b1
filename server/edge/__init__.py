"""The API edge: what a request must pass before GraphQL runs it.

- ``clients``: the third-party API client a request's ``X-Starling-Client`` key names;
- ``documents``: the document to run, from the request's text, an Apollo automatic persisted
  query hash, or a registered ``documentId`` (a trusted-documents-only client runs nothing else);
- ``budget``: the points the request's cost spends from its client's, user's or IP's hourly plan.
"""
