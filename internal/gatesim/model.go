package gatesim

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/cairn-dev/cairn/commit"
)

// Pattern is how the events of one kind write. The guest code of a
// simulation implements each pattern with these conventions, so that the
// Model can tell from a read what was written by whom:
//
//   - unit u (1…Units) of event id is one turn's writes, all of value
//     Value(id, u) (RolledBackValue(id) if RolledBack); right after them,
//     in the same turn, the guest calls Model.Wrote(…, id, u, …) unless
//     the writes are rolled back;
//   - the event writes the key RecordKey(id, true) first, in its first
//     unit, and RecordKey(id, false) last, in its last unit;
//   - if Pair is set, it writes Pair+":a" after the first record, in the
//     first unit, and Pair+":b" before the last record, in the last unit;
//   - before it answers, on the object's thread, the guest calls
//     Model.Mark(id).
type Pattern struct {
	Name string
	Pair string // the pair of keys it writes, or ""
	// Units is the number of turns its writes span; 0 for a reader.
	Units int
	// Atomic: its writes commit together: never seen, nor left, half
	// applied (spec 22).
	Atomic bool
	// Isolated: no other event of the same instance runs between its units
	// (the input gate held across storage awaits, spec 18, or by
	// blockConcurrencyWhile or a transaction).
	Isolated bool
	// RolledBack: its writes are always undone (an abort, a failed
	// commit, a rolled-back transaction) and must never be seen.
	RolledBack bool
	// Sync: its answer waits for all its writes, allowUnconfirmed ones
	// too (storage.sync(), spec 24).
	Sync bool
	// Unconfirmed: its writes are allowUnconfirmed and hold no output.
	Unconfirmed bool
	// Read: it reads every record and pair of the object in one turn and
	// answers what it read.
	Read bool
}

// Value is what unit u of event id writes.
func Value(id, unit int) string { return strconv.Itoa(id) + "/" + strconv.Itoa(unit) }

// RolledBackValue is what an event whose writes are always rolled back writes.
func RolledBackValue(id int) string { return strconv.Itoa(id) + "/r" }

// RecordKey is the key event id writes first (first) or last.
func RecordKey(id int, first bool) string {
	if first {
		return "e:" + strconv.Itoa(id) + ":first"
	}
	return "e:" + strconv.Itoa(id) + ":last"
}

// parseValue splits a value written by an event.
func parseValue(v string) (id int, unit string, ok bool) {
	s, u, found := strings.Cut(v, "/")
	if !found {
		return 0, "", false
	}
	id, err := strconv.Atoi(s)
	return id, u, err == nil
}

// Event outcomes.
const (
	running  = iota
	acked    // answered with success
	refused  // answered with the object's own error, through the output gate
	failed   // failed without an answer of the object (a reset)
	timedOut // never answered
)

// Event is one event a simulation sent to an object.
type Event struct {
	ID      int
	Object  string
	Pattern *Pattern

	m       *Model
	mustSee int           // acked events of Object when this one was issued
	writes  map[int]*unit // by unit
	mark    int           // writes of Object before this one ended; -1 until Mark
	outcome int
	reads   map[string]string // what a reader answered
	readIn  int               // the instance it read in (see Model.Instance)
	err     string
}

type unit struct {
	w  *Write
	in int // the instance that wrote it
}

// Model checks what a simulation's callers observe. Its methods are safe
// for concurrent use.
type Model struct {
	Log *Log

	mu        sync.Mutex
	events    []*Event
	objWrites map[string][]*Write // per object, in registration order
	acked     map[string][]int    // per object, the events acked, in order
	gates     map[any]int         // see Instance
	bad       []string
}

// NewModel returns a Model of objects whose commits go to log.
func NewModel(log *Log) *Model {
	return &Model{Log: log, objWrites: make(map[string][]*Write), acked: make(map[string][]int), gates: make(map[any]int)}
}

// Instance returns a number for the instance of an object that a gate
// runs in its generation gen: a reset changes the generation, and an
// eviction or a restart makes a new gate, whose generations start again.
func (m *Model) Instance(gate any, gen int) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	base, ok := m.gates[gate]
	if !ok {
		base = len(m.gates) << 20
		m.gates[gate] = base // keeps gate alive: its address is not reused
	}
	return base + gen
}

