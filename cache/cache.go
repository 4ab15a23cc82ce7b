// Package cache stores the responses of the Workers Cache API
// (caches.default, caches.open(name)): one SQLite file per Worker, entries
// kept for the freshness lifetime their Cache-Control or Expires header
// gives, bounded in total size (least recently used evicted first).
//
// What is stored and how it is matched follows Cloudflare's Cache API:
// only GET requests; no-store, private and Set-Cookie responses are not
// stored; a response without a freshness lifetime is not stored either;
// Vary headers must match; a match answers If-None-Match and
// If-Modified-Since with 304 and a single Range with 206, and carries
// CF-Cache-Status: HIT.
package cache

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	_ "github.com/mattn/go-sqlite3" // database/sql driver "sqlite3"
)

// DefaultMaxBytes bounds the bodies a Store keeps unless Open is told
// otherwise.
const DefaultMaxBytes = 256 << 20

// ErrTooLarge is returned by Put for a body larger than the store's bound.
var ErrTooLarge = errors.New("response too large for the cache")

// Store is one Worker's caches.
type Store struct {
	db       *sql.DB
	maxBytes int64
	mu       sync.Mutex // serializes writes, so eviction sees a stable total
	now      func() time.Time
}

const schema = `
CREATE TABLE IF NOT EXISTS entries (
	cache   TEXT NOT NULL,
	url     TEXT NOT NULL,
	status  INTEGER NOT NULL,
	headers TEXT NOT NULL,          -- JSON of http.Header
	vary    TEXT NOT NULL,          -- JSON of the request's values of the Vary headers
	body    BLOB NOT NULL,
	expires INTEGER NOT NULL,       -- unix ms
	used    INTEGER NOT NULL,       -- unix ms of the last match or put
	PRIMARY KEY (cache, url)
);
CREATE INDEX IF NOT EXISTS entries_used ON entries (used);
`

// Open opens (creating) the store at path, keeping at most maxBytes of
// bodies (DefaultMaxBytes if 0).
func Open(path string, maxBytes int64) (*Store, error) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("open cache: %w", err)
	}
	// A cache may lose writes in a crash: no fsync.
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() + "?_journal_mode=WAL&_synchronous=OFF&_busy_timeout=10000"
	db, err := sql.Open("sqlite3", dsn)
	if err != nil {
		return nil, fmt.Errorf("open cache %s: %w", path, err)
	}
	if _, err := db.Exec(schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("open cache %s: %w", path, err)
	}
	return &Store{db: db, maxBytes: maxBytes, now: time.Now}, nil
}

// Close closes the store's file.
func (s *Store) Close() error { return s.db.Close() }

// Put stores resp (whose body is body) as the answer to req in the named
// cache, if Cloudflare would: it reports whether it did.
func (s *Store) Put(ctx context.Context, cache string, req *http.Request, resp *http.Response, body []byte) (bool, error) {
	if req.Method != http.MethodGet {
		return false, nil
	}
	now := s.now()
	ttl, ok := freshness(resp.Header, now)
	if !ok || ttl <= 0 {
		return false, nil
	}
	if int64(len(body)) > s.maxBytes {
		return false, fmt.Errorf("%w: %d bytes, the cache keeps at most %d", ErrTooLarge, len(body), s.maxBytes)
	}
	vary, err := json.Marshal(varyValues(resp.Header, req.Header))
	if err != nil {
		return false, err
	}
	hdr, err := json.Marshal(resp.Header)
	if err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("cache put: %w", err)
	}
	defer tx.Rollback()
	_, err = tx.ExecContext(ctx, `INSERT OR REPLACE INTO entries (cache, url, status, headers, vary, body, expires, used)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, cache, req.URL.String(), resp.StatusCode, string(hdr), string(vary), body,
		now.Add(ttl).UnixMilli(), now.UnixMilli())
	if err != nil {
		return false, fmt.Errorf("cache put: %w", err)
	}
	if err := s.evict(ctx, tx, now); err != nil {
		return false, err
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("cache put: %w", err)
	}
	return true, nil
}

// evict drops expired entries, then the least recently used ones until the
// bodies fit in maxBytes.
func (s *Store) evict(ctx context.Context, tx *sql.Tx, now time.Time) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM entries WHERE expires <= ?`, now.UnixMilli()); err != nil {
		return fmt.Errorf("cache evict: %w", err)
	}
	var total int64
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(SUM(length(body)), 0) FROM entries`).Scan(&total); err != nil {
		return fmt.Errorf("cache evict: %w", err)
	}
	for total > s.maxBytes {
		var cache, u string
		var n int64
		err := tx.QueryRowContext(ctx, `SELECT cache, url, length(body) FROM entries ORDER BY used LIMIT 1`).Scan(&cache, &u, &n)
		if err != nil {
			return fmt.Errorf("cache evict: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM entries WHERE cache = ? AND url = ?`, cache, u); err != nil {
			return fmt.Errorf("cache evict: %w", err)
		}
		total -= n
	}
	return nil
}

