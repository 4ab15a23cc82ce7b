package webapi

import (
	"bytes"
	"strings"
	"testing"
)

// run pushes data through c in chunks of size n and returns all it produced.
func run(t *testing.T, c codec, data []byte, n int) ([]byte, error) {
	t.Helper()
	var out []byte
	for len(data) > 0 {
		k := min(n, len(data))
		b, err := c.push(data[:k])
		if err != nil {
			return out, err
		}
		out, data = append(out, b...), data[k:]
	}
	b, err := c.finish()
	return append(out, b...), err
}

func TestCodecsRoundTrip(t *testing.T) {
	text := []byte(strings.Repeat("cairn streams bytes ", 2000))
	for _, format := range []string{"gzip", "deflate", "deflate-raw"} {
		for _, n := range []int{1, 7, 4096, len(text)} {
			d, err := newDeflater(format)
			if err != nil {
				t.Fatal(err)
			}
			z, err := run(t, d, text, n)
			if err != nil {
				t.Fatalf("%s compress: %v", format, err)
			}
			inf, err := newInflater(format)
			if err != nil {
				t.Fatal(err)
			}
			back, err := run(t, inf, z, n)
			if err != nil || !bytes.Equal(back, text) {
				t.Fatalf("%s in chunks of %d: %d bytes back (want %d), %v", format, n, len(back), len(text), err)
			}
		}
	}
}

func TestInflaterErrors(t *testing.T) {
	d, _ := newDeflater("deflate")
	z, _ := run(t, d, []byte("some text"), 100)
	tests := []struct {
		name, format string
		input        []byte
		want         string
	}{
		{"truncated", "deflate", z[:len(z)-2], "Unexpected end of compressed data"},
		{"trailing bytes", "deflate", append(bytes.Clone(z), 1, 2, 3), "Trailing bytes"},
		{"not gzip", "gzip", []byte("plain text, not gzip"), "Decompression failed"},
	}
	for _, tc := range tests {
		inf, _ := newInflater(tc.format)
		if _, err := run(t, inf, tc.input, 4); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
	if _, err := newInflater("br"); err == nil {
		t.Error("unknown format accepted")
	}
}
