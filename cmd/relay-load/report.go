package main

import (
	"fmt"
	"io"
	"runtime"
	"time"
)

// summary is the run's result, printed as text and, with -json, as JSON.
type summary struct {
	Run             string         `json:"run"`
	Config          runConfig      `json:"config"`
	Streams         int            `json:"streams"`
	StreamSetup     setupSummary   `json:"streamSetup"`
	Messages        messageCounts  `json:"messages"`
	PostLatency     latencySummary `json:"postLatency"`
	Deliveries      deliveryCounts `json:"deliveries"`
	DeliveryLatency latencySummary `json:"deliveryLatency"`
	Reconnects      int            `json:"reconnects"`
	Limited         int            `json:"limited"` // stream sessions refused for a limit, then retried
	Errors          []errorKind    `json:"errors"`
	Server          serverSummary  `json:"server"`
	ClientCPUCores  float64        `json:"clientCpuCores"`
	DeliveryOK      bool           `json:"deliveryOk"`

	finals map[string]int64 // each group's last seq, by id
}

// setupSummary is how long the streams took to open: each from its first
// request to its first ready event, and all of them together from the
// first request (those waiting for an -open-concurrency slot included).
type setupSummary struct {
	latencySummary
	AllReadyMs float64 `json:"allReadyMs"`
}

// runConfig is the part of the configuration worth keeping with results.
type runConfig struct {
	URL         string `json:"url"`
	Shape       string `json:"shape"`
	Groups      int    `json:"groups"`                        // created, in either shape
	Subscribers int    `json:"subscribersPerGroup,omitempty"` // -shape groups
	// -shape inbox
	Users                int `json:"users,omitempty"`
	ConversationsPerUser int `json:"conversationsPerUser,omitempty"`
	Members              int `json:"membersPerGroup,omitempty"`

	Senders  int     `json:"senders"`
	Rate     float64 `json:"rate"`
	Duration string  `json:"duration"`
	Size     int     `json:"size"`
	NumCPU   int     `json:"clientNumCpu"`
}

// messageCounts is the sending side.
type messageCounts struct {
	Target   int     `json:"target"`
	Sent     int     `json:"sent"`
	Failed   int     `json:"failed"`
	RatePerS float64 `json:"achievedRate"`
}

// deliveryCounts is the receiving side. Missing, Duplicates and Gaps must
// be 0.
type deliveryCounts struct {
	Expected   int64   `json:"expected"`
	Received   int64   `json:"received"`
	Missing    int64   `json:"missing"`
	Duplicates int64   `json:"duplicates"` // at or below a seq already received: repeated or late
	Gaps       int64   `json:"gaps"`       // jumps over one or more seqs
	PerSecond  float64 `json:"perSecond"`
	Complete   bool    `json:"complete"` // every stream reached its group's last seq within -drain
	DrainMs    float64 `json:"drainMs"`
}

// serverSummary is the server's own view, from /metrics: before the streams
// opened, once they were open, at the end of the deliveries and after the
// streams closed. Goroutines are the leak check; Closed's heap still holds
// what the Go runtime keeps until later collections (net/http's per-
// connection buffers sit in sync.Pools until two GCs have passed).
type serverSummary struct {
	Before              snapshot `json:"before"`
	Open                snapshot `json:"open"`
	End                 snapshot `json:"end"`
	Closed              snapshot `json:"closed"`
	RSSPerStream        float64  `json:"rssPerStreamBytes"`
	HeapPerStream       float64  `json:"heapPerStreamBytes"`
	StackPerStream      float64  `json:"stackPerStreamBytes"`
	GoroutinesPerStream float64  `json:"goroutinesPerStream"`
	CPUCores            float64  `json:"cpuCores"` // while sending and draining
	// CPUPerDelivery is the server's CPU time while sending and draining
	// over the deliveries made meanwhile, in microseconds: the POSTs'
	// work is in it too.
	CPUPerDelivery float64 `json:"cpuPerDeliveryUs"`
	// With -server-pid, the same split into user and kernel time (from
	// /proc), per delivery in microseconds and in cores.
	UserPerDelivery   float64 `json:"userPerDeliveryUs,omitempty"`
	KernelPerDelivery float64 `json:"kernelPerDeliveryUs,omitempty"`
	UserCores         float64 `json:"userCores,omitempty"`
	KernelCores       float64 `json:"kernelCores,omitempty"`
}

