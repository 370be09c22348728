package api

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// UnixPrefix marks a Unix socket address: "unix:/run/scalemalnet.sock".
const UnixPrefix = "unix:"

// Listen listens on "host:port" (TCP) or "unix:/path" (a Unix socket with
// mode 0600; a stale socket file is removed only if nothing accepts
// connections on it, and a non-socket file is never removed).
func Listen(addr string) (net.Listener, error) {
	path, ok := strings.CutPrefix(addr, UnixPrefix)
	if !ok {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("listen %s: %w", addr, err)
		}
		return ln, nil
	}
	if path == "" {
		return nil, fmt.Errorf("listen %s: empty socket path", addr)
	}
	if err := removeStaleSocket(path); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	return ln, nil
}

func removeStaleSocket(path string) error {
	st, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("listen unix:%s: %w", path, err)
	}
	if st.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("listen unix:%s: exists and is not a socket; not removing it", path)
	}
	c, err := net.DialTimeout("unix", path, time.Second)
	if err == nil {
		c.Close()
		return fmt.Errorf("listen unix:%s: another process is listening on it", path)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("listen unix:%s: probing existing socket: %w", path, err)
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("listen unix:%s: removing stale socket: %w", path, err)
	}
	return nil
}

// ErrInsecureListen: a plain-HTTP listen address that other machines can
// reach, refused unless the operator allows it explicitly.
var ErrInsecureListen = errors.New("insecure listen address")

// CheckListen refuses (ErrInsecureListen) a TCP address that is not on
// loopback, since the API serves its bearer token over plain HTTP: an
// empty host, 0.0.0.0, ::, or any address or name that is not 127.0.0.0/8
// or ::1. Unix sockets are always fine. allowInsecure (configuration
// allow_insecure_listen, flag --allow-insecure-listen) lets such an
// address through, for a host whose network is trusted or a TLS reverse
// proxy on another machine. A host name is resolved through the local
// resolver; every address it has must be loopback.
func CheckListen(addr string, allowInsecure bool) error {
	if strings.HasPrefix(addr, UnixPrefix) || allowInsecure {
		return nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", addr, err)
	}
	refuse := func(why string) error {
		return fmt.Errorf("%w: listen %s: %s; the API's bearer token would travel in clear text. "+
			"Listen on 127.0.0.1 or a unix: socket and put a TLS reverse proxy in front (docs/operations.md), "+
			"or set allow_insecure_listen = true (flag --allow-insecure-listen) if this network is trusted",
			ErrInsecureListen, addr, why)
	}
	if host == "" {
		return refuse("no host means every interface")
	}
	var ips []net.IP
	if ip := net.ParseIP(host); ip != nil {
		ips = []net.IP{ip}
	} else if host == "localhost" {
		return nil
	} else {
		addrs, err := net.LookupHost(host)
		if err != nil {
			return fmt.Errorf("listen %s: %w", addr, err)
		}
		for _, a := range addrs {
			if ip := net.ParseIP(a); ip != nil {
				ips = append(ips, ip)
			}
		}
		if len(ips) == 0 {
			return refuse("host name has no address")
		}
	}
	for _, ip := range ips {
		if !ip.IsLoopback() {
			return refuse(ip.String() + " is not a loopback address")
		}
	}
	return nil
}
