// Drives roster with the official @bitrix24/b24jssdk (B24Hook over https) for
// tests/clients/test_b24jssdk.py:
//
//   node run.mjs SCENARIO WEBHOOK_URL [JSON_ARGS]
//
// Prints one JSON line with what the SDK returned (or the error it threw) and exits 0;
// the Python test asserts on it. Needs NODE_EXTRA_CA_CERTS pointing at roster's
// self-signed certificate (the SDK accepts only https).
import { B24Hook } from '@bitrix24/b24jssdk'

const [scenario, webhook, rawArgs] = process.argv.slice(2)
const args = rawArgs ? JSON.parse(rawArgs) : {}

/** A logger that keeps every message (LoggerInterface: each level returns a promise). */
function recordingLogger () {
  const records = []
  const logger = { records }
  for (const level of ['log', 'debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency']) {
    logger[level] = (message, context) => {
      records.push({ level, message: String(message), code: context?.error?.code ?? null })
      return Promise.resolve()
    }
  }
  return logger
}

function describeError (e) {
  return {
    name: e?.constructor?.name ?? typeof e,
    code: e?.code ?? e?.answerError?.error ?? null,
    status: e?.status ?? null,
    message: String(e?.message ?? e)
  }
}

const b24 = B24Hook.fromWebhookUrl(webhook)
b24.offClientSideWarning()

const scenarios = {
  // One call through the v2 actions API and one through the deprecated callMethod.
  async call () {
    const current = await b24.actions.v2.call.make({ method: 'user.current', params: {} })
    const data = current.getData()
    const legacy = await b24.callMethod('user.get', { ID: 1 })
    return {
      isSuccess: current.isSuccess,
      result: data.result,
      time: data.time,
      legacyIds: legacy.getData().result.map((u) => u.ID)
    }
  },

  // start=-1 pagination with the >ID cursor: callList (all at once) and fetchList (pages).
  async list () {
    const params = { filter: args.filter, select: ['ID', 'NAME'] }
    const all = await b24.actions.v2.callList.make({ method: 'user.get', params, idKey: 'ID' })
    const pages = []
    for await (const page of b24.actions.v2.fetchList.make({ method: 'user.get', params, idKey: 'ID' })) {
      pages.push(page.map((u) => u.ID))
    }
    return {
      isSuccess: all.isSuccess,
      errors: all.getErrorMessages(),
      callList: all.getData().map((u) => u.ID),
      fetchListPages: pages
    }
  },

  // batchByChunk: any number of commands, sent in batches of 50.
  async batchByChunk () {
    const calls = args.ids.map((id) => ['user.update', { ID: id, WORK_POSITION: `${args.prefix}${id}` }])
    const res = await b24.actions.v2.batchByChunk.make({ calls, options: { isHaltOnError: true } })
    return { isSuccess: res.isSuccess, errors: res.getErrorMessages(), data: res.getData() }
  },

  // Sequential calls into a small server-side bucket: the SDK must wait and retry on 503.
  async rate () {
    const logger = recordingLogger()
    b24.setLogger(logger)
    const results = []
    const started = Date.now()
    for (let i = 0; i < args.calls; i++) {
      try {
        const r = await b24.actions.v2.call.make({ method: 'user.current', params: {} })
        results.push({ ok: r.isSuccess, id: r.getData().result.ID })
      } catch (e) {
        results.push({ ok: false, error: describeError(e) })
      }
    }
    const recognised = logger.records.filter((r) => r.code === 'QUERY_LIMIT_EXCEEDED').length
    return { results, recognised, seconds: (Date.now() - started) / 1000 }
  },

  // An error reply: the SDK throws with the server's code and status.
  async error () {
    try {
      await b24.actions.v2.call.make({ method: args.method, params: args.params ?? {} })
      return { thrown: null }
    } catch (e) {
      return { thrown: describeError(e) }
    }
  }
}

const run = scenarios[scenario]
if (!run) {
  console.error(`unknown scenario ${scenario}; known: ${Object.keys(scenarios).join(', ')}`)
  process.exit(2)
}
try {
  const out = await run()
  process.stdout.write(JSON.stringify({ ok: true, out }) + '\n')
} catch (e) {
  process.stdout.write(JSON.stringify({ ok: false, error: describeError(e), stack: String(e?.stack ?? '') }) + '\n')
}
