package web

import (
	"bytes"
	"compress/gzip"
	"sync"
	"testing"

	"github.com/scalemalnet/scalemalnet/guest/trace"
)

// A trace of a million system calls (1000 windows of 1000 calls, 4
// processes), gzip JSONL as stored.
var (
	bigOnce  sync.Once
	bigTrace []byte
)

func bigArtifact(b *testing.B) []byte {
	bigOnce.Do(func() {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		jw := trace.NewJSONLWriter(zw)
		fd := 3
		for i := 0; i < 1000; i++ {
			w := trace.Window{Index: i, Start: int64(i) * 1e9, End: int64(i+1) * 1e9, Counts: map[string]int{}}
			for k := 0; k < 1000; k++ {
				name := [...]string{"read", "write", "openat", "close"}[k%4]
				w.Events = append(w.Events, trace.Event{T: w.Start + int64(k)*1000, PID: 100 + k%4, TID: 100 + k%4, Name: name, FD: &fd, Path: "/var/tmp/file", Ret: 1})
				w.Counts[name]++
			}
			jw.Window(&w)
		}
		jw.Summary(&trace.Summary{Outcome: trace.OutcomeExited})
		zw.Close()
		bigTrace = buf.Bytes()
	})
	return bigTrace
}

// BenchmarkLogPage compares reading the last page of a 1M-call log cold
// (decoding every window before it) with reading it from a learnt page
// start (earlier lines are decompressed and skipped, not decoded), and the
// first page.
func BenchmarkLogPage(b *testing.B) {
	art := bigArtifact(b)
	b.Logf("artifact: %d bytes gzip", len(art))
	f := logFilter{Kind: "syscall", PID: 101}
	// 250k matching calls: 2500 pages.
	const last = 2499
	_, _, starts, err := logPage(bytes.NewReader(art), f, last, nil)
	if err != nil || len(starts) != last+1 {
		b.Fatalf("starts %d, %v", len(starts), err)
	}
	b.Run("first", func(b *testing.B) {
		for b.Loop() {
			rows, _, _, _ := logPage(bytes.NewReader(art), f, 0, nil)
			if len(rows) != LogPageSize {
				b.Fatal(len(rows))
			}
		}
	})
	b.Run("last-cold", func(b *testing.B) {
		for b.Loop() {
			rows, _, _, _ := logPage(bytes.NewReader(art), f, last, nil)
			if len(rows) != LogPageSize {
				b.Fatal(len(rows))
			}
		}
	})
	b.Run("last-learnt", func(b *testing.B) {
		for b.Loop() {
			rows, _, _, _ := logPage(bytes.NewReader(art), f, last, starts)
			if len(rows) != LogPageSize {
				b.Fatal(len(rows))
			}
		}
	})
	v, err := scanView(bytes.NewReader(art))
	if err != nil {
		b.Fatal(err)
	}
	b.Run("last-counted", func(b *testing.B) {
		for b.Loop() {
			from, ok := v.pageStart(f, last)
			if !ok {
				b.Fatal("no page start")
			}
			rows, _, _, _ := logPageAt(bytes.NewReader(art), f, last, last, from, nil)
			if len(rows) != LogPageSize {
				b.Fatal(len(rows))
			}
		}
	})
	b.Run("view", func(b *testing.B) {
		for b.Loop() {
			if _, err := scanView(bytes.NewReader(art)); err != nil {
				b.Fatal(err)
			}
		}
	})
}
