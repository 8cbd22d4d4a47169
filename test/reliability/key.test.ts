/**
 * The API key: it appears in no error (message, `String`, `JSON.stringify`,
 * `Cause.pretty`, `util.inspect`), no log line at any level, no span
 * attribute or event, no output of the command and no journal; it is sent to
 * the configured origin only (never to a `csv_url` or a redirect elsewhere);
 * and it is not sent over plain http to a host that is not loopback unless
 * the user opts in.
 */
import { DatasetCsv, JobStatus, JobWatcher, QoeryClient } from "@effect-qoery/client"
import * as LeanFetchHttpClient from "@effect-qoery/client/FetchHttpClient"
import { createClient } from "@effect-qoery/client/promise"
import * as UndiciHttpClient from "@effect-qoery/client/UndiciHttpClient"
import { Faults } from "@effect-qoery/emulator"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import type * as HttpClient from "@effect/platform/HttpClient"
import { afterAll, assert, beforeAll, beforeEach, describe, it } from "@effect/vitest"
import { Cause, ConfigProvider, Effect, Exit, Layer, Schema, Stream } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import * as util from "node:util"
import * as CliProcess from "../support/cli.js"
import {
  clientLayer,
  recordingServer,
  recordLogs,
  recordSpans,
  runCli,
  safeJson,
  serve,
  type Served,
  stateDir
} from "../support/reliability.js"
import { wireStatus } from "../support/statuses.js"

const key = "qk-SECRET-8c1e5b2f9a47d6"

/** Every text the key must not be in, with where it came from (per test). */
let texts: Array<readonly [where: string, text: string]> = []

const scanAll = (atLeast: number) => {
  assert.isAtLeast(texts.length, atLeast, "too little was scanned to mean anything")
  for (const [where, text] of texts) {
    assert.notInclude(text, key, `the key leaked into ${where}`)
    // Nor a large part of it (a key cut in a message, or split over lines).
    assert.notInclude(text, key.slice(3, 19), `part of the key leaked into ${where}`)
  }
}

/** Records every way an error can be shown. */
const recordError = (where: string, error: unknown, cause?: Cause.Cause<unknown>) => {
  assert.isDefined(error, `${where}: expected an error`)
  const e = error as { message?: unknown }
  texts.push([`${where}: message`, String(e.message)])
  texts.push([`${where}: String`, String(error)])
  texts.push([`${where}: JSON.stringify`, safeJson(error)])
  texts.push([`${where}: util.inspect`, util.inspect(error, { depth: Infinity, showHidden: true })])
  texts.push([`${where}: Cause.pretty`, Cause.pretty(cause ?? Cause.fail(error), { renderErrorCause: true })])
}

let emulator: Served
let slow: Served

beforeAll(async () => {
  emulator = await serve({ apiKeys: [key], jobDuration: "300 millis", pollingInterval: "20 millis" })
  slow = await serve({ apiKeys: [key], jobDuration: "1 hour" })
})

beforeEach(() => {
  texts = []
})

afterAll(async () => {
  await emulator.dispose()
  await slow.dispose()
})

const fast: JobWatcher.WatchOptions = { interval: 20, minInterval: 5, retry: { base: 10, cap: 40, budget: 3 } }
const ghost = "20200101_000000"

/** Each error path of the Effect API: [name, faults to set, the program]. */
type Path = readonly [
  string,
  ReadonlyArray<readonly [Faults.Route, Faults.FaultPlan]>,
  Effect.Effect<unknown, unknown, QoeryClient.QoeryClient>
]

const client = QoeryClient.QoeryClient
const started = (search: string) => Effect.map(Effect.flatMap(client, (c) => c.startJob(search)), (s) => s.jobId)
const once = (fault: Faults.Fault) => Faults.times(fault)

