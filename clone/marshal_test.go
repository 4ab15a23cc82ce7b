package clone

import (
	"bytes"
	"errors"
	"math"
	"math/big"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// equal reports whether two values Unmarshal could return are equal:
// numbers bit for bit (any NaN equals any NaN), times by Equal, cycles
// assumed equal where they close.
func equal(a, b any) bool {
	return (&comparer{seen: map[[2]uintptr]bool{}}).eq(a, b)
}

type comparer struct{ seen map[[2]uintptr]bool }

// again reports whether the containers a and b are already being compared.
func (c *comparer) again(a, b any) bool {
	k := [2]uintptr{reflect.ValueOf(a).Pointer(), reflect.ValueOf(b).Pointer()}
	if c.seen[k] {
		return true
	}
	c.seen[k] = true
	return false
}

func (c *comparer) eq(a, b any) bool {
	switch x := a.(type) {
	case float64:
		y, ok := b.(float64)
		return ok && (math.Float64bits(x) == math.Float64bits(y) || math.IsNaN(x) && math.IsNaN(y))
	case *big.Int:
		y, ok := b.(*big.Int)
		return ok && x.Cmp(y) == 0
	case time.Time:
		y, ok := b.(time.Time)
		return ok && x.Equal(y)
	case []byte:
		y, ok := b.([]byte)
		return ok && bytes.Equal(x, y)
	case View:
		y, ok := b.(View)
		return ok && x.Type == y.Type && x.Offset == y.Offset && x.Length == y.Length && bytes.Equal(x.Buffer, y.Buffer)
	case *Error:
		y, ok := b.(*Error)
		return ok && *x == *y
	case Wrapper:
		y, ok := b.(Wrapper)
		return ok && c.eq(x.Value, y.Value)
	case []any:
		y, ok := b.([]any)
		return ok && c.list(x, y)
	case Set:
		y, ok := b.(Set)
		return ok && c.list(x, y)
	case Map:
		y, ok := b.(Map)
		if !ok || len(x) != len(y) {
			return false
		}
		if c.again(x, y) {
			return true
		}
		for i := range x {
			if !c.eq(x[i].Key, y[i].Key) || !c.eq(x[i].Value, y[i].Value) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		if c.again(x, y) {
			return true
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !c.eq(v, w) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a, b)
}

func (c *comparer) list(x, y []any) bool {
	if len(x) != len(y) {
		return false
	}
	if c.again(x, y) {
		return true
	}
	for i := range x {
		if !c.eq(x[i], y[i]) {
			return false
		}
	}
	return true
}

// b builds encoded bytes: the version byte, then each part (a byte, a
// rune as one byte, or a string's bytes).
func b(parts ...any) []byte {
	out := []byte{Version}
	for _, p := range parts {
		switch p := p.(type) {
		case int:
			out = append(out, byte(p))
		case rune:
			out = append(out, byte(p))
		case byte:
			out = append(out, p)
		case string:
			out = append(out, p...)
		default:
			panic(p)
		}
	}
	return out
}

type myString string

func TestMarshal(t *testing.T) {
	shared := []any{1.0}
	cyclic := map[string]any{}
	cyclic["self"] = cyclic
	buf := make([]byte, 4)
	selfList := make([]any, 1)
	selfList[0] = selfList
	selfMap := make(Map, 1)
	selfMap[0] = Entry{Key: "m", Value: selfMap}
	e := &Error{Name: "Error", Message: "m"}
	emptyMap := map[string]any{}
	emptyList := make([]any, 0, 1)
	tests := []struct {
		name string
		v    any
		want []byte
	}{
		{"nil", nil, b('n')},
		{"undefined", Undefined{}, b('u')},
		{"true", true, b('t')},
		{"false", false, b('f')},
		{"integral float", 1.0, b('i', 2)},
		{"int", -3, b('i', 5)},
		{"uint8", uint8(7), b('i', 14)},
		{"int32", int32(-1), b('i', 1)},
		{"fraction", 1.5, b('d', 0, 0, 0, 0, 0, 0, 0xF8, 0x3F)},
		{"-0", math.Copysign(0, -1), b('d', 0, 0, 0, 0, 0, 0, 0, 0x80)},
		{"2^53", float64(1 << 53), b('d', 0, 0, 0, 0, 0, 0, 0x40, 0x43)},
		{"int 2^60", int64(1 << 60), b('d', 0, 0, 0, 0, 0, 0, 0xB0, 0x43)},
		{"float32", float32(0.5), b('d', 0, 0, 0, 0, 0, 0, 0xE0, 0x3F)},
		{"+Inf", math.Inf(1), b('d', 0, 0, 0, 0, 0, 0, 0xF0, 0x7F)},
		{"string", "hi", b('s', 2, "hi")},
		{"named string", myString("x"), b('s', 1, "x")},
		{"lone surrogate", "\xed\xa0\x80", b('w', 1, 0x00, 0xD8)},
		{"wtf-8 pair", "\xed\xa0\xbd\xed\xb8\x80", b('s', 4, "\U0001F600")},
		{"invalid byte", "a\xffb", b('s', 5, "a\uFFFDb")},
		{"bigint", big.NewInt(5), b('g', 0, 1, 5)},
		{"negative bigint", big.NewInt(-258), b('g', 1, 2, 1, 2)},
		{"nil bigint", (*big.Int)(nil), b('n')},
		{"date", time.UnixMilli(0), b('D', 0, 0, 0, 0, 0, 0, 0, 0)},
		{"date sub-ms", time.Unix(0, -1), b('D', 0, 0, 0, 0, 0, 0, 0xF0, 0xBF)},
		{"invalid date", InvalidDate{}, b('D', 1, 0, 0, 0, 0, 0, 0xF8, 0x7F)},
		{"arraybuffer", []byte{1, 2}, b('B', 2, 1, 2)},
		{"view", View{Type: "Uint8Array", Buffer: []byte{7}, Length: 1}, b('V', 10, "Uint8Array", 'B', 1, 7, 0, 1)},
		{"array", []any{true, Undefined{}}, b('a', 2, 't', 'u')},
		{"nil slice", []any(nil), b('a', 0)},
		{"string slice", []string{"a"}, b('a', 1, 's', 1, "a")},
		{"object sorted", map[string]any{"b": nil, "a": 1}, b('o', 2, 1, "a", 'i', 2, 1, "b", 'n')},
		{"nil map", map[string]any(nil), b('o', 0)},
		{"typed map", map[string]int{"x": 1}, b('o', 1, 1, "x", 'i', 2)},
		{"invalid keys", map[string]any{"a\xff": 1, "a\xfe": 2, "b": 3}, b('o', 2, 4, "a\uFFFD", 'i', 2, 1, "b", 'i', 6)},
		{"map", Map{{"k", true}, {1, nil}}, b('M', 2, 's', 1, "k", 't', 'i', 2, 'n')},
		{"set", Set{"a"}, b('S', 1, 's', 1, "a")},
		{"error", &Error{Name: "TypeError", Message: "m", Stack: "s"}, b('E', 9, "TypeError", 1, "m", 1, "s")},
		{"error value", Error{Name: "Error"}, b('E', 5, "Error", 0, 0)},
		{"nil error", (*Error)(nil), b('n')},
		{"regexp", RegExp{Source: "a", Flags: "g"}, b('R', 1, "a", 1, "g")},
		{"wrapper", Wrapper{Value: "x"}, b('P', 's', 1, "x")},
		{"bigint wrapper", Wrapper{Value: big.NewInt(-2)}, b('P', 'g', 1, 1, 2)},
		{"shared", []any{shared, shared}, b('a', 2, 'a', 1, 'i', 2, 'r', 1)},
		{"empty not shared", []any{[]any{}, []any{}, map[string]any(nil), map[string]any(nil)}, b('a', 4, 'a', 0, 'a', 0, 'o', 0, 'o', 0)},
		{"empty shared", []any{emptyMap, emptyMap, emptyList, emptyList}, b('a', 4, 'o', 0, 'r', 1, 'a', 0, 'r', 2)},
		{"shared error", []any{e, e}, b('a', 2, 'E', 5, "Error", 1, "m", 0, 'r', 1)},
		{"date after objects", []any{shared, time.UnixMilli(0), shared}, b('a', 3, 'a', 1, 'i', 2, 'D', 0, 0, 0, 0, 0, 0, 0, 0, 'r', 1)},
		{"cyclic object", cyclic, b('o', 1, 4, "self", 'r', 0)},
		{"cyclic array", selfList, b('a', 1, 'r', 0)},
		{"cyclic map", selfMap, b('M', 1, 's', 1, "m", 'r', 0)},
		{"shared buffer", []any{View{"Uint8Array", buf, 0, 2}, View{"Uint16Array", buf, 2, 1}},
			b('a', 2, 'V', 10, "Uint8Array", 'B', 4, 0, 0, 0, 0, 0, 2, 'V', 11, "Uint16Array", 'r', 2, 2, 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Marshal(tt.v)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tt.want) {
				t.Errorf("Marshal = % x\n     want % x", got, tt.want)
			}
		})
	}
}

func TestMarshalRejects(t *testing.T) {
	deep := any(nil)
	for range MaxDepth + 1 {
		deep = []any{deep}
	}
	x := 1
	tests := []struct {
		name string
		v    any
	}{
		{"func", func() {}},
		{"chan", make(chan int)},
		{"struct", struct{}{}},
		{"pointer", &x},
		{"int keys", map[int]any{1: 2}},
		{"array", [1]int{1}},
		{"inexact int", int64(1<<53 + 1)},
		{"inexact uint", uint64(math.MaxUint64)},
		{"max int64", int64(math.MaxInt64)},
		{"far date", time.Date(300000, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"far past", time.Date(-300000, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"unknown view", View{Type: "Float16Array", Buffer: make([]byte, 2), Length: 1}},
		{"misaligned view", View{Type: "Uint16Array", Buffer: make([]byte, 4), Offset: 1, Length: 1}},
		{"view past buffer", View{Type: "Uint32Array", Buffer: make([]byte, 4), Offset: 4, Length: 1}},
		{"negative view", View{Type: "DataView", Buffer: make([]byte, 4), Offset: -1}},
		{"wrapper of nil", Wrapper{}},
		{"wrapper of object", Wrapper{Value: []any{}}},
		{"nested func", map[string]any{"a": []any{func() {}}}},
		{"too deep", deep},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := Marshal(tt.v)
			var ce *CloneError
			if !errors.As(err, &ce) {
				t.Errorf("Marshal = % x, %v; want a *CloneError", out, err)
			}
		})
	}
}

func TestUnmarshal(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want any
	}{
		{"undefined", b('u'), Undefined{}},
		{"null", b('n'), nil},
		{"int", b('i', 5), -3.0},
		{"large int", b('i', 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01), float64(math.MinInt64)},
		{"float", b('d', 0, 0, 0, 0, 0, 0, 0xF8, 0x3F), 1.5},
		{"NaN", b('d', 1, 0, 0, 0, 0, 0, 0xF8, 0x7F), math.NaN()},
		{"bigint", b('g', 1, 1, 5), big.NewInt(-5)},
		{"bigint sign 2", b('g', 2, 1, 5), big.NewInt(5)},
		{"string", b('s', 3, "h\u00e9"), "h\u00e9"},
		{"lone surrogate", b('w', 3, 'a', 0, 0x00, 0xDC, 'b', 0), "a\xed\xb0\x80b"},
		{"utf16 pair", b('w', 2, 0x3D, 0xD8, 0x00, 0xDE), "\U0001F600"},
		{"date", b('D', 0, 0, 0, 0, 0, 0x40, 0x8F, 0x40), time.UnixMilli(1000).UTC()},
		{"date fraction", b('D', 0, 0, 0, 0, 0, 0, 0xF8, 0xBF), time.UnixMilli(-1).UTC()},
		{"NaN date", b('D', 1, 0, 0, 0, 0, 0, 0xF8, 0x7F), InvalidDate{}},
		{"date out of range", b('D', 0, 0, 0, 0, 0, 0, 0xF0, 0x7F), InvalidDate{}},
		{"regexp", b('R', 1, "a", 2, "gi"), RegExp{Source: "a", Flags: "gi"}},
		{"object", b('o', 2, 1, "b", 'n', 1, "a", 't'), map[string]any{"a": true, "b": nil}},
		{"duplicate key", b('o', 2, 1, "a", 'i', 2, 1, "a", 'i', 4), map[string]any{"a": 2.0}},
		{"array", b('a', 2, 'u', 'f'), []any{Undefined{}, false}},
		{"map", b('M', 1, 'o', 0, 'S', 0), Map{{map[string]any{}, Set{}}}},
		{"buffer", b('B', 2, 1, 2), []byte{1, 2}},
		{"view", b('V', 11, "Uint16Array", 'B', 4, 1, 2, 3, 4, 2, 1), View{"Uint16Array", []byte{1, 2, 3, 4}, 2, 1}},
		{"dataview", b('V', 8, "DataView", 'B', 3, 1, 2, 3, 1, 2), View{"DataView", []byte{1, 2, 3}, 1, 2}},
		{"error", b('E', 4, "MyEr", 1, "m", 0), &Error{Name: "MyEr", Message: "m"}},
		{"wrappers", b('a', 2, 'P', 't', 'P', 'i', 2), []any{Wrapper{true}, Wrapper{1.0}}},
		{"ref to date", b('a', 2, 'D', 0, 0, 0, 0, 0, 0, 0, 0, 'r', 1), []any{time.UnixMilli(0).UTC(), time.UnixMilli(0).UTC()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Unmarshal(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if !equal(got, tt.want) {
				t.Errorf("Unmarshal(% x) = %#v, want %#v", tt.in, got, tt.want)
			}
		})
	}
}

func TestUnmarshalShares(t *testing.T) {
	v, err := Unmarshal(b('o', 1, 4, "self", 'r', 0))
	if err != nil {
		t.Fatal(err)
	}
	m := v.(map[string]any)
	if reflect.ValueOf(m["self"]).Pointer() != reflect.ValueOf(m).Pointer() {
		t.Error("cyclic object: self is not the object")
	}

	v, err = Unmarshal(b('a', 2, 'a', 1, 'r', 1, 'r', 1))
	if err != nil {
		t.Fatal(err)
	}
	outer := v.([]any)
	inner := outer[0].([]any)
	if p := reflect.ValueOf(inner).Pointer(); reflect.ValueOf(outer[1]).Pointer() != p || reflect.ValueOf(inner[0]).Pointer() != p {
		t.Error("shared cyclic array read back unshared")
	}

	v, err = Unmarshal(b('M', 1, 'r', 0, 'S', 1, 'r', 1))
	if err != nil {
		t.Fatal(err)
	}
	mp := v.(Map)
	if reflect.ValueOf(mp[0].Key).Pointer() != reflect.ValueOf(mp).Pointer() {
		t.Error("Map key is not the Map")
	}
	set := mp[0].Value.(Set)
	if reflect.ValueOf(set[0]).Pointer() != reflect.ValueOf(set).Pointer() {
		t.Error("Set member is not the Set")
	}

	v, err = Unmarshal(b('a', 3, 'B', 2, 0, 0, 'V', 10, "Uint8Array", 'r', 1, 1, 1, 'r', 1))
	if err != nil {
		t.Fatal(err)
	}
	parts := v.([]any)
	view := parts[1].(View)
	view.Bytes()[0] = 9
	if parts[0].([]byte)[1] != 9 || parts[2].([]byte)[1] != 9 {
		t.Error("view and buffer do not share bytes")
	}
}

func TestUnmarshalRejects(t *testing.T) {
	deep := b()
	for range MaxDepth + 1 {
		deep = append(deep, 'a', 1)
	}
	deep = append(deep, 'n')
	tests := []struct {
		name    string
		in      []byte
		corrupt bool // else the capability error
	}{
		{"empty", nil, true},
		{"version", []byte{2, 'n'}, true},
		{"no item", b(), true},
		{"unknown tag", b('Z'), true},
		{"trailing", b('n', 'n'), true},
		{"short float", b('d', 0, 0), true},
		{"long string", b('s', 5, "ab"), true},
		{"huge count", b('a', 0xFF, 0xFF, 0xFF, 0xFF, 0x0F), true},
		{"huge utf16", b('w', 3, 0, 0xD8, 0), true},
		{"forward ref", b('a', 1, 'r', 1), true},
		{"ref before any", b('r', 0), true},
		{"view in own buffer", b('V', 10, "Uint8Array", 'r', 0, 0, 0), true},
		{"view of array", b('V', 10, "Uint8Array", 'a', 0, 0, 0), true},
		{"unknown view", b('V', 12, "Float16Array", 'B', 2, 0, 0, 0, 1), true},
		{"view past buffer", b('V', 10, "Uint8Array", 'B', 2, 0, 0, 1, 2), true},
		{"view offset past", b('V', 8, "DataView", 'B', 2, 0, 0, 3, 0), true},
		{"misaligned view", b('V', 11, "Uint16Array", 'B', 4, 0, 0, 0, 0, 1, 1), true},
		{"huge view length", b('V', 8, "DataView", 'B', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01), true},
		{"wrapper of object", b('P', 'o', 0), true},
		{"wrapper of null", b('P', 'n'), true},
		{"wrapper of ref", b('a', 1, 'P', 'r', 0), true},
		{"too deep", deep, true},
		{"capability", b('X', 3), false},
		{"nested capability", b('o', 1, 1, "f", 'X', 0), false},
		{"platform object", b('H', 3, "URL", 's', 1, "x"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := Unmarshal(tt.in)
			if err == nil {
				t.Fatalf("Unmarshal(% x) = %#v, want an error", tt.in, v)
			}
			if errors.Is(err, ErrCorrupt) != tt.corrupt {
				t.Errorf("Unmarshal(% x): %v; ErrCorrupt %v, want %v", tt.in, err, !tt.corrupt, tt.corrupt)
			}
			if !strings.HasPrefix(err.Error(), "clone: ") {
				t.Errorf("error %q lacks the clone: prefix", err)
			}
		})
	}
}

// Every Go value Marshal accepts reads back equal.
func TestMarshalRoundTrip(t *testing.T) {
	buf := []byte{1, 2, 3, 4, 5, 6, 7, 8}
	values := []any{
		nil, Undefined{}, true, 0.0, -1.0, 1e300, math.NaN(), math.Inf(-1), math.Copysign(0, -1),
		"", "héllo", "\xed\xb0\x80x\xed\xa0\x80", new(big.Int).Lsh(big.NewInt(-3), 200), new(big.Int),
		time.Date(2024, 2, 29, 12, 30, 0, 123e6, time.UTC), time.UnixMilli(-8.64e15).UTC(), InvalidDate{},
		[]byte{}, []byte{0, 255}, View{"Float64Array", buf, 0, 1}, View{"BigInt64Array", buf, 0, 1},
		[]any{}, []any{[]any{1.0, "x"}, map[string]any{"k": Set{1.0, nil}}},
		map[string]any{}, map[string]any{"": nil, "__proto__": map[string]any{"polluted": true}},
		Map{}, Map{{map[string]any{"a": 1.0}, []any{}}, {nil, Undefined{}}}, Set{},
		&Error{Name: "RangeError", Message: "no", Stack: "RangeError: no\n    at f"},
		RegExp{Source: `a\/b+`, Flags: "dgimsuy"},
		Wrapper{"s\xed\xa0\x80"}, Wrapper{false}, Wrapper{math.Copysign(0, -1)}, Wrapper{big.NewInt(1)},
	}
	for _, v := range values {
		out, err := Marshal(v)
		if err != nil {
			t.Errorf("Marshal(%#v): %v", v, err)
			continue
		}
		got, err := Unmarshal(out)
		if err != nil {
			t.Errorf("Unmarshal(Marshal(%#v)): %v", v, err)
			continue
		}
		if !equal(got, v) {
			t.Errorf("Unmarshal(Marshal(%#v)) = %#v", v, got)
		}
	}
}

func FuzzUnmarshal(f *testing.F) {
	for _, seed := range [][]byte{
		b('n'), b('o', 1, 1, "a", 'a', 2, 'i', 2, 'M', 1, 'i', 2, 'i', 4),
		b('o', 1, 4, "self", 'r', 0), b('w', 1, 0x00, 0xD8),
		b('a', 3, 'B', 2, 0, 0, 'V', 10, "Uint8Array", 'r', 1, 1, 1, 'r', 1),
		b('a', 4, 'P', 's', 1, "s", 'D', 0, 0, 0, 0, 0, 0, 0, 0, 'R', 1, "x", 1, "g", 'E', 5, "Error", 1, "m", 0),
		b('S', 2, 'g', 0, 1, 7, 'd', 0, 0, 0, 0, 0, 0, 0, 0x80),
	} {
		f.Add(seed)
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "*.hex"))
	for _, file := range files {
		f.Add(readGolden(f, file))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		v, err := Unmarshal(in) // must not panic
		if err != nil {
			return
		}
		// What Unmarshal accepts, Marshal writes, in a form that is a
		// fixed point of Unmarshal then Marshal.
		out, err := Marshal(v)
		if err != nil {
			var ce *CloneError
			if !errors.As(err, &ce) || !strings.Contains(ce.Msg, "nested too deeply") {
				t.Fatalf("Marshal(Unmarshal(% x)): %v", in, err)
			}
			return // shared objects reached first by a deeper path
		}
		v2, err := Unmarshal(out)
		if err != nil {
			t.Fatalf("Unmarshal(Marshal(Unmarshal(% x))) = % x: %v", in, out, err)
		}
		out2, err := Marshal(v2)
		if err != nil || !bytes.Equal(out, out2) {
			t.Fatalf("not a fixed point: % x\nthen % x (%v)", out, out2, err)
		}
	})
}

func TestErrorString(t *testing.T) {
	tests := []struct {
		e    Error
		want string
	}{
		{Error{Name: "TypeError", Message: "bad"}, "TypeError: bad"},
		{Error{Name: "Error"}, "Error"},
		{Error{Message: "m"}, "m"},
	}
	for _, tt := range tests {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("%#v.Error() = %q, want %q", tt.e, got, tt.want)
		}
	}
}

func TestViewBytes(t *testing.T) {
	buf := []byte{0, 1, 2, 3, 4, 5, 6, 7}
	tests := []struct {
		v    View
		want []byte
	}{
		{View{"Uint8Array", buf, 1, 2}, []byte{1, 2}},
		{View{"Int32Array", buf, 4, 1}, []byte{4, 5, 6, 7}},
		{View{"DataView", buf, 8, 0}, []byte{}},
	}
	for _, tt := range tests {
		if got := tt.v.Bytes(); !bytes.Equal(got, tt.want) {
			t.Errorf("%+v.Bytes() = %v, want %v", tt.v, got, tt.want)
		}
	}
}
