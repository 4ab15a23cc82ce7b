package lazyfs

import (
	"bytes"
	"database/sql"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	_ "github.com/mattn/go-sqlite3"
)

// mount mounts a lazy view of a fresh backing directory; it skips the test
// where FUSE mounts are not possible (no /dev/fuse, not root, no
// CAP_SYS_ADMIN in a container).
func mount(t *testing.T) (l *FS, mnt, backing string) {
	t.Helper()
	mnt, backing = t.TempDir(), t.TempDir()
	l, err := Mount(mnt, backing)
	if err != nil {
		t.Skipf("FUSE not available: %v", err)
	}
	cleanup(t, l)
	return l, mnt, backing
}

// remount mounts backing again, after a cut; now it must work.
func remount(t *testing.T, mnt, backing string) *FS {
	t.Helper()
	l, err := Mount(mnt, backing)
	if err != nil {
		t.Fatal(err)
	}
	cleanup(t, l)
	return l
}

func cleanup(t *testing.T, l *FS) {
	t.Cleanup(func() {
		if err := l.Unmount(); err != nil {
			t.Error(err)
		}
	})
}

// cut cuts the power and mounts again.
func cut(t *testing.T, l *FS, mnt, backing string) *FS {
	t.Helper()
	if err := l.Unmount(); err != nil {
		t.Fatal(err)
	}
	return remount(t, mnt, backing)
}

func writeFile(t *testing.T, path string, data []byte, syncFile bool) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	if syncFile {
		if err := f.Sync(); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func syncDir(t *testing.T, dir string) {
	t.Helper()
	d, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		t.Fatal(err)
	}
}

// readOrGone returns a file's contents, or "gone" if it does not exist.
func readOrGone(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "gone"
	} else if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The durability model, case by case: what a cut leaves.
