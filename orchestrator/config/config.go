// Package config reads the orchestrator's configuration file (TOML; see
// docs/scalemalnet.example.toml) into a daemon.Config.
//
// Parsing is strict: a key the file format does not define is an error
// naming the key and its line, and every value is range-checked. All
// problems of a file are reported together. Errors wrap ErrInvalid.
package config

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/scalemalnet/scalemalnet/orchestrator/daemon"
	"github.com/scalemalnet/scalemalnet/orchestrator/defaults"
	"github.com/scalemalnet/scalemalnet/orchestrator/hosts"
	"github.com/scalemalnet/scalemalnet/orchestrator/verdict"
	"github.com/scalemalnet/scalemalnet/orchestrator/vm"
)

// ErrInvalid is wrapped by every error about a configuration file's
// content.
var ErrInvalid = errors.New("invalid configuration")

// MaxFileSize bounds the configuration file.
const MaxFileSize = 1 << 20

// Bounds of the values.
const (
	MaxTimeout      = 24 * time.Hour
	MaxRetentionAge = 100 * 365 * 24 * time.Hour
)

// File is the configuration file's layout.
type File struct {
	DataDir string `toml:"data_dir"`
	Listen  string `toml:"listen"`
	// AllowInsecureListen allows a non-loopback plain-HTTP listen address.
	AllowInsecureListen bool   `toml:"allow_insecure_listen"`
	Libvirt             string `toml:"libvirt"`
	ImageDir            string `toml:"image_dir"`
	Accel               string `toml:"accel"`
	PluginDir           string `toml:"plugin_dir"`
	ModelDir            string `toml:"model_dir"`
	// SignatureRules: behaviour signature rules replacing the shipped ones.
	SignatureRules string `toml:"signature_rules"`
	// MaxQueued caps the queue (daemon.Config.MaxQueued).
	MaxQueued *int `toml:"max_queued"`
	// AllowUserNetwork permits network = "user" slots and jobs (unsafe:
	// see docs/network.md).
	AllowUserNetwork bool `toml:"allow_user_network"`

	Storage  Storage  `toml:"storage"`
	Timeouts Timeouts `toml:"timeouts"`
	Pool     Pool     `toml:"pool"`
	Fusion   Fusion   `toml:"fusion"`
}

// Storage is the [storage] table.
type Storage struct {
	MaxSample       *Size     `toml:"max_sample"`
	MaxArtifactSize *Size     `toml:"max_artifact_size"`
	MinFree         *Size     `toml:"min_free"` // "off" disables the check
	RetainMaxAge    *Duration `toml:"retain_max_age"`
	RetainMaxSize   *Size     `toml:"retain_max_size"`
}

// Timeouts is the [timeouts] table: the analysis steps' bounds.
type Timeouts struct {
	Restore     *Duration `toml:"restore"`
	WaitAgent   *Duration `toml:"wait_agent"`
	SetTime     *Duration `toml:"set_time"`
	PushSample  *Duration `toml:"push_sample"`
	Collect     *Duration `toml:"collect"`
	Destroy     *Duration `toml:"destroy"`
	Report      *Duration `toml:"report"`
	Featurize   *Duration `toml:"featurize"`
	Classify    *Duration `toml:"classify"`
	Fuse        *Duration `toml:"fuse"`
	StepGrace   *Duration `toml:"step_grace"`
	PluginCall  *Duration `toml:"plugin_call"`
	ReloadCheck *Duration `toml:"reload_check"`
}

// Pool is the [pool] table and its [[pool.slot]] entries.
type Pool struct {
	Slots           *int   `toml:"slots"`      // count of default slots (slot0...), instead of [[pool.slot]]
	MemoryMiB       *int   `toml:"memory_mib"` // default memory of a slot
	QuarantineAfter *int   `toml:"quarantine_after"`
	Slot            []Slot `toml:"slot"`
	Host            []Host `toml:"host"`
}