const effectPaths: ReadonlyArray<Path> = [
  [
    "Unauthorized",
    [["status", once({ kind: "status", status: 401 })]],
    Effect.flatMap(client, (c) => c.getStatus(ghost))
  ],
  ["BadRequest", [["start", once({ kind: "status", status: 400 })]], started("bad request")],
  ["JobNotFound", [], Effect.flatMap(client, (c) => c.getStatus(ghost))],
  [
    "CsvNotReady",
    [["csv", once({ kind: "status", status: 404, body: { error: "CSV not ready yet", status: 404 } })]],
    Effect.flatMap(client, (c) => Stream.runDrain(c.downloadCsv(ghost)))
  ],
  [
    "QuotaExceeded",
    [["status", once({ kind: "status", status: 429 })]],
    Effect.flatMap(client, (c) => c.getStatus(ghost))
  ],
  [
    "RateLimited",
    [["status", once({ kind: "status", status: 429, retryAfter: 3 })]],
    Effect.flatMap(client, (c) => c.getStatus(ghost))
  ],
  [
    "ServerError",
    [["status", once({ kind: "status", status: 503 })]],
    Effect.flatMap(client, (c) => c.getStatus(ghost))
  ],
  ["TransportError (dropped)", [["status", once({ kind: "drop" })]], Effect.flatMap(client, (c) => c.getStatus(ghost))],
  [
    "TransportError (timeout)",
    [["status", once({ kind: "delay", millis: 1_000 })]],
    Effect.flatMap(client, (c) => c.getStatus(ghost))
  ],
  [
    "TransportError (CSV cut short)",
    [["csv", once({ kind: "truncate" })]],
    Effect.flatMap(started("cut short"), (id) =>
      Effect.zipRight(
        Effect.sleep("400 millis"),
        Effect.flatMap(client, (c) => Stream.runDrain(c.downloadCsv(id)))
      ))
  ],
  [
    "TransportError (CSV stalls)",
    [["csv", once({ kind: "stall", millis: 1_000 })]],
    Effect.flatMap(started("stalls"), (id) =>
      Effect.zipRight(
        Effect.sleep("400 millis"),
        Effect.flatMap(client, (c) => Stream.runDrain(c.downloadCsv(id)))
      ))
  ],
  [
    "ResponseError (not JSON)",
    [["status", once({ kind: "invalidJson" })]],
    Effect.flatMap(client, (c) => c.getStatus(ghost))
  ],
  [
    "ResponseError (schema)",
    [["status", once({ kind: "schemaViolation" })]],
    Effect.flatMap(client, (c) => c.getStatus(ghost))
  ],
  [
    "ResponseError (other job)",
    [["status", once({ kind: "otherJob" })]],
    Effect.flatMap(started("other job"), (id) => Effect.flatMap(client, (c) => c.getStatus(id)))
  ],
  ["InvalidInput (job id)", [], Effect.flatMap(client, (c) => c.getStatus("../../etc/passwd"))],
  ["InvalidInput (search)", [], started("\u0000")],
  [
    "watch: retries spent",
    [["status", Faults.times({ kind: "status", status: 503 }, 5)]],
    Stream.runDrain(JobWatcher.watch(ghost, fast))
  ],
  ["watch: WatchTimeout", [], Effect.flatMap(started("slow"), () => Effect.void)],
  [
    "awaitCompletion: JobFailed",
    [],
    Effect.flatMap(started("please fail"), (id) => JobWatcher.awaitCompletion(id, fast))
  ],
  [
    "run: retried then Unauthorized",
    [["status", {
      _tag: "Script",
      faults: [{ kind: "drop" }, { kind: "status", status: 502 }, { kind: "status", status: 401 }]
    }]],
    Stream.runDrain(JobWatcher.run("run then refused", fast))
  ],
  [
    "watchAll: WatchAllFailure",
    [],
    Effect.flatMap(
      Stream.runCollect(JobWatcher.watchAll([ghost], { ...fast, failFast: false })),
      (all) => {
        const failure = [...all].find(JobWatcher.isWatchAllFailure)
        return failure === undefined ? Effect.void : Effect.fail(failure)
      }
    )
  ],
  [
    "DatasetCsv.rows: CsvError",
    [["csv", once({ kind: "schemaViolation" })]],
    Effect.flatMap(
      started("csv error"),
      (id) => Effect.zipRight(Effect.sleep("400 millis"), Stream.runDrain(DatasetCsv.rows(id)))
    )
  ]
]

