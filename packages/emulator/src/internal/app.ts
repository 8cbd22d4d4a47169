import { JobStatus, Payloads } from "@effect-qoery/client"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import type * as HttpApp from "@effect/platform/HttpApp"
import * as HttpIncomingMessage from "@effect/platform/HttpIncomingMessage"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Clock from "effect/Clock"
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type * as Http from "node:http"
import * as Zlib from "node:zlib"
import * as Dataset from "../Dataset.js"
import * as Faults from "../Faults.js"
import { type Job, makeStore, stateAt } from "./jobs.js"

/** The emulator's settings, resolved from the options. */
export interface Config {
  readonly apiKeys: ReadonlySet<string>
  readonly quota: number
  readonly jobDurationMillis: number
  readonly pollingIntervalMillis: number
  readonly admin: boolean
  readonly log: boolean
  readonly faults: Faults.FaultPlans
  readonly seed: number
  readonly compress: Compress
  /** How long an ended job is kept. */
  readonly jobTtlMillis: number
}

/** The longest search accepted, as the client caps it (`QoeryClient.maxSearchLength`). */
export const maxSearchLength = 2_000

/** Whether bodies are compressed, and then with the compressed `Content-Length` or chunked. */
export type Compress = "off" | "length" | "chunked"

/** The largest request body read: larger ones get 413. */
export const maxBodyBytes = 1024 * 1024

export interface Stats {
  readonly requests: Record<Faults.Route, number>
  readonly statusRequestsAfterTerminal: number
  readonly jobsStarted: number
  readonly faultsInjected: number
  readonly jobsHeld: number
  readonly compressedResponses: number
}

export interface Instance {
  readonly app: HttpApp.Default
  readonly injector: Faults.Injector
  readonly stats: () => Stats
  readonly expectedCsv: (jobId: string, now: number) => Option.Option<string>
  readonly jobCount: () => number
}

// ---------------------------------------------------------------------------
// Bodies, encoded with the client's schemas so the wire formats match

const encodeStatus = Schema.encodeSync(JobStatus.JobStatus)
const encodeStarted = Schema.encodeSync(JobStatus.JobStarted)
const encodeError = Schema.encodeSync(Payloads.ErrorResponse)
const encodeUsage = Schema.encodeSync(Payloads.UsageStats)
const encodePlans = Schema.encodeSync(Payloads.PlansResponse)
const encodeHealth = Schema.encodeSync(Payloads.HealthResponse)
const encodeInfo = Schema.encodeSync(Payloads.ApiInfo)
const encodeRoot = Schema.encodeSync(Payloads.RootStatus)

interface Outcome {
  readonly status: number
  readonly body: string
  readonly contentType: string
  readonly headers?: Record<string, string>
}

const jsonType = "application/json; charset=utf-8"

const json = (status: number, body: unknown, headers?: Record<string, string>): Outcome =>
  headers === undefined
    ? { status, body: JSON.stringify(body), contentType: jsonType }
    : { status, body: JSON.stringify(body), contentType: jsonType, headers }

const errorBody = (
  status: number,
  error: string,
  details?: string,
  resetDate?: number
): unknown =>
  encodeError(
    new Payloads.ErrorResponse({
      error,
      status,
      ...(details === undefined ? {} : { details }),
      ...(resetDate === undefined ? {} : { resetDate: DateTime.unsafeMake(resetDate) })
    }, true)
  )

const fail = (status: number, error: string, details?: string, headers?: Record<string, string>): Outcome =>
  json(status, errorBody(status, error, details), headers)

const preview = (s: string) => s.length > 64 ? `${s.slice(0, 64)}...` : s

const jobNotFound = (id: string, headers?: Record<string, string>) =>
  fail(404, "Job not found", `No job found with ID: ${preview(id)}`, headers)

const csvNotReady = (headers?: Record<string, string>) =>
  fail(404, "CSV not ready yet", "The job is still processing. Please wait and try again.", headers)

const missingSearch = (headers?: Record<string, string>) =>
  fail(400, "Search parameter is required", undefined, headers)

const searchTooLong = (length: number, headers?: Record<string, string>) =>
  fail(
    400,
    "Search parameter is too long",
    `The search query must be at most ${maxSearchLength} characters; this one has ${length}`,
    headers
  )

const invalidSearch = (headers?: Record<string, string>) =>
  fail(
    400,
    "Search parameter must be a non-empty string",
    "The search query must contain at least 1 character",
    headers
  )

const apiInfo = encodeInfo(
  new Payloads.ApiInfo({
    message: "Datasets API",
    endpoints: {
      "POST /v0/datasets": "Start a new dataset collection job (body: {\"search\": \"...\"})",
      "GET /v0/datasets?search=...": "Start a new dataset collection job (query param)",
      "GET /v0/datasets/:job_id": "Get job status and progress",
      "GET /v0/datasets/:job_id/csv": "Download the CSV file"
    }
  })
)

const rootBody = encodeRoot(new Payloads.RootStatus({ status: "ok" }))

const price = (amount: number, priceId: string) => new Payloads.PlanPrice({ amount, currency: "USD", priceId })

