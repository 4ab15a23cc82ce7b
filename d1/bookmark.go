package d1

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// Bookmarks name a point in a database's history: the commit sequence
// number (every commit adds one) and the database it belongs to. The format
// follows D1's shape, 8-8-8-32 hex digits:
//
//	SSSSSSSS-ssssssss-00000000-TTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTT
//
// S and s are the high and low 32 bits of the sequence number, the third
// group is reserved (zero), and T identifies the database (a hash of its
// uuid). Fixed width makes string order equal history order, as D1
// promises. A replica holding commits up to sequence n can serve a query
// carrying bookmark b once n >= b's sequence; the primary always can.

// Session constraints accepted instead of a bookmark (spec 7.5).
const (
	FirstPrimary       = "first-primary"
	FirstUnconstrained = "first-unconstrained"
)

func bookmarkTag(uuid any) string {
	s, _ := uuid.(string)
	sum := sha256.Sum256([]byte("cairn-d1:" + s))
	return hex.EncodeToString(sum[:16])
}

func (db *DB) bookmark(seq uint64) string {
	return fmt.Sprintf("%08x-%08x-00000000-%s", seq>>32, seq&0xffffffff, db.tag)
}

// Bookmark returns the bookmark of the latest commit.
func (db *DB) Bookmark() string { return db.bookmark(db.seq.Load()) }

// ParseBookmark returns the commit sequence number of a bookmark of this
// database, or ErrBookmark.
func (db *DB) ParseBookmark(b string) (uint64, error) {
	seq, tag, ok := splitBookmark(b)
	if !ok || tag != db.tag {
		return 0, ErrBookmark
	}
	return seq, nil
}

// splitBookmark parses D1's bookmark shape, 8-8-8-32 hex digits, into the
// sequence number (the first two groups) and the last group.
func splitBookmark(b string) (seq uint64, tag string, ok bool) {
	parts := strings.Split(b, "-")
	if len(parts) != 4 || len(parts[0]) != 8 || len(parts[1]) != 8 || len(parts[2]) != 8 || len(parts[3]) != 32 {
		return 0, "", false
	}
	hi, err1 := strconv.ParseUint(parts[0], 16, 32)
	lo, err2 := strconv.ParseUint(parts[1], 16, 32)
	_, err3 := strconv.ParseUint(parts[2], 16, 32)
	_, err4 := hex.DecodeString(parts[3])
	if err1 != nil || err2 != nil || err3 != nil || err4 != nil {
		return 0, "", false
	}
	return hi<<32 | lo, parts[3], true
}

// awaitSession checks a session constraint or bookmark and waits until the
// database holds the bookmark's state. On the primary (the only copy today)
// every committed state is present. A bookmark from the future can come
// from another process writing the same file, so the sequence is read again
// from disk. A bookmark in D1's shape that this database did not issue
// (another database's, one from Cloudflare or from wrangler dev, one from
// beyond the latest commit) is accepted as D1 and wrangler accept it: the
// primary is at least as fresh as any state a client can have seen of it.
// Only a string that is no bookmark at all is ErrBookmark.
func (db *DB) awaitSession(ctx context.Context, session string) error {
	switch session {
	case "", FirstPrimary, FirstUnconstrained:
		return nil
	}
	seq, tag, ok := splitBookmark(session)
	if !ok {
		return ErrBookmark
	}
	if tag != db.tag || seq <= db.seq.Load() {
		return nil
	}
	c, err := db.reader()
	if err != nil {
		return err
	}
	defer db.release(c)
	n, err := c.queryInt(`SELECT value FROM ` + metaTable + ` WHERE key = 'commit_seq'`)
	if err != nil {
		return sqlError(err)
	}
	for {
		cur := db.seq.Load()
		if cur >= uint64(n) || db.seq.CompareAndSwap(cur, uint64(n)) {
			break
		}
	}
	if seq > db.seq.Load() {
		db.log.Debug("d1: session bookmark ahead of the database; served from the primary", "path", db.path, "bookmark", session, "seq", db.seq.Load())
	}
	return ctx.Err()
}
