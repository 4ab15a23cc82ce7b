package objects

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairn-dev/cairn/clone"
	"github.com/cairn-dev/cairn/internal/gatesim"
	"github.com/cairn-dev/cairn/storage"
)

// The gate simulation (see package gatesim): seeded random interleavings of
// events of Go objects, their writes, commits held back and syncs that
// fail, evictions and restarts. Rerun a failure with its seed:
//
//	go test -tags "sqlite_fts5 sqlite_math_functions" ./objects -run GateSimulation -gateprop.seed=N
var (
	simSeed = flag.Uint64("gateprop.seed", 0, "seed of the gate simulations (0: a random one)")
	simN    = flag.Int("gateprop.n", 2000, "events per gate simulation")
)

// What the events of a Go object do. Each runs as one turn (a Go event
// runs to completion), so every group of writes is atomic and isolated.
var goSimPatterns = []struct {
	p      *gatesim.Pattern
	weight int
}{
	{&gatesim.Pattern{Name: "kv", Pair: "kv", Units: 1, Atomic: true, Isolated: true}, 12},
	{&gatesim.Pattern{Name: "sql", Pair: "sql", Units: 1, Atomic: true, Isolated: true}, 10},
	{&gatesim.Pattern{Name: "tx", Pair: "tx", Units: 1, Atomic: true, Isolated: true}, 8},
	// The object's code fails after writing: the writes commit, the error
	// leaves through the output gate.
	{&gatesim.Pattern{Name: "error", Pair: "kv", Units: 1, Atomic: true, Isolated: true}, 3},
	{&gatesim.Pattern{Name: "panic", Pair: "sql", Units: 1, Atomic: true, Isolated: true}, 2},
	// Writes that are always undone: a transaction that fails, an abort
	// (spec 17) and a commit that fails (spec 20) resetting the object.
	{&gatesim.Pattern{Name: "txrollback", Pair: "tx", Units: 1, RolledBack: true}, 3},
	{&gatesim.Pattern{Name: "abort", Pair: "kv", Units: 1, RolledBack: true}, 2},
	{&gatesim.Pattern{Name: "fkfail", Pair: "sql", Units: 1, RolledBack: true}, 2},
	{&gatesim.Pattern{Name: "read", Read: true}, 30},
}

var errSimRollback = errors.New("sim: roll the transaction back")

// simGoObject is the Go Durable Object of the simulation: its RPC method
// "op" and its fetch handler run one event of a pattern.
type simGoObject struct {
	st *State
	m  *gatesim.Model
}

func newSimGoClass(m *gatesim.Model) Class {
	return NewGoClass(func(st *State) (any, error) {
		m.Log.Attach(st.gate.obj.Storage, st.ID.String())
		// Object o0 creates its tables on every start, which is a write;
		// the others only on their first: most of their starts write
		// nothing, so their first answers wait for no commit of their own.
		if st.Name != "o0" {
			if _, err := st.Storage.Exec("SELECT count(*) FROM child"); err == nil {
				return &simGoObject{st: st, m: m}, nil
			}
		}
		if _, err := st.Storage.Exec(`CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v TEXT);
			CREATE TABLE IF NOT EXISTS parent (id INTEGER PRIMARY KEY);
			CREATE TABLE IF NOT EXISTS child (p INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED)`); err != nil {
			return nil, err
		}
		return &simGoObject{st: st, m: m}, nil
	})
}

func (o *simGoObject) put(k, v string) error { return o.st.Storage.Put(k, v) }

func (o *simGoObject) sqlPut(k, v string) error {
	_, err := o.st.Storage.Exec("INSERT INTO kv VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v", k, v)
	return err
}

// group writes the records and the pair of event id with value v through
// put: first record, a, b, last record.
func group(id int, pair, v string, put func(k, v string) error) error {
	for _, k := range []string{gatesim.RecordKey(id, true), pair + ":a", pair + ":b", gatesim.RecordKey(id, false)} {
		if err := put(k, v); err != nil {
			return err
		}
	}
	return nil
}

