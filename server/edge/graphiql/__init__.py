"""GraphiQL, served by the app itself: no CDN, so it works on a machine without internet.

The assets are the npm packages' own builds, vendored here (``make graphiql-assets`` refreshes
them at the versions below): graphiql's UMD bundle and stylesheet, and React's UMD builds.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response

GRAPHIQL_VERSION = "3.9.0"
REACT_VERSION = "18.3.1"
ASSETS = Path(__file__).parent
PREFIX = f"/graphiql/{GRAPHIQL_VERSION}"
_FILES = {
    "graphiql.min.js": "text/javascript",
    "graphiql.min.css": "text/css",
    "react.production.min.js": "text/javascript",
    "react-dom.production.min.js": "text/javascript",
}

PAGE = f"""<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <title>Starling GraphiQL</title>
    <link rel="stylesheet" href="{PREFIX}/graphiql.min.css">
    <style>body {{ margin: 0; }} #graphiql {{ height: 100vh; }}</style>
  </head>
  <body>
    <div id="graphiql">Loading...</div>
    <script src="{PREFIX}/react.production.min.js"></script>
    <script src="{PREFIX}/react-dom.production.min.js"></script>
    <script src="{PREFIX}/graphiql.min.js"></script>
    <script>
      const fetcher = GraphiQL.createFetcher({{ url: window.location.pathname }});
      ReactDOM.createRoot(document.getElementById("graphiql")).render(
        React.createElement(GraphiQL, {{ fetcher, defaultEditorToolsVisibility: true }})
      );
    </script>
  </body>
</html>
"""


def page() -> HTMLResponse:
    return HTMLResponse(PAGE)


async def asset(request: Request) -> Response:
    """One of the vendored files; versioned paths, so browsers may keep them for a year."""
    name = request.path_params["name"]
    if name not in _FILES:
        return Response("Not Found", status_code=404)
    return FileResponse(
        ASSETS / name,
        media_type=_FILES[name],
        headers={"cache-control": "public, max-age=31536000, immutable"},
    )
