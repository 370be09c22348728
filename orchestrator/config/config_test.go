package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scalemalnet/scalemalnet/orchestrator/daemon"
)

func TestExampleFileParses(t *testing.T) {
	cfg, err := Load(filepath.Join("..", "..", "docs", "scalemalnet.example.toml"))
	if err != nil {
		t.Fatalf("example config: %v", err)
	}
	if cfg.DataDir != "/var/lib/scalemalnet" || cfg.Listen != "127.0.0.1:7433" || cfg.Accel != "auto" {
		t.Fatalf("top level: %+v", cfg)
	}
	if len(cfg.Pool) != 2 || cfg.Pool[0].Name != "slot0" || cfg.Pool[0].MemoryMiB != 256 ||
		cfg.Pool[1].MemoryMiB != 512 || len(cfg.Pool[1].Tags) != 1 || cfg.PoolOrigin != daemon.OriginConfig {
		t.Fatalf("pool: %+v", cfg.Pool)
	}
	if cfg.QuarantineAfter != 3 || cfg.MaxSample != 64<<20 || cfg.MaxArtifactBytes != 256<<20 || cfg.MinFreeBytes != 1<<30 {
		t.Fatalf("limits: %+v", cfg)
	}
	if cfg.Timeouts.Restore != 90*time.Second || cfg.Timeouts.Featurize != 5*time.Minute || cfg.StepGrace != 30*time.Second ||
		cfg.PluginCallTimeout != 20*time.Second {
		t.Fatalf("timeouts: %+v", cfg.Timeouts)
	}
}

