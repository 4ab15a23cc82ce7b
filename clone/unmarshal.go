package clone

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"time"
)

// Unmarshal decodes b, written by Marshal or by cairn's JS runtime, into
// the Go value standing for the JS value:
//
//	undefined                  Undefined
//	null                       nil
//	boolean                    bool
//	number                     float64
//	BigInt                     *big.Int
//	string                     string: UTF-8, except that a lone surrogate is
//	                           kept in WTF-8 (its 3-byte generalized UTF-8
//	                           form, not valid UTF-8), so it round-trips
//	Date                       time.Time in UTC, or InvalidDate if its time
//	                           is NaN
//	RegExp                     RegExp
//	object                     map[string]any
//	array                      []any (holes are Undefined)
//	Map                        Map
//	Set                        Set
//	ArrayBuffer                []byte
//	typed array, DataView      View
//	Error                      *Error
//	String, Number, Boolean    Wrapper
//	  or BigInt object
//
// Back-references are resolved, cycles included: an object, array, Map,
// Set or ArrayBuffer read twice is the same Go map, slice or backing array
// (a cyclic value holds itself), an Error the same *Error. A reference to
// a Date, RegExp, view or wrapper, which have no identity in Go, is a copy.
// Slices are returned with a capacity even when empty, so that Marshal
// writes the result with the same sharing.
// The []byte of an ArrayBuffer and the Buffer of a View are copies of b's
// bytes, shared by the views of one buffer.
//
// Unmarshal never panics. Input it cannot have come from an encoder
// (truncated, an unknown tag, a length beyond the input, a reference to an
// object not yet complete, nesting deeper than MaxDepth, a view that does
// not fit its buffer, trailing bytes) is an error wrapping ErrCorrupt. A
// capability ('X', a function or RpcTarget passed by reference in an RPC
// payload) or a platform object ('H', a Request, Response, Headers or URL
// in an RPC payload) is an error too: only a JS runtime can stand for it.
func Unmarshal(b []byte) (any, error) {
	r, err := NewReader(b)
	if err != nil {
		return nil, fmt.Errorf("clone: bad version byte: %w", err)
	}
	d := &decoder{r: r}
	v, err := d.item(0)
	if err != nil {
		return nil, err
	}
	if r.Len() != 0 {
		return nil, d.corrupt(fmt.Sprintf("%d bytes after the value", r.Len()))
	}
	return v, nil
}

type decoder struct {
	r    *Reader
	objs []any // numbered objects; incomplete{} while being read
}

// incomplete marks an object that cannot be referred to yet (a view whose
// buffer, or a wrapper whose primitive, is being read).
type incomplete struct{}

// corrupt reports input the encoders do not write, at the read position.
func (d *decoder) corrupt(what string) error {
	return fmt.Errorf("clone: %s at byte %d: %w", what, d.r.Offset(), ErrCorrupt)
}

// failed adds the read position to err, an error from the Reader.
func (d *decoder) failed(err error, reading string) error {
	return fmt.Errorf("clone: reading %s at byte %d: %w", reading, d.r.Offset(), err)
}

func (d *decoder) register(v any) int {
	d.objs = append(d.objs, v)
	return len(d.objs) - 1
}

