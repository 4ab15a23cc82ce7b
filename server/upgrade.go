package server

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/cloudflare/tableflip"
	"golang.org/x/sys/unix"

	"github.com/cairn-dev/cairn/bundle"
	"github.com/cairn-dev/cairn/config"
	"github.com/cairn-dev/cairn/sockets"
)

// Zero-downtime upgrades: on SIGUSR2 the running process starts a new
// process of the same binary with the same arguments, which inherits the
// listening sockets (github.com/cloudflare/tableflip) and then, over a
// Unix socket of their own, every hibernatable WebSocket: its file
// descriptor and its state (object, tags, attachment, auto-response,
// bytes received and not delivered, frames queued and not sent). The
// client of such a socket sees nothing. For systemd:
// ExecReload=/bin/kill -USR2 $MAINPID, with PIDFile= set to the file given
// in UpgradeOptions.PIDFile.
//
// The order, so that one Durable Object never runs in two processes and
// no byte is lost:
//
//  1. The old process (parent) gets SIGUSR2 and starts the new one
//     (child), passing the listeners and its end of a hand-off socket.
//  2. The child checks the project (config and bundle), takes the
//     listeners and says it is ready (Upgrader.Ready), then waits for the
//     hand-off. New connections wait in the listeners' backlog: none is
//     refused.
//  3. The parent sees the child ready (Upgrader.Exit), stops accepting,
//     finishes the requests in flight, stops reading its hibernatable
//     sockets between two frames, closes its App (every acknowledged write
//     is durable), releases the state directory's lock and sends the
//     sockets (Upgrader.HandOff). Then it exits.
//  4. The child loads the project, adopts the sockets (Server.Adopt) and
//     serves.
//
// If the child fails before it is ready, the parent goes on serving.

// handoffFile names the child's end of the hand-off socket among the files
// tableflip passes.
const handoffFile = "cairn-handoff"

// fdsPerMessage is how many descriptors one hand-off message carries
// (Linux allows 253 per sendmsg).
const fdsPerMessage = 200

// UpgradeOptions configure an Upgrader.
type UpgradeOptions struct {
	// PIDFile, if set, gets the pid of the process serving (the new one
	// once it is ready), for systemd's PIDFile=.
	PIDFile string
	Logger  *slog.Logger // default slog.Default()
	// Timeout bounds an upgrade: the child must be ready within it, and
	// the hand-off arrive within it once the child is ready. Default 1 min.
	Timeout time.Duration
	// Notify, if set, tells the service manager (systemd's sd_notify
	// protocol) about an upgrade: "RELOADING=1" with MONOTONIC_USEC when
	// one starts, "READY=1" when it failed and this process goes on, and
	// in the new process "MAINPID=<pid>" before it takes over (the server
	// itself says READY=1 once it serves).
	Notify func(state string)
}

// Upgrader runs zero-downtime upgrades of a serving process. Make one
// with NewUpgrader before listening; it is a process-wide thing (one per
// process).
type Upgrader struct {
	upg     *tableflip.Upgrader
	log     *slog.Logger
	timeout time.Duration
	inherit *os.File // the child's end of the hand-off socket, nil without a parent
	notify  func(state string)

	mu   sync.Mutex
	peer *os.File // the parent's end of the last started upgrade's hand-off socket
}

// NewUpgrader returns the process's Upgrader. It fails where upgrades are
// not supported (not Unix) or when the process made one already.
func NewUpgrader(opts UpgradeOptions) (*Upgrader, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Timeout <= 0 {
		opts.Timeout = time.Minute
	}
	upg, err := tableflip.New(tableflip.Options{PIDFile: opts.PIDFile, UpgradeTimeout: opts.Timeout})
	if err != nil {
		return nil, fmt.Errorf("zero-downtime upgrades: %w", err)
	}
	u := &Upgrader{upg: upg, log: opts.Logger, timeout: opts.Timeout, notify: opts.Notify}
	if upg.HasParent() {
		f, err := upg.File(handoffFile)
		if err != nil {
			return nil, fmt.Errorf("zero-downtime upgrade: hand-off from the previous process: %w", err)
		}
		u.inherit = f
	}
	return u, nil
}

// HasParent reports whether this process was started by an upgrade.
func (u *Upgrader) HasParent() bool { return u.upg.HasParent() }

