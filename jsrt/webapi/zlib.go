package webapi

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"reflect"
	"strings"

	"github.com/andybalholm/brotli"
	"github.com/dop251/goja"
)

// zlib error numbers, as node:zlib reports them in err.errno.
const (
	zDataError = -3
	zBufError  = -5
)

// zlibError is a node:zlib failure: Node's code and errno, or a RangeError
// when the output is over maxOutputLength.
type zlibError struct {
	code  string
	errno int
	msg   string
	rng   bool
}

// InstallZlib defines on natives the natives behind node:zlib
// (jsrt/modules/zlib.js), on Go's compress packages:
//
//	zlibProcess(kind, data, level, maxOutputLength) ArrayBuffer
//	    kind: gzip, gunzip, deflate, inflate, deflateRaw, inflateRaw or
//	    unzip (gunzip or inflate by the header)
//	zlibCrc32(data, initial) number
//	zlibStreamNew(kind, level) handle, zlibStreamWrite(handle, data)
//	ArrayBuffer, zlibStreamEnd(handle, maxOutputLength) ArrayBuffer
//	    the stream classes (createGzip, …): compression output comes as
//	    the compressor produces it, decompression output at the end
//
// Corrupt input throws an Error with Node's code (Z_DATA_ERROR,
// Z_BUF_ERROR) and errno; output over maxOutputLength a RangeError
// (ERR_BUFFER_TOO_LARGE).
func InstallZlib(vm *goja.Runtime, natives *goja.Object) error {
	e := &subtleEnv{vm: vm, natives: natives}
	isView, ok := goja.AssertFunction(vm.Get("ArrayBuffer").ToObject(vm).Get("isView"))
	if !ok {
		return errors.New("webapi: ArrayBuffer.isView is not a function")
	}
	e.isView = isView
	throw := func(err *zlibError) {
		if err.rng {
			ex, _ := vm.New(vm.Get("RangeError"), vm.ToValue(err.msg))
			_ = ex.Set("code", err.code)
			panic(ex)
		}
		ex, _ := vm.New(vm.Get("Error"), vm.ToValue(err.msg))
		_ = ex.Set("code", err.code)
		_ = ex.Set("errno", err.errno)
		panic(ex)
	}
	bytesArg := func(v goja.Value) []byte {
		b, err := e.bufferSource(v, "buffer")
		if err != nil {
			panic(vm.NewTypeError(`The "buffer" argument must be of type string or an instance of Buffer, TypedArray, DataView, or ArrayBuffer.`))
		}
		return b
	}
	if err := natives.Set("zlibProcess", func(c goja.FunctionCall) goja.Value {
		kind := c.Argument(0).String()
		data := bytesArg(c.Argument(1))
		level, lerr := zlibLevel(kind, c.Argument(2))
		if lerr != nil {
			throw(lerr)
		}
		limit := int64(1<<53 - 1)
		if v := c.Argument(3); !goja.IsUndefined(v) && !goja.IsNull(v) {
			limit = v.ToInteger()
		}
		out, err := zlibProcess(kind, data, level, limit)
		if err != nil {
			throw(err)
		}
		return e.buffer(out)
	}); err != nil {
		return err
	}
	if err := installZlibStreams(vm, natives, e, bytesArg, throw); err != nil {
		return err
	}
	return natives.Set("zlibCrc32", func(c goja.FunctionCall) goja.Value {
		data, initial := c.Argument(0), c.Argument(1)
		var b []byte
		if s, ok := data.Export().(string); ok {
			b = []byte(s)
		} else {
			b = bytesArg(data)
		}
		return vm.ToValue(int64(crc32.Update(uint32(initial.ToInteger()), crc32.IEEETable, b)))
	})
}

