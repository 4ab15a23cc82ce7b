package jsrt

import (
	"context"
	"io"
	"net/http/httptest"
	"testing"
	"time"
)

func TestLatin1(t *testing.T) {
	tests := []struct{ bytes, js string }{
		{"", ""},
		{"plain ascii", "plain ascii"},
		{"caf\xe9", "caf\u00e9"},               // Latin-1 bytes, not UTF-8
		{"caf\xc3\xa9", "caf\u00c3\u00a9"},     // UTF-8 bytes: two code units, as browsers give them
		{"\x80\xff\x00", "\u0080\u00ff\u0000"}, // every byte one code unit
	}
	for _, tt := range tests {
		if got := latin1Decode(tt.bytes); got != tt.js {
			t.Errorf("latin1Decode(%q) = %q, want %q", tt.bytes, got, tt.js)
		}
		if got := latin1Encode(tt.js); got != tt.bytes {
			t.Errorf("latin1Encode(%q) = %q, want %q", tt.js, got, tt.bytes)
		}
	}
}

// Header values that are not UTF-8 reach JS byte for byte (each byte one
// code unit) and go back out the same way; code units above U+00FF are
// rejected by Headers (a ByteString).
func TestHeaderBytesLatin1(t *testing.T) {
	w := newTestWorker(t, `exports.default = { fetch(req) {
  const v = req.headers.get("x-in");
  const codes = Array.from(v, (c) => c.charCodeAt(0)).join(",");
  let wide = "accepted";
  try { new Headers({ a: "\u0100" }); } catch (e) { wide = e.name; }
  return new Response(codes + " " + wide, { headers: { "x-out": "\u00e9t\u00e9", "x-echo": v } });
} }`, Config{})
	req := httptest.NewRequest("GET", "http://x/", nil)
	req.Header.Set("X-In", "caf\xe9\xff")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := w.Fetch(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if got, want := string(b), "99,97,102,233,255 TypeError"; got != want {
		t.Errorf("body = %q, want %q", got, want)
	}
	if got := resp.Header.Get("X-Out"); got != "\xe9t\xe9" {
		t.Errorf("x-out = %q, want Latin-1 bytes", got)
	}
	if got := resp.Header.Get("X-Echo"); got != "caf\xe9\xff" {
		t.Errorf("x-echo = %q, want the bytes sent", got)
	}
}