const plansBody = encodePlans(
  new Payloads.PlansResponse({
    plans: {
      free: new Payloads.Plan({
        name: "Free",
        description: "Ideal for experimentation and testing",
        price: "$0",
        billing: "one-time",
        limits: { datasets: 100 },
        apiKeys: 1,
        support: "Community",
        monthlyPrice: null,
        annualPrice: null,
        discountPercentage: null
      }),
      starter: new Payloads.Plan({
        name: "Starter",
        description: "Built for researchers and small projects",
        price: "$29",
        billing: "/mo billed monthly",
        limits: { datasets: 1000, "query/nl": 500 },
        apiKeys: 2,
        support: "Standard",
        monthlyPrice: price(29, "price_starter_monthly"),
        annualPrice: price(290, "price_starter_annual"),
        discountPercentage: 0.17
      }),
      pro: new Payloads.Plan({
        name: "Pro",
        description: "For production workloads",
        price: "$99",
        billing: "/mo billed monthly",
        limits: { datasets: 10_000, "query/nl": 5_000 },
        apiKeys: 10,
        support: "Priority",
        monthlyPrice: price(99, "price_pro_monthly"),
        annualPrice: price(990, "price_pro_annual"),
        discountPercentage: 0.17
      }),
      growth: new Payloads.Plan({
        name: "Growth",
        description: "For large-scale operations",
        price: "$499",
        billing: "/mo billed monthly",
        limits: { datasets: 100_000, "query/nl": 50_000 },
        apiKeys: "unlimited",
        support: "Priority",
        monthlyPrice: price(499, "price_growth_monthly"),
        annualPrice: price(4990, "price_growth_annual"),
        discountPercentage: 0.17
      })
    },
    defaultPlan: "free"
  })
)

const planFor = (quota: number): Payloads.UsageStats["plan"] =>
  quota <= 100 ? "free" : quota <= 1000 ? "starter" : quota <= 10_000 ? "pro" : "growth"

/** The status body of a job: the spec's field order, and `error`/`completed_at` as `null` where they do not apply. */
const statusBody = (job: Job, now: number, durationMillis: number, id: string = job.id) => {
  const state = stateAt(job, now, durationMillis)
  const plan = Dataset.plan(job.query)
  const progress = new JobStatus.JobProgress({
    currentStep: state.step,
    rowsCollected: state.rowsCollected,
    urlsProcessed: state.urlsProcessed,
    urlsTotal: state.urlsTotal,
    lastUpdated: DateTime.unsafeMake(state.lastUpdated)
  }, true)
  const common = {
    jobId: id as JobStatus.Processing["jobId"],
    query: job.query,
    progress,
    urls: plan.urls.slice(0, state.urlsTotal),
    csvUrl: `/v0/datasets/${id}/csv`,
    startedAt: DateTime.unsafeMake(job.startedAt)
  }
  const status = state.status === "processing"
    ? new JobStatus.Processing(common, true)
    : state.status === "completed"
    ? new JobStatus.Completed({ ...common, completedAt: DateTime.unsafeMake(state.endedAt!) }, true)
    : new JobStatus.Failed({ ...common, error: state.error!, completedAt: DateTime.unsafeMake(state.endedAt!) }, true)
  const encoded = encodeStatus(status) as Record<string, unknown>
  return {
    state,
    body: {
      job_id: encoded.job_id,
      status: encoded.status,
      query: encoded.query,
      progress: encoded.progress,
      urls: encoded.urls,
      csv_url: encoded.csv_url,
      error: encoded.error ?? null,
      started_at: encoded.started_at,
      completed_at: encoded.completed_at ?? null
    }
  }
}

// ---------------------------------------------------------------------------
// Quota

type Endpoint = "/v0/datasets" | "/v0/datasets/:job_id" | "/v0/datasets/:job_id/csv" | "/v0/usage"
const endpoints: ReadonlyArray<Endpoint> = [
  "/v0/datasets",
  "/v0/datasets/:job_id",
  "/v0/datasets/:job_id/csv",
  "/v0/usage"
]

interface Counter {
  month: number
  calls: number
  errors: number
}

const monthOf = (millis: number) => {
  const d = new Date(millis)
  return d.getUTCFullYear() * 12 + d.getUTCMonth()
}

/** The 1st of the next month, 00:00 UTC. */
export const resetDate = (now: number): number => {
  const d = new Date(now)
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1)
}

const isoSeconds = (millis: number) => new Date(millis).toISOString().replace(/\.\d{3}Z$/, "Z")

// ---------------------------------------------------------------------------
// Requests

const routeEndpoint: Partial<Record<Faults.Route, Endpoint>> = {
  start: "/v0/datasets",
  info: "/v0/datasets",
  status: "/v0/datasets/:job_id",
  csv: "/v0/datasets/:job_id/csv",
  usage: "/v0/usage"
}

type Resolved =
  | { readonly _tag: "Route"; readonly route: Faults.Route; readonly id?: string }
  | { readonly _tag: "Admin"; readonly what: "faults" | "stats" }
  | { readonly _tag: "NotFound" }
  | { readonly _tag: "MethodNotAllowed"; readonly allow: string }

