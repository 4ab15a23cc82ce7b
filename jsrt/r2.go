package jsrt

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/dop251/goja"

	"github.com/cairn-dev/cairn/jsrt/webapi"
	"github.com/cairn-dev/cairn/r2"
)

// R2Bucket is the store behind an R2 binding (Config.R2); *r2.Bucket is
// one. Errors of type *r2.Error are shown as Cloudflare shows them, "put:
// <message> (<code>)"; other errors become R2's internal error (logged).
type R2Bucket interface {
	Head(ctx context.Context, key string) (r2.Object, bool, error)
	Get(ctx context.Context, key string, opts r2.GetOptions) (r2.GetResult, error)
	Put(ctx context.Context, key string, body []byte, opts r2.PutOptions) (r2.Object, bool, error)
	Delete(ctx context.Context, keys ...string) error
	List(ctx context.Context, opts r2.ListOptions) (r2.ListResult, error)
	CreateMultipartUpload(ctx context.Context, key string, opts r2.MultipartOptions) (string, error)
	UploadPart(ctx context.Context, key, id string, n int, body []byte) (r2.UploadedPart, error)
	AbortMultipartUpload(ctx context.Context, key, id string) error
	CompleteMultipartUpload(ctx context.Context, key, id string, parts []r2.UploadedPart) (r2.Object, error)
}

// installR2 puts an R2Bucket (prelude/94_r2.js) into env for each
// Config.R2 binding.
func (rt *runtime) installR2(env *goja.Object) error {
	return bindEach(rt.vm, env, rt.makeR2Bucket, rt.w.cfg.R2, rt.r2Natives)
}

// The options the prelude passes as JSON (see prelude/94_r2.js).
type (
	r2GetOptions struct {
		OnlyIf *r2.Conditional `json:"onlyIf"`
		Range  *r2.Range       `json:"range"`
	}
	r2PutOptions struct {
		OnlyIf         *r2.Conditional   `json:"onlyIf"`
		HTTPMetadata   r2.HTTPMetadata   `json:"httpMetadata"`
		CustomMetadata map[string]string `json:"customMetadata"`
		Checksums      r2.Checksums      `json:"checksums"`
	}
	r2ListOptions struct {
		Prefix     string `json:"prefix"`
		Delimiter  string `json:"delimiter"`
		Cursor     string `json:"cursor"`
		StartAfter string `json:"startAfter"`
		Limit      int    `json:"limit"`
	}
	r2ListResult struct {
		Objects           []r2.Object `json:"objects"`
		DelimitedPrefixes []string    `json:"delimitedPrefixes"`
		Truncated         bool        `json:"truncated"`
		Cursor            string      `json:"cursor,omitempty"`
	}
)

