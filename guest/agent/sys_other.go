//go:build !linux

package agent

import (
	"runtime"

	"github.com/scalemalnet/scalemalnet/guest/proto"
)

func (a *Agent) hello(session string) proto.Hello {
	h := proto.Hello{Version: proto.Version, Session: session, AgentVersion: Version, Runs: a.Runs(), CPUs: runtime.NumCPU()}
	if a.cfg.Interfaces != nil {
		h.Net = a.cfg.Interfaces()
	}
	return h
}

func (a *Agent) setTime(int64) string { return "clock not set: unsupported platform" }
