package main

import (
	"github.com/scalemalnet/scalemalnet/guest/relay"
	"github.com/scalemalnet/scalemalnet/guest/trace"
	"github.com/scalemalnet/scalemalnet/guest/tracer"
)

// relayInclude is Wine's RelayInclude value for the recorded API set.
func relayInclude() string { return relay.Include() }

// apiLines turns a line of Wine's relay channel into an API call or the
// return of one (tracer.Config.APILines). Other lines are the program's
// own output.
func apiLines(line []byte) (tracer.APILine, bool) {
	l, err := relay.Parse(line)
	if err != nil {
		return tracer.APILine{}, false
	}
	c := trace.APICall{PID: l.PID, TID: l.TID, Module: l.Module, Func: l.Func, Caller: l.Caller}
	if l.Kind == relay.Ret {
		c.Ret = l.Retval
		return tracer.APILine{Ret: true, Call: c}, true
	}
	c.Args, c.Path = l.Args, l.Path
	return tracer.APILine{Call: c}, true
}