const resolve = (
  method: string,
  segments: ReadonlyArray<string>,
  params: URLSearchParams,
  admin: boolean
): Resolved => {
  const get = method === "GET" || method === "HEAD"
  const only = (allow: string, route: Faults.Route, id?: string): Resolved =>
    get
      ? (id === undefined ? { _tag: "Route", route } : { _tag: "Route", route, id })
      : { _tag: "MethodNotAllowed", allow }
  const n = segments.length
  if (n === 0) return only("GET", "root")
  if (n === 1 && segments[0] === "health") return only("GET", "health")
  if (segments[0] === "v0") {
    if (n === 2 && segments[1] === "usage") return only("GET", "usage")
    if (n === 2 && segments[1] === "plans") return only("GET", "plans")
    if (segments[1] === "datasets") {
      if (n === 2) {
        if (method === "POST") return { _tag: "Route", route: "start" }
        if (get) return { _tag: "Route", route: params.has("search") ? "start" : "info" }
        return { _tag: "MethodNotAllowed", allow: "GET, POST" }
      }
      if (n === 3) return only("GET", "status", segments[2]!)
      if (n === 4 && segments[3] === "csv") return only("GET", "csv", segments[2]!)
    }
  }
  if (admin && n === 2 && segments[0] === "__admin") {
    if (segments[1] === "faults") {
      return method === "POST" || method === "DELETE"
        ? { _tag: "Admin", what: "faults" }
        : { _tag: "MethodNotAllowed", allow: "POST, DELETE" }
    }
    if (segments[1] === "stats") {
      return get
        ? { _tag: "Admin", what: "stats" }
        : { _tag: "MethodNotAllowed", allow: "GET" }
    }
  }
  return { _tag: "NotFound" }
}

const bearer = /^Bearer\s+(.+)$/i

const apiKeyOf = (params: URLSearchParams, headers: Record<string, string | undefined>): string | undefined => {
  const fromQuery = params.get("api_key")
  if (fromQuery !== null && fromQuery !== "") return fromQuery
  const fromHeader = headers["x-api-key"]
  if (fromHeader !== undefined && fromHeader !== "") return fromHeader
  const auth = headers["authorization"]
  const match = auth === undefined ? null : bearer.exec(auth.trim())
  return match === null ? undefined : match[1]!.trim()
}

const userIdOf = (key: string) => {
  let h = 0x811c9dc5
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193)
  return `user_${(h >>> 0).toString(16).padStart(8, "0")}`
}

const isJsonType = (contentType: string | undefined) => {
  if (contentType === undefined || contentType === "") return true
  const type = contentType.split(";")[0]!.trim().toLowerCase()
  return type === "application/json" || type.endsWith("+json")
}

const AdminBody = Schema.parseJson(Faults.AdminRequest)
const decodeAdmin = Schema.decodeUnknownEither(AdminBody)

type Raw = Http.ServerResponse

const rawResponse = (request: HttpServerRequest.HttpServerRequest): Raw | undefined => {
  try {
    const raw = NodeHttpServerRequest.toServerResponse(request) as Raw | undefined
    return raw !== undefined && typeof raw.writeHead === "function" ? raw : undefined
  } catch {
    return undefined
  }
}

/**
 * The body as text, or `Left` when it is larger than `maxBodyBytes` (or broke
 * off). On node the body is read from the socket directly, so that a body too
 * large stops being stored without destroying the connection: the rest is
 * drained unread and the 413 goes out.
 */
const readBody = (request: HttpServerRequest.HttpServerRequest): Effect.Effect<Either.Either<string, void>> => {
  let incoming: Http.IncomingMessage | undefined
  try {
    incoming = NodeHttpServerRequest.toIncomingMessage(request)
  } catch {
    incoming = undefined
  }
  if (incoming === undefined || typeof incoming.on !== "function") {
    return request.text.pipe(
      HttpIncomingMessage.withMaxBodySize(Option.some(maxBodyBytes)),
      Effect.map((text) => Either.right(text)),
      Effect.orElseSucceed(() => Either.left(undefined))
    )
  }
  const source = incoming
  return Effect.async<Either.Either<string, void>>((resume) => {
    if (source.readableEnded) return resume(Effect.succeed(Either.right("")))
    const chunks: Array<Buffer> = []
    let size = 0
    const cleanup = () => {
      source.off("data", onData)
      source.off("end", onEnd)
      source.off("error", onError)
      source.off("aborted", onError)
    }
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size > maxBodyBytes) {
        cleanup()
        // Let the rest flow away unread (as node does for a body nobody reads), and answer now.
        source.resume()
        resume(Effect.succeed(Either.left(undefined)))
      } else {
        chunks.push(chunk)
      }
    }
    const onEnd = () => {
      cleanup()
      resume(Effect.succeed(Either.right(Buffer.concat(chunks).toString("utf8"))))
    }
    const onError = () => {
      cleanup()
      resume(Effect.succeed(Either.left(undefined)))
    }
    source.on("data", onData)
    source.on("end", onEnd)
    source.on("error", onError)
    source.on("aborted", onError)
    return Effect.sync(cleanup)
  })
}