func (d *decoder) item(depth int) (any, error) {
	if depth > MaxDepth {
		return nil, d.corrupt("value nested deeper than MaxDepth")
	}
	r := d.r
	tag, err := r.ReadByte()
	if err != nil {
		return nil, d.failed(err, "a tag")
	}
	switch tag {
	case TagUndefined:
		return Undefined{}, nil
	case TagNull:
		return nil, nil
	case TagTrue:
		return true, nil
	case TagFalse:
		return false, nil
	case TagInt:
		n, err := r.Varint()
		if err != nil {
			return nil, d.failed(err, "an integer")
		}
		return float64(n), nil
	case TagFloat:
		f, err := r.Float64()
		if err != nil {
			return nil, d.failed(err, "a number")
		}
		return f, nil
	case TagBigInt:
		x, err := r.BigInt()
		if err != nil {
			return nil, d.failed(err, "a BigInt")
		}
		return x, nil
	case TagString:
		s, err := r.Str()
		if err != nil {
			return nil, d.failed(err, "a string")
		}
		return s, nil
	case TagUTF16:
		units, err := r.UTF16()
		if err != nil {
			return nil, d.failed(err, "a UTF-16 string")
		}
		return wtf8(units), nil
	case TagRef:
		k, err := r.Uvarint()
		if err != nil {
			return nil, d.failed(err, "a back-reference")
		}
		if k >= uint64(len(d.objs)) {
			return nil, d.corrupt(fmt.Sprintf("back-reference to object %d of %d", k, len(d.objs)))
		}
		if _, ok := d.objs[k].(incomplete); ok {
			return nil, d.corrupt(fmt.Sprintf("back-reference to incomplete object %d", k))
		}
		return d.objs[k], nil
	case TagDate:
		f, err := r.Float64()
		if err != nil {
			return nil, d.failed(err, "a Date")
		}
		v := date(f)
		d.register(v)
		return v, nil
	case TagRegExp:
		src, err := r.Str()
		if err != nil {
			return nil, d.failed(err, "a RegExp")
		}
		flags, err := r.Str()
		if err != nil {
			return nil, d.failed(err, "a RegExp")
		}
		v := RegExp{Source: src, Flags: flags}
		d.register(v)
		return v, nil
	case TagObject:
		n, err := r.Count()
		if err != nil {
			return nil, d.failed(err, "an object")
		}
		m := make(map[string]any, n)
		d.register(m)
		for range n {
			k, err := r.Str()
			if err != nil {
				return nil, d.failed(err, "a key")
			}
			if m[k], err = d.item(depth + 1); err != nil {
				return nil, err
			}
		}
		return m, nil
	case TagArray, TagSet:
		n, err := r.Count()
		if err != nil {
			return nil, d.failed(err, "an array")
		}
		a := make([]any, n, max(n, 1)) // never empty-capacity: see identity in Marshal
		var v any = a
		if tag == TagSet {
			v = Set(a)
		}
		d.register(v)
		for i := range a {
			if a[i], err = d.item(depth + 1); err != nil {
				return nil, err
			}
		}
		return v, nil
	case TagMap:
		n, err := r.Count()
		if err != nil {
			return nil, d.failed(err, "a Map")
		}
		m := make(Map, n, max(n, 1))
		d.register(m)
		for i := range m {
			if m[i].Key, err = d.item(depth + 1); err != nil {
				return nil, err
			}
			if m[i].Value, err = d.item(depth + 1); err != nil {
				return nil, err
			}
		}
		return m, nil
	case TagArrayBuffer:
		b, err := r.Bin()
		if err != nil {
			return nil, d.failed(err, "an ArrayBuffer")
		}
		buf := make([]byte, len(b), max(len(b), 1))
		copy(buf, b)
		d.register(buf)
		return buf, nil
	case TagView:
		return d.view(depth)
	case TagError:
		var parts [3]string
		for i := range parts {
			if parts[i], err = r.Str(); err != nil {
				return nil, d.failed(err, "an Error")
			}
		}
		v := &Error{Name: parts[0], Message: parts[1], Stack: parts[2]}
		d.register(v)
		return v, nil
	case TagWrapper:
		slot := d.register(incomplete{})
		prim, err := d.item(depth + 1)
		if err != nil {
			return nil, err
		}
		switch prim.(type) {
		case bool, float64, string, *big.Int:
		default:
			return nil, d.corrupt(fmt.Sprintf("wrapper of %T", prim))
		}
		v := Wrapper{Value: prim}
		d.objs[slot] = v
		return v, nil
	case TagCapability:
		return nil, fmt.Errorf("clone: byte %d: %w", r.Offset()-1, errCapability)
	case TagHost:
		return nil, fmt.Errorf("clone: byte %d: %w", r.Offset()-1, errHost)
	}
	return nil, fmt.Errorf("clone: unknown tag %q at byte %d: %w", tag, r.Offset()-1, ErrCorrupt)
}

var errHost = errors.New("a platform object passed over RPC (Request, Response, Headers, URL) has no Go value")

var errCapability = errors.New("a function or RpcTarget passed by reference (an RPC capability) has no Go value")

func (d *decoder) view(depth int) (any, error) {
	r := d.r
	typ, err := r.Str()
	if err != nil {
		return nil, d.failed(err, "a view")
	}
	size := ViewElemSize(typ)
	if size == 0 {
		return nil, d.corrupt(fmt.Sprintf("unknown view type %q", typ))
	}
	slot := d.register(incomplete{})
	bv, err := d.item(depth + 1)
	if err != nil {
		return nil, err
	}
	buf, ok := bv.([]byte)
	if !ok {
		return nil, d.corrupt(fmt.Sprintf("%s over %T, not an ArrayBuffer", typ, bv))
	}
	off, err := r.Uvarint()
	if err != nil {
		return nil, d.failed(err, "a view offset")
	}
	n, err := r.Uvarint()
	if err != nil {
		return nil, d.failed(err, "a view length")
	}
	if off%uint64(size) != 0 || off > uint64(len(buf)) || n > (uint64(len(buf))-off)/uint64(size) {
		return nil, d.corrupt(fmt.Sprintf("%s of offset %d and length %d past its %d-byte buffer", typ, off, n, len(buf)))
	}
	v := View{Type: typ, Buffer: buf, Offset: int(off), Length: int(n)}
	d.objs[slot] = v
	return v, nil
}

// date returns the Date of time value ms, clipped as JS's TimeClip does.
func date(ms float64) any {
	if math.IsNaN(ms) || math.Abs(ms) > maxDateMs {
		return InvalidDate{}
	}
	return time.UnixMilli(int64(ms)).UTC()
}
