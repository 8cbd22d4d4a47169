/**
 * The polling behind `JobWatcher`: one step machine, two drivers.
 *
 * A `Poller` holds the small state of one watch (start time, last response
 * time, consecutive failures, schedule states, what change detection needs)
 * and knows what to do next and when (`next`, `at`, in Clock millis):
 * poll, plan the next poll, or give up at the deadline. `advance(now)` does
 * it and may give a status to emit. Every rule of the watch lives there:
 * spacing from the end of a response (or, for `runAll`, a phase kept), the
 * server's hint or a schedule, change detection, retries with capped
 * jittered backoff, `Retry-After`, the budget, the grace window of
 * `JobNotFound`, the overall timeout.
 *
 * - `watch` drives one poller in the consumer's fiber: sleep until `at`,
 *   advance, until a status to emit. Spacing and retries are plain sleeps,
 *   so the time of every request is exact under `TestClock`, interrupting the
 *   consumer interrupts the request in flight, and a watch costs no fiber.
 * - `runAll` (behind `watchAll`) drives many: one scheduler fiber keeps the
 *   waiting pollers in a binary heap of due times and sleeps (on the Clock)
 *   until the earliest; a fiber exists per job only while its request is in
 *   flight. A waiting job costs its poller and nothing else.
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as Option from "effect/Option"
import type * as Schedule from "effect/Schedule"
import * as ScheduleDecision from "effect/ScheduleDecision"
import * as ScheduleIntervals from "effect/ScheduleIntervals"
import * as Stream from "effect/Stream"
import * as JobStatus from "../JobStatus.js"
import { WatchTimeout } from "../JobWatcherError.js"
import * as QoeryClient from "../QoeryClient.js"
import * as QoeryError from "../QoeryError.js"
import * as Retry from "./retry.js"
import * as Timeout from "./timeout.js"
import type { Config } from "./watcherOptions.js"

type WatchError = QoeryError.QoeryError | WatchTimeout

const endOfStream = Effect.fail(Option.none())
const withoutStatusSpan = (context: Context.Context<never>) => Context.add(context, QoeryClient.StatusSpan, false)
const nothing: Effect.Effect<undefined> = Effect.succeed(undefined)

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

/** What a poller does at `at`. */
const POLL = 0
const PLAN = 1
const EXPIRE = 2
const DONE = 3
type Next = typeof POLL | typeof PLAN | typeof EXPIRE | typeof DONE

export class Poller {
  /** What `advance` does next: poll, plan the next poll, fail at the deadline, or nothing (the watch is over). */
  next: Next = POLL
  /** When (Clock millis). */
  at = -Infinity
  /**
   * Set by `runAll`: when the first poll was due. Later polls then keep its
   * phase, at whole intervals from it (see `nextPoll`); unset, each is an
   * interval after the end of the last response.
   */
  phase: number | undefined = undefined
  /** When the first poll started. */
  private start = 0
  private started = false
  /** When the last response (or failure) arrived. */
  private lastResponseAt = 0
  private polls = 0
  private failures = 0
  /** The error of the last poll while polls fail in a row (for the timeout's error). */
  private lastError: WatchError | undefined = undefined
  /** The last status, kept only where it is used: the timeout's error and a schedule's input. */
  private lastStatus: JobStatus.JobStatus | undefined = undefined
  /** The last status emitted, for change detection (`JobStatus.equivalence`, the one definition of a change). */
  private seen: JobStatus.JobStatus | undefined = undefined
  private scheduleState: unknown
  private retryState: unknown

  constructor(
    private readonly client: QoeryClient.Service,
    readonly jobId: string,
    private readonly config: Config,
    /** Read directly rather than through `Clock.currentTimeMillis`: it is read several times a poll. */
    private readonly clock: Clock.Clock
  ) {
    this.scheduleState = config.schedule?.initial
    this.retryState = config.retrySchedule.initial
  }

  /**
   * Does what is due at `now` (the driver has waited until `at`): a status to
   * emit, `undefined` when there is none yet, or the error that ends the watch.
   */
  advance(now: number): Effect.Effect<JobStatus.JobStatus | undefined, WatchError> {
    switch (this.next) {
      case POLL:
        return this.poll(now)
      case PLAN:
        return this.plan(now)
      case EXPIRE:
        this.next = DONE
        return Effect.fail(this.timeoutError(this.config.timeout!))
      case DONE:
        return nothing
    }
  }

