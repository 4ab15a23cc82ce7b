package main

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairn-dev/cairn/config"
)

// Flags beat CAIRN_* variables, which beat the file.
func TestServeOverrides(t *testing.T) {
	file := &config.Serve{File: "cairn.toml", DataDir: "/file/data", HTTP: "127.0.0.1:1", Admin: "127.0.0.1:3",
		AdminToken: "file-token", ShutdownTimeout: 30 * time.Second, LogFormat: "text"}
	tests := []struct {
		name  string
		args  []string
		env   map[string]string
		check func(*config.Serve) string
		err   string
	}{
		{name: "file only", check: func(s *config.Serve) string {
			if s.DataDir != "/file/data" || s.HTTP != "127.0.0.1:1" || s.AdminToken != "file-token" || s.ShutdownTimeout != 30*time.Second {
				return "file settings changed"
			}
			return ""
		}},
		{name: "env over file", env: map[string]string{"CAIRN_DATA_DIR": "/env/data", "CAIRN_HTTP": "127.0.0.1:2", "CAIRN_SHUTDOWN_TIMEOUT": "5s",
			"CAIRN_LOG_FORMAT": "json", "CAIRN_API_TOKEN": "api", "CAIRN_ADMIN_TOKEN": "admin"}, check: func(s *config.Serve) string {
			if s.DataDir != "/env/data" || s.HTTP != "127.0.0.1:2" || s.ShutdownTimeout != 5*time.Second || s.LogFormat != "json" || s.AdminToken != "admin" {
				return "env not applied"
			}
			return ""
		}},
		{name: "flag over env", args: []string{"--data-dir", "/flag/data", "--http", "127.0.0.1:9", "--shutdown-timeout", "2s", "--admin-token", "flag"},
			env: map[string]string{"CAIRN_DATA_DIR": "/env/data", "CAIRN_HTTP": "127.0.0.1:2", "CAIRN_SHUTDOWN_TIMEOUT": "5s", "CAIRN_ADMIN_TOKEN": "admin"},
			check: func(s *config.Serve) string {
				if s.DataDir != "/flag/data" || s.HTTP != "127.0.0.1:9" || s.ShutdownTimeout != 2*time.Second || s.AdminToken != "flag" {
					return "flags not applied"
				}
				return ""
			}},
		{name: "relative data dir", args: []string{"--data-dir", "rel"}, check: func(s *config.Serve) string {
			if !filepath.IsAbs(s.DataDir) || filepath.Base(s.DataDir) != "rel" {
				return "data dir not made absolute: " + s.DataDir
			}
			return ""
		}},
		{name: "bad env duration", env: map[string]string{"CAIRN_SHUTDOWN_TIMEOUT": "1 minute"}, err: "CAIRN_SHUTDOWN_TIMEOUT"},
		{name: "zero timeout", args: []string{"--shutdown-timeout", "0s"}, err: "must be positive"},
		{name: "bad listen", args: []string{"--http", "nowhere"}, err: "want host:port"},
		{name: "admin off loopback", args: []string{"--admin", "0.0.0.0:9", "--admin-token", ""}, err: "needs a token"},
		{name: "https without cert", args: []string{"--https", ":8443"}, err: "needs a certificate and a key"},
		{name: "https bad cert", args: []string{"--https", ":8443", "--tls-cert", "/nonexistent.pem", "--tls-key", "/nonexistent.key"}, err: "HTTPS certificate"},
		{name: "no data dir", args: []string{"--data-dir", ""}, err: "no data_dir"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, k := range []string{"CAIRN_DATA_DIR", "CAIRN_HTTP", "CAIRN_HTTPS", "CAIRN_TLS_CERT", "CAIRN_TLS_KEY", "CAIRN_ADMIN",
				"CAIRN_ADMIN_TOKEN", "CAIRN_API_TOKEN", "CAIRN_SHUTDOWN_TIMEOUT", "CAIRN_LOG_FORMAT"} {
				t.Setenv(k, tt.env[k])
			}
			cmd := newServeCommand()
			if err := cmd.Flags().Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			var fl serveFlags
			fl.dataDir, _ = cmd.Flags().GetString("data-dir")
			fl.http, _ = cmd.Flags().GetString("http")
			fl.https, _ = cmd.Flags().GetString("https")
			fl.tlsCert, _ = cmd.Flags().GetString("tls-cert")
			fl.tlsKey, _ = cmd.Flags().GetString("tls-key")
			fl.admin, _ = cmd.Flags().GetString("admin")
			fl.adminToken, _ = cmd.Flags().GetString("admin-token")
			fl.logFormat, _ = cmd.Flags().GetString("log-format")
			fl.shutdownTimeout, _ = cmd.Flags().GetDuration("shutdown-timeout")
			sc := *file
			err := fl.apply(cmd, &sc)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if msg := tt.check(&sc); msg != "" {
				t.Errorf("%s: %+v", msg, sc)
			}
		})
	}
}

// sdNotify sends its state to $NOTIFY_SOCKET as systemd's sd_notify does.
func TestSDNotify(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	t.Setenv("NOTIFY_SOCKET", sock)
	sdNotify("READY=1")
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 64)
	n, err := conn.Read(buf)
	if err != nil || string(buf[:n]) != "READY=1" {
		t.Errorf("got %q, %v; want READY=1", buf[:n], err)
	}
	os.Unsetenv("NOTIFY_SOCKET")
	sdNotify("READY=1") // without a socket: nothing, no panic
}
