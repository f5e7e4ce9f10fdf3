package gateway

import (
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/keygate/keygate/internal/config"
)

// OCI execution log codes and keygate's reason of dynamic routing.
const (
	codeRoutingRejected           = "dynamicRouting.backendRejected"
	reasonNoRoutingBackend reason = "no_routing_backend"
)

// dynamicBackend is a compiled DYNAMIC_ROUTING_BACKEND: the selector's
// value picks one of the routing backends by OCI's key rules (an exact
// ANY_OF value, case-insensitive; else the first WILDCARD key in spec order
// that matches, case-sensitive; else the isDefault key), each compiled as a
// backend of its own.
type dynamicBackend struct {
	selector config.ContextVariable
	keys     keyMatcher
	backends []http.Handler
	names    []string
	g        *Gateway
}

// choose returns the index of the backend for r, and whether it is the
// default; -1 when no key matches.
func (d *dynamicBackend) choose(r *http.Request, ex *exchange) (int, bool) {
	return d.keys.pick(evalVariable(r, ex, d.selector))
}

func (d *dynamicBackend) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ex := exchangeFrom(r)
	i, _ := d.choose(r, ex)
	if i < 0 {
		d.g.writeError(w, ex, noRoutingBackend(d.selector))
		return
	}
	d.backends[i].ServeHTTP(w, r)
}

// describe records on dec the backend r would reach, or the refusal.
func (d *dynamicBackend) describe(dec *Decision, r *http.Request) {
	ex := exchangeFrom(r)
	i, isDefault := d.choose(r, ex)
	if i < 0 {
		e := noRoutingBackend(d.selector)
		dec.Accepted = false
		dec.Status, dec.Code, dec.Reason, dec.Detail = e.status, e.code, string(e.reason), e.detail
		return
	}
	dec.RoutingKey = d.names[i]
	if isDefault {
		dec.RoutingKey += " (default)"
	}
	describeBackend(dec, d.backends[i], r)
}

// noRoutingBackend is the 404 of a selector value no key matches, with no
// default (oci-policies.md §9 OPEN).
func noRoutingBackend(selector config.ContextVariable) *httpError {
	return &httpError{status: http.StatusNotFound, code: codeRoutingRejected, reason: reasonNoRoutingBackend,
		detail: "no routing backend's key matches the value of " + selector.String() + ", and none is the default", level: slog.LevelInfo}
}

// dynamicBackend compiles a DYNAMIC_ROUTING_BACKEND and its routing
// backends once.
func (c *compiler) dynamicBackend(b *config.Backend, routePath string, dep *deployment, src config.Source, at string, rm *routeMetrics) *dynamicBackend {
	if b.SelectionSource == nil {
		return nil // an invalid spec in CheckSpec: validation named it
	}
	v, ok := config.ParseBareVariable(b.SelectionSource.Selector)
	if !ok {
		return nil
	}
	d := &dynamicBackend{selector: v, keys: newKeyMatcher(), g: c.g}
	if v.Table == config.VarPath {
		if _, declared := declaredParams(routePath)[v.Key]; !declared {
			c.problem(src, at+".selectionSource.selector", v.String()+": the route path declares no parameter {"+v.Key+"}")
		}
	}
	if v.Table == config.VarAuth && dep.auth == nil {
		c.problem(src, at+".selectionSource.selector", v.String()+": the deployment has no authentication policy")
	}
	for i := range b.RoutingBackends {
		rb := &b.RoutingBackends[i]
		bp := at + ".routingBackends[" + strconv.Itoa(i) + "].backend"
		var h http.Handler
		switch rb.Backend.Type {
		case config.BackendHTTP:
			h = c.httpBackend(&rb.Backend, routePath, dep, src, bp, rm)
		case config.BackendFunction:
			h = c.functionBackend(&rb.Backend, dep, rm)
		case config.BackendStockResponse:
			if rb.Backend.Status != nil {
				headers := http.Header{}
				for _, hf := range rb.Backend.Headers {
					headers.Add(hf.Name, hf.Value)
				}
				h = newStockBackend(*rb.Backend.Status, rb.Backend.Body, headers)
			}
		}
		d.backends = append(d.backends, h)
		d.names = append(d.names, rb.Key.Name)
		d.keys.add(&rb.Key, i)
	}
	return d
}

// dynamicSummary says in one line what a dynamic routing backend does.
func dynamicSummary(b *config.Backend) string {
	if b.SelectionSource == nil {
		return b.Type
	}
	parts := make([]string, 0, len(b.RoutingBackends))
	for _, rb := range b.RoutingBackends {
		key := rb.Key.Name + "="
		switch rb.Key.Type {
		case config.SelectionWildcard:
			key += rb.Key.Expression
		default:
			key += strings.Join(rb.Key.Values, "|")
		}
		if rb.Key.IsDefault {
			key += " (default)"
		}
		target := rb.Backend.Type
		switch rb.Backend.Type {
		case config.BackendHTTP:
			target = rb.Backend.URL
		case config.BackendFunction:
			target = "function " + rb.Backend.FunctionID
		case config.BackendStockResponse:
			if rb.Backend.Status != nil {
				target = "stock " + strconv.Itoa(*rb.Backend.Status)
			}
		}
		parts = append(parts, key+" -> "+target)
	}
	return b.Type + " by " + b.SelectionSource.Selector + ": " + strings.Join(parts, "; ")
}
