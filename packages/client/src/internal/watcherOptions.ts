/**
 * Validation of the watcher's options, once, into plain milliseconds and
 * ready-made schedules, so that a poll does no option work.
 */
import * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import type { JobStatus } from "../JobStatus.js"
import type { RetryInfo, WatchOptions } from "../JobWatcher.js"
import * as QoeryError from "../QoeryError.js"

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
export const defaultRetryBase = Duration.millis(500)
export const defaultRetryFactor = 2
export const defaultRetryCap = Duration.seconds(30)
export const defaultMaxRetryAfter = Duration.seconds(60)
export const defaultRetryBudget = 8

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
  if (typeof u === "bigint") return `${u}n`
  if (Duration.isDuration(u)) return Duration.format(u)
  try {
    return JSON.stringify(u) ?? String(u)
  } catch {
    return String(u)
  }
}

const isNegative = (u: unknown): boolean =>
  (typeof u === "number" && u < 0) ||
  (typeof u === "bigint" && u < 0n) ||
  (typeof u === "string" && /^\s*-/.test(u)) ||
  (Array.isArray(u) && u.some((n) => typeof n === "number" && n < 0))

/**
 * A duration option in milliseconds. `Duration.decode` turns a negative or NaN
 * number into zero, silently; here that is an error, as is zero where a zero
 * would make a busy loop.
 */
const millis = (
  field: string,
  input: unknown,
  fallback: Duration.DurationInput,
  { allowInfinite = false, allowZero = false } = {}
): Either.Either<number, QoeryError.InvalidInput> => {
  const value = input === undefined ? fallback : input
  const expected = allowZero ? "a duration of zero or more" : "a positive duration"
  const example = "such as 1500 (milliseconds), \"2 seconds\" or Duration.seconds(2)"
  if ((typeof value === "number" && Number.isNaN(value)) || isNegative(value)) {
    return Either.left(invalid(field, `expected ${expected} ${example}, got ${show(input)}`))
  }
  const decoded = Duration.decodeUnknown(value)
  if (Option.isNone(decoded)) return Either.left(invalid(field, `expected a duration ${example}, got ${show(input)}`))
  const duration = decoded.value
  if (!Duration.isFinite(duration)) {
    return allowInfinite ? Either.right(Infinity) : Either.left(invalid(field, `expected a finite duration`))
  }
  const ms = Duration.toMillis(duration)
  if (ms === 0 && !allowZero) return Either.left(invalid(field, `expected ${expected} ${example}, got ${show(input)}`))
  return Either.right(ms)
}

const clamp = (ms: number, min: number, max: number) => Math.min(max, Math.max(min, ms))

/** The delay of each retry: `base * factor^n`, capped, then jittered 0.8 to 1.2 times by `Schedule.jittered`. */
const retrySchedule = (base: number, factor: number, cap: number): Schedule.Schedule<unknown, unknown> =>
  Schedule.exponential(Duration.millis(base), factor).pipe(
    Schedule.modifyDelay((_, delay) => Duration.millis(Math.min(cap, Duration.toMillis(delay)))),
    Schedule.jittered
  )

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

    const retry = options.retry ?? {}
    const base = yield* millis("retry.base", retry.base, defaultRetryBase)
    const factor = retry.factor ?? defaultRetryFactor
    if (typeof factor !== "number" || !Number.isFinite(factor) || factor < 1) {
      return yield* Either.left(invalid("retry.factor", `expected a finite number of 1 or more, got ${show(factor)}`))
    }
    const cap = yield* millis("retry.cap", retry.cap, defaultRetryCap)
    if (cap < base) {
      return yield* Either.left(invalid("retry.cap", `${cap} ms is less than retry.base (${base} ms)`))
    }
    const maxRetryAfter = yield* millis("retry.maxRetryAfter", retry.maxRetryAfter, defaultMaxRetryAfter, {
      allowZero: true
    })
    const budget = retry.budget ?? defaultRetryBudget
    if (typeof budget !== "number" || !Number.isInteger(budget) || budget < 1) {
      return yield* Either.left(
        invalid("retry.budget", `expected a whole number of failed polls, 1 or more, got ${show(budget)}`)
      )
    }

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
      retrySchedule: retrySchedule(base, factor, cap),
      maxRetryAfter,
      budget,
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