// Listen returns a TCP listener on addr: the previous process's if it
// passed one, else a new one.
func (u *Upgrader) Listen(addr string) (net.Listener, error) {
	ln, err := u.upg.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	return ln, nil
}

// Ready tells the previous process, if any, that this one is ready (it
// took its listeners), and returns the hibernatable WebSockets the
// previous process hands over once it stopped serving, by Worker, for
// Server.Adopt or Fleet.Adopt after Load (nil without a previous
// process). Its state directory locks are released by then. Ready also
// writes the pid file. Call it once, after Listen.
func (u *Upgrader) Ready(ctx context.Context) (*Handed, error) {
	if u.inherit != nil && u.notify != nil {
		// This process is the service's main process from now on: the
		// previous one exits once it handed over (systemd, Type=notify).
		u.notify(fmt.Sprintf("MAINPID=%d", os.Getpid()))
	}
	if err := u.upg.Ready(); err != nil {
		return nil, fmt.Errorf("upgrade: ready: %w", err)
	}
	if u.inherit == nil {
		return nil, nil
	}
	defer u.inherit.Close()
	ctx, cancel := context.WithTimeout(ctx, u.timeout)
	defer cancel()
	m, err := receiveHandoff(ctx, u.inherit)
	if err != nil {
		// The previous process died or misbehaved: serve anyway.
		u.log.Error("upgrade: no WebSockets from the previous process", "error", err)
	}
	if err := u.upg.WaitForParent(ctx); err != nil {
		u.log.Warn("upgrade: the previous process did not exit cleanly", "error", err)
	}
	return m, nil
}

// ListenForUpgrades starts an upgrade on each SIGUSR2 (and each of also,
// such as SIGHUP) until ctx ends.
func (u *Upgrader) ListenForUpgrades(ctx context.Context, also ...os.Signal) {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, append([]os.Signal{syscall.SIGUSR2}, also...)...)
	go func() {
		defer signal.Stop(sig)
		for {
			select {
			case <-ctx.Done():
				return
			case s := <-sig:
				u.log.Info("upgrade: starting a new process", "signal", s.String())
				u.notifyf("RELOADING=1\nMONOTONIC_USEC=%d", monotonicUsec())
				if err := u.Upgrade(); err != nil {
					u.log.Error("upgrade failed; still serving", "error", err)
					u.notifyf("READY=1")
				}
			}
		}
	}()
}

// Upgrade starts a new process of this binary with the same arguments and
// returns once it is ready (then Exit is closed), or why it failed (then
// this process goes on serving).
func (u *Upgrader) Upgrade() error {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("upgrade: hand-off socket: %w", err)
	}
	mine, theirs := os.NewFile(uintptr(fds[0]), "handoff"), os.NewFile(uintptr(fds[1]), "handoff-child")
	defer theirs.Close()
	if err := u.upg.AddFile(handoffFile, theirs); err != nil {
		mine.Close()
		return fmt.Errorf("upgrade: %w", err)
	}
	// Stored before the new process can be ready: Exit may be closed
	// before Upgrade returns.
	u.mu.Lock()
	if u.peer != nil {
		u.peer.Close()
	}
	u.peer = mine
	u.mu.Unlock()
	if err := u.upg.Upgrade(); err != nil {
		u.mu.Lock()
		if u.peer == mine {
			u.peer = nil
		}
		u.mu.Unlock()
		mine.Close()
		return err
	}
	return nil
}

func (u *Upgrader) notifyf(format string, args ...any) {
	if u.notify != nil {
		u.notify(fmt.Sprintf(format, args...))
	}
}

// monotonicUsec returns CLOCK_MONOTONIC in microseconds, which systemd
// wants beside RELOADING=1 to match a reload with its request.
func monotonicUsec() int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return 0
	}
	return ts.Nano() / 1e3
}

// Exit is closed once a new process is ready: stop accepting, finish the
// requests in flight, then call HandOff and exit.
func (u *Upgrader) Exit() <-chan struct{} { return u.upg.Exit() }

// Stop ends upgrades (on shutdown).
func (u *Upgrader) Stop() { u.upg.Stop() }

