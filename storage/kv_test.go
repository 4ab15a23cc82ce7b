package storage

import (
	"reflect"
	"strings"
	"testing"
)

func keys(kvs []KV) []string {
	out := []string{}
	for _, kv := range kvs {
		out = append(out, kv.Key)
	}
	return out
}

func ptr(s string) *string { return &s }

func TestKVGetPutDelete(t *testing.T) {
	db, _ := open(t)
	if err := db.Put("k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	if v, ok, err := db.Get("k"); string(v) != "v" || !ok || err != nil {
		t.Fatalf("Get = %q, %v, %v", v, ok, err)
	}
	db.Put("k", []byte("w"))
	if v, _, _ := db.Get("k"); string(v) != "w" {
		t.Fatalf("overwrite: Get = %q", v)
	}
	db.Put("empty", nil)
	if v, ok, _ := db.Get("empty"); !ok || v == nil || len(v) != 0 {
		t.Fatalf("empty value: %#v, %v", v, ok)
	}
	if _, ok, _ := db.Get("missing"); ok {
		t.Fatal("missing key found")
	}
	// spec 30
	if ok, _ := db.Delete("k"); !ok {
		t.Fatal("Delete of existing key = false")
	}
	if ok, _ := db.Delete("k"); ok {
		t.Fatal("second Delete = true")
	}
	db.PutMany([]KV{{"a", []byte("1")}, {"b", []byte("2")}})
	if n, err := db.DeleteMany([]string{"a", "b", "nope"}); n != 2 || err != nil {
		t.Fatalf("DeleteMany = %d, %v", n, err)
	}
	// spec 32: the same data through SQL bookkeeping (PRAGMA table_list) and KV.
	if _, err := db.Commit(); err != nil {
		t.Fatal(err)
	}
}

func TestKVGetMany(t *testing.T) {
	db, _ := open(t)
	db.PutMany([]KV{{"b", []byte("B")}, {"a", []byte("A")}, {"é", []byte("E")}, {"z", []byte("Z")}})
	// spec 25: sorted by key bytes, missing keys omitted, duplicates once.
	got, err := db.GetMany([]string{"é", "b", "a", "zz-missing", "a"})
	want := []KV{{"a", []byte("A")}, {"b", []byte("B")}, {"é", []byte("E")}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("GetMany = %v, %v", got, err)
	}
}

func TestKVPutManyAtomic(t *testing.T) {
	db, _ := open(t)
	db.Put("keep", []byte("1"))
	err := db.PutMany([]KV{{"new", []byte("x")}, {"huge", make([]byte, 3_000_000)}})
	if err == nil || !strings.Contains(err.Error(), "too big") {
		t.Fatalf("PutMany of an oversize value: %v", err)
	}
	if _, ok, _ := db.Get("new"); ok {
		t.Error("a failed PutMany left a key behind")
	}
	if db.Broken() != nil {
		t.Fatalf("an oversize value broke the DB: %v", db.Broken())
	}
	if _, ok, _ := db.Get("keep"); !ok {
		t.Error("a failed PutMany lost an earlier write of the batch")
	}
}

func TestKVList(t *testing.T) {
	db, _ := open(t)
	for _, k := range []string{"", "a", "b", "c", "d", "user:1", "user:2", "user:3", "usex", "\xff", "\xff\xff"} {
		if err := db.Put(k, []byte("v:"+k)); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name string
		opts ListOptions
		want []string
	}{
		{"all", ListOptions{}, []string{"", "a", "b", "c", "d", "user:1", "user:2", "user:3", "usex", "\xff", "\xff\xff"}},
		{"start end", ListOptions{Start: ptr("b"), End: ptr("d")}, []string{"b", "c"}}, // spec 26
		{"startAfter", ListOptions{StartAfter: ptr("b"), End: ptr("d")}, []string{"c"}},
		{"startAfter empty", ListOptions{StartAfter: ptr(""), End: ptr("b")}, []string{"a"}},
		{"end empty", ListOptions{End: ptr("")}, []string{}},
		{"prefix", ListOptions{Prefix: "user:"}, []string{"user:1", "user:2", "user:3"}},
		{"prefix reverse limit", ListOptions{Prefix: "user:", Reverse: true, Limit: 2}, []string{"user:3", "user:2"}}, // spec 27
		{"reverse start", ListOptions{Start: ptr("c"), Reverse: true, Limit: 3}, []string{"\xff\xff", "\xff", "usex"}},
		{"reverse end", ListOptions{End: ptr("c"), Reverse: true}, []string{"b", "a", ""}},
		{"limit", ListOptions{Limit: 2}, []string{"", "a"}},
		{"prefix and start", ListOptions{Prefix: "user:", Start: ptr("user:2")}, []string{"user:2", "user:3"}},
		{"prefix disjoint", ListOptions{Prefix: "user:", End: ptr("b")}, []string{}},
		{"prefix ff", ListOptions{Prefix: "\xff"}, []string{"\xff", "\xff\xff"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := db.List(tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(keys(got), tc.want) {
				t.Errorf("List(%+v) = %q, want %q", tc.opts, keys(got), tc.want)
			}
			for _, kv := range got {
				if string(kv.Value) != "v:"+kv.Key {
					t.Errorf("value of %q = %q", kv.Key, kv.Value)
				}
			}
		})
	}
}

func TestValidateList(t *testing.T) {
	if got := ValidateList(ListOptions{Start: ptr("a"), StartAfter: ptr("b")}, false); got != "list() cannot be called with both start and startAfter values." {
		t.Error(got)
	}
	if got := ValidateList(ListOptions{Limit: 0}, true); got != "List limit must be positive." {
		t.Error(got)
	}
	if got := ValidateList(ListOptions{Limit: 3}, true); got != "" {
		t.Error(got)
	}
}

func TestKVAndSQLShareTransaction(t *testing.T) {
	db, path := open(t)
	mustExec(t, db, "CREATE TABLE t (a)")
	db.Commit()
	db.Put("k", []byte("v"))
	mustExec(t, db, "INSERT INTO t VALUES (1)")
	db.Rollback()
	// The rollback took the table creation's sibling writes and the KV table with it.
	if _, ok, err := db.Get("k"); ok || err != nil {
		t.Fatalf("Get after rollback = %v, %v", ok, err)
	}
	if got := all(t, db, "SELECT count(*) FROM t"); got[0][0] != int64(0) {
		t.Fatalf("count = %v", got)
	}
	if err := db.Put("k", []byte("again")); err != nil {
		t.Fatal(err)
	}
	db.Commit()
	db.Close()
	db = Open(path, Options{})
	defer db.Close()
	if v, _, _ := db.Get("k"); string(v) != "again" {
		t.Fatalf("Get = %q", v)
	}
}
