package defaults

import "path/filepath"

// Layout names every file and folder the orchestrator keeps in its data
// directory. It is the one place that knows them; the store, the daemon,
// the plugin host and the CLI ask it.
//
//	<root>/
//	  scalemalnet.db             bbolt: jobs, reports, sample and artifact records (store)
//	  token                      the API bearer token (mode 0600)
//	  pool.json                  pool edits made through the API, on top of the configured pool
//	  samples/ab/cd/<sha256>     samples, content-addressed
//	  artifacts/<job>/<name>     per-job artifacts: trace.jsonl.gz, processing.json
//	  tmp/                       files being written (moved into place when complete)
//	  plugins/                   external plugins and their registry plugins.json
//	  vms/<slot>/                a slot's saved clean state and its console.log
type Layout struct{ Root string }

// Names inside the data directory.
const (
	DBName        = "scalemalnet.db"
	PoolFileName  = "pool.json"
	SamplesDir    = "samples"
	ArtifactsDir  = "artifacts"
	TmpDir        = "tmp"
	PluginsDir    = "plugins"
	VMsDir        = "vms"
	ConsoleLog    = "console.log"
	TraceArtifact = "trace.jsonl.gz"
	PcapArtifact  = "traffic.pcap" // a network job's capture (isolated mode)
)

func (l Layout) DB() string        { return filepath.Join(l.Root, DBName) }
func (l Layout) Token() string     { return filepath.Join(l.Root, TokenFile) }
func (l Layout) PoolFile() string  { return filepath.Join(l.Root, PoolFileName) }
func (l Layout) Samples() string   { return filepath.Join(l.Root, SamplesDir) }
func (l Layout) Artifacts() string { return filepath.Join(l.Root, ArtifactsDir) }
func (l Layout) Tmp() string       { return filepath.Join(l.Root, TmpDir) }
func (l Layout) Plugins() string   { return filepath.Join(l.Root, PluginsDir) }
func (l Layout) VMs() string       { return filepath.Join(l.Root, VMsDir) }

// Sample is where the sample with this SHA-256 (hex) is kept.
func (l Layout) Sample(sha string) string {
	return filepath.Join(l.Samples(), sha[0:2], sha[2:4], sha)
}

// ArtifactDir holds one job's artifacts.
func (l Layout) ArtifactDir(job string) string { return filepath.Join(l.Artifacts(), job) }

// Artifact is one named artifact of a job.
func (l Layout) Artifact(job, name string) string { return filepath.Join(l.ArtifactDir(job), name) }

// SlotDir holds a slot's saved clean state.
func (l Layout) SlotDir(slot string) string { return filepath.Join(l.VMs(), slot) }

// Console is a slot's serial console log.
func (l Layout) Console(slot string) string { return filepath.Join(l.SlotDir(slot), ConsoleLog) }
