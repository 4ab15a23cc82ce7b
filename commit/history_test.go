package commit

import (
	"database/sql"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"
)

// walDB is a SQLite database in WAL mode whose checkpoints the test owns,
// with a tail turning its commits into records of h.
type walDB struct {
	t    *testing.T
	path string
	db   *sql.DB
	tail *WALTail
	h    *History
	seq  uint64
	now  time.Time
}

func openWALDB(t *testing.T, dir string, h *History) *walDB {
	t.Helper()
	path := filepath.Join(dir, "db.sqlite")
	db, err := sql.Open("sqlite3", "file:"+path+"?_journal_mode=WAL&_sync=NORMAL")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	if _, err := db.Exec("PRAGMA wal_autocheckpoint=0; PRAGMA journal_size_limit=1048576"); err != nil {
		t.Fatal(err)
	}
	w := &walDB{t: t, path: path, db: db, tail: NewWALTail(path), h: h, now: time.Now().Add(-30 * time.Minute)}
	w.checkpoint()
	if err := h.SaveBase(path, 1, w.now); err != nil {
		t.Fatal(err)
	}
	w.seq = 1
	return w
}

// exec runs a transaction and records it.
func (w *walDB) exec(stmts ...string) {
	w.t.Helper()
	tx, err := w.db.Begin()
	if err != nil {
		w.t.Fatal(err)
	}
	for _, s := range stmts {
		if _, err := tx.Exec(s); err != nil {
			w.t.Fatalf("%s: %v", s, err)
		}
	}
	if err := tx.Commit(); err != nil {
		w.t.Fatal(err)
	}
	w.record()
}

func (w *walDB) record() {
	w.t.Helper()
	frames, size, page, ok, err := w.tail.Next()
	if err != nil {
		w.t.Fatal(err)
	}
	if !ok {
		return
	}
	w.seq++
	w.now = w.now.Add(time.Second)
	rec := &Record{Kind: KindCommit, DB: "test", Seq: w.seq, Time: w.now, PageSize: page, DBSize: size, Frames: frames, WAL: w.tail.Pos()}
	if err := w.h.Append(rec); err != nil {
		w.t.Fatal(err)
	}
	if err := w.h.Sync(); err != nil {
		w.t.Fatal(err)
	}
}

func (w *walDB) checkpoint() {
	w.t.Helper()
	w.record() // nothing may be folded unread
	if _, err := w.db.Exec("PRAGMA wal_checkpoint(PASSIVE)"); err != nil {
		w.t.Fatal(err)
	}
}

// dump returns every row of table t of the database at path, in order.
func dump(t *testing.T, db *sql.DB) string {
	t.Helper()
	rows, err := db.Query("SELECT k, v FROM t ORDER BY k")
	if err != nil {
		if strings.Contains(err.Error(), "no such table") {
			return "<none>"
		}
		t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var k int
		var v string
		if err := rows.Scan(&k, &v); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%d=%d;", k, len(v))
		b.WriteString(v[:min(8, len(v))])
	}
	return b.String()
}

func dumpFile(t *testing.T, path string) string {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Ping(); err != nil {
		t.Fatal(err)
	}
	return dump(t, db)
}

