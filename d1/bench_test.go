package d1

import (
	"context"
	"testing"
)

func BenchmarkPointRead(b *testing.B) {
	db, err := Open(b.TempDir()+"/db.sqlite", "u", Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	db.Exec(ctx, "CREATE TABLE items (id INTEGER PRIMARY KEY, v TEXT NOT NULL)")
	for i := range 1000 {
		db.Query(ctx, Statement{SQL: "INSERT INTO items (v) VALUES (?)", Params: []any{"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}}, "")
		_ = i
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i++
			if _, _, err := db.Query(ctx, Statement{SQL: "SELECT id, v FROM items WHERE id = ?", Params: []any{int64(1 + i%1000)}}, ""); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkInsert(b *testing.B) {
	db, err := Open(b.TempDir()+"/db.sqlite", "u", Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	db.Exec(ctx, "CREATE TABLE items (id INTEGER PRIMARY KEY, v TEXT NOT NULL)")
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := db.Query(ctx, Statement{SQL: "INSERT INTO items (v) VALUES (?)", Params: []any{"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}}, ""); err != nil {
			b.Fatal(err)
		}
	}
}
