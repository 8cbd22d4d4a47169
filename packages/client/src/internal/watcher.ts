/**
 * The polling loop behind `JobWatcher`.
 *
 * One `Poller` per running stream holds a small state (start time, last
 * status, consecutive failures, retry schedule state) and answers each pull
 * with the next status to emit. Spacing, retries and the overall deadline are
 * plain sleeps in the consumer's fiber, so the time of every request is exact
 * under `TestClock`, interrupting the consumer interrupts the request in
 * flight, and a watch costs no fiber of its own. Only the request itself is
 * raced against the deadline, when there is one.
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Schedule from "effect/Schedule"
import * as ScheduleDecision from "effect/ScheduleDecision"
import * as ScheduleIntervals from "effect/ScheduleIntervals"
import * as Stream from "effect/Stream"
import * as JobStatus from "../JobStatus.js"
import { WatchTimeout } from "../JobWatcher.js"
import type * as QoeryClient from "../QoeryClient.js"
import * as QoeryError from "../QoeryError.js"
import type { Config } from "./watcherOptions.js"

type WatchError = QoeryError.QoeryError | WatchTimeout

const endOfStream = Effect.fail(Option.none())

/** The delay a schedule asks for after `input`, stepped at `now`; `undefined` when the schedule is done. */
const stepSchedule = <In>(
  schedule: Schedule.Schedule<unknown, In>,
  state: unknown,
  now: number,
  input: In
): Effect.Effect<readonly [state: unknown, delay: number | undefined]> =>
  Effect.map(
    Effect.suspend(() => schedule.step(now, input, state)),
    ([next, _, decision]) =>
      [
        next,
        ScheduleDecision.isDone(decision) ? undefined : ScheduleIntervals.start(decision.intervals) - now
      ] as const
  )

class Poller {
  /** When the first poll started (Clock millis). */
  private start = 0
  /** When the last response (or failure) arrived. */
  private lastResponseAt = 0
  private polls = 0
  private failures = 0
  private done = false
  private lastStatus: JobStatus.JobStatus | undefined = undefined
  private lastEmitted: JobStatus.JobStatus | undefined = undefined
  private scheduleState: unknown
  private retryState: unknown

  constructor(
    private readonly client: QoeryClient.Service,
    private readonly jobId: string,
    private readonly config: Config
  ) {
    this.scheduleState = config.schedule?.initial
    this.retryState = config.retrySchedule.initial
  }

  /** One pull of the stream: the next status to emit, or `None` once the terminal status was emitted. */
  readonly pull: Effect.Effect<JobStatus.JobStatus, Option.Option<WatchError>> = Effect.suspend(() =>
    this.done ? endOfStream : Effect.mapError(this.next(), Option.some)
  )

  private next(): Effect.Effect<JobStatus.JobStatus, WatchError> {
    const status = this.polls === 0
      ? Effect.flatMap(Clock.currentTimeMillis, (now) => {
        this.start = now
        return this.pollUntilSuccess()
      })
      : Effect.flatMap(this.waitForNextPoll(), () => this.pollUntilSuccess())
    return Effect.flatMap(status, (status) => this.accept(status) ? Effect.succeed(status) : this.next())
  }

  /** Records a status; whether to emit it (it changed, or every poll is emitted, or it is the last). */
  private accept(status: JobStatus.JobStatus): boolean {
    this.polls++
    this.lastStatus = status
    if (JobStatus.isTerminal(status)) {
      this.done = true
      return true
    }
    if (this.config.emitEvery || this.lastEmitted === undefined || !JobStatus.equivalence(this.lastEmitted, status)) {
      this.lastEmitted = status
      return true
    }
    return false
  }

  /** Waits the interval (or what the schedule says) from the end of the last response. */
  private waitForNextPoll(): Effect.Effect<void, WatchTimeout> {
    return Effect.flatMap(Clock.currentTimeMillis, (now) => {
      const schedule = this.config.schedule
      if (schedule === undefined) return this.sleep(this.lastResponseAt + this.config.interval - now, now)
      return Effect.flatMap(
        stepSchedule(schedule, this.scheduleState, this.lastResponseAt, this.lastStatus!),
        ([state, delay]) => {
          this.scheduleState = state
          // A schedule that ends before the job does gives up waiting, as a timeout does.
          if (delay === undefined) return Effect.fail(this.timeoutError(now - this.start))
          return this.sleep(this.lastResponseAt + delay - now, now)
        }
      )
    })
  }