  /** One poll, and what its result means. */
  private poll(now: number): Effect.Effect<JobStatus.JobStatus | undefined, WatchError> {
    if (!this.started) {
      this.started = true
      this.start = now
    }
    return Effect.matchEffect(this.request(now), {
      onSuccess: (status) => Effect.sync(() => this.received(status, this.clock.unsafeCurrentTimeMillis())),
      onFailure: (error) => Effect.suspend(() => this.failed(error, this.clock.unsafeCurrentTimeMillis()))
    })
  }

  /**
   * One request, in its own `JobWatcher.poll` span, bounded by the deadline
   * when there is one. With a client that `QoeryClient.make` built, span and
   * deadline go with the request into the one fiber it runs in
   * (`QoeryClient.statusInSpan`); with any other, `getStatus` is called in a
   * fiber of its own that has them (`Timeout.isolated`), and opens no span of
   * its own there (`QoeryClient.StatusSpan`).
   */
  private request(now: number): Effect.Effect<JobStatus.JobStatus, WatchError> {
    const timeout = this.config.timeout
    const remaining = timeout === undefined ? undefined : this.start + timeout - now
    if (remaining !== undefined && remaining <= 0) return Effect.fail(this.timeoutError(timeout!))
    return Effect.flatMap(
      Effect.makeSpan("JobWatcher.poll", {
        attributes: {
          "qoery.job_id": this.jobId,
          "qoery.poll": this.polls + 1,
          "qoery.attempt": this.failures + 1,
          // when the poll was due (Clock millis): its start minus this is how late the scheduler sent it
          "qoery.due": this.at === -Infinity ? now : this.at
        },
        captureStackTrace: false
      }),
      (span) => {
        const deadline = remaining === undefined
          ? undefined
          : { after: Duration.millis(remaining), error: () => this.timeoutError(timeout!) }
        const direct = QoeryClient.statusInSpan.get(this.client)
        if (direct !== undefined) return direct(this.jobId, span, deadline)
        return Timeout.isolated(this.client.getStatus(this.jobId), {
          span,
          context: withoutStatusSpan,
          timeout: deadline?.after,
          onTimeout: deadline?.error
        })
      }
    )
  }

  /** Records a status; gives it when it is to be emitted (it changed, or every poll is emitted, or it is the last). */
  private received(status: JobStatus.JobStatus, now: number): JobStatus.JobStatus | undefined {
    this.lastResponseAt = now
    if (this.failures > 0) {
      this.failures = 0
      this.lastError = undefined
      this.retryState = this.config.retrySchedule.initial
    }
    this.polls++
    if (this.config.timeout !== undefined || this.config.schedule !== undefined) this.lastStatus = status
    if (JobStatus.isTerminal(status)) {
      this.next = DONE
      this.seen = undefined
      this.lastStatus = undefined
      return status
    }
    this.next = PLAN
    this.at = now
    if (this.config.emitEvery) return status
    if (this.seen !== undefined && JobStatus.equivalence(this.seen, status)) return undefined
    this.seen = status
    return status
  }

  /** After a failed poll: the retry, when the failure is transient and the budget allows, else the error. */
  private failed(error: WatchError, now: number): Effect.Effect<undefined, WatchError> {
    this.lastResponseAt = now
    if (error._tag === "WatchTimeout") return this.fail(error)
    this.failures++
    this.lastError = error
    if (!this.isRetryable(error, now) || this.failures >= this.config.budget) return this.fail(error)
    return Effect.flatMap(this.retryDelay(error, now), (delay) => {
      const info = {
        jobId: this.jobId,
        error,
        attempt: this.failures,
        delay: Duration.millis(delay),
        operation: "status" as const
      }
      const log = Effect.logDebug(
        `JobWatcher: ${error._tag} polling job ${this.jobId}, retry ${this.failures} in ${Duration.format(info.delay)}`
      ).pipe(
        Effect.annotateLogs({ "qoery.job_id": this.jobId, "qoery.error": error._tag, "qoery.retry_delay_ms": delay })
      )
      const told = this.config.onRetry === undefined ? log : Effect.zipRight(log, this.config.onRetry(info))
      return Effect.map(told, () => this.waitUntil(now + delay))
    })
  }

  private fail<E extends WatchError>(error: E): Effect.Effect<never, E> {
    this.next = DONE
    this.seen = undefined
    this.lastStatus = undefined
    this.lastError = undefined
    return Effect.fail(error)
  }