// Issue makes a new event of pattern p for object and returns it; its
// ID is what the guest code gets.
func (m *Model) Issue(object string, p *Pattern) *Event {
	m.mu.Lock()
	defer m.mu.Unlock()
	e := &Event{ID: len(m.events), Object: object, Pattern: p, m: m, mustSee: len(m.acked[object]), writes: make(map[int]*unit), mark: -1}
	m.events = append(m.events, e)
	return e
}

func (m *Model) event(id int) *Event {
	m.mu.Lock()
	defer m.mu.Unlock()
	if id < 0 || id >= len(m.events) {
		panic(fmt.Sprintf("gatesim: no event %d", id))
	}
	return m.events[id]
}

// Wrote registers unit u of event id, written through f by instance in
// (see Instance). Call it on the object's thread, in the turn of the
// writes, once they succeeded.
func (m *Model) Wrote(f commit.Syncer, id, u, in int) {
	e := m.event(id)
	w := m.Log.Wrote(f, !e.Pattern.Unconfirmed)
	m.mu.Lock()
	defer m.mu.Unlock()
	e.writes[u] = &unit{w, in}
	m.objWrites[e.Object] = append(m.objWrites[e.Object], w)
}

// Mark records that event id is about to answer: the writes of its object
// so far, its own included, hold its answer (spec 20). Call it on the
// object's thread, in the event's last turn.
func (m *Model) Mark(id int) {
	e := m.event(id)
	m.mu.Lock()
	defer m.mu.Unlock()
	e.mark = len(m.objWrites[e.Object])
}

func (m *Model) violation(format string, args ...any) {
	m.bad = append(m.bad, fmt.Sprintf(format, args...))
}

// Acked records that e's caller got its success answer, with what it read
// (for a reader: key → value, and the instance it read in). It checks
// invariant 1 at once: the answer must not have left before the writes it
// depends on were durable.
func (e *Event) Acked(reads map[string]string, in int) {
	m := e.m
	m.mu.Lock()
	defer m.mu.Unlock()
	if e.mark < 0 {
		m.violation("event %d (%s) answered without calling Mark: the test's guest code is wrong", e.ID, e.Pattern.Name)
	}
	if e.Pattern.Units > 0 && !e.Pattern.RolledBack && len(e.writes) != e.Pattern.Units {
		m.violation("event %d (%s) succeeded with %d of its %d units registered: the test's guest code is wrong", e.ID, e.Pattern.Name, len(e.writes), e.Pattern.Units)
	}
	m.checkAnswer(e, reads, in)
	e.outcome = acked
	e.reads, e.readIn = reads, in
	m.acked[e.Object] = append(m.acked[e.Object], e.ID)
}

// Refused records that e's caller got an error the object's code raised:
// it left through the output gate like a success (invariant 1), but the
// event is not acknowledged.
func (e *Event) Refused(msg string) {
	m := e.m
	m.mu.Lock()
	defer m.mu.Unlock()
	m.checkAnswer(e, nil, -1)
	e.outcome, e.err = refused, msg
}

// Failed records that e failed without an answer of its object: the
// object was reset. Nothing is promised about its writes but atomicity.
func (e *Event) Failed(msg string) {
	m := e.m
	m.mu.Lock()
	defer m.mu.Unlock()
	e.outcome, e.err = failed, msg
}

// TimedOut records that e was never answered: a liveness failure.
func (e *Event) TimedOut() {
	m := e.m
	m.mu.Lock()
	defer m.mu.Unlock()
	e.outcome = timedOut
	m.violation("event %d (%s on %s) was never answered", e.ID, e.Pattern.Name, e.Object)
}

