package main

import (
	"context"
	"fmt"
	"time"

	"github.com/relaymsg/relay/adapters/backoff"
)

// Pauses around the measurements of the server's memory.
const (
	settle       = 2 * time.Second // after the streams opened, before reading memory
	closeTimeout = 10 * time.Second
)

// progressInterval is how often the sending phase prints its counts.
const progressInterval = 5 * time.Second

// load is one run: setup, streams, sending, draining, report.
type load struct {
	cfg      config
	progress *progress
	clock    clock
	errs     *errorLog
	api      *api
	topo     topology
	tokens   []string // of the posting users, in topo.senders order
}

func newLoad(cfg config, p *progress) *load {
	run := newRunID()
	// Tokens outlive the longest the run can take, so no stream gets
	// token_expired.
	ttl := cfg.OpenTimeout + cfg.Duration + cfg.Drain + time.Hour
	return &load{
		cfg:      cfg,
		progress: p,
		clock:    newClock(),
		errs:     newErrorLog(),
		api:      newAPI(cfg.URL, cfg.Secret, ttl, cfg.Senders+cfg.SetupWorkers+1),
		topo:     newConfigTopology(run, cfg),
	}
}

// newConfigTopology returns the topology of cfg's shape.
func newConfigTopology(run string, cfg config) topology {
	if cfg.Shape == shapeInbox {
		return newInboxTopology(run, cfg.Users, cfg.ConversationsPerUser, cfg.Members, cfg.Senders, inboxSeed)
	}
	return newTopology(run, cfg.Groups, cfg.Subscribers, cfg.Senders)
}

// run carries out the whole run and returns its summary. An error means
// the run could not be carried out (the server is unreachable, refused the
// setup, or a stream could not open).
func (l *load) run(ctx context.Context) (*summary, error) {
	defer l.api.close()
	sum := newSummary(l.cfg, l.topo.run)
	if err := l.setup(ctx); err != nil {
		return nil, err
	}
	before, err := l.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	f, allReady, err := l.openStreams(ctx)
	if err != nil {
		return nil, err
	}
	defer f.stop() // on the error paths; stopping twice is harmless
	open, err := l.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	if err := l.measure(ctx, f, sum); err != nil {
		return nil, err
	}
	f.stop()
	sum.collectStreams(f)
	sum.setSetup(f, allReady)
	// The senders' idle keep-alive connections would count as server
	// goroutines in the leak check.
	l.api.close()
	sum.setServer(before, open, l.closedSnapshot(ctx, before), len(f.streams))
	sum.Errors = l.errs.kinds()
	return sum, nil
}

// setup checks that the server answers, creates the groups and signs the
// posting users' tokens.
func (l *load) setup(ctx context.Context) error {
	if _, err := l.snapshot(ctx); err != nil {
		return fmt.Errorf("read %s/metrics: %w", l.cfg.URL, err)
	}
	if l.cfg.Shape == shapeInbox {
		l.progress.printf("run %s: creating %d groups (up to %d users and %d senders each; each user in %d)",
			l.topo.run, len(l.topo.groups), l.cfg.Members, l.cfg.Senders, l.cfg.ConversationsPerUser)
	} else {
		l.progress.printf("run %s: creating %d groups (%d members each)", l.topo.run, l.cfg.Groups, l.cfg.Subscribers+l.cfg.Senders)
	}
	if err := createGroups(ctx, l.api, &l.topo, l.cfg.SetupWorkers); err != nil {
		return err
	}
	for _, user := range l.topo.senders {
		tok, err := l.api.serviceToken(user)
		if err != nil {
			return err
		}
		l.tokens = append(l.tokens, tok)
	}
	return nil
}

// openStreams opens every stream and waits until all are ready and the
// server has settled, so that its memory can be read. allReady is how long
// they took to be ready, from the start of the first.
func (l *load) openStreams(ctx context.Context) (f *fleet, allReady time.Duration, err error) {
	l.progress.printf("opening %d streams", l.cfg.streams())
	env := &streamEnv{base: l.cfg.URL, hc: newStreamClient(), clock: l.clock, errs: l.errs}
	start := time.Now()
	f, err = startFleet(ctx, l.api, l.topo, env, l.cfg.OpenConcurrency)
	if err != nil {
		return nil, 0, err
	}
	err = f.waitReady(ctx, l.cfg.OpenTimeout, l.progress)
	if err == nil {
		allReady = time.Since(start)
		l.progress.printf("all %d streams ready in %.1f s", len(f.streams), allReady.Seconds())
		if !backoff.Sleep(ctx, settle) {
			err = ctx.Err()
		}
	}
	if err != nil {
		f.stop()
		return nil, 0, err
	}
	return f, allReady, nil
}

