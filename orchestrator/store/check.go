package store

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	bolt "go.etcd.io/bbolt"

	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
)

// Check verifies the invariants of the database and the files it points at,
// in one read transaction, and returns one line per violation (none when
// the store is consistent):
//
//   - every job is in the state index under exactly its own state, and
//     every index entry names an existing job;
//   - a job reached a final state at most once in its history, and a job
//     in a final state reached it exactly once;
//   - a done job has its report and HasReport; a failed job has an error
//     and no report; every report belongs to a job;
//   - every job's sample record and file exist;
//   - the search indexes hold exactly the entries of the jobs;
//   - every artifact record belongs to a job and its file exists with the
//     recorded size.
//
// err is for failures to read, not for what Check finds.
func (s *Store) Check() (problems []string, err error) {
	add := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }
	err = s.view(func(tx *bolt.Tx) error {
		all := map[string]jobs.Job{}
		if err := tx.Bucket(bktJobs).ForEach(func(k, v []byte) error {
			var j jobs.Job
			if err := json.Unmarshal(v, &j); err != nil {
				add("job %s: undecodable: %v", printable(string(k), 64), err)
				return nil
			}
			if j.ID != string(k) {
				add("job under key %s has id %s", printable(string(k), 64), printable(j.ID, 64))
			}
			all[string(k)] = j
			return nil
		}); err != nil {
			return err
		}
		indexed := map[string][]string{}
		states := tx.Bucket(bktStates)
		if err := states.ForEach(func(st, v []byte) error {
			b := states.Bucket(st)
			if b == nil {
				add("states/%s is not a bucket", printable(string(st), 32))
				return nil
			}
			return b.ForEach(func(id, _ []byte) error {
				indexed[string(id)] = append(indexed[string(id)], string(st))
				return nil
			})
		}); err != nil {
			return err
		}
		for id, sts := range indexed {
			if _, ok := all[id]; !ok {
				add("state index %v names job %s, which does not exist", sts, printable(id, 64))
			}
		}
		reports := tx.Bucket(bktReports)
		samples := tx.Bucket(bktSamples)
		for id, j := range all {
			if sts := indexed[id]; len(sts) != 1 || sts[0] != string(j.State) {
				add("job %s (state %s) is indexed under %v", id, j.State, sts)
			}
			final := 0
			for _, tr := range j.History {
				if tr.State.Final() {
					final++
				}
			}
			if final > 1 || (j.State.Final() && final != 1) {
				add("job %s (state %s) reached a final state %d times", id, j.State, final)
			}
			hasReport := reports.Get([]byte(id)) != nil
			switch j.State {
			case jobs.Done:
				if !hasReport || !j.HasReport {
					add("done job %s: report stored %v, has_report %v", id, hasReport, j.HasReport)
				}
			case jobs.Failed:
				if j.Error == "" || hasReport {
					add("failed job %s: error %q, report stored %v", id, j.Error, hasReport)
				}
			}
			if samples.Get([]byte(j.Sample.SHA256)) == nil {
				add("job %s: sample record %s missing", id, j.Sample.SHA256)
			} else if _, err := os.Stat(s.samplePath(j.Sample.SHA256)); err != nil {
				add("job %s: sample file: %v", id, err)
			}
		}
		if err := reports.ForEach(func(k, _ []byte) error {
			if _, ok := all[string(k)]; !ok {
				add("report %s belongs to no job", printable(string(k), 64))
			}
			return nil
		}); err != nil {
			return err
		}
		checkIndexes(tx, all, add)
		checkSampleMD5(tx, add)
		arts := tx.Bucket(bktArtifacts)
		return arts.ForEach(func(id, _ []byte) error {
			b := arts.Bucket(id)
			if b == nil {
				return nil
			}
			if _, ok := all[string(id)]; !ok {
				add("artifacts of job %s, which does not exist", printable(string(id), 64))
			}
			return b.ForEach(func(name, v []byte) error {
				var a Artifact
				if err := json.Unmarshal(v, &a); err != nil {
					add("artifact %s/%s: undecodable: %v", id, name, err)
					return nil
				}
				st, err := os.Stat(filepath.Join(s.dir, filepath.FromSlash(a.Path)))
				switch {
				case err != nil:
					add("artifact %s/%s: %v", id, name, err)
				case st.Size() != a.Size:
					add("artifact %s/%s: %d bytes on disk, %d recorded", id, name, st.Size(), a.Size)
				}
				return nil
			})
		})
	})
	return problems, err
}

// checkIndexes compares the search indexes with the jobs they index.
func checkIndexes(tx *bolt.Tx, all map[string]jobs.Job, add func(string, ...any)) {
	root := tx.Bucket(bktIndex)
	if root == nil {
		add("index bucket missing")
		return
	}
	want := map[string]bool{}
	for _, j := range all {
		for idx, vals := range indexEntries(&j) {
			for _, v := range vals {
				want[idx+"/"+string(indexKey(v, j.ID))] = true
			}
		}
	}
	for _, idx := range indexNames {
		b := root.Bucket([]byte(idx))
		if b == nil {
			continue
		}
		_ = b.ForEach(func(k, _ []byte) error {
			key := idx + "/" + string(k)
			if !want[key] {
				add("index %s has a stale entry %s", idx, printable(string(k), 120))
			}
			delete(want, key)
			return nil
		})
	}
	for k := range want {
		add("index entry missing: %s", printable(k, 120))
	}
}
