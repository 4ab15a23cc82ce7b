package d1

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The child of TestTimeTravelCrash: writes and restores at random, saying
// before each what the database will hold after it ("P rows") and after
// it what bookmark it got ("A bookmark"), until it is killed.
func TestTimeTravelCrashChild(t *testing.T) {
	dir := os.Getenv("TIMETRAVEL_CHILD")
	if dir == "" {
		t.Skip("run by TestTimeTravelCrash")
	}
	var seed uint64
	fmt.Sscan(os.Getenv("TIMETRAVEL_CHILD_SEED"), &seed)
	r := rand.New(rand.NewPCG(seed, 3))
	m, _ := historyManager(t, dir)
	db, err := m.Open("crash", "crash")
	if err != nil {
		fmt.Println("E", err)
		return
	}
	mustQuery(t, db, "CREATE TABLE IF NOT EXISTS t (k INTEGER PRIMARY KEY, v TEXT)")
	out := bufio.NewWriter(os.Stdout)
	say := func(format string, args ...any) {
		fmt.Fprintf(out, format+"\n", args...)
		out.Flush()
	}
	states := map[string]string{}
	cur := rows(t, db)
	states[db.Bookmark()] = cur
	marks := []string{db.Bookmark()}
	say("A %s %s", db.Bookmark(), cur)
	for {
		if r.IntN(4) == 0 && len(marks) > 1 {
			target := marks[r.IntN(len(marks))]
			say("Q %s", states[target]) // a restore's P
			b, _, err := db.Restore(context.Background(), target)
			if err != nil {
				say("E %v", err)
				return
			}
			cur = states[target]
			states[b] = cur
			marks = append(marks, b)
			say("A %s %s", b, cur)
			continue
		}
		k, v := r.IntN(30), strings.Repeat(string(rune('a'+r.IntN(26))), 1+r.IntN(5000))
		model := parseRows(cur)
		model[k] = v
		next := renderRows(model)
		say("P %s", next)
		if _, _, err := db.Batch(context.Background(), []Statement{{SQL: "INSERT OR REPLACE INTO t VALUES (?, ?)", Params: []any{k, v}}}, ""); err != nil {
			say("E %v", err)
			return
		}
		cur = next
		states[db.Bookmark()] = cur
		marks = append(marks, db.Bookmark())
		say("A %s %s", db.Bookmark(), cur)
	}
}

func parseRows(s string) map[int]string {
	m := map[int]string{}
	for _, kv := range strings.Split(s, ";") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			var n int
			fmt.Sscan(k, &n)
			m[n] = v
		}
	}
	return m
}

func renderRows(m map[int]string) string {
	var b strings.Builder
	for k := range 30 {
		if v, ok := m[k]; ok {
			fmt.Fprintf(&b, "%d=%s;", k, v)
		}
	}
	return b.String()
}

// SIGKILL during writes and restores (spec 70): after each kill the
// database holds the last acknowledged state or the one the interrupted
// operation was making (a restore leaves the old or the restored state,
// never a mix), its history still restores every acknowledged bookmark,
// and the sequence goes on from where it was. TIMETRAVEL_KILLS sets the
// number of kills (default 4); TIMETRAVEL_SEED replays a run.
func TestTimeTravelCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("kills child processes")
	}
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("TIMETRAVEL_SEED"); s != "" {
		fmt.Sscan(s, &seed)
	}
	kills := 4
	if s := os.Getenv("TIMETRAVEL_KILLS"); s != "" {
		fmt.Sscan(s, &kills)
	}
	t.Logf("seed %d (TIMETRAVEL_SEED replays)", seed)
	r := rand.New(rand.NewPCG(seed, 5))
	dir := t.TempDir()
	states := map[string]string{} // every acknowledged bookmark's rows
	for round := range kills {
		cmd := exec.Command(os.Args[0], "-test.run=^TestTimeTravelCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), "TIMETRAVEL_CHILD="+dir, fmt.Sprintf("TIMETRAVEL_CHILD_SEED=%d", r.Uint64()))
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string, 1024)
		go func() {
			sc := bufio.NewScanner(stdout)
			sc.Buffer(nil, 1<<20)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		// Killed at a random moment once it runs (its first line).
		var killAt <-chan time.Time
		delay := time.Duration(100+r.IntN(700)) * time.Millisecond
		var acked, pending string
		var last string
		var restoring bool // pending is a restore's
	read:
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					break read
				}
				switch l[0] {
				case 'P', 'Q':
					pending, restoring = l[2:], l[0] == 'Q'
				case 'A':
					b, rows, _ := strings.Cut(strings.TrimPrefix(l, "A "), " ")
					if last == "" {
						killAt = time.After(delay)
					}
					acked, pending, last = rows, "", b
					states[b] = rows
				case 'E':
					t.Fatalf("round %d: child: %s", round, l)
				}
			case <-killAt:
				cmd.Process.Signal(syscall.SIGKILL)
				killAt = nil
			}
		}
		cmd.Wait()
		if last == "" {
			t.Fatalf("round %d: the child acknowledged nothing", round)
		}
		// Reopen as the next server would and check.
		m, done := historyManager(t, dir)
		db, err := m.Open("crash", "crash")
		if err != nil {
			t.Fatalf("round %d: reopen: %v", round, err)
		}
		got := rows(t, db)
		if got != acked && (pending == "" || got != pending) {
			t.Fatalf("round %d: after SIGKILL the database holds\n%.200s\nneither the acknowledged state\n%.200s\nnor the interrupted operation's\n%.200s", round, got, acked, pending)
		}
		t.Logf("round %d: killed during a %s; %d states acknowledged so far; reopened at %s with the %s state", round, map[bool]string{true: "restore", false: "write"}[restoring], len(states), db.Bookmark(), map[bool]string{true: "acknowledged", false: "interrupted operation's"}[got == acked])
		if db.Bookmark() < last {
			t.Fatalf("round %d: bookmark %s went back before the acknowledged %s", round, db.Bookmark(), last)
		}
		// The history still builds acknowledged states: restore to two.
		var marks []string
		for b := range states {
			marks = append(marks, b)
		}
		for range 2 {
			b := marks[r.IntN(len(marks))]
			if _, _, err := db.Restore(context.Background(), b); err != nil {
				t.Fatalf("round %d: restore %s: %v", round, b, err)
			}
			if got := rows(t, db); got != states[b] {
				t.Fatalf("round %d: restore %s gave\n%.200s\nwant\n%.200s", round, b, got, states[b])
			}
		}
		// Acknowledged states after a restore get new bookmarks: states
		// keeps the old ones, which stay valid.
		done()
	}
}
