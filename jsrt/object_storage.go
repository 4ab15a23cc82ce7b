package jsrt

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/dop251/goja"

	"github.com/cairn-dev/cairn/clone"
	"github.com/cairn-dev/cairn/jsrt/jsclone"
	"github.com/cairn-dev/cairn/objects"
	"github.com/cairn-dev/cairn/storage"
)

// storageNatives builds the natives behind ctx.storage for one object. The
// JS API (promises, Maps, argument checks) is in prelude/90_objects.js; these
// functions do the work synchronously on the loop and mark the object's
// storage for commit at the end of the turn. Write natives take a last
// argument allowUnconfirmed. Once the instance is reset (live reports false)
// they throw.
func (i *instance) storageNatives(live func() bool) *goja.Object {
	rt := i.rt
	vm := rt.vm
	db := func() *storage.DB { return i.obj.Storage } // replaced when reopened
	n := vm.NewObject()
	native := func(name string, confirm func(call goja.FunctionCall) bool, fn func(call goja.FunctionCall) goja.Value) {
		_ = n.Set(name, func(call goja.FunctionCall) goja.Value {
			if !live() {
				rt.throw(objects.ErrReset)
			}
			i.gate.Use(confirm(call))
			return fn(call)
		})
	}
	read := func(goja.FunctionCall) bool { return false }
	write := func(goja.FunctionCall) bool { return true }
	// writeOpt: the last argument is allowUnconfirmed.
	writeOpt := func(call goja.FunctionCall) bool {
		return len(call.Arguments) == 0 || !call.Arguments[len(call.Arguments)-1].ToBoolean()
	}
	set := func(name string, fn func(call goja.FunctionCall) goja.Value) { native(name, read, fn) }
	// fail throws a storage error into JS. A critical one (the database is
	// full or unreadable) also resets the object, as on workerd: the call
	// fails even if the code catches the error, the writes of the turn are
	// rolled back, and the next event constructs the object again.
	fail := func(err error) {
		if storage.Critical(err) || db().Broken() != nil {
			if name := storage.CodeName(err); name != "" && !strings.HasSuffix(err.Error(), name) {
				err = &storage.Error{Msg: err.Error() + ": " + name, Code: storage.ErrorCode(err)}
			}
			// The callers see an Error with this message (not a TypeError).
			i.gate.Break(&ScriptError{Name: "Error", Message: err.Error(), Stack: "Error: " + err.Error()})
		}
		rt.throw(err)
	}

	native("savepoint", write, func(goja.FunctionCall) goja.Value {
		if err := db().Savepoint(); err != nil {
			fail(err)
		}
		return goja.Undefined()
	})
	native("releaseSavepoint", write, func(goja.FunctionCall) goja.Value {
		if err := db().ReleaseSavepoint(); err != nil {
			fail(err)
		}
		return goja.Undefined()
	})
	native("rollbackSavepoint", write, func(goja.FunctionCall) goja.Value {
		if err := db().RollbackSavepoint(); err != nil {
			fail(err)
		}
		return goja.Undefined()
	})
	// sync resolves once every write so far, allowUnconfirmed ones included,
	// is durable.
	set("sync", func(goja.FunctionCall) goja.Value {
		promise, resolve, reject := vm.NewPromise()
		cont := rt.continuation()
		i.gate.Hold(true, func(err error) {
			if err != nil {
				_ = reject(rt.errorValue(err))
				return
			}
			cont(func() { _ = resolve(goja.Undefined()) })() // the input gate may hold what follows
		})
		return vm.ToValue(promise)
	})

	// Point-in-time recovery (storage/history.go): bookmarks are strings
	// in history order.
	bookmark := func(b string, err error) goja.Value {
		if err != nil {
			rt.throw(err)
		}
		return vm.ToValue(b)
	}
	set("getCurrentBookmark", func(goja.FunctionCall) goja.Value { return bookmark(db().Bookmark()) })
	set("getBookmarkForTime", func(call goja.FunctionCall) goja.Value {
		return bookmark(db().BookmarkForTime(time.UnixMilli(call.Argument(0).ToInteger())))
	})
	set("onNextSessionRestoreBookmark", func(call goja.FunctionCall) goja.Value {
		return bookmark(db().RestoreOnNextOpen(call.Argument(0).String()))
	})

	set("getAlarm", func(goja.FunctionCall) goja.Value { return i.getAlarm() })
	native("setAlarm", writeOpt, func(call goja.FunctionCall) goja.Value {
		i.setAlarm(call.Argument(0).ToInteger(), writeOpt(call))
		return goja.Undefined()
	})
	native("deleteAlarm", writeOpt, func(call goja.FunctionCall) goja.Value {
		i.deleteAlarm(writeOpt(call))
		return goja.Undefined()
	})
	native("exec", write, func(call goja.FunctionCall) goja.Value {
		query := call.Argument(0).String()
		args := make([]any, 0, len(call.Arguments)-1)
		for idx, a := range call.Arguments[1:] {
			v, err := rt.sqlValue(a)
			if err != nil {
				panic(vm.NewTypeError("Binding %d: %s", idx+1, err.Error()))
			}
			args = append(args, v)
		}
		cur, err := db().Exec(query, args...)
		if err != nil {
			fail(err)
		}
		defer cur.Close()
		var rows []any
		for {
			row, ok, err := cur.Next()
			if err != nil {
				fail(err)
			}
			if !ok {
				break
			}
			out := make([]any, len(row))
			for k, v := range row {
				out[k] = rt.jsSQLValue(v)
			}
			rows = append(rows, out)
		}
		res := vm.NewObject()
		_ = res.Set("columns", cur.Columns())
		_ = res.Set("rows", rows)
		_ = res.Set("rowsRead", cur.RowsRead())
		_ = res.Set("rowsWritten", cur.RowsWritten())
		return res
	})
	set("databaseSize", func(goja.FunctionCall) goja.Value { return vm.ToValue(db().Size()) })
	// setMaxPageCount is workerd's sql.setMaxPageCountForTest: it bounds
	// this instance's database to n pages, so tests reach SQLITE_FULL.
	set("setMaxPageCount", func(call goja.FunctionCall) goja.Value {
		if err := db().SetMaxPageCount(call.Argument(0).ToInteger()); err != nil {
			fail(err)
		}
		return goja.Undefined()
	})

	set("get", func(call goja.FunctionCall) goja.Value {
		b, ok, err := db().Get(call.Argument(0).String())
		if err != nil {
			fail(err)
		}
		if !ok {
			return goja.Undefined()
		}
		return rt.decode(b)
	})
	set("getMany", func(call goja.FunctionCall) goja.Value {
		kvs, err := db().GetMany(rt.strings(call.Argument(0)))
		if err != nil {
			fail(err)
		}
		return rt.pairs(kvs)
	})
	native("put", writeOpt, func(call goja.FunctionCall) goja.Value {
		if err := db().Put(call.Argument(0).String(), rt.encode(call.Argument(1))); err != nil {
			fail(err)
		}
		return goja.Undefined()
	})
	native("putMany", writeOpt, func(call goja.FunctionCall) goja.Value {
		arr := call.Argument(0).ToObject(vm)
		n := int(arr.Get("length").ToInteger())
		entries := make([]storage.KV, 0, n)
		for idx := range n {
			pair := arr.Get(strconv.Itoa(idx)).ToObject(vm)
			entries = append(entries, storage.KV{Key: pair.Get("0").String(), Value: rt.encode(pair.Get("1"))})
		}
		if err := db().PutMany(entries); err != nil {
			fail(err)
		}
		return goja.Undefined()
	})
	native("delete", writeOpt, func(call goja.FunctionCall) goja.Value {
		ok, err := db().Delete(call.Argument(0).String())
		if err != nil {
			fail(err)
		}
		return vm.ToValue(ok)
	})
	native("deleteMany", writeOpt, func(call goja.FunctionCall) goja.Value {
		count, err := db().DeleteMany(rt.strings(call.Argument(0)))
		if err != nil {
			fail(err)
		}
		return vm.ToValue(count)
	})
	set("list", func(call goja.FunctionCall) goja.Value {
		o := call.Argument(0).ToObject(vm)
		bound := func(name string) *string {
			v := o.Get(name)
			if v == nil || goja.IsUndefined(v) || goja.IsNull(v) {
				return nil
			}
			s := v.String()
			return &s
		}
		opts := storage.ListOptions{
			Start:      bound("start"),
			StartAfter: bound("startAfter"),
			End:        bound("end"),
			Reverse:    o.Get("reverse") != nil && o.Get("reverse").ToBoolean(),
		}
		if p := bound("prefix"); p != nil {
			opts.Prefix = *p
		}
		if l := o.Get("limit"); l != nil && !goja.IsUndefined(l) {
			opts.Limit = int(l.ToInteger())
		}
		kvs, err := db().List(opts)
		if err != nil {
			fail(err)
		}
		return rt.pairs(kvs)
	})
	// deleteAll wipes the database, the alarm with it (spec 54) unless the
	// Worker keeps alarms across deleteAll (compatibility date before
	// 2026-02-24, or the flag delete_all_preserves_alarm).
	native("deleteAll", writeOpt, func(goja.FunctionCall) goja.Value {
		ms, hadAlarm, err := db().Alarm()
		if err == nil {
			err = db().DeleteAll()
		}
		if err == nil && hadAlarm && rt.w.cfg.DeleteAllKeepsAlarm {
			err = db().SetAlarm(ms)
		}
		if err != nil {
			fail(err)
		}
		return goja.Undefined()
	})
	return n
}

