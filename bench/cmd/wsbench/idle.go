package main

// The idle scenario: many hibernatable sockets that send nothing, spread
// over objects of 10,000 sockets each (an object may hold 32,768), held by
// client processes of this same binary so that the client's memory and
// file descriptors are not the server's. It reports what the server holds
// per idle socket: Go heap in use after a collection, goroutines, and RSS.

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

const (
	// socketsPerObject spreads the idle sockets over objects.
	socketsPerObject = 10000
	// socketsPerClient is how many sockets one client process holds.
	socketsPerClient = 15000
)

// raiseFileLimit raises this process's RLIMIT_NOFILE as far as it may go
// towards want (children, the servers included, inherit it) and returns
// the soft limit it got.
func raiseFileLimit(want uint64) uint64 {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0
	}
	if lim.Max < want {
		// Raising the hard limit needs CAP_SYS_RESOURCE; try.
		up := syscall.Rlimit{Cur: want, Max: want}
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &up) == nil {
			return want
		}
	}
	lim.Cur = min(max(lim.Cur, want), lim.Max)
	_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	_ = syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
	return lim.Cur
}

// serverStats is what the server holds at one moment.
type serverStats struct {
	rss        int64
	heapInuse  int64 // -1: unknown (no pprof address)
	heapAlloc  int64 // live bytes after the collection; -1: unknown
	goroutines int64 // -1: unknown
}

var (
	heapInuseRE  = regexp.MustCompile(`(?m)^# HeapInuse = (\d+)`)
	heapAllocRE  = regexp.MustCompile(`(?m)^# HeapAlloc = (\d+)`)
	goroutinesRE = regexp.MustCompile(`^goroutine profile: total (\d+)`)
)

// stats reads the server's RSS and, for cairn (CAIRN_PPROF), its heap in
// use after a forced collection and its goroutines.
func (s *server) stats() (serverStats, error) {
	st := serverStats{heapInuse: -1, heapAlloc: -1, goroutines: -1}
	var err error
	if st.rss, err = s.rss(); err != nil {
		return st, err
	}
	if s.pprof == "" {
		return st, nil
	}
	get := func(path string, re *regexp.Regexp) (int64, error) {
		resp, err := http.Get("http://" + s.pprof + path)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return 0, err
		}
		m := re.FindSubmatch(b)
		if m == nil {
			return 0, fmt.Errorf("%s: no match for %s", path, re)
		}
		return strconv.ParseInt(string(m[1]), 10, 64)
	}
	if st.heapInuse, err = get("/debug/pprof/heap?debug=1&gc=1", heapInuseRE); err != nil {
		return st, err
	}
	// The same collection's numbers (no allocation between the two reads
	// matters at this scale).
	if st.heapAlloc, err = get("/debug/pprof/heap?debug=1", heapAllocRE); err != nil {
		return st, err
	}
	if st.goroutines, err = get("/debug/pprof/goroutine?debug=1", goroutinesRE); err != nil {
		return st, err
	}
	st.rss, err = s.rss() // after the collection
	return st, err
}

// idleClient is a child process holding idle sockets.
type idleClient struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Reader
}

// ask sends a command line and returns the child's one-line answer.
func (c *idleClient) ask(cmd string) (string, error) {
	if cmd != "" {
		if _, err := fmt.Fprintln(c.in, cmd); err != nil {
			return "", err
		}
	}
	line, err := c.out.ReadString('\n')
	line = strings.TrimSpace(line)
	if err != nil {
		return line, fmt.Errorf("client: %w", err)
	}
	if !strings.HasPrefix(line, "ok") {
		return line, fmt.Errorf("client: %s", line)
	}
	return strings.TrimSpace(strings.TrimPrefix(line, "ok")), nil
}