// zlibProcess compresses or decompresses data whole.
func zlibProcess(kind string, data []byte, level int, limit int64) ([]byte, *zlibError) {
	var buf bytes.Buffer
	var w io.WriteCloser
	var err error
	switch kind {
	case "gzip":
		w, err = gzip.NewWriterLevel(&buf, level)
	case "deflate":
		w, err = zlib.NewWriterLevel(&buf, level)
	case "deflateRaw":
		w, err = flate.NewWriter(&buf, level)
	case "brotliCompress":
		w = brotli.NewWriterLevel(&buf, level)
	case "gunzip", "inflate", "inflateRaw", "unzip", "brotliDecompress":
		return inflate(kind, data, limit)
	default:
		return nil, &zlibError{code: "ERR_INVALID_ARG_VALUE", msg: "unknown zlib mode " + kind}
	}
	if err != nil {
		return nil, &zlibError{code: "ERR_OUT_OF_RANGE", msg: err.Error(), rng: true}
	}
	_, _ = w.Write(data)
	_ = w.Close()
	if int64(buf.Len()) > limit {
		return nil, tooLarge(limit)
	}
	return buf.Bytes(), nil
}

// zlibLevel is the compression level of kind from v (undefined: the
// default): -1 to 9 for zlib's, 0 to 11 for brotli's quality (default 11,
// as Node's BROTLI_DEFAULT_QUALITY).
func zlibLevel(kind string, v goja.Value) (int, *zlibError) {
	brotliKind := strings.HasPrefix(kind, "brotli")
	if v == nil || goja.IsUndefined(v) || goja.IsNull(v) {
		if brotliKind {
			return brotli.BestCompression, nil
		}
		return flate.DefaultCompression, nil
	}
	level := int(v.ToInteger())
	lo, hi, name := -1, 9, "options.level"
	if brotliKind {
		lo, hi, name = brotli.BestSpeed, brotli.BestCompression, "options.params[BROTLI_PARAM_QUALITY]"
	}
	if level < lo || level > hi {
		return 0, &zlibError{code: "ERR_OUT_OF_RANGE", msg: fmt.Sprintf(`The value of "%s" is out of range. It must be >= %d and <= %d. Received %d`, name, lo, hi, level), rng: true}
	}
	return level, nil
}

func tooLarge(limit int64) *zlibError {
	return &zlibError{code: "ERR_BUFFER_TOO_LARGE", msg: fmt.Sprintf("Cannot create a Buffer larger than %d bytes", limit), rng: true}
}

// inflate decompresses gzip (all members), zlib or raw deflate data.
func inflate(kind string, data []byte, limit int64) ([]byte, *zlibError) {
	if kind == "unzip" {
		kind = "inflate"
		if len(data) >= 2 && data[0] == 0x1f && data[1] == 0x8b {
			kind = "gunzip"
		}
	}
	// A wrong magic number is a bad header even when the input is too
	// short to hold a whole one, as zlib reports it.
	badHeader := &zlibError{code: "Z_DATA_ERROR", errno: zDataError, msg: "incorrect header check"}
	switch {
	case kind == "gunzip" && (len(data) >= 1 && data[0] != 0x1f || len(data) >= 2 && data[1] != 0x8b):
		return nil, badHeader
	case kind == "inflate" && len(data) >= 2 && (data[0]&0x0f != 8 || (int(data[0])<<8|int(data[1]))%31 != 0):
		return nil, badHeader
	}
	src := bufio.NewReader(bytes.NewReader(data))
	var r io.Reader
	var err error
	switch kind {
	case "brotliDecompress":
		r = brotli.NewReader(src)
	case "gunzip":
		r, err = gzip.NewReader(src)
	case "inflate":
		r, err = zlib.NewReader(src)
	default:
		r = flate.NewReader(src)
	}
	if err != nil {
		return nil, zlibReadError(err)
	}
	var out bytes.Buffer
	n, err := io.Copy(&out, io.LimitReader(r, limit+1))
	if err != nil {
		return nil, zlibReadError(err)
	}
	if n > limit {
		return nil, tooLarge(limit)
	}
	return out.Bytes(), nil
}