// A model check of records: random transactions (inserts, updates,
// deletes, big values that grow and shrink the file, VACUUM), checkpoints
// at random; the state built from the history at every sequence number
// equals the database's state then. Small segments and snapshots make it
// roll, snapshot and compact too.
func TestHistoryBuildsEveryState(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("HISTORY_SEED"); s != "" {
		fmt.Sscan(s, &seed)
	}
	t.Logf("seed %d (HISTORY_SEED replays)", seed)
	r := rand.New(rand.NewPCG(seed, 7))
	dir := t.TempDir()
	h, err := OpenHistory(filepath.Join(dir, "history"), "test", HistoryOptions{SegmentBytes: 64 << 10, SnapshotBytes: 256 << 10, Retention: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	w := openWALDB(t, dir, h)
	states := map[uint64]string{1: dump(t, w.db)}
	w.exec("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)")
	states[w.seq] = dump(t, w.db)
	for range 150 {
		var stmts []string
		for range 1 + r.IntN(4) {
			k := r.IntN(50)
			switch r.IntN(5) {
			case 0, 1:
				stmts = append(stmts, fmt.Sprintf("INSERT OR REPLACE INTO t VALUES (%d, printf('%%.*c', %d, 'a') || '%d')", k, r.IntN(6000), r.Uint32()))
			case 2:
				stmts = append(stmts, fmt.Sprintf("UPDATE t SET v = v || 'x%d' WHERE k %% 7 = %d", r.IntN(10), k%7))
			case 3:
				stmts = append(stmts, fmt.Sprintf("DELETE FROM t WHERE k > %d", 25+k))
			case 4:
				stmts = append(stmts, fmt.Sprintf("INSERT OR IGNORE INTO t VALUES (%d, 'small')", k))
			}
		}
		w.exec(stmts...)
		states[w.seq] = dump(t, w.db)
		switch r.IntN(12) {
		case 0:
			w.checkpoint()
		case 1:
			if _, err := w.db.Exec("VACUUM"); err != nil {
				t.Fatal(err)
			}
			w.record()
			states[w.seq] = dump(t, w.db)
		}
	}
	h.Close() // background compactions (periodic snapshots) done
	checkStates(t, h, dir, states)
	// A compaction with everything older than the window: the window moves
	// to the last record of a sealed segment, the rest still builds.
	if err := h.Compact(w.now.Add(time.Hour + 30*time.Second)); err != nil {
		t.Fatal(err)
	}
	if oldest, _, _ := h.Window(); oldest <= 1 {
		t.Fatalf("compaction kept the window from %d", oldest)
	}
	checkStates(t, h, dir, states)
	// Reopened, the history knows its last record and where the WAL was.
	last := h.Last()
	h.Close()
	h2, err := OpenHistory(filepath.Join(dir, "history"), "test", HistoryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := h2.Last(); got.Seq != last.Seq || got.WAL != last.WAL {
		t.Fatalf("reopened: last %+v, want %+v", got, last)
	}
	if err := NewWALTail(w.path).Resume(last.WAL); err != nil {
		t.Fatalf("resume: %v", err)
	}
}

func checkStates(t *testing.T, h *History, dir string, states map[uint64]string) {
	t.Helper()
	oldest, newest, _ := h.Window()
	built := 0
	for seq := uint64(1); seq <= newest; seq++ {
		want, ok := states[seq]
		if !ok {
			continue
		}
		out := filepath.Join(dir, fmt.Sprintf("built-%d.db", seq))
		err := h.Build(seq, out)
		if seq < oldest {
			if err == nil {
				t.Fatalf("seq %d before the window %d built", seq, oldest)
			}
			continue
		}
		if err != nil {
			t.Fatalf("build %d: %v", seq, err)
		}
		if got := dumpFile(t, out); got != want {
			t.Fatalf("seq %d: built state differs\n got %.200s\nwant %.200s", seq, got, want)
		}
		os.Remove(out)
		built++
	}
	t.Logf("window [%d, %d]: %d states built and compared", oldest, newest, built)
}

// A torn record at the end of the last segment (a crash mid-append) is cut
// off on open; the records before it stay.
func TestHistoryTornTail(t *testing.T) {
	dir := t.TempDir()
	h, err := OpenHistory(dir, "x", HistoryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	page := make([]byte, 512)
	for seq := uint64(1); seq <= 3; seq++ {
		if err := h.Append(&Record{Kind: KindCommit, DB: "x", Seq: seq, Time: time.Unix(int64(seq), 0), PageSize: 512, DBSize: 1, Frames: []Frame{{1, page}}}); err != nil {
			t.Fatal(err)
		}
	}
	h.Sync()
	end := h.segs[0].size // the records' end: the file goes on with preallocated zeros
	h.Close()
	seg := filepath.Join(dir, fmt.Sprintf("seg-%016x.log", 1))
	if err := os.Truncate(seg, end-10); err != nil { // into the third record only (compressed, it is small)
		t.Fatal(err)
	}
	h, err = OpenHistory(dir, "x", HistoryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := h.Last().Seq; got != 2 {
		t.Fatalf("last = %d after a torn third record, want 2", got)
	}
	if err := h.Append(&Record{Kind: KindCommit, DB: "x", Seq: 3, Time: time.Unix(3, 0)}); err != nil {
		t.Fatal(err)
	}
}

func TestRecordRoundTrip(t *testing.T) {
	in := &Record{Kind: KindRestore, DB: "d1/abc", Seq: 42, Time: time.Unix(5, 6), PageSize: 4, DBSize: 2, From: 7,
		WAL: WALPos{1, 2, 3, 4, 5}, Frames: []Frame{{1, []byte("abcd")}, {2, []byte("efgh")}}}
	b, err := in.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var out Record
	if err := out.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(*in) != fmt.Sprint(out) {
		t.Fatalf("round trip: %+v != %+v", out, *in)
	}
	for n := range b {
		if err := new(Record).UnmarshalBinary(b[:n]); err == nil && n < len(b) {
			// Truncations that still decode must at least not panic; the
			// CRC of the segment catches them.
			continue
		}
	}
}

// Records of typical pages (mostly free space, repeated values) are stored
// compressed; they decode to the same pages, small ones stay as they are,
// and a damaged compressed record is an error, not a panic.
func TestRecordCompressed(t *testing.T) {
	page := func(fill string) []byte {
		p := make([]byte, 4096)
		copy(p[100:], strings.Repeat(fill, 40))
		return p
	}
	in := &Record{Kind: KindCommit, DB: "objects/A/x", Seq: 9, Time: time.Unix(1, 2), PageSize: 4096, DBSize: 3,
		WAL: WALPos{1, 2, 3, 4, 5}, Frames: []Frame{{1, page("header")}, {2, page("row 1 value;")}, {3, page("another row")}}}
	b, err := in.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	raw := recordHeader + len(in.DB) + 3*(4+4096)
	if b[0]&compressedFrames == 0 || len(b) > raw/4 {
		t.Fatalf("%d bytes encoded (flag %#x) for %d bytes of record", len(b), b[0], raw)
	}
	var out Record
	if err := out.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(*in) != fmt.Sprint(out) {
		t.Fatal("compressed record did not round-trip")
	}
	small := &Record{Kind: KindCommit, DB: "x", Seq: 1, PageSize: 64, DBSize: 1, Frames: []Frame{{1, make([]byte, 64)}}}
	if b, _ := small.MarshalBinary(); b[0]&compressedFrames != 0 {
		t.Fatal("a record of 68 bytes of frames was compressed")
	}
	for i := recordHeader + len(in.DB); i < len(b); i += 7 {
		bad := append([]byte(nil), b...)
		bad[i] ^= 0x5a
		var r Record
		if err := r.UnmarshalBinary(bad); err == nil && fmt.Sprint(r) == fmt.Sprint(*in) {
			t.Fatalf("byte %d flipped: decoded as the original", i)
		}
	}
	// A header claiming huge frames is refused before any allocation.
	huge := append([]byte(nil), b...)
	binary.LittleEndian.PutUint32(huge[59:], 1<<31)
	if err := new(Record).UnmarshalBinary(huge); err == nil {
		t.Fatal("a record claiming 2^31 frames decoded")
	}
}

// A history reopened with several sealed segments builds every state: the
// sizes of the segments not read since the open are found before they are
// scanned (it used to fail with "history: EOF" until a compaction had
// indexed them).
func TestHistoryReopenedBuilds(t *testing.T) {
	dir := t.TempDir()
	opts := HistoryOptions{SegmentBytes: 300}
	h, err := OpenHistory(filepath.Join(dir, "history"), "test", opts)
	if err != nil {
		t.Fatal(err)
	}
	w := openWALDB(t, dir, h)
	w.exec("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)")
	states := map[uint64]string{}
	for k := range 6 {
		w.exec(fmt.Sprintf("INSERT INTO t VALUES (%d, 'v%d')", k, k))
		states[w.seq] = dump(t, w.db)
	}
	h.Close()
	h2, err := OpenHistory(filepath.Join(dir, "history"), "test", opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(h2.segs) < 3 {
		t.Fatalf("%d segments: the test needs several", len(h2.segs))
	}
	checkStates(t, h2, dir, states)
}