// checkAnswer checks invariant 1 for an answer of e that reached its
// caller now. m.mu is held.
func (m *Model) checkAnswer(e *Event, reads map[string]string, in int) {
	l := m.Log
	l.mu.Lock()
	defer l.mu.Unlock()
	// Its own writes (spec 20; with sync(), unconfirmed ones too, spec 24).
	for u, w := range e.writes {
		if (w.w.gating || e.Pattern.Sync) && !l.durableLocked(w.w) {
			m.violation("spec 20: event %d (%s on %s) answered before its write %s was durable", e.ID, e.Pattern.Name, e.Object, Value(e.ID, u))
		}
	}
	// The writes the object made before it answered (spec 20: the output
	// gate waits for every earlier write).
	if e.mark >= 0 {
		for k, w := range m.objWrites[e.Object][:e.mark] {
			if w.gating && !w.rolledBack && !l.durableLocked(w) {
				m.violation("spec 20: event %d (%s on %s) answered before the object's write #%d, made before, was durable (%s)", e.ID, e.Pattern.Name, e.Object, k, l.stateLocked(w))
			}
		}
	}
	// What it shows (§4.3: no one observes a write that is not durable).
	for key, v := range reads {
		id, u, ok := parseValue(v)
		if !ok || id >= len(m.events) {
			m.violation("event %d read %s=%q: no event wrote that", e.ID, key, v)
			continue
		}
		n, err := strconv.Atoi(u)
		if err != nil {
			continue // a rolled-back value: Check reports it
		}
		w := m.events[id].writes[n]
		if w == nil {
			m.violation("event %d read %s=%q, a write never registered as committed", e.ID, key, v)
			continue
		}
		if w.w.gating && !l.durableLocked(w.w) {
			m.violation("spec 20 (§4.3): event %d (%s on %s, instance %#x) answered %s=%s, written by event %d (%s, instance %#x), before that write was durable (%s)",
				e.ID, e.Pattern.Name, e.Object, in, key, v, id, m.events[id].Pattern.Name, w.in, l.stateLocked(w.w))
		}
	}
}

// Check runs the checks that need every outcome (invariants 2 and 3 on
// what the readers read) and returns every violation found so far.
func (m *Model) Check() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, e := range m.events {
		if e.outcome == acked && e.Pattern.Read {
			m.checkState(fmt.Sprintf("event %d (read in instance %#x)", e.ID, e.readIn), e.Object, e.reads, e.readIn, m.acked[e.Object][:e.mustSee])
		}
	}
	return append([]string(nil), m.bad...)
}

// Final checks the state of object read after everything ended (after a
// restart): every acknowledged write is there, no atomic group is half
// applied, nothing rolled back is.
func (m *Model) Final(object string, reads map[string]string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.checkState("the final read of "+object, object, reads, -1, m.acked[object])
}

// checkState checks a state of object as one read showed it, in instance
// in (-1: after the end); mustSee are the events acked before the read
// began. m.mu is held.
func (m *Model) checkState(who, object string, reads map[string]string, in int, mustSee []int) {
	// Nothing rolled back is ever seen (spec 16, 17, 20).
	keys := make([]string, 0, len(reads))
	for k := range reads {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := reads[k]
		if id, u, ok := parseValue(v); ok && u == "r" {
			m.violation("%s saw %s=%s, a write of event %d (%s) that was rolled back", who, k, v, id, m.events[id].Pattern.Name)
		}
	}
	// Acknowledged writes stay (invariant 3).
	for _, id := range mustSee {
		e := m.events[id]
		if e.Pattern.Units == 0 {
			continue
		}
		for _, first := range []bool{true, false} {
			k := RecordKey(id, first)
			_, present := reads[k]
			switch {
			case e.Pattern.RolledBack && present:
				// reported above
			case !e.Pattern.RolledBack && !present:
				m.violation("%s: %s of event %d (%s), acknowledged before, is missing", who, k, id, e.Pattern.Name)
			}
		}
	}
	// No half-done group (invariant 2, spec 18, 22): the records of every
	// event, and each pair.
	for _, e := range m.events {
		if e.Object != object || e.Pattern.Units == 0 || e.Pattern.RolledBack {
			continue
		}
		first, hasFirst := reads[RecordKey(e.ID, true)]
		_, hasLast := reads[RecordKey(e.ID, false)]
		if hasLast && !hasFirst {
			m.violation("%s saw the last record of event %d (%s) without its first", who, e.ID, e.Pattern.Name)
		}
		if hasFirst && !hasLast {
			m.half(who, e, in, RecordKey(e.ID, true)+"="+first+" without "+RecordKey(e.ID, false))
		}
	}
	for _, p := range m.pairs(object) {
		a, hasA := reads[p+":a"]
		b, hasB := reads[p+":b"]
		ida, _, _ := parseValue(a)
		idb, _, _ := parseValue(b)
		switch {
		case !hasA && !hasB:
		case !hasA:
			m.violation("%s saw %s:b=%s without %s:a", who, p, b, p)
		case !hasB || ida != idb:
			m.half(who, m.events[ida], in, fmt.Sprintf("%s:a=%s, %s:b=%s", p, a, p, b))
		}
	}
}

