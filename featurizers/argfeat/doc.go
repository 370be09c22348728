// Package argfeat turns a guest trace into argument-aware features: what
// the calls' decoded arguments say, which call names alone cannot (cat
// /etc/shadow and cat /etc/hostname make the same calls).
//
// Extract gives a fixed, named vector (Schema; docs/features.md lists every
// column with its meaning): path classes × operations (/etc/shadow written,
// a program executed from /tmp, ...), programs executed by kind (shells,
// interpreters, network and account tools), privilege and process calls,
// network destinations (loopback or not, a socket duplicated onto a
// shell's stdin), files written then executed, chmod'ed or deleted, error
// shares and run totals. Counts are log1p-scaled.
//
// The trace comes from a hostile guest: Extract never fails, cuts every
// string it looks at, and bounds its state (fd tables, path sets, distinct
// names), so its time is linear in the trace and its memory bounded.
//
// Set wraps the vector as the "trace-args" feature set, which the built-in
// featurizer of the same name sends to classifiers; Builder and VectorSet
// turn labelled traces into a data.VectorSet for training.
package argfeat
