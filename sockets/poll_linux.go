//go:build linux

package sockets

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// poller waits for idle hibernatable sockets to become readable, so that
// an idle socket costs no goroutine and no read buffer: only its
// descriptor and its records. It is one epoll instance per Registry, whose
// own descriptor is waited on by Go's network poller (an epoll descriptor
// is readable when one of its sockets is), so that the poller's goroutine
// holds no thread while it waits.
//
// A socket is armed one-shot and level-triggered: it fires once, when it
// has bytes to read, a hang-up or an error, even if they were there before
// it was armed, and stays quiet until armed again.
type poller struct {
	mu      sync.Mutex
	ep      *os.File           // the epoll instance; nil until the first arm
	waiting map[int32]func()   // armed descriptors and what to do when they fire
	added   map[int32]struct{} // descriptors in the epoll set (armed or fired)
	stopped bool               // the Registry's context ended: nothing is armed again
	ctx     context.Context    // the Registry's
	report  func(msg string, err error)
}

// errNoPoller is arm's answer once the poller stopped, or where it cannot
// run: the socket is read by a goroutine as before.
var errNoPoller = errors.New("sockets: no poller")

func newPoller(ctx context.Context, report func(string, error)) *poller {
	return &poller{ctx: ctx, report: report, waiting: make(map[int32]func()), added: make(map[int32]struct{})}
}

// arm calls fire (on the poller's goroutine: it must not block) once rc's
// socket is readable, has hung up or failed. It returns the descriptor,
// for disarm.
func (p *poller) arm(rc syscall.RawConn, fire func()) (int32, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return -1, errNoPoller
	}
	if p.ep == nil {
		if err := p.startLocked(); err != nil {
			p.stopped = true
			return -1, err
		}
	}
	fd := int32(-1)
	var ctlErr error
	err := rc.Control(func(s uintptr) {
		fd = int32(s)
		ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLONESHOT, Fd: fd}
		op := unix.EPOLL_CTL_ADD
		if _, ok := p.added[fd]; ok {
			op = unix.EPOLL_CTL_MOD
		}
		ctlErr = unix.EpollCtl(int(p.ep.Fd()), op, int(fd), &ev)
		if errors.Is(ctlErr, unix.ENOENT) { // a descriptor number used again
			ctlErr = unix.EpollCtl(int(p.ep.Fd()), unix.EPOLL_CTL_ADD, int(fd), &ev)
		} else if errors.Is(ctlErr, unix.EEXIST) {
			ctlErr = unix.EpollCtl(int(p.ep.Fd()), unix.EPOLL_CTL_MOD, int(fd), &ev)
		}
	})
	if err == nil {
		err = ctlErr
	}
	if err != nil {
		return -1, fmt.Errorf("sockets: epoll arm: %w", err)
	}
	p.added[fd] = struct{}{}
	p.waiting[fd] = fire
	return fd, nil
}

// disarm takes fd (armed by rc) out of the poller before its socket is
// closed or handed over. It reports whether fd was still armed: if not, its
// fire has been called or is about to be.
func (p *poller) disarm(rc syscall.RawConn, fd int32) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, armed := p.waiting[fd]
	delete(p.waiting, fd)
	if _, ok := p.added[fd]; ok && p.ep != nil {
		delete(p.added, fd)
		_ = rc.Control(func(s uintptr) {
			if int32(s) == fd {
				_ = unix.EpollCtl(int(p.ep.Fd()), unix.EPOLL_CTL_DEL, int(fd), nil)
			}
		})
	}
	return armed
}

// startLocked makes the epoll instance and starts the goroutine that waits
// on it. p.mu held.
func (p *poller) startLocked() error {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return fmt.Errorf("sockets: epoll: %w", err)
	}
	if err := unix.SetNonblock(epfd, true); err != nil {
		unix.Close(epfd)
		return fmt.Errorf("sockets: epoll: %w", err)
	}
	// Non-blocking, so os.NewFile gives it to Go's network poller.
	p.ep = os.NewFile(uintptr(epfd), "sockets-epoll")
	rc, err := p.ep.SyscallConn()
	if err != nil {
		p.ep.Close()
		p.ep = nil
		return fmt.Errorf("sockets: epoll: %w", err)
	}
	stop := context.AfterFunc(p.ctx, p.stop)
	go p.run(rc, stop)
	return nil
}

// run takes the events of the epoll instance until the poller stops.
func (p *poller) run(rc syscall.RawConn, stop func() bool) {
	defer stop()
	events := make([]unix.EpollEvent, 128)
	for {
		n := 0
		var waitErr error
		err := rc.Read(func(fd uintptr) bool {
			n, waitErr = unix.EpollWait(int(fd), events, 0)
			if errors.Is(waitErr, unix.EINTR) {
				waitErr = nil
			}
			return n > 0 || waitErr != nil
		})
		if err == nil {
			err = waitErr
		}
		if err != nil {
			p.mu.Lock()
			stopped := p.stopped
			p.mu.Unlock()
			if !stopped {
				p.report("epoll wait failed; idle WebSockets are read by goroutines again", err)
			}
			p.stop()
			return
		}
		fire := make([]func(), 0, n)
		p.mu.Lock()
		for _, ev := range events[:n] {
			if f, ok := p.waiting[ev.Fd]; ok {
				delete(p.waiting, ev.Fd)
				fire = append(fire, f)
			}
		}
		p.mu.Unlock()
		for _, f := range fire {
			f()
		}
	}
}

// stop ends the poller: every armed socket fires (it is read by a
// goroutine again) and nothing is armed any more.
func (p *poller) stop() {
	p.mu.Lock()
	if p.stopped {
		p.mu.Unlock()
		return
	}
	p.stopped = true
	fire := make([]func(), 0, len(p.waiting))
	for fd, f := range p.waiting {
		fire = append(fire, f)
		delete(p.waiting, fd)
	}
	ep := p.ep
	p.mu.Unlock()
	if ep != nil {
		ep.Close() // ends run's wait
	}
	for _, f := range fire {
		f()
	}
}