// half judges a state where event e's writes are seen half applied by a
// read in instance in (-1: after the end). m.mu is held.
func (m *Model) half(who string, e *Event, in int, what string) {
	p := e.Pattern
	switch {
	case p.Atomic:
		m.violation("spec 22: %s saw event %d (%s) half applied, though its writes commit together: %s", who, e.ID, p.Name, what)
	case !p.Isolated:
		// Its units are separate turns that other events may interleave
		// with, and a reset between them leaves the first alone.
	case e.outcome == acked:
		m.violation("%s saw event %d (%s), which was acknowledged, half applied: %s", who, e.ID, p.Name, what)
	case e.writes[1] != nil && e.writes[1].in == in:
		m.violation("spec 18: %s saw event %d (%s) half done in the same instance, while it held the input gate: %s", who, e.ID, p.Name, what)
	}
}

// pairs returns the pairs the events of object write. m.mu is held.
func (m *Model) pairs(object string) []string {
	seen := make(map[string]bool)
	var out []string
	for _, e := range m.events {
		if p := e.Pattern.Pair; e.Object == object && p != "" && !seen[p] && (e.Pattern.Atomic || e.Pattern.Isolated) {
			seen[p] = true
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// Counts returns how many events ended each way, to show what a simulation
// exercised.
func (m *Model) Counts() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	by := make(map[string][4]int)
	for _, e := range m.events {
		c := by[e.Pattern.Name]
		switch e.outcome {
		case acked:
			c[0]++
		case refused:
			c[1]++
		case failed, running:
			c[2]++
		case timedOut:
			c[3]++
		}
		by[e.Pattern.Name] = c
	}
	names := make([]string, 0, len(by))
	for n := range by {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		c := by[n]
		fmt.Fprintf(&b, " %s:%d ok/%d refused/%d failed", n, c[0], c[1], c[2])
	}
	return strings.TrimSpace(b.String())
}

// Len returns the number of events issued.
func (m *Model) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.events)
}

// Outgoing checks, when an outgoing message of event id (a fetch) reaches
// its destination, that every write the event registered so far is durable
// (spec 21: the output gate holds outgoing fetches too).
func (m *Model) Outgoing(id int) {
	e := m.event(id)
	m.mu.Lock()
	defer m.mu.Unlock()
	l := m.Log
	l.mu.Lock()
	defer l.mu.Unlock()
	for u, w := range e.writes {
		if w.w.gating && !l.durableLocked(w.w) {
			m.violation("spec 21: an outgoing fetch of event %d (%s on %s) left before its write %s was durable (%s)", id, e.Pattern.Name, e.Object, Value(id, u), l.stateLocked(w.w))
		}
	}
}

// Seed returns the seed of a simulation: flagSeed, or a random one if it is
// 0. It logs the seed, and again with the command to rerun the test if the
// test fails.
func Seed(t testing.TB, flagSeed uint64) uint64 {
	seed := flagSeed
	if seed == 0 {
		seed = rand.Uint64()
	}
	t.Logf("seed %d (rerun with -gateprop.seed=%d)", seed, seed)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("failed with seed %d: rerun with -run %s -gateprop.seed=%d", seed, t.Name(), seed)
		}
	})
	return seed
}
