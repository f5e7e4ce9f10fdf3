// An Fn function written with the Node FDK as it would be deployed to OCI
// Functions behind an API Gateway ORACLE_FUNCTIONS_BACKEND; keygate's tests
// run it unchanged (FN_LISTENER, FN_FORMAT=http-stream). It echoes the HTTP
// request the gateway delivered and answers through the FDK's httpGateway
// API. Request headers steer it:
//   X-Want-Status: the status to answer
//   X-Sleep-Ms:    answer that much later (timeouts)
//   X-Throw:       throw from the function (the FDK answers 502)
//   X-Exit:        exit the process (keygate restarts it)
const fdk = require('@fnproject/fdk')

fdk.handle(function (input, ctx) {
  const hctx = ctx.httpGateway
  if (hctx.getHeader('X-Exit')) {
    console.error('exiting as asked')
    process.exit(3)
  }
  if (hctx.getHeader('X-Throw')) {
    throw new Error('thrown as asked')
  }
  console.log('echo ' + hctx.method + ' ' + hctx.requestURL)
  hctx.statusCode = parseInt(hctx.getHeader('X-Want-Status') || '200', 10)
  hctx.setResponseHeader('Content-Type', 'application/json')
  hctx.setResponseHeader('X-Fn-Method', hctx.method)
  hctx.setResponseHeader('X-Fn-Url', hctx.requestURL)
  hctx.setResponseHeader('X-Fn-Call-Id', ctx.callID)
  hctx.setResponseHeader('X-Fn-Id', ctx.fnID || '')
  hctx.setResponseHeader('X-Fn-Deadline', ctx.deadline ? ctx.deadline.toISOString() : '')
  hctx.setResponseHeader('X-Fn-Pid', String(process.pid))
  hctx.addResponseHeader('X-Fn-Multi', 'one')
  hctx.addResponseHeader('X-Fn-Multi', 'two')
  const answer = {
    method: hctx.method,
    url: hctx.requestURL,
    headers: hctx.headers,
    contentType: ctx.contentType,
    body: input
  }
  const sleep = parseInt(hctx.getHeader('X-Sleep-Ms') || '0', 10)
  if (sleep > 0) {
    return new Promise((resolve) => setTimeout(() => resolve(answer), sleep))
  }
  return answer
}, { inputMode: 'string' })
