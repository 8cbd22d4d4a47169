import { JobStatus, QoeryClient, QoeryError } from "@effect-qoery/client"
import * as LeanFetchHttpClient from "@effect-qoery/client/FetchHttpClient"
import * as UndiciHttpClient from "@effect-qoery/client/UndiciHttpClient"
import { FetchHttpClient } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Duration, Effect, Either, Layer, ParseResult, Redacted, Stream } from "effect"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import * as zlib from "node:zlib"
import { wireStatus } from "../../../test/support/statuses.js"
import { parseRetryAfter } from "../src/internal/responses.js"

const key = "sk-test-0123456789-secret"

const status = wireStatus({ urls: ["https://example.com/data1"] })

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void
interface Seen {
  readonly method: string
  readonly url: string
  readonly headers: http.IncomingHttpHeaders
  readonly body: string
}

let handler: Handler = (_req, res) => json(res, 500, { error: "no handler" })
const seen: Array<Seen> = []
let server: http.Server
let baseUrl = ""

const json = (res: http.ServerResponse, code: number, body: unknown, headers: http.OutgoingHttpHeaders = {}) => {
  res.writeHead(code, { "content-type": "application/json", ...headers })
  res.end(JSON.stringify(body))
}

const html = (res: http.ServerResponse, code: number, body: string) => {
  res.writeHead(code, { "content-type": "text/html" })
  res.end(body)
}

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = ""
    req.on("data", (c) => body += c)
    req.on("end", () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body })
      handler(req, res, body)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

const serve = (h: Handler) => {
  handler = h
  seen.length = 0
}

const clients = {
  undici: NodeHttpClient.layerUndici,
  fetch: FetchHttpClient.layer,
  UndiciHttpClient: UndiciHttpClient.layer,
  LeanFetchHttpClient: LeanFetchHttpClient.layer
}

const withClient = <A, E>(
  f: (client: QoeryClient.Service) => Effect.Effect<A, E>,
  options: Partial<QoeryClient.Options> = {},
  http: Layer.Layer<import("@effect/platform").HttpClient.HttpClient> = clients.undici
) =>
  Effect.flatMap(QoeryClient.QoeryClient, f).pipe(
    Effect.provide(QoeryClient.layer({ apiKey: key, baseUrl, ...options }).pipe(Layer.provide(http)))
  )

const failure = <A>(effect: Effect.Effect<A, QoeryError.QoeryError>) =>
  Effect.map(Effect.either(effect), (e) => {
    assert.isTrue(Either.isLeft(e), "expected a failure")
    return (e as Either.Left<QoeryError.QoeryError, A>).left
  })

/** The key must never show in what an error prints, serializes or carries. */
const assertNoKey = (error: unknown) => {
  for (
    const text of [String(error), JSON.stringify(error), (error as Error).message ?? "", (error as Error).stack ?? ""]
  ) {
    assert.notInclude(text, key)
  }
}

