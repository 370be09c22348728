package corpus

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
)

// Client is what Build needs of the orchestrator's API
// (orchestrator/client.Client satisfies it).
type Client interface {
	Submit(ctx context.Context, name string, body io.Reader, opts jobs.Options) (jobs.Job, error)
	Job(ctx context.Context, id string) (jobs.Job, error)
	Trace(ctx context.Context, id string) (io.ReadCloser, error)
}

// Entry states in the index.
const (
	StatusSubmitted = "submitted" // a job runs it (JobID)
	StatusDone      = "done"      // its trace is in Trace
	StatusFailed    = "failed"    // the job ended without a trace (Error)
)

// IndexFile is the corpus index in a corpus folder: one Entry per line.
const IndexFile = "corpus.jsonl"

// SkippedFile lists the manifest's tests that were not run, with why.
const SkippedFile = "skipped.json"

// Entry is one item of a built corpus: the item's labels, its job and
// where its trace is. featurizers/datasets.LoadCorpus reads these.
type Entry struct {
	ID         string   `json:"id"`
	Label      string   `json:"label"`
	Group      string   `json:"group"`
	Techniques []string `json:"techniques,omitempty"`
	Source     string   `json:"source"`
	Name       string   `json:"name"`
	// Digest identifies what ran (the submitted bytes, arguments and run
	// time): a changed item is run again.
	Digest  string  `json:"digest"`
	JobID   string  `json:"job_id,omitempty"`
	Status  string  `json:"status"`
	Error   string  `json:"error,omitempty"`
	Trace   string  `json:"trace,omitempty"`   // path relative to the corpus folder
	Outcome string  `json:"outcome,omitempty"` // the job's final state and step, e.g. "done"
	Seconds float64 `json:"seconds,omitempty"` // submit to final state
}

// BuildOptions tunes Build.
type BuildOptions struct {
	// Parallel is how many jobs are in flight at once (default 2): at
	// least the pool's slot count keeps every slot busy.
	Parallel int
	// RetryFailed runs failed items again (a resumed build keeps them).
	RetryFailed bool
	// Poll is the job polling interval (default 1 s).
	Poll time.Duration
	// Progress, when set, gets a line after every finished item.
	Progress func(Progress)
	// SamplesDir resolves "samples:NAME" files.
	SamplesDir string
	Log        *slog.Logger
}

// Progress is the state of a build.
type Progress struct {
	Total, Done, Failed, Running, Reused int
	Elapsed, ETA                         time.Duration
	Last                                 *Entry
}

func (p Progress) String() string {
	eta := "?"
	if p.ETA > 0 {
		eta = p.ETA.Round(time.Second).String()
	}
	s := fmt.Sprintf("%d/%d finished (%d failed, %d reused), %d running, %s elapsed, ETA %s",
		p.Done+p.Failed, p.Total, p.Failed, p.Reused, p.Running, p.Elapsed.Round(time.Second), eta)
	if p.Last != nil {
		s += fmt.Sprintf(" — %s %s", p.Last.ID, p.Last.Status)
		if p.Last.Error != "" {
			s += ": " + p.Last.Error
		}
	}
	return s
}

// ErrBuild is wrapped when a build cannot go on (index unwritable, the
// orchestrator refusing every submission).
var ErrBuild = errors.New("corpus build failed")

