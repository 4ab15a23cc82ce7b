package jsrt

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/dop251/goja"

	"github.com/cairn-dev/cairn/jsrt/webapi"
)

// KVNamespace is the store behind a Workers KV binding (Config.KV). Package
// server adapts package kv to it. Errors for bad input should implement
// HTTPStatus() int: the binding shows them as Cloudflare does, "KV PUT
// failed: 413 <Error()>"; other errors become a 500.
type KVNamespace interface {
	Get(ctx context.Context, key string) (KVEntry, bool, error)
	// GetMany returns one entry per key, in order; found[i] reports
	// whether keys[i] exists.
	GetMany(ctx context.Context, keys []string) (entries []KVEntry, found []bool, err error)
	Put(ctx context.Context, key string, value []byte, opts KVPutOptions) error
	Delete(ctx context.Context, key string) error
	List(ctx context.Context, opts KVListOptions) (KVListResult, error)
}

// KVEntry is a value read from a KVNamespace.
type KVEntry struct {
	Value    []byte
	Metadata string // JSON; "" when the entry has none
}

// KVPutOptions are the options of KVNamespace.Put; nil or "" when unset.
type KVPutOptions struct {
	Expiration    *int64 // seconds since the epoch
	ExpirationTTL *int64 // seconds from now
	Metadata      string // JSON
}

// KVListOptions select a page of KVNamespace.List; Limit 0 is the default.
type KVListOptions struct {
	Prefix string
	Limit  int
	Cursor string
}

// KVListResult is one page of keys.
type KVListResult struct {
	Keys     []KVKey
	Complete bool
	Cursor   string // next page; "" when Complete
}

// KVKey is one listed key. Expiration is 0 and Metadata "" when unset.
type KVKey struct {
	Name       string
	Expiration int64
	Metadata   string
}

// installKV puts a KVNamespace (prelude/91_kv.js) into env for each
// Config.KV binding.
func (rt *runtime) installKV(env *goja.Object) error {
	return bindEach(rt.vm, env, rt.makeKVNamespace, rt.w.cfg.KV, rt.kvNatives)
}

