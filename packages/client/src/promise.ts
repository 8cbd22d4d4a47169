/**
 * The Qoery client for scripts that do not use Effect: Promises,
 * `AsyncIterable`s and `AbortSignal`s over the same Effect implementation.
 *
 * @example
 * ```ts
 * import { createClient } from "@effect-qoery/client/promise"
 *
 * const qoery = createClient({ apiKey: process.env.QOERY_API_KEY })
 * const { status, rows } = await qoery.collect("climate change statistics", {
 *   onStatus: (s) => console.log(s.progress.currentStep, s.progress.rowsCollected)
 * })
 * console.log(`${rows.length} rows, done at ${status.completedAt?.toISOString()}`)
 * await qoery.close()
 * ```
 *
 * @since 0.1.0
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as Cause from "effect/Cause"
import * as ConfigProvider from "effect/ConfigProvider"
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Stream from "effect/Stream"
import * as DatasetCsv from "./DatasetCsv.js"
import * as FetchHttpClient from "./FetchHttpClient.js"
import type * as JobStatus from "./JobStatus.js"
import * as JobWatcher from "./JobWatcher.js"
import * as QoeryClient from "./QoeryClient.js"
import type * as QoeryError from "./QoeryError.js"

// ---------------------------------------------------------------------------
// Plain values: one rule for every date and duration the facade gives out.

/**
 * A value as the Promise API gives it: every `DateTime` a `Date`, every
 * `Duration` a number of milliseconds, the rest as it is. Statuses and the
 * fields of errors follow this one rule.
 *
 * @since 0.1.0
 * @category models
 */
export type Plain<T> = T extends DateTime.DateTime ? Date
  : T extends Duration.Duration ? number
  : T extends string | number | boolean | bigint | symbol | null | undefined ? T
  : T extends ReadonlyArray<infer U> ? ReadonlyArray<Plain<U>>
  : { readonly [K in keyof T]: Plain<T[K]> }

const plain = (value: unknown): any => {
  if (DateTime.isDateTime(value)) return DateTime.toDate(value)
  if (Duration.isDuration(value)) return Duration.toMillis(value)
  if (Array.isArray(value)) return value.map(plain)
  if (typeof value === "object" && value !== null) {
    const out: Record<string, unknown> = {}
    for (const [key, field] of Object.entries(value)) out[key] = plain(field)
    return out
  }
  return value
}

/**
 * A job's status, as the Promise API gives it (`Plain<JobStatus.JobStatus>`):
 * discriminated by `status`, with `Date`s. Counters are what the service
 * said; they are not promised to grow.
 *
 * @since 0.1.0
 * @category models
 */
export type Status = Plain<JobStatus.JobStatus>

/**
 * @since 0.1.0
 * @category models
 */
export type CompletedStatus = Plain<JobStatus.Completed>

/**
 * @since 0.1.0
 * @category models
 */
export type FailedStatus = Plain<JobStatus.Failed>

// ---------------------------------------------------------------------------
// Errors: a union discriminated by `tag`.

/**
 * The fields of each API error, by tag (`Plain` fields of the Effect error).
 * Every error that comes from an HTTP answer has its `status`.
 *
 * @since 0.1.0
 * @category errors
 */
export interface ApiErrorFields {
  readonly Unauthorized: { readonly status: 401; readonly error: string; readonly details?: string }
  readonly BadRequest: { readonly status: 400; readonly error: string; readonly details?: string }
  readonly JobNotFound: { readonly status: 404; readonly jobId: string; readonly details?: string }
  readonly CsvNotReady: { readonly status: 404; readonly jobId: string; readonly details?: string }
  readonly QuotaExceeded: {
    readonly status: 429
    readonly error: string
    readonly resetDate?: Date
    readonly rateLimit?: QoeryError.RateLimitInfo
  }
  readonly RateLimited: {
    readonly status: 429
    /** Milliseconds. */
    readonly retryAfter: number
    readonly error?: string
    readonly rateLimit?: QoeryError.RateLimitInfo
  }
  readonly ServerError: {
    readonly status: number
    readonly error?: string
    readonly details?: string
    /** Milliseconds, when the service sent `Retry-After`. */
    readonly retryAfter?: number
  }
  readonly TransportError: {
    readonly reason: QoeryError.TransportError["reason"]
    readonly description: string
  }
  readonly ResponseError: { readonly status: number; readonly description: string }
  readonly InvalidInput: { readonly field: string; readonly description: string }
}

/**
 * The tags of the API errors.
 *
 * @since 0.1.0
 * @category errors
 */
export type ApiErrorTag = QoeryError.QoeryError["_tag"]

