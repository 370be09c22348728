package image

import (
	"fmt"
	"testing"
)

// BenchmarkBytesToResized measures bytes -> Malimg image -> resize
// throughput (bytes/s of input) for typical file sizes.
func BenchmarkBytesToResized(b *testing.B) {
	for _, size := range []int{8 << 10, 64 << 10, 512 << 10, 4 << 20} {
		data, _ := SyntheticSample(0, 0, 1)
		buf := make([]byte, size)
		for i := range buf {
			buf[i] = data[i%len(data)]
		}
		for _, n := range []int{32, 64} {
			b.Run(fmt.Sprintf("%dKiB/%dx%d", size>>10, n, n), func(b *testing.B) {
				b.SetBytes(int64(size))
				b.ReportAllocs()
				for b.Loop() {
					img, err := FromBytes(buf)
					if err != nil {
						b.Fatal(err)
					}
					if _, err := Resize(img, n, n); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
