package httpapi

import (
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/relaymsg/relay/domain"
)

// Defaults of Limits' zero fields.
const (
	DefaultMaxStreamsPerUser = 50
	DefaultMaxStreams        = 10000
)

// Default rates of Limits' zero fields.
var (
	DefaultSSEConnectRate         = Rate{PerSecond: 20, Burst: 100}
	DefaultPublishRate            = Rate{PerSecond: 20, Burst: 40}
	DefaultDMCreateRate           = Rate{PerSecond: 5, Burst: 20}
	DefaultGroupCreateRate        = Rate{PerSecond: 1, Burst: 10}
	DefaultMemberAddRate          = Rate{PerSecond: 5, Burst: 50}
	DefaultReadRate               = Rate{PerSecond: 20, Burst: 40}
	DefaultServicePublishRate     = Rate{PerSecond: 1000, Burst: 2000}
	DefaultServiceDMCreateRate    = Rate{PerSecond: 100, Burst: 200}
	DefaultServiceGroupCreateRate = Rate{PerSecond: 100, Burst: 200}
	DefaultServiceMemberAddRate   = Rate{PerSecond: 500, Burst: 1000}
)

// Limits bound what one caller may take of this instance. They are per
// instance and in memory: behind a load balancer each instance grants them
// again. Zero fields take their defaults; a negative stream count or an
// Unlimited rate turns that limit off.
type Limits struct {
	// MaxStreamsPerUser bounds a user's open SSE streams; service tokens
	// are exempt (DefaultMaxStreamsPerUser).
	MaxStreamsPerUser int
	// MaxStreams bounds all open SSE streams, service tokens' included
	// (DefaultMaxStreams).
	MaxStreams int
	// SSEConnect is the rate of GET /api/sse per client IP address: the
	// host of the connection's remote address, a proxy's when there is one.
	SSEConnect Rate
	// Publish, DMCreate, GroupCreate and MemberAdd are each user's rates
	// of POST /api/messages, POST /api/dms, POST /api/groups and
	// POST /api/groups/{id}/members; the Service ones are each service
	// token subject's. Creating conversations with other people, and
	// adding them, is limited because it grows their conversation lists.
	Publish, DMCreate, GroupCreate, MemberAdd                             Rate
	ServicePublish, ServiceDMCreate, ServiceGroupCreate, ServiceMemberAdd Rate
	// Read is the rate of POST /api/conversations/{id}/read of each user,
	// and of each service token subject in a bucket of its own: a read
	// position is a member's, which a service token is only where it is a
	// member, so it has no rate of its own. Marking reads writes to the
	// store, and a client that marks on every message shown would
	// otherwise write as fast as it scrolls.
	Read Rate
}

func (l Limits) withDefaults() Limits {
	if l.MaxStreamsPerUser == 0 {
		l.MaxStreamsPerUser = DefaultMaxStreamsPerUser
	}
	if l.MaxStreams == 0 {
		l.MaxStreams = DefaultMaxStreams
	}
	l.SSEConnect = l.SSEConnect.orDefault(DefaultSSEConnectRate)
	l.Publish = l.Publish.orDefault(DefaultPublishRate)
	l.DMCreate = l.DMCreate.orDefault(DefaultDMCreateRate)
	l.GroupCreate = l.GroupCreate.orDefault(DefaultGroupCreateRate)
	l.MemberAdd = l.MemberAdd.orDefault(DefaultMemberAddRate)
	l.Read = l.Read.orDefault(DefaultReadRate)
	l.ServicePublish = l.ServicePublish.orDefault(DefaultServicePublishRate)
	l.ServiceDMCreate = l.ServiceDMCreate.orDefault(DefaultServiceDMCreateRate)
	l.ServiceGroupCreate = l.ServiceGroupCreate.orDefault(DefaultServiceGroupCreateRate)
	l.ServiceMemberAdd = l.ServiceMemberAdd.orDefault(DefaultServiceMemberAddRate)
	return l
}

// The limit label values of relay_limited_total.
const (
	limitStreamsPerUser  = "streams_per_user"
	limitStreams         = "streams"
	limitSSEConnectRate  = "sse_connect_rate"
	limitPublishRate     = "publish_rate"
	limitDMCreateRate    = "dm_create_rate"
	limitGroupCreateRate = "group_create_rate"
	limitMemberAddRate   = "member_add_rate"
	limitReadRate        = "read_rate"
)

var limitNames = []string{limitStreamsPerUser, limitStreams, limitSSEConnectRate,
	limitPublishRate, limitDMCreateRate, limitGroupCreateRate, limitMemberAddRate, limitReadRate}

// Error codes of a refusal by a limit.
const (
	codeRateLimited    = "rate_limited"
	codeTooManyStreams = "too_many_streams"
)

// userRate is a rate limit on one REST operation, users and service
// tokens in separate buckets, so that a service token never spends the
// budget of the user with the same sub (nor the reverse).
type userRate struct {
	name             string // the limit label
	users, services  *keyedLimiter
	operationMessage string
}

func newUserRate(name string, users, services Rate, message string) *userRate {
	return &userRate{name: name, users: newKeyedLimiter(users), services: newKeyedLimiter(services), operationMessage: message}
}

