package pool

import (
	"testing"
	"time"
)

// Every idle slot waits on the same broadcast: one submission wakes them
// all (the old one-slot channel woke one and left the rest to a poll).
func TestBroadcasterWakesAll(t *testing.T) {
	var b broadcaster
	chans := []<-chan struct{}{b.wait(), b.wait(), b.wait()}
	for i, c := range chans {
		select {
		case <-c:
			t.Fatalf("waiter %d woken before the broadcast", i)
		default:
		}
	}
	b.broadcast()
	for i, c := range chans {
		select {
		case <-c:
		case <-time.After(time.Second):
			t.Fatalf("waiter %d not woken", i)
		}
	}
	next := b.wait()
	select {
	case <-next:
		t.Fatal("a new wait returned an already closed channel")
	default:
	}
	if IdleRecheck < time.Second {
		t.Fatalf("IdleRecheck %s: idle slots must not poll the queue several times a second", IdleRecheck)
	}
}
