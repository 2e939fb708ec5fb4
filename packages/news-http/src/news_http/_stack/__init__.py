"""The standard middlewares, one module each; `news_http._app` composes them in order."""
