package header

import (
	"os"
	"testing"
)

// BenchmarkClaMPExtract reads, parses and extracts both ClaMP sets from
// every PE file the wine and mingw-w64 packages install (the same files
// scripts/pefile-parity.py times); it reports files/s.
// scripts/pefile-parity.sh --bench prints it beside pefile's figure.
func BenchmarkClaMPExtract(b *testing.B) {
	files := installedPEFiles(b)
	if len(files) == 0 {
		b.Skip("no installed PE files (wine64, mingw-w64)")
	}
	b.ResetTimer()
	n := 0
	var bytes int64
	for b.Loop() {
		for _, p := range files {
			data, err := os.ReadFile(p)
			if err != nil {
				b.Fatal(err)
			}
			bytes += int64(len(data))
			f, err := ParsePE(data)
			if err != nil {
				continue
			}
			if _, err := ClaMPRaw(f); err != nil {
				b.Fatal(err)
			}
			if _, err := ClaMPIntegrated(f); err != nil {
				b.Fatal(err)
			}
			n++
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "files/s")
	b.ReportMetric(float64(len(files)), "files")
	b.SetBytes(bytes / int64(max(b.N, 1)))
}
