/**
 * The emulator over loopback: lifecycle, data, ids, faults, hostile requests,
 * the bin, and the client of this project against it end to end.
 */
import { JobId, JobStatus, QoeryClient, type QoeryError } from "@effect-qoery/client"
import { Dataset, Emulator, Faults } from "@effect-qoery/emulator"
import { FetchHttpClient, HttpApp, HttpClient, HttpServer } from "@effect/platform"
import { NodeHttpClient, NodeHttpServer } from "@effect/platform-node"
import { assert, describe, it, layer } from "@effect/vitest"
import { parse as parseCsv } from "csv-parse/sync"
import { type Chunk, Duration, Effect, Either, Layer, Option, Schema, Stream, TestClock } from "effect"
import * as net from "node:net"

const key = Emulator.demoApiKey

interface Answer {
  readonly status: number
  readonly headers: Headers
  readonly text: string
}

const call = (url: string, init: RequestInit = {}): Effect.Effect<Answer> =>
  Effect.promise(async () => {
    const response = await fetch(url, init)
    return { status: response.status, headers: response.headers, text: await response.text() }
  })

/** A request that may fail at the transport level (dropped, cut short). */
const attempt = (url: string, init: RequestInit = {}): Effect.Effect<Either.Either<Answer, unknown>> =>
  Effect.promise(async () => {
    try {
      const response = await fetch(url, init)
      return Either.right({ status: response.status, headers: response.headers, text: await response.text() })
    } catch (e) {
      return Either.left(e)
    }
  })

const json = (answer: Answer): any => JSON.parse(answer.text)

const startJob = (baseUrl: string, search: string) =>
  Effect.map(
    call(`${baseUrl}/v0/datasets`, {
      method: "POST",
      headers: { "x-api-key": key, "content-type": "application/json" },
      body: JSON.stringify({ search })
    }),
    (answer) => {
      assert.strictEqual(answer.status, 200, answer.text)
      return json(answer).job_id as string
    }
  )

const records = (csv: string): Array<Array<string>> => parseCsv(csv, { relax_column_count: false }) as any

describe("Dataset", () => {
  it("is a deterministic function of the query", () => {
    const q = "climate change statistics"
    assert.strictEqual(Dataset.csv(q, 1_000), Dataset.csv(q, 1_000))
    assert.deepStrictEqual(Dataset.urls(q), Dataset.urls(q))
    assert.notStrictEqual(Dataset.csv(q, 1_000), Dataset.csv("ocean temperatures", 1_000))
  })

  it("writes RFC 4180 CSV that a standard parser reads back to the same rows, including hard titles", () => {
    const all = ["climate change statistics", "population", "Émissions", "a", "energy prices europe"].flatMap((q) => {
      const rows = Dataset.rows(q)
      const text = Dataset.csv(q, rows.length)
      const parsed = records(text)
      assert.deepStrictEqual(parsed[0], ["url", "title", "value", "dimension", "timestamp"])
      assert.deepStrictEqual(parsed.slice(1), rows.map((r) => [r.url, r.title, r.value, r.dimension, r.timestamp]))
      assert.isTrue(text.split("\r\n").every((line, i, lines) => i === lines.length - 1 || !line.endsWith("\r")))
      assert.isTrue(text.endsWith("\r\n"))
      return rows
    })
    const titles = all.map((r) => r.title)
    assert.isTrue(titles.some((t) => t.includes(",")), "a title with a comma")
    assert.isTrue(titles.some((t) => t.includes("\"")), "a title with a double quote")
    assert.isTrue(titles.some((t) => t.includes("\n")), "a title with a line break")
    assert.isTrue(titles.includes("Émissions de CO₂ – Zürich"), "non-ASCII text")
    for (const row of all) assert.doesNotThrow(() => new URL(row.url))
  })

  it("gives the first rows of the full CSV for a partial count", () => {
    const q = "partial"
    const full = Dataset.csv(q, Dataset.rows(q).length)
    assert.isTrue(full.startsWith(Dataset.csv(q, 3)))
    assert.strictEqual(records(Dataset.csv(q, 3)).length, 4)
    assert.strictEqual(Dataset.csv(q, 0), Dataset.header)
  })
})

const decodePlan = Schema.decodeUnknownEither(Faults.FaultPlan)