// measure sends (or holds the streams idle), waits for the deliveries and
// fills in the sending, delivery and CPU parts of sum.
func (l *load) measure(ctx context.Context, f *fleet, sum *summary) error {
	start, cpu0 := time.Now(), processCPU()
	var proc0 procCPU
	if l.cfg.ServerPID > 0 {
		var err error
		if proc0, err = readProcCPU(l.cfg.ServerPID); err != nil {
			return err
		}
	}
	startSnap, err := l.snapshot(ctx)
	if err != nil {
		return err
	}
	if l.cfg.Rate > 0 {
		l.progress.printf("sending %.0f messages/s for %s", l.cfg.Rate, l.cfg.Duration)
		s := l.newSender()
		stop := l.progress.every(progressInterval, progressLine(s, f))
		sum.setSent(s.send(ctx, l.cfg.Rate, l.cfg.Duration))
		stop()
	} else {
		l.progress.printf("holding %d idle streams for %s", len(f.streams), l.cfg.Duration)
		if !backoff.Sleep(ctx, l.cfg.Duration) {
			return ctx.Err()
		}
	}
	finals, err := l.api.lastSeqs(ctx, l.tokens[0])
	if err != nil {
		return fmt.Errorf("read the groups' last seqs: %w", err)
	}
	drainStart := time.Now()
	sum.Deliveries.Complete = f.waitDelivered(ctx, finals, l.cfg.Drain)
	sum.Deliveries.DrainMs = ms(time.Since(drainStart))
	window := time.Since(start)
	end, err := l.snapshot(ctx)
	if err != nil {
		return err
	}
	sum.Server.End = end
	delivered := sum.setExpected(f, finals, window)
	serverCPU := time.Duration((end.CPUSeconds - startSnap.CPUSeconds) * float64(time.Second))
	sum.setCPU(serverCPU, processCPU()-cpu0, window, delivered)
	if l.cfg.ServerPID > 0 {
		proc1, err := readProcCPU(l.cfg.ServerPID)
		if err != nil {
			return err
		}
		sum.setServerSplit(proc1.user-proc0.user, proc1.kernel-proc0.kernel, window, delivered)
	}
	l.progress.printf("done: deliveries complete=%v after %.0f ms of draining", sum.Deliveries.Complete, sum.Deliveries.DrainMs)
	return nil
}

func (l *load) newSender() *sender {
	s := &sender{api: l.api, clock: l.clock, run: l.topo.run, size: l.cfg.Size, errs: l.errs}
	for _, g := range l.topo.groups {
		s.groups = append(s.groups, g.id)
	}
	s.tokens = l.tokens
	return s
}

// progressLine returns the sending phase's progress line: the counts and
// rates since the previous line.
func progressLine(s *sender, f *fleet) func() string {
	var lastSent, lastDelivered int64
	last := time.Now()
	return func() string {
		sent, delivered, now := s.posted.Load(), f.progressed(), time.Now()
		secs := now.Sub(last).Seconds()
		line := fmt.Sprintf("sent %d (%.0f/s), delivered %d (%.0f/s)", sent, float64(sent-lastSent)/secs,
			delivered, float64(delivered-lastDelivered)/secs)
		lastSent, lastDelivered, last = sent, delivered, now
		return line
	}
}

// snapshot reads the server's metrics.
func (l *load) snapshot(ctx context.Context) (snapshot, error) {
	m, err := l.api.metrics(ctx)
	if err != nil {
		return snapshot{}, err
	}
	return snapshotOf(m), nil
}

// closedSnapshot waits until the server counts no open stream and no more
// goroutines than before (or closeTimeout passed), then reads its metrics:
// goroutines left over after the timeout mean a leak. A failure reads as
// zeros.
func (l *load) closedSnapshot(ctx context.Context, before snapshot) snapshot {
	deadline := time.Now().Add(closeTimeout)
	for {
		s, err := l.snapshot(ctx)
		if err != nil {
			l.errs.add("metrics", err)
			return snapshot{}
		}
		settled := s.SSEConnections == 0 && s.Goroutines <= before.Goroutines
		if settled || time.Now().After(deadline) || !backoff.Sleep(ctx, 100*time.Millisecond) {
			return s
		}
	}
}