/** A content coding the emulator can send, in the order it prefers them. */
export type Encoding = "br" | "gzip" | "deflate"
const encodings: ReadonlyArray<Encoding> = ["br", "gzip", "deflate"]

/**
 * The coding to answer an `Accept-Encoding` with: the accepted one with the
 * highest `q`, ties going to the order of `encodings`; `undefined` for
 * identity. `*` stands for any coding not named; `q=0` refuses one.
 */
export const negotiate = (accept: string | undefined): Encoding | undefined => {
  if (accept === undefined || accept === "") return undefined
  const weights = new Map<string, number>()
  for (const part of accept.split(",")) {
    const [name, ...params] = part.split(";")
    const token = name!.trim().toLowerCase()
    if (token === "") continue
    let q = 1
    for (const param of params) {
      const m = /^\s*q\s*=\s*([0-9.]+)\s*$/i.exec(param)
      if (m !== null) q = Number(m[1])
    }
    weights.set(token, Number.isFinite(q) ? q : 0)
  }
  let best: Encoding | undefined
  let bestWeight = 0
  for (const encoding of encodings) {
    const weight = weights.get(encoding) ?? weights.get("*") ?? 0
    if (weight > bestWeight) {
      best = encoding
      bestWeight = weight
    }
  }
  return best
}

const compressors: Record<Encoding, (bytes: Uint8Array) => Uint8Array> = {
  // Quality 5: the default (11) costs tens of milliseconds on a large CSV, for a few percent.
  br: (bytes) => Zlib.brotliCompressSync(bytes, { params: { [Zlib.constants.BROTLI_PARAM_QUALITY]: 5 } }),
  gzip: (bytes) => Zlib.gzipSync(bytes),
  deflate: (bytes) => Zlib.deflateSync(bytes)
}

/** How one response goes on the wire: its coding (none for identity), and whether it is chunked. */
interface Wire {
  readonly compress: Compress
  readonly encoding: Encoding | undefined
  /** Called for each body sent compressed. */
  readonly compressed: () => void
}

/** The body bytes as sent and the headers that describe them (Content-Length aside). */
const encode = (
  outcome: Outcome,
  wire: Wire
): { readonly bytes: Uint8Array; readonly headers: Record<string, string> } => {
  const plain = Buffer.from(outcome.body, "utf8")
  const headers: Record<string, string> = { ...outcome.headers }
  if (wire.compress !== "off") headers["vary"] = "accept-encoding"
  if (wire.encoding === undefined || plain.length === 0) return { bytes: plain, headers }
  headers["content-encoding"] = wire.encoding
  wire.compressed()
  return { bytes: compressors[wire.encoding](plain), headers }
}

const toResponse = (outcome: Outcome, wire: Wire): HttpServerResponse.HttpServerResponse => {
  if (wire.compress === "off") {
    return HttpServerResponse.text(outcome.body, {
      status: outcome.status,
      contentType: outcome.contentType,
      ...(outcome.headers === undefined ? {} : { headers: outcome.headers })
    })
  }
  const { bytes, headers } = encode(outcome, wire)
  const options = { status: outcome.status, contentType: outcome.contentType, headers }
  return wire.compress === "chunked"
    ? HttpServerResponse.stream(Stream.succeed(bytes), options)
    : HttpServerResponse.uint8Array(bytes, options)
}

/** Where to cut a body short: about the middle, and for a CSV inside a data row. */
const cutPoint = (bytes: Uint8Array, csv: boolean): number => {
  if (bytes.length <= 1) return 0
  let cut = Math.floor(bytes.length / 2)
  if (csv) {
    const headerLength = Buffer.byteLength(Dataset.header)
    if (bytes.length > headerLength + 2) cut = Math.max(cut, headerLength + 1)
    // not right after a line break: mid-row
    while (cut > 1 && (bytes[cut - 1] === 0x0a || bytes[cut - 1] === 0x0d)) cut--
  }
  return Math.min(cut, bytes.length - 1)
}

/** The body as sent, and its headers: the full `Content-Length` announced unless the wire is chunked. */
const outgoing = (outcome: Outcome, wire: Wire) => {
  const { bytes, headers } = encode(outcome, wire)
  headers["content-type"] = outcome.contentType
  if (wire.compress !== "chunked") headers["content-length"] = String(bytes.length)
  return { bytes, headers }
}

/**
 * Sends part of the body with the full Content-Length announced (or, chunked,
 * without the last chunk), then destroys the connection. A compressed body is
 * cut in the middle of its compressed bytes.
 */
const truncate = (raw: Raw, outcome: Outcome, csv: boolean, wire: Wire) =>
  Effect.async<void>((resume) => {
    const { bytes, headers } = outgoing(outcome, wire)
    raw.writeHead(outcome.status, headers)
    raw.write(bytes.subarray(0, cutPoint(bytes, csv && wire.encoding === undefined)), () => {
      raw.destroy()
      raw.end()
      resume(Effect.void)
    })
  })