for (const [name, httpLayer] of Object.entries(clients)) {
  describe(`QoeryClient over ${name}`, () => {
    it.effect("startJob POSTs the search as JSON with the key in x-api-key only", () =>
      Effect.gen(function*() {
        serve((_req, res) =>
          json(res, 200, { job_id: "20251110_151628", status: "processing", polling_interval_ms: 1500 })
        )
        const started = yield* withClient((c) => c.startJob("climate change statistics"), {}, httpLayer)
        assert.strictEqual(started.jobId, "20251110_151628")
        assert.strictEqual(Duration.toMillis(started.pollingInterval!), 1500)
        const [request] = seen
        assert.strictEqual(request!.method, "POST")
        assert.strictEqual(request!.url, "/v0/datasets")
        assert.deepStrictEqual(JSON.parse(request!.body), { search: "climate change statistics" })
        assert.strictEqual(request!.headers["x-api-key"], key)
        assert.notInclude(request!.url, key)
        assert.isUndefined(request!.headers.authorization)
      }))

    it.effect("startJob with GET puts the search in the query", () =>
      Effect.gen(function*() {
        serve((_req, res) =>
          json(res, 200, { job_id: "20251110_151628", status: "processing", polling_interval_ms: 900 })
        )
        yield* withClient((c) => c.startJob("a & b", { method: "GET" }), {}, httpLayer)
        assert.strictEqual(seen[0]!.method, "GET")
        assert.strictEqual(new URL(seen[0]!.url, baseUrl).searchParams.get("search"), "a & b")
      }))

    it.effect("getStatus decodes a status", () =>
      Effect.gen(function*() {
        serve((_req, res) => json(res, 200, status))
        const s = yield* withClient((c) => c.getStatus("20251110_151628"), {}, httpLayer)
        assert.instanceOf(s, JobStatus.Processing)
        assert.strictEqual(seen[0]!.url, "/v0/datasets/20251110_151628")
      }))

    it.effect("downloadCsv streams the bytes", () =>
      Effect.gen(function*() {
        const csv = "url,title,value,dimension,timestamp\r\nhttps://a,\"x, y\",1,2020,\r\n"
        serve((_req, res) => {
          res.writeHead(200, { "content-type": "text/csv" })
          res.end(csv)
        })
        const bytes = yield* withClient(
          (c) => Stream.runCollect(Stream.decodeText(c.downloadCsv("20251110_151628"))),
          {},
          httpLayer
        )
        assert.strictEqual(Array.from(bytes).join(""), csv)
        assert.strictEqual(seen[0]!.url, "/v0/datasets/20251110_151628/csv")
      }))

    it.effect("a CSV cut short of its Content-Length is a Truncated TransportError", () =>
      Effect.gen(function*() {
        serve((_req, res) => {
          res.writeHead(200, { "content-type": "text/csv", "content-length": "1000" })
          res.write("url,title,value,dimension,timestamp\n")
          setTimeout(() => res.socket?.destroy(), 20)
        })
        const error = yield* failure(
          withClient((c) => Stream.runDrain(c.downloadCsv("20251110_151628")), {}, httpLayer)
        )
        assert.strictEqual(error._tag, "TransportError")
        assert.strictEqual((error as QoeryError.TransportError).reason, "Truncated")
        assert.include(error.message, "of the 1000 bytes announced")
        assert.isTrue(QoeryError.isTransient(error))
      }))

    it.effect("a gzip-compressed CSV (as a CDN sends when asked) is whole: its encoded Content-Length is not checked against decoded bytes", () =>
      Effect.gen(function*() {
        const csv = "url,title,value,dimension,timestamp\r\n" +
          Array.from({ length: 2_000 }, (_, i) => `https://a/${i},"row ${i}, again",${i},2020,\r\n`).join("")
        const gzipped = zlib.gzipSync(csv)
        serve((req, res) => {
          const accepts = /\bgzip\b/.test(String(req.headers["accept-encoding"] ?? ""))
          res.writeHead(200, {
            "content-type": "text/csv",
            "content-length": String(accepts ? gzipped.length : Buffer.byteLength(csv)),
            ...(accepts ? { "content-encoding": "gzip" } : {})
          })
          res.end(accepts ? gzipped : csv)
        })
        const text = yield* withClient(
          (c) => Stream.mkString(Stream.decodeText(c.downloadCsv("20251110_151628"))),
          {},
          httpLayer
        )
        assert.strictEqual(text, csv)
        if (name === "fetch") assert.match(String(seen[0]!.headers["accept-encoding"]), /gzip/)
      }))

    it.effect("a JSON body over maxResponseBytes is a ResponseError saying it is too big, not retried", () =>
      Effect.gen(function*() {
        const big = { ...status, urls: Array.from({ length: 20_000 }, (_, i) => `https://example.com/${i}`) }
        const text = JSON.stringify(big)
        // Announced, streamed without a length, and gzip-compressed (a small encoded length, a big decoded body).
        const ways: ReadonlyArray<[string, Handler]> = [
          ["with Content-Length", (_q, r) => json(r, 200, big)],
          ["chunked", (_q, r) => {
            r.writeHead(200, { "content-type": "application/json" })
            r.write(text.slice(0, 1000))
            r.end(text.slice(1000))
          }],
          ["gzip", (req, r) => {
            const accepts = /\bgzip\b/.test(String(req.headers["accept-encoding"] ?? ""))
            const body = accepts ? zlib.gzipSync(text) : Buffer.from(text)
            r.writeHead(200, {
              "content-type": "application/json",
              "content-length": String(body.length),
              ...(accepts ? { "content-encoding": "gzip" } : {})
            })
            r.end(body)
          }]
        ]
        for (const [way, handler] of ways) {
          serve(handler)
          const error = yield* failure(
            withClient((c) => c.getStatus("20251110_151628"), { maxResponseBytes: 100_000 }, httpLayer)
          )
          assert.strictEqual(error._tag, "ResponseError", way)
          assert.include(error.message, "too big", way)
          assert.isFalse(QoeryError.isTransient(error), way)
          assert.isBelow(error.message.length, 300, way)
        }
        // Under the default bound (1 MiB), the same status is read.
        serve((_q, r) => json(r, 200, big))
        const read = yield* withClient((c) => c.getStatus("20251110_151628"), {}, httpLayer)
        assert.lengthOf(read.urls, 20_000)
        serve((_q, r) => json(r, 200, { ...status, query: "x".repeat(2 * 1024 * 1024) }))
        const overDefault = yield* failure(withClient((c) => c.getStatus("20251110_151628"), {}, httpLayer))
        assert.include(overDefault.message, "too big")
      }))

    it.effect("a redirect is not followed, so the key goes nowhere else", () =>
      Effect.gen(function*() {
        serve((req, res) => {
          if (req.url === "/elsewhere") return json(res, 200, status)
          res.writeHead(307, { location: `${baseUrl.replace("127.0.0.1", "localhost")}/elsewhere` })
          res.end()
        })
        const error = yield* failure(withClient((c) => c.getStatus("20251110_151628"), {}, httpLayer))
        assert.strictEqual(error._tag, "ResponseError")
        assert.deepStrictEqual(seen.map((s) => s.url), ["/v0/datasets/20251110_151628"])
      }))

    it.effect("usage, plans, health and apiInfo", () =>
      Effect.gen(function*() {
        serve((req, res) => {
          switch (req.url) {
            case "/v0/usage":
              return json(res, 200, {
                user_id: "u",
                plan: "free",
                totalUsage: 1,
                totalErrors: 0,
                endpointBreakdown: []
              })
            case "/v0/plans":
              return json(res, 200, { plans: {}, default_plan: "free" })
            case "/health":
              return json(res, 200, { status: "ok", timestamp: "2025-11-10T15:16:28Z" })
            default:
              return json(res, 200, { message: "Datasets API", endpoints: {} })
          }
        })
        const [usage, plans, health, info] = yield* withClient(
          (c) => Effect.all([c.usage, c.plans, c.health, c.apiInfo]),
          {},
          httpLayer
        )
        assert.strictEqual(usage.plan, "free")
        assert.strictEqual(plans.defaultPlan, "free")
        assert.strictEqual(health.status, "ok")
        assert.strictEqual(info.message, "Datasets API")
        // health and plans need no key, so they do not get it
        assert.isUndefined(seen.find((s) => s.url === "/health")!.headers["x-api-key"])
        assert.isUndefined(seen.find((s) => s.url === "/v0/plans")!.headers["x-api-key"])
      }))
  })
}