  /** Plans the next poll: on the interval (`nextPoll`), or what the schedule says from the end of the last response. */
  private plan(now: number): Effect.Effect<undefined, WatchTimeout> {
    const schedule = this.config.schedule
    if (schedule === undefined) return Effect.succeed(this.waitUntil(this.nextPoll()))
    return Effect.flatMap(
      stepSchedule(schedule, this.scheduleState, this.lastResponseAt, this.lastStatus!),
      ([state, delay]) => {
        this.scheduleState = state
        // A schedule that ends before the job does gives up waiting, as a timeout does.
        if (delay === undefined) return this.fail(this.timeoutError(now - this.start))
        return Effect.succeed(this.waitUntil(this.lastResponseAt + delay))
      }
    )
  }

  /**
   * When the next poll is due after a response: an interval after it; or,
   * with a `phase`, the first whole interval from the phase at least half an
   * interval after it. So a job whose poll went out late, or whose response
   * was slow, is back in its place at the next poll, and jobs whose first
   * polls were spread stay spread; a response slower than half an interval
   * skips a place.
   */
  private nextPoll(): number {
    const interval = this.config.interval
    const phase = this.phase
    if (phase === undefined || interval <= 0) return this.lastResponseAt + interval
    return phase + Math.ceil((this.lastResponseAt + interval / 2 - phase) / interval) * interval
  }

  /** The next poll at `at`, or the end at the deadline if that comes first. */
  private waitUntil(at: number): undefined {
    const timeout = this.config.timeout
    if (timeout !== undefined && at >= this.start + timeout) {
      this.next = EXPIRE
      this.at = this.start + timeout
    } else {
      this.next = POLL
      this.at = at
    }
    return undefined
  }

  private isRetryable(error: QoeryError.QoeryError, now: number): boolean {
    return QoeryError.isTransient(error) ||
      (error._tag === "JobNotFound" && now - this.start < this.config.notFoundGrace)
  }

  /** The next backoff delay, never shorter than a (capped) `Retry-After`. */
  private retryDelay(error: QoeryError.QoeryError, now: number): Effect.Effect<number> {
    return Effect.map(stepSchedule(this.config.retrySchedule, this.retryState, now, error), ([state, delay]) => {
      this.retryState = state
      return Retry.delayFor(this.config, delay ?? 0, error)
    })
  }

  private timeoutError(elapsed: number): WatchTimeout {
    return new WatchTimeout({
      jobId: this.jobId,
      elapsed: Duration.millis(elapsed),
      ...(this.lastStatus === undefined ? {} : { lastStatus: this.lastStatus }),
      ...(this.lastError === undefined ? {} : { lastError: this.lastError.message })
    })
  }
}

/** The statuses of a job, with validated options and a client in hand: one poller driven in the consumer's fiber. */
export const watch = (
  client: QoeryClient.Service,
  jobId: string,
  config: Config
): Stream.Stream<JobStatus.JobStatus, WatchError> =>
  Stream.unwrap(Effect.map(Effect.clock, (clock) => {
    const poller = new Poller(client, jobId, config, clock)
    const advance = Effect.suspend(() => poller.advance(clock.unsafeCurrentTimeMillis()))
    const step: Effect.Effect<JobStatus.JobStatus, WatchError> = Effect.suspend(
      () => {
        const now = clock.unsafeCurrentTimeMillis()
        const wait = poller.at - now
        return Effect.flatMap(
          wait > 0 ? Effect.zipRight(Effect.sleep(Duration.millis(wait)), advance) : poller.advance(now),
          (status) => status === undefined ? step : Effect.succeed(status)
        )
      }
    )
    const pull = Effect.suspend(() => poller.next === DONE ? endOfStream : Effect.mapError(step, Option.some))
    return Stream.repeatEffectOption(pull)
  }))

// ---------------------------------------------------------------------------
// Many jobs: one scheduler.