const statusOf: Partial<Record<ApiErrorTag, number>> = {
  Unauthorized: 401,
  BadRequest: 400,
  JobNotFound: 404,
  CsvNotReady: 404,
  QuotaExceeded: 429,
  RateLimited: 429
}

/**
 * The class of every API error (`instanceof QoeryApiError`); its type is the
 * union of the variants, so checking `tag` narrows to the variant's fields.
 *
 * @example
 * ```ts
 * import { QoeryApiError } from "@effect-qoery/client/promise"
 * declare const error: unknown
 * if (error instanceof QoeryApiError && error.tag === "QuotaExceeded") console.log(error.resetDate)
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export const QoeryApiError: {
  new(error: QoeryError.QoeryError): QoeryApiError
  readonly prototype: QoeryApiError
} = class QoeryApiError extends Error {
  readonly tag: ApiErrorTag
  constructor(error: QoeryError.QoeryError) {
    super(error.message, "cause" in error && error.cause !== undefined ? { cause: error.cause } : undefined)
    this.tag = error._tag
    this.name = error._tag
    const status = statusOf[error._tag]
    if (status !== undefined) define(this, "status", status)
    copyFields(this, error)
  }
} as any

/**
 * An API error: `tag` (also its `name`) says which, and each variant has its
 * own fields (`ApiErrorFields`). Never the key.
 *
 * @since 0.1.0
 * @category errors
 */
export type QoeryApiError = {
  readonly [K in ApiErrorTag]: Error & { readonly tag: K; readonly name: K } & ApiErrorFields[K]
}[ApiErrorTag]

const define = (target: object, key: string, value: unknown) =>
  Object.defineProperty(target, key, { value, enumerable: true, writable: false, configurable: true })

/** Copies the fields of a tagged error (not `_tag`, `message`, `stack`, `cause`) onto the plain error. */
const copyFields = (target: object, source: object) => {
  for (const [key, value] of Object.entries(source)) {
    if (key === "_tag" || key === "message" || key === "stack" || key === "name" || key === "cause") continue
    define(target, key, plain(value))
  }
}

/**
 * The watch took longer than its `timeout`.
 *
 * @since 0.1.0
 * @category errors
 */
export class WatchTimeoutError extends Error {
  readonly tag = "WatchTimeout" as const
  readonly jobId: string
  /** Milliseconds. */
  readonly elapsed: number
  readonly lastStatus: Status | undefined
  /** The message of the last failed poll, when the polls after the last status (if any) all failed. */
  readonly lastError: string | undefined
  constructor(error: JobWatcher.WatchTimeout) {
    super(error.message)
    this.name = "WatchTimeout"
    this.jobId = error.jobId
    this.elapsed = Duration.toMillis(error.elapsed)
    this.lastStatus = error.lastStatus === undefined ? undefined : plain(error.lastStatus)
    this.lastError = error.lastError
  }
}

/**
 * The job ended in error (`waitFor`, `collect`); `status` is its `error`
 * status.
 *
 * @since 0.1.0
 * @category errors
 */
export class JobFailedError extends Error {
  readonly tag = "JobFailed" as const
  readonly jobId: string
  readonly status: FailedStatus
  constructor(error: JobWatcher.JobFailed) {
    super(error.message)
    this.name = "JobFailed"
    this.jobId = error.status.jobId
    this.status = plain(error.status)
  }
}

/**
 * The CSV could not be parsed.
 *
 * @since 0.1.0
 * @category errors
 */
export class CsvFormatError extends Error {
  readonly tag = "CsvError" as const
  readonly line: number
  readonly column: string | undefined
  readonly description: string
  constructor(error: DatasetCsv.CsvError) {
    super(error.message)
    this.name = "CsvError"
    this.line = error.line
    this.column = error.column
    this.description = error.description
  }
}

/**
 * The client was closed (`close()`): every call and iterator in flight then
 * rejects with it, and so does every later call.
 *
 * @since 0.1.0
 * @category errors
 */
export class ClientClosedError extends Error {
  readonly tag = "ClientClosed" as const
  constructor() {
    super("The Qoery client was closed")
    this.name = "ClientClosed"
  }
}

/**
 * Any error the client rejects with (besides an abort, which rejects with
 * `signal.reason`), discriminated by `tag`.
 *
 * @since 0.1.0
 * @category errors
 */
export type ClientError = QoeryApiError | WatchTimeoutError | JobFailedError | CsvFormatError | ClientClosedError