// op runs event id of pattern name and returns its answer.
func (o *simGoObject) op(id int, name string) (string, error) {
	st := o.st
	wrote := func() { o.m.Wrote(st.gate.obj.Storage, id, 1, o.m.Instance(st.gate, st.gate.Generation())) }
	v, r := gatesim.Value(id, 1), gatesim.RolledBackValue(id)
	var err error
	switch name {
	case "kv", "error":
		err = group(id, "kv", v, o.put)
	case "sql", "panic":
		err = group(id, "sql", v, o.sqlPut)
	case "tx":
		err = st.Storage.Transaction(func() error { return group(id, "tx", v, o.put) })
	case "txrollback":
		if err = st.Storage.Transaction(func() error {
			if err := group(id, "tx", r, o.put); err != nil {
				return err
			}
			return errSimRollback
		}); errors.Is(err, errSimRollback) {
			err = nil
		}
	case "abort":
		if err = group(id, "kv", r, o.put); err == nil {
			st.Abort("sim: abort")
		}
	case "fkfail":
		if err = group(id, "sql", r, o.sqlPut); err == nil {
			_, err = st.Storage.Exec("INSERT INTO child VALUES (?)", 1_000_000+id) // fails at commit
		}
	case "read":
		o.m.Mark(id)
		return o.read()
	default:
		err = fmt.Errorf("no pattern %q", name)
	}
	if err != nil {
		return "", err
	}
	switch name {
	case "kv", "sql", "tx", "error", "panic":
		wrote()
	}
	o.m.Mark(id)
	switch name {
	case "error":
		return "", errors.New("sim: the object fails after writing")
	case "panic":
		panic("sim: the object panics after writing")
	}
	return "ok", nil
}

// simRead is what a reader answers: the object's records and pairs, KV
// and SQL, read in one turn, and the instance that read them.
type simRead struct {
	In   int               `json:"in"`
	Data map[string]string `json:"data"`
}

func (o *simGoObject) read() (string, error) {
	out := simRead{In: o.m.Instance(o.st.gate, o.st.gate.Generation()), Data: make(map[string]string)}
	kvs, err := o.st.Storage.List(storage.ListOptions{})
	if err != nil {
		return "", err
	}
	for _, kv := range kvs {
		out.Data[kv.Key], _ = kv.Value.(string)
	}
	cur, err := o.st.Storage.Exec("SELECT k, v FROM kv")
	if err != nil {
		return "", err
	}
	for {
		row, ok, err := cur.Next()
		if err != nil {
			return "", err
		}
		if !ok {
			break
		}
		out.Data[row[0].(string)] = row[1].(string)
	}
	b, err := json.Marshal(out)
	return string(b), err
}

func (o *simGoObject) RPC(ctx context.Context, method string, args []any) (any, error) {
	if method != "op" || len(args) != 2 {
		return nil, fmt.Errorf("no method %q", method)
	}
	id, _ := args[0].(float64)
	name, _ := args[1].(string)
	return o.op(int(id), name)
}

func (o *simGoObject) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id, _ := strconv.Atoi(r.URL.Query().Get("id"))
	out, err := o.op(id, r.URL.Query().Get("p"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	io.WriteString(w, out)
}

// goSim is one run of the simulation.
type goSim struct {
	t       *testing.T
	m       *gatesim.Model
	log     *gatesim.Log
	dir     string
	objects []string

	mu   sync.Mutex // guards host
	host *Host
	ns   *Namespace

	evictions atomic.Int64
	restarts  int
}

func (s *goSim) open() {
	catalog, err := OpenCatalog(s.dir)
	if err != nil {
		s.t.Fatal(err)
	}
	h := NewHost(catalog, slog.New(slog.NewTextHandler(io.Discard, nil)))
	h.SetCommitLog(s.log)
	h.Register("Sim", newSimGoClass(s.m))
	ns, err := h.Namespace("Sim")
	if err != nil {
		s.t.Fatal(err)
	}
	s.mu.Lock()
	s.host, s.ns = h, ns
	s.mu.Unlock()
}

func (s *goSim) current() (*Host, *Namespace) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.host, s.ns
}

