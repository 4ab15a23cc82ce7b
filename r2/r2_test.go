package r2

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cairn-dev/cairn/commit"
)

func open(t *testing.T, opts Options) *Bucket {
	t.Helper()
	b, err := Open(filepath.Join(t.TempDir(), "b.sqlite"), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func put(t *testing.T, b *Bucket, key, body string) Object {
	t.Helper()
	o, ok, err := b.Put(context.Background(), key, []byte(body), PutOptions{})
	if err != nil || !ok {
		t.Fatalf("put %q: %v %v", key, ok, err)
	}
	return o
}

func ptr(n int64) *int64 { return &n }

func TestPutGetHead(t *testing.T) {
	ctx := context.Background()
	b := open(t, Options{})
	o, ok, err := b.Put(ctx, "a/b.txt", []byte("hello"), PutOptions{
		HTTPMetadata:   HTTPMetadata{ContentType: "text/plain", CacheExpiry: 1234},
		CustomMetadata: map[string]string{"who": "me"},
	})
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	if o.ETag != "5d41402abc4b2a76b9719d911017c592" || o.Size != 5 || o.Checksums.MD5 != o.ETag || len(o.Version) != 32 {
		t.Fatalf("put returned %+v", o)
	}
	h, ok, err := b.Head(ctx, "a/b.txt")
	if err != nil || !ok || h.ETag != o.ETag || h.HTTPMetadata.ContentType != "text/plain" || h.HTTPMetadata.CacheExpiry != 1234 || h.CustomMetadata["who"] != "me" || h.Uploaded != o.Uploaded {
		t.Fatalf("head: %+v %v %v", h, ok, err)
	}
	g, err := b.Get(ctx, "a/b.txt", GetOptions{})
	if err != nil || !g.Found || string(g.Body) != "hello" || g.Version != o.Version {
		t.Fatalf("get: %+v %v", g, err)
	}
	if _, ok, err := b.Head(ctx, "missing"); ok || err != nil {
		t.Fatalf("head of a missing key: %v %v", ok, err)
	}
	if g, err := b.Get(ctx, "missing", GetOptions{}); g.Found || err != nil {
		t.Fatalf("get of a missing key: %v %v", g.Found, err)
	}
	if _, _, err = b.Put(ctx, strings.Repeat("k", MaxKeySize+1), nil, PutOptions{}); !errors.Is(err, ErrInvalidObjectName) {
		t.Fatalf("long key: %v", err)
	}
	if err.Error() != "The specified object name is not valid. (10020)" {
		t.Fatalf("message %q", err)
	}
	if _, _, err := b.Put(ctx, "m", nil, PutOptions{CustomMetadata: map[string]string{"k": strings.Repeat("v", 2048)}}); !errors.Is(err, ErrMetadataTooLarge) {
		t.Fatalf("big metadata: %v", err)
	}
}

func TestRange(t *testing.T) {
	b := open(t, Options{})
	put(t, b, "k", "0123456789")
	for _, tc := range []struct {
		r    *Range
		want string
		err  error
	}{
		{nil, "0123456789", nil},
		{&Range{Offset: ptr(2)}, "23456789", nil},
		{&Range{Offset: ptr(2), Length: ptr(3)}, "234", nil},
		{&Range{Length: ptr(4)}, "0123", nil},
		{&Range{Offset: ptr(8), Length: ptr(100)}, "89", nil},
		{&Range{Suffix: ptr(3)}, "789", nil},
		{&Range{Suffix: ptr(30)}, "0123456789", nil},
		{&Range{Offset: ptr(10)}, "", ErrInvalidRange},
		{&Range{Offset: ptr(-1)}, "", ErrInvalidRange},
		{&Range{Suffix: ptr(1), Offset: ptr(1)}, "", ErrInvalidRange},
	} {
		g, err := b.Get(context.Background(), "k", GetOptions{Range: tc.r})
		if !errors.Is(err, tc.err) || (err == nil && string(g.Body) != tc.want) {
			t.Errorf("range %+v: %q %v, want %q %v", tc.r, g.Body, err, tc.want, tc.err)
		}
		if err == nil && g.Length != int64(len(tc.want)) {
			t.Errorf("range %+v: length %d", tc.r, g.Length)
		}
	}
}

func TestConditional(t *testing.T) {
	now := time.UnixMilli(1_700_000_000_500)
	b := open(t, Options{Now: func() time.Time { return now }})
	o := put(t, b, "k", "v")
	ms := now.UnixMilli()
	for _, tc := range []struct {
		name string
		c    Conditional
		want bool
	}{
		{"etag matches", Conditional{EtagMatches: []string{o.ETag}}, true},
		{"quoted etag matches", Conditional{EtagMatches: []string{`"` + o.ETag + `"`}}, true},
		{"wildcard", Conditional{EtagMatches: []string{"*"}}, true},
		{"etag differs", Conditional{EtagMatches: []string{"nope"}}, false},
		{"does not match", Conditional{EtagDoesNotMatch: []string{o.ETag}}, false},
		{"does not match other", Conditional{EtagDoesNotMatch: []string{"nope"}}, true},
		{"uploaded before later", Conditional{UploadedBefore: ms + 1}, true},
		{"uploaded before same", Conditional{UploadedBefore: ms}, false},
		{"uploaded after earlier", Conditional{UploadedAfter: ms - 1}, true},
		{"uploaded after same", Conditional{UploadedAfter: ms}, false},
		{"seconds granularity", Conditional{UploadedAfter: ms - 400, SecondsGranularity: true}, false},
		{"etag match wins over date", Conditional{EtagMatches: []string{o.ETag}, UploadedBefore: ms - 1000}, true},
		{"none-match wins over date", Conditional{EtagDoesNotMatch: []string{"x"}, UploadedAfter: ms + 1000}, true},
	} {
		g, err := b.Get(context.Background(), "k", GetOptions{OnlyIf: &tc.c})
		if err != nil || !g.Found {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if (g.Body != nil) != tc.want {
			t.Errorf("%s: body %q, want condition %v", tc.name, g.Body, tc.want)
		}
	}
	// A put whose condition fails stores nothing.
	if _, ok, err := b.Put(context.Background(), "k", []byte("w"), PutOptions{OnlyIf: &Conditional{EtagMatches: []string{"nope"}}}); ok || err != nil {
		t.Fatalf("conditional put: %v %v", ok, err)
	}
	if _, ok, err := b.Put(context.Background(), "new", []byte("w"), PutOptions{OnlyIf: &Conditional{EtagMatches: []string{"*"}}}); ok || err != nil {
		t.Fatalf("put if exists to a new key: %v %v", ok, err)
	}
	if _, ok, err := b.Put(context.Background(), "new", []byte("w"), PutOptions{OnlyIf: &Conditional{EtagDoesNotMatch: []string{"*"}}}); !ok || err != nil {
		t.Fatalf("put if absent: %v %v", ok, err)
	}
	if g, _ := b.Get(context.Background(), "k", GetOptions{}); string(g.Body) != "v" {
		t.Fatalf("k = %q after a failed conditional put", g.Body)
	}
}

func TestChecksums(t *testing.T) {
	b := open(t, Options{})
	ctx := context.Background()
	sha := "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824" // sha256("hello")
	o, ok, err := b.Put(ctx, "k", []byte("hello"), PutOptions{Checksums: Checksums{SHA256: strings.ToUpper(sha)}})
	if err != nil || !ok || o.Checksums.SHA256 != sha || o.Checksums.SHA1 != "" {
		t.Fatalf("put: %+v %v", o, err)
	}
	_, _, err = b.Put(ctx, "k", []byte("hellO"), PutOptions{Checksums: Checksums{MD5: "5d41402abc4b2a76b9719d911017c592"}})
	if !errors.Is(err, &Error{Code: 10037}) || !strings.HasPrefix(err.Error(), "The MD5 checksum you specified did not match what we received.\n") {
		t.Fatalf("bad digest: %v", err)
	}
	if g, _ := b.Get(ctx, "k", GetOptions{}); string(g.Body) != "hello" {
		t.Fatalf("a put with a bad digest stored %q", g.Body)
	}
}

func TestListAndDelete(t *testing.T) {
	b := open(t, Options{})
	ctx := context.Background()
	for _, k := range []string{"a", "b/1", "b/2", "b/c/3", "c", "d/x"} {
		put(t, b, k, k)
	}
	keys := func(r ListResult) []string {
		var out []string
		for _, o := range r.Objects {
			out = append(out, o.Key)
		}
		return out
	}
	r, err := b.List(ctx, ListOptions{Delimiter: "/"})
	if err != nil || !slices.Equal(keys(r), []string{"a", "c"}) || !slices.Equal(r.DelimitedPrefixes, []string{"b/", "d/"}) || r.Truncated {
		t.Fatalf("list with delimiter: %v %v %v", keys(r), r.DelimitedPrefixes, err)
	}
	r, _ = b.List(ctx, ListOptions{Prefix: "b/", Delimiter: "/"})
	if !slices.Equal(keys(r), []string{"b/1", "b/2"}) || !slices.Equal(r.DelimitedPrefixes, []string{"b/c/"}) {
		t.Fatalf("list b/: %v %v", keys(r), r.DelimitedPrefixes)
	}
	r, _ = b.List(ctx, ListOptions{StartAfter: "b/2"})
	if !slices.Equal(keys(r), []string{"b/c/3", "c", "d/x"}) {
		t.Fatalf("startAfter: %v", keys(r))
	}
	// Pages of 2, with a delimiter: prefixes count against the limit.
	var got []string
	opts := ListOptions{Delimiter: "/", Limit: 1}
	for i := 0; ; i++ {
		r, err := b.List(ctx, opts)
		if err != nil || i > 10 {
			t.Fatal(err, i)
		}
		got = append(append(got, keys(r)...), r.DelimitedPrefixes...)
		if !r.Truncated {
			break
		}
		opts.Cursor = r.Cursor
	}
	if !slices.Equal(got, []string{"a", "b/", "c", "d/"}) {
		t.Fatalf("paged: %v", got)
	}
	if _, err := b.List(ctx, ListOptions{Limit: 1001}); !errors.Is(err, ErrInvalidMaxKeys) {
		t.Fatalf("limit 1001: %v", err)
	}
	if err := b.Delete(ctx, "a", "b/1", "nope"); err != nil {
		t.Fatal(err)
	}
	r, _ = b.List(ctx, ListOptions{})
	if !slices.Equal(keys(r), []string{"b/2", "b/c/3", "c", "d/x"}) {
		t.Fatalf("after delete: %v", keys(r))
	}
}

func TestMultipart(t *testing.T) {
	b := open(t, Options{MinPartSize: 4})
	ctx := context.Background()
	id, err := b.CreateMultipartUpload(ctx, "big", MultipartOptions{HTTPMetadata: HTTPMetadata{ContentType: "text/plain"}})
	if err != nil {
		t.Fatal(err)
	}
	p1, err1 := b.UploadPart(ctx, "big", id, 1, []byte("aaaa"))
	p2, err2 := b.UploadPart(ctx, "big", id, 2, []byte("bb"))
	if err := errors.Join(err1, err2); err != nil {
		t.Fatal(err)
	}
	if _, err := b.UploadPart(ctx, "big", "nope", 1, []byte("x")); !errors.Is(err, ErrNoSuchUpload) {
		t.Fatalf("unknown upload: %v", err)
	}
	if _, err := b.CompleteMultipartUpload(ctx, "big", id, []UploadedPart{p2, p1}); !errors.Is(err, ErrEntityTooSmall) {
		t.Fatalf("small first part: %v", err)
	}
	if _, err := b.CompleteMultipartUpload(ctx, "big", id, []UploadedPart{p1, {2, "wrong"}}); !errors.Is(err, ErrInvalidPart) {
		t.Fatalf("wrong etag: %v", err)
	}
	o, err := b.CompleteMultipartUpload(ctx, "big", id, []UploadedPart{p1, p2})
	if err != nil || o.Size != 6 || !strings.HasSuffix(o.ETag, "-2") || o.HTTPMetadata.ContentType != "text/plain" {
		t.Fatalf("complete: %+v %v", o, err)
	}
	g, _ := b.Get(ctx, "big", GetOptions{})
	if string(g.Body) != "aaaabb" {
		t.Fatalf("body %q", g.Body)
	}
	if _, err := b.UploadPart(ctx, "big", id, 3, []byte("x")); !errors.Is(err, ErrNoSuchUpload) {
		t.Fatalf("part after complete: %v", err)
	}
	id2, _ := b.CreateMultipartUpload(ctx, "other", MultipartOptions{})
	if err := b.AbortMultipartUpload(ctx, "other", id2); err != nil {
		t.Fatal(err)
	}
	if _, err := b.CompleteMultipartUpload(ctx, "other", id2, nil); !errors.Is(err, ErrNoSuchUpload) {
		t.Fatalf("complete after abort: %v", err)
	}
}

// TestDurableReopen writes through a commit log, closes and reopens: every
// acknowledged put is there.
func TestDurableReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "b.sqlite")
	log := commit.NewLocal(2)
	defer log.Close()
	b, err := Open(path, Options{Commit: log})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		put(t, b, fmt.Sprint("k", i), fmt.Sprint("v", i))
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.Head(context.Background(), "k1"); !errors.Is(err, ErrClosed) {
		t.Fatalf("head after close: %v", err)
	}
	b, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	r, err := b.List(context.Background(), ListOptions{})
	if err != nil || len(r.Objects) != 20 {
		t.Fatalf("after reopen: %d objects, %v", len(r.Objects), err)
	}
}

// TestGetDuringPuts reads a key while it is overwritten: every read gets
// the body of the version it reports.
func TestGetDuringPuts(t *testing.T) {
	b := open(t, Options{})
	ctx := context.Background()
	put(t, b, "k", "v0")
	done := make(chan error)
	go func() {
		for i := range 200 {
			if _, _, err := b.Put(ctx, "k", []byte(fmt.Sprint("v", i, strings.Repeat("x", i))), PutOptions{}); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	for {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			return
		default:
		}
		g, err := b.Get(ctx, "k", GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if sums, _ := verify(g.Body, Checksums{}); sums.MD5 != g.ETag {
			t.Fatalf("body %q does not belong to etag %s", g.Body, g.ETag)
		}
	}
}

// TestListPages pages through 25 keys (and keys under delimited prefixes)
// by 5 and by 25: a page that ends exactly at the last key is not truncated.
func TestListPages(t *testing.T) {
	b := open(t, Options{})
	ctx := context.Background()
	var want []string
	for i := range 25 {
		k := fmt.Sprintf("k%02d", i)
		put(t, b, k, "v")
		put(t, b, k+"/x", "v")
		want = append(want, k)
	}
	for _, limit := range []int{5, 25, 7} {
		var got []string
		opts := ListOptions{Limit: limit, Delimiter: "/"}
		for pages := 0; ; pages++ {
			r, err := b.List(ctx, opts)
			if err != nil || pages > 30 {
				t.Fatal(err, pages)
			}
			for _, o := range r.Objects {
				got = append(got, o.Key)
			}
			if len(r.Objects)+len(r.DelimitedPrefixes) > limit {
				t.Fatalf("limit %d: page of %d", limit, len(r.Objects)+len(r.DelimitedPrefixes))
			}
			if !r.Truncated {
				if limit == 25 && pages != 1 {
					t.Errorf("limit 25: %d pages, want 2", pages+1)
				}
				break
			}
			opts.Cursor = r.Cursor
		}
		if !slices.Equal(got, want) {
			t.Errorf("limit %d: %v", limit, got)
		}
	}
	r, _ := b.List(ctx, ListOptions{Limit: 50})
	if len(r.Objects) != 50 || r.Truncated {
		t.Errorf("limit 50 of 50: %d objects, truncated %v", len(r.Objects), r.Truncated)
	}
}