describe("QoeryClient errors", () => {
  const cases: ReadonlyArray<[string, Handler, string, (e: any) => void]> = [
    [
      "401",
      (_q, r) => json(r, 401, { error: "Invalid API key", status: 401, details: "revoked" }),
      "Unauthorized",
      (e) => {
        assert.strictEqual(e.error, "Invalid API key")
        assert.include(e.message, "QOERY_API_KEY")
      }
    ],
    ["404", (_q, r) => json(r, 404, { error: "Job not found", status: 404 }), "JobNotFound", (e) => {
      assert.strictEqual(e.jobId, "20251110_151628")
    }],
    [
      "429 without Retry-After",
      (_q, r) =>
        json(r, 429, { error: "Monthly quota exceeded", status: 429, reset_date: "2025-12-01T00:00:00Z" }, {
          "x-ratelimit-limit": "100",
          "x-ratelimit-remaining": "0"
        }),
      "QuotaExceeded",
      (e) => {
        assert.strictEqual(e.resetDate.epochMillis, Date.parse("2025-12-01T00:00:00Z"))
        assert.deepStrictEqual(e.rateLimit, { limit: 100, remaining: 0 })
        assert.include(e.message, "2025-12-01")
        assert.isFalse(QoeryError.isTransient(e))
      }
    ],
    [
      "429 with Retry-After",
      (_q, r) => json(r, 429, { error: "Slow down" }, { "retry-after": "7" }),
      "RateLimited",
      (e) => {
        assert.strictEqual(Duration.toMillis(e.retryAfter), 7000)
        assert.isTrue(QoeryError.isTransient(e))
      }
    ],
    ["500", (_q, r) => json(r, 500, { error: "Error getting job status" }), "ServerError", (e) => {
      assert.strictEqual(e.status, 500)
      assert.strictEqual(e.error, "Error getting job status")
      assert.isTrue(QoeryError.isTransient(e))
    }],
    [
      "503 with Retry-After in seconds",
      (_q, r) => json(r, 503, { error: "Service Unavailable" }, { "retry-after": "3" }),
      "ServerError",
      (e) => {
        assert.strictEqual(e.status, 503)
        assert.strictEqual(Duration.toMillis(e.retryAfter), 3000)
        assert.strictEqual(Duration.toMillis(QoeryError.retryAfter(e)!), 3000)
        assert.include(e.message, "retry after 3s")
      }
    ],
    [
      "503 with Retry-After as an HTTP date",
      (_q, r) =>
        json(r, 503, { error: "Service Unavailable" }, {
          // The TestClock stands at the epoch: two minutes from now.
          "retry-after": new Date(120_000).toUTCString()
        }),
      "ServerError",
      (e) => assert.strictEqual(Duration.toMillis(e.retryAfter), 120_000)
    ],
    [
      "502 in HTML",
      (_q, r) => {
        r.writeHead(502, { "content-type": "text/html" })
        r.end("<html>Bad gateway</html>")
      },
      "ServerError",
      (e) => assert.strictEqual(e.status, 502)
    ],
    ["an unlisted status", (_q, r) => json(r, 418, { error: "teapot" }), "ResponseError", (e) => {
      assert.strictEqual(e.status, 418)
      assert.include(e.message, "418")
    }],
    [
      "a redirect",
      (_q, r) => {
        r.writeHead(302, { location: "http://127.0.0.2:1/steal" })
        r.end()
      },
      "ResponseError",
      (e) => assert.include(e.message, "redirects are not followed")
    ],
    [
      "a body that is not JSON",
      (_q, r) => {
        r.writeHead(200, { "content-type": "application/json" })
        r.end("<html>oops")
      },
      "ResponseError",
      (e) => {
        assert.include(e.description, "expected a JobStatus as JSON")
        assert.include(e.description, "<html>oops")
      }
    ],
    [
      "a body that breaks the schema",
      (_q, r) => json(r, 200, { ...status, progress: { ...status.progress, rows_collected: -3 } }),
      "ResponseError",
      (e) => {
        // one line: the path and what was wrong, not the schema's tree; the whole error is the cause
        assert.strictEqual(
          e.description,
          "expected a JobStatus: progress.rows_collected: Expected a non-negative number, actual -3"
        )
        assert.isTrue(ParseResult.isParseError(e.cause))
      }
    ],
    [
      "a body that breaks the schema in five places",
      (_q, r) =>
        json(r, 200, {
          ...status,
          progress: {
            current_step: 7,
            rows_collected: -3,
            urls_processed: "x",
            urls_total: -1,
            last_updated: "yesterday"
          }
        }),
      "ResponseError",
      (e) => {
        assert.notInclude(e.description, "\n")
        assert.match(
          e.description,
          /^expected a JobStatus: progress\.\w+: .+; progress\.\w+: .+; progress\.\w+: .+; and 2 more$/
        )
      }
    ],
    [
      "the status of another job",
      (_q, r) => json(r, 200, { ...status, job_id: "20251110_151629" }),
      "ResponseError",
      (e) => {
        assert.include(e.description, "20251110_151629")
      }
    ],
    [
      "a 401 whose body is not JSON",
      (_q, r) => {
        r.writeHead(401)
        r.end("nope")
      },
      "Unauthorized",
      (e) => {
        assert.strictEqual(e.error, "Unauthorized")
        assert.include(e.message, "QOERY_API_KEY")
        assert.notInclude(e.message, "nope")
      }
    ],
    [
      "a 401 in HTML (a proxy's page)",
      (_q, r) => html(r, 401, "<html><body>401 Authorization Required</body></html>"),
      "Unauthorized",
      (e) => assert.include(e.details, "not a JSON error body")
    ],
    [
      "a 404 in HTML (a proxy's page)",
      (_q, r) => html(r, 404, "<html><body>404 Not Found</body></html>"),
      "JobNotFound",
      (e) => assert.strictEqual(e.jobId, "20251110_151628")
    ],
    [
      "429 with a Retry-After that is not one (-5)",
      (_q, r) => json(r, 429, { error: "Slow down" }, { "retry-after": "-5" }),
      "QuotaExceeded",
      (e) => assert.strictEqual(e.error, "Slow down")
    ],
    [
      "429 with a Retry-After of absurd length",
      (_q, r) => json(r, 429, { error: "Slow down" }, { "retry-after": "99999999999999999999999" }),
      "QuotaExceeded",
      (e) => assert.notInclude(e.message, "h ")
    ],
    [
      "503 with a Retry-After that is not one (abc 1)",
      (_q, r) => json(r, 503, { error: "Service Unavailable" }, { "retry-after": "abc 1" }),
      "ServerError",
      (e) => {
        assert.isUndefined(e.retryAfter)
        assert.isUndefined(QoeryError.retryAfter(e))
      }
    ],
    ["a dropped connection", (q) => q.socket.destroy(), "TransportError", (e) => {
      assert.strictEqual(e.reason, "Transport")
      assert.isTrue(QoeryError.isTransient(e))
    }]
  ]
  for (const [name, h, tag, check] of cases) {
    it.effect(`${name} -> ${tag}`, () =>
      Effect.gen(function*() {
        serve(h)
        const error = yield* failure(withClient((c) => c.getStatus("20251110_151628")))
        assert.strictEqual(error._tag, tag)
        check(error)
        assertNoKey(error)
      }))
  }

  it.effect("CSV 404 before the first rows is CsvNotReady; for an unknown job, JobNotFound", () =>
    Effect.gen(function*() {
      serve((_q, r) =>
        json(r, 404, { error: "CSV not ready yet", status: 404, details: "The job is still processing." })
      )
      const notReady = yield* failure(withClient((c) => Stream.runDrain(c.downloadCsv("20251110_151628"))))
      assert.strictEqual(notReady._tag, "CsvNotReady")
      serve((_q, r) => json(r, 404, { error: "Job not found", status: 404 }))
      const notFound = yield* failure(withClient((c) => Stream.runDrain(c.downloadCsv("20251110_151628"))))
      assert.strictEqual(notFound._tag, "JobNotFound")
    }))

  it.effect("a CSV 404 in HTML is CsvNotReady, as a JSON one that does not say not found", () =>
    Effect.gen(function*() {
      serve((_q, r) => html(r, 404, "<html><body>Not here</body></html>"))
      const error = yield* failure(withClient((c) => Stream.runDrain(c.downloadCsv("20251110_151628"))))
      assert.strictEqual(error._tag, "CsvNotReady")
      assert.strictEqual((error as QoeryError.CsvNotReady).jobId, "20251110_151628")
    }))

  it.effect("400 and 401 in HTML on start keep their tags", () =>
    Effect.gen(function*() {
      serve((_q, r) => html(r, 400, "<html><body>Request blocked</body></html>"))
      const bad = yield* failure(withClient((c) => c.startJob("x")))
      assert.strictEqual(bad._tag, "BadRequest")
      assert.notInclude(bad.message, "blocked")
      serve((_q, r) => html(r, 401, "<html><body>Sign in</body></html>"))
      const refused = yield* failure(withClient((c) => c.startJob("x")))
      assert.strictEqual(refused._tag, "Unauthorized")
      assertNoKey(refused)
    }))

  it.effect("a start answer with an invalid polling hint keeps the job, the hint left out", () =>
    Effect.gen(function*() {
      for (const hint of [1500.5, -1, null, "1500"]) {
        serve((_q, r) => json(r, 200, { job_id: "20251110_151628", status: "processing", polling_interval_ms: hint }))
        const started = yield* withClient((c) => c.startJob("x"))
        assert.strictEqual(started.jobId, "20251110_151628", String(hint))
        assert.isUndefined(started.pollingInterval, String(hint))
      }
    }))

  it.effect("a start answer broken elsewhere names the job it started", () =>
    Effect.gen(function*() {
      serve((_q, r) => json(r, 200, { job_id: "20251110_151628", status: "queued", polling_interval_ms: -1 }))
      const error = yield* failure(withClient((c) => c.startJob("x")))
      assert.strictEqual(error._tag, "ResponseError")
      assert.include(error.message, "job 20251110_151628 was started")
      assert.include(error.message, "queued")
      serve((_q, r) => json(r, 200, { job_id: "nope", status: "processing", polling_interval_ms: 1500 }))
      const noId = yield* failure(withClient((c) => c.startJob("x")))
      assert.notInclude(noId.message, "was started")
    }))

  it.effect("400 on start is BadRequest with the details", () =>
    Effect.gen(function*() {
      serve((_q, r) =>
        json(r, 400, {
          error: "Search parameter must be a non-empty string",
          status: 400,
          details: "at least 1 character"
        })
      )
      const error = yield* failure(withClient((c) => c.startJob("x")))
      assert.strictEqual(error._tag, "BadRequest")
      assert.include(error.message, "at least 1 character")
    }))

  it.live("a response slower than the timeout is a Timeout TransportError, and the request is aborted", () =>
    Effect.gen(function*() {
      let closed = false
      serve((req, res) => {
        req.socket.on("close", () => closed = true)
        setTimeout(() => json(res, 200, status), 2_000).unref()
      })
      const error = yield* failure(withClient((c) => c.getStatus("20251110_151628"), { timeout: "150 millis" }))
      assert.strictEqual(error._tag, "TransportError")
      assert.strictEqual((error as QoeryError.TransportError).reason, "Timeout")
      yield* Effect.sleep("100 millis")
      assert.isTrue(closed, "the connection of the timed out request is closed")
    }))
})

