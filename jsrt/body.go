package jsrt

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/dop251/goja"

	"github.com/cairn-dev/cairn/jsrt/webapi"
)

// Bodies stream between Go and JS in both directions, one chunk at a time
// and only as fast as the reader asks, so a body's size never decides how
// much memory it holds:
//
//   - Go → JS: a bodySource is a Go body (an incoming request's, the
//     response of a fetch or a stub.fetch) that JS pulls with
//     __cairn.bodyRead, one read of at most chunkSize off the loop per pull
//     of its ReadableStream (prelude/30_fetch.js sourceStream).
//   - JS → Go: a streamReader is an io.ReadCloser over a JS ReadableStream
//     (a Worker's response body, the body of an outgoing fetch): each Read
//     asks the loop for the stream's next chunk.
//
// A stream that came from Go and was not touched by JS goes back to Go as
// the Go body itself (wire field "source"), so `return stub.fetch(req)` or
// `fetch(url, {body: request.body})` copies nothing through JS. Bodies held
// as bytes (wire field "body") stay bytes: memBody.

// chunkSize is the most a bodySource reads for one chunk.
const chunkSize = 64 << 10

// ErrBodyTooLarge is the error of a request whose body is over the Worker's
// limit (Config.MaxBodySize); ServeHTTP answers 413.
var ErrBodyTooLarge = errors.New("request body too large")

// ErrBodiesBusy is the error of a request body read whole (text(), json(),
// arrayBuffer(), …) while the bodies held that way by the Worker's requests
// in flight would pass Config.MaxBodiesInFlight; ServeHTTP answers 503
// with Retry-After, as a load-shedding proxy does. Streamed bodies hold
// only their chunks and are not counted.
var ErrBodiesBusy = errors.New("request bodies in flight over the Worker's total limit")

// DefaultMaxBodiesInFlight is the default of Config.MaxBodiesInFlight.
const DefaultMaxBodiesInFlight = 1 << 30

// bodyBudget bounds, across requests, the bytes of request bodies read
// whole and held until their requests end (Config.MaxBodiesInFlight).
type bodyBudget struct {
	limit int64
	used  atomic.Int64
}

// take reserves n bytes, or reports that they would pass the limit.
func (b *bodyBudget) take(n int64) bool {
	if b.used.Add(n) > b.limit {
		b.used.Add(-n)
		return false
	}
	return true
}

// give returns n reserved bytes.
func (b *bodyBudget) give(n int64) { b.used.Add(-n) }

// bodyReserver is a request body that charges what is read of it whole to
// its Worker's bodyBudget (limitedBody).
type bodyReserver interface {
	reserve(n int64) error
}

// reservingReader charges each read to a bodyReserver: a body of unknown
// length read whole.
type reservingReader struct {
	r   io.Reader
	res bodyReserver
}

func (rr *reservingReader) Read(p []byte) (int, error) {
	n, err := rr.r.Read(p)
	if n > 0 {
		if rerr := rr.res.reserve(int64(n)); rerr != nil {
			return n, rerr
		}
	}
	return n, err
}

// errStreamsEnded ends the streams of a Worker that is closing or being
// replaced (reload): a response that never ends must not hold the swap.
var errStreamsEnded = errors.New("the Worker is shutting down")

// errRuntimeReset fails the streams of a runtime reset by the CPU limit.
var errRuntimeReset = errors.New("the stream's runtime was reset")

// memBody is a body held in memory: bytes converted from the JS wire, which
// a runtime receiving it turns back into bytes without streaming.
type memBody struct {
	*bytes.Reader
	b []byte
}

func newMemBody(b []byte) *memBody { return &memBody{bytes.NewReader(b), b} }

// Close does nothing: the bytes are garbage once dropped.
func (*memBody) Close() error { return nil }

// untouched returns the bytes if nothing has been read yet.
func (m *memBody) untouched() ([]byte, bool) {
	return m.b, m.Len() == len(m.b)
}