const toError = (error: unknown): unknown => {
  if (!Predicate.hasProperty(error, "_tag")) return error
  switch (error._tag) {
    case "WatchTimeout":
      return new WatchTimeoutError(error as JobWatcher.WatchTimeout)
    case "JobFailed":
      return new JobFailedError(error as JobWatcher.JobFailed)
    case "CsvError":
      return new CsvFormatError(error as DatasetCsv.CsvError)
    default:
      return new QoeryApiError(error as QoeryError.QoeryError)
  }
}

// ---------------------------------------------------------------------------
// Options

/**
 * How to reach the API. `apiKey` and `baseUrl` default to `QOERY_API_KEY`
 * and `QOERY_BASE_URL` where the runtime has an environment
 * (`QoeryClient.config`, the one reading of it).
 *
 * @since 0.1.0
 * @category models
 */
export interface ClientOptions {
  readonly apiKey?: string | undefined
  /** Default `https://api.qoery.com`. */
  readonly baseUrl?: string | undefined
  /** Per request: milliseconds or a duration such as `"10 seconds"`. Default 30 seconds. */
  readonly timeout?: Duration.DurationInput | undefined
  /** A `fetch` to send every request with; without it, undici on Node (when the package loads), else the global `fetch`. */
  readonly fetch?: typeof globalThis.fetch | undefined
  /** Send the key over plain http to a host that is not loopback. Default `false`. */
  readonly allowInsecureKey?: boolean | undefined
  /** The most bytes read of a JSON response. Default 1 MiB. */
  readonly maxResponseBytes?: number | undefined
}

/**
 * A signal that cancels the call: its promise rejects with `signal.reason`
 * and the request in flight is aborted.
 *
 * @since 0.1.0
 * @category models
 */
export interface CallOptions {
  readonly signal?: AbortSignal | undefined
}

/**
 * What `onRetry` is told before each retry, with `delay` in milliseconds.
 *
 * @since 0.1.0
 * @category models
 */
export interface RetryEvent {
  readonly jobId: string
  readonly error: QoeryApiError
  readonly attempt: number
  /** Milliseconds. */
  readonly delayMs: number
  readonly operation: "status" | "csv"
}

/**
 * How to watch a job (see `JobWatcher.WatchOptions`): `interval`, `timeout`,
 * `emit`, `retry`, `onRetry` as a plain callback, and a `signal`.
 *
 * @since 0.1.0
 * @category models
 */
export interface WatchOptions extends CallOptions {
  readonly interval?: Duration.DurationInput | undefined
  readonly timeout?: Duration.DurationInput | undefined
  readonly emit?: "changes" | "every" | undefined
  readonly retry?: JobWatcher.RetryOptions | undefined
  readonly onRetry?: ((info: RetryEvent) => void) | undefined
}

/**
 * How `collect` runs a job: the options of a watch, `onStatus` for each
 * status as it changes, and `rows: "iterable"` to get the rows as an
 * `AsyncIterable` (for big files) rather than an array.
 *
 * @since 0.1.0
 * @category models
 */
export interface CollectOptions extends WatchOptions {
  readonly onStatus?: ((status: Status) => void) | undefined
  readonly rows?: "array" | "iterable" | undefined
}

/**
 * What `collect` gives: the `completed` status and its rows.
 *
 * @since 0.1.0
 * @category models
 */
export interface Collected<Rows> {
  readonly status: CompletedStatus
  readonly rows: Rows
}

/**
 * The client.
 *
 * @since 0.1.0
 * @category models
 */
export interface Client {
  /** Starts a dataset job. */
  readonly startJob: (search: string, options?: CallOptions) => Promise<Plain<JobStatus.JobStarted>>
  /** The current status of a job. */
  readonly status: (jobId: string, options?: CallOptions) => Promise<Status>
  /** The statuses of a job as they change, ending with `completed` or `error` (a failed job is a value). */
  readonly watch: (jobId: string, options?: WatchOptions) => AsyncIterable<Status>
  /** The `completed` status; rejects with `JobFailedError` when the job ends in error. */
  readonly waitFor: (jobId: string, options?: WatchOptions) => Promise<CompletedStatus>
  /** The typed rows of the job's CSV, partial while it runs. */
  readonly rows: (jobId: string, options?: CallOptions) => AsyncIterable<DatasetCsv.CsvRow>
  /**
   * Starts a job for `search`, waits for it (telling `onStatus` of each
   * change) and gives its `completed` status with its rows: an array, or an
   * `AsyncIterable` with `rows: "iterable"`. Rejects with `JobFailedError`
   * when the job ends in error.
   */
  readonly collect: {
    (
      search: string,
      options: CollectOptions & { readonly rows: "iterable" }
    ): Promise<Collected<AsyncIterable<DatasetCsv.CsvRow>>>
    (search: string, options?: CollectOptions): Promise<Collected<ReadonlyArray<DatasetCsv.CsvRow>>>
  }
  /**
   * Ends every call and iterator in flight (they reject with
   * `ClientClosedError`), stops their polling and releases the connections.
   * Later calls reject with `ClientClosedError`.
   */
  readonly close: () => Promise<void>
}

