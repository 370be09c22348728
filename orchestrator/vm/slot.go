package vm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"
)

// Errors of the slot lifecycle.
var (
	ErrNoCleanState = errors.New("slot has no valid clean state")
	ErrAgent        = errors.New("guest agent not ready")
)

// AgentInfo is what a Prober learns from the guest agent of a started VM.
type AgentInfo struct {
	BootID       string
	Runs         int
	Kernel       string
	AgentVersion string
	// Interfaces are the guest's network interfaces other than loopback,
	// as the agent reported them; checked against Spec.Network.
	Interfaces []GuestInterface
}

// Prober performs the agent handshake on a fresh connection to a VM's agent
// channel and reports what the agent said. The slot calls it to verify the
// VM it is about to save; it must leave the agent ready for a new session.
type Prober func(ctx context.Context, conn net.Conn) (AgentInfo, error)

// CleanState records a slot's saved memory image: which image it was made
// from and which boot it captured, so a restore can be verified.
type CleanState struct {
	ImageDigest  string        `json:"image_digest"`
	BootID       string        `json:"boot_id"`
	Kernel       string        `json:"kernel"`
	AgentVersion string        `json:"agent_version"`
	SaveSize     int64         `json:"save_size"`
	SaveModTime  time.Time     `json:"save_mod_time"`
	Created      time.Time     `json:"created"`
	BootTime     time.Duration `json:"boot_time_ns"`      // cold boot to agent ready
	Network      string        `json:"network,omitempty"` // Spec.Network it was made with
}

// Slot is one VM of the pool. It is not safe for concurrent use: one worker
// owns a slot at a time.
type Slot struct {
	ID   string
	spec Spec
	hv   Hypervisor
	dir  string // state: clean.save, clean.json, console logs
	log  *slog.Logger
}

// NewSlot returns a slot whose state lives in dir (created if needed).
func NewSlot(id string, spec Spec, hv Hypervisor, dir string, log *slog.Logger) (*Slot, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("slot %s: %w", id, err)
	}
	if spec.Remote() {
		if _, ok := hv.(HostFiles); !ok {
			return nil, fmt.Errorf("%w: slot %s on host %s: the hypervisor cannot reach files and channels on that host", ErrConfig, id, spec.Host)
		}
	} else if err := os.MkdirAll(filepath.Dir(spec.ChannelPath), 0o700); err != nil {
		return nil, fmt.Errorf("slot %s: %w", id, err)
	}
	if log == nil {
		log = slog.Default()
	}
	return &Slot{ID: id, spec: spec, hv: hv, dir: dir, log: log.With("slot", id)}, nil
}

// Spec returns the slot's domain spec.
func (s *Slot) Spec() Spec { return s.spec }

// ConsolePath is the current console log of the slot's VM.
func (s *Slot) ConsolePath() string { return s.spec.ConsolePath }

func (s *Slot) savePath() string {
	if s.spec.SavePath != "" {
		return s.spec.SavePath
	}
	return filepath.Join(s.dir, "clean.save")
}

// statSave returns the size and modification time of the saved state,
// wherever it lives.
func (s *Slot) statSave(ctx context.Context) (int64, time.Time, error) {
	if s.spec.Remote() {
		return s.hv.(HostFiles).StatFile(ctx, s.savePath())
	}
	st, err := os.Stat(s.savePath())
	if err != nil {
		return 0, time.Time{}, err
	}
	return st.Size(), st.ModTime(), nil
}