// idleSockets opens n idle hibernatable sockets on the server and reports
// the server's memory and goroutines per socket once they are idle (their
// objects evicted, after settle), then checks that every socket still gets an answer
// and a close after waking.
func idleSockets(s *server, n int, settle time.Duration) (string, error) {
	if n <= 0 {
		return "", nil
	}
	objects := (n + socketsPerObject - 1) / socketsPerObject
	// One socket per object first, so that "before" includes the objects.
	var firsts []net.Conn
	defer func() {
		for _, c := range firsts {
			c.Close()
		}
	}()
	for o := range objects {
		c, err := rawDial(s.url, fmt.Sprintf("/room?id=idle-%d", o), nil)
		if err != nil {
			return "", err
		}
		firsts = append(firsts, c)
	}
	time.Sleep(3 * time.Second) // objects evicted (--hibernate-idle 1s), sockets idle
	before, err := s.stats()
	if err != nil {
		return "", err
	}
	self, err := os.Executable()
	if err != nil {
		return "", err
	}
	var clients []*idleClient
	defer func() {
		for _, c := range clients {
			c.in.Close()
			_ = c.cmd.Wait()
		}
	}()
	t0 := time.Now()
	for i := 0; i*socketsPerClient < n; i++ {
		k := min(socketsPerClient, n-i*socketsPerClient)
		// Each client its own source address: 28k ephemeral ports each.
		local := fmt.Sprintf("127.0.%d.%d", 1+i/250, 1+i%250)
		cmd := exec.Command(self, "-idle-client", s.url, "-idle-client-n", strconv.Itoa(k),
			"-idle-client-first", strconv.Itoa(i*socketsPerClient), "-idle-client-local", local)
		cmd.Stderr = os.Stderr
		in, err := cmd.StdinPipe()
		if err != nil {
			return "", err
		}
		out, err := cmd.StdoutPipe()
		if err != nil {
			return "", err
		}
		if err := cmd.Start(); err != nil {
			return "", err
		}
		c := &idleClient{cmd: cmd, in: in, out: bufio.NewReader(out)}
		clients = append(clients, c)
		if _, err := c.ask(""); err != nil { // "ok" once its sockets are open
			return "", err
		}
	}
	opened := time.Since(t0)
	time.Sleep(settle) // objects evicted again, readers parked
	after, err := s.stats()
	if err != nil {
		return "", err
	}
	var clientRSS int64
	for _, c := range clients {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", c.cmd.Process.Pid))
		if err == nil {
			clientRSS += vmRSS(string(b))
		}
	}
	// Every socket still works: one message each, its echo, then a close.
	t1 := time.Now()
	for _, c := range clients {
		if _, err := c.ask("wake"); err != nil {
			return "", err
		}
	}
	woke := time.Since(t1)
	for _, c := range clients {
		if _, err := c.ask("close"); err != nil {
			return "", err
		}
	}
	per := func(a, b int64) string {
		if a < 0 || b < 0 {
			return "n/a"
		}
		return fmt.Sprintf("%.2f KiB", float64(b-a)/float64(n)/1024)
	}
	gor := "n/a"
	if before.goroutines >= 0 {
		gor = fmt.Sprintf("%d → %d", before.goroutines, after.goroutines)
	}
	heap, live := "n/a", "n/a"
	if before.heapInuse >= 0 {
		heap = fmt.Sprintf("%d → %d MiB", before.heapInuse>>20, after.heapInuse>>20)
		live = fmt.Sprintf("%d → %d MiB", before.heapAlloc>>20, after.heapAlloc>>20)
	}
	return fmt.Sprintf("| %s | %d (%d objects) | %s | %s | %s | %s | %d → %d MiB | %s | %s | %.1f KiB | %s | %s |",
		s.name, n, objects, live, per(before.heapAlloc, after.heapAlloc), heap, per(before.heapInuse, after.heapInuse), before.rss>>20, after.rss>>20,
		per(before.rss, after.rss), gor, float64(clientRSS)/float64(n)/1024,
		opened.Round(time.Millisecond), woke.Round(time.Millisecond)), nil
}