func newSummary(cfg config, run string) *summary {
	s := &summary{
		Run: run,
		Config: runConfig{URL: cfg.URL, Shape: cfg.Shape, Groups: cfg.groupCount(), Senders: cfg.Senders,
			Rate: cfg.Rate, Duration: cfg.Duration.String(), Size: cfg.Size, NumCPU: runtime.NumCPU()},
		Streams:  cfg.streams(),
		Messages: messageCounts{Target: int(cfg.Rate * cfg.Duration.Seconds())},
	}
	if cfg.Shape == shapeInbox {
		s.Config.Users, s.Config.ConversationsPerUser, s.Config.Members = cfg.Users, cfg.ConversationsPerUser, cfg.Members
	} else {
		s.Config.Subscribers = cfg.Subscribers
	}
	return s
}

// setSent records the sending phase. The achieved rate is over the whole
// phase, so that a schedule that slipped behind shows.
func (s *summary) setSent(r sendResult) {
	s.Messages.Sent, s.Messages.Failed = r.Sent, r.Failed
	s.Messages.RatePerS = float64(r.Sent) / r.Elapsed.Seconds()
	s.PostLatency = summarize(r.Latencies)
}

// setExpected records what every stream should have received: the last
// seq of each of its groups, as the server reports it. The rate counts the
// deliveries made in order within window, read while the streams still
// run; it returns their number.
func (s *summary) setExpected(f *fleet, finals map[string]int64, window time.Duration) int64 {
	s.finals = finals
	s.Deliveries.Expected = 0
	var delivered int64
	for _, st := range f.streams {
		_, want := st.finals(finals)
		s.Deliveries.Expected += want
		delivered += st.progress.Load()
	}
	s.Deliveries.PerSecond = float64(delivered) / window.Seconds()
	return delivered
}

// setCPU records the server's and this process's CPU time over window, in
// which the streams made delivered deliveries.
func (s *summary) setCPU(server, client time.Duration, window time.Duration, delivered int64) {
	s.Server.CPUCores = server.Seconds() / window.Seconds()
	s.ClientCPUCores = client.Seconds() / window.Seconds()
	if delivered > 0 {
		s.Server.CPUPerDelivery = float64(server.Microseconds()) / float64(delivered)
	}
}

// setServerSplit records the server's user and kernel CPU time over the
// window, as setCPU does for the total.
func (s *summary) setServerSplit(user, kernel, window time.Duration, delivered int64) {
	s.Server.UserCores, s.Server.KernelCores = user.Seconds()/window.Seconds(), kernel.Seconds()/window.Seconds()
	if delivered > 0 {
		s.Server.UserPerDelivery = float64(user.Microseconds()) / float64(delivered)
		s.Server.KernelPerDelivery = float64(kernel.Microseconds()) / float64(delivered)
	}
}

// setSetup records the streams' set-up times (the fleet must be stopped)
// and allReady, how long opening them all took.
func (s *summary) setSetup(f *fleet, allReady time.Duration) {
	times := make([]time.Duration, 0, len(f.streams))
	for _, st := range f.streams {
		times = append(times, st.setup)
	}
	s.StreamSetup = setupSummary{latencySummary: summarize(times), AllReadyMs: ms(allReady)}
}

// collectStreams adds up the streams' counts; the fleet must be stopped.
func (s *summary) collectStreams(f *fleet) {
	var lat []time.Duration
	for _, st := range f.streams {
		finals, _ := st.finals(s.finals)
		gaps, dups := st.checks.totals()
		s.Deliveries.Missing += st.checks.missing(finals)
		s.Deliveries.Received += st.received
		s.Deliveries.Duplicates += dups
		s.Deliveries.Gaps += gaps
		s.Reconnects += st.reconnects
		s.Limited += st.limited
		lat = append(lat, st.latencies...)
	}
	s.DeliveryLatency = summarize(lat)
	d := s.Deliveries
	s.DeliveryOK = d.Missing == 0 && d.Duplicates == 0 && d.Gaps == 0
}

