package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// cairn serve keeps the hibernated WebSockets of every Worker across a
// deploy of one of them and across a restart of the process (SIGUSR2):
// tags, attachments and auto-responses come along, the client never sees
// a close. Issue 15: "hibernated WebSockets stay connected across a deploy
// and across a cairn serve restart".

// serveHandoffProject writes two Workers, alpha and beta, each with the
// hand-off test's Room object (its VERSION is the Worker's name and v1),
// a cairn.toml routing /alpha/* and /beta/* to them, and the project of
// alpha's next version (VERSION alpha-v2). It returns the cairn.toml and
// the next version's directory.
func serveHandoffProject(t *testing.T, adminPort int) (file, next string) {
	t.Helper()
	worker := func(name, version string) string {
		w := strings.Replace(handoffWorker, `const VERSION = "v1";`, fmt.Sprintf("const VERSION = %q;", name+"-"+version), 1)
		// Routed under /alpha/ and /beta/.
		return strings.NewReplacer(`url.pathname === "/write"`, `url.pathname.endsWith("/write")`,
			`url.pathname === "/read"`, `url.pathname.endsWith("/read")`).Replace(w)
	}
	cfg := func(name string) string {
		return strings.Replace(handoffConfig, `"name": "handoff"`, fmt.Sprintf("%q: %q", "name", name), 1)
	}
	dir := writeProject(t, map[string]string{
		"alpha/wrangler.jsonc":    cfg("alpha"),
		"alpha/src/index.js":      worker("alpha", "v1"),
		"beta/wrangler.jsonc":     cfg("beta"),
		"beta/src/index.js":       worker("beta", "v1"),
		"alpha-v2/wrangler.jsonc": cfg("alpha"),
		"alpha-v2/src/index.js":   worker("alpha", "v2"),
	})
	toml := fmt.Sprintf(`data_dir = "data"
shutdown_timeout = "20s"

[admin]
listen = "127.0.0.1:%d"
token = "tok"

[[workers]]
config = "alpha"
routes = ["127.0.0.1/alpha/*"]

[[workers]]
config = "beta"
routes = ["127.0.0.1/beta/*"]
`, adminPort)
	file = filepath.Join(dir, "cairn.toml")
	if err := os.WriteFile(file, []byte(toml), 0o644); err != nil {
		t.Fatal(err)
	}
	return file, filepath.Join(dir, "alpha-v2")
}

// fakeNotify plays systemd's notification socket (NOTIFY_SOCKET): it
// keeps every message it gets, and plays the descriptor store: FDSTORE=1
// keeps the descriptors sent with the message under its FDNAME,
// FDSTOREREMOVE=1 closes those of the FDNAME.
type fakeNotify struct {
	path  string
	mu    sync.Mutex
	msgs  []string
	store map[string][]*os.File
}

// storeFiles takes the descriptors in the store out of it, in an order
// other than the one they came in (the last first), with their names.
func (n *fakeNotify) storeFiles() (files []*os.File, names []string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for name, fs := range n.store {
		for _, f := range fs {
			files, names = append(files, f), append(names, name)
		}
	}
	slices.Reverse(files)
	slices.Reverse(names)
	return files, names
}

// stored returns how many descriptors the store holds under each name.
func (n *fakeNotify) stored() map[string]int {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := map[string]int{}
	for name, fs := range n.store {
		out[name] = len(fs)
	}
	return out
}

func (n *fakeNotify) handle(msg string, fds []int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.msgs = append(n.msgs, msg)
	fields := map[string]string{}
	for line := range strings.Lines(msg) {
		k, v, _ := strings.Cut(strings.TrimSpace(line), "=")
		fields[k] = v
	}
	switch {
	case fields["FDSTORE"] == "1":
		for _, fd := range fds {
			n.store[fields["FDNAME"]] = append(n.store[fields["FDNAME"]], os.NewFile(uintptr(fd), fields["FDNAME"]))
		}
		return
	case fields["FDSTOREREMOVE"] == "1":
		for _, f := range n.store[fields["FDNAME"]] {
			f.Close()
		}
		delete(n.store, fields["FDNAME"])
	}
	for _, fd := range fds {
		syscall.Close(fd)
	}
}