// sqlValue converts a JS binding to a SQLite value.
func (rt *runtime) sqlValue(v goja.Value) (any, error) {
	if v == nil || goja.IsUndefined(v) || goja.IsNull(v) {
		return nil, nil
	}
	switch x := v.Export().(type) {
	case string:
		return x, nil
	case int64:
		return x, nil
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int64(x), nil
		}
		return x, nil
	case goja.ArrayBuffer:
		return append([]byte{}, x.Bytes()...), nil
	case []byte:
		return append([]byte{}, x...), nil
	}
	if b := bufferBytes(v); b != nil {
		return append([]byte{}, b...), nil
	}
	return nil, errors.New("unsupported type " + v.ExportType().String() + " (use string, number, ArrayBuffer or null)")
}

// jsSQLValue converts a SQLite value to JS: integers become numbers (never
// BigInt, as on Cloudflare), blobs ArrayBuffers.
func (rt *runtime) jsSQLValue(v any) any {
	switch x := v.(type) {
	case int64:
		return float64(x)
	case []byte:
		return rt.vm.NewArrayBuffer(x)
	}
	return v
}

// encode serializes a KV value, throwing DataCloneError into JS on failure.
func (rt *runtime) encode(v goja.Value) []byte {
	b, err := jsclone.Serialize(rt.vm, v)
	if err != nil {
		rt.throw(err)
	}
	return b
}