describe("Faults", () => {
  it("decodes plans from JSON, as the admin endpoint does", () => {
    const decode = (u: unknown) => Either.isRight(decodePlan(u))
    assert.isTrue(decode({ _tag: "Script", faults: [{ kind: "status", status: 503, retryAfter: 1 }, null] }))
    assert.isTrue(decode({ _tag: "Rate", rate: 0.1, fault: { kind: "drop" }, seed: 3 }))
    assert.isFalse(decode({ _tag: "Rate", rate: 2, fault: { kind: "drop" } }))
    assert.isFalse(decode({ _tag: "Script", faults: [{ kind: "explode" }] }))
  })

  it("a seeded rate plan repeats", () => {
    const pattern = () => {
      const injector = Faults.makeInjector({ status: Faults.rate(0.3, { kind: "drop" }, 42) })
      return Array.from({ length: 200 }, () => injector.next("status") === undefined ? 0 : 1)
    }
    const first = pattern()
    assert.deepStrictEqual(pattern(), first)
    const hits = first.reduce<number>((n, x) => n + x, 0)
    assert.isTrue(hits > 30 && hits < 90, `about 30% of 200, got ${hits}`)
  })
})

// ---------------------------------------------------------------------------
// Lifecycle and ids, on the TestClock

const duration = 1_000

layer(Emulator.layer({ jobDuration: duration }))("lifecycle (TestClock)", (it) => {
  it.effect("steps in order, counters only grow, urls_total fixed after searching, CSV has rows_collected rows", () =>
    Effect.gen(function*() {
      const { baseUrl, expectedCsv } = yield* Emulator.Emulator
      const id = yield* startJob(baseUrl, "climate change statistics")
      const seen: Array<any> = []
      for (let t = 0; t <= duration + 20; t += 10) {
        const status = json(yield* call(`${baseUrl}/v0/datasets/${id}?api_key=${key}`))
        const csv = yield* call(`${baseUrl}/v0/datasets/${id}/csv?api_key=${key}`)
        if (status.progress.rows_collected === 0) {
          assert.strictEqual(csv.status, 404)
          assert.strictEqual(json(csv).error, "CSV not ready yet")
        } else {
          assert.strictEqual(csv.status, 200)
          assert.strictEqual(records(csv.text).length - 1, status.progress.rows_collected)
        }
        seen.push(status)
        yield* TestClock.adjust(10)
      }
      const steps = JobStatus.steps
      for (let i = 1; i < seen.length; i++) {
        const [a, b] = [seen[i - 1], seen[i]]
        assert.isAtLeast(steps.indexOf(b.progress.current_step), steps.indexOf(a.progress.current_step))
        for (const counter of ["rows_collected", "urls_processed", "urls_total"]) {
          assert.isAtLeast(b.progress[counter], a.progress[counter], counter)
        }
        assert.isAtLeast(Date.parse(b.progress.last_updated), Date.parse(a.progress.last_updated))
        assert.isAtLeast(b.urls.length, a.urls.length)
        assert.deepStrictEqual(b.urls.slice(0, a.urls.length), a.urls)
        if (steps.indexOf(a.progress.current_step) > steps.indexOf("searching")) {
          assert.strictEqual(b.progress.urls_total, a.progress.urls_total)
        }
      }
      assert.deepStrictEqual([...new Set(seen.map((s) => s.progress.current_step))], [...steps])
      const last = seen[seen.length - 1]
      assert.strictEqual(last.status, "completed")
      assert.strictEqual(last.progress.urls_processed, last.progress.urls_total)
      assert.strictEqual(last.progress.rows_collected, Dataset.rows("climate change statistics").length)
      assert.strictEqual(last.completed_at, last.progress.last_updated)
      assert.isTrue(
        seen.slice(0, -1).some((s) => s.status === "processing" && s.progress.current_step === "finalizing")
      )
      const expected = yield* expectedCsv(id)
      const csv = yield* call(`${baseUrl}/v0/datasets/${id}/csv?api_key=${key}`)
      assert.strictEqual(csv.text, Option.getOrThrow(expected))
      const stats = yield* Effect.flatMap(Emulator.Emulator, (e) => e.stats)
      assert.isAbove(stats.statusRequestsAfterTerminal, 0)
    }))

  it.effect("the same query gives the same CSV in two jobs", () =>
    Effect.gen(function*() {
      const { baseUrl } = yield* Emulator.Emulator
      const a = yield* startJob(baseUrl, "determinism")
      const b = yield* startJob(baseUrl, "determinism")
      assert.notStrictEqual(a, b)
      yield* TestClock.adjust(duration)
      const csvA = yield* call(`${baseUrl}/v0/datasets/${a}/csv?api_key=${key}`)
      const csvB = yield* call(`${baseUrl}/v0/datasets/${b}/csv?api_key=${key}`)
      assert.strictEqual(csvA.status, 200)
      assert.strictEqual(csvA.text, csvB.text)
      assert.strictEqual(csvA.text, Dataset.csv("determinism", Dataset.rows("determinism").length))
    }))

  it.effect("a failing query ends in error during scraping; its rows so far stay downloadable", () =>
    Effect.gen(function*() {
      const { baseUrl } = yield* Emulator.Emulator
      const id = yield* startJob(baseUrl, "this will FAIL")
      yield* TestClock.adjust(duration * 2)
      const status = json(yield* call(`${baseUrl}/v0/datasets/${id}?api_key=${key}`))
      assert.strictEqual(status.status, "error")
      assert.strictEqual(status.progress.current_step, "scraping")
      assert.isAbove(status.progress.rows_collected, 0)
      assert.isBelow(status.progress.rows_collected, Dataset.rows("this will FAIL").length)
      const csv = yield* call(`${baseUrl}/v0/datasets/${id}/csv?api_key=${key}`)
      assert.strictEqual(records(csv.text).length - 1, status.progress.rows_collected)
    }))

  it.effect("1000 concurrent starts in the same second get 1000 distinct, valid ids", () =>
    Effect.gen(function*() {
      const { baseUrl } = yield* Emulator.Emulator
      const ids = yield* Effect.forEach(
        Array.from({ length: 1000 }, (_, i) => i),
        (i) => startJob(baseUrl, `concurrent ${i % 7}`),
        { concurrency: 100 }
      )
      assert.strictEqual(new Set(ids).size, 1000)
      for (const id of ids) assert.isTrue(JobId.is(id), id)
      // each id answers with its own status
      const probe = ids[999]!
      assert.strictEqual(json(yield* call(`${baseUrl}/v0/datasets/${probe}?api_key=${key}`)).job_id, probe)
    }))
})