// Host is one [[pool.host]]: a remote hypervisor host (docs/scale-out.md).
type Host struct {
	Name      string `toml:"name"`
	URI       string `toml:"uri"` // qemu+tcp://addr/system, qemu+tls://..., qemu+ssh://user@addr/system
	Slots     *int   `toml:"slots"`
	MemoryMiB *int   `toml:"memory_mib"`
	Transport string `toml:"transport"` // tcp, tls or ssh; must match the URI's scheme
	// Insecure acknowledges transport "tcp": no encryption, and no
	// authentication unless that libvirtd sets auth_tcp = "sasl".
	Insecure bool `toml:"insecure"`
	// TLSDir holds cacert.pem, clientcert.pem and clientkey.pem (libvirt's
	// pkipath) for transport "tls".
	TLSDir string `toml:"tls_dir"`
	// SSHKey is the private key and SSHKnownHosts the known_hosts file for
	// transport "ssh" (libvirt's keyfile and known_hosts URI parameters).
	SSHKey        string `toml:"ssh_key"`
	SSHKnownHosts string `toml:"ssh_known_hosts"`
	ImageDir      string `toml:"image_dir"` // on that host: the uploaded image files
	StateDir      string `toml:"state_dir"` // on that host: saved states, consoles; default image_dir/state
}

// Slot is one [[pool.slot]].
type Slot struct {
	Name      string   `toml:"name"`
	MemoryMiB *int     `toml:"memory_mib"`
	Network   string   `toml:"network"` // none (default), isolated, or user (with allow_user_network)
	Tags      []string `toml:"tags"`
}

// Fusion is the [fusion] table (daemon.FusionConfig).
type Fusion struct {
	Model     string   `toml:"model"`
	Rule      string   `toml:"rule"`
	TargetFPR *float64 `toml:"target_fpr"`
	Threshold *float64 `toml:"threshold"`
	// UnfittedWeight counts classifiers the fusion model was not fitted
	// on with this prior weight (daemon.FusionConfig.UnfittedWeight).
	UnfittedWeight *float64 `toml:"unfitted_weight"`
	// Decisive: a matched signature of this severity or above decides
	// the verdict (daemon.FusionConfig.Decisive): critical (default), high,
	// medium or off.
	Decisive string `toml:"decisive"`
}

// Size is a byte count: an integer, or a string such as "50GiB", "500MB",
// "1.5T" (single letters are binary units). MinFree also takes "off".
type Size struct {
	Bytes int64
	Off   bool
}

// UnmarshalText implements encoding.TextUnmarshaler (the TOML decoder
// passes integers as their decimal text).
func (s *Size) UnmarshalText(b []byte) error {
	t := strings.TrimSpace(string(b))
	if strings.EqualFold(t, "off") {
		*s = Size{Off: true}
		return nil
	}
	n, err := ParseSize(t)
	if err != nil {
		return err
	}
	*s = Size{Bytes: n}
	return nil
}

// Duration is a Go duration string such as "30s" or "720h".
type Duration struct{ time.Duration }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(strings.TrimSpace(string(b)))
	if err != nil {
		return fmt.Errorf("%q: want a duration such as \"30s\" or \"720h\"", string(b))
	}
	d.Duration = v
	return nil
}

// ParseSize reads "50GiB", "1.5T", "500MB" or a plain byte count (shared
// with the CLI through package defaults).
var ParseSize = defaults.ParseSize

// Load reads and parses a configuration file.
func Load(path string) (daemon.Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return daemon.Config{}, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return daemon.Config{}, fmt.Errorf("config: %s: %w", path, err)
	}
	if len(b) > MaxFileSize {
		return daemon.Config{}, fmt.Errorf("%w: %s: larger than %d bytes", ErrInvalid, path, MaxFileSize)
	}
	return Parse(path, b)
}

// Parse parses a configuration file's content; name is used in errors.
// Every problem is reported (a value of the wrong type does not hide the
// others), one per line of the joined error, sorted by line, each with
// the key, its line and a plain reason.
func Parse(name string, src []byte) (daemon.Config, error) {
	var doc map[string]any
	if _, err := toml.NewDecoder(strings.NewReader(string(src))).Decode(&doc); err != nil {
		return daemon.Config{}, fmt.Errorf("%w: %s: %s", ErrInvalid, name, syntaxError(err))
	}
	v := &validator{name: name, loc: locate(string(src))}
	var f File
	v.decodeInto("", doc, reflect.ValueOf(&f).Elem())
	cfg := v.config(&f)
	if len(v.errs) > 0 {
		slices.SortStableFunc(v.errs, func(a, b lineError) int { return a.line - b.line })
		errs := make([]error, len(v.errs))
		for i, e := range v.errs {
			errs[i] = e.err
		}
		return daemon.Config{}, errors.Join(errs...)
	}
	return cfg, nil
}

