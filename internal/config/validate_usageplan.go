package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// OCI's limits on usage plans and subscribers (oci-policies.md §11), kept
// so that a config keygate serves would also deploy on OCI.
const (
	maxUsagePlans       = 20
	maxSubscribers      = 1000
	maxEntitlements     = 200
	maxTargets          = 200
	maxClients          = 5
	maxSubscriberPlans  = 10
	maxClientTokenChars = 128
)

// tokenLocationTables are where a client token may be (oci-policies.md §11).
var tokenLocationTables = []VarTable{VarHeaders, VarQuery, VarAuth, VarPath, VarHost}

// usagePlansPolicy validates a deployment's usagePlans.
func (c *checker) usagePlansPolicy(p string, up *UsagePlansPolicy, routes []Route, hasAuth bool) {
	lp := at(p, "tokenLocations")
	if len(up.TokenLocations) == 0 {
		c.addf(lp, "missing; give where requests carry the client token, e.g. [\"request.headers[client-id]\"]")
	}
	for i, loc := range up.TokenLocations {
		v, err := ParseTokenLocation(loc)
		switch {
		case err != "":
			c.addf(idx(lp, i), "%s", err)
		case !slices.Contains(tokenLocationTables, v.Table):
			c.addf(idx(lp, i), "%q is not a place for a client token; use %s", loc, tableList(tokenLocationTables))
		case v.Table == VarAuth && !hasAuth:
			c.addf(idx(lp, i), "%q: the deployment has no authentication policy, so there are no claims", loc)
		case v.Table == VarPath && !anyRouteDeclares(routes, v.Key):
			c.addf(idx(lp, i), "%q: no route path declares {%s}; add it to the routes whose path carries the token", loc, v.Key)
		}
	}
	c.claimLocationFirst(lp, up.TokenLocations)
}

// claimLocationFirst warns when a location the client writes (a header, a
// query parameter, the path or host) comes before a verified claim
// (request.auth[...]): the first location holding a value is the token, so
// a client sending it names whichever subscriber it likes, its verified
// claim never read. Client tokens that are public client ids make that
// anyone's choice.
func (c *checker) claimLocationFirst(lp string, locations []string) {
	claim := -1
	for i, loc := range locations {
		if v, err := ParseTokenLocation(loc); err == "" && v.Table == VarAuth {
			claim = i
			break
		}
	}
	for i := 0; i < claim; i++ {
		c.warnf(idx(lp, i), "%q comes before the verified claim %q: a client that sends it picks the subscriber, and the claim is never read; list %q first", locations[i], locations[claim], locations[claim])
	}
}

// ParseTokenLocation parses a tokenLocations entry: a context variable
// written bare, as OCI does ("request.headers[client-id]"), or in ${}. The
// message is "" when loc is one.
func ParseTokenLocation(loc string) (ContextVariable, string) {
	bare := loc
	if inner, ok := strings.CutPrefix(loc, "${"); ok {
		if bare, ok = strings.CutSuffix(inner, "}"); !ok {
			return ContextVariable{}, "unterminated context variable " + quote(loc) + "; write it as request.headers[client-id]"
		}
	}
	if !strings.HasPrefix(bare, "request.") {
		return ContextVariable{}, quote(loc) + " is not a context variable; write e.g. request.headers[client-id] or request.query[client-id]"
	}
	v, err := parseVariable(bare)
	if err != nil {
		return ContextVariable{}, err.Error()
	}
	return v, ""
}

func quote(s string) string { return `"` + s + `"` }

func anyRouteDeclares(routes []Route, param string) bool {
	for _, r := range routes {
		if _, ok := RouteParams(r.Path)[param]; ok {
			return true
		}
	}
	return false
}

