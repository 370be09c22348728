package store

import (
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/scalemalnet/scalemalnet/orchestrator/report"
)

// PutReport stores a job's report and sets the job's HasReport, in one
// transaction. A second call replaces the report.
func (s *Store) PutReport(id string, r *report.Report) error {
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
		if err := tx.Bucket(bktReports).Put([]byte(id), v); err != nil {
			return err
		}
		if !j.HasReport {
			j.HasReport = true
			j.Updated = now()
			return putJob(tx, &j, j.State)
		}
		return nil
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
