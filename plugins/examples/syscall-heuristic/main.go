// Command syscall-heuristic is an example external ScaleMalNet plugin: a
// detection classifier that scores a run's system-call n-grams with a small,
// configurable weighted rule (see heuristic.go). It is meant to be read by
// plugin authors alongside docs/plugins.md, and it is loaded as a real
// plugin process by the tests in plugins/host.
//
// Build and register it:
//
//	go build -o /var/lib/scalemalnet/plugins/syscall-heuristic ./plugins/examples/syscall-heuristic
//	scalemalnet plugins register /var/lib/scalemalnet/plugins/syscall-heuristic
package main

import "github.com/scalemalnet/scalemalnet/plugins/sdk"

func main() { sdk.ServeClassifier(newClassifier()) }
