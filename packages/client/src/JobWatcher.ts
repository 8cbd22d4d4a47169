/**
 * A job as a typed, retrying `Stream` of its statuses, ending with
 * `Completed` or `Failed`.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as Mailbox from "effect/Mailbox"
import type * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as internal from "./internal/watcher.js"
import * as Options from "./internal/watcherOptions.js"
import * as JobStatus from "./JobStatus.js"
import { JobFailed, type WatchAllFailure, type WatchError } from "./JobWatcherError.js"
import * as JobWatcherError from "./JobWatcherError.js"
import { QoeryClient } from "./QoeryClient.js"
import * as QoeryError from "./QoeryError.js"

/**
 * How transient failures are retried, by the watcher and by the CSV
 * downloads (`DatasetCsv.writeFile`, `rows({ waitForRows })`), one policy
 * with the defaults of each: exponential backoff from `base`,
 * multiplied by `factor` each time, capped at `cap`, then jittered to 0.8 to
 * 1.2 times (`Schedule.jittered`); never sooner than the service's
 * `Retry-After`, itself capped at `maxRetryAfter`.
 *
 * @since 0.1.0
 * @category models
 */
export interface RetryOptions {
  /** The first retry delay. Default 500 ms (downloads: 250 ms). */
  readonly base?: Duration.DurationInput | undefined
  /** The growth of the delay from one retry to the next. Default 2. */
  readonly factor?: number | undefined
  /** The longest backoff, before jitter. Default 30 seconds (downloads: 5 seconds). */
  readonly cap?: Duration.DurationInput | undefined
  /** The longest `Retry-After` honoured. Default 60 seconds. */
  readonly maxRetryAfter?: Duration.DurationInput | undefined
  /**
   * How many tries in a row may fail; the last one's error then ends it.
   * Resets after a success. Default 8 polls (`writeFile`: 6 downloads;
   * `rows({ waitForRows: true })`: 41, about three minutes).
   */
  readonly budget?: number | undefined
}

/**
 * What `onRetry` is told before each retry (a display can say "the server
 * asked to wait 60s, retrying at ..." from `delay` and `error`).
 *
 * @since 0.1.0
 * @category models
 */
export interface RetryInfo {
  readonly jobId: string
  /** The transient failure. */
  readonly error: QoeryError.QoeryError
  /** The number of this retry in the current run of failures: 1 for the first. */
  readonly attempt: number
  /**
   * How long it waits before the next try: the backoff, or the service's
   * `Retry-After` (`QoeryError.retryAfter(error)`) when longer, capped at
   * `maxRetryAfter`.
   */
  readonly delay: Duration.Duration
  /** What is retried: a status poll or a CSV download. */
  readonly operation: "status" | "csv"
}

/**
 * How a job is watched. Every option has a default; durations are
 * `Duration.DurationInput` (`1500`, `"1.5 seconds"`, `Duration.seconds(1.5)`).
 *
 * @since 0.1.0
 * @category models
 */
export interface WatchOptions {
  /** The time between the end of a response and the next request. Default 1.5 seconds. */
  readonly interval?: Duration.DurationInput | undefined
  /** The server's suggested interval (`polling_interval_ms`); wins over `interval`, clamped to `minInterval`..`maxInterval`. */
  readonly pollingInterval?: Duration.DurationInput | undefined
  /** The floor of a server hint. Default 250 ms. */
  readonly minInterval?: Duration.DurationInput | undefined
  /** The ceiling of a server hint. Default 60 seconds. */
  readonly maxInterval?: Duration.DurationInput | undefined
  /**
   * Full control over the spacing of polls, instead of an interval: stepped
   * with each status, from the end of its response. When it ends before the
   * job does, the watch fails with `WatchTimeout`.
   */
  readonly schedule?: Schedule.Schedule<unknown, unknown> | undefined
  /** `"changes"` (default) emits a status when it differs from the last one emitted; `"every"` emits every poll. */
  readonly emit?: "changes" | "every" | undefined
  /** How transient failures are retried. */
  readonly retry?: RetryOptions | undefined
  /** The longest the watch may take, from its first poll. Default none for `watch`, 30 minutes for `awaitCompletion` and `run`. */
  readonly timeout?: Duration.DurationInput | undefined
  /**
   * For how long after the first poll a `JobNotFound` is retried, as a job
   * just started may not be visible yet. Default 10 seconds for `run`, 0 for
   * `watch` and `awaitCompletion`.
   */
  readonly notFoundGrace?: Duration.DurationInput | undefined
  /** Called before each retry, for progress displays. */
  readonly onRetry?: ((info: RetryInfo) => Effect.Effect<void>) | undefined
}

/**
 * The options of `run`: those of a watch, and a hook that runs once the job
 * is started, before the first poll (to journal its id).
 *
 * @since 0.1.0
 * @category models
 */
export interface RunOptions extends WatchOptions {
  readonly onStarted?: ((started: JobStatus.JobStarted) => Effect.Effect<void>) | undefined
}

/**
 * The options of `watchAll`: those of each watch, and how many jobs are
 * polled at once (default 16) and whether one job's failure fails the whole
 * stream (default `true`).
 *
 * @since 0.1.0
 * @category models
 */
export interface WatchAllOptions extends WatchOptions {
  readonly concurrency?: number | undefined
  readonly failFast?: boolean | undefined
}

export {
  /**
   * @since 0.1.0
   * @category guards
   */
  isWatchAllFailure,
  /**
   * @since 0.1.0
   * @category errors
   */
  JobFailed,
  /**
   * @since 0.1.0
   * @category models
   */
  WatchAllFailure,
  /**
   * @since 0.1.0
   * @category errors
   */
  type WatchError,
  /**
   * @since 0.1.0
   * @category errors
   */
  WatchTimeout
} from "./JobWatcherError.js"