// Build runs every item of m through the orchestrator and keeps its trace
// in out (traces/<id>.jsonl.gz, as the orchestrator stores it) with the
// index out/corpus.jsonl, rewritten after every change so an interrupted
// build resumes where it stopped: done items with the same digest are
// reused, submitted ones are watched again. It returns the final entries
// in manifest order.
func Build(ctx context.Context, c Client, m *Manifest, out string, opt BuildOptions) ([]Entry, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	if opt.Parallel <= 0 {
		opt.Parallel = 2
	}
	if opt.Poll <= 0 {
		opt.Poll = time.Second
	}
	log := opt.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(filepath.Join(out, "traces"), 0o755); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBuild, err)
	}
	old, err := ReadIndex(out)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	prev := map[string]Entry{}
	for _, e := range old {
		prev[e.ID] = e
	}
	ix := &index{dir: out, entries: make([]Entry, len(m.Items))}
	type task struct {
		i    int
		body []byte
		name string
	}
	var todo []task
	reused := 0
	for i := range m.Items {
		it := &m.Items[i]
		body, name, err := m.payload(it, opt.SamplesDir)
		if err != nil {
			return nil, err
		}
		timeout := m.ItemTimeout(it)
		e := Entry{ID: it.ID, Label: it.Label, Group: it.Group, Techniques: it.Techniques, Source: it.Source,
			Name: it.Name, Digest: digest(body, it.Args, timeout)}
		if p, ok := prev[it.ID]; ok && p.Digest == e.Digest {
			switch {
			case p.Status == StatusDone && exists(filepath.Join(out, p.Trace)):
				ix.entries[i] = withItem(p, e)
				reused++
				continue
			case p.Status == StatusFailed && !opt.RetryFailed:
				ix.entries[i] = withItem(p, e)
				reused++
				continue
			case p.Status == StatusSubmitted && p.JobID != "":
				e.JobID, e.Status = p.JobID, StatusSubmitted
			}
		}
		ix.entries[i] = e
		todo = append(todo, task{i: i, body: body, name: name})
	}
	if err := ix.write(); err != nil {
		return nil, err
	}
	if err := writeSkipped(out, m.Skipped); err != nil {
		return nil, err
	}

	start := time.Now()
	var mu sync.Mutex
	prog := Progress{Total: len(m.Items), Reused: reused}
	for _, e := range ix.entries {
		switch e.Status {
		case StatusDone:
			prog.Done++
		case StatusFailed:
			prog.Failed++
		}
	}
	finishedHere := 0
	work := make(chan task)
	var wg sync.WaitGroup
	var fatal error
	for w := 0; w < opt.Parallel; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for t := range work {
				it := &m.Items[t.i]
				mu.Lock()
				e := ix.entries[t.i]
				prog.Running++
				mu.Unlock()
				e, err := runOne(ctx, c, e, t.body, t.name, it.Args, m.ItemTimeout(it), out, opt.Poll, func(jobID string) {
					mu.Lock()
					defer mu.Unlock()
					ix.entries[t.i].JobID, ix.entries[t.i].Status = jobID, StatusSubmitted
					if err := ix.write(); err != nil {
						log.Warn("corpus index", "err", err)
					}
				})
				mu.Lock()
				prog.Running--
				if err != nil {
					if ctx.Err() == nil && fatal == nil {
						fatal = err
					}
					mu.Unlock()
					continue
				}
				ix.entries[t.i] = e
				if werr := ix.write(); werr != nil && fatal == nil {
					fatal = werr
				}
				if e.Status == StatusDone {
					prog.Done++
				} else {
					prog.Failed++
				}
				finishedHere++
				prog.Elapsed = time.Since(start)
				left := prog.Total - prog.Done - prog.Failed
				prog.ETA = time.Duration(float64(prog.Elapsed) / float64(finishedHere) * float64(left))
				prog.Last = &e
				if opt.Progress != nil {
					opt.Progress(prog)
				}
				mu.Unlock()
			}
		}()
	}
feed:
	for _, t := range todo {
		mu.Lock()
		stop := fatal != nil
		mu.Unlock()
		if stop {
			break
		}
		select {
		case work <- t:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	if fatal != nil {
		return ix.entries, fatal
	}
	if err := ctx.Err(); err != nil {
		return ix.entries, fmt.Errorf("corpus build interrupted (resume with the same command): %w", err)
	}
	return ix.entries, nil
}

// runOne submits (unless e already has a job), waits for the job and
// fetches its trace. An error is returned only when the build cannot go
// on; an item whose job failed comes back with Status failed.
func runOne(ctx context.Context, c Client, e Entry, body []byte, name string, args []string, timeout time.Duration,
	out string, poll time.Duration, submitted func(string)) (Entry, error) {
	t0 := time.Now()
	if e.JobID == "" {
		j, err := c.Submit(ctx, name, bytes.NewReader(body), jobs.Options{Timeout: timeout, Args: args})
		if err != nil {
			return e, fmt.Errorf("%w: submitting %s: %w", ErrBuild, e.ID, err)
		}
		e.JobID, e.Status = j.ID, StatusSubmitted
		submitted(j.ID)
	}
	tick := time.NewTicker(poll)
	defer tick.Stop()
	var j jobs.Job
	for {
		var err error
		j, err = c.Job(ctx, e.JobID)
		if err != nil {
			if ctx.Err() != nil {
				return e, ctx.Err()
			}
			// The job vanished (deleted, store replaced): run it again next time.
			e.Status, e.Error, e.JobID = StatusFailed, fmt.Sprintf("job %s: %v", e.JobID, err), ""
			return e, nil
		}
		if j.State.Final() {
			break
		}
		select {
		case <-ctx.Done():
			return e, ctx.Err()
		case <-tick.C:
		}
	}
	e.Seconds = time.Since(t0).Seconds()
	e.Outcome = string(j.State)
	// A job that failed after its VM run (a plugin step) still has a trace.
	rc, err := c.Trace(ctx, e.JobID)
	if err != nil {
		e.Status, e.Error = StatusFailed, strings.TrimSpace(fmt.Sprintf("%s: %s", j.State, j.Error))
		return e, nil
	}
	defer rc.Close()
	rel := path.Join("traces", e.ID+".jsonl.gz")
	dst := filepath.Join(out, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return e, fmt.Errorf("%w: %w", ErrBuild, err)
	}
	tmp := dst + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return e, fmt.Errorf("%w: %w", ErrBuild, err)
	}
	_, err = io.Copy(f, rc)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, dst)
	}
	if err != nil {
		os.Remove(tmp)
		if ctx.Err() != nil {
			return e, ctx.Err()
		}
		e.Status, e.Error = StatusFailed, "fetching the trace: "+err.Error()
		return e, nil
	}
	e.Status, e.Error, e.Trace = StatusDone, "", rel
	if j.State != jobs.Done {
		e.Error = strings.TrimSpace(fmt.Sprintf("trace kept; job %s: %s", j.State, j.Error))
	}
	return e, nil
}

