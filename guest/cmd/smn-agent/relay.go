package main

import "github.com/scalemalnet/scalemalnet/guest/tracer"

// relayInclude is Wine's RelayInclude value for the recorded API set.
func relayInclude() string { return "" }

// apiLines parses Wine's relay channel into API calls.
var apiLines func(line []byte) (tracer.APILine, bool)
