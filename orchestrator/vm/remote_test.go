package vm

import (
	"errors"
	"testing"
	"time"
)

func TestIsRemoteURI(t *testing.T) {
	for uri, want := range map[string]bool{
		"qemu:///system":                   false,
		"test:///default":                  false,
		"qemu+tcp://10.213.1.2/system":     true,
		"qemu+tls://hv.example/system":     true,
		"qemu+ssh://smn@hv.example/system": true,
		"qemu+unix:///system":              true, // a transport: treated as remote (channel via libvirt)
	} {
		if got := IsRemoteURI(uri); got != want {
			t.Errorf("IsRemoteURI(%q) = %v, want %v", uri, got, want)
		}
	}
}

func TestParseVolTime(t *testing.T) {
	got := parseVolTime("1796534423.232642202")
	if want := time.Unix(1796534423, 232642202).UTC(); !got.Equal(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if got := parseVolTime("12.5"); !got.Equal(time.Unix(12, 500000000)) {
		t.Fatalf("short fraction: %v", got)
	}
	if !parseVolTime("garbage").IsZero() {
		t.Fatal("garbage must give the zero time")
	}
}

func TestPoolName(t *testing.T) {
	if PoolName("/a/b/") != PoolName("/a/b") || PoolName("/a/b") == PoolName("/a/c") {
		t.Fatal("pool names must follow the cleaned directory")
	}
}

func TestRemoteSpecValidate(t *testing.T) {
	s := testSpec(t, "smn-r")
	s.Host = "h1"
	if err := s.Validate(); !errors.Is(err, ErrConfig) {
		t.Fatalf("remote spec without SavePath: %v", err)
	}
	s.SavePath = "/srv/state/smn-r.save"
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	s.Network, s.NetPort = NetworkIsolated, 4000
	if err := s.Validate(); !errors.Is(err, ErrConfig) {
		t.Fatalf("isolated on a remote host: %v, want ErrConfig", err)
	}
	if _, err := NewSlot("x", testSpec(t, "smn-l"), nil, t.TempDir(), nil); err != nil {
		t.Fatalf("local slot: %v", err)
	}
	s.Network, s.NetPort = "", 0
	if _, err := NewSlot("x", s, nil, t.TempDir(), nil); !errors.Is(err, ErrConfig) {
		t.Fatalf("remote slot on a hypervisor without HostFiles: %v", err)
	}
}
