// Package golden reads and writes the golden files that freeze the
// structured-clone format (clone/testdata): a comment line with the JS
// source of the value, then its encoding in hex, 16 bytes a line. The
// tests of package clone and of jsrt/jsclone both read them.
package golden

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
)

// Format is the text of a golden file for the value written as src in JS
// and encoded as b.
func Format(src string, b []byte) []byte {
	var out bytes.Buffer
	fmt.Fprintf(&out, "# %s\n", src)
	for len(b) > 0 {
		n := min(16, len(b))
		for i, c := range b[:n] {
			if i > 0 {
				out.WriteByte(' ')
			}
			fmt.Fprintf(&out, "%02x", c)
		}
		out.WriteByte('\n')
		b = b[n:]
	}
	return out.Bytes()
}

// Read returns the encoded bytes of a golden file: lines starting with #
// are comments, the rest is hex.
func Read(path string) ([]byte, error) {
	text, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var digits strings.Builder
	for line := range strings.Lines(string(text)) {
		if !strings.HasPrefix(line, "#") {
			digits.WriteString(strings.Join(strings.Fields(line), ""))
		}
	}
	b, err := hex.DecodeString(digits.String())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return b, nil
}