describe("parseRetryAfter", () => {
  // 2025-11-10T15:16:28Z
  const now = Date.UTC(2025, 10, 10, 15, 16, 28)
  const millis = (value: string) => {
    const parsed = parseRetryAfter(value, now)
    return parsed === undefined ? undefined : Duration.toMillis(parsed)
  }

  it("delta-seconds, with a decimal fraction, and surrounding spaces", () => {
    assert.strictEqual(millis("7"), 7_000)
    assert.strictEqual(millis(" 0 "), 0)
    assert.strictEqual(millis("1.5"), 1_500)
    assert.strictEqual(millis("86400"), 86_400_000)
  })

  it("the three HTTP-date forms, a past one being no wait", () => {
    assert.strictEqual(millis("Mon, 10 Nov 2025 15:17:28 GMT"), 60_000)
    assert.strictEqual(millis("Monday, 10-Nov-25 15:17:28 GMT"), 60_000)
    assert.strictEqual(millis("Mon Nov 10 15:17:28 2025"), 60_000)
    assert.strictEqual(millis("Wed Nov  5 15:16:28 2025"), 0)
    assert.strictEqual(millis("Sun, 06 Nov 1994 08:49:37 GMT"), 0)
    assert.strictEqual(millis("Sunday, 06-Nov-94 08:49:37 GMT"), 0)
    assert.strictEqual(millis("Sun Nov  6 08:49:37 1994"), 0)
  })

  it("anything else is no Retry-After", () => {
    for (
      const value of [
        "",
        " ",
        "-5",
        "-1",
        "abc 1",
        "12 13",
        "3, 4",
        "soon",
        "Infinity",
        "1e400",
        "1e3",
        "0x10",
        "+5",
        ".5",
        "5.",
        "Mon, 10 Nov 2025 15:17:28 UTC",
        "mon, 10 nov 2025 15:17:28 GMT",
        "Mon, 31 Feb 2025 15:17:28 GMT",
        "Mon, 10 Nov 2025 25:17:28 GMT",
        "2025-11-10T15:17:28Z",
        "Mon Nov 10 15:17:28 2025 GMT"
      ]
    ) {
      assert.isUndefined(millis(value), JSON.stringify(value))
    }
    assert.isUndefined(parseRetryAfter(undefined, now))
  })

  it("a wait over a day is implausible and ignored", () => {
    assert.isUndefined(millis("86401"))
    assert.isUndefined(millis("99999999999999999999999"))
    assert.isUndefined(millis("Tue, 11 Nov 2025 15:16:29 GMT"))
    assert.strictEqual(millis("Tue, 11 Nov 2025 15:16:28 GMT"), 86_400_000)
  })
})

