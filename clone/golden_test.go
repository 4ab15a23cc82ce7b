package clone

import (
	"bytes"
	"errors"
	"math"
	"math/big"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairn-dev/cairn/internal/golden"
)

// readGolden returns the bytes of a golden file written by the JS encoder
// (see jsrt/jsclone's TestCloneGolden).
func readGolden(t testing.TB, path string) []byte {
	t.Helper()
	b, err := golden.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// goldenValues is the Go value each golden file decodes to.
func goldenValues() map[string]any {
	bigLarge := new(big.Int).Lsh(big.NewInt(1), 100)
	bigLarge.Add(bigLarge, big.NewInt(1))
	deep := []any{}
	for range 39 {
		deep = []any{deep}
	}
	key := map[string]any{}
	shared := []byte{1, 2, 3, 4, 5, 6, 7, 8}
	view := View{"Uint8Array", []byte{0, 0}, 0, 2}
	cycleObject := map[string]any{"name": "o"}
	cycleObject["self"] = cycleObject
	cycleObject["list"] = []any{cycleObject}
	cycleArray := []any{1.0, nil}
	cycleArray[1] = cycleArray
	cycleMap := make(Map, 1)
	cycleMap[0] = Entry{cycleMap, cycleMap}
	cycleSet := make(Set, 1)
	cycleSet[0] = cycleSet
	sharedObject := map[string]any{}
	var errorTypes []any
	for _, name := range []string{"EvalError", "RangeError", "ReferenceError", "SyntaxError", "TypeError", "URIError"} {
		errorTypes = append(errorTypes, &Error{Name: name, Message: "m", Stack: "s"})
	}
	var many []any
	for i := range 20 {
		many = append(many, map[string]any{"i": float64(i)})
	}
	many = append(many, many[3], many[19])
	date := time.UnixMilli(5).UTC()

	return map[string]any{
		"undefined":       Undefined{},
		"null":            nil,
		"true":            true,
		"false":           false,
		"int":             1.0,
		"int-negative":    -3.0,
		"int-max-safe":    float64(1<<53 - 1),
		"int-min-safe":    -float64(1<<53 - 1),
		"float":           1.5,
		"float-2-53":      float64(1 << 53),
		"float-large":     1e300,
		"float-tiny":      5e-324,
		"negative-zero":   math.Copysign(0, -1),
		"nan":             math.NaN(),
		"infinity":        math.Inf(-1),
		"numbers":         []any{0.0, -1.0, 2147483648.0, -2147483648.0, 4294967296.0, 0.1},
		"bigint":          big.NewInt(5),
		"bigint-zero":     new(big.Int),
		"bigint-negative": big.NewInt(-258),
		"bigint-large":    bigLarge,

		"string-empty":              "",
		"string":                    "hi",
		"string-unicode":            "h\u00e9llo \u4e16\u754c \U0001F600",
		"string-replacement-char":   "\uFFFD",
		"string-lone-high":          "\xed\xa0\x80",
		"string-lone-mixed":         "a\xed\xa0\x80b\xed\xbf\xbfc\U0001F600",
		"object-empty":              map[string]any{},
		"object":                    map[string]any{"a": nil, "b": 1.0, "c": "s"},
		"object-key-order":          map[string]any{"2": 4.0, "10": 3.0, "b": 1.0, "a": 2.0},
		"object-proto-key":          map[string]any{"__proto__": map[string]any{"x": 1.0}},
		"object-null-proto":         map[string]any{"a": 1.0},
		"object-lone-surrogate-key": map[string]any{"\uFFFD": 1.0},
		"object-symbol-key":         map[string]any{"a": 2.0},
		"class-instance":            map[string]any{"x": 1.0},
		"array-empty":               []any{},
		"array":                     []any{true, Undefined{}, "s", nil},
		"array-sparse":              []any{1.0, Undefined{}, 3.0},
		"array-sparse-tail":         []any{Undefined{}, Undefined{}, Undefined{}, 1.0},
		"array-extra-props":         []any{1.0},
		"nested":                    map[string]any{"a": map[string]any{"b": []any{1.0, map[string]any{"c": "d"}}}, "e": []any{[]any{}}},
		"deep":                      deep,

		"map-empty":       Map{},
		"map":             Map{{"k", 1.0}, {2.0, map[string]any{"a": 1.0}}, {nil, Undefined{}}},
		"map-object-keys": Map{{key, key}, {[]any{1.0}, "a"}},
		"set-empty":       Set{},
		"set":             Set{1.0, "x", nil},
		"map-of-sets":     Map{{"k", Set{1.0, "x"}}},
		"date":            time.UnixMilli(1234).UTC(),
		"date-epoch":      time.UnixMilli(0).UTC(),
		"date-negative":   time.UnixMilli(-1).UTC(),
		"date-invalid":    InvalidDate{},
		"date-max":        time.UnixMilli(8.64e15).UTC(),
		"regexp":          RegExp{"a+b", "gi"},
		"regexp-flags":    RegExp{"x", "gimsuy"},
		"regexp-escapes":  RegExp{`a\.b\n[\]]`, ""},

		"arraybuffer":          []byte{1, 2},
		"arraybuffer-empty":    []byte{},
		"int8array":            View{"Int8Array", []byte{0xFF, 0x7F}, 0, 2},
		"uint8array":           View{"Uint8Array", []byte{1, 2, 255}, 0, 3},
		"uint8clampedarray":    View{"Uint8ClampedArray", []byte{255, 0}, 0, 2},
		"int16array":           View{"Int16Array", []byte{0xFE, 0xFF, 0x00, 0x01}, 0, 2},
		"uint16array":          View{"Uint16Array", []byte{0xFF, 0xFF}, 0, 1},
		"int32array":           View{"Int32Array", []byte{0xFF, 0xFF, 0xFF, 0xFF}, 0, 1},
		"uint32array":          View{"Uint32Array", []byte{0xFF, 0xFF, 0xFF, 0xFF}, 0, 1},
		"float32array":         View{"Float32Array", []byte{0, 0, 0xC0, 0x3F, 0, 0, 0, 0x80}, 0, 2},
		"float64array":         View{"Float64Array", []byte{0, 0, 0, 0, 0, 0, 0xF8, 0x3F, 1, 0, 0, 0, 0, 0, 0xF8, 0x7F}, 0, 2},
		"bigint64array":        View{"BigInt64Array", bytes.Repeat([]byte{0xFF}, 8), 0, 1},
		"biguint64array":       View{"BigUint64Array", bytes.Repeat([]byte{0xFF}, 8), 0, 1},
		"typed-array-subarray": View{"Uint8Array", []byte{1, 2, 3}, 1, 2},
		"typed-array-offset":   View{"Uint16Array", make([]byte, 8), 2, 2},
		"dataview":             View{"DataView", make([]byte, 4), 1, 2},
		"shared-buffer":        []any{View{"Uint8Array", shared, 0, 4}, View{"Uint16Array", shared, 4, 2}, View{"DataView", shared, 2, 6}, shared},
		"shared-view":          []any{view, view},

		"error":                  &Error{"Error", "m", "Error: m\n    at f (a.js:1:2)"},
		"error-types":            errorTypes,
		"error-aggregate":        &Error{"AggregateError", "all", "s"},
		"error-subclass":         &Error{"MyErr", "m", "s"},
		"error-no-stack":         &Error{"TypeError", "m", ""},
		"wrappers":               []any{Wrapper{"x"}, Wrapper{math.Copysign(0, -1)}, Wrapper{false}, Wrapper{big.NewInt(-2)}, Wrapper{1.5}},
		"wrapper-lone-surrogate": Wrapper{"s\xed\xa0\x80"},
		"wrapper-shared":         []any{Wrapper{"x"}, Wrapper{"x"}},
		"cycle-object":           cycleObject,
		"cycle-array":            cycleArray,
		"cycle-map":              cycleMap,
		"cycle-set":              cycleSet,
		"shared-object":          []any{sharedObject, sharedObject, map[string]any{"s": sharedObject}},
		"shared-date":            []any{date, date},
		"shared-many":            many,
	}
}

// goldenRewritten are the golden files Marshal does not write back byte
// for byte from what Unmarshal read, and why.
var goldenRewritten = map[string]string{
	"object-key-order": "Marshal sorts keys",
	"cycle-object":     "Marshal sorts keys",
	"shared-date":      "a time.Time has no identity",
	"shared-view":      "a View has no identity",
	"wrapper-shared":   "a Wrapper has no identity",
}

// goldenUnreadable are the golden files Unmarshal refuses.
var goldenUnreadable = map[string]string{
	"capabilities":     "RPC capabilities have no Go value",
	"platform-objects": "RPC platform objects have no Go value",
}

// TestUnmarshalGolden reads every file the JS encoder wrote into the
// value it stands for, and Marshal writes that value back in the same
// bytes unless goldenRewritten says why not.
func TestUnmarshalGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.hex"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no golden files")
	}
	want := goldenValues()
	seen := make(map[string]bool)
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".hex")
		seen[name] = true
		t.Run(name, func(t *testing.T) {
			in := readGolden(t, f)
			v, err := Unmarshal(in)
			if _, ok := goldenUnreadable[name]; ok {
				if err == nil || errors.Is(err, ErrCorrupt) {
					t.Errorf("Unmarshal = %#v, %v; want a refusal that is not ErrCorrupt", v, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			w, ok := want[name]
			if !ok {
				t.Fatalf("no expected Go value for golden file %s (add it to goldenValues)", name)
			}
			if !equal(v, w) {
				t.Errorf("Unmarshal = %#v\nwant %#v", v, w)
			}
			out, err := Marshal(v)
			if err != nil {
				t.Fatalf("Marshal(Unmarshal): %v", err)
			}
			if _, rewritten := goldenRewritten[name]; rewritten == bytes.Equal(out, in) {
				t.Errorf("Marshal(Unmarshal) = % x\n              file % x\n(rewritten: %v)", out, in, rewritten)
			}
			// The expected value, written by Marshal, reads back equal.
			out, err = Marshal(w)
			if err != nil {
				t.Fatalf("Marshal(want): %v", err)
			}
			if back, err := Unmarshal(out); err != nil || !equal(back, w) {
				t.Errorf("Unmarshal(Marshal(want)) = %#v, %v", back, err)
			}
		})
	}
	for name := range want {
		if !seen[name] {
			t.Errorf("goldenValues has %s, which has no golden file", name)
		}
	}
}
