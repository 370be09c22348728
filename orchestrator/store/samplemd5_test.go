package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// SampleByMD5 reads the samples-md5 index (either case); GC deleting a
// sample deletes its entry; a schema 2 database (no index) gets the index
// built on open, version 3 stored, and the check finds nothing wrong.
func TestSampleMD5IndexAndMigration(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	ctx := context.Background()
	a, err := s.PutSample(ctx, bytes.NewReader([]byte("sample a")), "a", 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.PutSample(ctx, bytes.NewReader([]byte("sample b")), "b", 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{a.MD5, strings.ToUpper(a.MD5)} {
		if got, err := s.SampleByMD5(q); err != nil || got.SHA256 != a.SHA256 {
			t.Fatalf("SampleByMD5(%s): %+v %v", q, got, err)
		}
	}
	if _, err := s.SampleByMD5(strings.Repeat("0", 32)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown md5: %v", err)
	}
	// An old database: version 2, no samples-md5 bucket.
	if err := s.db.Update(func(tx *bolt.Tx) error {
		var v [8]byte
		binary.BigEndian.PutUint64(v[:], 2)
		if err := tx.Bucket(bktMeta).Put(keyVersion, v[:]); err != nil {
			return err
		}
		return tx.DeleteBucket(bktSampleMD5)
	}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openTest(t, dir)
	if got, err := s.SampleByMD5(b.MD5); err != nil || got.SHA256 != b.SHA256 {
		t.Fatalf("after migration: %+v %v", got, err)
	}
	s.db.View(func(tx *bolt.Tx) error {
		if v := binary.BigEndian.Uint64(tx.Bucket(bktMeta).Get(keyVersion)); v != SchemaVersion || SchemaVersion != 3 {
			t.Errorf("version %d, SchemaVersion %d", v, SchemaVersion)
		}
		return nil
	})
	if probs, err := s.Check(); err != nil || len(probs) != 0 {
		t.Fatalf("check: %v %v", probs, err)
	}
	// The GC's deletion of an unreferenced sample takes its entry along.
	if _, err := s.GC(ctx, Policy{MaxAge: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SampleByMD5(a.MD5); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted sample still found by md5: %v", err)
	}
	if probs, err := s.Check(); err != nil || len(probs) != 0 {
		t.Fatalf("check after gc: %v %v", probs, err)
	}
}
