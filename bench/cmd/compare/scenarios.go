package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"

	"github.com/cairn-dev/cairn/bench/load"
)

// A scenario is one kind of request the app in bench/app serves.
type scenario struct {
	Name string
	Desc string
	// Path returns the path and query of the next request.
	Path func(rng *rand.Rand) string
	// Warm, if set, prepares a server once before the scenario's first run.
	Warm func(ctx context.Context, base string) error
}

const (
	randomObjects = 10_000 // sql-10k writes to one of these
	warmObjects   = 1_000  // read-1k reads from these
	d1Rows        = 1_000  // d1-read reads one of these
	kvKeys        = 1_000  // kv-get reads one of these Workers KV keys
)

var scenarios = []scenario{
	{
		Name: "ok", Desc: "stateless GET /ok, no Durable Object",
		Path: fixed("/ok"),
	},
	{
		Name: "asset-10k", Desc: "static asset, a 10 KB file (cairn: from Go, no JS; workerd: the Worker forwards to a disk service)",
		Path: fixed("/static/10k.txt"),
	},
	{
		Name: "sql-inc", Desc: "SQL upsert (INSERT … ON CONFLICT … RETURNING) of a counter in one object",
		Path: fixed("/sql/inc?id=sql-hot"),
	},
	{
		Name: "kv-inc", Desc: "storage.get + storage.put of a counter in one object",
		Path: fixed("/kv/inc?id=kv-hot"),
	},
	{
		Name: "sql-10k", Desc: "SQL upsert in one of 10,000 objects chosen at random (most are created by the run)",
		Path: func(rng *rand.Rand) string { return fmt.Sprintf("/sql/inc?id=rand-%d", rng.IntN(randomObjects)) },
	},
	{
		Name: "read-1k", Desc: "SQL select in one of 1,000 objects written beforehand, chosen at random",
		Path: func(rng *rand.Rand) string { return fmt.Sprintf("/sql/read?id=warm-%d", rng.IntN(warmObjects)) },
		Warm: func(ctx context.Context, base string) error {
			return forEach(ctx, warmObjects, func(i int) string { return fmt.Sprintf("%s/sql/inc?id=warm-%d", base, i) })
		},
	},
	{
		Name: "wasm-fib", Desc: "stateless WebAssembly call: fib(25) by naive recursion (243,000 wasm calls)",
		Path: fixed("/wasm/fib?n=25"),
	},
	{
		Name: "rpc", Desc: "JS RPC call stub.inc() (SQL upsert) on one object",
		Path: fixed("/rpc?id=rpc-hot"),
	},
	{
		Name: "kv-get", Desc: "Workers KV get of one of 1,000 keys written beforehand (100-byte values)",
		Path: func(rng *rand.Rand) string { return fmt.Sprintf("/kvns/get?k=key-%d", rng.IntN(kvKeys)) },
		Warm: func(ctx context.Context, base string) error {
			return forEach(ctx, kvKeys, func(i int) string { return fmt.Sprintf("%s/kvns/put?k=key-%d", base, i) })
		},
	},
	{
		Name: "kv-put", Desc: "Workers KV put of a 100-byte value under one of 1,000 keys",
		Path: func(rng *rand.Rand) string { return fmt.Sprintf("/kvns/put?k=key-%d", rng.IntN(kvKeys)) },
	},
	{
		Name: "d1-read", Desc: "D1 point read by primary key of one of 1,000 rows",
		Path: func(rng *rand.Rand) string { return fmt.Sprintf("/d1/read?id=%d", 1+rng.IntN(d1Rows)) },
		Warm: func(ctx context.Context, base string) error {
			return forEach(ctx, d1Rows, func(int) string { return base + "/d1/insert" })
		},
	},
	{
		Name: "d1-insert", Desc: "D1 single-row insert",
		Path: fixed("/d1/insert"),
	},
}

func fixed(path string) func(*rand.Rand) string { return func(*rand.Rand) string { return path } }

// forEach requests url(i) for i in [0, n) with 16 requests in flight and
// returns the first error.
func forEach(ctx context.Context, n int, url func(i int) string) error {
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
		next  = make(chan int)
	)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := load.Do(ctx, url(i)); err != nil {
					once.Do(func() { first = err })
				}
			}
		}()
	}
	for i := 0; i < n && ctx.Err() == nil; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	return first
}
