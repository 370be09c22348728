package config

import (
	"errors"
	"strings"
	"testing"
)

func TestParseHosts(t *testing.T) {
	src := `
[pool]
slots = 1

[[pool.host]]
name = "lab1"
uri = "qemu+tcp://10.213.1.2/system"
transport = "tcp"
insecure = true
slots = 2
memory_mib = 512
image_dir = "/var/lib/scalemalnet-host/images"

[[pool.host]]
name = "rack-b"
uri = "qemu+tls://hv-b.example/system"
transport = "tls"
tls_dir = "/etc/scalemalnet/pki/hv-b"
image_dir = "/srv/smn/images"
state_dir = "/srv/smn/state"

[[pool.host]]
name = "rack-c"
uri = "qemu+ssh://smn@hv-c.example/system"
transport = "ssh"
ssh_key = "/etc/scalemalnet/id_ed25519"
ssh_known_hosts = "/etc/scalemalnet/known_hosts"
image_dir = "/srv/smn/images"
`
	cfg, err := Parse("smn.toml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Hosts) != 3 {
		t.Fatalf("hosts: %+v", cfg.Hosts)
	}
	h := cfg.Hosts[0]
	if h.Name != "lab1" || h.Slots != 2 || h.MemoryMiB != 512 || h.URI != "qemu+tcp://10.213.1.2/system" || h.ImageDir != "/var/lib/scalemalnet-host/images" {
		t.Errorf("host 0: %+v", h)
	}
	if got := cfg.Hosts[1].URI; got != "qemu+tls://hv-b.example/system?pkipath=%2Fetc%2Fscalemalnet%2Fpki%2Fhv-b" {
		t.Errorf("tls URI %q lacks the pkipath", got)
	}
	if cfg.Hosts[1].Slots != 1 || cfg.Hosts[1].StateDir != "/srv/smn/state" {
		t.Errorf("host 1: %+v", cfg.Hosts[1])
	}
	if got := cfg.Hosts[2].URI; !strings.Contains(got, "keyfile=%2Fetc%2Fscalemalnet%2Fid_ed25519") || !strings.Contains(got, "known_hosts=") {
		t.Errorf("ssh URI %q lacks keyfile/known_hosts", got)
	}
}

// Every problem of every host is reported at once, each with its line.
func TestParseHostsErrors(t *testing.T) {
	src := `[[pool.slot]]
name = "lab-0"

[[pool.host]]
name = "lab"
uri = "qemu+tcp://10.213.1.2/system"
transport = "tcp"
image_dir = "relative/dir"

[[pool.host]]
name = "lab"
uri = "qemu+ssh://hv/system"
transport = "tls"
image_dir = "/x"

[[pool.host]]
uri = "qemu:///system"
transport = "carrier-pigeon"
slots = 0
ssh_key = "/k"
`
	_, err := Parse("smn.toml", []byte(src))
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("err %v, want ErrInvalid", err)
	}
	for _, w := range []string{
		"line 5: pool.host[0].name: its slot lab-0 clashes with pool.slot[0]",
		"line 7: pool.host[0].transport: \"tcp\" is neither encrypted",
		"line 8: pool.host[0].image_dir: \"relative/dir\": want an absolute path",
		"line 11: pool.host[1].name: \"lab\" already names pool.host[0]",
		"line 12: pool.host[1].uri: \"qemu+ssh://hv/system\" does not use transport tls",
		"pool.host[1].tls_dir: required",
		"line 16: pool.host[2]: name is required",
		"pool.host[2].uri: \"qemu:///system\": want qemu+tcp|tls|ssh://HOST/system",
		"line 19: pool.host[2].slots: 0 outside",
		"pool.host[2].image_dir: required",
		"line 20: pool.host[2].ssh_key: only for transport ssh",
	} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error lacks %q:\n%v", w, err)
		}
	}
}