// ---------------------------------------------------------------------------
// Faults and hostile requests, in real time

const realTime = { jobDuration: Duration.millis(300), pollingInterval: Duration.millis(20), admin: true }

layer(Emulator.layer(realTime), { excludeTestServices: true })("faults", (it) => {
  const setPlan = (baseUrl: string, route: Faults.Route, plan: Faults.FaultPlan | null) =>
    Effect.map(
      call(`${baseUrl}/__admin/faults`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ route, plan })
      }),
      (answer) => assert.strictEqual(answer.status, 200, answer.text)
    )

  const completedJob = Effect.gen(function*() {
    const { baseUrl } = yield* Emulator.Emulator
    const id = yield* startJob(baseUrl, "fault target")
    for (let i = 0; i < 500; i++) {
      const status = json(yield* call(`${baseUrl}/v0/datasets/${id}?api_key=${key}`))
      if (status.status === "completed") return id
      yield* Effect.sleep("20 millis")
    }
    return assert.fail("the job did not complete")
  })

  it.effect("each fault kind, set through the admin endpoint, then normal answers again", () =>
    Effect.gen(function*() {
      const { baseUrl, stats } = yield* Emulator.Emulator
      const id = yield* completedJob
      const statusUrl = `${baseUrl}/v0/datasets/${id}?api_key=${key}`
      const csvUrl = `${baseUrl}/v0/datasets/${id}/csv?api_key=${key}`
      const before = (yield* stats).faultsInjected

      yield* setPlan(baseUrl, "status", {
        _tag: "Script",
        faults: [{ kind: "status", status: 503, retryAfter: 2 }, null, { kind: "status", status: 500, body: "oops" }]
      })
      const unavailable = yield* call(statusUrl)
      assert.strictEqual(unavailable.status, 503)
      assert.strictEqual(unavailable.headers.get("retry-after"), "2")
      assert.strictEqual(json(unavailable).status, 503)
      assert.strictEqual((yield* call(statusUrl)).status, 200)
      const custom = yield* call(statusUrl)
      assert.strictEqual(custom.status, 500)
      assert.strictEqual(json(custom), "oops")
      assert.strictEqual((yield* call(statusUrl)).status, 200)

      yield* setPlan(baseUrl, "status", Faults.times({ kind: "drop" }))
      assert.isTrue(Either.isLeft(yield* attempt(statusUrl)))

      yield* setPlan(baseUrl, "status", Faults.times({ kind: "invalidJson" }))
      const invalid = yield* call(statusUrl)
      assert.strictEqual(invalid.status, 200)
      assert.match(invalid.headers.get("content-type") ?? "", /json/)
      assert.throws(() => JSON.parse(invalid.text))

      yield* setPlan(baseUrl, "status", Faults.times({ kind: "schemaViolation" }))
      const violation = json(yield* call(statusUrl))
      assert.notStrictEqual(typeof violation.job_id, "string")

      yield* setPlan(baseUrl, "status", Faults.times({ kind: "otherJob" }))
      const other = json(yield* call(statusUrl))
      assert.isTrue(JobId.is(other.job_id))
      assert.notStrictEqual(other.job_id, id)

      yield* setPlan(baseUrl, "status", Faults.times({ kind: "delay", millis: 150 }))
      const t0 = Date.now()
      assert.strictEqual((yield* call(statusUrl)).status, 200)
      assert.isAtLeast(Date.now() - t0, 140)

      const full = yield* call(csvUrl)
      yield* setPlan(baseUrl, "csv", Faults.times({ kind: "truncate" }))
      const truncated = yield* attempt(csvUrl)
      assert.isTrue(Either.isLeft(truncated), "a body cut short of its Content-Length fails the read")

      yield* setPlan(baseUrl, "csv", Faults.times({ kind: "stall", millis: 150 }))
      const t1 = Date.now()
      const stalled = yield* call(csvUrl)
      assert.isAtLeast(Date.now() - t1, 140)
      assert.strictEqual(stalled.text, full.text)

      yield* setPlan(baseUrl, "csv", Faults.times({ kind: "schemaViolation" }))
      assert.isFalse((yield* call(csvUrl)).text.startsWith("url,title"))

      yield* setPlan(baseUrl, "csv", Faults.times({ kind: "truncate" }, 5))
      const cleared = yield* call(`${baseUrl}/__admin/faults`, { method: "DELETE" })
      assert.strictEqual(cleared.status, 200)
      assert.strictEqual((yield* call(csvUrl)).text, full.text)

      const after = yield* stats
      assert.strictEqual(after.faultsInjected - before, 10)
      const rejected = yield* call(`${baseUrl}/__admin/faults`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ route: "status", plan: { _tag: "Script", faults: [{ kind: "explode" }] } })
      })
      assert.strictEqual(rejected.status, 400)
    }))

  it.effect("setFaults on the service works like the admin endpoint", () =>
    Effect.gen(function*() {
      const { baseUrl, setFaults } = yield* Emulator.Emulator
      yield* setFaults("health", Faults.times({ kind: "status", status: 502 }, 2))
      assert.strictEqual((yield* call(`${baseUrl}/health`)).status, 502)
      assert.strictEqual((yield* call(`${baseUrl}/health`)).status, 502)
      assert.strictEqual((yield* call(`${baseUrl}/health`)).status, 200)
      yield* setFaults("plans", Faults.rate(1, { kind: "status", status: 500 }))
      assert.strictEqual((yield* call(`${baseUrl}/v0/plans`)).status, 500)
      yield* setFaults("plans", undefined)
      assert.strictEqual((yield* call(`${baseUrl}/v0/plans`)).status, 200)
    }))

  it.effect("a terminal status cut off by a fault does not count as seen by the client", () =>
    Effect.gen(function*() {
      const { baseUrl, setFaults, stats } = yield* Emulator.Emulator
      const id = yield* startJob(baseUrl, "cut off at the end")
      yield* Effect.sleep(Duration.millis(realTime.jobDuration.pipe(Duration.toMillis) + 100))
      const url = `${baseUrl}/v0/datasets/${id}`
      const headers = { "x-api-key": key }
      const before = (yield* stats).statusRequestsAfterTerminal
      yield* setFaults("status", Faults.times({ kind: "truncate" }, 1))
      assert.isTrue(Either.isLeft(yield* attempt(url, { headers })), "the truncated answer fails on the client")
      assert.strictEqual(json(yield* call(url, { headers })).status, "completed")
      assert.strictEqual((yield* stats).statusRequestsAfterTerminal, before, "the first delivered terminal status")
      yield* call(url, { headers })
      assert.strictEqual((yield* stats).statusRequestsAfterTerminal, before + 1, "a poll after the client saw it")
    }))

  it.effect("hostile requests get spec errors and the server keeps serving", () =>
    Effect.gen(function*() {
      const { baseUrl } = yield* Emulator.Emulator
      const post = (body: BodyInit, contentType = "application/json") =>
        attempt(`${baseUrl}/v0/datasets`, {
          method: "POST",
          headers: { "x-api-key": key, "content-type": contentType },
          body
        })
      const huge = yield* post(JSON.stringify({ search: "x".repeat(10 * 1024 * 1024) }))
      assert.strictEqual(Either.getOrThrow(huge).status, 413)
      assert.strictEqual(json(Either.getOrThrow(huge)).status, 413)
      // a large body without Content-Length (chunked)
      const chunked = yield* attempt(`${baseUrl}/v0/datasets`, {
        method: "POST",
        headers: { "x-api-key": key, "content-type": "application/json" },
        body: new ReadableStream({
          start(controller) {
            for (let i = 0; i < 3; i++) controller.enqueue(new TextEncoder().encode("x".repeat(1024 * 1024)))
            controller.close()
          }
        }),
        duplex: "half"
      } as RequestInit)
      assert.strictEqual(Either.getOrThrow(chunked).status, 413)
      const invalid = yield* post("{\"search\": \"unterminated")
      assert.strictEqual(Either.getOrThrow(invalid).status, 400)
      const wrongType = yield* post("search=climate", "text/plain")
      assert.strictEqual(Either.getOrThrow(wrongType).status, 400)
      const traversal = yield* call(`${baseUrl}/v0/datasets/..%2F..%2Fetc/csv?api_key=${key}`)
      assert.strictEqual(traversal.status, 404)
      assert.strictEqual(json(traversal).error, "Job not found")
      const dots = yield* call(`${baseUrl}/v0/datasets/../../etc/passwd`)
      assert.strictEqual(dots.status, 404)
      assert.isString(json(dots).error)
      const unknown = yield* call(`${baseUrl}/nothing/here`)
      assert.strictEqual(unknown.status, 404)
      assert.strictEqual(json(unknown).status, 404)
      const method = yield* call(`${baseUrl}/v0/datasets/20251110_151628`, { method: "DELETE" })
      assert.strictEqual(method.status, 405)
      assert.strictEqual(json(method).status, 405)
      assert.strictEqual((yield* call(`${baseUrl}/v0/datasets`, { method: "PUT" })).status, 405)
      // garbage on the socket
      const url = new URL(baseUrl)
      yield* Effect.promise(() =>
        new Promise<void>((resolve) => {
          const socket = net.connect(Number(url.port), url.hostname, () => socket.end("NOT HTTP AT ALL\r\n\r\n"))
          socket.on("error", () => resolve())
          socket.on("close", () => resolve())
          socket.resume()
        })
      )
      const health = yield* call(`${baseUrl}/health`)
      assert.strictEqual(health.status, 200)
      const id = yield* startJob(baseUrl, "still serving")
      assert.isTrue(JobId.is(id))
    }))
})

