// Package sqllimit lets a statement use ORDER BY and LIMIT on DELETE and
// UPDATE, as D1 and workerd's Durable Object SQL accept (SQLite's
// SQLITE_ENABLE_UPDATE_DELETE_LIMIT): "DELETE FROM t WHERE done RETURNING *
// ORDER BY id LIMIT 10".
//
// The SQLite that github.com/mattn/go-sqlite3 bundles (3.54.1) is compiled
// with that define, but the option only takes effect in a parser generated
// with it, and the amalgamation's parser was generated without it: SQLite
// answers `near "LIMIT": syntax error`. So when a statement fails to
// prepare with a syntax error, the caller (d1, storage) asks Rewrite for the
// statement SQLite itself would build for it (sqlite3LimitWhere) and
// prepares that:
//
//	DELETE FROM t WHERE w RETURNING r ORDER BY o LIMIT l
//	→ DELETE FROM t WHERE rowid IN (SELECT rowid FROM t WHERE w ORDER BY o LIMIT l) RETURNING r
//
// and likewise for UPDATE … SET …. The grammar accepted is SQLite's with the
// option: the clauses in the order WHERE, RETURNING, ORDER BY, LIMIT
// [OFFSET]; ORDER BY needs LIMIT. Anonymous parameters are numbered (?1,
// ?2, …) in their original order, since RETURNING moves. Not rewritten (the
// syntax error stands): UPDATE … FROM. Tables without a rowid (WITHOUT
// ROWID tables, views) fail with "no such column: rowid".
package sqllimit

import (
	"strconv"
	"strings"
)

// sqlToken is one token of a statement: its text's span in the SQL and the
// depth of parentheses it is at.
type sqlToken struct {
	start, end int
	depth      int
	kind       byte // 'w' word, 'p' parameter, 's' string or quoted identifier, 'o' other
	upper      string
}

// tokenizeFirst cuts the first statement of sql into tokens, skipping
// whitespace and comments. It returns the tokens and the offset where the
// statement ends (its ";" or len(sql)). ok is false for an unterminated
// quote or comment.
func tokenizeFirst(sql string) (toks []sqlToken, end int, ok bool) {
	depth := 0
	i := 0
	for i < len(sql) {
		b := sql[i]
		switch {
		case isSpace(b):
			i++
			continue
		case b == '-' && i+1 < len(sql) && sql[i+1] == '-':
			nl := strings.IndexByte(sql[i:], '\n')
			if nl < 0 {
				return toks, len(sql), true
			}
			i += nl + 1
			continue
		case b == '/' && i+1 < len(sql) && sql[i+1] == '*':
			e := strings.Index(sql[i+2:], "*/")
			if e < 0 {
				return nil, 0, false
			}
			i += 2 + e + 2
			continue
		case b == ';' && depth == 0:
			return toks, i, true
		}
		t := sqlToken{start: i, depth: depth, kind: 'o'}
		switch {
		case b == '\'' || b == '"' || b == '`' || b == '[':
			closer := b
			if b == '[' {
				closer = ']'
			}
			j := i + 1
			for {
				k := strings.IndexByte(sql[j:], closer)
				if k < 0 {
					return nil, 0, false
				}
				j += k + 1
				// A doubled quote is an escaped one (not in [brackets]).
				if closer != ']' && j < len(sql) && sql[j] == closer {
					j++
					continue
				}
				break
			}
			t.end, t.kind = j, 's'
		case b == '?' || b == ':' || b == '@' || b == '$':
			j := i + 1
			for j < len(sql) && isWordByte(sql[j]) {
				j++
			}
			t.end, t.kind = j, 'p'
		case isWordByte(b):
			j := i + 1
			for j < len(sql) && isWordByte(sql[j]) {
				j++
			}
			t.end, t.kind = j, 'w'
			t.upper = strings.ToUpper(sql[i:j])
		default:
			t.end = i + 1
			switch b {
			case '(':
				depth++
			case ')':
				depth--
				t.depth = depth
			}
		}
		toks = append(toks, t)
		i = t.end
	}
	return toks, len(sql), true
}

