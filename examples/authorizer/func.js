// An API-key authorizer for OCI API Gateway's CUSTOM_AUTHENTICATION, written
// with the Fn Node FDK: the same code deploys to OCI Functions and runs
// behind keygate (README.md).
//
// The gateway sends {"type": "TOKEN", "token": "<X-Api-Key value>"} (or, in
// the multi-argument form, {"type": "USER_DEFINED", "data": {"apikey": ...}}).
// The function looks the key up in keys.json, which holds SHA-256 hashes of
// the keys (never the keys), and answers the caller's tenant in context:
// the gateway passes it to the backend as ${request.auth[tenant]}.
const crypto = require('crypto')
const fs = require('fs')
const path = require('path')
const fdk = require('@fnproject/fdk')

// keys.json: { "<sha256 hex of the key>": { "tenant": "...", "scope": [...] } }
const keys = JSON.parse(fs.readFileSync(path.join(__dirname, 'keys.json'), 'utf8'))

// How long the gateway may cache an answer (it clamps to 60 s .. 1 h).
const cacheSeconds = 300

fdk.handle(function (input) {
  const key = input.type === 'TOKEN' ? input.token : (input.data || {}).apikey
  if (typeof key !== 'string' || key === '') {
    return { active: false, wwwAuthenticate: 'ApiKey realm="shop"' }
  }
  const hash = crypto.createHash('sha256').update(key).digest('hex')
  const entry = Object.prototype.hasOwnProperty.call(keys, hash) ? keys[hash] : null
  if (entry === null) {
    console.error('refused an unknown key ' + hash.slice(0, 12))
    return { active: false, wwwAuthenticate: 'ApiKey realm="shop", error="invalid_key"' }
  }
  console.error('accepted a key of tenant ' + entry.tenant)
  return {
    active: true,
    principal: entry.tenant,
    scope: entry.scope,
    expiresAt: new Date(Date.now() + cacheSeconds * 1000).toISOString(),
    context: { tenant: entry.tenant }
  }
}, { inputMode: 'json' })