func TestParseGood(t *testing.T) {
	src := `
data_dir = "/srv/smn"
accel = "qemu"
allow_user_network = true
[storage]
min_free = "off"
retain_max_age = "720h"
retain_max_size = "50GiB"
max_sample = 1048576
[pool]
quarantine_after = 5
memory_mib = 300
[[pool.slot]]
name = "a"
[[pool.slot]]
name = "net0"
network = "user"
memory_mib = 1024
tags = ["net", "big"]
[fusion]
rule = "fpr"
target_fpr = 0.01
`
	cfg, err := Parse("t.toml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := []daemon.SlotConfig{{Name: "a", MemoryMiB: 300}, {Name: "net0", MemoryMiB: 1024, Network: "user", Tags: []string{"net", "big"}}}
	if len(cfg.Pool) != 2 || cfg.Pool[0].Name != want[0].Name || cfg.Pool[0].MemoryMiB != 300 ||
		cfg.Pool[1].Network != "user" || cfg.Pool[1].MemoryMiB != 1024 || strings.Join(cfg.Pool[1].Tags, ",") != "net,big" {
		t.Fatalf("pool %+v", cfg.Pool)
	}
	if cfg.MinFreeBytes != -1 || cfg.Retention.MaxAge != 720*time.Hour || cfg.Retention.MaxBytes != 50<<30 ||
		cfg.MaxSample != 1<<20 || cfg.QuarantineAfter != 5 || cfg.Accel != "qemu" {
		t.Fatalf("cfg %+v", cfg)
	}
	if cfg.Fusion.Rule != "fpr" || cfg.Fusion.TargetFPR != 0.01 {
		t.Fatalf("fusion %+v", cfg.Fusion)
	}
	// An empty file is a valid configuration: all defaults.
	if cfg, err := Parse("empty", nil); err != nil || len(cfg.Pool) != 0 || cfg.Slots != 0 {
		t.Fatalf("empty: %+v %v", cfg, err)
	}
	// slots = N instead of entries.
	if cfg, err := Parse("n", []byte("[pool]\nslots = 3\n")); err != nil || cfg.Slots != 3 || cfg.Pool != nil {
		t.Fatalf("slots=3: %+v %v", cfg, err)
	}
}

func TestParseAllowInsecureListen(t *testing.T) {
	cfg, err := Parse("t.toml", []byte("listen = \"0.0.0.0:7433\"\nallow_insecure_listen = true\n"))
	if err != nil || !cfg.AllowInsecureListen || cfg.Listen != "0.0.0.0:7433" {
		t.Fatalf("got %+v, %v", cfg.AllowInsecureListen, err)
	}
	if cfg, err := Parse("t.toml", []byte("listen = \"0.0.0.0:7433\"\n")); err != nil || cfg.AllowInsecureListen {
		t.Fatalf("default: got %v, %v", cfg.AllowInsecureListen, err)
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		name, src string
		want      []string // substrings of the error
	}{
		{"unknown top-level key", "data_dir = \"/x\"\ndatadir = \"/y\"\n", []string{"line 2", "datadir: unknown key"}},
		{"unknown key in slot", "[pool]\n[[pool.slot]]\nname = \"a\"\n[[pool.slot]]\nname = \"b\"\nmemroy_mib = 512\n", []string{"line 6", "pool.slot[1].memroy_mib: unknown key; did you mean memory_mib?"}},
		{"unknown table", "[poool]\nslots = 2\n", []string{"line 1", "poool"}},
		{"memory too small", "[[pool.slot]]\nname = \"a\"\n\n[[pool.slot]]\nname = \"b\"\nmemory_mib = 32\n", []string{"line 6", "pool.slot[1].memory_mib", "32 outside [64, 65536]"}},
		{"duplicate name", "[[pool.slot]]\nname = \"a\"\n[[pool.slot]]\nname = \"a\"\n", []string{"line 4", "already names pool.slot[0]"}},
		{"bad name", "[[pool.slot]]\nname = \"../etc\"\n", []string{"line 2", "pool.slot[0].name"}},
		{"missing name", "[[pool.slot]]\nmemory_mib = 256\n", []string{"line 1", "name is required"}},
		{"bad network", "[[pool.slot]]\nname = \"a\"\nnetwork = \"bridge\"\n", []string{"line 3", "pool.slot[0].network", "bridge"}},
		{"bad duration", "[timeouts]\nrestore = \"soon\"\n", []string{"line 2", "restore", "duration"}},
		{"duration out of range", "[timeouts]\nrestore = \"10ms\"\n", []string{"line 2", "timeouts.restore", "outside"}},
		{"bad size", "[storage]\nmax_sample = \"lots\"\n", []string{"line 2", "max_sample"}},
		{"negative size", "[storage]\nmax_sample = -5\n", []string{"line 2", "max_sample"}},
		{"wrong type", "[pool]\nquarantine_after = \"three\"\n", []string{"line 2", "quarantine_after"}},
		{"quarantine zero", "[pool]\nquarantine_after = 0\n", []string{"line 2", "quarantine_after", "outside [1, 100]"}},
		{"slots and entries", "[pool]\nslots = 2\n[[pool.slot]]\nname = \"a\"\n", []string{"line 2", "either"}},
		{"bad accel", "accel = \"xen\"\n", []string{"line 1", "accel", "xen"}},
		{"bad fusion", "[fusion]\nrule = \"fixed\"\nthreshold = 1.5\n", []string{"line 3", "fusion.threshold"}},
		{"bad decisive", "[fusion]\ndecisive = \"severe\"\n", []string{"fusion.decisive", "severe", "critical, high, medium or off"}},
		{"fpr without target", "[fusion]\nrule = \"fpr\"\n", []string{"line 2", "target_fpr"}},
		{"syntax", "[pool\nslots = 2\n", []string{"line "}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("smn.toml", []byte(c.src))
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("err %v, want ErrInvalid", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if !strings.Contains(err.Error(), "smn.toml") {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
}

func TestParseReportsAllProblems(t *testing.T) {
	_, err := Parse("x", []byte("bogus = 1\n[pool]\nquarantine_after = 0\n[[pool.slot]]\nname = \"A\"\n"))
	for _, w := range []string{"bogus", "quarantine_after", `"A"`} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("error %v lacks %q", err, w)
		}
	}
}

// TestParseEveryProblemAtOnce: values of the wrong type do not stop the
// report of the other problems; each problem is one line with the key,
// its line and a plain reason (not the TOML decoder's text), in line
// order; unknown keys get a "did you mean".
func TestParseEveryProblemAtOnce(t *testing.T) {
	src := `listen = 7433
[pool]
quarantine_after = "three"
memroy_mib = 512
[[pool.slot]]
name = "a"
memory_mib = 32
tags = "gpu"
[timeouts]
restore = 90
[fusion]
threshold = "high"
`
	_, err := Parse("smn.toml", []byte(src))
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("err %v", err)
	}
	lines := strings.Split(err.Error(), "\n")
	want := []string{
		"line 1: listen: want text in quotes, not the whole number 7433",
		`line 3: pool.quarantine_after: want a whole number (such as 3, without quotes), not the text "three"`,
		"line 4: pool.memroy_mib: unknown key; did you mean memory_mib?",
		"line 7: pool.slot[0].memory_mib: 32 outside [64, 65536]",
		`line 8: pool.slot[0].tags: want a list such as ["a", "b"], not the text "gpu"`,
		`line 10: timeouts.restore: "90": want a duration such as "30s" or "720h"`,
		`line 12: fusion.threshold: want a number (such as 0.01, without quotes), not the text "high"`,
	}
	if len(lines) != len(want) {
		t.Fatalf("%d problems, want %d:\n%s", len(lines), len(want), err)
	}
	for i, w := range want {
		if !strings.HasSuffix(lines[i], w) || !strings.HasPrefix(lines[i], "invalid configuration: smn.toml: ") {
			t.Errorf("problem %d:\n got %s\nwant …%s", i, lines[i], w)
		}
		if rest := strings.TrimPrefix(lines[i], "invalid configuration: smn.toml: "); strings.Contains(rest, "toml:") || strings.Contains(rest, "incompatible") {
			t.Errorf("raw decoder text in %q", lines[i])
		}
	}
	// A syntax error is one line too, with its line number.
	_, err = Parse("smn.toml", []byte("a = 1\n[pool\nslots = 2\n"))
	if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), ": not valid TOML: expected") {
		t.Fatalf("syntax error %q", err)
	}
}