describe("the key is in no error, log or span", () => {
  for (const httpSpans of [false, true]) {
    const http: ReadonlyArray<readonly [string, Layer.Layer<HttpClient.HttpClient>]> = [
      ["undici", NodeHttpClient.layerUndici],
      ["fetch", FetchHttpClient.layer],
      ["lean fetch", LeanFetchHttpClient.layer],
      ["lean undici", UndiciHttpClient.layer]
    ]
    for (const [httpName, httpLayer] of http) {
      it(`every error path of the Effect API (${httpName}, httpSpans: ${httpSpans})`, async () => {
        const logs = recordLogs()
        const spans = recordSpans()
        for (const [name, faults, program] of effectPaths) {
          const target = name === "watch: WatchTimeout" ? slow : emulator
          await Effect.runPromise(target.emulator.clearFaults)
          for (const [route, plan] of faults) await Effect.runPromise(target.emulator.setFaults(route, plan))
          const body = name === "watch: WatchTimeout"
            ? Effect.flatMap(
              started("slow job"),
              (id) => Stream.runDrain(JobWatcher.watch(id, { ...fast, interval: 50, timeout: 200 }))
            )
            : program
          const exit = await Effect.runPromiseExit(
            body.pipe(
              Effect.tapErrorCause((cause) => Effect.logError("failed", cause)),
              Effect.withSpan(`test ${name}`),
              spans.withTracer,
              Effect.provide(
                Layer.mergeAll(
                  clientLayer(
                    { baseUrl: target.emulator.baseUrl, apiKey: key, timeout: 300, httpSpans },
                    httpLayer
                  ),
                  logs.layer
                )
              )
            )
          )
          assert.isTrue(Exit.isFailure(exit), `${name} did not fail`)
          if (Exit.isFailure(exit)) {
            const failure = Cause.failureOption(exit.cause)
            assert.strictEqual(failure._tag, "Some", `${name} died: ${Cause.pretty(exit.cause)}`)
            if (failure._tag === "Some") recordError(name, failure.value, exit.cause)
          }
        }
        await Effect.runPromise(emulator.emulator.clearFaults)
        assert.isTrue(logs.lines.some((l) => l.startsWith("DEBUG")), "the retries' debug logs were not captured")
        assert.isTrue(spans.lines.some((l) => l.includes("qoery.job_id")), "no span attribute was captured")
        if (httpSpans) assert.isTrue(spans.lines.some((l) => l.includes("http.request.header")), "no HTTP span")
        for (const line of logs.lines) texts.push(["a log line", line])
        for (const line of spans.lines) texts.push(["a span", line])
        scanAll(200)
      })
    }
  }

  it("layer errors: a base URL with the key as its password, the key over plain http", async () => {
    for (
      const baseUrl of [
        `https://user:${key}@api.qoery.com`,
        `https://${key}@api.qoery.com`,
        `http://user:${key}@bad host`,
        "http://0.0.0.0:1"
      ]
    ) {
      const exit = await Effect.runPromiseExit(
        Layer.build(clientLayer({ baseUrl, apiKey: key })).pipe(Effect.scoped)
      )
      assert.isTrue(Exit.isFailure(exit), baseUrl)
      if (Exit.isFailure(exit)) {
        const failure = Cause.failureOption(exit.cause)
        assert.strictEqual(failure._tag, "Some")
        if (failure._tag === "Some") recordError(`layer for ${baseUrl.replace(key, "KEY")}`, failure.value, exit.cause)
      }
    }
    scanAll(20)
  })

  it("every error path of the Promise API", async () => {
    const qoery = createClient({ apiKey: key, baseUrl: emulator.emulator.baseUrl, timeout: 300 })
    const fail = async (name: string, promise: () => Promise<unknown>) => {
      try {
        await promise()
      } catch (error) {
        recordError(`promise ${name}`, error)
        return
      }
      assert.fail(`${name} did not reject`)
    }
    const collect = async (iterable: AsyncIterable<unknown>) => {
      for await (const _ of iterable) { /* drain */ }
    }
    try {
      await fail("JobNotFound", () => qoery.status(ghost))
      await fail("InvalidInput", () => qoery.status("20251310_000000"))
      await fail("search", () => qoery.startJob(" "))
      await Effect.runPromise(emulator.emulator.setFaults("status", once({ kind: "drop" })))
      await fail("TransportError", () => qoery.status(ghost))
      await Effect.runPromise(emulator.emulator.setFaults("status", once({ kind: "status", status: 401 })))
      await fail("Unauthorized", () => qoery.status(ghost))
      const failing = await qoery.startJob("please fail")
      await fail("JobFailed", () => qoery.waitFor(failing.jobId, { interval: 20 }))
      await fail("watch JobNotFound", () => collect(qoery.watch(ghost, { interval: 20 })))
      await Effect.runPromise(emulator.emulator.setFaults("csv", once({ kind: "schemaViolation" })))
      await fail("CsvError", () => collect(qoery.rows(failing.jobId)))
      await fail("aborted", () => qoery.waitFor(failing.jobId, { signal: AbortSignal.abort() }))
    } finally {
      await qoery.close()
      await Effect.runPromise(emulator.emulator.clearFaults)
    }
    const insecure = createClient({ apiKey: key, baseUrl: "http://0.0.0.0:1" })
    try {
      await fail("insecure", () => insecure.status(ghost))
    } finally {
      await insecure.close()
    }
    scanAll(40)
  })

  it("the command's stdout, stderr and journal, on every kind of failure, in process and as a child", async () => {
    const state = stateDir()
    const journal = () => {
      const file = path.join(state, "jobs.ndjson")
      return fs.existsSync(file) ? fs.readFileSync(file, "utf8") : ""
    }
    const url = emulator.emulator.baseUrl
    const cases: ReadonlyArray<readonly [string, ReadonlyArray<string>, Record<string, string>, number]> = [
      [
        "run ok (flag)",
        ["run", "key cli ok", "--out", path.join(state, "ok.csv"), "--base-url", url, "--api-key", key],
        {},
        0
      ],
      ["run --json (env)", ["run", "key cli json", "--json", "--out", path.join(state, "j.csv")], {
        QOERY_BASE_URL: url,
        QOERY_API_KEY: key
      }, 0],
      [
        "run fails",
        ["run", "please fail", "--out", path.join(state, "f.csv"), "--base-url", url, "--api-key", key],
        {},
        1
      ],
      ["status not found", ["status", ghost, "--json"], { QOERY_BASE_URL: url, QOERY_API_KEY: key }, 3],
      ["bad job id", ["watch", "20251310_000000"], { QOERY_BASE_URL: url, QOERY_API_KEY: key }, 2],
      ["insecure", ["status", ghost, "--base-url", "http://0.0.0.0:1", "--api-key", key], {}, 2],
      ["key in base url", ["status", ghost, "--base-url", `https://u:${key}@api.qoery.com`], { QOERY_API_KEY: key }, 2],
      [
        "timeout",
        ["watch", ghost, "--timeout", "0.1s"],
        { QOERY_BASE_URL: slow.emulator.baseUrl, QOERY_API_KEY: key },
        3
      ],
      ["usage", ["usage", "--json"], { QOERY_BASE_URL: url, QOERY_API_KEY: key }, 0]
    ]
    for (const [name, args, env, code] of cases) {
      const result = await runCli(args, { QOERY_STATE_DIR: state, ...env })
      assert.strictEqual(result.code, code, `${name}: ${result.stderr}`)
      texts.push([`qoery ${name}: stdout`, result.stdout], [`qoery ${name}: stderr`, result.stderr])
    }
    // With faults: retries shown on stderr, then a refused key.
    await Effect.runPromise(emulator.emulator.setFaults("status", {
      _tag: "Script",
      faults: [{ kind: "status", status: 503 }, { kind: "drop" }, { kind: "status", status: 401 }]
    }))
    const refused = await runCli([
      "run",
      "refused",
      "--out",
      path.join(state, "r.csv"),
      "--base-url",
      url,
      "--api-key",
      key
    ], {
      QOERY_STATE_DIR: state
    })
    assert.strictEqual(refused.code, 3, refused.stderr)
    assert.match(refused.stderr, /retry/)
    texts.push(["qoery refused: stdout", refused.stdout], ["qoery refused: stderr", refused.stderr])

    // As a user runs it: the bin, its error reporting included.
    const children = await Promise.all([
      CliProcess.run(["run", "key child", "--out", path.join(state, "c.csv")], {
        QOERY_STATE_DIR: state,
        QOERY_BASE_URL: url,
        QOERY_API_KEY: key
      }),
      CliProcess.run(["status", ghost, "--base-url", "http://0.0.0.0:1", "--api-key", key], { QOERY_STATE_DIR: state })
    ])
    assert.strictEqual(children[0].code, 0, children[0].stderr)
    assert.strictEqual(children[1].code, 2, children[1].stderr)
    assert.match(children[1].stderr, /plain http/)
    for (const child of children) {
      texts.push(["qoery child: stdout", child.stdout], ["qoery child: stderr", child.stderr])
    }
    assert.include(journal(), "\"type\":\"started\"")
    texts.push(["the journal", journal()])
    scanAll(20)
  }, 60_000)
})

