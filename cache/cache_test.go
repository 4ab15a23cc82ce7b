package cache

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"
)

func newStore(t *testing.T, maxBytes int64) (*Store, *time.Time) {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "cache.sqlite"), maxBytes)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return now }
	return s, &now
}

func resp(h ...string) *http.Response {
	r := &http.Response{StatusCode: 200, Header: make(http.Header)}
	for i := 0; i+1 < len(h); i += 2 {
		r.Header.Add(h[i], h[i+1])
	}
	return r
}

func req(method, url string, h ...string) *http.Request {
	r := httptest.NewRequest(method, url, nil)
	for i := 0; i+1 < len(h); i += 2 {
		r.Header.Set(h[i], h[i+1])
	}
	return r
}

func TestPutStores(t *testing.T) {
	date := "Tue, 01 Dec 2026 10:00:00 GMT"
	tests := []struct {
		name   string
		method string
		resp   *http.Response
		stored bool
	}{
		{"max-age", "GET", resp("Cache-Control", "max-age=60"), true},
		{"s-maxage wins", "GET", resp("Cache-Control", "max-age=0, s-maxage=60"), true},
		{"expires", "GET", resp("Expires", "Tue, 01 Dec 2026 10:05:00 GMT", "Date", date), true},
		{"expired", "GET", resp("Expires", "Tue, 01 Dec 2026 09:00:00 GMT", "Date", date), false},
		{"no freshness", "GET", resp(), false},
		{"max-age=0", "GET", resp("Cache-Control", "max-age=0"), false},
		{"no-store", "GET", resp("Cache-Control", "no-store, max-age=60"), false},
		{"private", "GET", resp("Cache-Control", "private, max-age=60"), false},
		{"no-cache", "GET", resp("Cache-Control", "no-cache, max-age=60"), false},
		{"set-cookie", "GET", resp("Cache-Control", "max-age=60", "Set-Cookie", "a=b"), false},
		{"set-cookie private=set-cookie", "GET", resp("Cache-Control", `max-age=60, private="Set-Cookie"`, "Set-Cookie", "a=b"), true},
		{"POST", "POST", resp("Cache-Control", "max-age=60"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newStore(t, 0)
			ctx := context.Background()
			stored, err := s.Put(ctx, "default", req(tt.method, "http://x/a"), tt.resp, []byte("body"))
			if err != nil || stored != tt.stored {
				t.Fatalf("Put = %v, %v; want %v", stored, err, tt.stored)
			}
			got, body, err := s.Match(ctx, "default", req("GET", "http://x/a"), false)
			if err != nil || (got != nil) != tt.stored || (got != nil && string(body) != "body") {
				t.Fatalf("Match = %v %q %v, want stored=%v", got, body, err, tt.stored)
			}
		})
	}
}