// HandOff gives the new process what it needs to go on serving: it closes
// srv's App, moving its hibernatable WebSockets out first, releases locks
// (the state directories, for the new process to take) and sends the
// sockets, under the Worker's name. Call it after Exit, once the HTTP
// servers stopped accepting and finished their requests. It returns how
// many sockets it sent.
func (u *Upgrader) HandOff(ctx context.Context, srv *Server, locks *StateLocks) (int, error) {
	name := ""
	if app := srv.Current(); app != nil {
		name = app.Config.Name
	}
	start := time.Now()
	moving := srv.Detach()
	return u.send(ctx, []workerSockets{{name: name, moving: moving}}, start, locks)
}

// HandOffFleet is HandOff for every Worker of f (cairn serve): each
// Worker's App closes, its hibernatable WebSockets taken out first, then
// the account's databases; locks are released and the sockets sent, each
// Worker's under its name, for Fleet.Adopt in the new process.
func (u *Upgrader) HandOffFleet(ctx context.Context, f *Fleet, locks *StateLocks) (int, error) {
	start := time.Now()
	detached, err := f.Detach()
	n, serr := u.send(ctx, detached, start, locks)
	return n, errors.Join(err, serr)
}

// workerSockets is one Worker's share of a hand-off.
type workerSockets struct {
	name   string
	moving *sockets.Moving
}

// send releases locks and sends each Worker's sockets to the new process.
func (u *Upgrader) send(ctx context.Context, workers []workerSockets, start time.Time, locks *StateLocks) (int, error) {
	u.mu.Lock()
	peer := u.peer
	u.peer = nil
	u.mu.Unlock()
	closed := time.Now()
	var errs []error
	if locks != nil {
		errs = append(errs, locks.Close())
	}
	if peer == nil {
		for _, w := range workers {
			w.moving.Close()
		}
		return 0, errors.Join(append(errs, errors.New("upgrade: no new process to hand off to"))...)
	}
	defer peer.Close()
	state, files, err := packHandoff(ctx, workers)
	if err != nil {
		return 0, errors.Join(append(errs, err)...)
	}
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	if err := sendHandoff(peer, state, files); err != nil {
		return 0, errors.Join(append(errs, err)...)
	}
	u.log.Info("upgrade: WebSockets sent", "websockets", len(files), "workers", len(workers), "state_bytes", len(state),
		"close_ms", closed.Sub(start).Milliseconds(), "export_send_ms", time.Since(closed).Milliseconds())
	return len(files), errors.Join(errs...)
}

// Handed is what the previous process handed over in an upgrade: each of
// its Workers' hibernatable WebSockets, open, by Worker name.
type Handed struct {
	workers map[string]*sockets.Moving
}

// Take returns the named Worker's sockets (nil if it had none) and
// removes them from h, for Server.Adopt.
func (h *Handed) Take(worker string) *sockets.Moving {
	if h == nil {
		return nil
	}
	m := h.workers[worker]
	delete(h.workers, worker)
	return m
}

// Len returns how many sockets h holds.
func (h *Handed) Len() int {
	if h == nil {
		return 0
	}
	n := 0
	for _, m := range h.workers {
		n += m.Len()
	}
	return n
}

// Close closes the sockets nobody took (their Worker is gone) with 1012
// and returns how many it closed.
func (h *Handed) Close() int {
	n := h.Len()
	if h != nil {
		for name, m := range h.workers {
			m.Close()
			delete(h.workers, name)
		}
	}
	return n
}

// handoffEnvelope is the state message of a hand-off: each Worker's
// sockets.Moving.Export state and how many of the descriptors, which
// travel in the same order, are its.
type handoffEnvelope struct {
	Workers []handoffWorker `json:"workers"`
}

type handoffWorker struct {
	Name    string          `json:"name"`
	Sockets int             `json:"sockets"`
	State   json.RawMessage `json:"state"`
}

// packHandoff exports each Worker's sockets into one state message and
// the descriptors, Worker after Worker.
func packHandoff(ctx context.Context, workers []workerSockets) (state []byte, files []*os.File, err error) {
	env := handoffEnvelope{Workers: []handoffWorker{}}
	for _, w := range workers {
		st, fs, err := w.moving.Export(ctx)
		if err != nil {
			for _, f := range files {
				f.Close()
			}
			return nil, nil, fmt.Errorf("upgrade: worker %s: %w", w.name, err)
		}
		env.Workers = append(env.Workers, handoffWorker{Name: w.name, Sockets: len(fs), State: st})
		files = append(files, fs...)
	}
	state, err = json.Marshal(env)
	if err != nil {
		for _, f := range files {
			f.Close()
		}
		return nil, nil, fmt.Errorf("upgrade: hand-off state: %w", err)
	}
	return state, files, nil
}

