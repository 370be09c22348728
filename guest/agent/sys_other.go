//go:build !linux

package agent

import (
	"runtime"

	"github.com/scalemalnet/scalemalnet/guest/proto"
)

func (a *Agent) hello(session string) proto.Hello {
	return proto.Hello{Version: proto.Version, Session: session, AgentVersion: Version, Runs: a.Runs(), CPUs: runtime.NumCPU()}
}

func (a *Agent) setTime(int64) string { return "clock not set: unsupported platform" }
