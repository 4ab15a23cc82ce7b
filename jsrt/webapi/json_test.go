package webapi

import (
	"strings"
	"testing"
	"time"

	"github.com/dop251/goja"
)

func TestJSONDepth(t *testing.T) {
	tests := []struct {
		text string
		want int
	}{
		{``, 0},
		{`1`, 0},
		{`[]`, 1},
		{`{"a":[1,{"b":[]}]}`, 4},
		{`"[[[["`, 0},
		{`["\"[[[", [[]]]`, 3},
		{`["\\", [[]]]`, 3},
		{strings.Repeat("[", 10), 6}, // stops once past the limit (5)
	}
	for _, tt := range tests {
		if got := jsonDepth(tt.text, 5); got != tt.want {
			t.Errorf("jsonDepth(%q) = %d, want %d", tt.text, got, tt.want)
		}
	}
}

// JSON.parse and JSON.stringify behave as before below the depth bound and
// fail as V8 does past it.
func TestInstallJSON(t *testing.T) {
	vm := goja.New()
	if err := InstallJSON(vm); err != nil {
		t.Fatal(err)
	}
	deep := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	_ = vm.Set("deepText", deep(MaxJSONDepth+1))
	_ = vm.Set("okText", deep(MaxJSONDepth))
	tests := []struct{ src, want string }{
		{`JSON.stringify({a: [1, "x", {b: null, u: undefined}], f() {}, d: new Date(0)})`, `{"a":[1,"x",{"b":null}],"d":"1970-01-01T00:00:00.000Z"}`},
		{`JSON.stringify({a: 1, b: [2, {c: 3}]}, null, 2)`, "{\n  \"a\": 1,\n  \"b\": [\n    2,\n    {\n      \"c\": 3\n    }\n  ]\n}"},
		{`JSON.stringify({a: 1, b: {a: 5, c: 2}, c: 3}, ["c", "a"])`, `{"c":3,"a":1}`},
		{`JSON.stringify({a: 1, b: "x"}, (k, v) => typeof v === "number" ? v * 2 : v)`, `{"a":2,"b":"x"}`},
		{`JSON.stringify({toJSON() { return {z: 1} }})`, `{"z":1}`},
		{`JSON.stringify("s") + JSON.stringify(1) + JSON.stringify(undefined)`, `"s"1undefined`},
		{`try { const o = {}; o.o = o; JSON.stringify(o) } catch (e) { e.name }`, `TypeError`},
		{`try { JSON.stringify({}, null, 2, 3); JSON.stringify(JSON.parse(deepText)) } catch (e) { e.name + ": " + e.message }`, "SyntaxError: JSON nested deeper than 5000 levels"},
		{`JSON.parse(okText).length`, `1`},
		{`try { JSON.parse("{") } catch (e) { e.name }`, `SyntaxError`},
		{`JSON.parse('{"a":[1,2]}', (k, v) => Array.isArray(v) ? v.length : v).a`, `2`},
		{`let a = []; for (let i = 0; i < 20000; i++) a = [a]; try { JSON.stringify(a) } catch (e) { e.name + ": " + e.message }`, "RangeError: Maximum call stack size exceeded"},
		{`let b = []; for (let i = 1; i < 5000; i++) b = [b]; JSON.stringify(b).length`, "10000"},
		{`JSON.parse.name + JSON.stringify.name + JSON.stringify.length`, "parsestringify3"},
	}
	for _, tt := range tests {
		start := time.Now()
		v, err := vm.RunString(tt.src)
		if err != nil {
			t.Errorf("%.60s: %v", tt.src, err)
			continue
		}
		if got := v.String(); got != tt.want {
			t.Errorf("%.60s = %.100q, want %q", tt.src, got, tt.want)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("%.60s took %s", tt.src, d)
		}
	}
}

// BenchmarkJSONStringify is a wide, shallow payload (an API response).
func BenchmarkJSONStringify(b *testing.B) {
	for _, install := range []bool{false, true} {
		b.Run(map[bool]string{false: "goja", true: "bounded"}[install], func(b *testing.B) {
			vm := goja.New()
			if install {
				_ = InstallJSON(vm)
			}
			_, _ = vm.RunString(`const rows = []; for (let i = 0; i < 1000; i++) rows.push({id: i, name: "n" + i, tags: ["a", "b"], nested: {x: 1.5, y: null}});`)
			fn, _ := vm.RunString(`() => JSON.stringify(rows)`)
			call, _ := goja.AssertFunction(fn)
			b.ResetTimer()
			for range b.N {
				_, _ = call(goja.Undefined())
			}
		})
	}
}