// usagePlansAndSubscribers validates the gateway's usage plans and
// subscribers against its deployments, and reads client tokens from their
// files (relative to dir) and environment variables.
func (c *checker) usagePlansAndSubscribers(g *Gateway, dir string) {
	deployments := c.deploymentIDs(g)
	if len(g.UsagePlans) > maxUsagePlans {
		c.addf("usagePlans", "%d usage plans; OCI allows at most %d per tenancy; merge plans", len(g.UsagePlans), maxUsagePlans)
	}
	plans := map[string]int{}
	for i := range g.UsagePlans {
		p := idx("usagePlans", i)
		up := &g.UsagePlans[i]
		if c.unloaded[p] {
			continue
		}
		c.uniqueName(at(p, "id"), up.ID, i, plans,
			"missing; give the plan an id (its OCID, or a name) for subscribers' usagePlans to name",
			"%q is already the id of usagePlans[%d]; give each plan its own id")
		c.lifecycle(p, up.LifecycleState)
		c.usagePlan(p, up, g, deployments)
	}
	if len(g.Subscribers) > maxSubscribers {
		c.addf("subscribers", "%d subscribers; OCI allows at most %d per tenancy", len(g.Subscribers), maxSubscribers)
	}
	labels := map[string]int{}
	tokens := map[string]string{} // token → path of its client
	for i := range g.Subscribers {
		p := idx("subscribers", i)
		s := &g.Subscribers[i]
		if c.unloaded[p] {
			continue
		}
		c.lifecycle(p, s.LifecycleState)
		switch j, dup := labels[s.Label()]; {
		case s.Label() == "":
			c.addf(p, "no displayName and no id; give a displayName, which names the subscriber in logs and metrics")
		case dup:
			c.addf(at(p, "displayName"), "%q already names subscribers[%d]; logs and metrics tell subscribers apart by it, so give each its own", s.Label(), j)
		default:
			labels[s.Label()] = i
		}
		c.subscriber(p, s, plans, tokens, dir)
	}
}

// deploymentIDs checks the deployments' ids and maps every name a target
// may use (id, path prefix) to its deployment.
func (c *checker) deploymentIDs(g *Gateway) map[string]*Deployment {
	names := map[string]*Deployment{}
	for i := range g.Deployments {
		d := &g.Deployments[i]
		if d.PathPrefix != "" {
			names[d.PathPrefix] = d
		}
	}
	ids := map[string]int{}
	for i := range g.Deployments {
		d := &g.Deployments[i]
		p := at(idx("deployments", i), "id")
		switch j, dup := ids[d.ID]; {
		case d.ID == "":
		case strings.HasPrefix(d.ID, "/"):
			c.addf(p, "%q starts with '/', as path prefixes do; give the deployment's OCID or a name", d.ID)
		case dup:
			c.addf(p, "%q is already the id of deployments[%d]; give each deployment its own", d.ID, j)
		default:
			ids[d.ID] = i
			names[d.ID] = d
		}
	}
	return names
}

func (c *checker) lifecycle(p, state string) {
	if state != "" && !strings.EqualFold(state, "ACTIVE") {
		c.addf(at(p, "lifecycleState"), "%q; keygate serves active resources only: remove the entry, or the field", state)
	}
}

// usagePlan validates one plan's entitlements.
func (c *checker) usagePlan(p string, up *UsagePlan, g *Gateway, deployments map[string]*Deployment) {
	ep := at(p, "entitlements")
	if len(up.Entitlements) > maxEntitlements {
		c.addf(ep, "%d entitlements; OCI allows at most %d per plan", len(up.Entitlements), maxEntitlements)
	}
	names := map[string]int{}
	targeted := map[*Deployment]string{} // deployment → path of its target
	for i := range up.Entitlements {
		p := idx(ep, i)
		e := &up.Entitlements[i]
		c.uniqueName(at(p, "name"), e.Name, i, names,
			"missing; give the entitlement a name, unique in its plan",
			"%q is already the name of entitlements[%d]; names are unique in a plan")
		if rl := e.RateLimit; rl != nil {
			if rl.Value < 1 {
				c.addf(at(p, "rateLimit.value"), "%d; give the requests per second allowed, at least 1", rl.Value)
			}
			c.enum(at(p, "rateLimit.unit"), &rl.Unit, RateUnitSecond)
		}
		if q := e.Quota; q != nil {
			qp := at(p, "quota")
			if q.Value < 1 {
				c.addf(at(qp, "value"), "%d; give the requests allowed per period, at least 1", q.Value)
			}
			c.enum(at(qp, "unit"), &q.Unit, QuotaMinute, QuotaHour, QuotaDay, QuotaWeek, QuotaMonth)
			c.enum(at(qp, "resetPolicy"), &q.ResetPolicy, ResetCalendar)
			c.enum(at(qp, "operationOnBreach"), &q.OperationOnBreach, BreachReject, BreachAllow)
		}
		tp := at(p, "targets")
		if len(e.Targets) > maxTargets {
			c.addf(tp, "%d targets; OCI allows at most %d per entitlement", len(e.Targets), maxTargets)
		}
		for k, t := range e.Targets {
			p := at(idx(tp, k), "deploymentId")
			d, ok := deployments[t.DeploymentID]
			switch {
			case t.DeploymentID == "":
				c.addf(p, "missing; give a deployment's id or pathPrefix")
			case !ok:
				c.addf(p, "%q is no deployment's id or pathPrefix; known: %s", t.DeploymentID, knownDeployments(g))
			case d.Specification != nil && (d.Specification.RequestPolicies == nil || d.Specification.RequestPolicies.UsagePlans == nil):
				c.addf(p, "deployment %q has no requestPolicies.usagePlans; add tokenLocations to its spec, so requests can name their subscriber", d.PathPrefix)
			default:
				if other, dup := targeted[d]; dup {
					c.addf(p, "deployment %q is already targeted at %s; OCI allows one entitlement per deployment in a plan", d.PathPrefix, other)
					continue
				}
				targeted[d] = p
			}
		}
	}
}

