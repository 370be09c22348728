package store

// The samples-md5 index (schema version 3): the Cuckoo API's
// /files/view/md5/<md5> and SampleByMD5 look a sample up by MD5 without
// reading every sample record.

import (
	"encoding/json"
	"fmt"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
)

// putSampleMD5 indexes a sample by its MD5 (a sample without one is not
// indexed).
func putSampleMD5(tx *bolt.Tx, smp jobs.Sample) error {
	if smp.MD5 == "" {
		return nil
	}
	return tx.Bucket(bktSampleMD5).Put([]byte(strings.ToLower(smp.MD5)), []byte(smp.SHA256))
}

// deleteSample deletes a sample record and its MD5 index entry.
func deleteSample(tx *bolt.Tx, sha string) error {
	b := tx.Bucket(bktSamples)
	if v := b.Get([]byte(sha)); v != nil {
		var r sampleRecord
		if err := json.Unmarshal(v, &r); err == nil && r.Sample.MD5 != "" {
			idx := tx.Bucket(bktSampleMD5)
			key := []byte(strings.ToLower(r.Sample.MD5))
			if string(idx.Get(key)) == sha {
				if err := idx.Delete(key); err != nil {
					return err
				}
			}
		}
	}
	return b.Delete([]byte(sha))
}

// rebuildSampleMD5 drops and rebuilds the MD5 index from samples/ (the
// migration from schema version 2).
func rebuildSampleMD5(tx *bolt.Tx) (int, error) {
	if tx.Bucket(bktSampleMD5) != nil {
		if err := tx.DeleteBucket(bktSampleMD5); err != nil {
			return 0, err
		}
	}
	if _, err := tx.CreateBucket(bktSampleMD5); err != nil {
		return 0, err
	}
	n := 0
	err := tx.Bucket(bktSamples).ForEach(func(k, v []byte) error {
		var r sampleRecord
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("store: decode sample %s: %w", printable(string(k), 64), err)
		}
		n++
		return putSampleMD5(tx, r.Sample)
	})
	return n, err
}

// checkSampleMD5 compares the MD5 index with the samples it indexes.
func checkSampleMD5(tx *bolt.Tx, add func(string, ...any)) {
	samples, idx := tx.Bucket(bktSamples), tx.Bucket(bktSampleMD5)
	_ = samples.ForEach(func(k, v []byte) error {
		var r sampleRecord
		if json.Unmarshal(v, &r) != nil || r.Sample.MD5 == "" {
			return nil
		}
		if got := idx.Get([]byte(strings.ToLower(r.Sample.MD5))); string(got) != string(k) {
			add("sample %s (md5 %s) is indexed as %q in samples-md5", printable(string(k), 64), printable(r.Sample.MD5, 40), printable(string(got), 64))
		}
		return nil
	})
	_ = idx.ForEach(func(md5, sha []byte) error {
		if samples.Get(sha) == nil {
			add("samples-md5 entry %s names sample %s, which does not exist", printable(string(md5), 40), printable(string(sha), 64))
		}
		return nil
	})
}
