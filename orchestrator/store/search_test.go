package store

import (
	"encoding/binary"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
)

// searchFixture makes 6 jobs one minute apart from 3 samples, with verdicts
// on the done ones.
func searchFixture(t *testing.T, s *Store) (ids []string, smps []jobs.Sample, t0 time.Time) {
	t.Helper()
	smps = []jobs.Sample{
		putTestSample(t, s, "A", "dropper-Alpha.elf"),
		putTestSample(t, s, "B", "benign-tool"),
		putTestSample(t, s, "C", "miner.sh"),
	}
	t0 = time.Date(2026, 11, 24, 1, 0, 0, 0, time.UTC)
	plan := []struct {
		smp     int
		state   jobs.State
		verdict *jobs.VerdictBrief
		sigs    []string
	}{
		{0, jobs.Done, &jobs.VerdictBrief{Label: "malware", Probability: 0.9, Family: "Mirai"}, []string{"persistence_cron"}},
		{1, jobs.Done, &jobs.VerdictBrief{Label: "benign", Probability: 0.1}, nil},
		{2, jobs.Failed, nil, nil},
		{0, jobs.Done, &jobs.VerdictBrief{Label: "malware", Probability: 0.8, Family: "Gafgyt"}, nil},
		{2, jobs.Queued, nil, nil},
		{0, jobs.Done, &jobs.VerdictBrief{Label: "malware", Probability: 0.95, Family: "mirai"}, []string{"Persistence_Cron", "net_scan"}},
	}
	for i, p := range plan {
		j := jobAt(t, s, smps[p.smp], t0.Add(time.Duration(i)*time.Minute), p.state, 0)
		if p.verdict != nil || p.sigs != nil {
			var err error
			j, err = s.UpdateJob(j.ID, func(j *jobs.Job) error { j.Verdict, j.Signatures = p.verdict, p.sigs; return nil })
			if err != nil {
				t.Fatal(err)
			}
		}
		ids = append(ids, j.ID)
	}
	return ids, smps, t0
}

func TestSearchJobs(t *testing.T) {
	s := openTest(t, t.TempDir())
	ids, smps, t0 := searchFixture(t, s)
	idx := func(js []jobs.Job) []int {
		var out []int
		for _, j := range js {
			out = append(out, slices.Index(ids, j.ID))
		}
		return out
	}
	cases := []struct {
		name  string
		q     ListQuery
		want  []int
		index string
	}{
		{"all", ListQuery{}, []int{5, 4, 3, 2, 1, 0}, "jobs"},
		{"sha256", ListQuery{SHA256: strings.ToUpper(smps[0].SHA256)}, []int{5, 3, 0}, "index/sha256"},
		{"sha1", ListQuery{SHA1: smps[2].SHA1}, []int{4, 2}, "index/sha1"},
		{"md5", ListQuery{MD5: smps[1].MD5}, []int{1}, "index/md5"},
		{"md5 and state", ListQuery{MD5: smps[2].MD5, State: jobs.Failed}, []int{2}, "index/md5"},
		{"verdict", ListQuery{Verdict: "malware"}, []int{5, 3, 0}, "index/verdict"},
		{"family any case", ListQuery{Family: "MIRAI"}, []int{5, 0}, "index/family"},
		{"family and verdict", ListQuery{Family: "gafgyt", Verdict: "malware"}, []int{3}, "index/family"},
		{"signature", ListQuery{Signature: "persistence_cron"}, []int{5, 0}, "index/signature"},
		{"state", ListQuery{State: jobs.Done}, []int{5, 3, 1, 0}, "states/done"},
		{"name substring", ListQuery{Name: "ALPHA"}, []int{5, 3, 0}, "jobs"},
		{"since", ListQuery{Since: t0.Add(3 * time.Minute)}, []int{5, 4, 3}, "jobs"},
		{"until", ListQuery{Until: t0.Add(2 * time.Minute)}, []int{1, 0}, "jobs"},
		{"until mid-second", ListQuery{Until: t0.Add(2*time.Minute + 500*time.Millisecond)}, []int{2, 1, 0}, "jobs"},
		{"range and verdict", ListQuery{Verdict: "malware", Since: t0.Add(time.Minute), Until: t0.Add(5 * time.Minute)}, []int{3}, "index/verdict"},
		{"no match", ListQuery{SHA256: strings.Repeat("0", 64)}, nil, "index/sha256"},
		{"cursor", ListQuery{Cursor: ids[3]}, []int{2, 1, 0}, "jobs"},
	}
	for _, c := range cases {
		p, err := s.SearchJobs(c.q)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := idx(p.Jobs); !slices.Equal(got, c.want) || p.Index != c.index {
			t.Errorf("%s: jobs %v via %s, want %v via %s", c.name, got, p.Index, c.want, c.index)
		}
	}

	// Paging by cursor visits every match once.
	var got []int
	q := ListQuery{SHA256: smps[0].SHA256, Limit: 2}
	for pages := 0; ; pages++ {
		p, err := s.SearchJobs(q)
		if err != nil || pages > 3 {
			t.Fatalf("page %d: %v", pages, err)
		}
		got = append(got, idx(p.Jobs)...)
		if p.NextCursor == "" {
			break
		}
		q.Cursor = p.NextCursor
	}
	if !slices.Equal(got, []int{5, 3, 0}) {
		t.Fatalf("paged %v", got)
	}

	for _, bad := range []ListQuery{
		{SHA256: "abc"}, {MD5: strings.Repeat("g", 32)}, {Verdict: "evil"},
		{Since: t0, Until: t0}, {Cursor: strings.Repeat("x", 65)}, {State: "nope"},
	} {
		if _, err := s.SearchJobs(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v: %v, want ErrInvalid", bad, err)
		}
	}
}

