package api

import (
	"errors"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
)

func TestLoadOrCreateToken(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "sub", "token")
	tok, err := LoadOrCreateToken(p)
	if err != nil || len(tok) != 64 {
		t.Fatalf("create: %q %v", tok, err)
	}
	st, _ := os.Stat(p)
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", st.Mode())
	}
	again, err := LoadOrCreateToken(p)
	if err != nil || again != tok {
		t.Fatalf("reload: %q %v", again, err)
	}
	os.Chmod(p, 0o640)
	if _, err := LoadOrCreateToken(p); !errors.Is(err, ErrInsecureToken) || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("group-readable: %v", err)
	}
	os.Chmod(p, 0o600)
	os.WriteFile(p, []byte("short\n"), 0o600)
	if _, err := LoadOrCreateToken(p); err == nil {
		t.Fatal("short token accepted")
	}
	if _, err := LoadOrCreateToken(dir); err == nil {
		t.Fatal("directory accepted as token file")
	}
}

func TestListenUnix(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "api.sock")
	ln, err := Listen("unix:" + sock)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(sock)
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", st.Mode())
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	if _, err := Listen("unix:" + sock); err == nil || !strings.Contains(err.Error(), "another process") {
		t.Fatalf("second listen: %v", err)
	}
	// A stale socket (nothing listening) is replaced.
	ul := ln.(*net.UnixListener)
	ul.SetUnlinkOnClose(false)
	ul.Close()
	ln2, err := Listen("unix:" + sock)
	if err != nil {
		t.Fatalf("stale socket: %v", err)
	}
	ln2.Close()
	// A regular file is never removed.
	reg := filepath.Join(dir, "file")
	os.WriteFile(reg, []byte("keep"), 0o600)
	if _, err := Listen("unix:" + reg); err == nil {
		t.Fatal("listened over a regular file")
	}
	if b, _ := os.ReadFile(reg); string(b) != "keep" {
		t.Fatal("regular file changed")
	}
	tl, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tl.Close()
}

// FuzzParseSubmitQuery feeds arbitrary query strings to the submission
// option parser: it must not panic, and what it accepts must satisfy the
// job option invariants.
func FuzzParseSubmitQuery(f *testing.F) {
	for _, s := range []string{
		"", "name=x&timeout=20s&window=1s&arg=a&arg=b", "timeout=1h", "window=0", "arg=%00",
		"timeout=1.5s&window=10ms", "name=../../etc/passwd", "timeout=9223372036854775807ns", "x=1",
		"network=user", "network=none", "network=bridge", "network=isolated",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		_, opts, err := parseSubmitQuery(v)
		if err != nil {
			if !errors.Is(err, jobs.ErrInvalid) {
				t.Fatalf("error not ErrInvalid: %v", err)
			}
			return
		}
		if opts.Timeout < jobs.DefaultTimeout/20 || opts.Timeout > jobs.MaxTimeout ||
			opts.Window < jobs.MinWindow || opts.Window > opts.Timeout || len(opts.Args) > jobs.MaxArgs ||
			(opts.Network != jobs.NetworkNone && opts.Network != jobs.NetworkUser && opts.Network != jobs.NetworkIsolated) {
			t.Fatalf("accepted bad options %+v from %q", opts, raw)
		}
		for _, a := range opts.Args {
			if strings.IndexByte(a, 0) >= 0 || len(a) > jobs.MaxArgLen {
				t.Fatalf("accepted bad arg %q", a)
			}
		}
	})
}