layer(
  Emulator.layer({
    faults: {
      health: Faults.times({ kind: "status", status: 503, retryAfter: 1 }),
      root: Faults.times({ kind: "drop" })
    }
  }),
  { excludeTestServices: true }
)("faults from options", (it) => {
  it.effect("apply from the first request on", () =>
    Effect.gen(function*() {
      const { baseUrl, stats } = yield* Emulator.Emulator
      const first = yield* call(`${baseUrl}/health`)
      assert.strictEqual(first.status, 503)
      assert.strictEqual(first.headers.get("retry-after"), "1")
      assert.strictEqual((yield* call(`${baseUrl}/health`)).status, 200)
      assert.isTrue(Either.isLeft(yield* attempt(`${baseUrl}/`)))
      assert.strictEqual((yield* call(`${baseUrl}/`)).status, 200)
      const s = yield* stats
      assert.strictEqual(s.requests.health, 2)
      assert.strictEqual(s.requests.root, 2)
      assert.strictEqual(s.faultsInjected, 2)
    }))
})

// ---------------------------------------------------------------------------
// The client of this project against the emulator

const clients: ReadonlyArray<[string, Layer.Layer<HttpClient.HttpClient>]> = [
  ["undici", NodeHttpClient.layerUndici],
  ["fetch", FetchHttpClient.layer]
]