// Match returns the stored answer to req in the named cache, or nil. The
// answer honours req's conditional and Range headers.
func (s *Store) Match(ctx context.Context, cache string, req *http.Request, ignoreMethod bool) (*http.Response, []byte, error) {
	if req.Method != http.MethodGet && !ignoreMethod {
		return nil, nil, nil
	}
	now := s.now()
	var status int
	var hdrJSON, varyJSON string
	var body []byte
	err := s.db.QueryRowContext(ctx, `SELECT status, headers, vary, body FROM entries WHERE cache = ? AND url = ? AND expires > ?`,
		cache, req.URL.String(), now.UnixMilli()).Scan(&status, &hdrJSON, &varyJSON, &body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, nil
	} else if err != nil {
		return nil, nil, fmt.Errorf("cache match: %w", err)
	}
	var hdr http.Header
	var vary map[string]string
	if err := json.Unmarshal([]byte(hdrJSON), &hdr); err != nil {
		return nil, nil, fmt.Errorf("cache match: %w", err)
	}
	if err := json.Unmarshal([]byte(varyJSON), &vary); err != nil {
		return nil, nil, fmt.Errorf("cache match: %w", err)
	}
	for name, v := range vary {
		if strings.Join(req.Header.Values(name), ", ") != v {
			return nil, nil, nil
		}
	}
	_, _ = s.db.ExecContext(ctx, `UPDATE entries SET used = ? WHERE cache = ? AND url = ?`, now.UnixMilli(), cache, req.URL.String())
	hdr.Set("CF-Cache-Status", "HIT")
	resp := &http.Response{StatusCode: status, Header: hdr}
	if notModified(req.Header, hdr) {
		resp.StatusCode = http.StatusNotModified
		return resp, nil, nil
	}
	if rng := req.Header.Get("Range"); rng != "" && status == http.StatusOK {
		start, end, ok := parseRange(rng, int64(len(body)))
		if !ok {
			resp.StatusCode = http.StatusRequestedRangeNotSatisfiable
			hdr.Set("Content-Range", fmt.Sprintf("bytes */%d", len(body)))
			return resp, nil, nil
		}
		resp.StatusCode = http.StatusPartialContent
		hdr.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, end, len(body)))
		body = body[start : end+1]
	}
	hdr.Set("Content-Length", strconv.Itoa(len(body)))
	return resp, body, nil
}

