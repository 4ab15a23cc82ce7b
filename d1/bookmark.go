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
	parts := strings.Split(b, "-")
	if len(parts) != 4 || len(parts[0]) != 8 || len(parts[1]) != 8 || len(parts[2]) != 8 || parts[3] != db.tag {
		return 0, ErrBookmark
	}
	hi, err1 := strconv.ParseUint(parts[0], 16, 32)
	lo, err2 := strconv.ParseUint(parts[1], 16, 32)
	if err1 != nil || err2 != nil {
		return 0, ErrBookmark
	}
	return hi<<32 | lo, nil
}

// awaitSession checks a session constraint or bookmark and waits until the
// database holds the bookmark's state. On the primary (the only copy today)
// every committed state is present; a bookmark from the future can only
// come from another process writing the same file, so the sequence is read
// again from disk before the bookmark is refused.
func (db *DB) awaitSession(ctx context.Context, session string) error {
	switch session {
	case "", FirstPrimary, FirstUnconstrained:
		return nil
	}
	seq, err := db.ParseBookmark(session)
	if err != nil {
		return err
	}
	if seq <= db.seq.Load() {
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
		return ErrBookmark
	}
	return ctx.Err()
}
