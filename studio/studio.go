// Package studio holds cairn's web data studio: one page of plain HTML,
// CSS and JavaScript, embedded in the binary, that browses a Worker's
// Durable Objects (objects, their tables and rows, alarms and WebSockets),
// D1 databases and KV namespaces, runs SQL with a result grid and edits KV
// keys. It has no server side of its own: the page calls the admin API
// (package server: /client/v4/cairn/studio/… and the D1 and KV REST APIs)
// with the token the user typed, kept in the tab's sessionStorage and sent
// as "Authorization: Bearer" on every call, since a browser navigating to
// a page cannot send one. Without a token the API serves only loopback.
package studio

import (
	"embed"
	"io/fs"
	"net/http"
)

//go:embed ui
var files embed.FS

// Handler serves the studio's files; mount it at prefix (with its slash,
// e.g. "/studio/"). The files hold no data, so they need no token; every
// answer forbids framing (clickjacking) and loading code from elsewhere.
func Handler(prefix string) http.Handler {
	ui, err := fs.Sub(files, "ui")
	if err != nil {
		panic(err) // the embedded directory is part of the build
	}
	fileServer := http.StripPrefix(prefix, http.FileServerFS(ui))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-cache")
		fileServer.ServeHTTP(w, r)
	})
}