const drop = (raw: Raw) =>
  Effect.sync(() => {
    raw.destroy()
    raw.end()
  })

/** Sends part of the body, waits, then the rest. */
const stall = (raw: Raw, outcome: Outcome, csv: boolean, millis: number, wire: Wire) =>
  Effect.gen(function*() {
    const { bytes, headers } = outgoing(outcome, wire)
    const cut = cutPoint(bytes, csv && wire.encoding === undefined)
    raw.writeHead(outcome.status, headers)
    raw.flushHeaders()
    raw.write(bytes.subarray(0, cut))
    yield* Effect.sleep(Duration.millis(millis))
    if (raw.destroyed) {
      raw.end()
    } else {
      raw.end(bytes.subarray(cut))
    }
  })

/**
 * `count` copies of `unit`, in chunks of about 64 KB made as they are
 * written: a body of any size costs one chunk of memory.
 */
const repeated = (unit: Uint8Array, count: number): Stream.Stream<Uint8Array> => {
  const perChunk = Math.max(1, Math.floor(65_536 / Math.max(1, unit.length)))
  const chunk = Buffer.alloc(perChunk * unit.length)
  for (let i = 0; i < perChunk; i++) chunk.set(unit, i * unit.length)
  function* chunks() {
    for (let left = count; left > 0; left -= perChunk) {
      yield left >= perChunk ? chunk : chunk.subarray(0, left * unit.length)
    }
  }
  // One chunk a pull: `fromIterable` would gather thousands of them first.
  return Stream.suspend(() => Stream.fromIteratorSucceed(chunks(), 1))
}

/** A body of about `bytes` bytes: `head`, copies of `unit`, `tail`; its exact length. */
const padded = (head: string, unit: string, tail: string, bytes: number) => {
  const start = Buffer.from(head, "utf8")
  const end = Buffer.from(tail, "utf8")
  const filler = Buffer.from(unit, "utf8")
  const count = Math.max(0, Math.floor((bytes - start.length - end.length) / filler.length))
  return {
    length: start.length + count * filler.length + end.length,
    stream: Stream.make(start).pipe(Stream.concat(repeated(filler, count)), Stream.concat(Stream.make(end)))
  }
}

/**
 * Builds the emulator's HTTP handler and its state.
 */