// decode deserializes a stored KV value.
func (rt *runtime) decode(b []byte) goja.Value {
	v, err := jsclone.Deserialize(rt.vm, b)
	if err != nil {
		rt.throw(err)
	}
	return v
}

// pairs returns kvs as a JS array of [key, value] pairs.
func (rt *runtime) pairs(kvs []storage.KV) goja.Value {
	out := make([]any, len(kvs))
	for idx, kv := range kvs {
		out[idx] = []any{kv.Key, rt.decode(kv.Value)}
	}
	return rt.vm.ToValue(out)
}

// strings converts a JS array to Go strings.
func (rt *runtime) strings(v goja.Value) []string {
	arr := v.ToObject(rt.vm)
	n := int(arr.Get("length").ToInteger())
	out := make([]string, n)
	for idx := range n {
		out[idx] = arr.Get(strconv.Itoa(idx)).String()
	}
	return out
}

// throw raises err in JS: a JS exception is rethrown as is, any other error
// becomes an Error with err's message.
func (rt *runtime) throw(err error) {
	var ex *goja.Exception
	if errors.As(err, &ex) {
		panic(ex)
	}
	var ce *clone.CloneError
	if errors.As(err, &ce) {
		panic(jsclone.Exception(rt.vm, err))
	}
	e, cerr := rt.vm.New(rt.vm.Get("Error"), rt.vm.ToValue(err.Error()))
	if cerr != nil {
		panic(rt.vm.ToValue(err.Error()))
	}
	panic(e)
}
