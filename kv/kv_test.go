package kv

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// clock is a settable test clock.
type clock struct{ unix atomic.Int64 }

func (c *clock) now() time.Time    { return time.Unix(c.unix.Load(), 0) }
func (c *clock) advance(sec int64) { c.unix.Add(sec) }
func newClock(start int64) *clock  { c := &clock{}; c.unix.Store(start); return c }
func ptr(v int64) *int64           { return &v }
func ctx() context.Context         { return context.Background() }
func rawCount(t *testing.T, path string) int {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow("SELECT count(*) FROM entries").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func open(t *testing.T, c *clock) *Namespace {
	t.Helper()
	path, err := Path(t.TempDir(), "worker", "ns1")
	if err != nil {
		t.Fatal(err)
	}
	n, err := Open(path, Options{Now: c.now, SweepInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

func TestPutGetDeleteSurvivesReopen(t *testing.T) {
	c := newClock(1_700_000_000)
	n := open(t, c)
	if err := n.Put(ctx(), "a", []byte("1"), PutOptions{Metadata: json.RawMessage(`{"m":1}`), ExpirationTTL: ptr(120)}); err != nil {
		t.Fatal(err)
	}
	if err := n.Put(ctx(), "b", nil, PutOptions{}); err != nil {
		t.Fatal(err)
	}
	e, ok, err := n.Get(ctx(), "a")
	if err != nil || !ok || string(e.Value) != "1" || string(e.Metadata) != `{"m":1}` || e.Expiration != 1_700_000_120 {
		t.Fatalf("get a = %+v %v %v", e, ok, err)
	}
	e, ok, _ = n.Get(ctx(), "b")
	if !ok || e.Value == nil || len(e.Value) != 0 || e.Metadata != nil || e.Expiration != 0 {
		t.Fatalf("empty value: %+v %v", e, ok)
	}
	if err := n.Delete(ctx(), "b"); err != nil {
		t.Fatal(err)
	}
	if err := n.Delete(ctx(), "never-there"); err != nil {
		t.Fatalf("deleting a missing key: %v", err)
	}
	path := n.Path()
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := n.Get(ctx(), "a"); !errors.Is(err, ErrClosed) {
		t.Fatalf("get after close: %v", err)
	}
	n2, err := Open(path, Options{Now: c.now, SweepInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer n2.Close()
	if e, ok, _ := n2.Get(ctx(), "a"); !ok || string(e.Value) != "1" {
		t.Fatalf("after reopen: %+v %v", e, ok)
	}
	if _, ok, _ := n2.Get(ctx(), "b"); ok {
		t.Fatal("deleted key came back after reopen")
	}
}

// spec 73: expirationTtl below 60 is rejected; expiration is absolute.
func TestPutValidation(t *testing.T) {
	const now = 1_700_000_000
	long := strings.Repeat("k", 513)
	cases := []struct {
		name   string
		key    string
		value  []byte
		opts   PutOptions
		status int
		msg    string
	}{
		{"empty key", "", nil, PutOptions{}, 400, "Key names must not be empty"},
		{"dot", ".", nil, PutOptions{}, 400, `Illegal key name ".". Please use a different name.`},
		{"dotdot", "..", nil, PutOptions{}, 400, `Illegal key name "..". Please use a different name.`},
		{"long key", long, nil, PutOptions{}, 414, "UTF-8 encoded length of 513 exceeds key length limit of 512."},
		{"long multibyte key", strings.Repeat("é", 257), nil, PutOptions{}, 414, "UTF-8 encoded length of 514 exceeds key length limit of 512."},
		{"ttl 30", "k", nil, PutOptions{ExpirationTTL: ptr(30)}, 400, "Invalid expiration_ttl of 30. Expiration TTL must be at least 60."},
		{"ttl 0", "k", nil, PutOptions{ExpirationTTL: ptr(0)}, 400, "Invalid expiration_ttl of 0. Please specify integer greater than 0."},
		{"expiration past", "k", nil, PutOptions{Expiration: ptr(now - 1)}, 400, "Invalid expiration of 1699999999. Please specify integer greater than the current number of seconds since the UNIX epoch."},
		{"expiration soon", "k", nil, PutOptions{Expiration: ptr(now + 59)}, 400, "Invalid expiration of 1700000059. Expiration times must be at least 60 seconds in the future."},
		{"metadata big", "k", nil, PutOptions{Metadata: json.RawMessage(`"` + strings.Repeat("m", 1023) + `"`)}, 413, "Metadata length of 1025 exceeds limit of 1024."},
		{"metadata not json", "k", nil, PutOptions{Metadata: json.RawMessage(`{`)}, 400, "Metadata is not valid JSON."},
		{"value big", "k", make([]byte, MaxValueSize+1), PutOptions{}, 413, "Value length of 26214401 exceeds limit of 26214400."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := open(t, newClock(now))
			err := n.Put(ctx(), tc.key, tc.value, tc.opts)
			var ke *Error
			if !errors.As(err, &ke) || ke.Status != tc.status || ke.Message != tc.msg {
				t.Fatalf("err = %v, want %d %s", err, tc.status, tc.msg)
			}
			if got := rawCount(t, n.Path()); got != 0 {
				t.Fatalf("%d rows stored after a rejected put", got)
			}
		})
	}
	// The edges are accepted.
	n := open(t, newClock(now))
	for i, o := range []PutOptions{
		{ExpirationTTL: ptr(60)},
		{Expiration: ptr(now + 60)},
		{Metadata: json.RawMessage(`"` + strings.Repeat("m", 1022) + `"`)},
	} {
		if err := n.Put(ctx(), fmt.Sprint(i), []byte("v"), o); err != nil {
			t.Errorf("put %d: %v", i, err)
		}
	}
	if err := n.Put(ctx(), strings.Repeat("k", 512), make([]byte, MaxValueSize), PutOptions{}); err != nil {
		t.Errorf("512-byte key, 25 MiB value: %v", err)
	}
}

func TestPutManyIsAllOrNothing(t *testing.T) {
	n := open(t, newClock(1_700_000_000))
	err := n.PutMany(ctx(), []Write{{Key: "a", Value: []byte("1")}, {Key: "", Value: []byte("2")}})
	if err == nil {
		t.Fatal("PutMany with an empty key succeeded")
	}
	if got := rawCount(t, n.Path()); got != 0 {
		t.Fatalf("%d rows stored after a rejected PutMany", got)
	}
	if err := n.PutMany(ctx(), []Write{{Key: "a", Value: []byte("1")}, {Key: "b", Value: []byte("2")}}); err != nil {
		t.Fatal(err)
	}
	if err := n.DeleteMany(ctx(), []string{"a", "b", "c"}); err != nil {
		t.Fatal(err)
	}
	if got := rawCount(t, n.Path()); got != 0 {
		t.Fatalf("%d rows left after DeleteMany", got)
	}
}

func TestExpirationAndSweep(t *testing.T) {
	c := newClock(1_700_000_000)
	n := open(t, c)
	n.opts.SweepBatch = 3
	for i := range 7 {
		if err := n.Put(ctx(), fmt.Sprintf("e%d", i), []byte("x"), PutOptions{ExpirationTTL: ptr(60)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := n.Put(ctx(), "keep", []byte("x"), PutOptions{ExpirationTTL: ptr(3600)}); err != nil {
		t.Fatal(err)
	}
	c.advance(59)
	if _, ok, _ := n.Get(ctx(), "e0"); !ok {
		t.Fatal("expired a second early")
	}
	c.advance(1)
	if _, ok, _ := n.Get(ctx(), "e0"); ok {
		t.Fatal("get returns an expired key")
	}
	res, err := n.List(ctx(), ListOptions{})
	if err != nil || len(res.Keys) != 1 || res.Keys[0].Name != "keep" || res.Keys[0].Expiration != 1_700_003_600 {
		t.Fatalf("list after expiry = %+v %v", res, err)
	}
	if got := rawCount(t, n.Path()); got != 8 {
		t.Fatalf("rows before sweep = %d", got)
	}
	// Each step deletes at most one batch.
	for _, want := range []int{3, 3, 1, 0} {
		got, err := n.Sweep(ctx())
		if err != nil || got != want {
			t.Fatalf("sweep = %d %v, want %d", got, err, want)
		}
	}
	if got := rawCount(t, n.Path()); got != 1 {
		t.Fatalf("rows after sweep = %d", got)
	}
}

func TestBackgroundSweep(t *testing.T) {
	c := newClock(1_700_000_000)
	path := filepath.Join(t.TempDir(), "ns.sqlite")
	n, err := Open(path, Options{Now: c.now, SweepInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if err := n.Put(ctx(), "e", []byte("x"), PutOptions{ExpirationTTL: ptr(60)}); err != nil {
		t.Fatal(err)
	}
	c.advance(61)
	deadline := time.Now().Add(10 * time.Second)
	for rawCount(t, path) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("background sweep did not purge the expired key")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestList(t *testing.T) {
	n := open(t, newClock(1_700_000_000))
	var ws []Write
	for _, k := range []string{"user:b", "user:a", "user:c", "team:x", "user:é", "user:z", "v"} {
		ws = append(ws, Write{Key: k, Value: []byte(k)})
	}
	ws[0].Metadata = json.RawMessage(`{"n":1}`)
	if err := n.PutMany(ctx(), ws); err != nil {
		t.Fatal(err)
	}
	var names []string
	cursor := ""
	pages := 0
	for {
		res, err := n.List(ctx(), ListOptions{Prefix: "user:", Limit: 2, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, k := range res.Keys {
			names = append(names, k.Name)
			if k.Name == "user:b" && string(k.Metadata) != `{"n":1}` {
				t.Errorf("metadata of user:b = %s", k.Metadata)
			}
		}
		if res.Complete {
			if res.Cursor != "" {
				t.Error("complete page has a cursor")
			}
			break
		}
		cursor = res.Cursor
		// A key added behind the cursor is not returned; one ahead is.
		if pages == 1 {
			_ = n.Put(ctx(), "user:0", nil, PutOptions{})
			_ = n.Put(ctx(), "user:d", nil, PutOptions{})
		}
	}
	// UTF-8 byte order puts "é" after "z".
	if got, want := strings.Join(names, ","), "user:a,user:b,user:c,user:d,user:z,user:é"; got != want {
		t.Fatalf("listed %s, want %s", got, want)
	}
	if pages != 3 {
		t.Fatalf("pages = %d", pages)
	}

	first, _ := n.List(ctx(), ListOptions{Prefix: "user:", Limit: 1})
	for _, tc := range []struct {
		name   string
		opts   ListOptions
		status int
		msg    string
	}{
		{"limit over", ListOptions{Limit: 1001}, 400, "Invalid key_count_limit of 1001. Please specify an integer less than 1000."},
		{"limit negative", ListOptions{Limit: -1}, 400, "Invalid key_count_limit of -1. Please specify an integer greater than 0."},
		{"long prefix", ListOptions{Prefix: strings.Repeat("p", 513)}, 414, "UTF-8 encoded length of 513 exceeds key length limit of 512."},
		{"cursor of another prefix", ListOptions{Prefix: "team:", Cursor: first.Cursor}, 400, `Invalid cursor: it was returned by a list with prefix "user:", not "team:".`},
		{"garbage cursor", ListOptions{Cursor: "!!"}, 400, `Invalid cursor "!!".`},
	} {
		_, err := n.List(ctx(), tc.opts)
		var ke *Error
		if !errors.As(err, &ke) || ke.Status != tc.status || ke.Message != tc.msg {
			t.Errorf("%s: err = %v, want %d %s", tc.name, err, tc.status, tc.msg)
		}
	}
	if res, err := n.List(ctx(), ListOptions{Limit: 1000}); err != nil || !res.Complete || len(res.Keys) != 9 {
		t.Errorf("limit 1000: %d keys, %v", len(res.Keys), err)
	}
}

func TestGetMany(t *testing.T) {
	n := open(t, newClock(1_700_000_000))
	_ = n.Put(ctx(), "a", []byte("1"), PutOptions{})
	_ = n.Put(ctx(), "b", []byte("2"), PutOptions{})
	es, found, err := n.GetMany(ctx(), []string{"b", "missing", "a"})
	if err != nil || !found[0] || found[1] || !found[2] || string(es[0].Value) != "2" || string(es[2].Value) != "1" {
		t.Fatalf("GetMany = %+v %v %v", es, found, err)
	}
	many := make([]string, 101)
	for i := range many {
		many[i] = fmt.Sprint(i)
	}
	var ke *Error
	if _, _, err := n.GetMany(ctx(), many); !errors.As(err, &ke) || ke.Message != "You can request a maximum of 100 keys" {
		t.Errorf("101 keys: %v", err)
	}
	if _, _, err := n.GetMany(ctx(), many[:100]); err != nil {
		t.Errorf("100 keys: %v", err)
	}
	if _, _, err := n.GetMany(ctx(), nil); !errors.As(err, &ke) || ke.Message != "You must request a minimum of 1 key" {
		t.Errorf("0 keys: %v", err)
	}
}

func TestPathAndNamespaces(t *testing.T) {
	dir := t.TempDir()
	for _, bad := range []string{"", ".", "..", "a/b", "x y", strings.Repeat("i", 129)} {
		if _, err := Path(dir, "w", bad); !errors.Is(err, ErrNamespaceID) {
			t.Errorf("Path(%q) err = %v", bad, err)
		}
	}
	for _, id := range []string{"b2", "a1"} {
		p, err := Path(dir, "w", id)
		if err != nil {
			t.Fatal(err)
		}
		n, err := Open(p, Options{SweepInterval: -1})
		if err != nil {
			t.Fatal(err)
		}
		n.Close()
	}
	ids, err := Namespaces(dir, "w")
	if err != nil || strings.Join(ids, ",") != "a1,b2" {
		t.Fatalf("Namespaces = %v %v", ids, err)
	}
	if ids, err := Namespaces(dir, "other"); err != nil || len(ids) != 0 {
		t.Fatalf("Namespaces of a worker without KV = %v %v", ids, err)
	}
}
