package api

import (
	"errors"
	"strings"
	"testing"
)

// Issue 13 finding 12: a non-loopback plain-HTTP address is refused unless
// allowed explicitly, with a message that says what to do.
func TestCheckListen(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:7433", "127.1.2.3:1", "[::1]:7433", "localhost:7433", "unix:/run/x.sock"} {
		if err := CheckListen(addr, false); err != nil {
			t.Errorf("%s refused: %v", addr, err)
		}
	}
	for _, addr := range []string{"0.0.0.0:7433", ":7433", "[::]:7433", "10.1.2.3:7433", "192.168.0.1:80", "[fe80::1]:1"} {
		err := CheckListen(addr, false)
		if !errors.Is(err, ErrInsecureListen) {
			t.Errorf("%s: got %v, want ErrInsecureListen", addr, err)
			continue
		}
		for _, want := range []string{"allow_insecure_listen", "--allow-insecure-listen", "TLS reverse proxy", "docs/operations.md"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s: message %q lacks %q", addr, err, want)
			}
		}
		if err := CheckListen(addr, true); err != nil {
			t.Errorf("%s with allow_insecure_listen: %v", addr, err)
		}
	}
	if err := CheckListen("no-port", false); err == nil || errors.Is(err, ErrInsecureListen) {
		t.Errorf("malformed address: got %v, want a parse error", err)
	}
}