// unpackHandoff makes the sockets of a packHandoff again; it takes over
// files (closes them).
func unpackHandoff(state []byte, files []*os.File) (*Handed, error) {
	h := &Handed{workers: map[string]*sockets.Moving{}}
	fail := func(err error) (*Handed, error) {
		h.Close()
		for _, f := range files {
			f.Close()
		}
		return nil, err
	}
	var env handoffEnvelope
	if err := json.Unmarshal(state, &env); err != nil {
		return fail(fmt.Errorf("hand-off state: %w", err))
	}
	if env.Workers == nil {
		return fail(errors.New("hand-off state: no workers (a hand-off from another version of cairn?)"))
	}
	total := 0
	for _, w := range env.Workers {
		if w.Sockets < 0 || w.Sockets > len(files)-total {
			return fail(fmt.Errorf("hand-off state: worker %q has %d sockets, %d descriptors left", w.Name, w.Sockets, len(files)-total))
		}
		total += w.Sockets
	}
	if total != len(files) {
		return fail(fmt.Errorf("hand-off state: %d sockets but %d descriptors", total, len(files)))
	}
	for _, w := range env.Workers {
		mine := files[:w.Sockets]
		files = files[w.Sockets:]
		if _, dup := h.workers[w.Name]; dup {
			return fail(fmt.Errorf("hand-off state: worker %q twice", w.Name))
		}
		m, err := sockets.Import(w.State, mine, 0) // closes mine
		if err != nil {
			return fail(fmt.Errorf("hand-off: worker %s: %w", w.Name, err))
		}
		h.workers[w.Name] = m
	}
	return h, nil
}

// The hand-off stream: messages of one byte 'F' with up to fdsPerMessage
// descriptors each, then 'S', the state's length (8 bytes, big-endian)
// and the state (packHandoff).

func sendHandoff(peer *os.File, state []byte, files []*os.File) error {
	c, err := net.FileConn(peer)
	if err != nil {
		return fmt.Errorf("upgrade: hand-off socket: %w", err)
	}
	defer c.Close()
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return errors.New("upgrade: hand-off socket is not a Unix socket")
	}
	for start := 0; start < len(files); start += fdsPerMessage {
		batch := files[start:min(start+fdsPerMessage, len(files))]
		fds := make([]int, len(batch))
		for i, f := range batch {
			fds[i] = int(f.Fd())
		}
		if _, _, err := uc.WriteMsgUnix([]byte{'F'}, syscall.UnixRights(fds...), nil); err != nil {
			return fmt.Errorf("upgrade: send WebSockets: %w", err)
		}
	}
	msg := binary.BigEndian.AppendUint64([]byte{'S'}, uint64(len(state)))
	if _, err := uc.Write(append(msg, state...)); err != nil {
		return fmt.Errorf("upgrade: send WebSocket state: %w", err)
	}
	return nil
}

// maxHandoffState bounds the state message a child accepts: 32,768 sockets
// per object is the limit, each with a 16 KiB attachment at most, and a
// message in the making of at most the read limit; 4 GiB is past any sane
// hand-off.
const maxHandoffState = 4 << 30

