/**
 * The one retry policy of the client (`JobWatcher.RetryOptions`), validated
 * once: the backoff as a `Schedule`, the cap of `Retry-After`, the budget.
 * The watcher steps the backoff itself (a poll is a plain sleep); downloads
 * (`DatasetCsv.writeFile`, `rows({ waitForRows })`) get it as a `Schedule`
 * for `Effect.retry` / `Stream.retry`.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import type { RetryInfo, RetryOptions } from "../JobWatcher.js"
import * as QoeryError from "../QoeryError.js"

/** The defaults of one use of the policy (statuses, a file, the first rows). */
export interface Defaults {
  readonly base: Duration.Duration
  readonly factor: number
  readonly cap: Duration.Duration
  readonly maxRetryAfter: Duration.Duration
  readonly budget: number
}

/** Statuses: the watcher's defaults. */
export const statusDefaults: Defaults = {
  base: Duration.millis(500),
  factor: 2,
  cap: Duration.seconds(30),
  maxRetryAfter: Duration.seconds(60),
  budget: 8
}

/** `writeFile`: a download cut short is tried 6 times, 250 ms doubling to 5 s apart. */
export const fileDefaults: Defaults = {
  base: Duration.millis(250),
  factor: 2,
  cap: Duration.seconds(5),
  maxRetryAfter: Duration.seconds(60),
  budget: 6
}

/** `rows({ waitForRows: true })`: about three minutes for the first rows. */
export const waitForRowsDefaults: Defaults = { ...fileDefaults, budget: 41 }

/** A validated policy. Durations are in milliseconds. */
export interface Policy {
  /** Exponential, capped, jittered: its steps give the delay before the next retry. */
  readonly backoff: Schedule.Schedule<unknown, unknown>
  readonly maxRetryAfter: number
  /** Failures in a row allowed; the last one's error then ends it. */
  readonly budget: number
}

const invalid = (field: string, description: string) => new QoeryError.InvalidInput({ field, description })

const show = (u: unknown): string => {
  if (typeof u === "string") return JSON.stringify(u)
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
export const millis = (
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

/** The delay of each retry: `base * factor^n`, capped, then jittered 0.8 to 1.2 times by `Schedule.jittered`. */
const backoff = (base: number, factor: number, cap: number): Schedule.Schedule<unknown, unknown> =>
  Schedule.exponential(Duration.millis(base), factor).pipe(
    Schedule.modifyDelay((_, delay) => Duration.millis(Math.min(cap, Duration.toMillis(delay)))),
    Schedule.jittered
  )

/** Validates a retry policy; the error names the option (`retry.base`, ...). */
export const resolve = (
  options: RetryOptions | undefined,
  defaults: Defaults,
  prefix = "retry"
): Either.Either<Policy, QoeryError.InvalidInput> =>
  Either.gen(function*() {
    const retry = options ?? {}
    if (typeof retry !== "object" || retry === null) {
      return yield* Either.left(invalid(prefix, `expected an object, got ${show(retry)}`))
    }
    const base = yield* millis(`${prefix}.base`, retry.base, defaults.base)
    const factor = retry.factor ?? defaults.factor
    if (typeof factor !== "number" || !Number.isFinite(factor) || factor < 1) {
      return yield* Either.left(
        invalid(`${prefix}.factor`, `expected a finite number of 1 or more, got ${show(factor)}`)
      )
    }
    const cap = yield* millis(`${prefix}.cap`, retry.cap, defaults.cap)
    if (cap < base) {
      return yield* Either.left(invalid(`${prefix}.cap`, `${cap} ms is less than ${prefix}.base (${base} ms)`))
    }
    const maxRetryAfter = yield* millis(`${prefix}.maxRetryAfter`, retry.maxRetryAfter, defaults.maxRetryAfter, {
      allowZero: true
    })
    const budget = retry.budget ?? defaults.budget
    if (typeof budget !== "number" || !Number.isInteger(budget) || budget < 1) {
      return yield* Either.left(
        invalid(`${prefix}.budget`, `expected a whole number of failed tries, 1 or more, got ${show(budget)}`)
      )
    }
    return { backoff: backoff(base, factor, cap), maxRetryAfter, budget }
  })

/** The wait before a retry: the backoff, or the service's `Retry-After` when longer, capped at `maxRetryAfter`. */
export const delayFor = (policy: { readonly maxRetryAfter: number }, backoffMillis: number, error: unknown): number => {
  const asked = QoeryError.isQoeryError(error) ? QoeryError.retryAfter(error) : undefined
  const wait = Math.max(0, backoffMillis)
  return asked === undefined ? wait : Math.max(wait, Math.min(Duration.toMillis(asked), policy.maxRetryAfter))
}

/**
 * The policy as a `Schedule` over errors, for `Effect.retry` and
 * `Stream.retry`: at most `budget - 1` retries, of the errors `retryable`
 * accepts, each `onRetry` first.
 */
export const schedule = <E>(
  policy: Policy,
  jobId: string,
  retryable: (error: E) => boolean,
  onRetry: ((info: RetryInfo) => Effect.Effect<void>) | undefined
): Schedule.Schedule<unknown, E> =>
  Schedule.intersect(policy.backoff, Schedule.identity<E>()).pipe(
    Schedule.modifyDelay(([, error], delay) => Duration.millis(delayFor(policy, Duration.toMillis(delay), error))),
    Schedule.intersect(Schedule.recurs(policy.budget - 1)),
    Schedule.whileInput(retryable),
    Schedule.modifyDelayEffect(([[, error], n], delay) =>
      onRetry === undefined || !QoeryError.isQoeryError(error)
        ? Effect.succeed(delay)
        : Effect.as(onRetry({ jobId, error, attempt: n + 1, delay, operation: "csv" }), delay)
    )
  )
