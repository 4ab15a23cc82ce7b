package d1

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
)

// Splitter cuts SQL text into statements, reading it as a stream: a
// statement ends at a ";" outside quotes, identifiers and comments, except
// in the body of CREATE TRIGGER, which ends at "END;". Memory use is bounded
// by the longest statement, not the input, so a dump of any size can be
// imported.
type Splitter struct {
	r    *bufio.Reader
	line int // current line, 1-based
	buf  bytes.Buffer
}

// NewSplitter returns a Splitter reading r.
func NewSplitter(r io.Reader) *Splitter {
	return &Splitter{r: bufio.NewReaderSize(r, 1<<16), line: 1}
}

// Line returns the line the splitter has read up to.
func (s *Splitter) Line() int { return s.line }

// Next returns the next statement without its terminating ";" and the line
// it starts on. Statements holding only whitespace or comments are skipped.
// It returns io.EOF after the last statement; text after the last ";" that
// holds a statement is returned as a final statement.
func (s *Splitter) Next() (string, int, error) {
	const (
		normal = iota
		single
		double
		backtick
		bracket
		lineComment
		blockComment
	)
	s.buf.Reset()
	state := normal
	start := 0            // line of the first significant byte
	var word []byte       // the word being read (upper-cased), normal state only
	var words []string    // first significant words of the statement (up to 4)
	trigger := false      // the statement is CREATE [TEMP] TRIGGER
	star := false         // in a block comment, the last byte was '*'
	var last, prev string // the two last significant tokens, in a trigger
	significant := func(tok string) {
		if len(words) < 4 {
			words = append(words, tok)
			if !trigger && isTriggerStart(words) {
				trigger = true
			}
		}
		prev, last = last, tok
	}
	endWord := func() {
		if len(word) > 0 {
			significant(string(word))
			word = word[:0]
		}
	}
	for {
		b, err := s.r.ReadByte()
		if err == io.EOF {
			endWord()
			if state == blockComment || state == lineComment {
				state = normal
			}
			if start == 0 {
				return "", 0, io.EOF
			}
			if state != normal {
				return "", start, &Error{Kind: KindError, Msg: "incomplete input: unterminated quote or identifier: SQLITE_ERROR", Code: 1}
			}
			return strings.TrimSpace(s.buf.String()), start, nil
		}
		if err != nil {
			return "", 0, err
		}
		if b == '\n' {
			s.line++
		}
		switch state {
		case lineComment:
			s.buf.WriteByte(b)
			if b == '\n' {
				state = normal
			}
			continue
		case blockComment:
			s.buf.WriteByte(b)
			if star && b == '/' {
				state = normal
			}
			star = b == '*'
			continue
		case single, double, backtick, bracket:
			s.buf.WriteByte(b)
			if (state == single && b == '\'') || (state == double && b == '"') ||
				(state == backtick && b == '`') || (state == bracket && b == ']') {
				state = normal
			}
			continue
		}
		// normal
		switch {
		case b == '-' && s.peek() == '-':
			endWord()
			s.buf.WriteByte(b)
			state = lineComment
			continue
		case b == '/' && s.peek() == '*':
			endWord()
			s.buf.WriteByte(b)
			s.buf.WriteByte('*')
			_, _ = s.r.ReadByte()
			state, star = blockComment, false
			continue
		}
		if start == 0 && !isSpace(b) && b != ';' {
			start = s.line
		}
		switch {
		case isWordByte(b):
			if b >= 'a' && b <= 'z' {
				word = append(word, b-'a'+'A')
			} else {
				word = append(word, b)
			}
			s.buf.WriteByte(b)
			continue
		case b == ';':
			endWord()
			if trigger && !(last == "END" && prev == ";") {
				significant(";")
				s.buf.WriteByte(b)
				continue
			}
			if start == 0 {
				// An empty statement (maybe comments): keep going.
				s.buf.Reset()
				words, trigger, last, prev = words[:0], false, "", ""
				continue
			}
			return strings.TrimSpace(s.buf.String()), start, nil
		}
		endWord()
		s.buf.WriteByte(b)
		switch b {
		case '\'':
			state = single
		case '"':
			state = double
		case '`':
			state = backtick
		case '[':
			state = bracket
		}
		if !isSpace(b) {
			significant(string(b))
		}
	}
}

func (s *Splitter) peek() byte {
	p, err := s.r.Peek(1)
	if err != nil {
		return 0
	}
	return p[0]
}

func isTriggerStart(words []string) bool {
	if len(words) < 2 || words[0] != "CREATE" {
		return false
	}
	switch words[1] {
	case "TRIGGER":
		return true
	case "TEMP", "TEMPORARY":
		return len(words) >= 3 && words[2] == "TRIGGER"
	}
	return false
}

func isSpace(b byte) bool {
	return b == ' ' || b == '\t' || b == '\n' || b == '\r' || b == '\f' || b == '\v'
}

func isWordByte(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '_' || b == '$' || b >= 0x80
}

// SplitStatements cuts sql into statements (see Splitter).
func SplitStatements(sql string) ([]string, error) {
	sp := NewSplitter(strings.NewReader(sql))
	var out []string
	for {
		st, _, err := sp.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, st)
	}
}
