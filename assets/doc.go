// Package assets serves a Worker's static assets (the "assets" key of a
// wrangler config) as Cloudflare does: html_handling (trailing slashes and
// .html extensions), not_found_handling (single-page-application, 404-page,
// none), run_worker_first (a boolean or route patterns), the _headers and
// _redirects files, strong ETags with If-None-Match, and content types.
//
// A Handler is an http.Handler over one directory. The server routes a
// request to it before the Worker (Route) and the Worker reaches it as
// env.ASSETS (ServeHTTP); either way no JavaScript runs for an asset.
// Reload rescans the directory, for cairn dev.
package assets
