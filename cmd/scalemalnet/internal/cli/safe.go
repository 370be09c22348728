package cli

import (
	"github.com/scalemalnet/scalemalnet/internal/safetext"
	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
)

// maxPrinted bounds one text field printed from the API.
const maxPrinted = 4096

// safe makes text from the API safe to print on a terminal (defence in
// depth: the orchestrator already cleans what comes from a guest): no
// control characters or bidirectional overrides, at most maxPrinted bytes.
func safe(s string) string { return safetext.Clean(s, maxPrinted) }

// safeJob returns a copy of j with every text field made safe to print.
func safeJob(j jobs.Job) jobs.Job {
	j.ID, j.Step, j.Slot, j.Error, j.Waiting = safe(j.ID), safe(j.Step), safe(j.Slot), safe(j.Error), safe(j.Waiting)
	tags := make([]string, len(j.Options.Tags))
	for i, t := range j.Options.Tags {
		tags[i] = safe(t)
	}
	j.Options.Tags = tags
	j.State = jobs.State(safe(string(j.State)))
	j.Sample.Name, j.Sample.Type, j.Sample.SHA256 = safe(j.Sample.Name), safe(j.Sample.Type), safe(j.Sample.SHA256)
	h := make([]jobs.Transition, len(j.History))
	for i, t := range j.History {
		t.State, t.Note = jobs.State(safe(string(t.State))), safe(t.Note)
		h[i] = t
	}
	j.History = h
	if j.Verdict != nil {
		v := *j.Verdict
		v.Label, v.Family = safe(v.Label), safe(v.Family)
		j.Verdict = &v
	}
	return j
}
