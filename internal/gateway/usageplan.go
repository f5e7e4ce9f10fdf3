package gateway

import (
	"crypto/subtle"
	"hash/maphash"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/keygate/keygate/internal/config"
)

// usageClients finds a subscriber's client by its token. The index is
// keyed by a hash of the token under a seed chosen per process, and the
// token itself compared in constant time: how long a lookup takes says
// nothing a client can use about the tokens configured.
type usageClients struct {
	seed   maphash.Seed
	byHash map[uint64][]*usageClient
}

// usageClient is one client of a subscriber.
type usageClient struct {
	token      []byte
	name       string
	subscriber *usageSubscriber
}

// usageSubscriber is a subscriber as logs and metrics name it.
type usageSubscriber struct {
	index int // in the configuration's subscribers
	id    string
	label string
}

// maxClientToken is the longest client token OCI allows; a longer value
// is no client's, and is not hashed.
const maxClientToken = 128

// lookup returns the client whose token is tok, or nil.
func (uc usageClients) lookup(tok string) *usageClient {
	if len(tok) > maxClientToken {
		return nil
	}
	var found *usageClient
	for _, c := range uc.byHash[maphash.String(uc.seed, tok)] {
		if subtle.ConstantTimeCompare(c.token, []byte(tok)) == 1 {
			found = c
		}
	}
	return found
}

// compileUsageClients indexes every client of cfg's subscribers.
func compileUsageClients(cfg *config.Gateway) (usageClients, []*usageSubscriber) {
	clients := usageClients{seed: maphash.MakeSeed(), byHash: map[uint64][]*usageClient{}}
	subs := make([]*usageSubscriber, len(cfg.Subscribers))
	for i := range cfg.Subscribers {
		s := &cfg.Subscribers[i]
		id := s.ID
		if id == "" {
			id = s.Label()
		}
		subs[i] = &usageSubscriber{index: i, id: id, label: s.Label()}
		for _, c := range s.Clients {
			h := maphash.String(clients.seed, c.Token)
			clients.byHash[h] = append(clients.byHash[h], &usageClient{token: []byte(c.Token), name: c.Name, subscriber: subs[i]})
		}
	}
	return clients, subs
}

// usagePolicy is a deployment's compiled usagePlans: where the token is,
// who the clients are, and what each subscriber is entitled to here.
type usagePolicy struct {
	locations []config.ContextVariable
	clients   usageClients
	// grants holds, by subscriber index, the entitlement the subscriber
	// uses on this deployment: that of the first of its plans with one;
	// nil when none of its plans has.
	grants []*usageGrant
	limits *Limits
	// locationText describes the token locations for the summary.
	locationText string
}

// usageGrant is a subscriber's entitlement on one deployment.
type usageGrant struct {
	subscriber        *usageSubscriber
	planID, planLabel string
	entitlement       string
	limit             usageLimit
	// permitted counts the requests the entitlement let through; nil
	// without metrics.
	permitted prometheus.Counter
}

// usagePolicy compiles a deployment's usagePlans against the gateway's
// plans and subscribers; nil when no entitlement targets the deployment
// (OCI's eligibleNotEntitled: requests pass, and pay nothing).
func (c *compiler) usagePolicy(d config.Deployment, up *config.UsagePlansPolicy) *usagePolicy {
	if c.cfg == nil {
		return nil
	}
	plans := map[string]*config.UsagePlan{}
	for i := range c.cfg.UsagePlans {
		plans[c.cfg.UsagePlans[i].ID] = &c.cfg.UsagePlans[i]
	}
	// entitlementHere finds the entitlement of p that targets d.
	entitlementHere := func(p *config.UsagePlan) *config.Entitlement {
		for i := range p.Entitlements {
			for _, t := range p.Entitlements[i].Targets {
				if t.DeploymentID == d.PathPrefix || (d.ID != "" && t.DeploymentID == d.ID) {
					return &p.Entitlements[i]
				}
			}
		}
		return nil
	}
	if c.usageClients.byHash == nil {
		c.usageClients, c.usageSubscribers = compileUsageClients(c.cfg)
	}
	u := &usagePolicy{clients: c.usageClients, grants: make([]*usageGrant, len(c.cfg.Subscribers)), limits: c.limits}
	for _, loc := range up.TokenLocations {
		v, _ := config.ParseTokenLocation(loc) // validated
		u.locations = append(u.locations, v)
	}
	u.locationText = strings.Join(up.TokenLocations, ", ")
	for i := range c.cfg.Subscribers {
		for _, id := range c.cfg.Subscribers[i].UsagePlans {
			p := plans[id]
			if p == nil {
				continue
			}
			if e := entitlementHere(p); e != nil {
				u.grants[i] = c.usageGrant(d.PathPrefix, c.usageSubscribers[i], p, e)
				break
			}
		}
	}
	targeted := false
	for _, p := range plans {
		targeted = targeted || entitlementHere(p) != nil
	}
	if !targeted {
		c.g.log.Warn("configuration: deployment "+d.PathPrefix+" has usagePlans, but no entitlement of a usage plan targets it; its requests pass without a client token",
			"code", "usagePlans.eligibleNotEntitled", "deployment", d.PathPrefix)
		return nil
	}
	return u
}

func (c *compiler) usageGrant(dep string, s *usageSubscriber, p *config.UsagePlan, e *config.Entitlement) *usageGrant {
	g := &usageGrant{subscriber: s, planID: p.ID, planLabel: p.Label(), entitlement: e.Name,
		limit: usageLimit{key: p.ID + "|" + e.Name + "|" + s.id}}
	if rl := e.RateLimit; rl != nil {
		g.limit.rate = rl.Value
	}
	if q := e.Quota; q != nil {
		g.limit.quota, g.limit.unit, g.limit.reject = q.Value, q.Unit, q.OperationOnBreach == config.BreachReject
	}
	g.limit.rateKey, g.limit.quotaKey = "usage|"+g.limit.key, g.limit.key+"|"+g.limit.unit
	g.permitted = c.g.metrics.usageCounter(dep, g, "permitted")
	return g
}

// summary says in one line what the deployment's usage plans do.
func (u *usagePolicy) summary() string {
	n := 0
	for _, g := range u.grants {
		if g != nil {
			n++
		}
	}
	return "usage plans: client token from " + u.locationText + "; " + strconv.Itoa(n) + " subscriber(s) entitled; 403 without one"
}