export const make = (config: Config): Instance => {
  const store = makeStore(config.jobDurationMillis, config.jobTtlMillis)
  const injector = Faults.makeInjector(config.faults, config.seed)
  const requests = Object.fromEntries(Faults.routes.map((r) => [r, 0])) as Record<Faults.Route, number>
  let statusRequestsAfterTerminal = 0
  let jobsStarted = 0
  let faultsInjected = 0
  const counters = new Map<string, Counter>()
  const duration = config.jobDurationMillis
  let compressedResponses = 0
  const compressed = () => {
    compressedResponses++
  }
  const identity: Wire = { compress: "off", encoding: undefined, compressed }
  const wireOf = (request: HttpServerRequest.HttpServerRequest): Wire =>
    config.compress === "off"
      ? identity
      : { compress: config.compress, encoding: negotiate(request.headers["accept-encoding"]), compressed }

  const counter = (key: string, endpoint: Endpoint, now: number): Counter => {
    const id = `${key}\u0000${endpoint}`
    const month = monthOf(now)
    let c = counters.get(id)
    if (c === undefined || c.month !== month) {
      c = { month, calls: 0, errors: 0 }
      counters.set(id, c)
    }
    return c
  }

  const rateHeaders = (c: Counter, now: number): Record<string, string> => ({
    "x-ratelimit-limit": String(config.quota),
    "x-ratelimit-remaining": String(Math.max(0, config.quota - c.calls)),
    "x-ratelimit-reset": isoSeconds(resetDate(now))
  })

  const usageBody = (key: string, now: number) => {
    const breakdown = endpoints.map((endpoint) => {
      const c = counter(key, endpoint, now)
      return new Payloads.EndpointUsage({ endpoint, calls: c.calls, errors: c.errors, limit: config.quota }, true)
    })
    return encodeUsage(
      new Payloads.UsageStats({
        userId: userIdOf(key),
        plan: planFor(config.quota),
        totalUsage: breakdown.reduce((n, e) => n + e.calls, 0),
        totalErrors: breakdown.reduce((n, e) => n + e.errors, 0),
        endpointBreakdown: breakdown
      }, true)
    )
  }

  const startJob = (search: unknown, now: number, headers: Record<string, string>): Outcome => {
    if (search === undefined || search === null) return missingSearch(headers)
    if (typeof search !== "string" || search.trim() === "") return invalidSearch(headers)
    if (search.length > maxSearchLength) return searchTooLong(search.length, headers)
    const job = store.start(search, now)
    jobsStarted++
    return json(
      200,
      encodeStarted(
        new JobStatus.JobStarted({
          jobId: job.id as JobStatus.JobStarted["jobId"],
          pollingInterval: Duration.millis(config.pollingIntervalMillis)
        }, true)
      ),
      headers
    )
  }

  /** `delivers`: false when a fault cuts the answer off, so the client never sees this terminal status. */
  const status = (id: string, now: number, headers: Record<string, string>, delivers: boolean): Outcome => {
    const job = store.get(id, now)
    if (job === undefined) return jobNotFound(id, headers)
    const state = stateAt(job, now, duration)
    if (state.status !== "processing") {
      if (job.terminalServed) statusRequestsAfterTerminal++
      if (delivers) job.terminalServed = true
    }
    // Encoding costs more than the rest of a poll: reuse the body while the state has not changed.
    const cacheKey = `${state.status}|${state.step}|${state.urlsTotal}|${state.rowsCollected}|${state.lastUpdated}`
    if (job.cached === undefined || job.cached.key !== cacheKey) {
      job.cached = { key: cacheKey, body: JSON.stringify(statusBody(job, now, duration).body) }
    }
    return { status: 200, body: job.cached.body, contentType: jsonType, headers }
  }

  const csv = (id: string, now: number, headers: Record<string, string>): Outcome => {
    const job = store.get(id, now)
    if (job === undefined) return jobNotFound(id, headers)
    const state = stateAt(job, now, duration)
    if (state.rowsCollected === 0) return csvNotReady(headers)
    return {
      status: 200,
      body: Dataset.csv(job.query, state.rowsCollected),
      contentType: "text/csv; charset=utf-8",
      headers: { ...headers, "content-disposition": `attachment; filename="${job.id}.csv"` }
    }
  }

  /** A status body of the job (or, unknown, of a made-up one), under the next second's id when `other`. */
  const otherJobBody = (id: string | undefined, now: number, other = true) => {
    const job = id === undefined ? undefined : store.get(id, now)
    const base = job ?? {
      id: "20251110_151628",
      query: "another query",
      startedAt: now,
      endsAt: now + duration,
      terminalServed: false
    }
    return statusBody(base, now, duration, other ? nextSecondId(base.id) : base.id).body
  }

  /** The `hugeBody` fault: a body of `fault.bytes`, streamed. */
  const hugeBody = (
    route: Faults.Route,
    id: string | undefined,
    now: number,
    fault: typeof Faults.HugeBodyFault.Type
  ): HttpServerResponse.HttpServerResponse => {
    const marker = "\u0001filler\u0001"
    let body: { length: number; stream: Stream.Stream<Uint8Array> }
    let contentType = jsonType
    if (route === "csv") {
      contentType = "text/csv; charset=utf-8"
      body = fault.shape === "rows"
        ? padded(Dataset.header, `https://example.org/huge,a row,1,huge,${Dataset.lineTerminator}`, "", fault.bytes)
        : padded(`${Dataset.header}https://example.org/huge,"`, "x", `",1,huge,${Dataset.lineTerminator}`, fault.bytes)
    } else if (route === "status") {
      const text = JSON.stringify({ ...otherJobBody(id, now, false), query: marker })
      const at = text.indexOf(JSON.stringify(marker))
      body = padded(text.slice(0, at + 1), "x", text.slice(at + JSON.stringify(marker).length - 1), fault.bytes)
    } else {
      body = padded("{\"padding\":\"", "x", "\"}", fault.bytes)
    }
    return HttpServerResponse.stream(body.stream, {
      status: 200,
      contentType,
      ...(fault.chunked === true ? {} : { contentLength: body.length })
    })
  }

  const violation = (route: Faults.Route): Outcome =>
    route === "csv"
      ? { status: 200, body: "id;name\r\n1;not the spec's columns\r\n", contentType: "text/csv; charset=utf-8" }
      : json(200, {
        job_id: 42,
        status: "exploded",
        progress: "half",
        message: 7,
        endpoints: [],
        plans: [],
        timestamp: "yesterday",
        polling_interval_ms: "soon"
      })

  const handleRoute = (
    request: HttpServerRequest.HttpServerRequest,
    route: Faults.Route,
    id: string | undefined,
    params: URLSearchParams,
    now: number,
    delivers = true
  ): Effect.Effect<Outcome> => {
    switch (route) {
      case "root":
        return Effect.succeed(json(200, rootBody))
      case "health":
        return Effect.succeed(
          json(200, encodeHealth(new Payloads.HealthResponse({ status: "ok", timestamp: DateTime.unsafeMake(now) })))
        )
      case "plans":
        return Effect.succeed(json(200, plansBody))
      default:
        break
    }
    const headers = request.headers
    const key = apiKeyOf(params, headers)
    if (route === "usage") {
      if (key === undefined) {
        const uid = params.get("uid")
        const owner = uid === null ? undefined : [...config.apiKeys].find((k) => userIdOf(k) === uid)
        if (uid === null || uid === "") {
          return Effect.succeed(fail(400, "Either uid or api_key is required"))
        }
        if (owner === undefined) return Effect.succeed(fail(401, "Invalid API key", "Unknown user id"))
        return Effect.succeed(countedUsage(owner, now))
      }
      if (!config.apiKeys.has(key)) {
        return Effect.succeed(fail(401, "Invalid API key", "The provided API key does not exist or has been revoked"))
      }
      return Effect.succeed(countedUsage(key, now))
    }
    if (key === undefined) {
      return Effect.succeed(
        fail(401, "API key required. Provide via ?api_key=... or Authorization: Bearer ... header")
      )
    }
    if (!config.apiKeys.has(key)) {
      return Effect.succeed(fail(401, "Invalid API key", "The provided API key does not exist or has been revoked"))
    }
    const c = counter(key, routeEndpoint[route]!, now)
    if (c.calls >= config.quota) {
      const reset = resetDate(now)
      return Effect.succeed(json(429, errorBody(429, "Monthly quota exceeded", undefined, reset), rateHeaders(c, now)))
    }
    c.calls++
    const headersOut = rateHeaders(c, now)
    const counted = (outcome: Outcome) => {
      if (outcome.status >= 400) c.errors++
      return outcome
    }
    switch (route) {
      case "info":
        return Effect.succeed(json(200, apiInfo, headersOut))
      case "status":
        return Effect.succeed(counted(status(id!, now, headersOut, delivers)))
      case "csv":
        return Effect.succeed(counted(csv(id!, now, headersOut)))
      default:
        break
    }
    // start
    if (request.method !== "POST") return Effect.succeed(counted(startJob(params.get("search"), now, headersOut)))
    const fromQuery = params.get("search")
    const declared = Number(request.headers["content-length"] ?? "0")
    if (Number.isFinite(declared) && declared > maxBodyBytes) {
      return Effect.succeed(counted(tooLarge(headersOut)))
    }
    return readBody(request).pipe(
      Effect.flatMap((text) =>
        Effect.sync(() => {
          if (Either.isLeft(text)) return counted(tooLarge(headersOut))
          const body = text.right
          if (body.trim() === "") return counted(startJob(fromQuery ?? undefined, now, headersOut))
          if (!isJsonType(request.headers["content-type"])) {
            return counted(
              fail(
                400,
                "Search parameter is required",
                "The body must be JSON (Content-Type: application/json)",
                headersOut
              )
            )
          }
          let parsed: unknown
          try {
            parsed = JSON.parse(body)
          } catch (e) {
            return counted(fail(400, "Invalid JSON body", e instanceof Error ? e.message : String(e), headersOut))
          }
          if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
            return counted(fail(400, "Search parameter is required", "The body must be a JSON object", headersOut))
          }
          const search = "search" in parsed ? (parsed as { search: unknown }).search : fromQuery ?? undefined
          return counted(startJob(search, now, headersOut))
        })
      )
    )
  }

  const countedUsage = (key: string, now: number): Outcome => {
    const c = counter(key, "/v0/usage", now)
    c.calls++
    return json(200, usageBody(key, now), rateHeaders(c, now))
  }

  const tooLarge = (headers?: Record<string, string>) =>
    fail(413, "Request body too large", `The largest body accepted is ${maxBodyBytes} bytes`, headers)

  const stats = (): Stats => ({
    requests: { ...requests },
    statusRequestsAfterTerminal,
    jobsStarted,
    faultsInjected,
    jobsHeld: store.size(),
    compressedResponses
  })

  const admin = (request: HttpServerRequest.HttpServerRequest, what: "faults" | "stats"): Effect.Effect<Outcome> => {
    if (what === "stats") return Effect.succeed(json(200, stats()))
    if (request.method === "DELETE") {
      injector.clear()
      return Effect.succeed(json(200, { cleared: true }))
    }
    return readBody(request).pipe(
      Effect.map((text) => {
        if (Either.isLeft(text)) return fail(413, "Request body too large")
        const decoded = decodeAdmin(text.right)
        if (Either.isLeft(decoded)) {
          const issues = ParseResult.ArrayFormatter.formatErrorSync(decoded.left)
            .map((issue) => `${issue.path.join(".") || "body"}: ${issue.message}`)
          return fail(400, "Invalid fault plan", [...new Set(issues)].slice(0, 5).join("; "))
        }
        injector.set(decoded.right.route, decoded.right.plan ?? undefined)
        return json(200, { route: decoded.right.route, plan: decoded.right.plan })
      })
    )
  }

  const respond = (
    request: HttpServerRequest.HttpServerRequest,
    route: Faults.Route,
    id: string | undefined,
    params: URLSearchParams,
    now: number
  ): Effect.Effect<{ readonly response: HttpServerResponse.HttpServerResponse; readonly note: string }> => {
    const fault = injector.next(route)
    const wire = wireOf(request)
    if (fault === undefined) {
      return Effect.map(
        handleRoute(request, route, id, params, now),
        (o) => ({ response: toResponse(o, wire), note: "" })
      )
    }
    faultsInjected++
    const note = ` fault=${fault.kind}`
    const done = (outcome: Outcome) => Effect.succeed({ response: toResponse(outcome, wire), note })
    switch (fault.kind) {
      case "status": {
        const headers: Record<string, string> = {}
        if (fault.retryAfter !== undefined) headers["retry-after"] = String(fault.retryAfter)
        if (fault.retryAfterDate !== undefined) {
          headers["retry-after"] = new Date(now + fault.retryAfterDate * 1000).toUTCString()
        }
        const body = fault.body === undefined ? errorBody(fault.status, faultMessage(fault.status)) : fault.body
        return done(json(fault.status, body, headers))
      }
      case "delay":
        return Effect.zipRight(
          Effect.sleep(Duration.millis(fault.millis)),
          Effect.flatMap(
            Clock.currentTimeMillis,
            (later) =>
              Effect.map(
                handleRoute(request, route, id, params, later),
                (o) => ({ response: toResponse(o, wire), note })
              )
          )
        )
      case "invalidJson":
        return done({ status: 200, body: "{\"job_id\": \"2025", contentType: jsonType })
      case "schemaViolation":
        return done(violation(route))
      case "otherJob":
        return route === "status" ? done(json(200, otherJobBody(id, now))) : done(violation(route))
      case "hugeBody":
        return Effect.succeed({ response: hugeBody(route, id, now, fault), note })
      case "drop":
      case "truncate":
      case "stall": {
        const raw = rawResponse(request)
        if (raw === undefined) {
          // Not on a node server: end the body with an error, the closest this platform can do.
          return Effect.succeed({
            response: HttpServerResponse.stream(Stream.fail(new Error(`injected ${fault.kind}`))),
            note
          })
        }
        if (fault.kind === "drop") return Effect.as(drop(raw), { response: HttpServerResponse.empty(), note })
        return Effect.flatMap(handleRoute(request, route, id, params, now, false), (outcome) =>
          Effect.as(
            fault.kind === "truncate"
              ? truncate(raw, outcome, route === "csv", wire)
              : stall(raw, outcome, route === "csv", fault.millis, wire),
            { response: HttpServerResponse.empty(), note }
          ))
      }
    }
  }

  const app: HttpApp.Default = Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const now = yield* Clock.currentTimeMillis
    const startedAt = config.log ? performance.now() : 0
    const url = request.url
    const q = url.indexOf("?")
    const pathname = q === -1 ? url : url.slice(0, q)
    const params = new URLSearchParams(q === -1 ? "" : url.slice(q + 1))
    const segments = pathname.split("/").filter((s, i, all) => s !== "" || (i > 0 && i < all.length - 1))
    const resolved = resolve(request.method, segments, params, config.admin)
    let result: { readonly response: HttpServerResponse.HttpServerResponse; readonly note: string }
    switch (resolved._tag) {
      case "NotFound":
        result = {
          response: toResponse(
            fail(404, "Not found", `No route for ${request.method} ${preview(pathname)}`),
            wireOf(request)
          ),
          note: ""
        }
        break
      case "MethodNotAllowed":
        result = {
          response: toResponse(
            fail(405, "Method not allowed", `${preview(pathname)} allows ${resolved.allow}`, { allow: resolved.allow }),
            wireOf(request)
          ),
          note: ""
        }
        break
      case "Admin":
        result = { response: toResponse(yield* admin(request, resolved.what), identity), note: " admin" }
        break
      case "Route":
        requests[resolved.route]++
        result = yield* respond(request, resolved.route, resolved.id, params, now)
    }
    if (config.log) {
      const ms = (performance.now() - startedAt).toFixed(1)
      process.stderr.write(
        `${new Date(now).toISOString()} ${request.method} ${
          preview(pathname)
        } ${result.response.status} ${ms}ms${result.note}\n`
      )
    }
    return result.response
  }).pipe(
    Effect.catchAllCause((cause) =>
      Effect.sync(() => {
        if (config.log) process.stderr.write(`internal error: ${String(cause)}\n`)
        return toResponse(fail(500, "Internal server error"), identity)
      })
    )
  )

  const expectedCsv = (jobId: string, now: number): Option.Option<string> => {
    const job = store.get(jobId, now)
    if (job === undefined) return Option.none()
    const state = stateAt(job, job.startedAt + Math.max(0, duration) + 1, duration)
    return Option.some(Dataset.csv(job.query, state.rowsCollected))
  }

  return { app, injector, stats, expectedCsv, jobCount: store.size }
}

const faultMessages: Record<number, string> = {
  400: "Bad request",
  401: "Invalid API key",
  404: "Not found",
  429: "Too many requests",
  500: "Internal server error",
  502: "Bad gateway",
  503: "Service unavailable",
  504: "Gateway timeout"
}

const faultMessage = (status: number) => faultMessages[status] ?? `Injected fault (HTTP ${status})`

const nextSecondId = (id: string): string => {
  const d = new Date(
    Date.UTC(+id.slice(0, 4), +id.slice(4, 6) - 1, +id.slice(6, 8), +id.slice(9, 11), +id.slice(11, 13), +id.slice(13))
  )
  d.setUTCSeconds(d.getUTCSeconds() + 1)
  const pad = (n: number, w = 2) => String(n).padStart(w, "0")
  return `${pad(d.getUTCFullYear(), 4)}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}_${pad(d.getUTCHours())}${
    pad(d.getUTCMinutes())
  }${pad(d.getUTCSeconds())}`
}