// zlibReadError maps a Go decompression error to Node's.
func zlibReadError(err error) *zlibError {
	if name, ok := strings.CutPrefix(err.Error(), "brotli: "); ok {
		// Node names brotli's decoder errors after the C library's
		// (BROTLI_DECODER_ERROR_FORMAT_PADDING_1 → ERR__ERROR_FORMAT_PADDING_1).
		code := "ERR__ERROR_FORMAT_" + strings.ToUpper(strings.ReplaceAll(name, " ", "_"))
		errno := zDataError
		if v := reflect.ValueOf(err); v.CanInt() {
			errno = int(v.Int()) // the decoder's error code, as Node's errno
		}
		return &zlibError{code: code, errno: errno, msg: "Decompression failed"}
	}
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return &zlibError{code: "Z_BUF_ERROR", errno: zBufError, msg: "unexpected end of file"}
	case errors.Is(err, gzip.ErrHeader), errors.Is(err, zlib.ErrHeader):
		return &zlibError{code: "Z_DATA_ERROR", errno: zDataError, msg: "incorrect header check"}
	case errors.Is(err, gzip.ErrChecksum), errors.Is(err, zlib.ErrChecksum):
		return &zlibError{code: "Z_DATA_ERROR", errno: zDataError, msg: "incorrect data check"}
	}
	return &zlibError{code: "Z_DATA_ERROR", errno: zDataError, msg: "invalid stored block lengths: " + err.Error()}
}

// zlibStream is the state of one stream class instance.
type zlibStream struct {
	kind  string
	out   bytes.Buffer   // compressed output not yet handed out
	w     io.WriteCloser // compressors
	in    []byte         // decompressors: the input so far
	ended bool
}

func installZlibStreams(vm *goja.Runtime, natives *goja.Object, e *subtleEnv, bytesArg func(goja.Value) []byte, throw func(*zlibError)) error {
	state := func(v goja.Value) *zlibStream {
		s, ok := v.Export().(*zlibStream)
		if !ok || s == nil {
			panic(vm.NewTypeError("expected a zlib stream handle"))
		}
		if s.ended {
			throw(&zlibError{code: "ERR_STREAM_WRITE_AFTER_END", msg: "write after end"})
		}
		return s
	}
	take := func(s *zlibStream) goja.Value {
		b := bytes.Clone(s.out.Bytes())
		s.out.Reset()
		return e.buffer(b)
	}
	for name, fn := range map[string]func(goja.FunctionCall) goja.Value{
		"zlibStreamNew": func(c goja.FunctionCall) goja.Value {
			s := &zlibStream{kind: c.Argument(0).String()}
			level, lerr := zlibLevel(s.kind, c.Argument(1))
			if lerr != nil {
				throw(lerr)
			}
			var err error
			switch s.kind {
			case "gzip":
				s.w, err = gzip.NewWriterLevel(&s.out, level)
			case "deflate":
				s.w, err = zlib.NewWriterLevel(&s.out, level)
			case "deflateRaw":
				s.w, err = flate.NewWriter(&s.out, level)
			case "brotliCompress":
				s.w = brotli.NewWriterLevel(&s.out, level)
			case "gunzip", "inflate", "inflateRaw", "unzip", "brotliDecompress":
			default:
				panic(vm.NewTypeError("unknown zlib mode " + s.kind))
			}
			if err != nil {
				throw(&zlibError{code: "ERR_OUT_OF_RANGE", msg: fmt.Sprintf(`The value of "options.level" is out of range. It must be >= -1 and <= 9. Received %d`, level), rng: true})
			}
			return vm.ToValue(s)
		},
		"zlibStreamWrite": func(c goja.FunctionCall) goja.Value {
			s := state(c.Argument(0))
			data := bytesArg(c.Argument(1))
			if s.w == nil {
				s.in = append(s.in, data...)
				return e.buffer(nil)
			}
			_, _ = s.w.Write(data)
			return take(s)
		},
		"zlibStreamEnd": func(c goja.FunctionCall) goja.Value {
			s := state(c.Argument(0))
			s.ended = true
			if s.w != nil {
				_ = s.w.Close()
				return take(s)
			}
			limit := int64(1<<53 - 1)
			if v := c.Argument(1); !goja.IsUndefined(v) && !goja.IsNull(v) {
				limit = v.ToInteger()
			}
			out, err := inflate(s.kind, s.in, limit)
			s.in = nil
			if err != nil {
				throw(err)
			}
			return e.buffer(out)
		},
	} {
		if err := natives.Set(name, fn); err != nil {
			return err
		}
	}
	return nil
}