/** A binary min-heap of pollers by `at`. */
class DueHeap {
  private readonly items: Array<Poller> = []
  get size(): number {
    return this.items.length
  }
  peek(): Poller | undefined {
    return this.items[0]
  }
  push(p: Poller): void {
    const items = this.items
    let i = items.length
    items.push(p)
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (items[parent]!.at <= p.at) break
      items[i] = items[parent]!
      i = parent
    }
    items[i] = p
  }
  pop(): Poller | undefined {
    const items = this.items
    const top = items[0]
    const last = items.pop()
    if (top === undefined || last === undefined || items.length === 0) return top
    const n = items.length
    let i = 0
    for (;;) {
      const l = 2 * i + 1
      if (l >= n) break
      const r = l + 1
      const c = r < n && items[r]!.at < items[l]!.at ? r : l
      if (items[c]!.at >= last.at) break
      items[i] = items[c]!
      i = c
    }
    items[i] = last
    return top
  }
}

/**
 * When the first polls of `runAll` go out: `burst` at once, then one every
 * `interval / jobs`, so that the jobs started together are spread over one
 * interval; as each job then polls at whole intervals from its first poll
 * (`Poller.phase`), late or slow polls included, the jobs stay spread: the
 * server sees a steady rate and the event loop no burst. A new job (one
 * admitted when another ended) takes the next free place in the same way.
 * (A GCRA, the cell rate algorithm of ATM networks, as a schedule rather
 * than a filter.)
 */
export class FirstPolls {
  /** The first polls sent at once before the spreading starts: a watch of a few jobs sees no delay. */
  static readonly burst = 16
  private readonly gap: number
  /** The theoretical time of the next first poll. */
  private tat = -Infinity
  constructor(interval: number, jobs: number) {
    this.gap = interval / Math.max(1, jobs)
  }
  /** The time of the next first poll, asked at `now`. */
  next(now: number): number {
    const at = Math.max(now, this.tat - (FirstPolls.burst - 1) * this.gap)
    this.tat = Math.max(this.tat, at) + this.gap
    // whole milliseconds, as Clock times are: a fraction would ask the Clock for a sleep too short to pass
    // (`now` is whole, so this is never before it)
    return Math.floor(at)
  }
}

/**
 * The most status requests in flight at once in `runAll`, whatever the
 * number of jobs followed: beyond it a due poll waits for a request to end,
 * so that thousands of jobs due together do not block the event loop while
 * their requests are built. At 64, 10,000 jobs polled every 5 s (2,000
 * requests a second) queued for slots and reached the stream 2.7 s late at
 * p99; at 256 they are on time, with an event-loop delay p99 near 80 ms
 * (BENCHMARKS.md).
 */
export const maxInFlight = 256

/**
 * Follows many jobs, `concurrency` at a time, with one scheduler fiber and a
 * fiber per request in flight: `emit` gets each status to emit (its effect
 * may wait: that holds the job back, not the others), `onError` each job's
 * error (failing it fails everything). Ends when every job has ended; on
 * interruption, interrupts every request in flight and waits for them.
 */