// syntaxError is the TOML parser's error on one line, without its prefix.
func syntaxError(err error) string {
	msg := oneLine(strings.TrimPrefix(err.Error(), "toml: "))
	if l, rest, ok := strings.Cut(msg, ": "); ok && strings.HasPrefix(l, "line ") {
		return l + ": not valid TOML: " + rest
	}
	return "not valid TOML: " + msg
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// lineError is one problem and the line it is on (0: unknown).
type lineError struct {
	line int
	err  error
}

type validator struct {
	name string
	loc  locator
	errs []lineError
}

// errf records a problem with key (a dotted path, with [i] for the i-th
// [[pool.slot]]).
func (v *validator) errf(key, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	msg = oneLine(msg)
	if line := v.loc.line(key); line > 0 {
		v.errs = append(v.errs, lineError{line, fmt.Errorf("%w: %s: line %d: %s: %s", ErrInvalid, v.name, line, key, msg)})
		return
	}
	v.errs = append(v.errs, lineError{0, fmt.Errorf("%w: %s: %s: %s", ErrInvalid, v.name, key, msg)})
}

func (v *validator) duration(key string, d *Duration, min, max time.Duration) time.Duration {
	if d == nil {
		return 0
	}
	if d.Duration < min || d.Duration > max {
		v.errf(key, "%s outside [%s, %s]", d.Duration, min, max)
	}
	return d.Duration
}

func (v *validator) intIn(key string, p *int, min, max int) int {
	if p == nil {
		return 0
	}
	if *p < min || *p > max {
		v.errf(key, "%d outside [%d, %d]", *p, min, max)
	}
	return *p
}

func (v *validator) config(f *File) daemon.Config {
	cfg := daemon.Config{
		DataDir: f.DataDir, Listen: f.Listen, LibvirtURI: f.Libvirt, ImageDir: f.ImageDir,
		PluginDir: f.PluginDir, ModelDir: f.ModelDir, AllowInsecureListen: f.AllowInsecureListen,
		SignatureRules: f.SignatureRules, AllowUserNetwork: f.AllowUserNetwork,
	}
	for key, val := range map[string]string{"data_dir": f.DataDir, "listen": f.Listen, "libvirt": f.Libvirt,
		"image_dir": f.ImageDir, "plugin_dir": f.PluginDir, "model_dir": f.ModelDir, "signature_rules": f.SignatureRules} {
		if strings.ContainsRune(val, 0) || len(val) > 4096 {
			v.errf(key, "not a usable path or address")
		}
	}
	cfg.MaxQueued = v.intIn("max_queued", f.MaxQueued, 1, 1_000_000)
	switch f.Accel {
	case "", "auto", vm.AccelKVM, vm.AccelTCG:
		cfg.Accel = f.Accel
	default:
		v.errf("accel", "%q: want auto, kvm or qemu", f.Accel)
	}

	st := f.Storage
	if st.MaxSample != nil {
		if st.MaxSample.Off || st.MaxSample.Bytes < 1 || st.MaxSample.Bytes > 1<<40 {
			v.errf("storage.max_sample", "want a size from 1 byte to 1TiB")
		}
		cfg.MaxSample = st.MaxSample.Bytes
	}
	if st.MaxArtifactSize != nil {
		if st.MaxArtifactSize.Off || st.MaxArtifactSize.Bytes < 1<<10 {
			v.errf("storage.max_artifact_size", "want a size of at least 1KiB")
		}
		cfg.MaxArtifactBytes = st.MaxArtifactSize.Bytes
	}
	if st.MinFree != nil {
		cfg.MinFreeBytes = st.MinFree.Bytes
		if st.MinFree.Off || st.MinFree.Bytes == 0 {
			cfg.MinFreeBytes = -1
		}
	}
	if st.RetainMaxSize != nil {
		if st.RetainMaxSize.Off {
			v.errf("storage.retain_max_size", `"off": omit the key to keep everything`)
		}
		cfg.Retention.MaxBytes = st.RetainMaxSize.Bytes
	}
	cfg.Retention.MaxAge = v.duration("storage.retain_max_age", st.RetainMaxAge, time.Minute, MaxRetentionAge)

	t := f.Timeouts
	cfg.Timeouts = daemon.StepTimeouts{
		Restore:    v.duration("timeouts.restore", t.Restore, time.Second, MaxTimeout),
		WaitAgent:  v.duration("timeouts.wait_agent", t.WaitAgent, time.Second, MaxTimeout),
		SetTime:    v.duration("timeouts.set_time", t.SetTime, time.Second, MaxTimeout),
		PushSample: v.duration("timeouts.push_sample", t.PushSample, time.Second, MaxTimeout),
		Collect:    v.duration("timeouts.collect", t.Collect, time.Second, MaxTimeout),
		Destroy:    v.duration("timeouts.destroy", t.Destroy, time.Second, MaxTimeout),
		Report:     v.duration("timeouts.report", t.Report, time.Second, MaxTimeout),
		Featurize:  v.duration("timeouts.featurize", t.Featurize, time.Second, MaxTimeout),
		Classify:   v.duration("timeouts.classify", t.Classify, time.Second, MaxTimeout),
		Fuse:       v.duration("timeouts.fuse", t.Fuse, time.Second, MaxTimeout),
	}
	cfg.StepGrace = v.duration("timeouts.step_grace", t.StepGrace, time.Second, MaxTimeout)
	cfg.PluginCallTimeout = v.duration("timeouts.plugin_call", t.PluginCall, 100*time.Millisecond, MaxTimeout)
	cfg.ReloadPoll = v.duration("timeouts.reload_check", t.ReloadCheck, 100*time.Millisecond, time.Hour)

	p := f.Pool
	cfg.MemoryMiB = v.intIn("pool.memory_mib", p.MemoryMiB, daemon.MinSlotMemoryMiB, daemon.MaxSlotMemoryMiB)
	cfg.QuarantineAfter = v.intIn("pool.quarantine_after", p.QuarantineAfter, 1, daemon.MaxQuarantineAfter)
	if p.Slots != nil {
		cfg.Slots = v.intIn("pool.slots", p.Slots, 1, daemon.MaxSlots)
		if len(p.Slot) > 0 {
			v.errf("pool.slots", "give either slots (a count) or [[pool.slot]] entries, not both")
		}
	}
	if len(p.Slot) > daemon.MaxSlots {
		v.errf("pool.slot", "%d slots, at most %d", len(p.Slot), daemon.MaxSlots)
	}
	seen := map[string]int{}
	for i, s := range p.Slot {
		key := fmt.Sprintf("pool.slot[%d]", i)
		c := daemon.SlotConfig{Name: s.Name, Network: s.Network, Tags: s.Tags}
		if s.MemoryMiB != nil {
			c.MemoryMiB = v.intIn(key+".memory_mib", s.MemoryMiB, daemon.MinSlotMemoryMiB, daemon.MaxSlotMemoryMiB)
		}
		if s.Name == "" {
			v.errf(key, "name is required")
			continue
		}
		if j, dup := seen[s.Name]; dup {
			v.errf(key+".name", "%q already names pool.slot[%d]", s.Name, j)
			continue
		}
		seen[s.Name] = i
		def := cfg.MemoryMiB
		if def == 0 {
			def = 256
		}
		if c.MemoryMiB < daemon.MinSlotMemoryMiB || c.MemoryMiB > daemon.MaxSlotMemoryMiB {
			c.MemoryMiB = 0 // reported above; validate the rest
		}
		if !daemon.ValidSlotName(s.Name) {
			v.errf(key+".name", "%q: want 1-32 of a-z, 0-9, '_' and '-', starting with a letter or digit", s.Name)
			continue
		}
		if err := c.Normalize(def); err != nil {
			field := ".tags"
			if _, nerr := vm.NormalizeNetwork(s.Network); nerr != nil {
				field = ".network"
			}
			v.errf(key+field, "%s", strings.TrimPrefix(err.Error(), daemon.ErrBadSlot.Error()+": "))
			continue
		}
		if c.Network == vm.NetworkUser && !f.AllowUserNetwork {
			v.errf(key+".network", "%q: QEMU user-mode NAT gives the guest the host's loopback and every network the host reaches; use \"isolated\", or set allow_user_network = true", s.Network)
			continue
		}
		cfg.Pool = append(cfg.Pool, c)
	}
	if len(p.Slot) > 0 || p.Slots != nil {
		cfg.PoolOrigin = daemon.OriginConfig
	}
	cfg.Hosts = v.hosts(p.Host, seen, cfg.MemoryMiB)

	fu := f.Fusion
	cfg.Fusion = daemon.FusionConfig{Model: fu.Model, Rule: fu.Rule}
	if !slices.Contains([]string{"", "fpr", "f1", "youden", "fixed"}, fu.Rule) {
		v.errf("fusion.rule", "%q: want fpr, f1, youden or fixed", fu.Rule)
	}
	if fu.TargetFPR != nil {
		if !(*fu.TargetFPR >= 0 && *fu.TargetFPR <= 1) {
			v.errf("fusion.target_fpr", "%v outside [0, 1]", *fu.TargetFPR)
		}
		cfg.Fusion.TargetFPR = *fu.TargetFPR
	}
	if fu.Threshold != nil {
		if !(*fu.Threshold >= 0 && *fu.Threshold <= 1) {
			v.errf("fusion.threshold", "%v outside [0, 1]", *fu.Threshold)
		}
		cfg.Fusion.Threshold = *fu.Threshold
	}
	if fu.UnfittedWeight != nil {
		if !(*fu.UnfittedWeight >= 0 && *fu.UnfittedWeight <= 10) {
			v.errf("fusion.unfitted_weight", "%v outside [0, 10]", *fu.UnfittedWeight)
		}
		cfg.Fusion.UnfittedWeight = *fu.UnfittedWeight
	}
	cfg.Fusion.Decisive = fu.Decisive
	if _, ok := verdict.ParseDecisive(fu.Decisive); !ok {
		v.errf("fusion.decisive", "%q: want critical, high, medium or off", fu.Decisive)
	}
	if fu.Rule == "fpr" && fu.TargetFPR == nil {
		v.errf("fusion.rule", `"fpr" needs target_fpr`)
	}
	if fu.Rule == "fixed" && fu.Threshold == nil {
		v.errf("fusion.rule", `"fixed" needs threshold`)
	}
	return cfg
}

// locator finds the line of a key in a TOML file (best effort: it reads
// table headers and "key =" lines; it does not parse inline tables).
type locator struct {
	lines    map[string]int // "pool.slot[1].memory_mib" -> line
	stripped map[string]int // the same without [i], first occurrence
}

func locate(src string) locator {
	l := locator{lines: map[string]int{}, stripped: map[string]int{}}
	table, count := "", map[string]int{}
	put := func(key string, line int) {
		if _, ok := l.lines[key]; !ok {
			l.lines[key] = line
		}
		s := stripIndex(key)
		if _, ok := l.stripped[s]; !ok {
			l.stripped[s] = line
		}
	}
	for i, raw := range strings.Split(src, "\n") {
		t := strings.TrimSpace(raw)
		switch {
		case strings.HasPrefix(t, "[["):
			end := strings.Index(t, "]]")
			if end < 0 {
				continue
			}
			name := cleanKey(t[2:end])
			table = fmt.Sprintf("%s[%d]", name, count[name])
			count[name]++
			put(table, i+1)
		case strings.HasPrefix(t, "["):
			end := strings.Index(t, "]")
			if end < 0 {
				continue
			}
			table = cleanKey(t[1:end])
			put(table, i+1)
		case t == "" || strings.HasPrefix(t, "#"):
		default:
			eq := strings.Index(t, "=")
			if eq <= 0 {
				continue
			}
			key := cleanKey(t[:eq])
			if table != "" {
				key = table + "." + key
			}
			put(key, i+1)
		}
	}
	return l
}

func (l locator) line(key string) int {
	if n, ok := l.lines[key]; ok {
		return n
	}
	if n, ok := l.stripped[stripIndex(key)]; ok {
		return n
	}
	// A key under a table that is only a header: the header's line.
	for k := key; strings.Contains(k, "."); {
		k = k[:strings.LastIndex(k, ".")]
		if n, ok := l.lines[k]; ok {
			return n
		}
	}
	return 0
}

// cleanKey turns `a . "b" ` into a.b.
func cleanKey(s string) string {
	parts := strings.Split(s, ".")
	for i, p := range parts {
		parts[i] = strings.Trim(strings.TrimSpace(p), `"'`)
	}
	return strings.Join(parts, ".")
}

func stripIndex(key string) string {
	var b strings.Builder
	depth := 0
	for _, r := range key {
		switch {
		case r == '[':
			depth++
		case r == ']' && depth > 0:
			depth--
		case depth == 0:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// MaxHosts bounds [[pool.host]] (one orchestrator: see docs/scale-out.md
// for what changes beyond).
const MaxHosts = 64

// hosts validates the [[pool.host]] entries and builds each host's libvirt
// URI with its credentials' parameters.
func (v *validator) hosts(hs []Host, slotNames map[string]int, defMem int) []hosts.Config {
	if len(hs) > MaxHosts {
		v.errf("pool.host", "%d hosts, at most %d", len(hs), MaxHosts)
	}
	var out []hosts.Config
	seen := map[string]int{}
	for i, h := range hs {
		key := fmt.Sprintf("pool.host[%d]", i)
		ok := true
		bad := func(field, format string, args ...any) {
			v.errf(key+field, format, args...)
			ok = false
		}
		switch {
		case h.Name == "":
			bad("", "name is required")
		case h.Name == "local":
			bad(".name", `"local" names this machine; choose another`)
		case !daemon.ValidSlotName(h.Name) || len(h.Name) > 20:
			bad(".name", "%q: want 1-20 of a-z, 0-9, '_' and '-', starting with a letter or digit", h.Name)
		default:
			if j, dup := seen[h.Name]; dup {
				bad(".name", "%q already names pool.host[%d]", h.Name, j)
			}
			seen[h.Name] = i
		}
		slots := 1
		if h.Slots != nil {
			slots = v.intIn(key+".slots", h.Slots, 1, daemon.MaxSlots)
		}
		for n := range slots {
			if j, clash := slotNames[fmt.Sprintf("%s-%d", h.Name, n)]; clash && h.Name != "" {
				bad(".name", "its slot %s-%d clashes with pool.slot[%d]", h.Name, n, j)
				break
			}
		}
		mem := defMem
		if h.MemoryMiB != nil {
			mem = v.intIn(key+".memory_mib", h.MemoryMiB, daemon.MinSlotMemoryMiB, daemon.MaxSlotMemoryMiB)
		}
		uri, err := url.Parse(h.URI)
		want := map[string]string{"tcp": "qemu+tcp", "tls": "qemu+tls", "ssh": "qemu+ssh"}[h.Transport]
		switch {
		case h.URI == "":
			bad(".uri", "required (e.g. qemu+tls://host.example/system)")
		case err != nil || uri.Host == "" || uri.Path != "/system":
			bad(".uri", "%q: want qemu+tcp|tls|ssh://HOST/system", h.URI)
		case want == "":
			bad(".transport", "%q: want tcp, tls or ssh", h.Transport)
		case uri.Scheme != want:
			bad(".uri", "%q does not use transport %s (want a %s:// URI)", h.URI, h.Transport, want)
		}
		absPath := func(field, p string, required bool) {
			switch {
			case p == "" && required:
				bad(field, "required (an absolute path)")
			case p != "" && (!filepath.IsAbs(p) || strings.ContainsRune(p, 0) || len(p) > 200):
				bad(field, "%q: want an absolute path of at most 200 bytes", p)
			}
		}
		absPath(".image_dir", h.ImageDir, true)
		absPath(".state_dir", h.StateDir, false)
		switch h.Transport {
		case "tcp":
			if !h.Insecure {
				bad(".transport", `"tcp" is neither encrypted nor (with auth_tcp = "none") authenticated: use tls or ssh, or set insecure = true for a private network`)
			}
		case "tls":
			absPath(".tls_dir", h.TLSDir, true)
		case "ssh":
			absPath(".ssh_key", h.SSHKey, true)
			absPath(".ssh_known_hosts", h.SSHKnownHosts, false)
		}
		if h.Transport != "tls" && h.TLSDir != "" {
			bad(".tls_dir", "only for transport tls")
		}
		if h.Transport != "ssh" && (h.SSHKey != "" || h.SSHKnownHosts != "") {
			bad(".ssh_key", "only for transport ssh")
		}
		if !ok {
			continue
		}
		q := uri.Query()
		switch h.Transport {
		case "tls":
			q.Set("pkipath", h.TLSDir)
		case "ssh":
			q.Set("keyfile", h.SSHKey)
			if h.SSHKnownHosts != "" {
				q.Set("known_hosts", h.SSHKnownHosts)
			}
		}
		uri.RawQuery = q.Encode()
		out = append(out, hosts.Config{Name: h.Name, URI: uri.String(), Slots: slots, MemoryMiB: uint(max(mem, 0)),
			ImageDir: filepath.Clean(h.ImageDir), StateDir: h.StateDir})
	}
	return out
}
