package server

import (
	_ "embed"
	"net/http"

	"github.com/cairn-dev/cairn/studio"
)

// openAPI describes every route of the admin API (OpenAPI 3). It is
// written by hand; TestOpenAPICoversRoutes checks it against the routes
// AdminAPI registers, both ways.
//
//go:embed openapi.json
var openAPI []byte

// AdminHandler serves the admin address: the admin API under /client/v4/
// (see AdminAPI; token rules in API.Authorize), the data studio's page at
// /studio/ (package studio; the page holds no data and calls the API with
// the token the user gives it) and the API's OpenAPI document at
// /openapi.json. cairn dev --api-port serves it; a server holding several
// Workers can mount one per Worker under a prefix of its own
// (http.StripPrefix("/w/NAME", s.AdminHandler(token))): the page finds the
// API beside itself.
func (s *Server) AdminHandler(token string) http.Handler {
	return s.adminHandler(s.AdminAPI(token))
}

// adminHandler serves api with the studio's page and the OpenAPI document.
func (s *Server) adminHandler(api http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", api)
	mux.Handle("GET /studio/", studio.Handler("/studio/"))
	// Relative, so that it holds under a prefix (http.StripPrefix);
	// http.Redirect would make it absolute from the stripped path.
	mux.HandleFunc("GET /studio", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", "studio/")
		w.WriteHeader(http.StatusFound)
	})
	mux.HandleFunc("GET /openapi.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Access-Control-Allow-Origin", "*") // a document, no data: API explorers may read it
		_, _ = w.Write(openAPI)
	})
	return mux
}
