/**
 * An emulator of the Qoery API: a real HTTP server that answers every path of
 * the spec like the service does, with synthetic jobs and data, API keys,
 * quotas and scriptable faults.
 *
 * @since 0.1.0
 */
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import type * as HttpApp from "@effect/platform/HttpApp"
import * as HttpMiddleware from "@effect/platform/HttpMiddleware"
import * as HttpServer from "@effect/platform/HttpServer"
import type * as HttpServerError from "@effect/platform/HttpServerError"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Http from "node:http"
import type * as Faults from "./Faults.js"
import * as App from "./internal/app.js"
import type { Config } from "./internal/config.js"

/**
 * The API key the emulator accepts unless `apiKeys` says otherwise.
 *
 * @since 0.1.0
 * @category constants
 */
export const demoApiKey = "qoery-demo-key"

/**
 * The fault plans, one per route (see the `Faults` module).
 *
 * @since 0.1.0
 * @category models
 */
export type FaultPlans = Faults.FaultPlans

/**
 * @since 0.1.0
 * @category models
 */
export type FaultPlan = Faults.FaultPlan

/**
 * @since 0.1.0
 * @category models
 */
export type Route = Faults.Route

/**
 * How the emulator behaves.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The port to listen on; `0` (the default) picks a free one. */
  readonly port?: number | undefined
  /** The interface to listen on; default `127.0.0.1`. */
  readonly host?: string | undefined
  /** The keys accepted (query `api_key`, `x-api-key` or `Authorization: Bearer`); default `[demoApiKey]`. */
  readonly apiKeys?: ReadonlyArray<string> | undefined
  /** Monthly calls per key per endpoint before 429; default 10,000. */
  readonly quota?: number | undefined
  /** From start to `completed`, across the five steps; default 3 seconds. Tests use tens of milliseconds. */
  readonly jobDuration?: Duration.DurationInput | undefined
  /** The `polling_interval_ms` a start answer suggests; default 1 second. */
  readonly pollingInterval?: Duration.DurationInput | undefined
  /** Faults to inject from the first request on, per route. */
  readonly faults?: FaultPlans | undefined
  /** Serve `POST|DELETE /__admin/faults` and `GET /__admin/stats`; default `false`. */
  readonly admin?: boolean | undefined
  /** The seed of rate faults that give none; default 1. */
  readonly seed?: number | undefined
  /**
   * Log one line per request with `Effect.logInfo` (method, path, status,
   * time and any fault; never the key), and internal errors with
   * `Effect.logError`. Where they go is the logger's choice: provide one (the
   * `qoery-emulator` command prints plain lines to stderr). Default `false`.
   */
  readonly log?: boolean | undefined
  /**
   * Compress every body, as a CDN or a proxy in front of the service would,
   * when the request's `Accept-Encoding` accepts `br`, `gzip` or `deflate`
   * (highest `q` first; on a tie br, then gzip, then deflate), with
   * `Content-Encoding` and `Vary: accept-encoding`. `true` announces the
   * compressed `Content-Length`; `"chunked"` sends no length, as servers that
   * compress on the fly do. Default `false`.
   */
  readonly compress?: boolean | "chunked" | undefined
  /**
   * How long a job is kept after it ended; then its status and CSV answer
   * 404 "Job not found", as for an id never given. Bounds the memory of an
   * emulator that runs for days. Default 1 hour.
   */
  readonly jobTtl?: Duration.DurationInput | undefined
}

/**
 * What the emulator has seen.
 *
 * @since 0.1.0
 * @category models
 */
export interface Stats {
  /** Requests per route, faults included (unknown paths and wrong methods are not counted). */
  readonly requests: { readonly [R in Route]: number }
  /** Status requests of a job after a response that already said `completed` or `error`. */
  readonly statusRequestsAfterTerminal: number
  /** Jobs started. */
  readonly jobsStarted: number
  /** Requests answered with an injected fault. */
  readonly faultsInjected: number
  /** Jobs held now: an ended job is dropped `jobTtl` after it ended. */
  readonly jobsHeld: number
  /** Responses whose body was sent compressed (see `compress`). */
  readonly compressedResponses: number
}

/**
 * The parts of a running emulator a test uses.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** `http://127.0.0.1:PORT`, no trailing slash. */
  readonly baseUrl: string
  /** Sets (or with `undefined` clears) the fault plan of a route. */
  readonly setFaults: (route: Route, plan: FaultPlan | undefined) => Effect.Effect<void>
  /** Clears the fault plans of every route. */
  readonly clearFaults: Effect.Effect<void>
  readonly stats: Effect.Effect<Stats>
  /** The CSV the job serves once it has ended (all rows, or the rows before its error); `None` for an unknown id. */
  readonly expectedCsv: (jobId: string) => Effect.Effect<Option.Option<string>>
}

/**
 * The port asked for is taken by another process (`EADDRINUSE`).
 *
 * @since 0.1.0
 * @category errors
 */
export class PortInUse extends Schema.TaggedError<PortInUse>("@effect-qoery/emulator/PortInUse")("PortInUse", {
  host: Schema.String,
  port: Schema.Number
}) {
  override get message(): string {
    return `port ${this.port} is in use on ${this.host}`
  }
}

/**
 * Why the emulator could not start: its port is taken, or another failure of
 * the server (`ServeError`, with the cause).
 *
 * @since 0.1.0
 * @category errors
 */
