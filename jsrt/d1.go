package jsrt

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/dop251/goja"
)

// D1Database is a D1 database as a Worker binding reaches it (package
// server adapts package d1 to it). Methods are called off the JS loop and
// may block.
type D1Database interface {
	// Batch runs stmts atomically and returns one result per statement and
	// the bookmark of the state seen or made. session is "" (no session:
	// the primary), "first-primary", "first-unconstrained" or a bookmark.
	// An error's message is what the binding throws ("D1_ERROR: …").
	Batch(ctx context.Context, stmts []D1Statement, session string) ([]D1Result, string, error)
	// Exec runs sql line by line (db.exec) and returns the lines run and
	// their duration in ms.
	Exec(ctx context.Context, sql string) (count int, duration float64, err error)
	// Dump returns the database file's bytes (db.dump).
	Dump(ctx context.Context) ([]byte, error)
}

// D1Statement is a statement with its parameters: nil, int64, float64,
// string or []byte.
type D1Statement struct {
	SQL    string
	Params []any
}

// D1Result is one statement's rows (values nil, int64, float64, string or
// []byte) and meta.
type D1Result struct {
	Columns []string
	Rows    [][]any
	Meta    D1Meta
}

// D1Meta is the meta object of a D1 result (spec 7.3).
type D1Meta struct {
	Duration    float64
	Changes     int64
	LastRowID   int64
	ChangedDB   bool
	SizeAfter   int64
	RowsRead    int64
	RowsWritten int64
}

// installD1 puts a D1Database binding for each configured database into
// env (prelude/92_d1.js gives it its API).
func (rt *runtime) installD1(env *goja.Object) error {
	return bindEach(rt.vm, env, rt.makeD1, rt.w.cfg.D1, func(_ string, db D1Database) *goja.Object { return rt.d1Natives(db) })
}

// d1Natives builds the natives behind one D1Database: each runs the query in
// a goroutine and settles its promise on the loop.
func (rt *runtime) d1Natives(db D1Database) *goja.Object {
	vm := rt.vm
	n := vm.NewObject()
	_ = n.Set("batch", func(call goja.FunctionCall) goja.Value {
		stmts, err := rt.d1Statements(call.Argument(0))
		if err != nil {
			panic(rt.d1Error("D1_TYPE_ERROR: " + err.Error()))
		}
		session := call.Argument(1).String()
		return rt.d1Async(func(ctx context.Context) (func() goja.Value, error) {
			res, bookmark, err := db.Batch(ctx, stmts, session)
			if err != nil {
				return nil, err
			}
			return func() goja.Value { return rt.d1Response(res, bookmark) }, nil
		})
	})
	_ = n.Set("exec", func(sql string) goja.Value {
		return rt.d1Async(func(ctx context.Context) (func() goja.Value, error) {
			count, duration, err := db.Exec(ctx, sql)
			if err != nil {
				return nil, err
			}
			return func() goja.Value {
				o := rt.vm.NewObject()
				_ = o.Set("count", count)
				_ = o.Set("duration", duration)
				return o
			}, nil
		})
	})
	_ = n.Set("dump", func() goja.Value {
		return rt.d1Async(func(ctx context.Context) (func() goja.Value, error) {
			b, err := db.Dump(ctx)
			if err != nil {
				return nil, err
			}
			return func() goja.Value { return rt.vm.ToValue(rt.vm.NewArrayBuffer(b)) }, nil
		})
	})
	return n
}

// d1Async runs work off the loop and settles the returned promise on the
// loop: with the value work's result builds there, or with a D1 error. The
// query leaves once the running object's writes are durable (a query is an
// outgoing message, held by the output gate like a fetch).
func (rt *runtime) d1Async(work func(ctx context.Context) (func() goja.Value, error)) goja.Value {
	return rt.offLoop(true, func(ctx context.Context) func(*settler) {
		build, err := work(ctx)
		return func(s *settler) {
			switch {
			case s == nil:
			case err != nil:
				_ = s.reject(rt.d1Error(err.Error()))
			default:
				_ = s.resolve(build())
			}
		}
	})
}

// d1Error makes the Error a D1 call throws: message "D1_…: text", and a
// cause whose message is the text alone (as workerd's binding does).
func (rt *runtime) d1Error(msg string) goja.Value {
	vm := rt.vm
	ctor := vm.Get("Error")
	e, err := vm.New(ctor, vm.ToValue(msg))
	if err != nil {
		return vm.ToValue(msg)
	}
	text := msg
	if kind, rest, ok := strings.Cut(msg, ": "); ok && strings.HasPrefix(kind, "D1_") {
		text = rest
	}
	if cause, err := vm.New(ctor, vm.ToValue(text)); err == nil {
		_ = e.Set("cause", cause)
	}
	return e
}

