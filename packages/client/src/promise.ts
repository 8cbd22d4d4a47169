/**
 * The Qoery client for scripts that do not use Effect: Promises,
 * `AsyncIterable`s and `AbortSignal`s over the same Effect implementation.
 *
 * @example
 * ```ts
 * import { createClient } from "@effect-qoery/client/promise"
 *
 * const qoery = createClient({ apiKey: process.env.QOERY_API_KEY })
 * const { jobId } = await qoery.startJob("climate change statistics")
 * for await (const status of qoery.watch(jobId)) {
 *   console.log(status.progress.currentStep, status.progress.rowsCollected)
 * }
 * for await (const row of qoery.rows(jobId)) console.log(row.title, row.value)
 * await qoery.close()
 * ```
 *
 * @since 0.1.0
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as DatasetCsv from "./DatasetCsv.js"
import { type ApiErrorTag, copyFields, messageOf } from "./internal/promiseErrors.js"
import type * as JobStatus from "./JobStatus.js"
import * as JobWatcher from "./JobWatcher.js"
import * as QoeryClient from "./QoeryClient.js"
import type * as QoeryError from "./QoeryError.js"

/**
 * How to reach the API. `apiKey` and `baseUrl` default to `QOERY_API_KEY`
 * and `QOERY_BASE_URL` where the runtime has `process.env`.
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
  /** The `fetch` to use (default the global one). */
  readonly fetch?: typeof globalThis.fetch | undefined
  /** Send the key over plain http to a host that is not loopback. Default `false`. */
  readonly allowInsecureKey?: boolean | undefined
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
  readonly onRetry?:
    | ((info: { jobId: string; error: QoeryApiError; attempt: number; delayMs: number }) => void)
    | undefined
}

/**
 * The client.
 *
 * @since 0.1.0
 * @category models
 */
export interface Client {
  /** Starts a dataset job. */
  readonly startJob: (search: string, options?: CallOptions) => Promise<JobStatus.JobStarted>
  /** The current status of a job. */
  readonly status: (jobId: string, options?: CallOptions) => Promise<JobStatus.JobStatus>
  /** The statuses of a job as they change, ending with `completed` or `error` (a failed job is a value). */
  readonly watch: (jobId: string, options?: WatchOptions) => AsyncIterable<JobStatus.JobStatus>
  /** The `completed` status; rejects with `JobFailedError` when the job ends in error. */
  readonly waitFor: (jobId: string, options?: WatchOptions) => Promise<JobStatus.Completed>
  /** The typed rows of the job's CSV, partial while it runs. */
  readonly rows: (jobId: string, options?: CallOptions) => AsyncIterable<DatasetCsv.CsvRow>
  /** Releases the connections. The client cannot be used after. */
  readonly close: () => Promise<void>
}

/**
 * A failure of an API call, with the tag of the Effect error as `name` and
 * `tag`, and its fields (`status`, `error`, `details`, `jobId`, `retryAfter`
 * in ms, `resetDate` as a `Date`, ...). Never the key.
 *
 * @since 0.1.0
 * @category errors
 */