// ---------------------------------------------------------------------------

/** A signal that aborts when any of them does (`AbortSignal.any` where there is one). */
const anySignal = (signals: ReadonlyArray<AbortSignal>): AbortSignal => {
  if (signals.length === 1) return signals[0]!
  if (typeof AbortSignal.any === "function") return AbortSignal.any([...signals])
  const controller = new AbortController()
  for (const signal of signals) {
    if (signal.aborted) {
      controller.abort(signal.reason)
      break
    }
    signal.addEventListener("abort", () => controller.abort(signal.reason), { once: true })
  }
  return controller.signal
}

/** The environment's `QOERY_API_KEY` and `QOERY_BASE_URL`, through `QoeryClient.config`; nothing where there is none. */
const fromEnvironment = (): QoeryClient.Options =>
  Either.getOrElse(
    Effect.runSync(Effect.either(Effect.withConfigProvider(QoeryClient.config, ConfigProvider.fromEnv()))),
    () => ({})
  )

/** When a CSV of a completed job answers "not ready", the wait for it: about five seconds. */
const csvGrace: JobWatcher.RetryOptions = { base: 250, cap: 1_000, budget: 8 }

/**
 * The cheapest transport the runtime has: on Node, `UndiciHttpClient` when the
 * `undici` package can be loaded (BENCHMARKS.md: about half the CPU of fetch
 * per poll); elsewhere, or without `undici`, the global `fetch` through the
 * client's lean `FetchHttpClient`.
 */
const cheapestHttpClient: Layer.Layer<HttpClient.HttpClient> = Layer.unwrapEffect(
  Effect.promise(() =>
    typeof process === "object" && typeof process.versions?.node === "string"
      ? import("./UndiciHttpClient.js").then((module) => module.layer, () => FetchHttpClient.layer)
      : Promise.resolve(FetchHttpClient.layer)
  )
)

/**
 * Creates a client. Throws a `QoeryApiError` (`InvalidInput`) at once when
 * the base URL is not an http(s) origin.
 *
 * @since 0.1.0
 * @category constructors
 */