const clientLayer = (
  http: Layer.Layer<HttpClient.HttpClient>,
  options: Partial<QoeryClient.Options> = {}
) =>
  Layer.unwrapEffect(
    Effect.map(Emulator.Emulator, (e) =>
      QoeryClient.layer({ apiKey: key, baseUrl: e.baseUrl, timeout: Duration.seconds(5), ...options }).pipe(
        Layer.orDie
      ))
  ).pipe(Layer.provide(http))

const withClient = <A, E, R>(
  http: Layer.Layer<HttpClient.HttpClient>,
  f: (client: QoeryClient.Service) => Effect.Effect<A, E, R>,
  options: Partial<QoeryClient.Options> = {}
) => Effect.flatMap(QoeryClient.QoeryClient, f).pipe(Effect.provide(clientLayer(http, options)))

const failure = <A>(effect: Effect.Effect<A, QoeryError.QoeryError>) => Effect.map(Effect.flip(effect), (e) => e)

const bytesToText = (chunks: Chunk.Chunk<Uint8Array>) => Buffer.concat([...chunks]).toString("utf8")

for (const [name, http] of clients) {
  layer(Emulator.layer(realTime), { excludeTestServices: true })(`client over ${name}`, (it) => {
    it.effect("start, status until completed, CSV bytes, usage, plans, health, apiInfo", () =>
      withClient(http, (client) =>
        Effect.gen(function*() {
          const emulator = yield* Emulator.Emulator
          const started = yield* client.startJob("climate change statistics")
          assert.strictEqual(Duration.toMillis(started.pollingInterval), 20)
          const viaGet = yield* client.startJob("climate change statistics", { method: "GET" })
          assert.notStrictEqual(viaGet.jobId, started.jobId)
          let status = yield* client.getStatus(started.jobId)
          for (let i = 0; i < 500 && !JobStatus.isTerminal(status); i++) {
            yield* Effect.sleep("20 millis")
            status = yield* client.getStatus(started.jobId)
          }
          assert.strictEqual(status.status, "completed")
          const csv = bytesToText(yield* Stream.runCollect(client.downloadCsv(started.jobId)))
          assert.strictEqual(csv, Option.getOrThrow(yield* emulator.expectedCsv(started.jobId)))
          assert.strictEqual(records(csv).length - 1, status.progress.rowsCollected)
          const usage = yield* client.usage
          assert.isAbove(usage.totalUsage, 2)
          const plans = yield* client.plans
          assert.property(plans.plans, plans.defaultPlan)
          assert.strictEqual((yield* client.health).status, "ok")
          assert.property((yield* client.apiInfo).endpoints, "POST /v0/datasets")
        })))

    it.effect("error statuses map to their QoeryError", () =>
      Effect.gen(function*() {
        const { setFaults } = yield* Emulator.Emulator
        const unauthorized = yield* withClient(http, (c) => failure(c.usage), { apiKey: "wrong-key" })
        assert.strictEqual(unauthorized._tag, "Unauthorized")
        const notFound = yield* withClient(http, (c) => failure(c.getStatus("20200101_000000")))
        assert.strictEqual(notFound._tag, "JobNotFound")
        const csvNotFound = yield* withClient(http, (c) => failure(Stream.runDrain(c.downloadCsv("20200101_000000"))))
        assert.strictEqual(csvNotFound._tag, "JobNotFound")

        const id = yield* withClient(http, (c) => Effect.map(c.startJob("faults"), (s) => s.jobId))

        yield* setFaults("status", Faults.times({ kind: "status", status: 429, retryAfter: 3 }))
        const limited = yield* withClient(http, (c) => failure(c.getStatus(id)))
        assert.strictEqual(limited._tag, "RateLimited")
        if (limited._tag === "RateLimited") assert.strictEqual(Duration.toSeconds(limited.retryAfter), 3)

        yield* setFaults("status", Faults.times({ kind: "status", status: 503 }))
        const server = yield* withClient(http, (c) => failure(c.getStatus(id)))
        assert.strictEqual(server._tag, "ServerError")

        yield* setFaults("status", Faults.times({ kind: "drop" }))
        const dropped = yield* withClient(http, (c) => failure(c.getStatus(id)))
        assert.strictEqual(dropped._tag, "TransportError")

        for (const kind of ["invalidJson", "schemaViolation", "otherJob"] as const) {
          yield* setFaults("status", Faults.times({ kind }))
          const broken = yield* withClient(http, (c) => failure(c.getStatus(id)))
          assert.strictEqual(broken._tag, "ResponseError", kind)
        }

        yield* setFaults("status", Faults.times({ kind: "delay", millis: 1_000 }))
        const slow = yield* withClient(http, (c) => failure(c.getStatus(id)), { timeout: Duration.millis(150) })
        assert.strictEqual(slow._tag, "TransportError")
        if (slow._tag === "TransportError") assert.strictEqual(slow.reason, "Timeout")

        yield* setFaults("csv", Faults.times({ kind: "truncate" }))
        yield* Effect.sleep("400 millis")
        const truncated = yield* withClient(http, (c) => failure(Stream.runDrain(c.downloadCsv(id))))
        assert.strictEqual(truncated._tag, "TransportError")
      }))
  })
}

