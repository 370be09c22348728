package defaults

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

var sizeUnits = []struct {
	suffix string
	mult   float64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
	{"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"T", 1 << 40},
	{"B", 1}, {"", 1},
}

// ParseSize reads "50GiB", "1.5T", "500MB" or a plain byte count.
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	for _, u := range sizeUnits {
		if !strings.HasSuffix(strings.ToUpper(t), strings.ToUpper(u.suffix)) {
			continue
		}
		num := strings.TrimSpace(t[:len(t)-len(u.suffix)])
		f, err := strconv.ParseFloat(num, 64)
		if err != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) || f*u.mult >= math.MaxInt64 {
			break
		}
		return int64(f * u.mult), nil
	}
	return 0, fmt.Errorf("%q: want a non-negative size such as 50GiB, 500MB or 1048576", s)
}