// setServer records the snapshots besides End, which measure took, and the
// cost of one open stream.
func (s *summary) setServer(before, open, closed snapshot, streams int) {
	srv := &s.Server
	srv.Before, srv.Open, srv.Closed = before, open, closed
	n := float64(streams)
	srv.RSSPerStream = (open.RSSBytes - before.RSSBytes) / n
	srv.HeapPerStream = (open.HeapInuseBytes - before.HeapInuseBytes) / n
	srv.StackPerStream = (open.StackInuseBytes - before.StackInuseBytes) / n
	srv.GoroutinesPerStream = (open.Goroutines - before.Goroutines) / n
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// printSummary writes s for a person to read.
func printSummary(w io.Writer, s *summary) {
	c := s.Config
	p := func(format string, a ...any) { fmt.Fprintf(w, format+"\n", a...) }
	p("relay-load run %s against %s", s.Run, c.URL)
	if c.Shape == shapeInbox {
		p("  config        %d users x %d conversations (%d groups of <= %d users + %d senders) = %d inbox streams, %.0f msg/s for %s, content >= %d B",
			c.Users, c.ConversationsPerUser, c.Groups, c.Members, c.Senders, s.Streams, c.Rate, c.Duration, c.Size)
	} else {
		p("  config        %d groups x %d subscribers = %d streams, %d senders, %.0f msg/s for %s, content >= %d B",
			c.Groups, c.Subscribers, s.Streams, c.Senders, c.Rate, c.Duration, c.Size)
	}
	p("  stream set-up %s; all ready after %.0f ms", s.StreamSetup.latencySummary, s.StreamSetup.AllReadyMs)
	p("  messages      sent %d of %d, failed %d, achieved %.1f msg/s", s.Messages.Sent, s.Messages.Target, s.Messages.Failed, s.Messages.RatePerS)
	p("  POST latency  %s", s.PostLatency)
	d := s.Deliveries
	p("  deliveries    expected %d, received %d, %.0f/s; complete %v (drain %.0f ms)", d.Expected, d.Received, d.PerSecond, d.Complete, d.DrainMs)
	p("  delivery lat. %s", s.DeliveryLatency)
	p("  ordering      missing %d, duplicates %d, gaps %d, reconnects %d, limited %d", d.Missing, d.Duplicates, d.Gaps, s.Reconnects, s.Limited)
	p("  errors        %d", errorTotal(s.Errors))
	for _, e := range s.Errors {
		p("    %-24s %6d  e.g. %s", e.Kind, e.Count, e.Sample)
	}
	printServer(p, s)
	verdict := "OK"
	if !s.DeliveryOK {
		verdict = "FAILED: deliveries missing, duplicated or out of order"
	}
	p("  result        %s", verdict)
}

func printServer(p func(string, ...any), s *summary) {
	srv := s.Server
	row := func(name string, x snapshot) {
		p("    %-8s rss %7.1f MiB  heap %7.1f MiB  stacks %6.1f MiB  goroutines %6.0f  fds %6.0f  streams %6.0f",
			name, x.RSSBytes/(1<<20), x.HeapInuseBytes/(1<<20), x.StackInuseBytes/(1<<20), x.Goroutines, x.OpenFDs, x.SSEConnections)
	}
	p("  server        (from /metrics)")
	row("before", srv.Before)
	row("open", srv.Open)
	row("end", srv.End)
	row("closed", srv.Closed)
	p("    per open stream: rss %.1f KiB, heap %.1f KiB, stack %.1f KiB, %.2f goroutines",
		srv.RSSPerStream/1024, srv.HeapPerStream/1024, srv.StackPerStream/1024, srv.GoroutinesPerStream)
	p("    cpu while sending+draining: server %.2f cores, this client %.2f cores (client NumCPU %d)",
		srv.CPUCores, s.ClientCPUCores, s.Config.NumCPU)
	p("    server cpu per delivery (POSTs included): %.1f µs", srv.CPUPerDelivery)
	if srv.UserCores+srv.KernelCores > 0 {
		p("    server cpu by /proc: user %.2f cores (%.1f µs per delivery), kernel %.2f cores (%.1f µs per delivery)",
			srv.UserCores, srv.UserPerDelivery, srv.KernelCores, srv.KernelPerDelivery)
	}
	p("    cut-offs (relay_sse_cutoffs_total) during the run: %.0f", srv.End.SSECutoffs-srv.Before.SSECutoffs)
}

func errorTotal(kinds []errorKind) int {
	n := 0
	for _, k := range kinds {
		n += k.Count
	}
	return n
}

// String formats the percentiles in milliseconds.
func (l latencySummary) String() string {
	if l.Count == 0 {
		return "no samples"
	}
	return fmt.Sprintf("p50 %.2f ms  p90 %.2f ms  p99 %.2f ms  max %.2f ms  (n=%d)", l.P50, l.P90, l.P99, l.Max, l.Count)
}
