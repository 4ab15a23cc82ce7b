package webapi

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"

	"github.com/dop251/goja"
)

// InstallStreams defines on natives the Go halves of the byte-transforming
// streams (the stream classes are jsrt's prelude/20_streams.js):
//
//	transferBuffer(ab) ArrayBuffer  moves ab's bytes to a new buffer, detaching ab
//	bufferDetached(ab) bool   whether ab is detached
//	digestStream(hash) {update(data), finish() ArrayBuffer}
//	                          crypto.DigestStream: SHA-1, SHA-256, SHA-384, SHA-512, MD5
//	compressor(format, decompress) {push(data) ArrayBuffer, finish() ArrayBuffer}
//	                          CompressionStream/DecompressionStream: "gzip",
//	                          "deflate" (zlib) and "deflate-raw"
//
// push returns what the data produced so far (maybe nothing); finish ends
// the stream and returns the rest. A corrupt or truncated compressed input
// throws a TypeError.
func InstallStreams(vm *goja.Runtime, natives *goja.Object) error {
	// transferBuffer(ab) moves ab's bytes to a new ArrayBuffer and detaches
	// ab (the streams spec's TransferArrayBuffer: BYOB reads and byte
	// chunks), without copying; bufferDetached(ab) says whether ab is.
	if err := natives.Set("transferBuffer", func(ab goja.ArrayBuffer) goja.Value {
		if ab.Detached() {
			panic(vm.NewTypeError("transfer: the ArrayBuffer is detached"))
		}
		b := ab.Bytes()
		ab.Detach()
		return vm.ToValue(vm.NewArrayBuffer(b))
	}); err != nil {
		return err
	}
	if err := natives.Set("bufferDetached", func(ab goja.ArrayBuffer) bool { return ab.Detached() }); err != nil {
		return err
	}
	if err := natives.Set("digestStream", func(alg string) *goja.Object {
		newHash, ok := hashes[strings.ToUpper(alg)]
		if !ok {
			panic(domException(vm, "Unrecognized or unimplemented hash algorithm: "+alg, "NotSupportedError"))
		}
		h := newHash()
		obj := vm.NewObject()
		_ = obj.Set("update", func(data goja.Value) { h.Write(ViewBytes(vm, data)) })
		_ = obj.Set("finish", func() goja.Value { return vm.ToValue(vm.NewArrayBuffer(h.Sum(nil))) })
		return obj
	}); err != nil {
		return err
	}
	return natives.Set("compressor", func(format string, decompress bool) *goja.Object {
		var c codec
		var err error
		if decompress {
			c, err = newInflater(format)
		} else {
			c, err = newDeflater(format)
		}
		if err != nil {
			panic(vm.NewTypeError(err.Error()))
		}
		result := func(b []byte, err error) goja.Value {
			if err != nil {
				panic(vm.NewTypeError(err.Error()))
			}
			return vm.ToValue(vm.NewArrayBuffer(b))
		}
		obj := vm.NewObject()
		_ = obj.Set("push", func(data goja.Value) goja.Value { return result(c.push(bytes.Clone(ViewBytes(vm, data)))) })
		_ = obj.Set("finish", func() goja.Value { return result(c.finish()) })
		return obj
	})
}

// codec compresses or decompresses a stream given in chunks.
type codec interface {
	push(data []byte) ([]byte, error) // what data produced so far
	finish() ([]byte, error)          // the rest, at the end of the input
}

// errFormat is the TypeError text for an unknown compression format.
func errFormat(format string) error {
	return fmt.Errorf("The compression format must be either 'deflate', 'deflate-raw' or 'gzip', got %q.", format)
}

// deflater compresses: the writer appends to out, which push and finish
// hand over.
type deflater struct {
	w   io.WriteCloser
	out bytes.Buffer
}

func newDeflater(format string) (*deflater, error) {
	d := &deflater{}
	var err error
	switch format {
	case "gzip":
		d.w = gzip.NewWriter(&d.out)
	case "deflate":
		d.w = zlib.NewWriter(&d.out)
	case "deflate-raw":
		d.w, err = flate.NewWriter(&d.out, flate.DefaultCompression)
	default:
		return nil, errFormat(format)
	}
	return d, err
}

func (d *deflater) take() []byte {
	b := bytes.Clone(d.out.Bytes())
	d.out.Reset()
	return b
}

func (d *deflater) push(data []byte) ([]byte, error) {
	if _, err := d.w.Write(data); err != nil {
		return nil, err
	}
	return d.take(), nil
}

func (d *deflater) finish() ([]byte, error) {
	if err := d.w.Close(); err != nil {
		return nil, err
	}
	return d.take(), nil
}