// admission holds the instance's limiters and stream slots.
type admission struct {
	now        func() time.Time
	slots      *streamSlots
	sseConnect *keyedLimiter
	publish    *userRate
	dms        *userRate
	groups     *userRate
	members    *userRate
	read       *userRate
}

func newAdmission(l Limits, now func() time.Time) *admission {
	return &admission{
		now:        now,
		slots:      newStreamSlots(l.MaxStreamsPerUser, l.MaxStreams),
		sseConnect: newKeyedLimiter(l.SSEConnect),
		publish:    newUserRate(limitPublishRate, l.Publish, l.ServicePublish, "too many messages; slow down"),
		dms:        newUserRate(limitDMCreateRate, l.DMCreate, l.ServiceDMCreate, "too many direct messages opened; slow down"),
		groups:     newUserRate(limitGroupCreateRate, l.GroupCreate, l.ServiceGroupCreate, "too many groups created; slow down"),
		members:    newUserRate(limitMemberAddRate, l.MemberAdd, l.ServiceMemberAdd, "too many members added; slow down"),
		read:       newUserRate(limitReadRate, l.Read, l.Read, "too many read positions marked; slow down"),
	}
}

// rateLimited refuses f's request with 429 rate_limited when the caller's
// bucket of lim is empty, before f reads the body or touches the store.
func (h *Handler) rateLimited(lim *userRate, f apiFunc) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		p := principalOf(r)
		bucket := lim.users
		if p.Admin {
			bucket = lim.services
		}
		if ok, wait := bucket.take(string(p.UserID), h.admission.now()); !ok {
			h.metrics.limited.WithLabelValues(lim.name).Inc()
			return &apiError{status: http.StatusTooManyRequests, code: codeRateLimited,
				message: lim.operationMessage, retryAfter: wait}
		}
		return f(w, r)
	}
}

// admitStream applies the stream limits to r: the connection rate of its
// IP address, then a stream slot. On success the slot is the caller's
// until release, which must be called exactly once (it is safe to call
// more). On refusal it returns the answer, whose retryAfter is the backoff
// the client is told.
func (h *Handler) admitStream(r *http.Request, p domain.Principal) (release func(), refusal *apiError) {
	a := h.admission
	if ok, wait := a.sseConnect.take(clientIP(r), a.now()); !ok {
		h.metrics.limited.WithLabelValues(limitSSEConnectRate).Inc()
		return nil, &apiError{status: http.StatusTooManyRequests, code: codeRateLimited,
			message: "too many stream connections from this address; retry later", retryAfter: h.backoff(wait)}
	}
	release, limit := a.slots.acquire(p)
	if limit != "" {
		h.metrics.limited.WithLabelValues(limit).Inc()
		message := "too many open streams for this user; close one or retry later"
		if limit == limitStreams {
			message = "this instance holds as many streams as it may; retry later"
		}
		return nil, &apiError{status: http.StatusTooManyRequests, code: codeTooManyStreams,
			message: message, retryAfter: h.backoff(0)}
	}
	return release, nil
}

// backoff is the reconnection delay of a refused stream: at least the
// configured retry and wait, plus up to half again at random, so that a
// storm of refused clients (a user's many tabs, a fleet after a restart)
// does not come back in lockstep.
func (h *Handler) backoff(wait time.Duration) time.Duration {
	base := max(h.cfg.RetryInterval, wait)
	return base + rand.N(base/2+1)
}

// clientIP is the host of r's remote address. Forwarding headers are not
// trusted: any client can set them. Behind a proxy it is the proxy's.
func clientIP(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// retryAfterSeconds renders d as a Retry-After value: whole seconds,
// rounded up, at least 1.
func retryAfterSeconds(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}

// streamSlots counts open streams, per user and in all. It is touched
// once per stream start and end, so one mutex is enough.
type streamSlots struct {
	perUserMax, max int // < 0: no limit

	mu      sync.Mutex
	perUser map[domain.UserID]int
	total   int
}

func newStreamSlots(perUserMax, total int) *streamSlots {
	return &streamSlots{perUserMax: perUserMax, max: total, perUser: make(map[domain.UserID]int)}
}

// acquire takes a slot for p, or names the limit that refuses it. Service
// tokens are exempt from the per-user limit but take a slot of the total.
func (s *streamSlots) acquire(p domain.Principal) (release func(), limit string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.max >= 0 && s.total >= s.max {
		return nil, limitStreams
	}
	perUser := !p.Admin && s.perUserMax >= 0
	if perUser && s.perUser[p.UserID] >= s.perUserMax {
		return nil, limitStreamsPerUser
	}
	s.total++
	if perUser {
		s.perUser[p.UserID]++
	}
	var once sync.Once
	return func() { once.Do(func() { s.release(p.UserID, perUser) }) }, ""
}

func (s *streamSlots) release(user domain.UserID, perUser bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.total--
	if perUser {
		if s.perUser[user]--; s.perUser[user] <= 0 {
			delete(s.perUser, user)
		}
	}
}

// open returns the streams open in all and user's (user tokens only).
func (s *streamSlots) open(user domain.UserID) (total, users int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total, s.perUser[user]
}
