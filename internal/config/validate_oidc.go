package config

// remoteDiscovery checks a REMOTE_DISCOVERY validation policy (§8 of the
// policies reference).
func (c *checker) remoteDiscovery(p string, vp *ValidationPolicy) {
	if vp.ClientDetails == nil {
		c.addf(at(p, "clientDetails"), "missing; add {type: CUSTOM, clientId, clientSecretId, clientSecretVersionNumber}")
	} else {
		c.clientDetails(at(p, "clientDetails"), vp.ClientDetails)
	}
	if vp.SourceURIDetails == nil {
		c.addf(at(p, "sourceUriDetails"), "missing; add {type: DISCOVERY_URI, uri: https://IDP/.well-known/openid-configuration}")
	} else {
		c.sourceURIDetails(at(p, "sourceUriDetails"), vp.SourceURIDetails)
	}
	if h := vp.MaxCacheDurationInHours; h != nil && (*h < 1 || *h > 24) {
		c.addf(at(p, "maxCacheDurationInHours"), "%d is out of range; give 1 to 24 hours", *h)
	}
	const other = "not a REMOTE_DISCOVERY field; the provider is found through sourceUriDetails.uri; remove it"
	if vp.URI != "" {
		c.addf(at(p, "uri"), other)
	}
	if vp.Keys != nil {
		c.addf(at(p, "keys"), "only for STATIC_KEYS; remove it")
	}
}

// clientDetails checks a REMOTE_DISCOVERY policy's client, which is CUSTOM
// (an OAUTH2 failure policy's, which may be VALIDATION_BLOCK, is checked in
// oauth2Policy).
func (c *checker) clientDetails(p string, cd *ClientDetails) {
	switch cd.Type {
	case ClientDetailsCustom:
		if cd.ClientID == "" {
			c.addf(at(p, "clientId"), "missing; give the client id registered with the identity provider")
		}
		if cd.ClientSecretID == "" {
			c.addf(at(p, "clientSecretId"), "missing; give the secret's id and list it in the gateway file's secrets")
		} else {
			c.secretRef(at(p, "clientSecretId"), cd.ClientSecretID)
		}
		if cd.ClientSecretVersionNumber == nil {
			c.addf(at(p, "clientSecretVersionNumber"), "missing; OCI requires it (e.g. 1); keygate reads the secret from its secrets list")
		} else if *cd.ClientSecretVersionNumber < 1 {
			c.addf(at(p, "clientSecretVersionNumber"), "%d is not a version; give 1 or more", *cd.ClientSecretVersionNumber)
		}
	case ClientDetailsValidationBlock:
		c.addf(at(p, "type"), "VALIDATION_BLOCK only means something inside an OAUTH2 validationFailurePolicy; use CUSTOM")
	case "":
		c.addf(at(p, "type"), "missing; use CUSTOM")
	default:
		c.addf(at(p, "type"), "unknown type %q; use CUSTOM", cd.Type)
	}
}

// sourceURIDetails checks a REMOTE_DISCOVERY policy's provider location,
// which is DISCOVERY_URI (an OAUTH2 failure policy's, which may be
// VALIDATION_BLOCK, is checked in oauth2Policy).
func (c *checker) sourceURIDetails(p string, sd *SourceURIDetails) {
	switch sd.Type {
	case SourceURIDiscovery:
		if sd.URI == "" {
			c.addf(at(p, "uri"), "missing; give the discovery document's URL, e.g. https://IDP/.well-known/openid-configuration")
		} else if !isHTTPURL(sd.URI) {
			c.addf(at(p, "uri"), "%q is not an http or https URL with a host; give the discovery document's URL", sd.URI)
		}
	case SourceURIValidationBlock:
		c.addf(at(p, "type"), "VALIDATION_BLOCK only means something inside an OAUTH2 validationFailurePolicy; use DISCOVERY_URI")
	case "":
		c.addf(at(p, "type"), "missing; use DISCOVERY_URI")
	default:
		c.addf(at(p, "type"), "unknown type %q; use DISCOVERY_URI", sd.Type)
	}
}