func TestMatch(t *testing.T) {
	s, now := newStore(t, 0)
	ctx := context.Background()
	put := func(cache, url string, r *http.Response, body string, h ...string) {
		t.Helper()
		if ok, err := s.Put(ctx, cache, req("GET", url, h...), r, []byte(body)); !ok || err != nil {
			t.Fatalf("Put %s: %v %v", url, ok, err)
		}
	}
	put("default", "http://x/a", resp("Cache-Control", "max-age=60", "ETag", `"v1"`, "Last-Modified", "Tue, 01 Dec 2026 09:00:00 GMT"), "0123456789")
	put("other", "http://x/a", resp("Cache-Control", "max-age=60"), "other cache")
	put("default", "http://x/v", resp("Cache-Control", "max-age=60", "Vary", "Accept-Encoding"), "gzip", "Accept-Encoding", "gzip")

	tests := []struct {
		name, cache string
		req         *http.Request
		ignore      bool
		status      int // 0: a miss
		body        string
	}{
		{"hit", "default", req("GET", "http://x/a"), false, 200, "0123456789"},
		{"per cache", "other", req("GET", "http://x/a"), false, 200, "other cache"},
		{"other url", "default", req("GET", "http://x/a?q"), false, 0, ""},
		{"HEAD", "default", req("HEAD", "http://x/a"), false, 0, ""},
		{"HEAD ignoreMethod", "default", req("HEAD", "http://x/a"), true, 200, "0123456789"},
		{"If-None-Match", "default", req("GET", "http://x/a", "If-None-Match", `W/"v1"`), false, 304, ""},
		{"If-None-Match other", "default", req("GET", "http://x/a", "If-None-Match", `"v2"`), false, 200, "0123456789"},
		{"If-Modified-Since", "default", req("GET", "http://x/a", "If-Modified-Since", "Tue, 01 Dec 2026 09:30:00 GMT"), false, 304, ""},
		{"Range", "default", req("GET", "http://x/a", "Range", "bytes=2-4"), false, 206, "234"},
		{"suffix Range", "default", req("GET", "http://x/a", "Range", "bytes=-3"), false, 206, "789"},
		{"bad Range", "default", req("GET", "http://x/a", "Range", "bytes=20-"), false, 416, ""},
		{"vary match", "default", req("GET", "http://x/v", "Accept-Encoding", "gzip"), false, 200, "gzip"},
		{"vary mismatch", "default", req("GET", "http://x/v", "Accept-Encoding", "br"), false, 0, ""},
	}
	for _, tt := range tests {
		got, body, err := s.Match(ctx, tt.cache, tt.req, tt.ignore)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		status := 0
		if got != nil {
			status = got.StatusCode
			if got.Header.Get("CF-Cache-Status") != "HIT" {
				t.Errorf("%s: CF-Cache-Status %q", tt.name, got.Header.Get("CF-Cache-Status"))
			}
		}
		if status != tt.status || string(body) != tt.body {
			t.Errorf("%s: %d %q, want %d %q", tt.name, status, body, tt.status, tt.body)
		}
	}

	*now = now.Add(61 * time.Second)
	if got, _, _ := s.Match(ctx, "default", req("GET", "http://x/a"), false); got != nil {
		t.Error("matched after max-age")
	}
}

func TestDelete(t *testing.T) {
	s, _ := newStore(t, 0)
	ctx := context.Background()
	if _, err := s.Put(ctx, "default", req("GET", "http://x/a"), resp("Cache-Control", "max-age=60"), []byte("a")); err != nil {
		t.Fatal(err)
	}
	for i, want := range []bool{true, false} {
		if got, err := s.Delete(ctx, "default", req("GET", "http://x/a"), false); got != want || err != nil {
			t.Errorf("Delete #%d = %v, %v; want %v", i, got, err, want)
		}
	}
}

func TestBounded(t *testing.T) {
	s, now := newStore(t, 10)
	ctx := context.Background()
	put := func(url string, body string) error {
		_, err := s.Put(ctx, "default", req("GET", url), resp("Cache-Control", "max-age=600"), []byte(body))
		*now = now.Add(time.Second)
		return err
	}
	for _, u := range []string{"http://x/1", "http://x/2"} {
		if err := put(u, "abcd"); err != nil {
			t.Fatal(err)
		}
	}
	if got, _, _ := s.Match(ctx, "default", req("GET", "http://x/1"), false); got == nil { // /1 is now the most recent
		t.Fatal("/1 missing")
	}
	*now = now.Add(time.Second)
	if err := put("http://x/3", "abcd"); err != nil { // 12 bytes > 10: the least recently used goes
		t.Fatal(err)
	}
	for u, want := range map[string]bool{"http://x/1": true, "http://x/2": false, "http://x/3": true} {
		if got, _, _ := s.Match(ctx, "default", req("GET", u), false); (got != nil) != want {
			t.Errorf("%s cached = %v, want %v", u, got != nil, want)
		}
	}
	if err := put("http://x/big", "01234567890"); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Put of 11 bytes into a 10-byte cache: %v, want ErrTooLarge", err)
	}
}