const config = (options: WatchOptions | undefined, defaults: Options.Defaults) =>
  Effect.suspend(() => Options.resolve(options, defaults))

/**
 * The statuses of a job, from its current one to `Completed` or `Failed`.
 *
 * Polls at once, then `interval` after the end of each response; emits when
 * the status changed (or every poll, with `emit: "every"`); ends right after
 * the terminal status, with no request after it. Transient failures are
 * retried (see `RetryOptions`); others fail the stream at once. Interrupting
 * the consumer aborts the request in flight.
 *
 * @example
 * ```ts
 * import { JobWatcher } from "@effect-qoery/client"
 * import { Console, Effect, Stream } from "effect"
 *
 * const program = JobWatcher.watch("20251110_151628", { interval: "2 seconds" }).pipe(
 *   Stream.runForEach((status) => Console.log(status.status, status.progress.currentStep))
 * )
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const watch: {
  (options?: WatchOptions): (jobId: string) => Stream.Stream<JobStatus.JobStatus, WatchError, QoeryClient>
  (jobId: string, options?: WatchOptions): Stream.Stream<JobStatus.JobStatus, WatchError, QoeryClient>
} = dual(
  (args) => typeof args[0] === "string",
  (jobId: string, options?: WatchOptions): Stream.Stream<JobStatus.JobStatus, WatchError, QoeryClient> =>
    Stream.unwrap(
      Effect.zipWith(
        config(options, Options.watchDefaults),
        QoeryClient,
        (config, client) => internal.watch(client, jobId, config)
      )
    )
)

/**
 * Waits for a job to end: its `Completed` status, or `JobFailed` with the
 * `Failed` one. Times out after 30 minutes unless `timeout` says otherwise.
 *
 * @since 0.1.0
 * @category combinators
 */
export const awaitCompletion: {
  (options?: WatchOptions): (jobId: string) => Effect.Effect<JobStatus.Completed, WatchError | JobFailed, QoeryClient>
  (jobId: string, options?: WatchOptions): Effect.Effect<JobStatus.Completed, WatchError | JobFailed, QoeryClient>
} = dual(
  (args) => typeof args[0] === "string",
  (jobId: string, options?: WatchOptions): Effect.Effect<JobStatus.Completed, WatchError | JobFailed, QoeryClient> =>
    Effect.gen(function*() {
      const resolved = yield* config(options, Options.awaitDefaults)
      const client = yield* QoeryClient
      const last = yield* Stream.runLast(internal.watch(client, jobId, resolved))
      // The stream only ends after a terminal status.
      if (last._tag === "None" || last.value.status === "processing") {
        return yield* Effect.dieMessage(`JobWatcher: the watch of job ${jobId} ended without a terminal status`)
      }
      const status = last.value
      return status.status === "completed" ? status : yield* new JobFailed({ status })
    })
)

/**
 * Starts a job for `search` and watches it at the interval the service
 * suggests (clamped to `minInterval`..`maxInterval`). `onStarted` runs before
 * the first poll. The start itself is not retried (it is not idempotent).
 * Times out after 30 minutes and retries `JobNotFound` for 10 seconds unless
 * the options say otherwise.
 *
 * @since 0.1.0
 * @category constructors
 */
export const run = (
  search: string,
  options?: RunOptions
): Stream.Stream<JobStatus.JobStatus, WatchError, QoeryClient> =>
  Stream.unwrap(Effect.gen(function*() {
    const resolved = yield* config(options, Options.runDefaults)
    const client = yield* QoeryClient
    const started = yield* client.startJob(search)
    if (options?.onStarted !== undefined) yield* options.onStarted(started)
    const withHint = options?.pollingInterval === undefined && started.pollingInterval !== undefined
      ? Options.withServerHint(resolved, started.pollingInterval)
      : resolved
    return internal.watch(client, started.jobId, withHint)
  }))

/**
 * Watches many jobs at once, `concurrency` at a time (default 16), as one
 * stream of their statuses (each carries its `jobId`); it ends when every job
 * has ended. A job's failure fails the whole stream, or with
 * `failFast: false` arrives as a `WatchAllFailure` while the others go on.
 * Duplicate ids are watched once; `timeout` applies to each job.
 *
 * @since 0.1.0
 * @category combinators
 */
export const watchAll = (
  jobIds: Iterable<string>,
  options?: WatchAllOptions
): Stream.Stream<JobStatus.JobStatus | WatchAllFailure, WatchError, QoeryClient> =>
  Stream.unwrapScoped(Effect.gen(function*() {
    const resolved = yield* config(options, Options.watchDefaults)
    const concurrency = options?.concurrency ?? 16
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      return yield* new QoeryError.InvalidInput({
        field: "concurrency",
        description: `expected a whole number of 1 or more, got ${String(concurrency)}`
      })
    }
    const client = yield* QoeryClient
    const failFast = options?.failFast ?? true
    // One scheduler for every job, a fiber per request in flight (see internal/watcher.ts).
    const mailbox = yield* Mailbox.make<JobStatus.JobStatus | WatchAllFailure, WatchError>(256)
    const onError = failFast
      ? (_: string, error: WatchError) => Effect.fail(error)
      : (jobId: string, error: WatchError) =>
        Effect.asVoid(mailbox.offer(new JobWatcherError.WatchAllFailure({ jobId, error })))
    yield* internal.runAll(client, jobIds, resolved, concurrency, (status) => mailbox.offer(status), onError).pipe(
      Mailbox.into(mailbox),
      Effect.forkScoped
    )
    return Mailbox.toStream(mailbox)
  }))
