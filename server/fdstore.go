//go:build linux

package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// systemd's file descriptor store (FileDescriptorStoreMax= in the unit)
// keeps hibernated WebSockets connected across a stop and start of the
// service, "systemctl restart", as the SIGUSR2 upgrade keeps them across a
// reload. On SIGTERM the stopping process closes its Workers as for an
// upgrade and, instead of closing their sockets with 1012, gives systemd a
// duplicate of each socket's descriptor (sd_notify FDSTORE=1, FDNAME=w)
// and a memfd holding the hand-off state (FDNAME=cairn-state). systemd
// passes them to the next process of the service (LISTEN_FDS,
// LISTEN_FDNAMES), which adopts the sockets once its Workers are loaded and
// then removes them from the store (FDSTOREREMOVE=1), so that closing a
// socket reaches its client again. A socket's descriptor is found again by
// its two addresses (local and peer), so the order systemd passes them in
// does not matter, and one systemd dropped (its client went away, the
// store was full) is left out.
//
// On a final stop systemd closes the store: the clients see their
// connections end without a close frame (1006) instead of 1012.

// Names of the descriptors cairn stores.
const (
	fdStoreSocket = "w" // short: LISTEN_FDNAMES holds one per socket
	fdStoreState  = "cairn-state"
)

// FDStoreEnabled reports whether the service manager keeps descriptors for
// this process: $FDSTORE (set by systemd 254 and later when
// FileDescriptorStoreMax= is positive) and $NOTIFY_SOCKET are set.
func FDStoreEnabled() bool {
	n, err := strconv.Atoi(os.Getenv("FDSTORE"))
	return err == nil && n > 0 && os.Getenv("NOTIFY_SOCKET") != ""
}

// fdStoreStateFile is the memfd's content: the hand-off state (packHandoff)
// and, for each of its descriptors in order, the socket's addresses.
type fdStoreStateFile struct {
	Handoff json.RawMessage `json:"handoff"`
	Sockets []string        `json:"sockets"`
}

// StashFleet stops serving every Worker of f as HandOffFleet does and
// gives their hibernatable WebSockets to the service manager's descriptor
// store for the next process of the service; locks are released. Call it
// on shutdown (SIGTERM) once the HTTP servers stopped, when FDStoreEnabled.
// It returns how many sockets it stored.
func StashFleet(ctx context.Context, f *Fleet, locks *StateLocks, log *slog.Logger) (int, error) {
	detached, err := f.Detach()
	errs := []error{err}
	if locks != nil {
		errs = append(errs, locks.Close())
	}
	state, files, err := packHandoff(ctx, detached)
	if err != nil {
		return 0, errors.Join(append(errs, err)...)
	}
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	st := fdStoreStateFile{Handoff: state, Sockets: make([]string, len(files))}
	for i, f := range files {
		if st.Sockets[i], err = socketAddrs(f); err != nil {
			return 0, errors.Join(append(errs, err)...)
		}
	}
	b, err := json.Marshal(st)
	if err != nil {
		return 0, errors.Join(append(errs, fmt.Errorf("descriptor store: %w", err))...)
	}
	mfd, err := unix.MemfdCreate(fdStoreState, unix.MFD_CLOEXEC)
	if err != nil {
		return 0, errors.Join(append(errs, fmt.Errorf("descriptor store: memfd: %w", err))...)
	}
	mem := os.NewFile(uintptr(mfd), fdStoreState)
	defer mem.Close()
	if _, err := mem.Write(b); err != nil {
		return 0, errors.Join(append(errs, fmt.Errorf("descriptor store: memfd: %w", err))...)
	}
	c, err := dialNotify()
	if err != nil {
		return 0, errors.Join(append(errs, err)...)
	}
	defer c.Close()
	// The sockets first, the state last: a state in the store promises
	// its sockets are there (or were dropped by systemd).
	for start := 0; start < len(files); start += fdsPerMessage {
		if err := notifyFDs(c, "FDSTORE=1\nFDNAME="+fdStoreSocket, files[start:min(start+fdsPerMessage, len(files))]); err != nil {
			return 0, errors.Join(append(errs, err)...)
		}
	}
	if err := notifyFDs(c, "FDSTORE=1\nFDPOLL=0\nFDNAME="+fdStoreState, []*os.File{mem}); err != nil {
		return 0, errors.Join(append(errs, err)...)
	}
	log.Info("hibernatable WebSockets kept in the service manager's descriptor store", "websockets", len(files), "state_bytes", len(b))
	return len(files), errors.Join(errs...)
}