export const runAll = (
  client: QoeryClient.Service,
  jobIds: Iterable<string>,
  config: Config,
  concurrency: number,
  emit: (status: JobStatus.JobStatus) => Effect.Effect<unknown>,
  onError: (jobId: string, error: WatchError) => Effect.Effect<void, WatchError>
): Effect.Effect<void, WatchError> =>
  Effect.flatMap(Effect.clock, (clock) =>
    Effect.suspend(() => {
      const ids = new Set(jobIds)
      const pending = ids.values()
      const firstPolls = new FirstPolls(config.interval, Math.min(concurrency, ids.size))
      let exhausted = false
      /** Jobs followed and not ended. */
      let active = 0
      /** Waiting pollers by due time. */
      const due = new DueHeap()
      /** Due pollers waiting for a request slot, in order. */
      const ready: Array<Poller> = []
      let readyHead = 0
      const running = new Set<Fiber.RuntimeFiber<void, WatchError>>()
      let failure: Cause.Cause<WatchError> | undefined
      /** Set while the scheduler waits: resumes it. */
      let wake: (() => void) | undefined
      /** While it waits: the due time it sleeps until; a job due sooner wakes it. */
      let target = Infinity

      const awaken = () => {
        const w = wake
        wake = undefined
        target = Infinity
        if (w !== undefined) w()
      }

      /** A job's fiber: advance while work is due now, emitting; then back to the heap, or ended. */
      const cycle = (poller: Poller): Effect.Effect<void, WatchError> => {
        const loop: Effect.Effect<void, WatchError> = Effect.suspend(
          () => {
            const now = clock.unsafeCurrentTimeMillis()
            if (poller.next === DONE) return Effect.void
            if (poller.at > now) return Effect.sync(() => due.push(poller))
            return Effect.flatMap(
              poller.advance(now),
              (status) => status === undefined ? loop : Effect.zipRight(emit(status), loop)
            )
          }
        )
        return Effect.onExit(Effect.catchAll(loop, (error) => onError(poller.jobId, error)), (exit) =>
          Effect.sync(() => {
            if (Exit.isFailure(exit) && !Cause.isInterruptedOnly(exit.cause)) failure ??= exit.cause
            const ended = poller.next === DONE || Exit.isFailure(exit)
            if (ended) active--
            if (ended || failure !== undefined || poller.at < target || readyHead < ready.length) awaken()
          }))
      }

      const start = (poller: Poller) =>
        Effect.flatMap(Effect.fork(cycle(poller)), (fiber) =>
          Effect.sync(() => {
            running.add(fiber)
            fiber.addObserver(() => running.delete(fiber))
          }))

      /** Whether the scheduler has work now (then it does not wait). */
      const hasWork = (now: number): boolean =>
        failure !== undefined || active === 0 ||
        (running.size < maxInFlight &&
          ((!exhausted && active < concurrency) || readyHead < ready.length ||
            (due.size > 0 && due.peek()!.at <= now)))

      /** Waits until the earliest due time, or until a job's fiber says something changed. */
      const waitForWork = Effect.suspend(() => {
        const now = clock.unsafeCurrentTimeMillis()
        if (hasWork(now)) return Effect.void
        const first = running.size < maxInFlight ? due.peek() : undefined
        const until = first === undefined ? -Infinity : first.at
        return Effect.flatMap(
          first === undefined ? Effect.succeed(undefined) : Effect.fork(Effect.sleep(Duration.millis(until - now))),
          (sleeper) =>
            Effect.async<void>((resume) => {
              // Anything that happened since the sleeper was started is seen here.
              const head = due.peek()
              if (hasWork(clock.unsafeCurrentTimeMillis()) || (head !== undefined && head.at < until)) {
                if (sleeper !== undefined) sleeper.unsafeInterruptAsFork(FiberId.none)
                return resume(Effect.void)
              }
              target = sleeper === undefined ? Infinity : until
              wake = () => {
                if (sleeper !== undefined) sleeper.unsafeInterruptAsFork(FiberId.none)
                resume(Effect.void)
              }
              if (sleeper !== undefined) {
                sleeper.addObserver((exit) => {
                  if (Exit.isSuccess(exit) && target === until) awaken()
                })
              }
              return Effect.sync(() => {
                wake = undefined
                target = Infinity
                if (sleeper !== undefined) sleeper.unsafeInterruptAsFork(FiberId.none)
              })
            })
        )
      })

      const loop: Effect.Effect<void, WatchError> = Effect.suspend(() => {
        if (failure !== undefined) return Effect.failCause(failure)
        if (exhausted && active === 0) return Effect.void
        const now = clock.unsafeCurrentTimeMillis()
        while (!exhausted && active < concurrency) {
          const next = pending.next()
          if (next.done === true) {
            exhausted = true
            break
          }
          active++
          const poller = new Poller(client, next.value, config, clock)
          poller.at = poller.phase = firstPolls.next(now)
          if (poller.at > now) due.push(poller)
          else ready.push(poller)
        }
        while (due.size > 0 && due.peek()!.at <= now) ready.push(due.pop()!)
        const batch: Array<Poller> = []
        while (readyHead < ready.length && running.size + batch.length < maxInFlight) {
          batch.push(ready[readyHead++]!)
        }
        if (readyHead === ready.length) {
          ready.length = 0
          readyHead = 0
        } else if (readyHead > 1024 && readyHead * 2 > ready.length) {
          ready.splice(0, readyHead)
          readyHead = 0
        }
        const started = batch.length === 0 ? Effect.void : Effect.forEach(batch, start, { discard: true })
        return Effect.zipRight(started, Effect.zipRight(waitForWork, loop))
      })

      // However it ends, no request outlives it.
      return Effect.ensuring(
        loop,
        Effect.suspend(() => {
          const fibers = [...running]
          return Effect.forEach(fibers, (fiber) => fiber.interruptAsFork(FiberId.none), { discard: true }).pipe(
            Effect.zipRight(Effect.forEach(fibers, (fiber) => fiber.await, { discard: true }))
          )
        })
      )
    }))