export type StartError = PortInUse | HttpServerError.ServeError

const isAddressInUse = (error: HttpServerError.ServeError): boolean =>
  typeof error.cause === "object" && error.cause !== null && (error.cause as { code?: unknown }).code === "EADDRINUSE"

/**
 * A running emulator.
 *
 * @since 0.1.0
 * @category tags
 */
export class Emulator extends Context.Tag("@effect-qoery/emulator/Emulator")<Emulator, Service>() {}

/**
 * An emulator without a server: its HTTP handler and its controls.
 *
 * @since 0.1.0
 * @category models
 */
export interface Handler extends Omit<Service, "baseUrl"> {
  readonly app: HttpApp.Default
}

const millis = (input: Duration.DurationInput | undefined, fallback: number) =>
  input === undefined ? fallback : Duration.toMillis(Duration.decode(input))

const config = (options: Options): Config => {
  const quota = options.quota ?? 10_000
  const jobDurationMillis = millis(options.jobDuration, 3_000)
  const pollingIntervalMillis = Math.round(millis(options.pollingInterval, 1_000))
  if (!Number.isInteger(quota) || quota < 0) throw new Error(`quota must be a non-negative integer, got ${quota}`)
  if (!Number.isFinite(jobDurationMillis) || jobDurationMillis < 0) throw new Error("jobDuration must be finite")
  if (!Number.isFinite(pollingIntervalMillis) || pollingIntervalMillis < 0) {
    throw new Error("pollingInterval must be finite")
  }
  const jobTtlMillis = millis(options.jobTtl, 3_600_000)
  if (Number.isNaN(jobTtlMillis) || jobTtlMillis < 0) throw new Error("jobTtl must not be negative")
  return {
    apiKeys: new Set(options.apiKeys ?? [demoApiKey]),
    quota,
    jobDurationMillis,
    pollingIntervalMillis,
    admin: options.admin ?? false,
    log: options.log ?? false,
    faults: options.faults ?? {},
    seed: options.seed ?? 1,
    compress: options.compress === "chunked" ? "chunked" : options.compress === true ? "length" : "off",
    jobTtlMillis
  }
}

/**
 * Builds an emulator's handler and controls, without a server: serve `app`
 * with any `HttpServer` (drop, truncate and stall faults need a node server).
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeHandler = (options: Options = {}): Effect.Effect<Handler> =>
  Effect.sync(() => {
    const instance = App.make(config(options))
    return {
      app: instance.app,
      setFaults: (route, plan) => Effect.sync(() => instance.injector.set(route, plan)),
      clearFaults: Effect.sync(() => instance.injector.clear()),
      stats: Effect.sync(() => instance.stats()),
      expectedCsv: (jobId) => Effect.map(Clock.currentTimeMillis, (now) => instance.expectedCsv(jobId, now))
    }
  })

/**
 * The emulator's HTTP handler alone, for tests that serve it themselves (for
 * example with `NodeHttpServer.layerTest`).
 *
 * @example
 * ```ts
 * import { Emulator } from "@effect-qoery/emulator"
 * import { HttpServer } from "@effect/platform"
 * import { NodeHttpServer } from "@effect/platform-node"
 * import { Effect, Layer } from "effect"
 *
 * const TestServer = Layer.unwrapEffect(
 *   Effect.map(Emulator.make({ jobDuration: "100 millis" }), (app) => HttpServer.serve(app))
 * ).pipe(Layer.provideMerge(NodeHttpServer.layerTest))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options = {}): Effect.Effect<HttpApp.Default> =>
  Effect.map(makeHandler(options), (handler) => handler.app)

/**
 * Serves the emulator on `host:port` (default `127.0.0.1`, a free port) for
 * the life of the layer, and provides its base URL and controls. Fails with
 * `PortInUse` when the port is taken.
 *
 * @example
 * ```ts
 * import { Emulator } from "@effect-qoery/emulator"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const emulator = yield* Emulator.Emulator
 *   console.log(emulator.baseUrl)
 * }).pipe(Effect.provide(Emulator.layer({ jobDuration: "200 millis" })))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<Emulator, StartError> => {
  let server: Http.Server | undefined
  const port = options.port ?? 0
  const host = options.host ?? "127.0.0.1"
  const serverLayer = NodeHttpServer.layer(() => {
    server = Http.createServer({ keepAliveTimeout: 5_000 })
    return server
  }, { port, host }).pipe(
    Layer.mapError((error): StartError => isAddressInUse(error) ? new PortInUse({ host, port }) : error)
  )
  return Layer.scoped(
    Emulator,
    Effect.gen(function*() {
      const handler = yield* makeHandler(options)
      yield* HttpServer.serveEffect(handler.app).pipe(HttpMiddleware.withTracerDisabledWhenEffect(() => true))
      // Connections still open (keep-alive, stalled downloads) must not hold the shutdown.
      yield* Effect.addFinalizer(() => Effect.sync(() => server?.closeAllConnections()))
      const { address } = yield* HttpServer.HttpServer
      const host = address._tag === "TcpAddress"
        ? (address.hostname.includes(":") ? `[${address.hostname}]` : address.hostname)
        : "localhost"
      const baseUrl = address._tag === "TcpAddress" ? `http://${host}:${address.port}` : `http://${host}`
      const { app: _, ...controls } = handler
      return Emulator.of({ baseUrl, ...controls })
    })
  ).pipe(Layer.provide(serverLayer))
}