// r2Natives builds the natives behind one R2 binding. Each returns a
// promise; the bucket is called off the loop. Objects cross as JSON
// strings (r2.Object), bodies as ArrayBuffers.
//
//	head(key) Promise<objectJSON | null>
//	get(key, optionsJSON) Promise<null | {object: objectJSON, body: ArrayBuffer | null, offset, length}>
//	put(key, BufferSource, optionsJSON) Promise<objectJSON | null>
//	delete(keys) Promise<void>
//	list(optionsJSON) Promise<listJSON>
//	createMultipartUpload(key, optionsJSON) Promise<uploadId>
//	uploadPart(key, uploadId, partNumber, BufferSource) Promise<partJSON>
//	abortMultipartUpload(key, uploadId) Promise<void>
//	completeMultipartUpload(key, uploadId, partsJSON) Promise<objectJSON>
func (rt *runtime) r2Natives(binding string, b R2Bucket) *goja.Object {
	vm := rt.vm
	n := vm.NewObject()
	str := func(v any) goja.Value {
		j, _ := json.Marshal(v)
		return vm.ToValue(string(j))
	}
	decode := func(op, s string, v any) {
		if err := json.Unmarshal([]byte(s), v); err != nil {
			panic(vm.NewTypeError(fmt.Sprintf("%s: invalid options: %v", op, err)))
		}
	}
	bytesOf := func(v goja.Value) []byte {
		if s, ok := v.(goja.String); ok {
			return webapi.EncodeUTF8(s)
		}
		p := bytes.Clone(webapi.ViewBytes(vm, v))
		if p == nil {
			p = []byte{}
		}
		return p
	}
	_ = n.Set("head", func(key string) goja.Value {
		return r2Call(rt, binding, "head", false, func(ctx context.Context) (*r2.Object, error) {
			o, ok, err := b.Head(ctx, key)
			if err != nil || !ok {
				return nil, err
			}
			return &o, nil
		}, func(o *r2.Object) goja.Value {
			if o == nil {
				return goja.Null()
			}
			return str(o)
		})
	})
	_ = n.Set("get", func(key, options string) goja.Value {
		var opts r2GetOptions
		decode("get", options, &opts)
		return r2Call(rt, binding, "get", false, func(ctx context.Context) (r2.GetResult, error) {
			return b.Get(ctx, key, r2.GetOptions{OnlyIf: opts.OnlyIf, Range: opts.Range})
		}, func(g r2.GetResult) goja.Value {
			if !g.Found {
				return goja.Null()
			}
			o := vm.NewObject()
			_ = o.Set("object", str(g.Object))
			if g.Body != nil {
				_ = o.Set("body", vm.NewArrayBuffer(g.Body))
				_ = o.Set("offset", g.Offset)
				_ = o.Set("length", g.Length)
			} else {
				_ = o.Set("body", goja.Null())
			}
			return o
		})
	})
	_ = n.Set("put", func(key string, value goja.Value, options string) goja.Value {
		body := bytesOf(value)
		var opts r2PutOptions
		decode("put", options, &opts)
		return r2Call(rt, binding, "put", true, func(ctx context.Context) (*r2.Object, error) {
			o, ok, err := b.Put(ctx, key, body, r2.PutOptions{OnlyIf: opts.OnlyIf, HTTPMetadata: opts.HTTPMetadata,
				CustomMetadata: opts.CustomMetadata, Checksums: opts.Checksums})
			if err != nil || !ok {
				return nil, err
			}
			return &o, nil
		}, func(o *r2.Object) goja.Value {
			if o == nil {
				return goja.Null()
			}
			return str(o)
		})
	})
	_ = n.Set("delete", func(keys []string) goja.Value {
		return r2Call(rt, binding, "delete", true, func(ctx context.Context) (struct{}, error) {
			return struct{}{}, b.Delete(ctx, keys...)
		}, func(struct{}) goja.Value { return goja.Undefined() })
	})
	_ = n.Set("list", func(options string) goja.Value {
		var opts r2ListOptions
		decode("list", options, &opts)
		return r2Call(rt, binding, "list", false, func(ctx context.Context) (r2.ListResult, error) {
			return b.List(ctx, r2.ListOptions(opts))
		}, func(r r2.ListResult) goja.Value {
			return str(r2ListResult{Objects: r.Objects, DelimitedPrefixes: r.DelimitedPrefixes, Truncated: r.Truncated, Cursor: r.Cursor})
		})
	})
	_ = n.Set("createMultipartUpload", func(key, options string) goja.Value {
		var opts r2PutOptions
		decode("createMultipartUpload", options, &opts)
		return r2Call(rt, binding, "createMultipartUpload", true, func(ctx context.Context) (string, error) {
			return b.CreateMultipartUpload(ctx, key, r2.MultipartOptions{HTTPMetadata: opts.HTTPMetadata, CustomMetadata: opts.CustomMetadata})
		}, func(id string) goja.Value { return vm.ToValue(id) })
	})
	_ = n.Set("uploadPart", func(key, id string, part int, value goja.Value) goja.Value {
		body := bytesOf(value)
		return r2Call(rt, binding, "uploadPart", true, func(ctx context.Context) (r2.UploadedPart, error) {
			return b.UploadPart(ctx, key, id, part, body)
		}, func(p r2.UploadedPart) goja.Value { return str(p) })
	})
	_ = n.Set("abortMultipartUpload", func(key, id string) goja.Value {
		return r2Call(rt, binding, "abortMultipartUpload", true, func(ctx context.Context) (struct{}, error) {
			return struct{}{}, b.AbortMultipartUpload(ctx, key, id)
		}, func(struct{}) goja.Value { return goja.Undefined() })
	})
	_ = n.Set("completeMultipartUpload", func(key, id, parts string) goja.Value {
		var ps []r2.UploadedPart
		decode("completeMultipartUpload", parts, &ps)
		return r2Call(rt, binding, "completeMultipartUpload", true, func(ctx context.Context) (r2.Object, error) {
			return b.CompleteMultipartUpload(ctx, key, id, ps)
		}, func(o r2.Object) goja.Value { return str(o) })
	})
	return n
}

// r2Call runs work off the loop and returns a promise settled on the loop
// with toJS of its result, or with the error as workerd reports a failed
// R2 operation op ("get: The specified object name is not valid.
// (10020)"). Writes (gated) leave only once the running object's earlier
// writes are durable (the output gate).
func r2Call[T any](rt *runtime, binding, op string, gated bool, work func(ctx context.Context) (T, error), toJS func(T) goja.Value) goja.Value {
	return rt.offLoop(gated, func(ctx context.Context) func(*settler) {
		res, err := work(ctx)
		return func(s *settler) {
			switch {
			case s == nil:
			case err != nil:
				_ = s.reject(rt.r2Error(binding, op, err))
			default:
				_ = s.resolve(toJS(res))
			}
		}
	})
}

// r2Error makes the Error a failed R2 operation rejects with.
func (rt *runtime) r2Error(binding, op string, err error) goja.Value {
	var re *r2.Error
	msg := err.Error()
	if !errors.As(err, &re) {
		rt.log.Error("r2 operation failed", "binding", binding, "op", op, "error", msg)
		msg = "We encountered an internal error. Please try again. (10001)"
	} else {
		msg = re.Error()
	}
	e, cerr := rt.vm.New(rt.vm.Get("Error"), rt.vm.ToValue(op+": "+msg))
	if cerr != nil {
		return rt.vm.ToValue(msg)
	}
	return e
}
