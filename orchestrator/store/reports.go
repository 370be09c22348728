package store

import (
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
	"github.com/scalemalnet/scalemalnet/orchestrator/report"
)

// PutReport stores a job's report and sets the job's HasReport, in one
// transaction. A second call replaces the report.
func (s *Store) PutReport(id string, r *report.Report) error {
	return s.PutReportAndUpdate(id, r, nil)
}

// PutReportAndUpdate stores a job's report, sets its HasReport and applies
// fn to the job (as UpdateJob does; nil for none), all in one bbolt
// transaction: a process killed at any point leaves either the job as it
// was without the new report, or both (issue 13 finding 9). If fn fails
// nothing is written.
func (s *Store) PutReportAndUpdate(id string, r *report.Report, fn func(*jobs.Job) error) error {
	if r == nil {
		return fmt.Errorf("store: %w: nil report", ErrInvalid)
	}
	// One bbolt value, read whole on every GET: cut to report.MaxStoredBytes
	// (the cut sections are listed in r.Truncated).
	v, err := report.Fit(r, report.MaxStoredBytes)
	if err != nil {
		return fmt.Errorf("store: encode report %s: %w", id, err)
	}
	return s.update(func(tx *bolt.Tx) error {
		j, err := getJob(tx, id)
		if err != nil {
			return err
		}
		old := j.State
		if err := tx.Bucket(bktReports).Put([]byte(id), v); err != nil {
			return err
		}
		changed := !j.HasReport
		j.HasReport = true
		if fn != nil {
			if err := fn(&j); err != nil {
				return err
			}
			if j.ID != id {
				return fmt.Errorf("store: job %s: %w: id changed to %q", id, ErrInvalid, j.ID)
			}
			if j.State != old && !jobs.CanMove(old, j.State) {
				return fmt.Errorf("store: %w: job %s %s -> %s", jobs.ErrTransition, id, old, j.State)
			}
			changed = true
		}
		if !changed {
			return nil
		}
		j.Updated = now()
		return putJob(tx, &j, old)
	})
}

// Report returns a job's report, ErrNotFound if there is none (yet).
func (s *Store) Report(id string) (*report.Report, error) {
	var r report.Report
	err := s.view(func(tx *bolt.Tx) error {
		v := tx.Bucket(bktReports).Get([]byte(id))
		if v == nil {
			return fmt.Errorf("store: report of job %q: %w", printable(id, 64), ErrNotFound)
		}
		return json.Unmarshal(v, &r)
	})
	if err != nil {
		return nil, err
	}
	return &r, nil
}