// bodySource is a Go body JS reads (see above). Its fields are used on the
// loop, except r, read off the loop by one read at a time.
type bodySource struct {
	r      io.ReadCloser
	length int64 // total length if known, else -1
	eof    bool  // r is exhausted: the next read resolves null at once
	taken  bool  // handed back to Go as a whole (wire "source")
}

// newSource wraps body for JS; length is its size if known (else -1).
func (rt *runtime) newSource(body io.ReadCloser, length int64) goja.Value {
	return rt.vm.ToValue(&bodySource{r: body, length: length})
}

// sourceOf returns the bodySource a wire field holds, or nil.
func sourceOf(v goja.Value) *bodySource {
	if v == nil || goja.IsUndefined(v) || goja.IsNull(v) {
		return nil
	}
	src, _ := v.Export().(*bodySource)
	return src
}

// installBodies defines __cairn.bodyRead(src) Promise<ArrayBuffer|null>
// and __cairn.bodyCancel(src), the Go side of a stream made from a Go body.
func (rt *runtime) installBodies() error {
	if err := webapi.InstallStreams(rt.vm, rt.natives); err != nil {
		return err
	}
	if err := rt.natives.Set("bodyRead", func(v goja.Value) goja.Value {
		src := sourceOf(v)
		if src == nil || src.taken {
			panic(rt.vm.NewTypeError("bodyRead: not a readable body"))
		}
		if src.eof {
			p, resolve, _ := rt.vm.NewPromise()
			_ = resolve(goja.Null())
			return rt.vm.ToValue(p)
		}
		return rt.offLoop(false, func(context.Context) func(*settler) {
			buf := make([]byte, chunkSize)
			n, err := readSome(src.r, buf)
			if n < len(buf)/2 { // do not pin 64 KiB for an SSE line
				buf = bytes.Clone(buf[:n])
			}
			buf = buf[:n]
			return func(s *settler) {
				if s == nil {
					_ = src.r.Close()
					return
				}
				if err == io.EOF || (src.length >= 0 && n == 0 && err == nil) {
					src.eof = true
				}
				switch {
				case n > 0:
					_ = s.resolve(rt.vm.NewArrayBuffer(buf))
				case err == nil || err == io.EOF:
					_ = s.resolve(goja.Null())
				default:
					_ = s.reject(rt.errorValue(bodyError(err)))
				}
			}
		})
	}); err != nil {
		return err
	}
	// bodyReadAll(src) reads the rest of a Go body at once, off the loop:
	// text(), json() and arrayBuffer() of an untouched body need no trip
	// through the loop per chunk, nor a concatenation in JS.
	if err := rt.natives.Set("bodyReadAll", func(v goja.Value) goja.Value {
		src := sourceOf(v)
		if src == nil || src.taken {
			panic(rt.vm.NewTypeError("bodyReadAll: not a readable body"))
		}
		src.taken = true
		return rt.offLoop(false, func(context.Context) func(*settler) {
			// A request body read whole counts against the Worker's
			// total (Config.MaxBodiesInFlight) until its request ends.
			var r io.Reader = src.r
			var err error
			if res, ok := innerBody(src.r).(bodyReserver); ok {
				if src.length >= 0 {
					err = res.reserve(src.length)
				} else {
					r = &reservingReader{r: src.r, res: res}
				}
			}
			var b []byte
			if err == nil {
				b, err = readAll(r, src.length)
			}
			_ = src.r.Close()
			return func(s *settler) {
				switch {
				case s == nil:
				case err != nil:
					_ = s.reject(rt.errorValue(bodyError(err)))
				default:
					_ = s.resolve(rt.vm.NewArrayBuffer(b))
				}
			}
		})
	}); err != nil {
		return err
	}
	// concatBytes(chunks) joins Uint8Arrays into one ArrayBuffer (in Go: a
	// TypedArray.set in goja copies element by element).
	if err := rt.natives.Set("concatBytes", func(chunks []goja.Value) goja.Value {
		var n int
		parts := make([][]byte, len(chunks))
		for i, c := range chunks {
			parts[i] = webapi.ViewBytes(rt.vm, c)
			n += len(parts[i])
		}
		out := make([]byte, 0, n)
		for _, p := range parts {
			out = append(out, p...)
		}
		return rt.vm.ToValue(rt.vm.NewArrayBuffer(out))
	}); err != nil {
		return err
	}
	return rt.natives.Set("bodyCancel", func(v goja.Value) {
		if src := sourceOf(v); src != nil && !src.taken {
			src.eof = true
			go src.r.Close() // may wait for a read in flight; not on the loop
		}
	})
}

