package jsrt

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
)

// fakeD1 records what the binding sends and answers with canned results.
type fakeD1 struct {
	mu       sync.Mutex
	got      []D1Statement
	sessions []string
	result   D1Result
	bookmark string
	err      error
}

func (f *fakeD1) Batch(_ context.Context, stmts []D1Statement, session string) ([]D1Result, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.got = append(f.got, stmts...)
	f.sessions = append(f.sessions, session)
	if f.err != nil {
		return nil, "", f.err
	}
	out := make([]D1Result, len(stmts))
	for i := range out {
		out[i] = f.result
	}
	return out, f.bookmark, nil
}

func (f *fakeD1) Exec(context.Context, string) (int, float64, error) { return 0, 0, nil }
func (f *fakeD1) Dump(context.Context) ([]byte, error)               { return []byte("SQLite"), nil }

// bind's conversions reach Go with D1's types (spec 7.2, 59).
func TestD1BindConversions(t *testing.T) {
	db := &fakeD1{result: D1Result{Columns: []string{}, Rows: [][]any{}}}
	w := newTestWorker(t, `exports.default = { async fetch(req, env) {
  const u8 = new Uint8Array([9, 1, 2, 3]);
  await env.DB.prepare("Q").bind(3, 3.5, 2 ** 60, "s", true, false, null, [1, 2, 255], u8.subarray(1, 3), new Uint8Array([4]).buffer, -0).run();
  return new Response("ok");
} }`, Config{D1: map[string]D1Database{"DB": db}})
	if status, body, err := fetchBody(t, w, "http://x/"); err != nil || status != 200 || body != "ok" {
		t.Fatalf("fetch = %d %q %v", status, body, err)
	}
	want := []any{int64(3), 3.5, int64(1 << 60), "s", int64(1), int64(0), nil, []byte{1, 2, 255}, []byte{1, 2}, []byte{4}, int64(0)}
	if len(db.got) != 1 || db.got[0].SQL != "Q" || !reflect.DeepEqual(db.got[0].Params, want) {
		t.Errorf("params = %#v\nwant %#v", db.got, want)
	}
}

// Results come back with D1's JS types; sessions carry the newest bookmark (spec 67).
func TestD1ResultsAndSessions(t *testing.T) {
	db := &fakeD1{
		result: D1Result{
			Columns: []string{"a", "a", "big", "blob", "n"},
			Rows:    [][]any{{int64(1), "dup", int64(1<<53 + 1), []byte{7, 8}, nil}},
			Meta:    D1Meta{Changes: 2, LastRowID: 5, ChangedDB: true, Duration: 0.5},
		},
		bookmark: "00000000-00000002-00000000-x",
	}
	w := newTestWorker(t, `exports.default = { async fetch(req, env) {
  const all = await env.DB.prepare("Q").all();
  const raw = await env.DB.prepare("Q").raw({ columnNames: true });
  const s = env.DB.withSession("first-primary");
  const before = s.getBookmark();
  await s.prepare("Q").first();
  const after = s.getBookmark();
  return Response.json({ all, raw, before, after, isArray: Array.isArray(raw[1]) });
} }`, Config{D1: map[string]D1Database{"DB": db}})
	status, body, err := fetchBody(t, w, "http://x/")
	if err != nil || status != 200 {
		t.Fatalf("fetch = %d %q %v", status, body, err)
	}
	for _, want := range []string{
		`"results":[{"a":"dup","big":9007199254740992,"blob":[7,8],"n":null}]`,
		`"changes":2,"last_row_id":5,"changed_db":true`,
		`"served_by_primary":true`,
		`"raw":[["a","a","big","blob","n"],[1,"dup",9007199254740992,[7,8],null]]`,
		`"before":null,"after":"00000000-00000002-00000000-x"`,
		`"isArray":true`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %s:\n%s", want, body)
		}
	}
	if !reflect.DeepEqual(db.sessions, []string{"", "", "first-primary"}) {
		t.Errorf("sessions sent = %q", db.sessions)
	}
}

// A failing query rejects with an Error carrying the backend's message.
func TestD1Errors(t *testing.T) {
	db := &fakeD1{err: errors.New("D1_ERROR: no such table: t: SQLITE_ERROR")}
	w := newTestWorker(t, `exports.default = { async fetch(req, env) {
  try { await env.DB.prepare("SELECT * FROM t").all(); return new Response("no error"); }
  catch (e) { return new Response(String(e instanceof Error) + "|" + e.message + "|" + e.cause.message); }
} }`, Config{D1: map[string]D1Database{"DB": db}})
	_, body, err := fetchBody(t, w, "http://x/")
	if want := "true|D1_ERROR: no such table: t: SQLITE_ERROR|no such table: t: SQLITE_ERROR"; err != nil || body != want {
		t.Errorf("body = %q (%v), want %q", body, err, want)
	}
}
