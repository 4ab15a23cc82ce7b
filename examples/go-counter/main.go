// Command go-counter runs a Worker whose Durable Object class GoCounter is
// written in Go, next to a JS class, in one cairn: cairn used as a library.
//
//	go run -tags "sqlite_fts5 sqlite_math_functions" ./examples/go-counter [-port 8787] [-persist-to DIR]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/cairn-dev/cairn/objects"
	"github.com/cairn-dev/cairn/server"
)

// GoCounter is a Durable Object: one per name, with its own SQLite
// database. Each event runs alone and its writes are durable before its
// answer leaves, as for a JS object.
type GoCounter struct {
	state    *objects.State
	instance float64 // how many times the object was constructed, this time included
}

// newGoCounter is the constructor: it runs when the object starts, before
// its first event.
func newGoCounter(state *objects.State) (any, error) {
	_, err := state.Storage.Exec(`CREATE TABLE IF NOT EXISTS counter (id INTEGER PRIMARY KEY CHECK (id = 1), value INTEGER NOT NULL)`)
	if err != nil {
		return nil, fmt.Errorf("create table: %w", err)
	}
	// Count the object's starts: after an eviction (hibernation included)
	// the next event constructs it again.
	starts, _, err := state.Storage.Get("starts")
	if err != nil {
		return nil, err
	}
	n, _ := starts.(float64)
	if err := state.Storage.Put("starts", n+1); err != nil {
		return nil, err
	}
	return &GoCounter{state: state, instance: n + 1}, nil
}

// add adds by to the counter and returns its new value.
func (c *GoCounter) add(by int64) (int64, error) {
	cur, err := c.state.Storage.Exec(`INSERT INTO counter (id, value) VALUES (1, ?)
		ON CONFLICT (id) DO UPDATE SET value = value + excluded.value RETURNING value`, by)
	if err != nil {
		return 0, err
	}
	defer cur.Close()
	row, _, err := cur.Next()
	if err != nil {
		return 0, err
	}
	return row[0].(int64), nil
}

// get returns the counter and how many alarms have fired.
func (c *GoCounter) get() (map[string]any, error) {
	cur, err := c.state.Storage.Exec(`SELECT value FROM counter WHERE id = 1`)
	if err != nil {
		return nil, err
	}
	defer cur.Close()
	value := int64(0)
	if row, ok, err := cur.Next(); err != nil {
		return nil, err
	} else if ok {
		value = row[0].(int64)
	}
	alarms, _, err := c.state.Storage.Get("alarms") // KV API: JS reads it too
	if err != nil {
		return nil, err
	}
	if alarms == nil {
		alarms = 0.0
	}
	return map[string]any{"name": c.state.Name, "count": value, "alarms": alarms}, nil
}

// ServeHTTP is the object's fetch handler: /chat accepts a WebSocket into
// the object's chat room, anything else counts a hit.
func (c *GoCounter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/chat" {
		ws, err := c.state.AcceptWebSocket(w, r, "chat")
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		// Kept with the socket while the object hibernates.
		_ = ws.SetAttachment(map[string]any{"joined": float64(len(c.state.WebSockets("chat")))})
		return
	}
	n, err := c.add(1)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	fmt.Fprintf(w, "%s has been hit %d times\n", c.state.Name, n)
}

// RPC serves `await stub.add(n)`, `stub.get()` and `stub.remindIn(ms)` from JS.
func (c *GoCounter) RPC(ctx context.Context, method string, args []any) (any, error) {
	switch method {
	case "add":
		by, ok := argNumber(args)
		if !ok {
			return nil, &objects.ThrownError{Name: "TypeError", Message: "add(by) needs an integer"}
		}
		return c.add(int64(by))
	case "get":
		return c.get()
	case "remindIn":
		ms, ok := argNumber(args)
		if !ok {
			return nil, &objects.ThrownError{Name: "TypeError", Message: "remindIn(ms) needs an integer"}
		}
		at := time.Now().Add(time.Duration(ms) * time.Millisecond)
		return at.UnixMilli(), c.state.Storage.SetAlarm(at)
	}
	return nil, &objects.ThrownError{Name: "TypeError", Message: fmt.Sprintf("The RPC receiver does not implement the method %q.", method)}
}

// WebSocketMessage broadcasts a chat message to everyone in the room, with
// the sender's number and how many messages the room has seen: the count is
// written before the broadcast, so it leaves only once durable.
func (c *GoCounter) WebSocketMessage(ctx context.Context, ws *objects.WebSocket, data []byte, text bool) error {
	seen, _, err := c.state.Storage.Get("messages")
	if err != nil {
		return err
	}
	n, _ := seen.(float64)
	if err := c.state.Storage.Put("messages", n+1); err != nil {
		return err
	}
	who := "?"
	if a, err := ws.Attachment(); err == nil {
		if m, ok := a.(map[string]any); ok {
			who = fmt.Sprint(m["joined"])
		}
	}
	line := fmt.Sprintf("#%d from %s (instance %d): %s", int(n+1), who, int(c.instance), data)
	for _, peer := range c.state.WebSockets("chat") {
		if err := peer.Send(line); err != nil {
			return err
		}
	}
	return nil
}

// WebSocketClose answers a client's close.
func (c *GoCounter) WebSocketClose(ctx context.Context, ws *objects.WebSocket, code int, reason string, wasClean bool) error {
	return ws.Close(1000, "bye")
}

// Alarm runs when the alarm set by remindIn is due.
func (c *GoCounter) Alarm(ctx context.Context, info objects.AlarmInfo) error {
	n, _, err := c.state.Storage.Get("alarms")
	if err != nil {
		return err
	}
	count, _ := n.(float64)
	return c.state.Storage.Put("alarms", count+1)
}

// argNumber returns the one argument of a call, which must be an integer.
func argNumber(args []any) (float64, bool) {
	if len(args) != 1 {
		return 0, false
	}
	f, ok := args[0].(float64)
	return f, ok && f == math.Trunc(f) && math.Abs(f) < 1<<53
}

func main() {
	port := flag.Int("port", 8787, "port to listen on (127.0.0.1)")
	persist := flag.String("persist-to", "", "state directory (default .cairn/state in the project)")
	hibernate := flag.Duration("hibernate-idle", 10*time.Second, "evict an object that only holds WebSockets after this long without events")
	flag.Parse()
	dir := flag.Arg(0)
	if dir == "" {
		dir = "."
		if _, err := os.Stat("wrangler.jsonc"); err != nil {
			dir = filepath.Join("examples", "go-counter") // run from the repository root
		}
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(dir, *persist, *port, *hibernate, log); err != nil {
		log.Error("go-counter", "error", err)
		os.Exit(1)
	}
}

func run(dir, persist string, port int, hibernate time.Duration, log *slog.Logger) error {
	app, err := server.Load(server.Options{
		Config:        dir,
		PersistTo:     persist,
		Logger:        log,
		HibernateIdle: hibernate,
		Classes:       map[string]objects.Class{"GoCounter": objects.NewGoClass(newGoCounter)},
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		app.Close()
		return err
	}
	srv := &http.Server{Handler: app.Worker}
	fmt.Printf("Ready on http://%s\n", ln.Addr())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		app.Close()
		return err
	}
	return app.Close()
}