// readAll reads r to its end; length, if known (≥ 0), sizes the buffer
// once instead of growing it by doubling.
func readAll(r io.Reader, length int64) ([]byte, error) {
	if length < 0 || length > 1<<30 {
		return io.ReadAll(r)
	}
	buf := make([]byte, length)
	if n, err := io.ReadFull(r, buf); err != nil {
		if err == io.EOF { // shorter than announced
			err = io.ErrUnexpectedEOF
		}
		return buf[:n], err
	}
	rest, err := io.ReadAll(r) // normally nothing
	if len(rest) > 0 {
		buf = append(buf, rest...)
	}
	return buf, err
}

// readSome reads at least one byte into buf, or fails, or reports EOF.
func readSome(r io.Reader, buf []byte) (int, error) {
	for {
		n, err := r.Read(buf)
		if n > 0 || err != nil {
			if err == io.EOF && n > 0 {
				return n, io.EOF
			}
			return n, err
		}
	}
}

// bodyError names what went wrong reading a Go body.
func bodyError(err error) error {
	if errors.Is(err, ErrBodiesBusy) {
		return err
	}
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return fmt.Errorf("%w: the body is larger than the limit of %d bytes", ErrBodyTooLarge, tooLarge.Limit)
	}
	return fmt.Errorf("reading the body failed: %w", err)
}

// wireBody returns the Go body of a request or response wire: its bytes, the
// Go body it came from, or a reader of its JS stream; and its length if
// known (-1 if not). owner, if set, is the object whose output gate each
// chunk of a JS stream passes.
func (rt *runtime) wireBody(obj *goja.Object, owner *instance) (io.ReadCloser, int64) {
	if src := sourceOf(obj.Get("source")); src != nil && !src.taken {
		src.taken = true
		return src.r, src.length
	}
	if s, ok := obj.Get("stream").(*goja.Object); ok {
		n := int64(-1) // a FixedLengthStream's is known
		if v := obj.Get("length"); v != nil && !goja.IsUndefined(v) {
			n = v.ToInteger()
		}
		return rt.newStreamReader(s, owner), n
	}
	if b := bufferBytes(obj.Get("body")); b != nil {
		return newMemBody(b), int64(len(b))
	}
	return nil, 0
}

// chunk is one answer to a streamReader's request for data.
type chunk struct {
	b   []byte // nil with err == nil: the end
	err error
}

// streamReader reads a JS ReadableStream from Go (see above). Read and
// Close may be called from any goroutine but the runtime's loop.
type streamReader struct {
	rt     *runtime
	vm     *goja.Runtime // the engine the stream lives in
	handle *goja.Object  // {read() Promise<Uint8Array|null>, cancel(reason)}: loop only
	cont   func(fn func()) func()
	owner  *instance

	buf    []byte // rest of the current chunk
	err    error  // sticky: io.EOF or why the stream failed
	res    chan chunk
	closed chan struct{}
	once   sync.Once
}

// newStreamReader makes a reader of handle (prelude goReader). Loop only.
func (rt *runtime) newStreamReader(handle *goja.Object, owner *instance) *streamReader {
	s := &streamReader{rt: rt, vm: rt.vm, handle: handle, cont: rt.continuation(), owner: owner,
		res: make(chan chunk, 1), closed: make(chan struct{})}
	rt.w.trackStream(s, true)
	return s
}

