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
// Workers mounts one per Worker.
func (s *Server) AdminHandler(token string) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", s.AdminAPI(token))
	mux.Handle("GET /studio/", studio.Handler("/studio/"))
	mux.Handle("GET /studio", http.RedirectHandler("/studio/", http.StatusFound))
	mux.HandleFunc("GET /openapi.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Access-Control-Allow-Origin", "*") // a document, no data: API explorers may read it
		_, _ = w.Write(openAPI)
	})
	return mux
}