func TestCutDropsWhatWasNotSynced(t *testing.T) {
	cases := []struct {
		name string
		// before runs with the file "f" durable with contents "old".
		before func(t *testing.T, mnt string)
		want   map[string]string // file → contents after the cut ("gone": absent)
	}{
		{"write without sync is gone", func(t *testing.T, mnt string) {
			writeFile(t, mnt+"/f", []byte("new"), false)
		}, map[string]string{"f": "old"}},
		{"write then fsync is kept", func(t *testing.T, mnt string) {
			writeFile(t, mnt+"/f", []byte("newer"), true)
		}, map[string]string{"f": "newer"}},
		{"new file synced but not its directory is gone", func(t *testing.T, mnt string) {
			writeFile(t, mnt+"/g", []byte("g"), true)
		}, map[string]string{"f": "old", "g": "gone"}},
		{"new file and directory synced is kept", func(t *testing.T, mnt string) {
			writeFile(t, mnt+"/g", []byte("g"), true)
			syncDir(t, mnt)
		}, map[string]string{"f": "old", "g": "g"}},
		{"directory synced before the file's data: entry kept, data not", func(t *testing.T, mnt string) {
			writeFile(t, mnt+"/g", []byte("g"), false)
			syncDir(t, mnt)
		}, map[string]string{"g": ""}},
		{"rename without directory sync keeps the old name", func(t *testing.T, mnt string) {
			writeFile(t, mnt+"/tmp", []byte("tmp"), true)
			if err := os.Rename(mnt+"/tmp", mnt+"/f"); err != nil {
				t.Fatal(err)
			}
			if got := readOrGone(t, mnt+"/f"); got != "tmp" {
				t.Fatalf("before the cut f = %q, want the renamed file", got)
			}
		}, map[string]string{"f": "old", "tmp": "gone"}},
		{"rename with directory sync replaces", func(t *testing.T, mnt string) {
			writeFile(t, mnt+"/tmp", []byte("tmp"), true)
			if err := os.Rename(mnt+"/tmp", mnt+"/f"); err != nil {
				t.Fatal(err)
			}
			syncDir(t, mnt)
		}, map[string]string{"f": "tmp", "tmp": "gone"}},
		{"unlink without directory sync comes back", func(t *testing.T, mnt string) {
			if err := os.Remove(mnt + "/f"); err != nil {
				t.Fatal(err)
			}
		}, map[string]string{"f": "old"}},
		{"unlink with directory sync is gone", func(t *testing.T, mnt string) {
			if err := os.Remove(mnt + "/f"); err != nil {
				t.Fatal(err)
			}
			syncDir(t, mnt)
		}, map[string]string{"f": "gone"}},
		{"truncate without sync is undone", func(t *testing.T, mnt string) {
			if err := os.Truncate(mnt+"/f", 1); err != nil {
				t.Fatal(err)
			}
		}, map[string]string{"f": "old"}},
		{"truncate and regrow reads zeros, synced", func(t *testing.T, mnt string) {
			f, err := os.OpenFile(mnt+"/f", os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if err := f.Truncate(1); err != nil {
				t.Fatal(err)
			}
			if _, err := f.WriteAt([]byte("x"), 4); err != nil {
				t.Fatal(err)
			}
			if err := f.Sync(); err != nil {
				t.Fatal(err)
			}
		}, map[string]string{"f": "o\x00\x00\x00x"}},
		{"file in a new directory needs both directories synced", func(t *testing.T, mnt string) {
			if err := os.Mkdir(mnt+"/d", 0o755); err != nil {
				t.Fatal(err)
			}
			writeFile(t, mnt+"/d/g", []byte("g"), true)
			syncDir(t, mnt+"/d") // the parent is not synced: d is not durable
		}, map[string]string{"d/g": "gone"}},
		{"file in a new directory, all synced", func(t *testing.T, mnt string) {
			if err := os.Mkdir(mnt+"/d", 0o755); err != nil {
				t.Fatal(err)
			}
			writeFile(t, mnt+"/d/g", []byte("g"), true)
			syncDir(t, mnt+"/d")
			syncDir(t, mnt)
		}, map[string]string{"d/g": "g"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l, mnt, backing := mount(t)
			writeFile(t, mnt+"/f", []byte("old"), true)
			syncDir(t, mnt)
			c.before(t, mnt)
			l = cut(t, l, mnt, backing)
			for name, want := range c.want {
				if got := readOrGone(t, filepath.Join(mnt, name)); got != want {
					t.Errorf("after the cut %s = %q, want %q", name, got, want)
				}
				// The backing directory holds the same: it is what the cut left.
				if got := readOrGone(t, filepath.Join(backing, name)); got != want {
					t.Errorf("backing %s = %q, want %q", name, got, want)
				}
			}
		})
	}
}

// Unsynced data is read back while mounted, across pages and at offsets,
// and writes in the middle of synced data keep the rest.
func TestReadYourWrites(t *testing.T) {
	l, mnt, backing := mount(t)
	big := bytes.Repeat([]byte("0123456789abcdef"), 1000) // 16000 bytes, 4 pages
	writeFile(t, mnt+"/f", big, true)
	syncDir(t, mnt)
	f, err := os.OpenFile(mnt+"/f", os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("XYZ"), 4094); err != nil { // across a page boundary
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("END"), 20000); err != nil { // past the end: a hole
		t.Fatal(err)
	}
	f.Close()
	want := append(append([]byte{}, big...), make([]byte, 4000)...)
	copy(want[4094:], "XYZ")
	want = append(want, "END"...)
	if got, _ := os.ReadFile(mnt + "/f"); !bytes.Equal(got, want) {
		t.Fatalf("read back %d bytes, differ from the %d written", len(got), len(want))
	}
	if st := l.Stats(); st.Writes == 0 || st.FileSyncs != 1 || st.DirSyncs != 1 {
		t.Fatalf("stats %+v", st)
	}
	l = cut(t, l, mnt, backing)
	if got, _ := os.ReadFile(mnt + "/f"); !bytes.Equal(got, big) {
		t.Fatal("after the cut: want the synced contents")
	}
}

// After a cut, the file system refuses work until mounted again.
func TestCutFailsLaterCalls(t *testing.T) {
	l, mnt, _ := mount(t)
	f, err := os.Create(mnt + "/f")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	l.Cut()
	_, err = f.Write([]byte("x"))
	if !errors.Is(err, syscall.EIO) {
		t.Fatalf("write after cut: %v, want EIO", err)
	}
	if err := f.Sync(); !errors.Is(err, syscall.EIO) {
		t.Fatalf("fsync after cut: %v, want EIO", err)
	}
}

// SQLite in WAL mode (with its mmap'd -shm) runs on the mount: a committed
// transaction whose WAL was synced survives a cut, one that was not synced
// is gone and the database stays consistent.
func TestSQLiteWAL(t *testing.T) {
	l, mnt, backing := mount(t)
	open := func() *sql.DB {
		db, err := sql.Open("sqlite3", "file:"+mnt+"/db.sqlite?_journal_mode=WAL&_synchronous=NORMAL")
		if err != nil {
			t.Fatal(err)
		}
		db.SetMaxOpenConns(1)
		return db
	}
	db := open()
	mustExec := func(q string) {
		t.Helper()
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	mustExec("CREATE TABLE t (x)")
	mustExec("INSERT INTO t VALUES (1)")
	for _, p := range []string{"/db.sqlite", "/db.sqlite-wal"} {
		f, err := os.OpenFile(mnt+p, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	syncDir(t, mnt)
	mustExec("INSERT INTO t VALUES (2)") // committed, never synced
	var n int
	if err := db.QueryRow("SELECT count(*) FROM t").Scan(&n); err != nil || n != 2 {
		t.Fatalf("before the cut: %d rows, %v", n, err)
	}
	if _, err := os.Stat(mnt + "/db.sqlite-shm"); err != nil {
		t.Fatalf("no -shm: %v (the test wants SQLite's shared-memory index on the mount)", err)
	}
	// The power goes: the connection's close (which would checkpoint) fails.
	l.Cut()
	db.Close()
	l = cut(t, l, mnt, backing)
	db = open()
	defer db.Close()
	var sum int
	if err := db.QueryRow("SELECT count(*), sum(x) FROM t").Scan(&n, &sum); err != nil {
		t.Fatal(err)
	}
	if n != 1 || sum != 1 {
		t.Fatalf("after the cut: %d rows summing to %d, want the synced row only", n, sum)
	}
	var ok string
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&ok); err != nil || ok != "ok" {
		t.Fatalf("integrity_check: %q %v", ok, err)
	}
}

// FailSync models a failed write-back as Linux reports it: fsync fails
// once, the data stays readable, the next fsync succeeds, and the data is
// still not durable.
func TestFailSync(t *testing.T) {
	l, mnt, backing := mount(t)
	writeFile(t, mnt+"/f", []byte("old"), true)
	syncDir(t, mnt)
	f, err := os.OpenFile(mnt+"/f", os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("new"), 0); err != nil {
		t.Fatal(err)
	}
	l.FailSync("/f")
	if err := f.Sync(); !errors.Is(err, syscall.EIO) {
		t.Fatalf("fsync: %v, want EIO", err)
	}
	if err := f.Sync(); err != nil {
		t.Fatalf("second fsync: %v, want success (the error was reported once)", err)
	}
	f.Close()
	if got := readOrGone(t, mnt+"/f"); got != "new" {
		t.Fatalf("read after the failed sync: %q, want the data still cached", got)
	}
	if st := l.Stats(); st.Failed != 1 {
		t.Fatalf("stats %+v", st)
	}
	cut(t, l, mnt, backing)
	if got := readOrGone(t, mnt+"/f"); got != "old" {
		t.Fatalf("after the cut: %q, want the data of the failed sync lost", got)
	}
}
