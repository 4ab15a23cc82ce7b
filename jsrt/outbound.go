package jsrt

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// ErrAddressDenied is the error of an outbound connection (a Worker's
// fetch) to an address its Outbound policy refuses.
var ErrAddressDenied = errors.New("address not allowed")

// Outbound says which addresses a Worker's outbound fetch may connect to.
// The check runs when the connection is dialed, after name resolution and
// for every redirect, so a host name that resolves to a refused address
// (DNS rebinding included) is refused too. The zero value allows all.
type Outbound struct {
	// DenyPrivate refuses addresses that are not on the public internet:
	// loopback, private (RFC 1918, fc00::/7), shared (100.64.0.0/10),
	// link-local (169.254.0.0/16, where cloud metadata services live;
	// fe80::/10), unspecified and multicast addresses, and the addresses of
	// this machine's interfaces.
	DenyPrivate bool
	// DenyPorts are ports no connection to this machine may use, whatever
	// DenyPrivate says: those of cairn's own admin API. A connection to any
	// local address (loopback, unspecified or an interface's) on one of
	// them is refused, since a listener on the unspecified address answers
	// on all of them.
	DenyPorts []int
}

// Check reports whether a connection to address ("ip:port", as dialed) is
// allowed, or why not (wrapping ErrAddressDenied).
func (o Outbound) Check(address string) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("outbound address %q: %w", address, err)
	}
	ip := ap.Addr().Unmap()
	local := ip.IsLoopback() || ip.IsUnspecified() || isInterfaceAddr(ip)
	for _, p := range o.DenyPorts {
		if local && int(ap.Port()) == p {
			return fmt.Errorf("%w: %s is cairn's admin API", ErrAddressDenied, address)
		}
	}
	if o.DenyPrivate && (local || !isPublic(ip)) {
		return fmt.Errorf("%w: %s is a private address, which this server does not let Workers reach", ErrAddressDenied, address)
	}
	return nil
}

// sharedSpace is 100.64.0.0/10 (RFC 6598, carrier-grade NAT), which
// netip's IsPrivate leaves out.
var sharedSpace = netip.MustParsePrefix("100.64.0.0/10")

// isPublic reports whether ip is a public unicast address.
func isPublic(ip netip.Addr) bool {
	return ip.IsGlobalUnicast() && !ip.IsPrivate() && !sharedSpace.Contains(ip) &&
		!(ip.Is4() && ip.As4()[0] == 0) // 0.0.0.0/8: "this network"
}

// isInterfaceAddr reports whether ip is an address of one of this machine's
// network interfaces.
func isInterfaceAddr(ip netip.Addr) bool {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return false
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			if x, ok := netip.AddrFromSlice(n.IP); ok && x.Unmap() == ip {
				return true
			}
		}
	}
	return false
}

// Transport returns an HTTP transport (with http.DefaultTransport's
// settings) whose every connection is checked by o when it is dialed.
func (o Outbound) Transport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	d := &net.Dialer{
		Timeout:   30 * time.Second,
		KeepAlive: 30 * time.Second,
		Control: func(network, address string, _ syscall.RawConn) error {
			return o.Check(address)
		},
	}
	t.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		return d.DialContext(ctx, network, addr)
	}
	return t
}