func newFakeNotify(t *testing.T) *fakeNotify {
	t.Helper()
	dir, err := os.MkdirTemp("", "sd") // short: a socket path is at most 107 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	n := &fakeNotify{path: filepath.Join(dir, "notify"), store: map[string][]*os.File{}}
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: n.path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		files, _ := n.storeFiles()
		for _, f := range files {
			f.Close()
		}
	})
	go func() {
		buf, oob := make([]byte, 4096), make([]byte, syscall.CmsgSpace(253*4))
		for {
			k, oobn, _, _, err := c.ReadMsgUnix(buf, oob)
			if err != nil {
				return
			}
			var fds []int
			if cmsgs, err := syscall.ParseSocketControlMessage(oob[:oobn]); err == nil {
				for _, m := range cmsgs {
					if got, err := syscall.ParseUnixRights(&m); err == nil {
						fds = append(fds, got...)
					}
				}
			}
			n.handle(string(buf[:k]), fds)
		}
	}()
	return n
}

// messages returns the messages so far.
func (n *fakeNotify) messages() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.msgs...)
}

// adminWorkers returns the live objects of each Worker, from the admin API.
func adminWorkers(t *testing.T, admin string) map[string]int {
	t.Helper()
	req, _ := http.NewRequest("GET", admin+"/client/v4/cairn/workers", nil)
	req.Header.Set("Authorization", "Bearer tok")
	resp, err := testClient.Do(req)
	if err != nil {
		t.Fatalf("admin API: %v", err)
	}
	defer resp.Body.Close()
	var body struct {
		Result []struct {
			Name        string
			LiveObjects int
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("admin API: %v", err)
	}
	out := map[string]int{}
	for _, w := range body.Result {
		out[w.Name] = w.LiveObjects
	}
	return out
}

// hibernated waits until beta has no live object and alpha alphaLive
// (the objects of the test's hibernated sockets were evicted, holding their
// sockets: hibernation).
func hibernated(t *testing.T, admin string, alphaLive int) bool {
	t.Helper()
	return waitFor(40*time.Second, func() bool {
		live := adminWorkers(t, admin)
		return len(live) == 2 && live["alpha"] == alphaLive && live["beta"] == 0
	})
}

var mainPIDLine = regexp.MustCompile(`MAINPID=(\d+)`)

func TestServeHibernatedWebSocketsSurviveDeployAndRestart(t *testing.T) {
	adminPort, port := freePort(t), freePort(t)
	file, next := serveHandoffProject(t, adminPort)
	admin := fmt.Sprintf("http://127.0.0.1:%d", adminPort)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	tmp := t.TempDir()
	pidFile, logPath := filepath.Join(tmp, "cairn.pid"), filepath.Join(tmp, "cairn.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	logs := func() string {
		b, _ := os.ReadFile(logPath)
		return string(b)
	}
	notify := newFakeNotify(t)
	// The old and the new process write to one file: a pipe would close
	// when the test's exec.Cmd sees the old one exit.
	cmd := exec.Command(cairnBin, "serve", "-c", file, "--pid-file", pidFile)
	cmd.Env = append(os.Environ(), fmt.Sprintf("CAIRN_HTTP=127.0.0.1:%d", port), "NOTIFY_SOCKET="+notify.path)
	cmd.Stdout, cmd.Stderr = logf, logf
	exited := startWatched(t, cmd)
	oldPid, newPid := cmd.Process.Pid, 0
	stopAtCleanup(t, 30*time.Second, &oldPid, &newPid)
	if !waitFor(60*time.Second, func() bool { return strings.Count(logs(), "Ready on ") == 1 }) {
		t.Fatalf("not ready\n%s", logs())
	}
	d := &devServer{t: t, URL: base, Logs: &syncBuffer{}}

	n := handoffN(t)
	if n < 2 {
		n = 2
	}
	alpha := openClients(t, base+"/alpha", n/2)
	beta := openClients(t, base+"/beta", n-n/2)
	all := append(append([]wsClient(nil), alpha...), beta...)
	// check sends msg on every socket and counts those that answered from
	// the expected version with their attachment, tags and object intact.
	check := func(msg, alphaVersion string) int {
		t.Helper()
		answers, errs := exchange(all, msg)
		// spec 55: tags and getWebSockets(tag); spec 13: the attachment.
		return checkAnswers(t, alpha, answers[:len(alpha)], errs[:len(alpha)], msg, alphaVersion) +
			checkAnswers(t, beta, answers[len(alpha):], errs[len(alpha):], msg, "beta-v1")
	}
	if ok := check("before", "alpha-v1"); ok != n {
		t.Fatalf("%d of %d sockets answered before the deploy\n%s", ok, n, logs())
	}

	// spec 13: the objects hibernate (leave memory, their sockets stay
	// open); spec 56: the auto-response answers without waking them.
	if !hibernated(t, admin, 0) {
		t.Fatalf("the objects did not hibernate: live objects %v\n%s", adminWorkers(t, admin), logs())
	}
	if got := roundTripRaw(t, beta[0].c, "ping"); got != "pong" {
		t.Fatalf("auto-response while hibernated = %q, want pong", got)
	}
	if live := adminWorkers(t, admin); live["beta"] != 0 {
		t.Errorf("the auto-response woke %d beta objects", live["beta"])
	}

	// A deploy of alpha: its sockets move to the new version in the same
	// process; beta's are not touched.
	out, err := runCairn(t, 2*time.Minute, "deploy", next, "--to", admin, "--token", "tok")
	if err != nil {
		t.Fatalf("cairn deploy: %v\n%s\nserver log:\n%s", err, out, logs())
	}
	keptDeploy := check("after-deploy", "alpha-v2")
	t.Logf("deploy: %d of %d hibernated WebSockets stayed connected", keptDeploy, n)
	if keptDeploy != n {
		t.Errorf("%d of %d sockets kept across the deploy\n%s", keptDeploy, n, logs())
	}
	// A socket accepted with ws.accept() cannot move to another process:
	// the restart closes it with 1012. (It keeps its object, in a room of
	// its own, in memory.)
	std := dial(t, d, "/alpha/ws?room=std&mode=std")
	if got := roundTrip(t, std, "y"); got != "alpha-v2 std y" {
		t.Fatalf("ws.accept() socket after the deploy = %q", got)
	}

	// Let them hibernate again, then restart the process with SIGUSR2,
	// right after an acknowledged write, while messages stream.
	if !hibernated(t, admin, 1) {
		t.Fatalf("the objects did not hibernate after the deploy: live objects %v", adminWorkers(t, admin))
	}
	stdClosed := make(chan websocket.StatusCode, 1)
	go func() {
		code, _ := closeCode(t, std)
		stdClosed <- code
	}()
	if status, body := d.Get("/beta/write?room=durable&v=acked-before-restart"); status != 200 || body != "ok" {
		t.Fatalf("write = %d %q", status, body)
	}
	if err := syscall.Kill(oldPid, syscall.SIGUSR2); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	answered := stream(all, stop)
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("old process exited with %v\n%s", err, logs())
		}
	case <-time.After(90 * time.Second):
		_ = syscall.Kill(oldPid, syscall.SIGQUIT)
		time.Sleep(2 * time.Second)
		t.Fatalf("old process still running 90s after SIGUSR2\n%s", logs())
	}
	if !waitFor(60*time.Second, func() bool { return strings.Count(logs(), "Ready on ") == 2 }) {
		t.Fatalf("the new process is not ready\n%s", logs())
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	if newPid, err = strconv.Atoi(strings.TrimSpace(string(b))); err != nil || newPid == oldPid || !alive(newPid) {
		t.Fatalf("pid file says %q (old pid %d)\n%s", b, oldPid, logs())
	}
	time.Sleep(200 * time.Millisecond) // a few more messages to the new process
	close(stop)
	intact, versions := answered(t)
	t.Logf("restart: %d of %d clients had the messages they sent during it answered once and in order (answers by version: %v)", intact, n, versions)
	if intact != n {
		t.Errorf("%d of %d clients lost or reordered messages sent during the restart\n%s", n-intact, n, logs())
	}
	keptRestart := check("after-restart", "alpha-v2")
	t.Logf("restart: %d of %d hibernated WebSockets stayed connected (pid %d → %d)", keptRestart, n, oldPid, newPid)
	if from, to := logTime(logs(), "the new process is ready; handing over"), lastLogTime(logs(), "adopted from the previous process"); !from.IsZero() && !to.IsZero() {
		// Between these two lines neither process accepts: connections
		// wait in the listen backlog.
		t.Logf("restart: hand-off window %s (old process stops accepting → new one adopted the sockets)", to.Sub(from).Round(time.Millisecond))
	}
	for line := range strings.Lines(logs()) {
		if strings.Contains(line, "handed over") || strings.Contains(line, "adopted from") || strings.Contains(line, "for the hand-off") {
			t.Log(strings.TrimSpace(line))
		}
	}
	if keptRestart != n {
		t.Errorf("%d of %d sockets kept across the restart\n%s", keptRestart, n, logs())
	}
	if got := roundTripRaw(t, alpha[len(alpha)-1].c, "ping"); got != "pong" {
		t.Errorf("auto-response after the restart = %q, want pong", got)
	}
	select {
	case code := <-stdClosed:
		if code != websocket.StatusServiceRestart {
			t.Errorf("ws.accept() socket closed with %d by the restart, want 1012", code)
		}
	case <-time.After(15 * time.Second):
		t.Error("ws.accept() socket not closed by the restart")
	}
	// The new process serves HTTP, with the acknowledged write.
	if status, body := d.Get("/beta/read?room=durable"); status != 200 || body != "acked-before-restart" {
		t.Errorf("after the restart read = %d %q, want the acknowledged write", status, body)
	}

	// systemd (Type=notify) was told: ready, reloading (with the
	// monotonic time), the new main pid, ready again.
	msgs := strings.Join(notify.messages(), "|")
	want := regexp.MustCompile(`READY=1\|.*RELOADING=1\nMONOTONIC_USEC=\d+.*\|MAINPID=` + strconv.Itoa(newPid) + `.*\|READY=1`)
	if !want.MatchString(msgs) {
		t.Errorf("notifications = %q, want READY=1, RELOADING=1 with MONOTONIC_USEC, MAINPID=%d, READY=1", msgs, newPid)
	}
	if m := mainPIDLine.FindAllStringSubmatch(msgs, -1); len(m) != 1 {
		t.Errorf("MAINPID sent %d times, want once: %q", len(m), msgs)
	}
	if got := notify.stored(); len(got) != 0 {
		t.Errorf("descriptors stored without FDSTORE set: %v", got)
	}

	// SIGHUP (systemd's reload signal) upgrades the same way.
	if err := syscall.Kill(newPid, syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if !waitFor(90*time.Second, func() bool { return strings.Count(logs(), "Ready on ") == 3 && !alive(newPid) }) {
		t.Fatalf("the upgrade on SIGHUP did not complete\n%s", logs())
	}
	if b, err = os.ReadFile(pidFile); err != nil {
		t.Fatal(err)
	}
	newPid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
	if kept := check("after-sighup", "alpha-v2"); kept != n {
		t.Errorf("%d of %d sockets kept across the upgrade on SIGHUP", kept, n)
	}

	// SIGTERM on the new process: a clean exit, the sockets closed with
	// 1012 this time.
	if err := syscall.Kill(newPid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if !waitFor(30*time.Second, func() bool { return !alive(newPid) }) {
		t.Fatalf("the new process did not stop on SIGTERM\n%s", logs())
	}
	if code, _ := closeCode(t, beta[0].c); code != websocket.StatusServiceRestart {
		t.Errorf("after SIGTERM a hibernated socket closed with %d, want 1012", code)
	}
}

// With systemd's descriptor store (FileDescriptorStoreMax=), a stop and a
// start of cairn serve ("systemctl restart") keep every Worker's
// hibernated WebSockets too: the test plays systemd, keeping what the
// stopping process stores and passing it to the next one as LISTEN_FDS
// (in another order than it came). Messages clients send while no process
// runs are answered by the next one.
func TestServeHibernatedWebSocketsSurviveRestartWithFDStore(t *testing.T) {
	adminPort, port := freePort(t), freePort(t)
	file, _ := serveHandoffProject(t, adminPort)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	logPath := filepath.Join(t.TempDir(), "cairn.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	logs := func() string {
		b, _ := os.ReadFile(logPath)
		return string(b)
	}
	notify := newFakeNotify(t)
	env := append(os.Environ(), fmt.Sprintf("CAIRN_HTTP=127.0.0.1:%d", port), "NOTIFY_SOCKET="+notify.path, "FDSTORE=4096")
	// start runs cairn serve as systemd would: LISTEN_PID is the pid of
	// the process that gets the descriptors (the shell execs cairn).
	start := func(files []*os.File, names []string) (*exec.Cmd, chan error) {
		cmd := exec.Command("/bin/sh", "-c", `LISTEN_PID=$$ exec "$0" serve -c "$1"`, cairnBin, file)
		cmd.Env = env
		if len(files) > 0 {
			cmd.Env = append(slices.Clone(env), fmt.Sprintf("LISTEN_FDS=%d", len(files)), "LISTEN_FDNAMES="+strings.Join(names, ":"))
			cmd.ExtraFiles = files
		}
		cmd.Stdout, cmd.Stderr = logf, logf
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		t.Cleanup(func() {
			if cmd.ProcessState == nil && alive(cmd.Process.Pid) {
				_ = cmd.Process.Signal(syscall.SIGTERM)
				select {
				case <-exited:
				case <-time.After(30 * time.Second):
					_ = cmd.Process.Kill()
				}
			}
		})
		return cmd, exited
	}
	first, exited := start(nil, nil)
	if !waitFor(60*time.Second, func() bool { return strings.Count(logs(), "Ready on ") == 1 }) {
		t.Fatalf("not ready\n%s", logs())
	}
	d := &devServer{t: t, URL: base, Logs: &syncBuffer{}}
	n := max(handoffN(t), 2)
	alpha := openClients(t, base+"/alpha", n/2)
	beta := openClients(t, base+"/beta", n-n/2)
	all := append(append([]wsClient(nil), alpha...), beta...)
	check := func(msg string) int {
		t.Helper()
		answers, errs := exchange(all, msg)
		return checkAnswers(t, alpha, answers[:len(alpha)], errs[:len(alpha)], msg, "alpha-v1") +
			checkAnswers(t, beta, answers[len(alpha):], errs[len(alpha):], msg, "beta-v1")
	}
	if ok := check("before"); ok != n {
		t.Fatalf("%d of %d sockets answered before the restart\n%s", ok, n, logs())
	}
	if status, body := d.Get("/alpha/write?room=durable&v=acked-before-restart"); status != 200 || body != "ok" {
		t.Fatalf("write = %d %q", status, body)
	}

	// Stop: SIGTERM, exit 0, the sockets and their state in the store.
	if err := first.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("cairn serve exited with %v after SIGTERM\n%s", err, logs())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("cairn serve did not stop within 60s of SIGTERM\n%s", logs())
	}
	if got := notify.stored(); got["w"] != n || got["cairn-state"] != 1 || len(got) != 2 {
		t.Fatalf("descriptor store after the stop: %v, want %d sockets (w) and cairn-state\n%s", got, n, logs())
	}
	// Messages sent while no process runs wait in the sockets.
	for _, cl := range all {
		send(t, cl.c, "while-down")
	}

	// Start: the store's descriptors passed as LISTEN_FDS.
	files, names := notify.storeFiles()
	second, _ := start(files, names)
	if !waitFor(60*time.Second, func() bool { return strings.Count(logs(), "Ready on ") == 2 }) {
		t.Fatalf("the next process is not ready\n%s", logs())
	}
	// The store let go of them (FDSTOREREMOVE): the new process owns them.
	if !waitFor(10*time.Second, func() bool { return len(notify.stored()) == 0 }) {
		t.Errorf("descriptor store after the start: %v, want empty", notify.stored())
	}
	for _, f := range files {
		f.Close() // the fake systemd's copies
	}
	answeredDown := 0
	for i, cl := range all {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_, b, err := cl.c.Read(ctx)
		cancel()
		var a answer
		if err == nil && json.Unmarshal(b, &a) == nil && a.Msg == "while-down" {
			answeredDown++
		} else if i < 5 {
			t.Errorf("client %d: answer to a message sent while down: %q, %v", i, b, err)
		}
	}
	kept := check("after-restart")
	t.Logf("restart with the descriptor store: %d of %d hibernated WebSockets stayed connected, %d answered a message sent while no process ran (pid %d → %d)",
		kept, n, answeredDown, first.Process.Pid, second.Process.Pid)
	if kept != n || answeredDown != n {
		t.Errorf("%d of %d sockets kept across the restart, %d answered\n%s", kept, n, answeredDown, logs())
	}
	if got := roundTripRaw(t, beta[0].c, "ping"); got != "pong" {
		t.Errorf("auto-response after the restart = %q, want pong", got)
	}
	if status, body := d.Get("/alpha/read?room=durable"); status != 200 || body != "acked-before-restart" {
		t.Errorf("after the restart read = %d %q, want the acknowledged write", status, body)
	}
}

// lastLogTime returns the time of the last log line containing msg.
func lastLogTime(logs, msg string) time.Time {
	var at time.Time
	for line := range strings.Lines(logs) {
		if strings.Contains(line, msg) {
			if t := logTime(line, msg); !t.IsZero() {
				at = t
			}
		}
	}
	return at
}