// d1Statements converts [{sql, params}] from the prelude to Go.
func (rt *runtime) d1Statements(v goja.Value) ([]D1Statement, error) {
	vm := rt.vm
	arr := v.ToObject(vm)
	n := int(arr.Get("length").ToInteger())
	out := make([]D1Statement, n)
	for i := range n {
		o := arr.Get(strconv.Itoa(i)).ToObject(vm)
		out[i].SQL = o.Get("sql").String()
		if p := o.Get("params"); p != nil && !goja.IsUndefined(p) && !goja.IsNull(p) {
			po := p.ToObject(vm)
			m := int(po.Get("length").ToInteger())
			out[i].Params = make([]any, m)
			for j := range m {
				val, err := rt.d1Param(po.Get(strconv.Itoa(j)))
				if err != nil {
					return nil, err
				}
				out[i].Params[j] = val
			}
		}
	}
	return out, nil
}

// d1Param converts a bound value (already checked by bind in the prelude):
// integral numbers become INTEGER, other numbers REAL, byte arrays and
// buffers BLOB.
func (rt *runtime) d1Param(v goja.Value) (any, error) {
	if v == nil || goja.IsUndefined(v) || goja.IsNull(v) {
		return nil, nil
	}
	if b := bufferBytes(v); b != nil {
		return append([]byte{}, b...), nil
	}
	switch x := v.Export().(type) {
	case string:
		return x, nil
	case bool:
		if x {
			return int64(1), nil
		}
		return int64(0), nil
	case int64:
		return x, nil
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<63 {
			return int64(x), nil
		}
		return x, nil
	case []any:
		b := make([]byte, len(x))
		for i, e := range x {
			f, ok := e.(int64)
			if !ok {
				if ff, isF := e.(float64); isF && ff == math.Trunc(ff) {
					f, ok = int64(ff), true
				}
			}
			if !ok || f < 0 || f > 255 {
				return nil, fmt.Errorf("Type 'object' not supported for value '%s'", v.String())
			}
			b[i] = byte(f)
		}
		return b, nil
	}
	return nil, fmt.Errorf("Type '%s' not supported for value '%s'", v.ExportType(), v.String())
}

// d1Response builds {results: [{columns, rows, meta}], bookmark} for the
// prelude.
func (rt *runtime) d1Response(res []D1Result, bookmark string) goja.Value {
	vm := rt.vm
	results := make([]any, len(res))
	for i, r := range res {
		o := vm.NewObject()
		cols := make([]any, len(r.Columns))
		for j, c := range r.Columns {
			cols[j] = c
		}
		rows := make([]any, len(r.Rows))
		for j, row := range r.Rows {
			vals := make([]any, len(row))
			for k, v := range row {
				vals[k] = rt.d1Value(v)
			}
			rows[j] = vm.NewArray(vals...)
		}
		_ = o.Set("columns", vm.NewArray(cols...))
		_ = o.Set("rows", vm.NewArray(rows...))
		_ = o.Set("meta", rt.d1Meta(r.Meta))
		results[i] = o
	}
	out := vm.NewObject()
	_ = out.Set("results", vm.NewArray(results...))
	_ = out.Set("bookmark", bookmark)
	return out
}

// d1Value converts a SQLite value for JS: integers are numbers (beyond 2^53
// they lose precision, never BigInt), BLOBs arrays of byte numbers (as over
// D1's JSON transport).
func (rt *runtime) d1Value(v any) any {
	switch x := v.(type) {
	case int64:
		return float64(x)
	case []byte:
		b := make([]any, len(x))
		for i, c := range x {
			b[i] = int64(c)
		}
		return rt.vm.NewArray(b...)
	}
	return v
}

// d1Meta builds the meta object, in the field order of spec 7.3.
// served_by_region and served_by_colo are undefined, as in local dev.
func (rt *runtime) d1Meta(m D1Meta) *goja.Object {
	vm := rt.vm
	o := vm.NewObject()
	timings := vm.NewObject()
	_ = timings.Set("sql_duration_ms", m.Duration)
	for _, kv := range []struct {
		k string
		v any
	}{
		{"served_by", "cairn"},
		{"served_by_region", goja.Undefined()},
		{"served_by_primary", true},
		{"duration", m.Duration},
		{"timings", timings},
		{"changes", m.Changes},
		{"last_row_id", m.LastRowID},
		{"changed_db", m.ChangedDB},
		{"size_after", m.SizeAfter},
		{"rows_read", m.RowsRead},
		{"rows_written", m.RowsWritten},
		{"total_attempts", 1},
	} {
		_ = o.Set(kv.k, kv.v)
	}
	return o
}
