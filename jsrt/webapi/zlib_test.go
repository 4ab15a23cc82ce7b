package webapi

import (
	"bytes"
	"testing"
)

func TestZlibProcess(t *testing.T) {
	text := bytes.Repeat([]byte("cairn zlib "), 200)
	for _, pair := range [][2]string{{"gzip", "gunzip"}, {"deflate", "inflate"}, {"deflateRaw", "inflateRaw"}, {"gzip", "unzip"}, {"deflate", "unzip"}} {
		z, err := zlibProcess(pair[0], text, 9, 1<<40)
		if err != nil || len(z) >= len(text)/4 {
			t.Fatalf("%s: %d bytes, %v", pair[0], len(z), err)
		}
		back, err := zlibProcess(pair[1], z, -1, 1<<40)
		if err != nil || !bytes.Equal(back, text) {
			t.Errorf("%s of %s: %d bytes, %v", pair[1], pair[0], len(back), err)
		}
	}
	gz, _ := zlibProcess("gzip", text, -1, 1<<40)
	for _, tc := range []struct {
		name, kind string
		data       []byte
		limit      int64
		code       string
	}{
		{"bad magic", "gunzip", []byte("junk"), 1 << 40, "Z_DATA_ERROR"},
		{"bad zlib header", "inflate", []byte{0x12, 0x34, 0x56}, 1 << 40, "Z_DATA_ERROR"},
		{"truncated", "gunzip", gz[:20], 1 << 40, "Z_BUF_ERROR"},
		{"corrupt checksum", "gunzip", append(bytes.Clone(gz[:len(gz)-8]), 0, 0, 0, 0, 0, 0, 0, 0), 1 << 40, "Z_DATA_ERROR"},
		{"over the limit", "gunzip", gz, 100, "ERR_BUFFER_TOO_LARGE"},
		{"unknown mode", "brotli", text, 1 << 40, "ERR_INVALID_ARG_VALUE"},
	} {
		if _, err := zlibProcess(tc.kind, tc.data, -1, tc.limit); err == nil || err.code != tc.code {
			t.Errorf("%s: %v, want code %s", tc.name, err, tc.code)
		}
	}
}