export class QoeryApiError extends Error {
  readonly tag: ApiErrorTag
  declare readonly status?: number
  declare readonly error?: string
  declare readonly details?: string
  declare readonly jobId?: string
  declare readonly field?: string
  declare readonly description?: string
  declare readonly reason?: "Transport" | "Timeout" | "Stalled" | "Truncated"
  /** Milliseconds, for `RateLimited`. */
  declare readonly retryAfter?: number
  /** For `QuotaExceeded`. */
  declare readonly resetDate?: Date
  declare readonly rateLimit?: QoeryError.RateLimitInfo
  constructor(error: QoeryError.QoeryError) {
    super(error.message, "cause" in error && error.cause !== undefined ? { cause: error.cause } : undefined)
    this.tag = error._tag
    this.name = error._tag
    copyFields(this, error)
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
  readonly lastStatus: JobStatus.JobStatus | undefined
  constructor(error: JobWatcher.WatchTimeout) {
    super(error.message)
    this.name = "WatchTimeout"
    this.jobId = error.jobId
    this.elapsed = Duration.toMillis(error.elapsed)
    this.lastStatus = error.lastStatus
  }
}

/**
 * The job ended in error (`waitFor`); `status` is its `error` status.
 *
 * @since 0.1.0
 * @category errors
 */
export class JobFailedError extends Error {
  readonly tag = "JobFailed" as const
  readonly jobId: string
  readonly status: JobStatus.Failed
  constructor(error: JobWatcher.JobFailed) {
    super(error.message)
    this.name = "JobFailed"
    this.jobId = error.status.jobId
    this.status = error.status
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
  constructor(error: DatasetCsv.CsvError) {
    super(messageOf(error))
    this.name = "CsvError"
    copyFields(this, error)
  }
}

/**
 * Any error the client rejects with (besides an abort, which rejects with
 * `signal.reason`).
 *
 * @since 0.1.0
 * @category errors
 */
export type ClientError = QoeryApiError | WatchTimeoutError | JobFailedError | CsvFormatError

const toError = (error: unknown): unknown => {
  if (typeof error !== "object" || error === null || !("_tag" in error)) return error
  switch (error._tag) {
    case "WatchTimeout":
      return new WatchTimeoutError(error as JobWatcher.WatchTimeout)
    case "JobFailed":
      return new JobFailedError(error as JobWatcher.JobFailed)
    case "CsvError":
      return new CsvFormatError(error as DatasetCsv.CsvError)
    case "Aborted":
      return (error as Aborted).reason
    default:
      return new QoeryApiError(error as QoeryError.QoeryError)
  }
}

class Aborted {
  readonly _tag = "Aborted"
  constructor(readonly reason: unknown) {}
}

/** Fails with `Aborted` when the signal aborts; never completes otherwise. */
const aborted = (signal: AbortSignal | undefined): Effect.Effect<never, Aborted> =>
  signal === undefined
    ? Effect.never
    : Effect.async<never, Aborted>((resume) => {
      const onAbort = () => resume(Effect.fail(new Aborted(signal.reason)))
      if (signal.aborted) return onAbort()
      signal.addEventListener("abort", onAbort, { once: true })
      return Effect.sync(() => signal.removeEventListener("abort", onAbort))
    })

const env = (name: string): string | undefined => {
  const value = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.[name]
  return value === undefined || value === "" ? undefined : value
}

/**
 * Creates a client. Throws a `QoeryApiError` (`InvalidInput`) at once when
 * the base URL is not an http(s) origin.
 *
 * @since 0.1.0
 * @category constructors
 */
export const createClient = (options: ClientOptions = {}): Client => {
  const apiKey = options.apiKey ?? env("QOERY_API_KEY")
  const baseUrl = options.baseUrl ?? env("QOERY_BASE_URL") ?? QoeryClient.defaultBaseUrl
  const checked = QoeryClient.parseBaseUrl(baseUrl)
  if (Either.isLeft(checked)) throw new QoeryApiError(checked.left)
  const http = options.fetch === undefined
    ? FetchHttpClient.layer
    : FetchHttpClient.layer.pipe(Layer.provide(Layer.succeed(FetchHttpClient.Fetch, options.fetch)))
  const runtime = ManagedRuntime.make(
    QoeryClient.layer({
      baseUrl,
      ...(apiKey === undefined ? {} : { apiKey }),
      ...(options.timeout === undefined ? {} : { timeout: options.timeout }),
      ...(options.allowInsecureKey === undefined ? {} : { allowInsecureKey: options.allowInsecureKey })
    }).pipe(Layer.provide(http))
  )

  const call = <A, E>(
    effect: Effect.Effect<A, E, QoeryClient.QoeryClient>,
    signal: AbortSignal | undefined
  ): Promise<A> => {
    if (signal?.aborted) return Promise.reject(signal.reason)
    return runtime.runPromiseExit(Effect.raceFirst(effect, aborted(signal))).then((exit) => {
      if (Exit.isSuccess(exit)) return exit.value
      const failure = Cause.failureOption(exit.cause)
      throw Option.isSome(failure) ? toError(failure.value) : Cause.squash(exit.cause)
    })
  }

  const iterate = <A, E>(
    stream: Stream.Stream<A, E, QoeryClient.QoeryClient>,
    signal: AbortSignal | undefined
  ): AsyncIterable<A> => ({
    async *[Symbol.asyncIterator]() {
      if (signal?.aborted) throw signal.reason
      const built = await Effect.runPromiseExit(runtime.runtimeEffect)
      if (Exit.isFailure(built)) {
        const failure = Cause.failureOption(built.cause)
        throw Option.isSome(failure) ? toError(failure.value) : Cause.squash(built.cause)
      }
      const rt = built.value
      yield* Stream.toAsyncIterableRuntime(
        stream.pipe(Stream.interruptWhen(aborted(signal)), Stream.mapError(toError)),
        rt
      )
    }
  })

  const watchOptions = (options: WatchOptions | undefined): JobWatcher.WatchOptions => {
    if (options === undefined) return {}
    const { onRetry, signal: _signal, ...rest } = options
    return {
      ...rest,
      ...(onRetry === undefined ? {} : {
        onRetry: (info: JobWatcher.RetryInfo) =>
          Effect.sync(() =>
            onRetry({
              jobId: info.jobId,
              error: new QoeryApiError(info.error),
              attempt: info.attempt,
              delayMs: Duration.toMillis(info.delay)
            })
          )
      })
    }
  }

  return {
    startJob: (search, options) =>
      call(Effect.flatMap(QoeryClient.QoeryClient, (client) => client.startJob(search)), options?.signal),
    status: (jobId, options) =>
      call(Effect.flatMap(QoeryClient.QoeryClient, (client) => client.getStatus(jobId)), options?.signal),
    watch: (jobId, options) => iterate(JobWatcher.watch(jobId, watchOptions(options)), options?.signal),
    waitFor: (jobId, options) => call(JobWatcher.awaitCompletion(jobId, watchOptions(options)), options?.signal),
    rows: (jobId, options) => iterate(DatasetCsv.rows(jobId), options?.signal),
    close: () => runtime.dispose()
  }
}