// Read returns the stream's bytes as JS enqueues them: it waits for the
// next chunk only when the last one has been read (backpressure).
func (s *streamReader) Read(p []byte) (int, error) {
	for len(s.buf) == 0 {
		if s.err != nil {
			return 0, s.err
		}
		if !s.rt.loop.Submit(s.cont(s.pull)) {
			s.err = ErrStopped
			break
		}
		select {
		case c := <-s.res:
			switch {
			case c.err != nil:
				s.err = c.err
			case c.b == nil:
				s.err = io.EOF
			default:
				s.buf = c.b
			}
		case <-s.closed:
			s.err = errors.New("read of a closed body")
		case <-s.rt.w.streamsEnded.Done():
			s.err = errStreamsEnded
		}
	}
	if len(s.buf) == 0 {
		s.rt.w.trackStream(s, false)
		return 0, s.err
	}
	n := copy(p, s.buf)
	s.buf = s.buf[n:]
	return n, nil
}

// pull asks the stream for its next chunk. Loop only.
func (s *streamReader) pull() {
	rt := s.rt
	if rt.vm != s.vm {
		s.send(chunk{err: errRuntimeReset})
		return
	}
	read, _ := goja.AssertFunction(s.handle.Get("read"))
	v, err := read(s.handle)
	if err != nil {
		s.send(chunk{err: jsError(err)})
		return
	}
	rt.await(v, func(v goja.Value) {
		c := chunk{}
		if !goja.IsNull(v) && !goja.IsUndefined(v) {
			// A copy: the chunk's buffer stays the script's to reuse.
			c.b = bytes.Clone(bufferBytes(v))
			if c.b == nil {
				c.b = []byte{}
			}
		}
		if s.owner == nil {
			s.send(c)
			return
		}
		// Output gate: the chunk leaves once the object's writes before it
		// are durable, as its response did.
		s.owner.gate.Hold(false, func(err error) {
			if err != nil {
				c = chunk{err: err}
			}
			s.send(c)
		})
	}, func(err error) { s.send(chunk{err: err}) })
}

// send answers the read waiting in Read. There is at most one; a reset
// may have answered it already.
func (s *streamReader) send(c chunk) {
	select {
	case s.res <- c:
	default:
	}
}

// Close cancels the stream if it was not read to its end: the client went
// away, or the consumer gave up.
func (s *streamReader) Close() error {
	s.once.Do(func() {
		close(s.closed)
		s.rt.w.trackStream(s, false)
		s.rt.loop.Submit(s.cont(func() {
			if s.rt.vm != s.vm {
				return
			}
			cancel, _ := goja.AssertFunction(s.handle.Get("cancel"))
			if _, err := cancel(s.handle, s.vm.NewTypeError("The client closed the connection.")); err != nil {
				s.rt.log.Debug("cancel response stream", "error", err)
			}
		}))
	})
	return nil
}

// trackStream adds (or removes) a stream reader of the Worker, so that a
// runtime reset can fail the ones whose stream it dropped.
func (w *Worker) trackStream(s *streamReader, add bool) {
	w.streamsMu.Lock()
	defer w.streamsMu.Unlock()
	if add {
		if w.streams == nil {
			w.streams = make(map[*streamReader]struct{})
		}
		w.streams[s] = struct{}{}
	} else {
		delete(w.streams, s)
	}
}

// failStreams fails the reads in progress of the streams of rt made by an
// engine it no longer runs (a reset dropped them).
func (w *Worker) failStreams(rt *runtime) {
	w.streamsMu.Lock()
	defer w.streamsMu.Unlock()
	for s := range w.streams {
		if s.rt == rt && s.vm != rt.vm {
			s.send(chunk{err: errRuntimeReset})
			delete(w.streams, s)
		}
	}
}

// EndStreams fails every response body still streaming from the Worker
// (their clients see a truncated body), so that replacing the Worker need
// not wait for a stream that never ends.
func (w *Worker) EndStreams() { w.endStreams() }