export const createClient = (options: ClientOptions = {}): Client => {
  const environment = fromEnvironment()
  const apiKey = options.apiKey ?? environment.apiKey
  const baseUrl = options.baseUrl ?? environment.baseUrl ?? QoeryClient.defaultBaseUrl
  const checked = QoeryClient.parseBaseUrl(baseUrl)
  if (Either.isLeft(checked)) throw new QoeryApiError(QoeryClient.redactInvalidInput(checked.left, apiKey))
  const http = options.fetch === undefined
    ? cheapestHttpClient
    : Layer.succeed(HttpClient.HttpClient, FetchHttpClient.make(options.fetch))
  const runtime = ManagedRuntime.make(
    QoeryClient.layer({
      baseUrl,
      ...(apiKey === undefined ? {} : { apiKey }),
      ...(options.timeout === undefined ? {} : { timeout: options.timeout }),
      ...(options.allowInsecureKey === undefined ? {} : { allowInsecureKey: options.allowInsecureKey }),
      ...(options.maxResponseBytes === undefined ? {} : { maxResponseBytes: options.maxResponseBytes })
    }).pipe(Layer.provide(http))
  )
  /** Aborted by `close()`: it ends everything in flight. */
  const closing = new AbortController()

  /** What a call that did not succeed rejects with. */
  const rejection = (cause: Cause.Cause<unknown>, signal: AbortSignal | undefined): unknown => {
    const failure = Cause.failureOption(cause)
    if (Option.isSome(failure)) return toError(failure.value)
    if (closing.signal.aborted) return new ClientClosedError()
    if (signal?.aborted) return signal.reason
    return Cause.squash(cause)
  }

  const call = <A, E>(
    effect: Effect.Effect<A, E, QoeryClient.QoeryClient>,
    signal: AbortSignal | undefined
  ): Promise<A> => {
    if (closing.signal.aborted) return Promise.reject(new ClientClosedError())
    if (signal?.aborted) return Promise.reject(signal.reason)
    const stop = anySignal(signal === undefined ? [closing.signal] : [closing.signal, signal])
    return runtime.runPromiseExit(effect, { signal: stop }).then((exit) => {
      if (Exit.isSuccess(exit)) return exit.value
      throw rejection(exit.cause, signal)
    })
  }

  /** Fails with the marker when the signal aborts; never completes otherwise. */
  const aborted = (signal: AbortSignal): Effect.Effect<never, Aborted> =>
    Effect.async<never, Aborted>((resume) => {
      const onAbort = () => resume(Effect.fail(new Aborted()))
      if (signal.aborted) return onAbort()
      signal.addEventListener("abort", onAbort, { once: true })
      return Effect.sync(() => signal.removeEventListener("abort", onAbort))
    })

  const iterate = <A, E>(
    stream: Stream.Stream<A, E, QoeryClient.QoeryClient>,
    signal: AbortSignal | undefined
  ): AsyncIterable<A> => ({
    async *[Symbol.asyncIterator]() {
      if (closing.signal.aborted) throw new ClientClosedError()
      if (signal?.aborted) throw signal.reason
      const stop = anySignal(signal === undefined ? [closing.signal] : [closing.signal, signal])
      const built = await runtime.runtimeEffect.pipe(Effect.exit, Effect.runPromise)
      if (Exit.isFailure(built)) throw rejection(built.cause, signal)
      try {
        yield* Stream.toAsyncIterableRuntime(stream.pipe(Stream.interruptWhen(aborted(stop))), built.value)
      } catch (error) {
        if (error instanceof Aborted) throw closing.signal.aborted ? new ClientClosedError() : signal?.reason
        throw toError(error)
      }
    }
  })

  const watchOptions = (options: WatchOptions | undefined): JobWatcher.WatchOptions => {
    if (options === undefined) return {}
    const { onRetry, onStatus: _onStatus, rows: _rows, signal: _signal, ...watch } = options as CollectOptions
    return {
      ...watch,
      ...(onRetry === undefined ? {} : {
        onRetry: (info: JobWatcher.RetryInfo) =>
          Effect.sync(() =>
            onRetry({
              jobId: info.jobId,
              error: new QoeryApiError(info.error),
              attempt: info.attempt,
              delayMs: Duration.toMillis(info.delay),
              operation: info.operation
            })
          )
      })
    }
  }

  /** The rows of a completed job; a CSV not there yet is waited for a little, and a job of no rows has none. */
  const completedRows = (status: JobStatus.Completed) =>
    DatasetCsv.rows(status.jobId, { waitForRows: csvGrace }).pipe(
      Stream.catchTag(
        "CsvNotReady",
        (error) => status.progress.rowsCollected === 0 ? Stream.empty : Stream.fail(error)
      )
    )

  const collect = (search: string, options: CollectOptions = {}): Promise<Collected<any>> => {
    const onStatus = options.onStatus
    const program = Effect.gen(function*() {
      const last = yield* JobWatcher.run(search, watchOptions(options)).pipe(
        Stream.tap((status) => onStatus === undefined ? Effect.void : Effect.sync(() => onStatus(plain(status)))),
        Stream.runLast
      )
      if (Option.isNone(last) || last.value.status === "processing") {
        return yield* Effect.dieMessage(`the watch of "${search}" ended without a terminal status`)
      }
      const status = last.value
      if (status.status === "error") return yield* new JobWatcher.JobFailed({ status })
      if (options.rows === "iterable") return { status, rows: undefined }
      const rows = yield* Stream.runCollect(completedRows(status))
      return { status, rows: Array.from(rows) as ReadonlyArray<DatasetCsv.CsvRow> }
    })
    return call(program, options.signal).then(({ rows, status }) => ({
      status: plain(status) as CompletedStatus,
      rows: rows ?? iterate(completedRows(status), options.signal)
    }))
  }

  return {
    startJob: (search, options) =>
      call(
        Effect.map(Effect.flatMap(QoeryClient.QoeryClient, (client) => client.startJob(search)), plain),
        options?.signal
      ),
    status: (jobId, options) =>
      call(
        Effect.map(Effect.flatMap(QoeryClient.QoeryClient, (client) => client.getStatus(jobId)), plain),
        options?.signal
      ),
    watch: (jobId, options) =>
      iterate(Stream.map(JobWatcher.watch(jobId, watchOptions(options)), plain), options?.signal),
    waitFor: (jobId, options) =>
      call(Effect.map(JobWatcher.awaitCompletion(jobId, watchOptions(options)), plain), options?.signal),
    rows: (jobId, options) => iterate(DatasetCsv.rows(jobId), options?.signal),
    collect: collect as Client["collect"],
    close: () => {
      closing.abort(new ClientClosedError())
      return runtime.dispose()
    }
  }
}

/** The marker of an abort inside an iterator. */
class Aborted extends Error {}