// payload returns what is submitted for an item and its file name.
func (m *Manifest) payload(it *Item, samplesDir string) ([]byte, string, error) {
	if it.Script != "" {
		return []byte(it.Script), path.Base(it.ID) + ".sh", nil
	}
	p := it.File
	switch {
	case strings.HasPrefix(p, "samples:"):
		if samplesDir == "" {
			return nil, "", fmt.Errorf("%w: item %s: %s needs the samples folder (--samples or SCALEMALNET_SAMPLES_DIR)", ErrManifest, it.ID, p)
		}
		p = filepath.Join(samplesDir, strings.TrimPrefix(p, "samples:"))
	case !filepath.IsAbs(p):
		p = filepath.Join(m.Dir, p)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, "", fmt.Errorf("%w: item %s: %w", ErrManifest, it.ID, err)
	}
	return b, filepath.Base(p), nil
}

func digest(body []byte, args []string, timeout time.Duration) string {
	h := sha256.New()
	h.Write(body)
	fmt.Fprintf(h, "\x00%q\x00%d", args, timeout)
	return hex.EncodeToString(h.Sum(nil))
}

// withItem keeps p's run and takes e's labels (a relabelled item needs no
// new run: the labels are not part of the digest).
func withItem(p, e Entry) Entry {
	p.Label, p.Group, p.Techniques, p.Source, p.Name = e.Label, e.Group, e.Techniques, e.Source, e.Name
	return p
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

// index is the corpus index being built.
type index struct {
	dir     string
	entries []Entry
}

// write replaces the index file atomically (entries without a status are
// items not started yet and are left out).
func (ix *index) write() error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	for _, e := range ix.entries {
		if e.Status == "" {
			continue
		}
		if err := enc.Encode(e); err != nil {
			return err
		}
	}
	return writeAtomic(filepath.Join(ix.dir, IndexFile), b.Bytes())
}

func writeAtomic(name string, b []byte) error {
	tmp := name + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBuild, err)
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, name)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("%w: %w", ErrBuild, err)
	}
	return nil
}

func writeSkipped(dir string, s []Skip) error {
	sort.SliceStable(s, func(i, j int) bool { return s[i].ID < s[j].ID })
	if s == nil {
		s = []Skip{}
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return writeAtomic(filepath.Join(dir, SkippedFile), append(b, '\n'))
}

// ErrIndex is wrapped by errors about a corpus index.
var ErrIndex = errors.New("invalid corpus index")

// MaxIndexLine bounds one line of an index.
const MaxIndexLine = 1 << 20

// ReadIndex reads a corpus folder's index (os.ErrNotExist when there is
// none).
func ReadIndex(dir string) ([]Entry, error) {
	b, err := os.ReadFile(filepath.Join(dir, IndexFile))
	if err != nil {
		return nil, err
	}
	var out []Entry
	seen := map[string]bool{}
	for n, line := range bytes.Split(b, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if len(line) > MaxIndexLine {
			return nil, fmt.Errorf("%w: %s:%d: line over %d bytes", ErrIndex, IndexFile, n+1, MaxIndexLine)
		}
		var e Entry
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil {
			return nil, fmt.Errorf("%w: %s:%d: %w", ErrIndex, IndexFile, n+1, err)
		}
		if e.ID == "" || badSegment(e.ID) || seen[e.ID] {
			return nil, fmt.Errorf("%w: %s:%d: missing, malformed or repeated id %q", ErrIndex, IndexFile, n+1, e.ID)
		}
		if e.Trace != "" && (path.IsAbs(e.Trace) || strings.Contains(e.Trace, "..")) {
			return nil, fmt.Errorf("%w: %s:%d: trace path %q leaves the corpus folder", ErrIndex, IndexFile, n+1, e.Trace)
		}
		seen[e.ID] = true
		out = append(out, e)
	}
	return out, nil
}
