/**
 * Validation of the watcher's options, once, into plain milliseconds and
 * ready-made schedules, so that a poll does no option work.
 */
import * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schedule from "effect/Schedule"
import type { JobStatus } from "../JobStatus.js"
import type { RetryInfo, WatchOptions } from "../JobWatcher.js"
import * as QoeryError from "../QoeryError.js"
import * as Retry from "./retry.js"

/** The defaults that differ between `watch`, `awaitCompletion` and `run`. */
export interface Defaults {
  readonly timeout: Duration.DurationInput | undefined
  readonly notFoundGrace: Duration.DurationInput
}

export const watchDefaults: Defaults = { timeout: undefined, notFoundGrace: 0 }
export const awaitDefaults: Defaults = { timeout: Duration.minutes(30), notFoundGrace: 0 }
export const runDefaults: Defaults = { timeout: Duration.minutes(30), notFoundGrace: Duration.seconds(10) }

export const defaultInterval = Duration.millis(1_500)
export const defaultMinInterval = Duration.millis(250)
export const defaultMaxInterval = Duration.seconds(60)

/** Validated options. Durations are in milliseconds. */
export interface Config {
  /** Spacing between the end of a response and the next request, when there is no `schedule`. */
  readonly interval: number
  /** Whether `interval` was chosen by the caller (then a timeout shorter than it is an error). */
  readonly intervalGiven: boolean
  readonly minInterval: number
  readonly maxInterval: number
  readonly schedule: Schedule.Schedule<unknown, JobStatus> | undefined
  readonly emitEvery: boolean
  /** Exponential, capped, jittered: steps give the delay before the next retry. */
  readonly retrySchedule: Schedule.Schedule<unknown, unknown>
  readonly maxRetryAfter: number
  readonly budget: number
  readonly timeout: number | undefined
  readonly notFoundGrace: number
  readonly onRetry: ((info: RetryInfo) => Effect.Effect<void>) | undefined
}

const invalid = (field: string, description: string) => new QoeryError.InvalidInput({ field, description })

const show = (u: unknown): string => {
  if (typeof u === "string") return JSON.stringify(u)
  try {
    return JSON.stringify(u) ?? String(u)
  } catch {
    return String(u)
  }
}

const millis = Retry.millis

const clamp = (ms: number, min: number, max: number) => Math.min(max, Math.max(min, ms))

/** Validates the options of a watch; the error says which option and why. */
export const resolve = (
  options: WatchOptions = {},
  defaults: Defaults = watchDefaults
): Either.Either<Config, QoeryError.InvalidInput> =>
  Either.gen(function*() {
    if (typeof options !== "object" || options === null) {
      return yield* Either.left(invalid("options", `expected an object, got ${show(options)}`))
    }
    const minInterval = yield* millis("minInterval", options.minInterval, defaultMinInterval)
    const maxInterval = yield* millis("maxInterval", options.maxInterval, defaultMaxInterval)
    if (minInterval > maxInterval) {
      return yield* Either.left(
        invalid("minInterval", `${minInterval} ms is more than maxInterval (${maxInterval} ms)`)
      )
    }
    const ownInterval = yield* millis("interval", options.interval, defaultInterval)
    const hint = options.pollingInterval === undefined
      ? undefined
      : yield* millis("pollingInterval", options.pollingInterval, 0, { allowZero: true })
    const interval = hint === undefined ? ownInterval : clamp(hint, minInterval, maxInterval)

    const schedule = options.schedule
    if (schedule !== undefined && !Schedule.isSchedule(schedule)) {
      return yield* Either.left(invalid("schedule", "expected a Schedule"))
    }
    const emit = options.emit ?? "changes"
    if (emit !== "changes" && emit !== "every") {
      return yield* Either.left(invalid("emit", `expected "changes" or "every", got ${show(emit)}`))
    }

    const retry = yield* Retry.resolve(options.retry, Retry.statusDefaults)

    const timeoutMs = options.timeout === undefined && defaults.timeout === undefined
      ? Infinity
      : yield* millis("timeout", options.timeout, defaults.timeout ?? 0, { allowInfinite: true })
    const timeout = timeoutMs === Infinity ? undefined : timeoutMs
    const intervalGiven = options.interval !== undefined || options.pollingInterval !== undefined
    if (timeout !== undefined && schedule === undefined && intervalGiven && timeout < interval) {
      return yield* Either.left(
        invalid(
          "timeout",
          `${timeout} ms is shorter than the polling interval (${interval} ms): it could never poll twice`
        )
      )
    }
    const notFoundGrace = yield* millis("notFoundGrace", options.notFoundGrace, defaults.notFoundGrace, {
      allowZero: true
    })
    if (options.onRetry !== undefined && typeof options.onRetry !== "function") {
      return yield* Either.left(invalid("onRetry", "expected a function"))
    }
    return {
      interval,
      intervalGiven,
      minInterval,
      maxInterval,
      schedule,
      emitEvery: emit === "every",
      retrySchedule: retry.backoff,
      maxRetryAfter: retry.maxRetryAfter,
      budget: retry.budget,
      timeout,
      notFoundGrace,
      onRetry: options.onRetry
    }
  })

/** The config with the server's suggested interval, clamped (for `run`). */
export const withServerHint = (config: Config, hint: Duration.Duration): Config => ({
  ...config,
  interval: clamp(Duration.toMillis(hint), config.minInterval, config.maxInterval)
})