// inflater decompresses. Go's decompressors pull their input, so one runs
// on a goroutine of its own reading from feed; push hands it a chunk and
// waits until it asks for the next one (it has produced all it can) or
// ends. Only one side runs at a time, so out needs no lock.
type inflater struct{ s *inflateState }

// inflateState is what the goroutine uses; the inflater the script holds
// is apart, so that dropping it (a stream abandoned mid-way) lets a
// cleanup stop the goroutine.
type inflateState struct {
	in      chan []byte   // chunks for the goroutine; closed at the end of input
	need    chan struct{} // the goroutine wants the next chunk
	done    chan struct{} // the goroutine has ended; err says how
	quit    chan struct{} // closed when the inflater is garbage
	wanting bool          // a need was received and not yet answered
	out     bytes.Buffer
	err     error
}

func newInflater(format string) (*inflater, error) {
	var open func(io.Reader) (io.ReadCloser, error)
	switch format {
	case "gzip":
		open = func(r io.Reader) (io.ReadCloser, error) { return gzip.NewReader(r) }
	case "deflate":
		open = zlib.NewReader
	case "deflate-raw":
		open = func(r io.Reader) (io.ReadCloser, error) { return flate.NewReader(r), nil }
	default:
		return nil, errFormat(format)
	}
	s := &inflateState{in: make(chan []byte), need: make(chan struct{}), done: make(chan struct{}), quit: make(chan struct{})}
	go s.run(open)
	inf := &inflater{s}
	runtime.AddCleanup(inf, func(quit chan struct{}) { close(quit) }, s.quit)
	return inf, nil
}

// errQuit ends the goroutine of an abandoned inflater.
var errQuit = errors.New("decompression abandoned")

func (s *inflateState) run(open func(io.Reader) (io.ReadCloser, error)) {
	defer close(s.done)
	feed := &feeder{s: s}
	r, err := open(feed)
	if err == nil {
		// Plain Writes (no ReadFrom): out is emptied between them by take,
		// which a ReadFrom holding the buffer's slice would undo.
		_, err = io.Copy(struct{ io.Writer }{&s.out}, struct{ io.Reader }{r})
	}
	if err == nil && (len(feed.cur) > 0 || feed.more()) {
		err = errors.New("Trailing bytes after end of compressed data")
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		err = errors.New("Unexpected end of compressed data")
	}
	if err != nil && !errors.Is(err, errQuit) {
		s.err = fmt.Errorf("Decompression failed: %w", err)
	}
}

// feeder is the decompressor's input: the chunks push hands over.
type feeder struct {
	s   *inflateState
	cur []byte
	eof bool
}

func (f *feeder) Read(p []byte) (int, error) {
	for len(f.cur) == 0 {
		if f.eof || !f.more() {
			return 0, io.EOF
		}
	}
	n := copy(p, f.cur)
	f.cur = f.cur[n:]
	return n, nil
}

// ReadByte makes feeder a flate.Reader, which the decompressors read
// without a buffer of their own: bytes after the end of the compressed
// data stay here, where run finds them.
func (f *feeder) ReadByte() (byte, error) {
	for len(f.cur) == 0 {
		if f.eof || !f.more() {
			return 0, io.EOF
		}
	}
	b := f.cur[0]
	f.cur = f.cur[1:]
	return b, nil
}

// more asks for the next chunk; false at the end of the input.
func (f *feeder) more() bool {
	if f.eof {
		return false
	}
	select {
	case f.s.need <- struct{}{}:
	case <-f.s.quit:
		f.eof = true
		return false
	}
	select {
	case b, ok := <-f.s.in:
		f.cur, f.eof = b, !ok
		return ok
	case <-f.s.quit:
		f.eof = true
		return false
	}
}

// wait waits until the goroutine wants input or has ended; false if ended.
func (s *inflateState) wait() bool {
	if s.wanting {
		return true
	}
	select {
	case <-s.need:
		s.wanting = true
		return true
	case <-s.done:
		return false
	}
}

func (s *inflateState) take() ([]byte, error) {
	b := bytes.Clone(s.out.Bytes())
	s.out.Reset()
	return b, s.err
}

func (i *inflater) push(data []byte) ([]byte, error) {
	s := i.s
	if len(data) == 0 {
		return nil, nil
	}
	if !s.wait() {
		if s.err == nil {
			s.err = errors.New("Decompression failed: Trailing bytes after end of compressed data")
		}
		return s.take()
	}
	s.wanting = false
	s.in <- data
	s.wait()
	return s.take()
}

func (i *inflater) finish() ([]byte, error) {
	s := i.s
	if s.wait() {
		s.wanting = false
		close(s.in)
		<-s.done
	}
	return s.take()
}