// vmRSS returns the VmRSS of a /proc/PID/status text in bytes.
func vmRSS(status string) int64 {
	for _, line := range strings.Split(status, "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// rawDial opens a WebSocket to base+path by hand: a client socket costs a
// file descriptor and a few hundred bytes, so that one client process can
// hold many.
func rawDial(base, path string, dialer *net.Dialer) (net.Conn, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, err
	}
	if dialer == nil {
		dialer = &net.Dialer{}
	}
	dialer.Timeout = 30 * time.Second
	c, err := dialer.Dial("tcp", u.Host)
	if err != nil {
		return nil, err
	}
	_ = c.SetDeadline(time.Now().Add(60 * time.Second))
	req := "GET " + path + " HTTP/1.1\r\nHost: " + u.Host + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if _, err := io.WriteString(c, req); err != nil {
		c.Close()
		return nil, err
	}
	// Read the response byte by byte: nothing after it may be consumed.
	var head []byte
	one := make([]byte, 1)
	for !strings.HasSuffix(string(head), "\r\n\r\n") {
		if _, err := c.Read(one); err != nil {
			c.Close()
			return nil, fmt.Errorf("handshake: %w", err)
		}
		head = append(head, one[0])
		if len(head) > 4096 {
			c.Close()
			return nil, errors.New("handshake: response header too long")
		}
	}
	if !strings.HasPrefix(string(head), "HTTP/1.1 101") {
		c.Close()
		return nil, fmt.Errorf("handshake: %s", strings.SplitN(string(head), "\r\n", 2)[0])
	}
	_ = c.SetDeadline(time.Time{})
	return c, nil
}

// writeFrame writes one masked client frame.
func writeFrame(c net.Conn, op byte, payload []byte) error {
	b := []byte{0x80 | op, 0x80 | byte(len(payload)), 1, 2, 3, 4}
	for i, p := range payload {
		b = append(b, p^b[2+i&3])
	}
	_, err := c.Write(b)
	return err
}

// readFrame reads one server frame (short payloads only).
func readFrame(c net.Conn) (op byte, payload []byte, err error) {
	var h [2]byte
	if _, err := io.ReadFull(c, h[:]); err != nil {
		return 0, nil, err
	}
	size := int(h[1] & 0x7F)
	if size >= 126 {
		return 0, nil, errors.New("unexpected long frame")
	}
	payload = make([]byte, size)
	_, err = io.ReadFull(c, payload)
	return h[0] & 0x0F, payload, err
}

// runIdleClient is the child process: it opens n sockets on objects
// idle-(first+i)/10000 from local, says "ok", and then answers commands
// on stdin: "wake" (each socket sends a message and waits for its echo)
// and "close" (each closes with 1000 and waits for the server's Close).
func runIdleClient(base string, first, n int, local string) error {
	raiseFileLimit(uint64(n) + 100)
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
	conns := make([]net.Conn, n)
	var (
		next    atomic.Int64
		wg      sync.WaitGroup
		errOnce sync.Once
		dialErr error
	)
	for range 32 {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				d := *dialer
				c, err := rawDial(base, fmt.Sprintf("/room?id=idle-%d", (first+i)/socketsPerObject), &d)
				if err != nil {
					errOnce.Do(func() { dialErr = fmt.Errorf("socket %d: %w", first+i, err) })
					return
				}
				conns[i] = c
			}
		})
	}
	wg.Wait()
	if dialErr != nil {
		fmt.Println("error", dialErr)
		return dialErr
	}
	fmt.Println("ok")
	each := func(f func(c net.Conn) error) error {
		var (
			next    atomic.Int64
			wg      sync.WaitGroup
			failed  atomic.Int64
			errOnce sync.Once
			first   error
		)
		for range 32 {
			wg.Go(func() {
				for {
					i := int(next.Add(1) - 1)
					if i >= n {
						return
					}
					_ = conns[i].SetDeadline(time.Now().Add(60 * time.Second))
					if err := f(conns[i]); err != nil {
						failed.Add(1)
						errOnce.Do(func() { first = err })
					}
				}
			})
		}
		wg.Wait()
		if first != nil {
			return fmt.Errorf("%d of %d sockets failed, first: %w", failed.Load(), n, first)
		}
		return nil
	}
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		var err error
		switch in.Text() {
		case "wake":
			err = each(func(c net.Conn) error {
				if err := writeFrame(c, 0x1, []byte("wake")); err != nil {
					return err
				}
				op, p, err := readFrame(c)
				if err == nil && (op != 0x1 || string(p) != "wake") {
					err = fmt.Errorf("got opcode %d %q, want the echo", op, p)
				}
				return err
			})
		case "close":
			err = each(func(c net.Conn) error {
				defer c.Close()
				if err := writeFrame(c, 0x8, binary.BigEndian.AppendUint16(nil, 1000)); err != nil {
					return err
				}
				op, _, err := readFrame(c)
				if err == nil && op != 0x8 {
					err = fmt.Errorf("got opcode %d, want a Close", op)
				}
				return err
			})
		default:
			err = fmt.Errorf("unknown command %q", in.Text())
		}
		if err != nil {
			fmt.Println("error", err)
			continue
		}
		fmt.Println("ok")
	}
	return nil
}