  /** Polls, retrying transient failures, until a status arrives or the failure is final. */
  private pollUntilSuccess(): Effect.Effect<JobStatus.JobStatus, WatchError> {
    return Effect.matchEffect(this.poll(), {
      onSuccess: (status) =>
        Effect.map(Clock.currentTimeMillis, (now) => {
          this.lastResponseAt = now
          if (this.failures > 0) {
            this.failures = 0
            this.retryState = this.config.retrySchedule.initial
          }
          return status
        }),
      onFailure: (error) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) => {
          this.lastResponseAt = now
          return this.retryOrFail(error, now)
        })
    })
  }

  /** After a failed poll: waits and polls again when the failure is transient and the budget allows, else fails. */
  private retryOrFail(error: WatchError, now: number): Effect.Effect<JobStatus.JobStatus, WatchError> {
    return Effect.gen(this, function*() {
      if (error._tag === "WatchTimeout") return yield* error
      this.failures++
      if (!this.isRetryable(error, now) || this.failures >= this.config.budget) return yield* error
      const delay = yield* this.retryDelay(error, now)
      const info = { jobId: this.jobId, error, attempt: this.failures, delay: Duration.millis(delay) }
      yield* Effect.logDebug(
        `JobWatcher: ${error._tag} polling job ${this.jobId}, retry ${this.failures} in ${Duration.format(info.delay)}`
      ).pipe(
        Effect.annotateLogs({ "qoery.job_id": this.jobId, "qoery.error": error._tag, "qoery.retry_delay_ms": delay })
      )
      if (this.config.onRetry !== undefined) yield* this.config.onRetry(info)
      yield* this.sleep(delay, now)
      return yield* this.pollUntilSuccess()
    })
  }

  /** One request, in its own span, bounded by the deadline when there is one. */
  private poll(): Effect.Effect<JobStatus.JobStatus, WatchError> {
    const request = this.client.getStatus(this.jobId).pipe(
      Effect.withSpan("JobWatcher.poll", {
        attributes: { "qoery.job_id": this.jobId, "qoery.poll": this.polls + 1, "qoery.attempt": this.failures + 1 },
        captureStackTrace: false
      })
    )
    const timeout = this.config.timeout
    if (timeout === undefined) return request
    return Effect.flatMap(Clock.currentTimeMillis, (now) => {
      const remaining = this.start + timeout - now
      if (remaining <= 0) return Effect.fail(this.timeoutError(timeout))
      return Effect.timeoutFail(request, {
        duration: Duration.millis(remaining),
        onTimeout: () => this.timeoutError(timeout)
      })
    })
  }

  private isRetryable(error: QoeryError.QoeryError, now: number): boolean {
    return QoeryError.isTransient(error) ||
      (error._tag === "JobNotFound" && now - this.start < this.config.notFoundGrace)
  }

  /** The next backoff delay, never shorter than a (capped) `Retry-After`. */
  private retryDelay(error: QoeryError.QoeryError, now: number): Effect.Effect<number> {
    return Effect.map(stepSchedule(this.config.retrySchedule, this.retryState, now, error), ([state, delay]) => {
      this.retryState = state
      const backoff = Math.max(0, delay ?? 0)
      const retryAfter = QoeryError.retryAfter(error)
      return retryAfter === undefined
        ? backoff
        : Math.max(backoff, Math.min(Duration.toMillis(retryAfter), this.config.maxRetryAfter))
    })
  }

  /** Sleeps `millis`, or fails with `WatchTimeout` at the deadline if that comes first. */
  private sleep(millis: number, now: number): Effect.Effect<void, WatchTimeout> {
    const timeout = this.config.timeout
    if (timeout !== undefined) {
      const remaining = this.start + timeout - now
      if (millis >= remaining) {
        return Effect.zipRight(
          remaining > 0 ? Effect.sleep(Duration.millis(remaining)) : Effect.void,
          Effect.fail(this.timeoutError(timeout))
        )
      }
    }
    return millis > 0 ? Effect.sleep(Duration.millis(millis)) : Effect.void
  }

  private timeoutError(elapsed: number): WatchTimeout {
    return new WatchTimeout({
      jobId: this.jobId,
      elapsed: Duration.millis(elapsed),
      ...(this.lastStatus === undefined ? {} : { lastStatus: this.lastStatus })
    })
  }
}

/**
 * Runs `f` on each status to emit, in the current fiber, without a stream:
 * what `watchAll` runs for each job (a stream per job costs several times
 * the memory of a fiber).
 */
export const forEachStatus = (
  client: QoeryClient.Service,
  jobId: string,
  config: Config,
  f: (status: JobStatus.JobStatus) => Effect.Effect<unknown>
): Effect.Effect<void, WatchError> =>
  Effect.suspend(() => {
    const poller = new Poller(client, jobId, config)
    const loop: Effect.Effect<void, WatchError> = Effect.matchEffect(poller.pull, {
      onFailure: (end) => Option.isNone(end) ? Effect.void : Effect.fail(end.value),
      onSuccess: (status) => Effect.zipRight(f(status), loop)
    })
    return loop
  })

/** The statuses of a job, with validated options and a client in hand. */
export const watch = (
  client: QoeryClient.Service,
  jobId: string,
  config: Config
): Stream.Stream<JobStatus.JobStatus, WatchError> =>
  Stream.suspend(() => Stream.repeatEffectOption(new Poller(client, jobId, config).pull))
