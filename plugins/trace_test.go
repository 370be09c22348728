package plugins

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// Finding 6 (issue 13): many windows of "{}" events compress to almost
// nothing, and a dynamic featurizer inflated them all into structs (up to
// 1 GiB decompressed). The decoded trace must keep at most MaxTraceEvents
// calls and count the rest, within a bounded heap.
func TestTraceDecompressionBomb(t *testing.T) {
	const windows, perWindow = 40, 50_000 // 2,000,040 empty events
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	events := "[" + strings.Repeat("{},", perWindow) + "{}]"
	for i := 0; i < windows; i++ {
		fmt.Fprintf(zw, `{"window":{"index":%d,"start":%d,"end":%d,"events":%s}}`+"\n", i, i, i+1, events)
	}
	fmt.Fprintln(zw, `{"summary":{"outcome":"exited"}}`)
	zw.Close()
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	tr, err := FeaturizeInput{TraceGz: gz.Bytes()}.Trace()
	if err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	kept := 0
	for _, w := range tr.Windows {
		kept += len(w.Events)
	}
	live := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("%d compressed bytes: %d events kept, live heap +%d MiB", gz.Len(), kept, live>>20)
	if kept > MaxTraceEvents {
		t.Errorf("%d events kept, cap %d", kept, MaxTraceEvents)
	}
	if b := tr.Summary.Bounded; b == nil || b.Dropped != windows*(perWindow+1)-kept || !tr.Summary.Truncated {
		t.Errorf("cut not recorded: %+v", tr.Summary.Bounded)
	}
	if live > 160<<20 {
		t.Errorf("decoded trace holds %d MiB", live>>20)
	}
}