// TakeFDStore returns the hibernatable WebSockets a previous process of
// the service stored (StashFleet), from the descriptors the service
// manager passed (LISTEN_FDS; nil if there are none), and a function that
// removes them from the store, to call once they are adopted
// (Fleet.Adopt). Descriptors it does not know are closed and removed from
// the store. The LISTEN_* variables are unset, so that a process started
// by an upgrade does not see them.
func TakeFDStore(log *slog.Logger) (*Handed, func(), error) {
	names := listenFDs()
	noop := func() {}
	if len(names) == 0 {
		return nil, noop, nil
	}
	var (
		state   *os.File
		sockets = map[string][]*os.File{}
		unknown = map[string]bool{}
	)
	for i, name := range names {
		fd := 3 + i
		unix.CloseOnExec(fd)
		f := os.NewFile(uintptr(fd), name)
		switch name {
		case fdStoreState:
			if state != nil {
				state.Close()
			}
			state = f
		case fdStoreSocket:
			key, err := socketAddrs(f)
			if err != nil {
				log.Warn("descriptor store: a socket without addresses; closing it", "error", err)
				f.Close()
				continue
			}
			sockets[key] = append(sockets[key], f)
		default:
			unknown[name] = true
			f.Close()
		}
	}
	remove := func(names ...string) {
		c, err := dialNotify()
		if err != nil {
			log.Warn("descriptor store: cannot remove descriptors", "error", err)
			return
		}
		defer c.Close()
		for _, n := range names {
			if _, err := c.Write([]byte("FDSTOREREMOVE=1\nFDNAME=" + n)); err != nil {
				log.Warn("descriptor store: cannot remove descriptors", "name", n, "error", err)
			}
		}
	}
	for n := range unknown {
		log.Warn("descriptor store: a descriptor cairn does not know; removing it", "name", n)
		remove(n)
	}
	release := func() { remove(fdStoreSocket, fdStoreState) }
	closeAll := func() {
		for _, fs := range sockets {
			for _, f := range fs {
				f.Close()
			}
		}
	}
	if state == nil {
		closeAll()
		if len(sockets) > 0 {
			log.Warn("descriptor store: sockets without their state; closing them")
		}
		return nil, release, nil
	}
	b, err := io.ReadAll(io.NewSectionReader(state, 0, 1<<62))
	state.Close()
	if err != nil {
		closeAll()
		return nil, release, fmt.Errorf("descriptor store: read state: %w", err)
	}
	var st fdStoreStateFile
	if err := json.Unmarshal(b, &st); err != nil {
		closeAll()
		return nil, release, fmt.Errorf("descriptor store: state: %w", err)
	}
	files := make([]*os.File, len(st.Sockets))
	missing := 0
	for i, key := range st.Sockets {
		if fs := sockets[key]; len(fs) > 0 {
			files[i], sockets[key] = fs[0], fs[1:]
		} else {
			missing++
		}
	}
	closeAll() // those the state does not name
	h, err := unpackHandoff(st.Handoff, files)
	if err != nil {
		return nil, release, fmt.Errorf("descriptor store: %w", err)
	}
	log.Info("hibernatable WebSockets taken from the service manager's descriptor store", "websockets", h.Len(), "gone", missing)
	return h, release, nil
}

// listenFDs returns the names of the descriptors passed to this process
// by the service manager (sd_listen_fds: LISTEN_PID is this process,
// LISTEN_FDS of them from descriptor 3, named by LISTEN_FDNAMES), and
// unsets the variables.
func listenFDs() []string {
	defer func() {
		for _, v := range []string{"LISTEN_PID", "LISTEN_PIDFDID", "LISTEN_FDS", "LISTEN_FDNAMES"} {
			os.Unsetenv(v)
		}
	}()
	if pid, err := strconv.Atoi(os.Getenv("LISTEN_PID")); err != nil || pid != os.Getpid() {
		return nil
	}
	n, err := strconv.Atoi(os.Getenv("LISTEN_FDS"))
	if err != nil || n <= 0 {
		return nil
	}
	names := strings.Split(os.Getenv("LISTEN_FDNAMES"), ":")
	out := make([]string, n)
	for i := range out {
		out[i] = "unknown"
		if i < len(names) && names[i] != "" {
			out[i] = names[i]
		}
	}
	return out
}

// socketAddrs names a connected socket by its local and peer addresses.
func socketAddrs(f *os.File) (string, error) {
	fd := int(f.Fd())
	local, err := unix.Getsockname(fd)
	if err != nil {
		return "", fmt.Errorf("descriptor store: getsockname: %w", err)
	}
	peer, err := unix.Getpeername(fd)
	if err != nil {
		return "", fmt.Errorf("descriptor store: getpeername: %w", err)
	}
	return sockaddrString(local) + " " + sockaddrString(peer), nil
}

func sockaddrString(sa unix.Sockaddr) string {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return net.JoinHostPort(net.IP(a.Addr[:]).String(), strconv.Itoa(a.Port))
	case *unix.SockaddrInet6:
		return net.JoinHostPort(net.IP(a.Addr[:]).String(), strconv.Itoa(a.Port))
	case *unix.SockaddrUnix:
		return "unix:" + a.Name
	}
	return fmt.Sprintf("%T", sa)
}

// notifier sends datagrams to the service manager's notification socket.
type notifier struct {
	fd   int
	addr *unix.SockaddrUnix
}

// dialNotify opens a socket to the service manager's notification socket
// ($NOTIFY_SOCKET; "@name" is an abstract one).
func dialNotify() (*notifier, error) {
	sock := os.Getenv("NOTIFY_SOCKET")
	if sock == "" {
		return nil, errors.New("descriptor store: no NOTIFY_SOCKET")
	}
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("descriptor store: socket: %w", err)
	}
	return &notifier{fd: fd, addr: &unix.SockaddrUnix{Name: sock}}, nil
}

// Write sends msg.
func (n *notifier) Write(msg []byte) (int, error) {
	if err := unix.Sendmsg(n.fd, msg, nil, n.addr, 0); err != nil {
		return 0, fmt.Errorf("notify: %w", err)
	}
	return len(msg), nil
}

// Close closes the socket.
func (n *notifier) Close() error { return unix.Close(n.fd) }

// notifyFDs sends msg with files attached.
func notifyFDs(c *notifier, msg string, files []*os.File) error {
	fds := make([]int, len(files))
	for i, f := range files {
		fds[i] = int(f.Fd())
	}
	if err := unix.Sendmsg(c.fd, []byte(msg), unix.UnixRights(fds...), c.addr, 0); err != nil {
		return fmt.Errorf("descriptor store: send: %w", err)
	}
	return nil
}