// run sends event e to its object, by RPC or fetch, and records how it
// ended in the model.
func (s *goSim) run(e *gatesim.Event, rpc bool) {
	h, ns := s.current()
	id := ns.IDFromName(e.Object)
	var (
		out    string
		err    error
		object bool // err is the object's own error, not a reset
	)
	if rpc {
		args, merr := clone.Marshal([]any{float64(e.ID), e.Pattern.Name})
		if merr != nil {
			s.t.Fatal(merr)
		}
		type result struct {
			b   []byte
			err error
		}
		ch := make(chan result, 1)
		h.Call("Sim", id, e.Object, []string{"op"}, args, func(b []byte, err error) { ch <- result{b, err} })
		select {
		case r := <-ch:
			if err = r.err; err == nil {
				var v any
				if v, err = clone.Unmarshal(r.b); err == nil {
					out, _ = v.(string)
				}
			}
			var reset *ResetError
			object = err != nil && !errors.As(err, &reset)
		case <-time.After(20 * time.Second):
			e.TimedOut()
			return
		}
	} else {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		q := url.Values{"id": {strconv.Itoa(e.ID)}, "p": {e.Pattern.Name}}
		resp, ferr := h.Fetch(ctx, "Sim", id, e.Object, httptest.NewRequest("GET", "http://sim/?"+q.Encode(), nil))
		switch {
		case errors.Is(ferr, context.DeadlineExceeded):
			e.TimedOut()
			return
		case ferr != nil:
			var reset *ResetError
			err, object = ferr, !errors.As(ferr, &reset)
		default:
			b, _ := io.ReadAll(resp.Body)
			out = string(b)
			if resp.StatusCode != http.StatusOK {
				err, object = errors.New(out), true
			}
		}
	}
	switch {
	case err != nil && object:
		e.Refused(err.Error())
	case err != nil:
		e.Failed(err.Error())
	case e.Pattern.Read:
		var r simRead
		if jerr := json.Unmarshal([]byte(out), &r); jerr != nil {
			s.t.Errorf("event %d: bad answer %q: %v", e.ID, out, jerr)
			return
		}
		e.Acked(r.Data, r.In)
	default:
		e.Acked(nil, 0)
	}
}

