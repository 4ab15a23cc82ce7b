package jsrt

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestOutboundCheck(t *testing.T) {
	// An address of this machine's (non-loopback) interfaces, if it has one.
	var own string
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
				own = n.IP.String()
				break
			}
		}
	}
	dev := Outbound{DenyPorts: []int{8788}}
	prod := Outbound{DenyPrivate: true, DenyPorts: []int{8788}}
	tests := []struct {
		addr      string
		dev, prod bool // allowed under each policy
	}{
		{"93.184.215.14:443", true, true},
		{"[2606:4700::6810:85e5]:443", true, true},
		{"127.0.0.1:8080", true, false},
		{"127.0.0.1:8788", false, false}, // the admin API
		{"[::1]:8788", false, false},
		{"0.0.0.0:8788", false, false},
		{"[::ffff:127.0.0.1]:8788", false, false},
		{"93.184.215.14:8788", true, true}, // another machine's port 8788
		{"10.1.2.3:80", true, false},
		{"172.16.0.1:80", true, false},
		{"192.168.1.1:80", true, false},
		{"100.64.0.1:80", true, false},
		{"169.254.169.254:80", true, false}, // cloud metadata
		{"[fe80::1]:80", true, false},
		{"[fd00::1]:80", true, false},
		{"0.0.0.0:80", true, false},
		{"224.0.0.1:80", true, false},
	}
	if own != "" {
		tests = append(tests, struct {
			addr      string
			dev, prod bool
		}{net.JoinHostPort(own, "8788"), false, false})
	}
	for _, tt := range tests {
		for _, c := range []struct {
			name  string
			o     Outbound
			allow bool
		}{{"dev", dev, tt.dev}, {"prod", prod, tt.prod}} {
			err := c.o.Check(tt.addr)
			if (err == nil) != c.allow {
				t.Errorf("%s: Check(%s) = %v, want allowed %v", c.name, tt.addr, err, c.allow)
			}
			if err != nil && !errors.Is(err, ErrAddressDenied) {
				t.Errorf("%s: Check(%s) = %v, not ErrAddressDenied", c.name, tt.addr, err)
			}
		}
	}
	if err := (Outbound{}).Check("127.0.0.1:8788"); err != nil {
		t.Errorf("zero Outbound refused %v", err)
	}
}

// The check applies when the connection is dialed: to the resolved
// address of a host name, and to redirects.
func TestOutboundTransport(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	c := &http.Client{Transport: Outbound{DenyPrivate: true}.Transport()}
	for _, u := range []string{srv.URL, "http://localhost:" + port} {
		_, err := c.Get(u)
		if !errors.Is(err, ErrAddressDenied) {
			t.Errorf("GET %s = %v, want ErrAddressDenied", u, err)
		}
	}
	c = &http.Client{Transport: Outbound{}.Transport()}
	resp, err := c.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if !strings.HasPrefix(resp.Status, "200") {
		t.Fatal(resp.Status)
	}
}
