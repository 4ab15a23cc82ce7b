//go:build !linux

package sockets

import (
	"context"
	"errors"
	"syscall"
)

// poller is where idle hibernatable sockets wait without a goroutine on
// Linux (poll_linux.go). Elsewhere nothing is armed: each socket keeps a
// goroutine reading it.
type poller struct{}

var errNoPoller = errors.New("sockets: no poller on this system")

func newPoller(context.Context, func(string, error)) *poller { return &poller{} }

func (*poller) arm(syscall.RawConn, func()) (int32, error) { return -1, errNoPoller }

func (*poller) disarm(syscall.RawConn, int32) bool { return false }
