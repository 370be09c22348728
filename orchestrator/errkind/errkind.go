// Package errkind holds the sentinel error kinds shared by the store, the
// daemon and the API: every error of one of these kinds wraps the sentinel
// (%w), and the API maps each to its HTTP status. It imports nothing, so
// the API and its clients can match the kinds without linking the store.
package errkind

import "errors"

var (
	ErrNotFound = errors.New("not found")        // 404
	ErrTooLarge = errors.New("too large")        // 413
	ErrInvalid  = errors.New("invalid argument") // 400
	ErrActive   = errors.New("job is active")    // 409: the request needs a finished job
	// ErrQueueFull: a submission beyond the queue's cap (max_queued); 503
	// with Retry-After. Nothing stored is touched.
	ErrQueueFull = errors.New("queue full")
)
