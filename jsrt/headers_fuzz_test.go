package jsrt

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// validFieldName reports whether s is an HTTP token (RFC 9110 5.1), as the
// HTTP server requires of a header name before a request reaches a Worker.
func validFieldName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0 {
			continue
		}
		return false
	}
	return true
}

// validFieldValue reports whether s may be a header value as the HTTP
// server passes it on: no control characters but tab.
func validFieldValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// FuzzRequestHeaders: any header a request can carry reaches the Worker's
// Request intact (a valid UTF-8 value exactly), the Worker can copy it into
// its Response, and the runtime keeps serving.
//
//	go test -tags "sqlite_fts5 sqlite_math_functions" ./jsrt -run '^$' -fuzz FuzzRequestHeaders -fuzztime 5m
func FuzzRequestHeaders(f *testing.F) {
	w := newTestWorker(f, `exports.default = { fetch(req) {
  const name = req.headers.get("x-fuzz-name");
  const value = req.headers.get(name);
  return new Response(value, { headers: { "x-echo": value ?? "" } });
} }`, Config{Runtimes: 1})
	for _, seed := range [][2]string{
		{"X-Test", "value"}, {"content-type", "text/plain; charset=utf-8"}, {"a", "  padded\t"},
		{"X-Empty", ""}, {"x-unicode", "h\xc3\xa9llo \xff"}, {"Cookie", "a=1; b=2"}, {"!#$%&'*+-.^_`|~", "x"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, name, value string) {
		if !validFieldName(name) || !validFieldValue(value) || strings.EqualFold(name, "host") || strings.EqualFold(name, "x-fuzz-name") {
			t.Skip()
		}
		// The HTTP server trims a value's surrounding whitespace, as the
		// Fetch standard's Headers do.
		value = strings.Trim(value, " \t")
		req := httptest.NewRequest("GET", "http://example.com/", nil)
		req.Header.Set("X-Fuzz-Name", name)
		req.Header.Set(name, value)
		rec := httptest.NewRecorder()
		w.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("%q: %q = %d %q", name, value, rec.Code, rec.Body)
		}
		// The Worker sees each byte as one code unit (Latin-1, as browsers
		// and workerd), which the body sends back as UTF-8, and the header
		// echo gives back the bytes themselves.
		if got := rec.Body.String(); got != latin1Decode(value) && !(value == "" && got == "null") {
			t.Fatalf("%q: %q reached the Worker as %q", name, value, got)
		}
		if got := rec.Header().Get("X-Echo"); got != value {
			t.Fatalf("%q: %q echoed as %q", name, value, got)
		}
	})
}