// Rewrite rewrites a first statement of sql that is a DELETE or UPDATE with
// ORDER BY / LIMIT into one without them (see the package doc), keeping the
// rest of sql. ok is false if the statement is not such a statement.
func Rewrite(sql string) (out string, ok bool) {
	toks, end, ok := tokenizeFirst(sql)
	if !ok || len(toks) == 0 {
		return "", false
	}
	// The verb: the first top-level DELETE/UPDATE/INSERT/… (after an
	// optional WITH clause, whose CTE bodies are parenthesized).
	verb := -1
	for i, t := range toks {
		if t.depth == 0 && t.kind == 'w' && strings.Contains(" DELETE UPDATE INSERT REPLACE SELECT VALUES ", " "+t.upper+" ") {
			if t.upper == "DELETE" || t.upper == "UPDATE" {
				verb = i
			}
			break
		}
	}
	if verb < 0 {
		return "", false
	}
	// Top-level clause keywords after the verb.
	find := func(from int, words ...string) int {
		for i := from; i < len(toks); i++ {
			t := toks[i]
			if t.depth != 0 || t.kind != 'w' {
				continue
			}
			for _, w := range words {
				if t.upper == w {
					if w == "ORDER" && (i+1 >= len(toks) || toks[i+1].upper != "BY") {
						continue
					}
					return i
				}
			}
		}
		return -1
	}
	isDelete := toks[verb].upper == "DELETE"
	var targetStart, targetEnd, setStart int // token indexes
	if isDelete {
		if verb+1 >= len(toks) || toks[verb+1].upper != "FROM" {
			return "", false
		}
		targetStart = verb + 2
	} else {
		targetStart = verb + 1
		if targetStart < len(toks) && toks[targetStart].upper == "OR" {
			targetStart += 2 // OR ROLLBACK|ABORT|REPLACE|FAIL|IGNORE
		}
		setStart = find(targetStart, "SET")
		if setStart < 0 {
			return "", false
		}
	}
	clauseFrom := targetStart
	if !isDelete {
		clauseFrom = setStart + 1
		if find(clauseFrom, "FROM") >= 0 {
			return "", false // UPDATE … FROM: not rewritten
		}
	}
	where := find(clauseFrom, "WHERE")
	returning := find(clauseFrom, "RETURNING")
	order := find(clauseFrom, "ORDER")
	limit := find(clauseFrom, "LIMIT")
	if limit < 0 || (order >= 0 && order > limit) {
		return "", false
	}
	tail := limit
	if order >= 0 {
		tail = order
	}
	if where > tail || returning > tail || (where >= 0 && returning >= 0 && returning < where) {
		return "", false
	}
	switch {
	case isDelete && where >= 0:
		targetEnd = where
	case isDelete && returning >= 0:
		targetEnd = returning
	case isDelete:
		targetEnd = tail
	default:
		targetEnd = setStart
	}
	if targetEnd <= targetStart || targetStart >= len(toks) {
		return "", false
	}

	// Number anonymous parameters by their original order: the clauses
	// move, and "?" is numbered by position.
	params := map[int]string{} // token index → replacement text
	maxN := 0
	for i, t := range toks {
		if t.kind != 'p' {
			continue
		}
		text := sql[t.start:t.end]
		if text == "?" {
			maxN++
			params[i] = "?" + strconv.Itoa(maxN)
		} else if text[0] == '?' {
			if n, err := strconv.Atoi(text[1:]); err == nil && n > maxN {
				maxN = n
			}
		}
	}
	// span returns the text of tokens [from, to) with parameters numbered.
	span := func(from, to int) string {
		if from >= to {
			return ""
		}
		var b strings.Builder
		pos := toks[from].start
		for i := from; i < to; i++ {
			if p, ok := params[i]; ok {
				b.WriteString(sql[pos:toks[i].start])
				b.WriteString(p)
				pos = toks[i].end
			}
		}
		b.WriteString(sql[pos:toks[to-1].end])
		return b.String()
	}

	target := span(targetStart, targetEnd)
	var b strings.Builder
	b.WriteString(sql[:toks[0].start]) // leading comments
	b.WriteString(span(0, targetEnd))
	if !isDelete {
		// SET … up to the first of WHERE, RETURNING, ORDER BY, LIMIT.
		setEnd := tail
		for _, c := range []int{where, returning} {
			if c >= 0 && c < setEnd {
				setEnd = c
			}
		}
		b.WriteString(" ")
		b.WriteString(span(targetEnd, setEnd))
	}
	b.WriteString(" WHERE rowid IN (SELECT rowid FROM ")
	b.WriteString(target)
	if where >= 0 {
		whereEnd := tail
		if returning >= 0 {
			whereEnd = returning
		}
		b.WriteString(" ")
		b.WriteString(span(where, whereEnd))
	}
	b.WriteString(" ")
	b.WriteString(span(tail, len(toks)))
	b.WriteString(")")
	if returning >= 0 {
		b.WriteString(" ")
		b.WriteString(span(returning, tail))
	}
	b.WriteString(sql[end:])
	return b.String(), true
}

func isSpace(b byte) bool {
	return b == ' ' || b == '\t' || b == '\n' || b == '\r' || b == '\f' || b == '\v'
}

func isWordByte(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '_' || b == '$' || b >= 0x80
}
