// An authorizer function (OCI API Gateway CUSTOM_AUTHENTICATION) written
// with the Node FDK as it would be deployed to OCI Functions; keygate's
// tests run it unchanged behind listener: (FN_LISTENER, FN_FORMAT=http-stream).
// The key it is given (the TOKEN, or the USER_DEFINED argument xapikey)
// steers it:
//   key-<tenant>: active, context {tenant, input}; tenant acme has the
//                 scope orders:read, the others none
//   slow:         active after 300 ms (concurrent requests share one call)
//   throw:        throws (the FDK answers 502)
//   sleep:        answers after 5 s (past keygate's timeout)
//   garbage:      answers 200 with text that is not JSON
//   anything else: active false with a challenge
// Each call writes "authorizer call <n>" to stderr, which keygate logs:
// the tests count calls with it.
const fdk = require('@fnproject/fdk')

let calls = 0

fdk.handle(async function (input, ctx) {
  calls++
  console.error('authorizer call ' + calls)
  const key = input.type === 'TOKEN' ? input.token : (input.data || {}).xapikey
  switch (key) {
    case 'throw':
      throw new Error('thrown as asked')
    case 'sleep':
      await new Promise((resolve) => setTimeout(resolve, 5000))
      return { active: true }
    case 'garbage':
      ctx.responseContentType = 'text/plain'
      return 'this is not JSON'
    case 'slow':
      await new Promise((resolve) => setTimeout(resolve, 300))
      return { active: true, context: { tenant: 'slow' } }
  }
  if (typeof key === 'string' && key.startsWith('key-')) {
    const tenant = key.slice(4)
    return {
      active: true,
      principal: 'user@' + tenant,
      scope: tenant === 'acme' ? ['orders:read'] : [],
      expiresAt: new Date(Date.now() + 10 * 60 * 1000).toISOString(),
      context: { tenant: tenant, input: JSON.stringify(input) }
    }
  }
  return { active: false, wwwAuthenticate: 'ApiKey realm="node"' }
}, { inputMode: 'json' })