layer(Emulator.layer({ jobDuration: "1 hour", quota: 2 }), { excludeTestServices: true })("client, slow jobs", (it) => {
  it.effect("CsvNotReady before the first rows; QuotaExceeded with the reset date once the quota is spent", () =>
    withClient(NodeHttpClient.layerUndici, (client) =>
      Effect.gen(function*() {
        const { jobId } = yield* client.startJob("slow job")
        const notReady = yield* failure(Stream.runDrain(client.downloadCsv(jobId)))
        assert.strictEqual(notReady._tag, "CsvNotReady")
        yield* client.startJob("slow job")
        const over = yield* failure(client.startJob("slow job"))
        assert.strictEqual(over._tag, "QuotaExceeded")
        if (over._tag === "QuotaExceeded") {
          const reset = over.resetDate!
          const now = new Date()
          assert.strictEqual(reset.epochMillis, Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1))
        }
      })))
})

// ---------------------------------------------------------------------------
// The handler without a server

describe("Emulator.make", () => {
  it.live("serves through NodeHttpServer.layerTest", () =>
    Effect.gen(function*() {
      const client = yield* HttpClient.HttpClient
      const response = yield* client.get("/v0/datasets?search=handler&api_key=" + key)
      assert.strictEqual(response.status, 200)
      const body = yield* response.json
      assert.isTrue(JobId.is((body as any).job_id))
    }).pipe(
      Effect.provide(
        Layer.unwrapEffect(Effect.map(Emulator.make({ jobDuration: "1 second" }), (app) => HttpServer.serve(app)))
          .pipe(Layer.provideMerge(NodeHttpServer.layerTest))
      )
    ))

  it.live("holds 10,000 jobs and answers each, as a web handler", () =>
    Effect.gen(function*() {
      const app = yield* Emulator.make({ jobDuration: "10 minutes", quota: 1_000_000 })
      const handler = HttpApp.toWebHandler(app)
      const ids: Array<string> = []
      for (let i = 0; i < 10_000; i++) {
        const response: Response = yield* Effect.promise(() =>
          handler(new Request(`http://emulator/v0/datasets?search=job%20${i}&api_key=${key}`))
        )
        ids.push(((yield* Effect.promise(() => response.json())) as any).job_id)
      }
      assert.strictEqual(new Set(ids).size, 10_000)
      for (const id of [ids[0]!, ids[4_999]!, ids[9_999]!]) {
        const response = yield* Effect.promise(() =>
          handler(new Request(`http://emulator/v0/datasets/${id}?api_key=${key}`))
        )
        assert.strictEqual(((yield* Effect.promise(() => response.json())) as any).job_id, id)
      }
    }), 60_000)
})