// TestGateSimulationGo runs the gate simulation on Durable Objects written
// in Go, called from several goroutines through Host.Call and Host.Fetch,
// while a fake disk holds their commits back, releases them in random
// batches and fails some syncs, and objects are evicted and the host
// restarted. It checks the invariants of package gatesim: answers wait for
// durability (spec 20), no event sees another half done (spec 18, 22), and
// resets lose only unacknowledged writes (spec 16, 17, 20).
func TestGateSimulationGo(t *testing.T) {
	seed := gatesim.Seed(t, *simSeed)
	start := time.Now()
	log := gatesim.NewLog()
	log.CallSync = true
	s := &goSim{t: t, log: log, m: gatesim.NewModel(log), dir: t.TempDir(), objects: []string{"o0", "o1", "o2"}}
	s.open()

	var total int
	for _, p := range goSimPatterns {
		total += p.weight
	}
	pick := func(r *rand.Rand) *gatesim.Pattern {
		n := r.IntN(total)
		for _, p := range goSimPatterns {
			if n -= p.weight; n < 0 {
				return p.p
			}
		}
		panic("unreachable")
	}

	const callers, phases = 8, 3
	perPhase := max(1, *simN/(callers*phases))
	for phase := range phases {
		stop := make(chan struct{})
		var bg sync.WaitGroup
		// The disk: releases batches of commits at random moments, now and
		// then holding everything for a while, and fails a few syncs.
		bg.Add(1)
		go func() {
			defer bg.Done()
			r := rand.New(rand.NewPCG(seed, uint64(phase)<<32|1))
			for {
				select {
				case <-stop:
					return
				default:
				}
				d := time.Duration(r.IntN(200)) * time.Microsecond
				if r.IntN(20) == 0 {
					d = time.Duration(1+r.IntN(5)) * time.Millisecond // hold everything back
				}
				time.Sleep(d)
				log.Step(r, 0.04)
			}
		}()
		// The sweeper: evicts an object now and then (only an idle one goes).
		bg.Add(1)
		go func() {
			defer bg.Done()
			r := rand.New(rand.NewPCG(seed, uint64(phase)<<32|2))
			for {
				select {
				case <-stop:
					return
				case <-time.After(time.Duration(r.IntN(3000)) * time.Microsecond):
				}
				h, ns := s.current()
				if h.Live() > 0 {
					before := h.Live()
					h.evictNow("Sim", ns.IDFromName(s.objects[r.IntN(len(s.objects))]))
					if h.Live() < before {
						s.evictions.Add(1)
					}
				}
			}
		}()
		var callersWG sync.WaitGroup
		for c := range callers {
			callersWG.Add(1)
			go func() {
				defer callersWG.Done()
				r := rand.New(rand.NewPCG(seed, uint64(phase)<<32|uint64(10+c)))
				for range perPhase {
					e := s.m.Issue(s.objects[r.IntN(len(s.objects))], pick(r))
					s.run(e, r.IntN(2) == 0)
				}
			}()
		}
		callersWG.Wait()
		close(stop)
		bg.Wait()
		// Settle: read every object with a disk that keeps up, so that each
		// object's thread has run what the last releases posted to it.
		s.readAll(nil)
		log.ReleaseAll()
		// Restart the host: close it (closing the databases checkpoints
		// them) and open a new one on the same files.
		h, _ := s.current()
		if err := h.Close(); err != nil {
			t.Fatalf("close host: %v", err)
		}
		log.Closed()
		s.open()
		s.restarts++
	}
	// After the last restart: the final state of every object.
	s.readAll(func(object string, data map[string]string) { s.m.Final(object, data) })
	log.ReleaseAll()
	h, _ := s.current()
	if err := h.Close(); err != nil {
		t.Fatalf("close host: %v", err)
	}

	bad := s.m.Check()
	for k, v := range bad {
		if k == 50 {
			t.Errorf("… and %d more violations", len(bad)-k)
			break
		}
		t.Error(v)
	}
	t.Logf("%d events in %v: %s", s.m.Len(), time.Since(start).Round(time.Millisecond), s.m.Counts())
	t.Logf("disk: %v; %d evictions, %d restarts", log.Stats(), s.evictions.Load(), s.restarts)
}

// readAll reads every object once, with a disk that makes everything
// durable meanwhile. final, if set, gets the state read instead of the
// model checking it as an event's.
func (s *goSim) readAll(final func(object string, data map[string]string)) {
	done := make(chan struct{})
	var disk sync.WaitGroup
	disk.Add(1)
	go func() {
		defer disk.Done()
		for {
			select {
			case <-done:
				return
			case <-time.After(100 * time.Microsecond):
				s.log.ReleaseAll()
			}
		}
	}()
	defer disk.Wait()
	defer close(done)
	for _, o := range s.objects {
		e := s.m.Issue(o, goSimPatterns[len(goSimPatterns)-1].p)
		if final == nil {
			s.run(e, false)
			continue
		}
		h, ns := s.current()
		q := url.Values{"id": {strconv.Itoa(e.ID)}, "p": {"read"}}
		resp, err := h.Fetch(context.Background(), "Sim", ns.IDFromName(o), o, httptest.NewRequest("GET", "http://sim/?"+q.Encode(), nil))
		if err != nil {
			s.t.Fatalf("final read of %s: %v", o, err)
		}
		var r simRead
		b, _ := io.ReadAll(resp.Body)
		if err := json.Unmarshal(b, &r); err != nil {
			s.t.Fatalf("final read of %s: %q: %v", o, b, err)
		}
		final(o, r.Data)
	}
}