func (s *Slot) removeFile(ctx context.Context, p string) error {
	if s.spec.Remote() {
		return s.hv.(HostFiles).RemoveFile(ctx, p)
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

func (s *Slot) renameSave(ctx context.Context, tmp string) error {
	if s.spec.Remote() {
		// libvirt has no rename of a volume: the remote save is written
		// under its final name (clean.json, written last, marks it valid).
		return nil
	}
	return os.Rename(tmp, s.savePath())
}
func (s *Slot) statePath() string { return filepath.Join(s.dir, "clean.json") }

// Clean returns the slot's recorded clean state if it is still valid: made
// from the current image and with its save file unchanged since.
func (s *Slot) Clean() (CleanState, error) {
	var cs CleanState
	b, err := os.ReadFile(s.statePath())
	if err != nil {
		return cs, fmt.Errorf("%w: %v", ErrNoCleanState, err)
	}
	if err := json.Unmarshal(b, &cs); err != nil {
		return cs, fmt.Errorf("%w: clean.json: %v", ErrNoCleanState, err)
	}
	if cs.ImageDigest != s.spec.Image.Digest {
		return cs, fmt.Errorf("%w: made from image %s, current is %s", ErrNoCleanState, cs.ImageDigest, s.spec.Image.Digest)
	}
	if cs.Network != s.spec.Network {
		// The save file embeds the domain XML: its devices cannot change.
		return cs, fmt.Errorf("%w: made with network %s, slot now has %s", ErrNoCleanState, NetworkName(cs.Network), NetworkName(s.spec.Network))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	size, mtime, err := s.statSave(ctx)
	if err != nil {
		return cs, fmt.Errorf("%w: %w", ErrNoCleanState, err)
	}
	if size != cs.SaveSize || !mtime.Equal(cs.SaveModTime) {
		return cs, fmt.Errorf("%w: save file changed since it was made (size %d, want %d)", ErrNoCleanState, size, cs.SaveSize)
	}
	return cs, nil
}

// Invalidate forgets the clean state so the next Prepare cold-boots.
func (s *Slot) Invalidate() error {
	err1 := os.Remove(s.statePath())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err2 := s.removeFile(ctx, s.savePath())
	if err1 != nil && !errors.Is(err1, os.ErrNotExist) {
		return err1
	}
	if err2 != nil && !errors.Is(err2, os.ErrNotExist) {
		return err2
	}
	return nil
}

// Prepare makes the slot's clean state: cold boot, wait for the agent,
// verify it is fresh, save the VM's memory. It is the only place a slot
// cold-boots.
func (s *Slot) Prepare(ctx context.Context, probe Prober) (CleanState, error) {
	s.log.Info("making clean state: cold boot", "domain", s.spec.Name)
	_ = s.Invalidate()
	if err := s.Destroy(ctx); err != nil {
		return CleanState{}, err
	}
	xml, err := DomainXML(s.spec)
	if err != nil {
		return CleanState{}, err
	}
	s.rotateConsole()
	s.removeChannel()
	start := time.Now()
	if err := s.hv.Create(ctx, xml); err != nil {
		return CleanState{}, fmt.Errorf("slot %s: cold boot: %w", s.ID, err)
	}
	info, err := s.probe(ctx, probe)
	if err != nil {
		_ = s.Destroy(context.WithoutCancel(ctx))
		return CleanState{}, fmt.Errorf("slot %s: cold boot: %w%s", s.ID, err, s.consoleTail())
	}
	boot := time.Since(start)
	if info.Runs != 0 {
		_ = s.Destroy(context.WithoutCancel(ctx))
		return CleanState{}, fmt.Errorf("%w: slot %s: fresh agent reports %d runs", ErrAgent, s.ID, info.Runs)
	}
	if err := s.checkNetwork(info); err != nil {
		_ = s.Destroy(context.WithoutCancel(ctx))
		return CleanState{}, fmt.Errorf("%w: %w%s", ErrAgent, err, s.consoleTail())
	}
	tmp := s.savePath() + ".tmp"
	if s.spec.Remote() {
		tmp = s.savePath()
	}
	_ = s.removeFile(ctx, tmp)
	if err := s.hv.Save(ctx, s.spec.Name, tmp); err != nil {
		_ = s.Destroy(context.WithoutCancel(ctx))
		_ = s.removeFile(context.WithoutCancel(ctx), tmp)
		return CleanState{}, fmt.Errorf("slot %s: save clean state: %w", s.ID, err)
	}
	if err := s.renameSave(ctx, tmp); err != nil {
		return CleanState{}, err
	}
	size, mtime, err := s.statSave(ctx)
	if err != nil {
		return CleanState{}, fmt.Errorf("slot %s: saved state: %w", s.ID, err)
	}
	cs := CleanState{
		ImageDigest: s.spec.Image.Digest, BootID: info.BootID, Kernel: info.Kernel,
		AgentVersion: info.AgentVersion, SaveSize: size, SaveModTime: mtime,
		Created: time.Now().UTC(), BootTime: boot, Network: s.spec.Network,
	}
	b, _ := json.MarshalIndent(cs, "", "  ")
	if err := writeFileAtomic(s.statePath(), b); err != nil {
		return CleanState{}, err
	}
	s.log.Info("clean state ready", "boot", boot.Round(time.Millisecond), "save_bytes", size, "boot_id", info.BootID, "host", s.hostName())
	return cs, nil
}

// Restore starts the slot's VM from its clean state and verifies, through
// probe, that the agent answers from exactly the boot that was saved and has
// run nothing. On any failure the VM is destroyed.
func (s *Slot) Restore(ctx context.Context) error {
	if _, err := s.Clean(); err != nil {
		return err
	}
	if err := s.Destroy(ctx); err != nil {
		return err
	}
	s.rotateConsole()
	s.removeChannel()
	// The save file embeds the domain XML it was made with; the slot's paths
	// do not change between Prepare and Restore, so no replacement XML,
	// except for the fake internet's port, which is new at every start of
	// the orchestrator (a host-side setting libvirt lets a restore change).
	var xml string
	if s.spec.Network == NetworkIsolated {
		x, err := DomainXML(s.spec)
		if err != nil {
			return fmt.Errorf("slot %s: restore: %w", s.ID, err)
		}
		xml = x
	}
	if err := s.hv.Restore(ctx, s.savePath(), xml); err != nil {
		return fmt.Errorf("slot %s: restore: %w", s.ID, err)
	}
	return nil
}

// Verify checks that info, from the agent of a restored VM, matches the
// clean state: the same boot, nothing run since.
func (s *Slot) Verify(info AgentInfo) error {
	cs, err := s.Clean()
	if err != nil {
		return err
	}
	if info.BootID != cs.BootID {
		return fmt.Errorf("%w: slot %s: agent boot id %s, clean state has %s", ErrNoCleanState, s.ID, info.BootID, cs.BootID)
	}
	if info.Runs != 0 {
		return fmt.Errorf("%w: slot %s: agent has already run %d samples", ErrNoCleanState, s.ID, info.Runs)
	}
	if err := s.checkNetwork(info); err != nil {
		return fmt.Errorf("%w: %w", ErrNoCleanState, err)
	}
	return nil
}

// DialAgent connects to the agent channel of the running VM, retrying while
// the socket is not there yet, until ctx ends.
func (s *Slot) DialAgent(ctx context.Context) (net.Conn, error) {
	if s.spec.Remote() {
		return s.openChannel(ctx)
	}
	var d net.Dialer
	for {
		c, err := d.DialContext(ctx, "unix", s.spec.ChannelPath)
		if err == nil {
			return c, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: slot %s: connect %s: %v", ErrAgent, s.ID, s.spec.ChannelPath, err)
		case <-time.After(25 * time.Millisecond):
		}
	}
}

func (s *Slot) probe(ctx context.Context, probe Prober) (AgentInfo, error) {
	conn, err := s.DialAgent(ctx)
	if err != nil {
		return AgentInfo{}, err
	}
	defer conn.Close()
	info, err := probe(ctx, conn)
	if err != nil {
		return AgentInfo{}, fmt.Errorf("%w: %w", ErrAgent, err)
	}
	return info, nil
}

// Destroy stops the slot's VM if it is running.
func (s *Slot) Destroy(ctx context.Context) error {
	err := s.hv.Destroy(ctx, s.spec.Name)
	if err != nil && !errors.Is(err, ErrNoDomain) {
		return fmt.Errorf("slot %s: %w", s.ID, err)
	}
	return nil
}

// openChannel opens the agent channel of a remote slot through libvirtd,
// retrying while the domain or its socket is not there yet. A failure of
// the host's connection (ErrHost) is not retried.
func (s *Slot) openChannel(ctx context.Context) (net.Conn, error) {
	hf := s.hv.(HostFiles)
	for {
		c, err := hf.OpenChannel(ctx, s.spec.Name, AgentChannel)
		if err == nil {
			return c, nil
		}
		if errors.Is(err, ErrHost) {
			return nil, fmt.Errorf("%w: slot %s: %w", ErrAgent, s.ID, err)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: slot %s on host %s: open channel: %v", ErrAgent, s.ID, s.spec.Host, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (s *Slot) hostName() string {
	if s.spec.Host == "" {
		return "local"
	}
	return s.spec.Host
}

func (s *Slot) removeChannel() {
	if !s.spec.Remote() {
		_ = os.Remove(s.spec.ChannelPath)
	}
	// On a remote host QEMU replaces a stale socket itself when it binds.
}

// rotateConsole keeps the previous run's console log as console.prev.log:
// libvirt appends to the file otherwise.
func (s *Slot) rotateConsole() {
	if s.spec.Remote() {
		return // the console file on the host is replaced (append off)
	}
	p := s.spec.ConsolePath
	if _, err := os.Stat(p); err == nil {
		_ = os.Rename(p, p+".prev")
	}
}

// consoleTail returns the end of the console log for error messages.
func (s *Slot) consoleTail() string {
	if s.spec.Remote() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		b, err := s.hv.(HostFiles).TailFile(ctx, s.spec.ConsolePath, 600)
		if err != nil {
			return fmt.Sprintf("; console log on host %s at %s not readable: %v", s.spec.Host, s.spec.ConsolePath, err)
		}
		if len(b) == 0 {
			return ""
		}
		return "; console ends: " + string(b)
	}
	b, err := os.ReadFile(s.spec.ConsolePath)
	if err != nil || len(b) == 0 {
		return ""
	}
	if len(b) > 600 {
		b = b[len(b)-600:]
	}
	return "; console ends: " + string(b)
}

func writeFileAtomic(path string, b []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
