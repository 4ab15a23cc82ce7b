package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// respServer is a small Redis server (RESP 2: PING, SET, GET, INCR, INFO,
// SELECT, CLIENT, QUIT) over an in-memory map, shared by its connections.
type respServer struct {
	Addr string
	mu   sync.Mutex
	data map[string]string
	cmds []string
}

func startRESP(t *testing.T) *respServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	s := &respServer{Addr: ln.Addr().String(), data: map[string]string{}}
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(conn)
		}
	}()
	return s
}

func (s *respServer) Commands() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.cmds...)
}

// readCommand reads one RESP array of bulk strings.
func readCommand(r *bufio.Reader) ([]string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(line, "*") {
		return strings.Fields(line), nil // an inline command
	}
	n, err := strconv.Atoi(strings.TrimSpace(line[1:]))
	if err != nil {
		return nil, err
	}
	args := make([]string, n)
	for i := range args {
		h, err := r.ReadString('\n')
		if err != nil {
			return nil, err
		}
		size, err := strconv.Atoi(strings.TrimSpace(h[1:]))
		if err != nil {
			return nil, err
		}
		b := make([]byte, size+2)
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, err
		}
		args[i] = string(b[:size])
	}
	return args, nil
}

func bulk(s string) string { return fmt.Sprintf("$%d\r\n%s\r\n", len(s), s) }

func (s *respServer) serve(conn net.Conn) {
	defer conn.Close()
	r := bufio.NewReader(conn)
	for {
		args, err := readCommand(r)
		if err != nil || len(args) == 0 {
			return
		}
		cmd := strings.ToUpper(args[0])
		s.mu.Lock()
		s.cmds = append(s.cmds, cmd)
		var reply string
		switch {
		case cmd == "PING":
			reply = "+PONG\r\n"
		case cmd == "SET" && len(args) >= 3:
			s.data[args[1]] = args[2]
			reply = "+OK\r\n"
		case cmd == "GET" && len(args) == 2:
			if v, ok := s.data[args[1]]; ok {
				reply = bulk(v)
			} else {
				reply = "$-1\r\n"
			}
		case cmd == "INCR" && len(args) == 2:
			n, _ := strconv.Atoi(s.data[args[1]])
			s.data[args[1]] = strconv.Itoa(n + 1)
			reply = fmt.Sprintf(":%d\r\n", n+1)
		case cmd == "INFO":
			reply = bulk("# Server\r\nredis_version:7.2.0\r\n# Persistence\r\nloading:0\r\n")
		case cmd == "SELECT" || cmd == "CLIENT":
			reply = "+OK\r\n"
		case cmd == "QUIT":
			s.mu.Unlock()
			_, _ = io.WriteString(conn, "+OK\r\n")
			return
		default:
			reply = "-ERR unknown command '" + args[0] + "'\r\n"
		}
		s.mu.Unlock()
		if _, err := io.WriteString(conn, reply); err != nil {
			return
		}
	}
}

// ioredis, a Redis client built on node:net, runs unchanged through the
// real binary against a Redis server the test runs: commands, a pipeline
// and QUIT.
func TestCorpusIORedis(t *testing.T) {
	srv := startRESP(t)
	dir := installProject(t, "testdata/corpus/redis")
	d := startDev(t, dir, t.TempDir())
	host, port, _ := net.SplitHostPort(srv.Addr)
	status, body := d.Get("/?host=" + host + "&port=" + port)
	if status != 200 {
		t.Fatalf("status %d: %s\nserver saw %v\n%s", status, body, srv.Commands(), d.Logs)
	}
	var got struct {
		Greeting string
		Hits     int
		Piped    [][]any
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	if got.Greeting != "hello from cairn" || got.Hits != 2 || len(got.Piped) != 2 || got.Piped[1][1] != "1" {
		t.Errorf("got %+v (%s)", got, body)
	}
	if cmds := strings.Join(srv.Commands(), " "); !strings.Contains(cmds, "SET INCR INCR GET SET GET QUIT") {
		t.Errorf("server saw %s", cmds)
	}
}