describe("a base URL that does not parse is not quoted", () => {
  const unparseable = [
    `api.qoery.com/?api_key=${key}`,
    `${key}@api.qoery.com`,
    `http://127.0.0.1:99999/?api_key=${key}`,
    `https://h:443x/?api_key=${key}`,
    `http://[${key}]`
  ]

  it("the layer, the layer from QOERY_BASE_URL, createClient and the command", async () => {
    for (const baseUrl of unparseable) {
      const where = baseUrl.replace(key, "KEY")
      const layers = [
        ["layer", clientLayer({ baseUrl, apiKey: key })],
        [
          "layerConfig",
          QoeryClient.layerConfig.pipe(
            Layer.provide(NodeHttpClient.layerUndici),
            Layer.provide(Layer.setConfigProvider(
              ConfigProvider.fromMap(new Map([["QOERY_API_KEY", key], ["QOERY_BASE_URL", baseUrl]]))
            ))
          )
        ]
      ] as const
      for (const [name, layer] of layers) {
        const exit = await Effect.runPromiseExit(Layer.build(layer).pipe(Effect.scoped))
        const failure = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : undefined
        assert.strictEqual(failure?._tag, "Some", `${name} ${where}`)
        if (failure?._tag === "Some" && Exit.isFailure(exit)) {
          assert.match(String((failure.value as Error).message), /Invalid baseUrl: the base URL is not a URL/)
          recordError(`${name} for ${where}`, failure.value, exit.cause)
        }
      }
      try {
        createClient({ apiKey: key, baseUrl })
        assert.fail(`createClient accepted ${where}`)
      } catch (error) {
        recordError(`createClient for ${where}`, error)
      }
      const viaCli = await runCli(["status", ghost, "--base-url", baseUrl], { QOERY_API_KEY: key })
      assert.strictEqual(viaCli.code, 2, viaCli.stderr)
      assert.match(viaCli.stderr, /expected an origin such as https:\/\/api\.qoery\.com/)
      texts.push([`qoery --base-url ${where}: stdout`, viaCli.stdout], [
        `qoery --base-url ${where}: stderr`,
        viaCli.stderr
      ])
    }
    scanAll(5 * 13)
  })
})