// A job whose verdict changes leaves the old value's index; GC removes a
// deleted job's entries; Check finds all consistent.
func TestSearchIndexMaintained(t *testing.T) {
	s := openTest(t, t.TempDir())
	ids, _, t0 := searchFixture(t, s)
	if _, err := s.UpdateJob(ids[0], func(j *jobs.Job) error {
		j.Verdict = &jobs.VerdictBrief{Label: "benign"}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if p, _ := s.SearchJobs(ListQuery{Family: "mirai"}); len(p.Jobs) != 1 || p.Jobs[0].ID != ids[5] {
		t.Fatalf("after verdict change: %+v", p.Jobs)
	}
	if probs, err := s.Check(); err != nil || len(probs) != 0 {
		t.Fatalf("check: %v %v", probs, err)
	}
	setClock(t, t0.Add(48*time.Hour))
	if _, err := s.GC(t.Context(), Policy{MaxAge: time.Hour}); err != nil {
		t.Fatal(err)
	}
	if p, _ := s.SearchJobs(ListQuery{Verdict: "malware"}); len(p.Jobs) != 0 {
		t.Fatalf("GC left index entries: %+v", p.Jobs)
	}
	if probs, err := s.Check(); err != nil || len(probs) != 0 {
		t.Fatalf("check after gc: %v %v", probs, err)
	}
	// A corrupted index is reported.
	s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bktIndex).Bucket([]byte(IndexMD5)).Put(indexKey("00", ids[4]), nil)
	})
	if probs, _ := s.Check(); len(probs) != 1 || !strings.Contains(probs[0], "stale") {
		t.Fatalf("check of a stale entry: %v", probs)
	}
}

// A schema 1 database (no index/) is migrated on open: indexes built from
// the jobs, version 2 stored.
func TestMigrateSchema1(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	ids, smps, _ := searchFixture(t, s)
	s.db.Update(func(tx *bolt.Tx) error {
		var v [8]byte
		binary.BigEndian.PutUint64(v[:], 1)
		if err := tx.Bucket(bktMeta).Put(keyVersion, v[:]); err != nil {
			return err
		}
		return tx.DeleteBucket(bktIndex)
	})
	s.Close()
	s = openTest(t, dir)
	p, err := s.SearchJobs(ListQuery{SHA256: smps[0].SHA256})
	if err != nil || len(p.Jobs) != 3 || p.Jobs[0].ID != ids[5] {
		t.Fatalf("after migration: %+v %v", p, err)
	}
	s.db.View(func(tx *bolt.Tx) error {
		if v := binary.BigEndian.Uint64(tx.Bucket(bktMeta).Get(keyVersion)); v != SchemaVersion {
			t.Errorf("version %d", v)
		}
		return nil
	})
	if probs, err := s.Check(); err != nil || len(probs) != 0 {
		t.Fatalf("check: %v %v", probs, err)
	}
}

// MaxScan bounds a page's work; the cursor carries on.
func TestSearchScanBound(t *testing.T) {
	old := maxScan
	maxScan = 20
	t.Cleanup(func() { maxScan = old })
	s := openTest(t, t.TempDir())
	smp := putTestSample(t, s, "x", "x")
	for range maxScan + 5 {
		newJob(t, s, smp)
	}
	p, err := s.SearchJobs(ListQuery{Name: "nothing"})
	if err != nil || len(p.Jobs) != 0 || p.Scanned != maxScan || p.NextCursor == "" {
		t.Fatalf("page %d jobs, scanned %d, cursor %q, %v", len(p.Jobs), p.Scanned, p.NextCursor, err)
	}
	p, err = s.SearchJobs(ListQuery{Name: "nothing", Cursor: p.NextCursor})
	if err != nil || p.Scanned != 5 || p.NextCursor != "" {
		t.Fatalf("second page scanned %d, cursor %q, %v", p.Scanned, p.NextCursor, err)
	}
}
