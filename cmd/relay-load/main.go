// Command relay-load is a load generator for a running Relay. It speaks
// only the public HTTP API (API.md): it creates groups and their members,
// opens one SSE stream per (group, subscriber) — each a distinct member on
// its own TCP connection — waits until every stream said `ready`, then posts
// messages at a fixed total rate and measures, for every delivered event,
// the delivery latency (receive time minus the send time embedded in the
// content, both read from this process's monotonic clock). Each stream
// checks that seqs arrive in order with no gap and no duplicate; a stream
// the server ends is resumed from its last cursor, as a browser would.
//
// At the end it prints messages sent, POST latency, deliveries expected and
// received, delivery latency, deliveries per second, errors, gaps and
// duplicates, and the server's memory, goroutines and CPU (from /metrics)
// before and after the streams opened, so that the cost of an open stream
// can be estimated. It exits 1 when a delivery was missing, duplicated or
// out of order, and 2 when the run could not be carried out.
//
// Usage:
//
//	relay-load -url http://127.0.0.1:8080 -secret "$AUTH_SECRET" \
//	    -groups 10 -subscribers 100 -rate 200 -duration 20s
//
// With -shape inbox it opens one inbox stream (GET /api/sse/inbox) per user
// instead: -users users each in -conversations-per-user groups of -members
// users (and the senders), drawn as rounds that each shuffle the users and
// cut them into groups, so that each user is in exactly that many groups
// with different people. Messages go round-robin over every group, and
// each inbox checks every one of its conversations (the message event's
// channel) for order, gaps and duplicates on its own:
//
//	relay-load -shape inbox -users 200 -conversations-per-user 100 \
//	    -members 4 -rate 200 -duration 20s
//
// Either shape reports each stream's set-up time (its first request to its
// ready event) and the server's CPU time per delivery.
//
// Posting users (-senders) belong to every group and have one POST in
// flight each; when they cannot keep up, fewer messages are sent rather
// than the run growing longer. They post with service tokens, whose rate
// limits on the server (SERVICE_PUBLISH_RATE) are far above a user's; a
// stream refused for a limit (event: limited) comes back after its retry
// and is counted as limited, not as an error. From one machine, opening
// many streams takes a while at the server's default SSE_CONNECT_RATE
// (20/s per address): set it to 0 on the server to open them at once. The run is bounded: -open-timeout to open
// the streams, -duration of traffic (or of idle streams with -rate 0),
// then at most -drain for the last deliveries.
//
// Every run uses fresh user ids (prefixed with a run id), so runs against
// the same database do not interfere; the data they create is left behind.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
)

const usage = `usage: relay-load [flags]

Loads a running Relay through its public HTTP API and reports throughput,
latency, ordering and the server's memory per open stream.

flags:
`

// Exit codes.
const (
	exitOK       = 0
	exitDelivery = 1 // a delivery was missing, duplicated or out of order
	exitFailed   = 2 // bad flags, or the run could not be carried out
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is main without the exit and the process globals.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cfg, err := parseConfig(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitFailed
	}
	if err != nil {
		fmt.Fprintf(stderr, "relay-load: %v\n", err)
		return exitFailed
	}
	if cfg.CPUProfile != "" {
		f, err := os.Create(cfg.CPUProfile)
		if err != nil {
			fmt.Fprintf(stderr, "relay-load: -cpuprofile: %v\n", err)
			return exitFailed
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintf(stderr, "relay-load: -cpuprofile: %v\n", err)
			return exitFailed
		}
		defer pprof.StopCPUProfile()
	}
	progress := newProgress(stderr)
	sum, err := newLoad(cfg, progress).run(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "relay-load: %v\n", err)
		return exitFailed
	}
	printSummary(stdout, sum)
	if cfg.JSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(sum); err != nil {
			fmt.Fprintf(stderr, "relay-load: %v\n", err)
			return exitFailed
		}
	}
	if !sum.DeliveryOK {
		return exitDelivery
	}
	return exitOK
}