func receiveHandoff(ctx context.Context, f *os.File) (*Handed, error) {
	c, err := net.FileConn(f)
	if err != nil {
		return nil, fmt.Errorf("hand-off socket: %w", err)
	}
	defer c.Close()
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return nil, errors.New("hand-off socket is not a Unix socket")
	}
	stop := context.AfterFunc(ctx, func() { _ = uc.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	var files []*os.File
	fail := func(err error) (*Handed, error) {
		for _, f := range files {
			f.Close()
		}
		return nil, err
	}
	oob := make([]byte, syscall.CmsgSpace(fdsPerMessage*4))
	for {
		b := make([]byte, 1)
		n, oobn, _, _, err := uc.ReadMsgUnix(b, oob)
		if err != nil {
			return fail(fmt.Errorf("read hand-off: %w", err))
		}
		if n == 0 {
			return fail(io.ErrUnexpectedEOF)
		}
		if oobn > 0 {
			msgs, err := syscall.ParseSocketControlMessage(oob[:oobn])
			if err != nil {
				return fail(fmt.Errorf("read hand-off: %w", err))
			}
			for _, m := range msgs {
				fds, err := syscall.ParseUnixRights(&m)
				if err != nil {
					return fail(fmt.Errorf("read hand-off: %w", err))
				}
				for _, fd := range fds {
					files = append(files, os.NewFile(uintptr(fd), "websocket"))
				}
			}
		}
		if b[0] == 'S' {
			break
		}
		if b[0] != 'F' {
			return fail(fmt.Errorf("read hand-off: unexpected message %q", b[0]))
		}
	}
	var size [8]byte
	if _, err := io.ReadFull(uc, size[:]); err != nil {
		return fail(fmt.Errorf("read hand-off: %w", err))
	}
	n := binary.BigEndian.Uint64(size[:])
	if n > maxHandoffState {
		return fail(fmt.Errorf("read hand-off: state of %d bytes", n))
	}
	state := make([]byte, n)
	if _, err := io.ReadFull(uc, state); err != nil {
		return fail(fmt.Errorf("read hand-off: %w", err))
	}
	return unpackHandoff(state, files)
}

// Detach stops serving: the current App is closed, its hibernatable
// WebSockets taken out first and returned open (for Upgrader.HandOff).
func (s *Server) Detach() *sockets.Moving {
	s.mu.Lock()
	defer s.mu.Unlock()
	prev := s.app.Swap(nil)
	if prev == nil {
		return nil
	}
	moving, err := prev.close(0, true)
	if err != nil && s.Log != nil {
		s.Log.Error("close worker", "error", err)
	}
	return moving
}

// Adopt makes the current App's Worker the home of sockets handed over by
// the previous process (Upgrader.Ready); those it cannot take (their
// class is gone) close with 1012. It returns how many it adopted.
func (s *Server) Adopt(m *sockets.Moving) int {
	total := m.Len()
	app := s.Current()
	if app == nil {
		m.Close()
		return 0
	}
	n := app.Worker.AdoptWebSockets(m)
	if s.Log != nil && total > 0 {
		s.Log.Info("hibernatable WebSockets adopted from the previous process", "kept", n, "closed", total-n)
	}
	return n
}

// Check loads the project's config and bundles its code without opening
// its state: what makes a new version fail to load (a bad config, a syntax
// error) fails here, before an upgrade commits to it.
func Check(opts Options) error {
	file, err := config.Find(opts.Config)
	if err != nil {
		return err
	}
	cfg, err := config.Load(file, func(string) {})
	if err != nil {
		return err
	}
	if cfg.Main == "" {
		return nil
	}
	_, err = bundle.Build(bundle.Options{Entry: cfg.Main, Dir: cfg.Dir, Rules: moduleRules(cfg.Rules)})
	return err
}

// Detach stops serving every Worker of f for a hand-off to a new process
// (Upgrader.HandOffFleet): the Apps close in parallel, each taking its
// hibernatable WebSockets out first, then the account's databases close.
// It returns each Worker's sockets, open, in the order of cairn.toml.
func (f *Fleet) Detach() ([]workerSockets, error) {
	f.Drain()
	out := make([]workerSockets, len(f.names))
	var wg sync.WaitGroup
	for i, n := range f.names {
		wg.Go(func() { out[i] = workerSockets{name: n, moving: f.servers[n].Detach()} })
	}
	wg.Wait()
	var err error
	if f.account != nil { // after the Apps that borrow from it
		if err = f.account.Close(); err != nil {
			err = fmt.Errorf("account: %w", err)
		}
	}
	return out, err
}

// Adopt gives each Worker of f the sockets the previous process handed
// over for it (Upgrader.Ready), and closes with 1012 those of Workers f
// no longer serves. Call it once the Workers are loaded. It returns how
// many sockets were adopted.
func (f *Fleet) Adopt(h *Handed) int {
	n := 0
	for _, name := range f.names {
		n += f.servers[name].Adopt(h.Take(name))
	}
	if closed := h.Close(); closed > 0 {
		f.log.Warn("hibernatable WebSockets of Workers no longer served closed with 1012", "closed", closed)
	}
	return n
}