describe("parseBaseUrl quotes nothing of a base URL that may hold the key", () => {
  const unparseable: ReadonlyArray<readonly [input: string, problem: RegExp]> = [
    [`api.qoery.com/?api_key=${key}`, /does not start with http:\/\/ or https:\/\//],
    [`${key}@api.qoery.com`, /does not start with http:\/\/ or https:\/\//],
    [`http://127.0.0.1:99999/?api_key=${key}`, /port is not a number from 0 to 65535/],
    [`https://h:443x/?api_key=${key}`, /port is not a number from 0 to 65535/],
    [`http://[${key}]`, /host is not an IPv6 address in brackets/]
  ]
  for (const [input, problem] of unparseable) {
    it(`says what is wrong with ${input.replace(key, "KEY")}, without the key`, () => {
      const result = QoeryClient.parseBaseUrl(input)
      assert.isTrue(Either.isLeft(result))
      if (Either.isLeft(result)) {
        const error = result.left
        assert.strictEqual(error.field, "baseUrl")
        assert.match(error.message, problem)
        assert.include(error.message, "expected an origin such as https://api.qoery.com")
        assert.notInclude(error.message, key.slice(3, 12))
        assertNoKey(error)
      }
    })
  }

  it("a scheme is quoted only when it is a short word", () => {
    const scheme = (input: string) =>
      Either.match(QoeryClient.parseBaseUrl(input), {
        onLeft: (error) => error.description,
        onRight: () => "parsed"
      })
    assert.strictEqual(scheme("ftp://api.qoery.com"), "expected http or https, got ftp:")
    assert.strictEqual(scheme(`${key}:x@api.qoery.com`), "expected http or https, got another scheme")
  })

  it.effect("the layer's message has no key whatever the input, in any case (a host, a scheme)", () =>
    Effect.gen(function*() {
      const letters = "QoKeyAbc"
      for (
        const [apiKey, url] of [
          [key, `http://${key}.example.com`],
          [letters, `${letters}://api.qoery.com`],
          [letters, `http://${letters}.example.com`]
        ] as const
      ) {
        const exit = yield* Effect.exit(
          Layer.build(QoeryClient.layer({ apiKey, baseUrl: url })).pipe(
            Effect.provide(NodeHttpClient.layerUndici),
            Effect.scoped
          )
        )
        assert.isTrue(exit._tag === "Failure", url)
        const text = JSON.stringify(exit) + String(exit)
        assert.notInclude(text.toLowerCase(), apiKey.toLowerCase(), url)
      }
    }))
})

describe("bad input fails before any request", () => {
  const noRequest = <A>(effect: Effect.Effect<A, QoeryError.QoeryError>, field: string) =>
    Effect.gen(function*() {
      serve((_q, r) => json(r, 200, {}))
      const error = yield* failure(effect)
      assert.strictEqual(error._tag, "InvalidInput")
      assert.strictEqual((error as QoeryError.InvalidInput).field, field)
      assert.lengthOf(seen, 0)
      return error
    })

  it.effect("empty, blank, too long and control-character searches", () =>
    Effect.gen(function*() {
      for (const search of ["", "   \t\n", "x".repeat(100_000), "a\u0000b", "a\u001bb"]) {
        yield* noRequest(withClient((c) => c.startJob(search)), "search")
      }
    }))

  it.effect("invalid job ids, with what a job id looks like", () =>
    Effect.gen(function*() {
      for (
        const id of [
          "",
          " ",
          "20251310_151628",
          "20250230_000000",
          "../../etc/passwd",
          "9".repeat(10_000),
          "２０２５１１１０_１５１６２８"
        ]
      ) {
        const error = yield* noRequest(withClient((c) => c.getStatus(id)), "jobId")
        assert.isBelow(error.message.length, 300)
        yield* noRequest(withClient((c) => Stream.runDrain(c.downloadCsv(id))), "jobId")
      }
    }))

  it.effect("a missing key on an endpoint that needs one", () =>
    Effect.gen(function*() {
      const error = yield* noRequest(
        Effect.flatMap(QoeryClient.QoeryClient, (c) => c.getStatus("20251110_151628")).pipe(
          Effect.provide(QoeryClient.layer({ baseUrl }).pipe(Layer.provide(NodeHttpClient.layerUndici)))
        ),
        "apiKey"
      )
      assert.include(error.message, "QOERY_API_KEY")
    }))

  const layerError = (options: QoeryClient.Options) =>
    Effect.flip(
      Layer.build(QoeryClient.layer(options).pipe(Layer.provide(NodeHttpClient.layerUndici))).pipe(Effect.scoped)
    )

  it.effect("base URLs that are not an http(s) origin", () =>
    Effect.gen(function*() {
      for (
        const url of [
          "ftp://api.qoery.com",
          "not a url",
          "https://user:pw@api.qoery.com",
          "https://api.qoery.com/v0",
          "https://api.qoery.com/?x=1",
          "file:///etc/passwd"
        ]
      ) {
        const error = yield* layerError({ baseUrl: url, apiKey: key })
        assert.strictEqual(error.field, "baseUrl", url)
        assertNoKey(error)
      }
    }))

  it.effect("the key is not sent over plain http to a host that is not loopback, unless allowed", () =>
    Effect.gen(function*() {
      const error = yield* layerError({ baseUrl: "http://api.example.com", apiKey: key })
      assert.include(error.message, "plain http")
      const ok = yield* Effect.either(
        Layer.build(
          QoeryClient.layer({ baseUrl: "http://api.example.com", apiKey: key, allowInsecureKey: true }).pipe(
            Layer.provide(NodeHttpClient.layerUndici)
          )
        ).pipe(Effect.scoped)
      )
      assert.isTrue(Either.isRight(ok))
    }))

  it.effect("a Redacted key works and an empty one is refused", () =>
    Effect.gen(function*() {
      serve((_req, res) => json(res, 200, status))
      yield* withClient((c) => c.getStatus("20251110_151628"), { apiKey: Redacted.make(key) })
      assert.strictEqual(seen[0]!.headers["x-api-key"], key)
      const error = yield* layerError({ baseUrl, apiKey: "" })
      assert.strictEqual(error.field, "apiKey")
    }))

  it.effect("zero and negative timeouts are refused", () =>
    Effect.gen(function*() {
      for (const timeout of [0, -5, Number.NaN]) {
        const error = yield* layerError({ baseUrl, apiKey: key, timeout })
        assert.strictEqual(error.field, "timeout")
      }
    }))
})

describe("layerConfig", () => {
  it.effect("reads QOERY_API_KEY and QOERY_BASE_URL", () =>
    Effect.gen(function*() {
      serve((_req, res) => json(res, 200, status))
      const { ConfigProvider } = yield* Effect.promise(() => import("effect"))
      yield* Effect.flatMap(QoeryClient.QoeryClient, (c) => c.getStatus("20251110_151628")).pipe(
        Effect.provide(QoeryClient.layerConfig.pipe(Layer.provide(NodeHttpClient.layerUndici))),
        Effect.withConfigProvider(
          ConfigProvider.fromMap(new Map([["QOERY_API_KEY", key], ["QOERY_BASE_URL", baseUrl]]))
        )
      )
      assert.strictEqual(seen[0]!.headers["x-api-key"], key)
    }))
})