func TestSuggest(t *testing.T) {
	known := []string{"memory_mib", "network", "name", "tags"}
	for k, want := range map[string]string{"memroy_mib": "memory_mib", "netwrok": "network", "Name": "name", "colour": "", "tag": "tags"} {
		if got := suggest(k, known); got != want {
			t.Errorf("suggest(%q) = %q, want %q", k, got, want)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	if _, err := Load(filepath.Join(t.TempDir(), "missing.toml")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
	big := filepath.Join(t.TempDir(), "big.toml")
	if err := os.WriteFile(big, []byte(strings.Repeat("# x\n", MaxFileSize/4+1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(big); !errors.Is(err, ErrInvalid) {
		t.Fatalf("big file: %v", err)
	}
}

// FuzzParseConfig: no input makes Parse panic, and whatever it accepts is
// a pool the daemon can run (valid unique names, memory in range, network
// mode canonical).
func FuzzParseConfig(f *testing.F) {
	if b, err := os.ReadFile(filepath.Join("..", "..", "docs", "scalemalnet.example.toml")); err == nil {
		f.Add(b)
	}
	for _, s := range []string{
		"", "[pool]\nslots = 2\n", "[[pool.slot]]\nname = \"a\"\nmemory_mib = 64\n",
		"[[pool.slot]]\nname = \"a\"\n[[pool.slot]]\nname = \"a\"\n", "[storage]\nmin_free = \"off\"\n",
		"[timeouts]\nrestore = \"1h\"\n", "a = [1, 2]\n[x.y]\nz = {q = 1}\n", "[[pool.slot]]\nname = \"n\"\nnetwork = \"USER\"\n",
		"[fusion]\nrule = \"fixed\"\nthreshold = 0.5\n", "[storage]\nmax_sample = 9223372036854775807\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		cfg, err := Parse("fuzz.toml", src)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
			return
		}
		seen := map[string]bool{}
		for _, s := range cfg.Pool {
			if !daemon.ValidSlotName(s.Name) || seen[s.Name] {
				t.Fatalf("accepted slot name %q (seen %v)", s.Name, seen[s.Name])
			}
			seen[s.Name] = true
			if s.MemoryMiB < daemon.MinSlotMemoryMiB || s.MemoryMiB > daemon.MaxSlotMemoryMiB {
				t.Fatalf("accepted memory %d", s.MemoryMiB)
			}
			if s.Network != "" && s.Network != "isolated" && (s.Network != "user" || !cfg.AllowUserNetwork) {
				t.Fatalf("accepted network %q", s.Network)
			}
		}
		if len(cfg.Pool) > daemon.MaxSlots || cfg.Slots < 0 || cfg.Slots > daemon.MaxSlots ||
			cfg.QuarantineAfter < 0 || cfg.QuarantineAfter > daemon.MaxQuarantineAfter {
			t.Fatalf("accepted pool %+v", cfg)
		}
		if cfg.MaxSample < 0 || cfg.MaxArtifactBytes < 0 || cfg.Retention.MaxBytes < 0 || cfg.Retention.MaxAge < 0 {
			t.Fatalf("accepted negative limit %+v", cfg)
		}
	})
}

// TestUserNetworkNeedsAllow: a user-mode slot is refused unless the file
// sets allow_user_network; an isolated one is accepted.
func TestUserNetworkNeedsAllow(t *testing.T) {
	_, err := Parse("t.toml", []byte("[[pool.slot]]\nname = \"net0\"\nnetwork = \"user\"\n"))
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "pool.slot[0].network") || !strings.Contains(err.Error(), "allow_user_network") {
		t.Fatalf("user slot without allow_user_network: %v", err)
	}
	cfg, err := Parse("t.toml", []byte("[[pool.slot]]\nname = \"net0\"\nnetwork = \"isolated\"\n"))
	if err != nil || len(cfg.Pool) != 1 || cfg.Pool[0].Network != "isolated" || cfg.AllowUserNetwork {
		t.Fatalf("isolated slot: %+v %v", cfg, err)
	}
}
