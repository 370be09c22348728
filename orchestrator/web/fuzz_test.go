package web

import (
	"bytes"
	"compress/gzip"
	"net/url"
	"testing"

	"github.com/scalemalnet/scalemalnet/orchestrator/api"
	"github.com/scalemalnet/scalemalnet/orchestrator/store"
)

// FuzzTraceReaders feeds arbitrary JSON lines (gzip-compressed as stored)
// to the report view and the log pager: errors, never panics, and the
// pager's rows never exceed a page.
func FuzzTraceReaders(f *testing.F) {
	var good bytes.Buffer
	sampleTrace(3, true, hostile).WriteJSONL(&good)
	f.Add(good.Bytes(), 0, uint8(0))
	f.Add([]byte(`{"window":{"index":0,"start":0,"end":5,"events":[{"pid":-1,"name":"x"}],"api":[{"func":"RegOpenKeyExA","path":"k"}]}}`+"\n"), 1, uint8(1))
	f.Add([]byte(`{"window":null}`+"\n"+`{"summary":{}}`), 0, uint8(2))
	f.Add([]byte("not json\n"), 3, uint8(3))
	f.Fuzz(func(t *testing.T, jsonl []byte, page int, mode uint8) {
		var z bytes.Buffer
		zw := gzip.NewWriter(&z)
		zw.Write(jsonl)
		zw.Close()
		if page < 0 || page > 50 {
			page = 0
		}
		filt := logFilter{Kind: "syscall"}
		if mode&1 == 1 {
			filt.Kind = "api"
		}
		if mode&2 == 2 {
			filt.PID = 100
		}
		v, verr := scanView(bytes.NewReader(z.Bytes()))
		rows, _, _, err := logPage(bytes.NewReader(z.Bytes()), filt, page, nil)
		if err == nil && len(rows) > LogPageSize {
			t.Fatalf("%d rows on a page", len(rows))
		}
		if verr == nil {
			if from, ok := v.pageStart(filt, page); ok {
				rows2, _, _, err2 := logPageAt(bytes.NewReader(z.Bytes()), filt, page, page, from, nil)
				if err == nil && err2 == nil && len(rows2) != len(rows) {
					t.Fatalf("page %d: %d rows from the counters, %d from the start", page, len(rows2), len(rows))
				}
			}
		}
		// The charts accept whatever the view holds.
		if verr == nil {
			timelineChart("x", v.Windows, v.Sys, func(w winCount) int { return w.Total }, nil)
		}
	})
}

// FuzzListQuery: any query string is parsed to a query or a clear error.
func FuzzListQuery(f *testing.F) {
	for _, s := range []string{"sha256=" + "ab", "md5=0123456789abcdef0123456789abcdef&verdict=malware", "since=2026-11-24&until=2026-11-23",
		"name=%00%1b&cursor=x", "limit=1001", "family=a&family=b", "until=2026-11-24T01:40"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		// Parsing never panics; the store validates what it accepts.
		if q, err := api.ParseListQuery(v); err == nil {
			sq := store.ListQuery(q)
			_ = sq.Validate()
		}
	})
}
