package sdk

import (
	"os"
	"time"
)

// exitWhenOrphaned ends the plugin process once the host that started it is
// gone. go-plugin's server keeps serving after its host dies without ending
// it (kill -9, a crash): the process would then live forever, reparented,
// holding memory and its socket. The parent is checked every interval.
func exitWhenOrphaned(interval time.Duration) {
	parent := os.Getppid()
	if parent <= 1 {
		return // started by init itself: nothing to watch
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for range t.C {
		if os.Getppid() != parent {
			os.Exit(3)
		}
	}
}
