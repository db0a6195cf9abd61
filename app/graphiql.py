"""GraphiQL served by Lockstep itself, so the page works without internet access (and loads no third-party script).

The built files (React, ReactDOM, GraphiQL, the graphql-ws client and GraphiQL's stylesheet) come from the
`graphene-django-graphiql-static` package, which ships nothing else of use here: only its static folder is read,
none of its Django code is imported. They are served under ASSETS_PATH; the page itself is ours.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from starlette.staticfiles import StaticFiles

ASSETS_PATH = "/graphiql/assets"
_PACKAGE = "graphene_django_graphiql_static"
SCRIPTS = ("react.production.min.js", "react-dom.production.min.js", "graphiql.min.js", "graphql-ws.min.js")
STYLESHEET = "graphiql.min.css"

# The fetcher sends queries and mutations over HTTP and subscriptions over graphql-transport-ws, both to the page's
# own address (GraphiQL is served on GET /graphql). A bearer token goes in the Headers tab as
# {"Authorization": "Bearer ..."}.
_START = """
const endpoint = new URL(window.location.pathname, window.location.href);
const socketUrl = endpoint.href.replace(/^http/, "ws");
const fetcher = GraphiQL.createFetcher({
  url: endpoint.href,
  wsClient: graphqlWs.createClient({ url: socketUrl, lazy: true }),
});
ReactDOM.render(
  React.createElement(GraphiQL, { fetcher, isHeadersEditorEnabled: true, shouldPersistHeaders: false }),
  document.getElementById("graphiql"),
);
"""


def assets_folder() -> Path:
    return Path(str(files(_PACKAGE) / "static" / _PACKAGE))


def assets() -> StaticFiles:
    """The built files, for a Mount at ASSETS_PATH."""
    return StaticFiles(directory=assets_folder())


def page() -> str:
    scripts = "\n".join(f'  <script src="{ASSETS_PATH}/{name}"></script>' for name in SCRIPTS)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Lockstep GraphiQL</title>
  <style>html, body, #graphiql {{ height: 100%; margin: 0; overflow: hidden; }}</style>
  <link rel="stylesheet" href="{ASSETS_PATH}/{STYLESHEET}">
{scripts}
</head>
<body>
  <div id="graphiql">Loading GraphiQL…</div>
  <script>{_START}</script>
</body>
</html>
"""
