package config

import "strings"

// Defaults keygate applies, from OCI's documentation where it has one.
const (
	defaultConnectTimeout = 60
	defaultReadTimeout    = 10
	defaultSendTimeout    = 10
	defaultCacheHours     = 1
)

// applyGatewayDefaults fills the gateway's defaults; its specs already have
// theirs (they are applied as each spec passes validation).
func applyGatewayDefaults(g *Gateway) {
	if g.Listen == "" {
		g.Listen = DefaultListen
	}
	for i := range g.Functions {
		if g.Functions[i].TimeoutMillis == 0 {
			g.Functions[i].TimeoutMillis = DefaultFunctionTimeoutMillis
		}
	}
	if rc := g.ResponseCache; rc != nil {
		rc.Type = strings.ToUpper(rc.Type)
		if rc.MaxEntryBytes == 0 {
			rc.MaxEntryBytes = DefaultCacheMaxEntryBytes
		}
		if rc.KeyPrefix == "" {
			rc.KeyPrefix = DefaultCacheKeyPrefix
		}
	}
}

// applySpecDefaults fills the defaults of a valid spec and normalises case,
// so later stages read one spelling. It is idempotent.
func applySpecDefaults(s *Spec) {
	if s.LoggingPolicies == nil {
		s.LoggingPolicies = &LoggingPolicies{}
	}
	if s.LoggingPolicies.ExecutionLog == nil {
		s.LoggingPolicies.ExecutionLog = &ExecutionLog{}
	}
	if s.LoggingPolicies.ExecutionLog.LogLevel == "" {
		s.LoggingPolicies.ExecutionLog.LogLevel = LogLevelInfo
	}
	upperLogLevel(s.LoggingPolicies)
	if rp := s.RequestPolicies; rp != nil && rp.Authentication != nil {
		if ks := rp.Authentication.PublicKeys; ks != nil {
			keySetDefaults(ks)
		}
		if vp := rp.Authentication.ValidationPolicy; vp != nil {
			keySetDefaults(&vp.KeySet)
		}
		if fp := rp.Authentication.ValidationFailurePolicy; fp != nil {
			oauth2Defaults(fp)
		}
	}
	for i := range s.Routes {
		r := &s.Routes[i]
		if len(r.Methods) == 0 {
			r.Methods = []string{"ANY"}
		}
		for j, m := range r.Methods {
			r.Methods[j] = strings.ToUpper(m)
		}
		backendDefaults(&r.Backend)
		upperLogLevel(r.LoggingPolicies)
		if rq := r.RequestPolicies; rq != nil {
			if ht := rq.HeaderTransformations; ht != nil {
				transformDefaults(ht.SetHeaders, ht.FilterHeaders)
			}
			if qt := rq.QueryParameterTransformations; qt != nil {
				transformDefaults(qt.SetQueryParameters, qt.FilterQueryParameters)
			}
			validationDefaults(rq)
			if l := rq.ResponseCacheLookup; l != nil {
				l.Type = strings.ToUpper(l.Type)
			}
		}
		if rs := r.ResponsePolicies; rs != nil && rs.HeaderTransformations != nil {
			transformDefaults(rs.HeaderTransformations.SetHeaders, rs.HeaderTransformations.FilterHeaders)
		}
		if rs := r.ResponsePolicies; rs != nil && rs.ResponseCacheStore != nil {
			rs.ResponseCacheStore.Type = strings.ToUpper(rs.ResponseCacheStore.Type)
		}
	}
	if rp := s.RequestPolicies; rp != nil && rp.RateLimiting != nil {
		rp.RateLimiting.RateKey = strings.ToUpper(rp.RateLimiting.RateKey)
	}
	if rp := s.RequestPolicies; rp != nil && rp.Authentication != nil {
		if fp := rp.Authentication.ValidationFailurePolicy; fp != nil && fp.ResponseHeaderTransformations != nil {
			transformDefaults(fp.ResponseHeaderTransformations.SetHeaders, fp.ResponseHeaderTransformations.FilterHeaders)
		}
	}
}

// transformDefaults spells a transformation's enums upper-case, ifExists
// OVERWRITE when absent.
func transformDefaults(set *SetItems, filter *FilterItems) {
	if set != nil {
		for i := range set.Items {
			it := &set.Items[i]
			it.IfExists = strings.ToUpper(it.IfExists)
			if it.IfExists == "" {
				it.IfExists = IfExistsOverwrite
			}
		}
	}
	if filter != nil {
		filter.Type = strings.ToUpper(filter.Type)
	}
}

// validationDefaults stores a route's validation modes upper case, ENFORCING
// when omitted, and its content validation types upper case.
func validationDefaults(rq *RouteRequestPolicies) {
	if hv := rq.HeaderValidations; hv != nil {
		hv.ValidationMode = validationMode(hv.ValidationMode)
	}
	if qv := rq.QueryParameterValidations; qv != nil {
		qv.ValidationMode = validationMode(qv.ValidationMode)
	}
	if bv := rq.BodyValidation; bv != nil {
		bv.ValidationMode = validationMode(bv.ValidationMode)
		for k, cv := range bv.Content {
			cv.ValidationType = strings.ToUpper(cv.ValidationType)
			bv.Content[k] = cv
		}
	}
}

func validationMode(mode string) string {
	if mode == "" {
		return ValidationEnforcing
	}
	return strings.ToUpper(mode)
}

func keySetDefaults(ks *KeySet) {
	if ks.Type == KeySetRemoteJWKS && ks.MaxCacheDurationInHours == nil {
		h := defaultCacheHours
		ks.MaxCacheDurationInHours = &h
	}
}

// setDefault fills an absent timeout, or one of 0, which OCI allows and
// keygate reads as "the default" (see Backend.ConnectTimeoutInSeconds).
func setDefault(p **float64, v float64) {
	if *p == nil || **p == 0 {
		*p = &v
	}
}

func upperLogLevel(lp *LoggingPolicies) {
	if lp != nil && lp.ExecutionLog != nil {
		lp.ExecutionLog.LogLevel = strings.ToUpper(lp.ExecutionLog.LogLevel)
	}
}

// backendDefaults fills an HTTP_BACKEND's timeouts, also inside a
// DYNAMIC_ROUTING_BACKEND, whose enums it stores upper case.
func backendDefaults(b *Backend) {
	switch b.Type {
	case BackendHTTP:
		setDefault(&b.ConnectTimeoutInSeconds, defaultConnectTimeout)
		setDefault(&b.ReadTimeoutInSeconds, defaultReadTimeout)
		setDefault(&b.SendTimeoutInSeconds, defaultSendTimeout)
	case BackendDynamic:
		if b.SelectionSource != nil {
			b.SelectionSource.Type = strings.ToUpper(b.SelectionSource.Type)
		}
		for i := range b.RoutingBackends {
			rb := &b.RoutingBackends[i]
			rb.Key.Type = strings.ToUpper(rb.Key.Type)
			backendDefaults(&rb.Backend)
		}
	}
}

// oauth2Defaults stores a validation failure policy's enums upper case.
func oauth2Defaults(fp *ValidationFailurePolicy) {
	fp.Type = strings.ToUpper(fp.Type)
	fp.ResponseType = strings.ToUpper(fp.ResponseType)
	if cd := fp.ClientDetails; cd != nil {
		cd.Type = strings.ToUpper(cd.Type)
	}
	if sd := fp.SourceURIDetails; sd != nil {
		sd.Type = strings.ToUpper(sd.Type)
	}
}