describe("a server that echoes the key in what it sends", () => {
  /** Each job id gets one hostile answer, the request's own x-api-key in it. */
  const answers: Record<string, readonly [status: number, body: (echo: string) => unknown, retryAfter?: number]> = {
    "20200101_000500": [500, (k) => ({ error: `internal: key ${k}`, details: `key=${k}` })],
    "20200101_000501": [503, (k) => `upstream refused key ${k}`],
    "20200101_000401": [401, (k) => ({ error: `key ${k} is revoked`, details: `key=${k}`, status: 401 })],
    "20200101_000402": [401, (k) => `key ${k} is not valid JSON either`],
    "20200101_000404": [404, (k) => ({ error: "Not found", details: `no job for key ${k}`, status: 404 })],
    "20200101_000429": [
      429,
      (k) => ({ error: `quota of ${k} spent`, status: 429, reset_date: "2030-01-01T00:00:00Z" })
    ],
    "20200101_000430": [429, (k) => ({ error: `slow down, ${k}`, status: 429 }), 2],
    "20200101_000200": [200, (k) =>
      wireStatus({
        job_id: "20200101_000200",
        status: "error",
        error: `scraper crashed with key ${k}`,
        completed_at: "2025-11-10T15:20:00Z"
      })],
    "20200101_000201": [200, (k) => `{"job_id": "20200101_000201", "error": "${k}"`],
    "20200101_000202": [200, (k) => wireStatus({ job_id: "20200101_000202", status: `weird ${k}`, error: k })]
  }
  const failedId = "20200101_000200"
  const errorIds = Object.keys(answers).filter((id) => id !== failedId)

  let hostile: Awaited<ReturnType<typeof recordingServer>>
  beforeAll(async () => {
    hostile = await recordingServer((req, res) => {
      const echo = String(req.headers["x-api-key"] ?? "")
      const id = /^\/v0\/datasets\/(\d{8}_\d{6})/.exec(req.url ?? "")?.[1]
      const [status, body, retryAfter] = req.method === "POST"
        ? [400, (k: string) => ({ error: `search refused for ${k}`, details: `key=${k}`, status: 400 })] as const
        : req.url?.endsWith("/csv")
        ? [404, (k: string) => ({ error: "Not found", details: `no CSV for ${k}`, status: 404 })] as const
        : answers[id ?? ""] ?? [500, (k: string) => ({ error: `no route, key ${k}` })]
      const value = body(echo)
      res.writeHead(status, {
        "content-type": typeof value === "string" ? "text/plain" : "application/json",
        ...(retryAfter === undefined ? {} : { "retry-after": String(retryAfter) })
      }).end(typeof value === "string" ? value : JSON.stringify(value))
    })
  })
  afterAll(() => hostile.close())

  it("the Effect API: no error nor the failed job's status carries it", async () => {
    const { status, errors } = await Effect.runPromise(
      Effect.gen(function*() {
        const c = yield* client
        const errors: Array<readonly [string, unknown]> = []
        for (const id of errorIds) errors.push([id, yield* Effect.flip(c.getStatus(id))])
        errors.push(["startJob", yield* Effect.flip(c.startJob("a search"))])
        errors.push(["downloadCsv", yield* Effect.flip(Stream.runDrain(c.downloadCsv(failedId)))])
        errors.push(["awaitCompletion", yield* Effect.flip(JobWatcher.awaitCompletion(failedId, fast))])
        return { status: yield* c.getStatus(failedId), errors }
      }).pipe(Effect.provide(clientLayer({ baseUrl: hostile.baseUrl, apiKey: key, timeout: 2_000 })))
    )
    assert.isTrue(hostile.requests.every((r) => r.headers["x-api-key"] === key), "the server did not get the key")
    const tags = errors.map(([, e]) => (e as { _tag: string })._tag)
    assert.includeMembers(tags, [
      "ServerError",
      "Unauthorized",
      "ResponseError",
      "JobNotFound",
      "QuotaExceeded",
      "RateLimited",
      "BadRequest",
      "JobFailed"
    ])
    for (const [where, error] of errors) recordError(`getStatus ${where}`, error)
    assert.strictEqual(status.status, "error")
    if (status.status === "error") assert.strictEqual(status.error, "scraper crashed with key <redacted>")
    assert.strictEqual(status.query, "climate change statistics", "the job's query is the user's own")
    texts.push(["the failed status", safeJson(Schema.encodeSync(JobStatus.JobStatus)(status))])
    texts.push(["the failed status (inspect)", util.inspect(status, { depth: Infinity })])
    const server = errors.find(([id]) => id === "20200101_000500")![1] as Error
    assert.include(server.message, "internal: key <redacted>", "the server's text is kept, the key out of it")
    scanAll(errors.length * 5)
  })

  it("the Promise API: no error object nor the status carries it", async () => {
    const qoery = createClient({ apiKey: key, baseUrl: hostile.baseUrl, timeout: 2_000 })
    try {
      for (const id of errorIds) {
        await qoery.status(id).then(
          () => assert.fail(`${id} did not reject`),
          (error) => recordError(`promise status ${id}`, error)
        )
      }
      await qoery.startJob("a search").then(() => assert.fail("started"), (e) => recordError("promise startJob", e))
      const status = await qoery.status(failedId)
      texts.push(["the promise status", safeJson(status)], ["the promise status (inspect)", util.inspect(status)])
      assert.include(safeJson(status), "<redacted>")
    } finally {
      await qoery.close()
    }
    scanAll(errorIds.length * 5)
  })

  it("the command's stdout and stderr", async () => {
    const env = { QOERY_STATE_DIR: stateDir(), QOERY_BASE_URL: hostile.baseUrl, QOERY_API_KEY: key }
    const runs: Array<ReadonlyArray<string>> = [
      ...[...errorIds, failedId].flatMap((id) => [["status", id], ["status", id, "--json"]]),
      ["watch", failedId],
      ["run", "a search", "--no-journal"],
      ["csv", failedId, "--out", path.join(env.QOERY_STATE_DIR, "x.csv")]
    ]
    for (const args of runs) {
      const result = await runCli(args, env)
      texts.push([`qoery ${args.join(" ")}: stdout`, result.stdout], [`qoery ${args.join(" ")}: stderr`, result.stderr])
    }
    const failed = await runCli(["status", failedId], env)
    assert.include(failed.stdout + failed.stderr, "scraper crashed with key <redacted>")
    const server = await runCli(["status", "20200101_000500"], env)
    assert.include(server.stderr, "internal: key <redacted>")
    scanAll(runs.length * 2)
  }, 60_000)
})

