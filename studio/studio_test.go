package studio

import (
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHandler(t *testing.T) {
	h := Handler("/studio/")
	for _, tc := range []struct {
		path        string
		status      int
		contentType string
		body        string
	}{
		{"/studio/", 200, "text/html", `<script src="studio.js" defer></script>`},
		{"/studio/studio.js", 200, "text/javascript", "Authorization"},
		{"/studio/studio.css", 200, "text/css", "table.grid"},
		{"/studio/nosuch.js", 404, "", ""},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", tc.path, nil))
		if rec.Code != tc.status || !strings.Contains(rec.Header().Get("Content-Type"), tc.contentType) || !strings.Contains(rec.Body.String(), tc.body) {
			t.Errorf("GET %s = %d %q", tc.path, rec.Code, rec.Header().Get("Content-Type"))
		}
		if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") || rec.Header().Get("X-Frame-Options") != "DENY" {
			t.Errorf("GET %s: CSP %q", tc.path, csp)
		}
	}
}
