package jsrt

import (
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/dop251/goja"
	"github.com/go-sourcemap/sourcemap"
)

// inlineSourceMap is the comment package bundle ends a bundle with.
const inlineSourceMap = "//# sourceMappingURL=data:application/json;base64,"

// syntaxPosition finds "Line L:C" in goja's parser messages.
var syntaxPosition = regexp.MustCompile(`Line (\d+):(\d+)`)

// sourceSyntaxError rewrites a compile error of a bundle to name the
// position in the original source file (through the bundle's inline source
// map), where the user can fix it: "src/routes.ts:12:5: SyntaxError: …". An
// error it cannot map is returned as it is.
func sourceSyntaxError(code string, err error) error {
	var cerr *goja.CompilerSyntaxError
	if !errors.As(err, &cerr) {
		return err
	}
	line, col := 0, 0
	if cerr.File != nil {
		pos := cerr.File.Position(cerr.Offset)
		line, col = pos.Line, pos.Column
	}
	if m := syntaxPosition.FindStringSubmatch(cerr.Message); line == 0 && m != nil {
		line, _ = strconv.Atoi(m[1])
		col, _ = strconv.Atoi(m[2])
	}
	i := strings.LastIndex(code, inlineSourceMap)
	if line == 0 || i < 0 {
		return err
	}
	data := code[i+len(inlineSourceMap):]
	if j := strings.IndexAny(data, "\r\n"); j >= 0 {
		data = data[:j]
	}
	raw, derr := base64.StdEncoding.DecodeString(strings.TrimSpace(data))
	if derr != nil {
		return err
	}
	smap, perr := sourcemap.Parse("", raw)
	if perr != nil {
		return err
	}
	file, _, srcLine, srcCol, ok := smap.Source(line, max(col-1, 0))
	if !ok {
		return err
	}
	msg := cerr.Message
	if m := syntaxPosition.FindStringIndex(msg); m != nil {
		msg = strings.TrimSpace(msg[m[1]:]) // "Unexpected token …"
	}
	return fmt.Errorf("%s:%d:%d: SyntaxError: %s (bundle line %d): %w", file, srcLine, srcCol+1, msg, line, err)
}