// ---------------------------------------------------------------------------

describe("the key goes to the configured origin only", () => {
  it("a csv_url on another origin is never requested: the client builds the CSV URL from its base URL", async () => {
    const other = await recordingServer()
    const { emulator: e } = emulator
    try {
      const program = Effect.gen(function*() {
        const id = yield* started("csv elsewhere")
        const done = yield* JobWatcher.awaitCompletion(id, fast)
        // The same status, its csv_url pointing at the other server.
        const wire = Schema.encodeSync(JobStatus.JobStatus)(done) as Record<string, unknown>
        const body = { ...wire, csv_url: `${other.baseUrl}/v0/datasets/${id}/csv` }
        yield* e.setFaults("status", Faults.times({ kind: "status", status: 200, body }, 2))
        const seen = yield* JobWatcher.awaitCompletion(id, fast)
        assert.strictEqual(seen.csvUrl, body.csv_url, "the client did not see the foreign csv_url")
        const before = (yield* e.stats).requests.csv
        const rows = yield* Stream.runCollect(DatasetCsv.rows(id))
        assert.isAbove(rows.length, 0)
        const dir = stateDir()
        yield* DatasetCsv.writeFile(id, path.join(dir, "out.csv"))
        assert.strictEqual((yield* e.stats).requests.csv, before + 2, "the CSV did not come from the base URL")
        return id
      })
      const id = await Effect.runPromise(
        program.pipe(
          Effect.provide(
            Layer.merge(clientLayer({ baseUrl: e.baseUrl, apiKey: key, timeout: 2_000 }), NodeContext.layer)
          )
        )
      )
      const qoery = createClient({ apiKey: key, baseUrl: e.baseUrl })
      try {
        let count = 0
        for await (const _ of qoery.rows(id)) count++
        assert.isAbove(count, 0)
      } finally {
        await qoery.close()
      }
      assert.deepStrictEqual(other.requests, [], "the other origin was requested")
    } finally {
      await other.close()
      await Effect.runPromise(e.clearFaults)
    }
  })

  const clients: ReadonlyArray<readonly [string, Layer.Layer<HttpClient.HttpClient>]> = [
    ["FetchHttpClient", FetchHttpClient.layer],
    ["@effect-qoery/client/FetchHttpClient", LeanFetchHttpClient.layer],
    ["@effect-qoery/client/UndiciHttpClient", UndiciHttpClient.layer],
    ["NodeHttpClient.layerUndici", NodeHttpClient.layerUndici],
    ["NodeHttpClient.layer", NodeHttpClient.layer]
  ]
  for (const status of [301, 302, 303, 307, 308]) {
    it(`a ${status} redirect to another origin is not followed (every HttpClient, and the Promise API)`, async () => {
      const other = await recordingServer((_req, res) =>
        res.writeHead(200, { "content-type": "text/csv" }).end("a\n1\n")
      )
      const redirecting = await recordingServer((req, res) => {
        res.writeHead(status, { location: `${other.baseUrl}${req.url}` }).end()
      })
      try {
        for (const [name, http] of clients) {
          const exits = await Effect.runPromise(
            Effect.all([
              Effect.exit(Effect.flatMap(client, (c) => c.getStatus(ghost))),
              Effect.exit(Effect.flatMap(client, (c) => Stream.runDrain(c.downloadCsv(ghost)))),
              Effect.exit(started("redirected"))
            ]).pipe(Effect.provide(clientLayer({ baseUrl: redirecting.baseUrl, apiKey: key, timeout: 2_000 }, http)))
          )
          for (const exit of exits as ReadonlyArray<Exit.Exit<unknown, unknown>>) {
            assert.isTrue(Exit.isFailure(exit), name)
            if (Exit.isFailure(exit)) {
              const error = Cause.failureOption(exit.cause)
              assert.strictEqual(error._tag === "Some" && (error.value as { _tag: string })._tag, "ResponseError", name)
            }
          }
        }
        const qoery = createClient({ apiKey: key, baseUrl: redirecting.baseUrl, timeout: 2_000 })
        try {
          await qoery.status(ghost).then(() => assert.fail("followed"), () => undefined)
        } finally {
          await qoery.close()
        }
        assert.strictEqual(redirecting.requests.length, 3 * clients.length + 1)
        assert.isTrue(redirecting.requests.every((r) => r.headers["x-api-key"] === key), "the key went to its origin")
        assert.deepStrictEqual(other.requests, [], "the redirect was followed")
      } finally {
        await other.close()
        await redirecting.close()
      }
    })
  }

  it("plain http to a host that is not loopback: refused before any request, unless allowInsecureKey", async () => {
    const server = await recordingServer((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" }).end(
        JSON.stringify({ status: "ok", timestamp: "2025-01-01T00:00:00Z" })
      )
    })
    // 0.0.0.0 is not a loopback name, yet a connection to it stays on this machine.
    const insecure = server.baseUrl.replace("127.0.0.1", "0.0.0.0")
    try {
      const refused = await Effect.runPromiseExit(
        Effect.flatMap(client, (c) => c.getStatus(ghost)).pipe(
          Effect.provide(clientLayer({ baseUrl: insecure, apiKey: key }))
        )
      )
      assert.isTrue(Exit.isFailure(refused))
      if (Exit.isFailure(refused)) {
        const error = Cause.failureOption(refused.cause)
        assert.strictEqual(error._tag, "Some")
        if (error._tag === "Some") {
          assert.strictEqual((error.value as { _tag: string })._tag, "InvalidInput")
          assert.match(
            String((error.value as Error).message),
            /plain http.*anyone on the way could read it.*allowInsecureKey/s
          )
        }
      }
      // Without a key there is nothing to protect: health goes through.
      await Effect.runPromise(
        Effect.flatMap(client, (c) => c.health).pipe(Effect.provide(clientLayer({ baseUrl: insecure })))
      )
      assert.strictEqual(server.requests.length, 1)
      assert.isUndefined(server.requests[0]!.headers["x-api-key"])
      // The user opts in.
      await Effect.runPromise(
        Effect.flatMap(client, (c) => c.health).pipe(
          Effect.provide(clientLayer({ baseUrl: insecure, apiKey: key, allowInsecureKey: true }))
        )
      )
      assert.strictEqual(server.requests.length, 2)
      const viaCli = await runCli(["health", "--base-url", insecure, "--api-key", key])
      assert.strictEqual(viaCli.code, 2, viaCli.stderr)
      assert.match(viaCli.stderr, /refusing to send the API key over plain http/)
      assert.notInclude(viaCli.stderr + viaCli.stdout, key)
      assert.strictEqual(server.requests.length, 2, "the command sent a request")
    } finally {
      await server.close()
    }
  })
})