// enum checks that *v is one of values (case-insensitively) and stores it
// upper case.
func (c *checker) enum(p string, v *string, values ...string) {
	up := strings.ToUpper(*v)
	switch {
	case *v == "":
		c.addf(p, "missing; use %s", strings.Join(values, " or "))
	case !slices.Contains(values, up):
		c.addf(p, "%q is not %s", *v, strings.Join(values, " or "))
	default:
		*v = up
	}
}

func knownDeployments(g *Gateway) string {
	var names []string
	for _, d := range g.Deployments {
		if d.ID != "" {
			names = append(names, d.ID)
		}
		names = append(names, d.PathPrefix)
	}
	return strings.Join(names, ", ")
}

// subscriber validates one subscriber; tokens collects every client's
// token with its path, to find one given twice.
func (c *checker) subscriber(p string, s *Subscriber, plans map[string]int, tokens map[string]string, dir string) {
	cp := at(p, "clients")
	if len(s.Clients) > maxClients {
		c.addf(cp, "%d clients; OCI allows at most %d per subscriber", len(s.Clients), maxClients)
	}
	names := map[string]int{}
	for i := range s.Clients {
		p := idx(cp, i)
		cl := &s.Clients[i]
		c.uniqueName(at(p, "name"), cl.Name, i, names,
			"missing; give the client a name, unique in its subscriber",
			"%q is already the name of clients[%d]; names are unique in a subscriber")
		if !c.clientToken(p, cl, dir) {
			continue
		}
		if other, dup := tokens[cl.Token]; dup {
			c.addf(at(p, "token"), "the same token as %s; every client needs its own token, or requests could not tell the subscribers apart", other)
			continue
		}
		tokens[cl.Token] = p
	}
	pp := at(p, "usagePlans")
	if len(s.UsagePlans) > maxSubscriberPlans {
		c.addf(pp, "%d usage plans; OCI allows at most %d per subscriber", len(s.UsagePlans), maxSubscriberPlans)
	}
	for i, id := range s.UsagePlans {
		if _, ok := plans[id]; !ok {
			c.addf(idx(pp, i), "%q is the id of no entry of usagePlans; add the plan or fix the id", id)
		}
		if j := slices.Index(s.UsagePlans, id); j < i {
			c.addf(idx(pp, i), "%q is already usagePlans[%d]; list each plan once", id, j)
		}
	}
}

// clientToken reads a client's token from its source into cl.Token and
// checks it; it never puts the token in a message.
func (c *checker) clientToken(p string, cl *Client, dir string) bool {
	set := 0
	for _, s := range []string{cl.Token, cl.TokenFile, cl.TokenEnv} {
		if s != "" {
			set++
		}
	}
	if set != 1 {
		c.addf(p, "give exactly one of token, tokenFile and tokenEnv (%d given)", set)
		return false
	}
	from := at(p, "token")
	switch {
	case cl.TokenFile != "":
		from = at(p, "tokenFile")
		given := cl.TokenFile
		if !filepath.IsAbs(cl.TokenFile) {
			cl.TokenFile = filepath.Join(dir, cl.TokenFile) // for the reload's watch list
		}
		data, err := readFile(cl.TokenFile)
		if err != nil {
			c.addf(from, "%s", readMessage(given, err))
			return false
		}
		cl.Token = strings.TrimRight(string(data), "\r\n")
	case cl.TokenEnv != "":
		from = at(p, "tokenEnv")
		v, ok := os.LookupEnv(cl.TokenEnv)
		if !ok {
			c.addf(from, "environment variable %s is not set; set it to the client's token", cl.TokenEnv)
			return false
		}
		cl.Token = v
	}
	switch {
	case cl.Token == "":
		c.addf(from, "the token is empty; give the client's token")
		return false
	case len(cl.Token) > maxClientTokenChars:
		c.addf(from, "the token has %d characters; OCI allows at most %d", len(cl.Token), maxClientTokenChars)
		return false
	case strings.IndexFunc(cl.Token, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0:
		c.addf(from, "the token holds a space or a control character; a header could not carry it")
		return false
	}
	return true
}