// kvNatives builds the natives behind one KVNamespace. Each returns a
// promise; the store is called off the loop and the promise settles on it.
// Argument checks and result shapes are in prelude/91_kv.js.
//
//	get(key, asText, withMetadata) Promise<null | value | {value, metadata: string|null}>
//	                                 (value: string if asText, else ArrayBuffer)
//	getMany(keys) Promise<[null | {value: string, metadata: string|null}]>
//	put(key, string|BufferSource, expiration, expirationTtl, metadataJSON|null) Promise<void>
//	delete(key) Promise<void>
//	list(prefix|null, limit, cursor|null) Promise<{keys, complete, cursor}>
func (rt *runtime) kvNatives(binding string, ns KVNamespace) *goja.Object {
	vm := rt.vm
	n := vm.NewObject()
	entry := func(e KVEntry, text string, asText bool) goja.Value {
		o := vm.NewObject()
		if asText {
			_ = o.Set("value", text)
		} else {
			_ = o.Set("value", vm.NewArrayBuffer(e.Value))
		}
		if e.Metadata != "" {
			_ = o.Set("metadata", e.Metadata)
		} else {
			_ = o.Set("metadata", goja.Null())
		}
		return o
	}
	type got struct {
		e     KVEntry
		text  string
		found bool
	}
	_ = n.Set("get", func(key string, asText, withMetadata bool) goja.Value {
		return kvCall(rt, binding, "GET", false, func(ctx context.Context) (got, error) {
			e, ok, err := ns.Get(ctx, key)
			g := got{e: e, found: ok}
			if ok && asText {
				g.text, _ = webapi.DecodeUTF8(e.Value, false)
			}
			return g, err
		}, func(g got) goja.Value {
			switch {
			case !g.found:
				return goja.Null()
			case withMetadata:
				return entry(g.e, g.text, asText)
			case asText:
				return vm.ToValue(g.text)
			}
			return vm.ToValue(vm.NewArrayBuffer(g.e.Value))
		})
	})
	_ = n.Set("getMany", func(keys []string) goja.Value {
		return kvCall(rt, binding, "GET_BULK", true, func(ctx context.Context) ([]got, error) {
			es, found, err := ns.GetMany(ctx, keys)
			if err != nil {
				return nil, err
			}
			out := make([]got, len(es))
			for i, e := range es {
				out[i] = got{e: e, found: found[i]}
				if found[i] {
					out[i].text, _ = webapi.DecodeUTF8(e.Value, false)
				}
			}
			return out, nil
		}, func(gs []got) goja.Value {
			arr := make([]any, len(gs))
			for i, g := range gs {
				if g.found {
					arr[i] = entry(g.e, g.text, true)
				} else {
					arr[i] = goja.Null()
				}
			}
			return vm.NewArray(arr...)
		})
	})
	_ = n.Set("put", func(call goja.FunctionCall) goja.Value {
		key := call.Argument(0).String()
		var value []byte
		if v, ok := call.Argument(1).(goja.String); ok {
			value = webapi.EncodeUTF8(v)
		} else {
			value = bytes.Clone(webapi.ViewBytes(vm, call.Argument(1)))
			if value == nil {
				value = []byte{}
			}
		}
		var opts KVPutOptions
		if v := call.Argument(2); !goja.IsUndefined(v) && !goja.IsNull(v) {
			x := v.ToInteger()
			opts.Expiration = &x
		}
		if v := call.Argument(3); !goja.IsUndefined(v) && !goja.IsNull(v) {
			x := v.ToInteger()
			opts.ExpirationTTL = &x
		}
		if v := call.Argument(4); !goja.IsUndefined(v) && !goja.IsNull(v) {
			opts.Metadata = v.String()
		}
		return kvCall(rt, binding, "PUT", true, func(ctx context.Context) (struct{}, error) {
			return struct{}{}, ns.Put(ctx, key, value, opts)
		}, func(struct{}) goja.Value { return goja.Undefined() })
	})
	_ = n.Set("delete", func(key string) goja.Value {
		return kvCall(rt, binding, "DELETE", true, func(ctx context.Context) (struct{}, error) {
			return struct{}{}, ns.Delete(ctx, key)
		}, func(struct{}) goja.Value { return goja.Undefined() })
	})
	_ = n.Set("list", func(prefix, limit, cursor goja.Value) goja.Value {
		var opts KVListOptions
		if !goja.IsUndefined(prefix) && !goja.IsNull(prefix) {
			opts.Prefix = prefix.String()
		}
		if l := limit.ToInteger(); l > 0 {
			opts.Limit = int(min(l, 1<<31-1))
		}
		if !goja.IsUndefined(cursor) && !goja.IsNull(cursor) {
			opts.Cursor = cursor.String()
		}
		return kvCall(rt, binding, "GET", false, func(ctx context.Context) (KVListResult, error) {
			return ns.List(ctx, opts)
		}, func(res KVListResult) goja.Value {
			keys := make([]any, len(res.Keys))
			for i, k := range res.Keys {
				o := vm.NewObject()
				_ = o.Set("name", k.Name)
				if k.Expiration != 0 {
					_ = o.Set("expiration", k.Expiration)
				}
				if k.Metadata != "" {
					_ = o.Set("metadata", k.Metadata)
				}
				keys[i] = o
			}
			o := vm.NewObject()
			_ = o.Set("keys", vm.NewArray(keys...))
			_ = o.Set("complete", res.Complete)
			_ = o.Set("cursor", res.Cursor)
			return o
		})
	})
	return n
}

// kvCall runs work off the loop and returns a promise settled on the loop
// with toJS of its result, or with the error as the Workers runtime reports
// a failed KV operation op. Writes (gated) leave only once the running
// object's earlier writes are durable (the output gate), as workerd waits
// for output locks.
func kvCall[T any](rt *runtime, binding, op string, gated bool, work func(ctx context.Context) (T, error), toJS func(T) goja.Value) goja.Value {
	return rt.offLoop(gated, func(ctx context.Context) func(*settler) {
		res, err := work(ctx)
		return func(s *settler) {
			switch {
			case s == nil:
			case err != nil:
				_ = s.reject(rt.kvError(binding, op, err))
			default:
				_ = s.resolve(toJS(res))
			}
		}
	})
}

// kvError makes the Error a failed KV operation rejects with: "KV PUT
// failed: 413 Value length of …" for bad input, a 500 otherwise (logged).
func (rt *runtime) kvError(binding, op string, err error) goja.Value {
	status, msg := 500, "Internal Server Error"
	var se interface{ HTTPStatus() int }
	if errors.As(err, &se) {
		status, msg = se.HTTPStatus(), err.Error()
	} else {
		rt.log.Error("kv operation failed", "binding", binding, "op", op, "error", err.Error())
	}
	e, cerr := rt.vm.New(rt.vm.Get("Error"), rt.vm.ToValue(fmt.Sprintf("KV %s failed: %d %s", op, status, msg)))
	if cerr != nil {
		return rt.vm.ToValue(msg)
	}
	return e
}