// Delete removes the answer to req from the named cache and reports
// whether there was one.
func (s *Store) Delete(ctx context.Context, cache string, req *http.Request, ignoreMethod bool) (bool, error) {
	if req.Method != http.MethodGet && !ignoreMethod {
		return false, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	res, err := s.db.ExecContext(ctx, `DELETE FROM entries WHERE cache = ? AND url = ? AND expires > ?`,
		cache, req.URL.String(), s.now().UnixMilli())
	if err != nil {
		return false, fmt.Errorf("cache delete: %w", err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// freshness returns how long a response may be stored, from its headers
// as a shared cache reads them; ok is false if it must not be stored.
func freshness(h http.Header, now time.Time) (ttl time.Duration, ok bool) {
	cc := cacheControl(h)
	if _, no := cc["no-store"]; no {
		return 0, false
	}
	if v, private := cc["private"]; private && !strings.EqualFold(strings.Trim(v, `"`), "set-cookie") {
		return 0, false
	}
	if h.Get("Set-Cookie") != "" {
		if v, private := cc["private"]; !private || !strings.EqualFold(strings.Trim(v, `"`), "set-cookie") {
			return 0, false
		}
	}
	if _, no := cc["no-cache"]; no {
		return 0, false // would need revalidation on every match
	}
	for _, k := range []string{"s-maxage", "max-age"} {
		if v, has := cc[k]; has {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return 0, false
			}
			return time.Duration(n) * time.Second, true
		}
	}
	if e := h.Get("Expires"); e != "" {
		t, err := http.ParseTime(e)
		if err != nil {
			return 0, false // an invalid Expires means already expired
		}
		base := now
		if d, err := http.ParseTime(h.Get("Date")); err == nil {
			base = d
		}
		return t.Sub(base), true
	}
	return 0, false
}

// cacheControl parses the Cache-Control directives, lower-cased.
func cacheControl(h http.Header) map[string]string {
	out := make(map[string]string)
	for _, line := range h.Values("Cache-Control") {
		for _, d := range strings.Split(line, ",") {
			k, v, _ := strings.Cut(strings.TrimSpace(d), "=")
			if k != "" {
				out[strings.ToLower(k)] = strings.TrimSpace(v)
			}
		}
	}
	return out
}

// varyValues returns the request's values of the headers resp varies on.
func varyValues(resp, req http.Header) map[string]string {
	out := make(map[string]string)
	for _, line := range resp.Values("Vary") {
		for _, name := range strings.Split(line, ",") {
			if name = strings.TrimSpace(name); name != "" {
				out[http.CanonicalHeaderKey(name)] = strings.Join(req.Values(name), ", ")
			}
		}
	}
	return out
}

// notModified reports whether the conditional headers of a request are
// satisfied by the stored response's validators.
func notModified(req, stored http.Header) bool {
	if inm := req.Get("If-None-Match"); inm != "" {
		etag := strings.TrimPrefix(stored.Get("ETag"), "W/")
		if etag == "" {
			return false
		}
		for _, t := range strings.Split(inm, ",") {
			t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
			if t == "*" || t == etag {
				return true
			}
		}
		return false
	}
	if ims := req.Get("If-Modified-Since"); ims != "" {
		since, err1 := http.ParseTime(ims)
		lm, err2 := http.ParseTime(stored.Get("Last-Modified"))
		return err1 == nil && err2 == nil && !lm.After(since)
	}
	return false
}

// parseRange reads a single "bytes=a-b", "bytes=a-" or "bytes=-n" range.
func parseRange(h string, size int64) (start, end int64, ok bool) {
	spec, found := strings.CutPrefix(h, "bytes=")
	if !found || strings.Contains(spec, ",") {
		return 0, 0, false
	}
	a, b, _ := strings.Cut(strings.TrimSpace(spec), "-")
	switch {
	case a == "":
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil || n <= 0 {
			return 0, 0, false
		}
		return max(0, size-n), size - 1, size > 0
	default:
		s, err := strconv.ParseInt(a, 10, 64)
		if err != nil || s >= size {
			return 0, 0, false
		}
		e := size - 1
		if b != "" {
			if e, err = strconv.ParseInt(b, 10, 64); err != nil || e < s {
				return 0, 0, false
			}
			e = min(e, size-1)
		}
		return s, e, true
	}
}
