import { JobId, JobStatus, JobWatcher, QoeryClient, QoeryError } from "@effect-qoery/client"
import { assert, describe, it } from "@effect/vitest"
import {
  Cause,
  Chunk,
  Clock,
  DateTime,
  Duration,
  Effect,
  Exit,
  Fiber,
  Logger,
  LogLevel,
  Option,
  Schedule,
  Stream,
  TestClock
} from "effect"
import { maxInFlight } from "../src/internal/watcher.js"

// ---------------------------------------------------------------------------
// A scripted, in-memory QoeryClient that records the TestClock time of each
// request. Each job has a script of steps; the last step repeats forever.

type Step = {
  readonly result: JobStatus.JobStatus | QoeryError.QoeryError
  /** How long the response takes. */
  readonly latency?: number
}

const JOB = "20251110_151628"
const OTHER = "20251110_151629"

const progress = (rows: number, step: JobStatus.Step = "scraping") =>
  new JobStatus.JobProgress({
    currentStep: step,
    rowsCollected: rows,
    urlsProcessed: rows,
    urlsTotal: 100,
    lastUpdated: DateTime.unsafeMake(1_000 + rows)
  })

const common = (jobId: string, rows: number, step?: JobStatus.Step) => ({
  jobId: JobId.make(jobId),
  query: "climate change statistics",
  progress: progress(rows, step),
  urls: [],
  csvUrl: `/v0/datasets/${jobId}/csv`,
  startedAt: DateTime.unsafeMake(0)
})

const processing = (rows: number, jobId = JOB) => new JobStatus.Processing(common(jobId, rows))
const completed = (rows = 100, jobId = JOB) =>
  new JobStatus.Completed({ ...common(jobId, rows, "finalizing"), completedAt: DateTime.unsafeMake(9_000) })
const failed = (jobId = JOB) =>
  new JobStatus.Failed({
    ...common(jobId, 3, "searching"),
    error: "No sources found for this query",
    completedAt: DateTime.unsafeMake(9_000)
  })

const unavailable = new QoeryError.ServerError({ status: 503, error: "Service Unavailable" })
const dropped = new QoeryError.TransportError({ reason: "Transport", description: "socket hang up" })
const rateLimited = (retryAfter: Duration.DurationInput) =>
  new QoeryError.RateLimited({ retryAfter: Duration.decode(retryAfter) })
const unauthorized = new QoeryError.Unauthorized({ error: "Invalid API key" })
const notFound = (jobId = JOB) => new QoeryError.JobNotFound({ jobId })

const ok = (status: JobStatus.JobStatus, latency = 0): Step => ({ result: status, latency })
const ko = (error: QoeryError.QoeryError, latency = 0): Step => ({ result: error, latency })

const isStatus = (u: JobStatus.JobStatus | QoeryError.QoeryError): u is JobStatus.JobStatus =>
  "status" in u &&
  typeof u.status === "string" && "progress" in u

const makeFake = (scripts: Record<string, ReadonlyArray<Step>>) => {
  // Times are relative to the first request, so that one test can run several watches.
  let origin: number | undefined
  const requests: Array<{ readonly jobId: string; readonly at: number }> = []
  const interrupted: Array<number> = []
  const spans: Array<{ readonly name: string; readonly attributes: ReadonlyMap<string, unknown> }> = []
  const positions = new Map<string, number>()
  const getStatus = (jobId: string) =>
    Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      origin ??= now
      requests.push({ jobId, at: now - origin })
      const span = yield* Effect.option(Effect.currentSpan)
      if (Option.isSome(span)) spans.push({ name: span.value.name, attributes: span.value.attributes })
      const script = scripts[jobId]
      if (script === undefined) return yield* notFound(jobId)
      const n = positions.get(jobId) ?? 0
      positions.set(jobId, n + 1)
      const step = script[Math.min(n, script.length - 1)]!
      if (step.latency !== undefined && step.latency > 0) {
        yield* Effect.sleep(step.latency).pipe(
          Effect.onInterrupt(() => Clock.currentTimeMillis.pipe(Effect.map((t) => interrupted.push(t - origin!))))
        )
      }
      return isStatus(step.result) ? step.result : yield* Effect.fail(step.result)
    })
  const unused = Effect.dieMessage("not used by the watcher")
  const service: QoeryClient.Service = {
    baseUrl: new URL("http://127.0.0.1"),
    startJob: () => unused,
    getStatus,
    downloadCsv: () => Stream.die("not used"),
    usage: unused,
    plans: unused,
    health: unused,
    apiInfo: unused
  }
  return {
    service,
    requests,
    interrupted,
    spans,
    /** The times of the requests for one job. */
    times: (jobId = JOB) => requests.filter((r) => r.jobId === jobId).map((r) => r.at),
    provide: <A, E, R>(effect: Effect.Effect<A, E, R>) =>
      Effect.provideService(effect, QoeryClient.QoeryClient, service)
  }
}

/** Runs a stream to its end in the background, moving the TestClock far enough. */
const collect = <A, E>(
  stream: Stream.Stream<A, E, QoeryClient.QoeryClient>,
  fake: ReturnType<typeof makeFake>,
  advance: Duration.DurationInput = "2 hours"
) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(fake.provide(Stream.runCollect(stream)))
    yield* TestClock.adjust(advance)
    const exit = yield* Fiber.await(fiber)
    return Exit.map(exit, Chunk.toReadonlyArray)
  })

const gaps = (times: ReadonlyArray<number>) => times.slice(1).map((t, i) => t - times[i]!)

/** The typed failure of an exit (fails the test on a success, a defect or an interruption). */
const failure = <A, E>(exit: Exit.Exit<A, E>): E => {
  if (Exit.isSuccess(exit)) return assert.fail("expected a failure, got a success")
  const error = Cause.failureOption(exit.cause)
  if (Option.isNone(error)) return assert.fail(`expected a typed failure, got ${Cause.pretty(exit.cause)}`)
  return error.value
}

/** Errors are compared by value: a failure inside a span comes back as a copy that carries the span. */
const assertSameError = (actual: unknown, expected: QoeryError.QoeryError) => {
  assert.strictEqual((actual as QoeryError.QoeryError)._tag, expected._tag)
  assert.deepStrictEqual(JSON.parse(JSON.stringify(actual)), JSON.parse(JSON.stringify(expected)))
}

const success = <A, E>(exit: Exit.Exit<A, E>): A => {
  assert.isTrue(Exit.isSuccess(exit), Exit.isFailure(exit) ? `expected a success, got ${String(exit.cause)}` : "")
  return (exit as Exit.Success<A, E>).value
}

// ---------------------------------------------------------------------------

describe("JobWatcher.watch", () => {
  describe("spacing", () => {
    it.effect("polls at once, then the interval after the end of each response", () =>
      Effect.gen(function*() {
        const fake = makeFake({ [JOB]: [ok(processing(1), 100), ok(processing(2), 100), ok(completed(), 100)] })
        const exit = yield* collect(JobWatcher.watch(JOB, { interval: "1 second" }), fake)
        assert.deepStrictEqual(success(exit).map((s) => s.status), ["processing", "processing", "completed"])
        assert.deepStrictEqual(fake.times(), [0, 1_100, 2_200])
      }))

    it.effect("defaults to 1.5 seconds", () =>
      Effect.gen(function*() {
        const fake = makeFake({ [JOB]: [ok(processing(1)), ok(processing(2)), ok(completed())] })
        yield* collect(JobWatcher.watch(JOB), fake)
        assert.deepStrictEqual(fake.times(), [0, 1_500, 3_000])
      }))

    it.effect("the server's hint wins over interval", () =>
      Effect.gen(function*() {
        const fake = makeFake({ [JOB]: [ok(processing(1)), ok(processing(2)), ok(completed())] })
        yield* collect(JobWatcher.watch(JOB, { interval: "1 second", pollingInterval: 2_000 }), fake)
        assert.deepStrictEqual(fake.times(), [0, 2_000, 4_000])
      }))

    it.effect("the server's hint is clamped to minInterval and maxInterval", () =>
      Effect.gen(function*() {
        const script = [ok(processing(1)), ok(processing(2)), ok(completed())]
        const low = makeFake({ [JOB]: script })
        yield* collect(JobWatcher.watch(JOB, { pollingInterval: 0 }), low)
        assert.deepStrictEqual(low.times(), [0, 250, 500])

        const high = makeFake({ [JOB]: script })
        yield* collect(JobWatcher.watch(JOB, { pollingInterval: "10 minutes" }), high)
        assert.deepStrictEqual(high.times(), [0, 60_000, 120_000])

        const custom = makeFake({ [JOB]: script })
        yield* collect(JobWatcher.watch(JOB, { pollingInterval: 10, minInterval: 100, maxInterval: 500 }), custom)
        assert.deepStrictEqual(custom.times(), [0, 100, 200])
      }))

    it.effect("a schedule gives full control, stepped from the end of each response", () =>
      Effect.gen(function*() {
        const fake = makeFake({
          [JOB]: [ok(processing(1), 50), ok(processing(2), 50), ok(processing(3)), ok(completed())]
        })
        yield* collect(JobWatcher.watch(JOB, { schedule: Schedule.exponential("100 millis") }), fake)
        assert.deepStrictEqual(fake.times(), [0, 150, 400, 800])
      }))

    it.effect("a schedule that ends before the job fails with WatchTimeout and the last status", () =>
      Effect.gen(function*() {
        const fake = makeFake({ [JOB]: [ok(processing(1)), ok(processing(2))] })
        const exit = yield* collect(JobWatcher.watch(JOB, { schedule: Schedule.recurs(2), emit: "every" }), fake)
        const error = failure(exit)
        assert.strictEqual(error._tag, "WatchTimeout")
        assert.strictEqual(fake.times().length, 3)
        assert.deepStrictEqual((error as JobWatcher.WatchTimeout).lastStatus, processing(2))
      }))
  })

  describe("emission and the end", () => {
    const script = [ok(processing(1)), ok(processing(1)), ok(processing(2)), ok(processing(2)), ok(completed())]

    it.effect("emits only changes by default", () =>
      Effect.gen(function*() {
        const fake = makeFake({ [JOB]: script })
        const statuses = success(yield* collect(JobWatcher.watch(JOB, { interval: 100 }), fake))
        assert.deepStrictEqual(statuses, [processing(1), processing(2), completed()])
        assert.strictEqual(fake.times().length, 5)
      }))

    it.effect("emits every poll with emit: \"every\"", () =>
      Effect.gen(function*() {
        const fake = makeFake({ [JOB]: script })
        const statuses = success(yield* collect(JobWatcher.watch(JOB, { interval: 100, emit: "every" }), fake))
        assert.strictEqual(statuses.length, 5)
      }))

    it.effect("ends right after Completed: no request after a terminal status", () =>
      Effect.gen(function*() {
        const fake = makeFake({ [JOB]: [ok(processing(1)), ok(completed())] })
        const statuses = success(yield* collect(JobWatcher.watch(JOB, { interval: 100 }), fake, "1 day"))
        assert.deepStrictEqual(statuses, [processing(1), completed()])
        assert.deepStrictEqual(fake.times(), [0, 100])
      }))

    it.effect("a failed job is the last value, not a stream error", () =>
      Effect.gen(function*() {
        const fake = makeFake({ [JOB]: [ok(failed())] })
        const statuses = success(yield* collect(JobWatcher.watch(JOB), fake, "1 day"))
        assert.deepStrictEqual(statuses, [failed()])
        assert.strictEqual(fake.times().length, 1)
      }))

    it.effect("the first status is emitted as soon as it arrives", () =>
      Effect.gen(function*() {
        const fake = makeFake({ [JOB]: [ok(processing(1), 30), ok(completed())] })
        const fiber = yield* Effect.fork(fake.provide(Stream.runHead(JobWatcher.watch(JOB, { interval: "1 hour" }))))
        yield* TestClock.adjust(30)
        const first = yield* Fiber.join(fiber)
        assert.deepStrictEqual(first, Option.some(processing(1)))
        assert.strictEqual(yield* Clock.currentTimeMillis, 30)
      }))
  })

  describe("retries", () => {
    it.effect("retries transient errors with exponential backoff, jittered 0.8 to 1.2 times", () =>
      Effect.gen(function*() {
        const fake = makeFake({
          [JOB]: [ko(unavailable), ko(dropped), ko(unavailable), ko(unavailable), ok(completed())]
        })
        const statuses = success(yield* collect(JobWatcher.watch(JOB), fake))
        assert.deepStrictEqual(statuses, [completed()])
        const delays = gaps(fake.times())
        assert.strictEqual(delays.length, 4)
        ;[500, 1_000, 2_000, 4_000].forEach((nominal, i) => {
          assert.isAtLeast(delays[i]!, nominal * 0.8, `retry ${i + 1}`)
          assert.isAtMost(delays[i]!, nominal * 1.2, `retry ${i + 1}`)
        })
      }))

    it.effect("the backoff follows base, factor and cap", () =>
      Effect.gen(function*() {
        const fake = makeFake({
          [JOB]: [ko(unavailable), ko(unavailable), ko(unavailable), ko(unavailable), ok(completed())]
        })
        yield* collect(JobWatcher.watch(JOB, { retry: { base: "1 second", factor: 3, cap: "5 seconds" } }), fake)
        const delays = gaps(fake.times())
        ;[1_000, 3_000, 5_000, 5_000].forEach((nominal, i) => {
          assert.isAtLeast(delays[i]!, nominal * 0.8, `retry ${i + 1}`)
          assert.isAtMost(delays[i]!, nominal * 1.2, `retry ${i + 1}`)
        })
      }))

    it.effect("waits at least Retry-After", () =>
      Effect.gen(function*() {
        const fake = makeFake({ [JOB]: [ko(rateLimited("7 seconds")), ok(completed())] })
        yield* collect(JobWatcher.watch(JOB), fake)
        assert.deepStrictEqual(fake.times(), [0, 7_000])
      }))

    it.effect("caps Retry-After at maxRetryAfter (default 60 seconds)", () =>
      Effect.gen(function*() {
        const fake = makeFake({ [JOB]: [ko(rateLimited("1 hour")), ok(completed())] })
        yield* collect(JobWatcher.watch(JOB), fake)
        assert.deepStrictEqual(fake.times(), [0, 60_000])

        const capped = makeFake({ [JOB]: [ko(rateLimited("1 hour")), ok(completed())] })
        yield* collect(JobWatcher.watch(JOB, { retry: { maxRetryAfter: "5 seconds" } }), capped)
        assert.deepStrictEqual(capped.times(), [0, 5_000])
      }))

    it.effect("when the budget of consecutive failed polls is spent, fails with the last error", () =>
      Effect.gen(function*() {
        const fake = makeFake({ [JOB]: [ko(dropped), ko(unavailable)] })
        const error = failure(yield* collect(JobWatcher.watch(JOB), fake))
        assert.strictEqual(fake.times().length, 8)
        assertSameError(error, unavailable)

        const small = makeFake({ [JOB]: [ko(unavailable), ko(dropped)] })
        const last = failure(yield* collect(JobWatcher.watch(JOB, { retry: { budget: 3 } }), small))
        assert.strictEqual(small.times().length, 3)
        assertSameError(last, dropped)
      }))

    it.effect("the budget resets after a success", () =>
      Effect.gen(function*() {
        const fake = makeFake({
          [JOB]: [
            ko(unavailable),
            ko(unavailable),
            ok(processing(1)),
            ko(unavailable),
            ko(unavailable),
            ok(completed())
          ]
        })
        const statuses = success(yield* collect(JobWatcher.watch(JOB, { retry: { budget: 3 } }), fake))
        assert.deepStrictEqual(statuses, [processing(1), completed()])
        // The backoff starts again from base after the success.
        const delays = gaps(fake.times())
        assert.isAtMost(delays[3]!, 600)
      }))

    for (
      const error of [
        unauthorized,
        new QoeryError.BadRequest({ error: "bad" }),
        new QoeryError.QuotaExceeded({ error: "Monthly quota exceeded" }),
        new QoeryError.ResponseError({ status: 200, description: "asked for job A, got the status of job B" }),
        new QoeryError.ServerError({ status: 501 }),
        notFound()
      ]
    ) {
      it.effect(`fails at once, without waiting, on a permanent ${error._tag}`, () =>
        Effect.gen(function*() {
          const fake = makeFake({ [JOB]: [ko(error)] })
          const exit = yield* fake.provide(Stream.runCollect(JobWatcher.watch(JOB)).pipe(Effect.exit))
          assertSameError(failure(exit), error)
          assert.deepStrictEqual(fake.times(), [0])
          assert.strictEqual(yield* Clock.currentTimeMillis, 0)
        }))
    }

    it.effect("a permanent error after a transient one fails at once", () =>
      Effect.gen(function*() {
        const fake = makeFake({ [JOB]: [ok(processing(1)), ko(unavailable), ko(unauthorized)] })
        const error = failure(yield* collect(JobWatcher.watch(JOB), fake))
        assertSameError(error, unauthorized)
        assert.strictEqual(fake.times().length, 3)
      }))

    it.effect("JobNotFound is retried within notFoundGrace of the first poll, not after", () =>
      Effect.gen(function*() {
        const recovers = makeFake({ [JOB]: [ko(notFound()), ko(notFound()), ok(completed())] })
        const statuses = success(yield* collect(JobWatcher.watch(JOB, { notFoundGrace: "10 seconds" }), recovers))
        assert.deepStrictEqual(statuses, [completed()])

        const never = makeFake({ [JOB]: [ko(notFound())] })
        const exit = yield* collect(
          JobWatcher.watch(JOB, { notFoundGrace: "3 seconds", retry: { budget: 100, factor: 1 } }),
          never
        )
        assert.strictEqual(failure(exit)._tag, "JobNotFound")
        const times = never.times()
        assert.isAtLeast(times.at(-1)!, 3_000)
        assert.isBelow(times.at(-2)!, 3_000)
      }))

    it.effect("onRetry hears of each retry with its attempt and delay", () =>
      Effect.gen(function*() {
        const heard: Array<JobWatcher.RetryInfo> = []
        const fake = makeFake({ [JOB]: [ko(unavailable), ko(rateLimited("3 seconds")), ok(completed())] })
        yield* collect(
          JobWatcher.watch(JOB, { onRetry: (info) => Effect.sync(() => heard.push(info)) }),
          fake
        )
        assert.deepStrictEqual(heard.map((i) => [i.jobId, i.error._tag, i.attempt]), [
          [JOB, "ServerError", 1],
          [JOB, "RateLimited", 2]
        ])
        assert.deepStrictEqual(gaps(fake.times()), heard.map((i) => Duration.toMillis(i.delay)))
      }))

    it.effect("logs each retry at debug level with the error's tag and the delay", () =>
      Effect.gen(function*() {
        const logs: Array<{ level: string; message: string; annotations: Record<string, unknown> }> = []
        const logger = Logger.make(({ annotations, logLevel, message }) => {
          logs.push({
            level: logLevel.label,
            message: String(Array.isArray(message) ? message.join(" ") : message),
            annotations: Object.fromEntries(annotations)
          })
        })
        const fake = makeFake({ [JOB]: [ko(unavailable), ok(completed())] })
        yield* collect(JobWatcher.watch(JOB), fake).pipe(
          Effect.provide(Logger.replace(Logger.defaultLogger, logger)),
          Logger.withMinimumLogLevel(LogLevel.Debug)
        )
        assert.strictEqual(logs.length, 1)
        assert.strictEqual(logs[0]!.level, "DEBUG")
        assert.include(logs[0]!.message, "ServerError")
        assert.strictEqual(logs[0]!.annotations["qoery.error"], "ServerError")
        assert.strictEqual(logs[0]!.annotations["qoery.retry_delay_ms"], gaps(fake.times())[0])
      }))

    it.effect("each poll runs in a JobWatcher.poll span with the job id, attempt and the time it was due", () =>
      Effect.gen(function*() {
        const fake = makeFake({ [JOB]: [ok(processing(1)), ko(unavailable), ok(completed())] })
        yield* collect(JobWatcher.watch(JOB, { interval: 100 }), fake)
        const polls = fake.spans.filter((s) => s.name === "JobWatcher.poll")
        assert.deepStrictEqual(
          polls.map((s) => [s.attributes.get("qoery.job_id"), s.attributes.get("qoery.attempt")]),
          [[JOB, 1], [JOB, 1], [JOB, 2]]
        )
        // due: at once, the interval after the first answer, then the retry's backoff after the failure
        assert.deepStrictEqual(polls.map((s) => s.attributes.get("qoery.due")), fake.times())
      }))
  })

  describe("timeout and interruption", () => {
    it.effect("fails with WatchTimeout carrying the last status", () =>
      Effect.gen(function*() {
        const fake = makeFake({ [JOB]: [ok(processing(1)), ok(processing(2))] })
        const exit = yield* collect(JobWatcher.watch(JOB, { interval: "1 second", timeout: "3.5 seconds" }), fake)
        const error = failure(exit) as JobWatcher.WatchTimeout
        assert.strictEqual(error._tag, "WatchTimeout")
        assert.strictEqual(error.jobId, JOB)
        assert.deepStrictEqual(error.lastStatus, processing(2))
        assert.isUndefined(error.lastError, "no poll failed")
        assert.strictEqual(Duration.toMillis(error.elapsed), 3_500)
        assert.deepStrictEqual(fake.times(), [0, 1_000, 2_000, 3_000])
        assert.include(error.message, `job ${JOB}`)
      }))

    it.effect("the timeout aborts a request in flight, and cuts a retry delay short", () =>
      Effect.gen(function*() {
        const slow = makeFake({ [JOB]: [ok(processing(1)), ok(processing(2), 60_000)] })
        const fiber = yield* Effect.fork(
          slow.provide(Stream.runDrain(JobWatcher.watch(JOB, { interval: "1 second", timeout: "5 seconds" })))
        )
        yield* TestClock.adjust("1 minute")
        const error = failure(yield* Fiber.await(fiber)) as JobWatcher.WatchTimeout
        assert.strictEqual(error._tag, "WatchTimeout")
        assert.deepStrictEqual(slow.interrupted, [5_000])
        assert.deepStrictEqual(error.lastStatus, processing(1))

        const failing = makeFake({ [JOB]: [ko(rateLimited("30 seconds"))] })
        const exit = yield* collect(JobWatcher.watch(JOB, { timeout: "10 seconds" }), failing)
        const timedOut = failure(exit) as JobWatcher.WatchTimeout
        assert.strictEqual(timedOut._tag, "WatchTimeout")
        assert.isUndefined(timedOut.lastStatus)
        assert.include(timedOut.message, "no status was received")
        // what kept the watch from a status: the error of its last poll, retried until the deadline
        assert.strictEqual(timedOut.lastError, rateLimited("30 seconds").message)
        assert.include(timedOut.message, `the last with: ${rateLimited("30 seconds").message}`)
        assert.deepStrictEqual(failing.times(), [0])
      }))

    it.effect("interrupting the consumer mid-request aborts the request; nothing runs after", () =>
      Effect.gen(function*() {
        const fake = makeFake({ [JOB]: [ok(processing(1)), ok(processing(2), 10_000)] })
        const fiber = yield* Effect.fork(fake.provide(Stream.runDrain(JobWatcher.watch(JOB, { interval: 1_000 }))))
        yield* TestClock.adjust(1_500)
        assert.deepStrictEqual(fake.times(), [0, 1_000])
        yield* Fiber.interrupt(fiber)
        assert.deepStrictEqual(fake.interrupted, [1_500])
        yield* TestClock.adjust("1 hour")
        assert.strictEqual(fake.requests.length, 2)
      }))

    it.effect("take(n) stops polling once it has its elements", () =>
      Effect.gen(function*() {
        const fake = makeFake({ [JOB]: [ok(processing(1)), ok(processing(2)), ok(processing(3))] })
        const statuses = success(yield* collect(JobWatcher.watch(JOB, { interval: 100 }).pipe(Stream.take(2)), fake))
        assert.deepStrictEqual(statuses, [processing(1), processing(2)])
        assert.deepStrictEqual(fake.times(), [0, 100])
      }))

    it.effect("an Effect.timeout around the stream interrupts it", () =>
      Effect.gen(function*() {
        const fake = makeFake({ [JOB]: [ok(processing(1), 10), ok(processing(2), 5_000)] })
        const fiber = yield* Effect.fork(
          fake.provide(Stream.runDrain(JobWatcher.watch(JOB, { interval: 100 })).pipe(Effect.timeout("1 second")))
        )
        yield* TestClock.adjust("1 minute")
        const exit = yield* Fiber.await(fiber)
        assert.strictEqual(failure(exit)._tag, "TimeoutException")
        assert.deepStrictEqual(fake.interrupted, [1_000])
        assert.strictEqual(fake.requests.length, 2)
      }))
  })

  describe("options", () => {
    const cases: ReadonlyArray<[string, JobWatcher.WatchOptions]> = [
      ["interval", { interval: -1 }],
      ["interval", { interval: 0 }],
      ["interval", { interval: Number.NaN }],
      ["interval", { interval: "-5 seconds" }],
      ["interval", { interval: "soon" as Duration.DurationInput }],
      ["interval", { interval: Infinity }],
      ["pollingInterval", { pollingInterval: -10 }],
      ["minInterval", { minInterval: "2 minutes" }],
      ["timeout", { interval: "10 seconds", timeout: "5 seconds" }],
      ["timeout", { timeout: -1 }],
      ["retry.budget", { retry: { budget: 0 } }],
      ["retry.budget", { retry: { budget: 1.5 } }],
      ["retry.factor", { retry: { factor: 0.5 } }],
      ["retry.base", { retry: { base: 0 } }],
      ["retry.cap", { retry: { base: "2 seconds", cap: "1 second" } }],
      ["notFoundGrace", { notFoundGrace: -1 }],
      ["emit", { emit: "sometimes" as "every" }]
    ]
    for (const [field, options] of cases) {
      it.effect(`rejects ${JSON.stringify(options)} as InvalidInput (${field}) before any request`, () =>
        Effect.gen(function*() {
          const fake = makeFake({ [JOB]: [ok(completed())] })
          const exit = yield* fake.provide(Stream.runCollect(JobWatcher.watch(JOB, options)).pipe(Effect.exit))
          const error = failure(exit) as QoeryError.InvalidInput
          assert.strictEqual(error._tag, "InvalidInput")
          assert.strictEqual(error.field, field)
          assert.include(error.message, `Invalid ${field}`)
          assert.strictEqual(fake.requests.length, 0)
        }))
    }

    it.effect("the dual form reads in a pipeline", () =>
      Effect.gen(function*() {
        const fake = makeFake({ [JOB]: [ok(completed())] })
        const statuses = success(yield* collect(JobWatcher.watch({ interval: 100 })(JOB), fake))
        assert.deepStrictEqual(statuses, [completed()])
      }))
  })
})

describe("JobWatcher.awaitCompletion", () => {
  it.effect("gives the Completed status", () =>
    Effect.gen(function*() {
      const fake = makeFake({ [JOB]: [ok(processing(1)), ok(completed())] })
      const fiber = yield* Effect.fork(fake.provide(JobWatcher.awaitCompletion(JOB, { interval: 100 })))
      yield* TestClock.adjust("1 second")
      assert.deepStrictEqual(yield* Fiber.join(fiber), completed())
    }))

  it.effect("fails with JobFailed carrying the Failed status and its message", () =>
    Effect.gen(function*() {
      const fake = makeFake({ [JOB]: [ok(processing(1)), ok(failed())] })
      const fiber = yield* Effect.fork(fake.provide(JobWatcher.awaitCompletion(JOB, { interval: 100 })))
      yield* TestClock.adjust("1 second")
      const error = failure(yield* Fiber.await(fiber)) as JobWatcher.JobFailed
      assert.strictEqual(error._tag, "JobFailed")
      assert.deepStrictEqual(error.status, failed())
      assert.include(error.message, "No sources found for this query")
    }))

  it.effect("fails at once on an unknown job (no grace window unless asked)", () =>
    Effect.gen(function*() {
      const fake = makeFake({})
      const exit = yield* fake.provide(Effect.exit(JobWatcher.awaitCompletion(JOB)))
      assert.strictEqual(failure(exit)._tag, "JobNotFound")
      assert.strictEqual(fake.requests.length, 1)
    }))

  it.effect("times out after 30 minutes by default", () =>
    Effect.gen(function*() {
      const fake = makeFake({ [JOB]: [ok(processing(1))] })
      const fiber = yield* Effect.fork(fake.provide(pipeAwait(JOB)))
      yield* TestClock.adjust("29 minutes")
      assert.isNull(fiber.unsafePoll())
      yield* TestClock.adjust("1 minute")
      const error = failure(yield* Fiber.await(fiber)) as JobWatcher.WatchTimeout
      assert.strictEqual(error._tag, "WatchTimeout")
      assert.strictEqual(Duration.toMillis(error.elapsed), 30 * 60_000)
    }))
})

const pipeAwait = (jobId: string) => JobWatcher.awaitCompletion()(jobId)

describe("JobWatcher.run", () => {
  it.effect("starts the job, calls onStarted before polling, and polls at the server's interval", () =>
    Effect.gen(function*() {
      const fake = makeFake({ [JOB]: [ko(notFound()), ok(processing(1)), ok(completed())] })
      const events: Array<string> = []
      const service: QoeryClient.Service = {
        ...fake.service,
        startJob: (search) =>
          Effect.sync(() => {
            events.push(`start ${search}`)
            return new JobStatus.JobStarted({ jobId: JobId.make(JOB), pollingInterval: Duration.seconds(2) })
          }),
        getStatus: (jobId) => Effect.zipRight(Effect.sync(() => events.push("poll")), fake.service.getStatus(jobId))
      }
      const stream = JobWatcher.run("climate", {
        onStarted: (started) => Effect.sync(() => events.push(`started ${started.jobId}`))
      })
      const fiber = yield* Effect.fork(
        Stream.runCollect(stream).pipe(Effect.provideService(QoeryClient.QoeryClient, service))
      )
      yield* TestClock.adjust("1 minute")
      const statuses = Chunk.toReadonlyArray(yield* Fiber.join(fiber))
      assert.deepStrictEqual(statuses, [processing(1), completed()])
      assert.deepStrictEqual(events.slice(0, 3), ["start climate", `started ${JOB}`, "poll"])
      // A JobNotFound right after the start is retried (grace window), then the server's 2 s interval.
      const times = fake.times()
      assert.closeTo(times[2]! - times[1]!, 2_000, 1e-6)
    }))
})

describe("JobWatcher.watchAll", () => {
  it.effect("merges the statuses of many jobs and ends when every job has ended", () =>
    Effect.gen(function*() {
      const fake = makeFake({
        [JOB]: [ok(processing(1)), ok(completed())],
        [OTHER]: [ok(processing(1, OTHER)), ok(processing(2, OTHER)), ok(failed(OTHER))]
      })
      const elements = success(yield* collect(JobWatcher.watchAll([JOB, OTHER, JOB], { interval: 100 }), fake))
      const byJob = (id: string) => elements.filter((e) => !JobWatcher.isWatchAllFailure(e) && e.jobId === id)
      assert.strictEqual(byJob(JOB).length, 2)
      assert.strictEqual(byJob(OTHER).length, 3)
      assert.strictEqual(fake.requests.length, 5)
    }))

  it.effect("by default one job's permanent error fails the whole stream", () =>
    Effect.gen(function*() {
      const fake = makeFake({
        [JOB]: [ok(processing(1)), ok(processing(2)), ok(processing(3)), ok(completed())],
        [OTHER]: [ko(unauthorized)]
      })
      const exit = yield* collect(JobWatcher.watchAll([JOB, OTHER], { interval: 100 }), fake)
      assertSameError(failure(exit), unauthorized)
      assert.isBelow(fake.times(JOB).length, 4)
    }))

  it.effect("with failFast: false, a failed job arrives as a WatchAllFailure and the others go on", () =>
    Effect.gen(function*() {
      const fake = makeFake({
        [JOB]: [ok(processing(1)), ok(processing(2)), ok(completed())],
        [OTHER]: [ko(unauthorized)]
      })
      const elements = success(
        yield* collect(JobWatcher.watchAll([JOB, OTHER], { interval: 100, failFast: false }), fake)
      )
      const failures = elements.filter(JobWatcher.isWatchAllFailure)
      assert.deepStrictEqual(failures.map((f) => f.jobId), [OTHER])
      assertSameError(failures[0]!.error, unauthorized)
      assert.deepStrictEqual(elements.filter((e) => !JobWatcher.isWatchAllFailure(e)), [
        processing(1),
        processing(2),
        completed()
      ])
    }))

  it.effect("polls at most `concurrency` jobs at once", () =>
    Effect.gen(function*() {
      const ids = Array.from({ length: 10 }, (_, i) => `20251110_1516${String(i).padStart(2, "0")}`)
      const fake = makeFake(Object.fromEntries(ids.map((id) => [id, [ok(processing(1, id)), ok(completed(1, id))]])))
      const fiber = yield* Effect.fork(
        fake.provide(Stream.runCollect(JobWatcher.watchAll(ids, { interval: 1_000, concurrency: 3 })))
      )
      yield* TestClock.adjust(500)
      assert.strictEqual(fake.requests.length, 3)
      yield* TestClock.adjust("1 minute")
      assert.strictEqual(Chunk.size(yield* Fiber.join(fiber)), 20)
    }))

  it.effect("with many jobs followed at once, at most maxInFlight requests are in flight; the others wait their turn", () =>
    Effect.gen(function*() {
      const jobs = maxInFlight + 36
      const pad = (n: number) => String(n).padStart(2, "0")
      const ids = Array.from(
        { length: jobs },
        (_, i) => `20251110_${pad(Math.floor(i / 3600))}${pad(Math.floor(i / 60) % 60)}${pad(i % 60)}`
      )
      const fake = makeFake(Object.fromEntries(ids.map((id) => [id, [ok(completed(1, id), 1_000)]])))
      // An interval of 1 ms: the first polls, spread over it, are all due at once.
      const fiber = yield* Effect.fork(
        fake.provide(Stream.runCollect(JobWatcher.watchAll(ids, { interval: 1, concurrency: jobs })))
      )
      yield* TestClock.adjust(500)
      assert.strictEqual(fake.requests.length, maxInFlight)
      yield* TestClock.adjust(1_000)
      assert.strictEqual(fake.requests.length, jobs)
      assert.deepStrictEqual(fake.requests.slice(maxInFlight).map((r) => r.at), Array(36).fill(1_000))
      yield* TestClock.adjust(1_000)
      assert.strictEqual(Chunk.size(yield* Fiber.join(fiber)), jobs)
      assert.strictEqual(fake.requests.length, jobs)
    }))

  it.effect("spreads the first polls of many jobs over one interval, and each job keeps that phase", () =>
    Effect.gen(function*() {
      const jobs = 64
      const interval = 6_400 // one first poll every 100 ms after the first 16
      const ids = Array.from({ length: jobs }, (_, i) => `20251110_1516${String(i % 60).padStart(2, "0")}`)
        .map((id, i) => i < 60 ? id : `20251110_1517${String(i - 60).padStart(2, "0")}`)
      const fake = makeFake(
        Object.fromEntries(ids.map((id) => [id, [ok(processing(1, id)), ok(processing(2, id)), ok(completed(2, id))]]))
      )
      yield* collect(JobWatcher.watchAll(ids, { interval, concurrency: jobs }), fake)
      const burst = 16
      ids.forEach((id, i) => {
        const first = i < burst ? 0 : (i - burst + 1) * 100
        assert.deepStrictEqual(fake.times(id), [first, first + interval, first + 2 * interval], `job ${i}`)
      })
      // a steady rate: after the first 16, never two requests in the same 100 ms
      const late = fake.requests.map((r) => r.at).filter((t) => t > 0).sort((a, b) => a - b)
      assert.isTrue(late.every((t, i) => i === 0 || t - late[i - 1]! >= 100 || t % interval < 100))
    }))

  it.effect("a job keeps its place after a slow response or a retry; watch alone spaces from the response's end", () =>
    Effect.gen(function*() {
      const script = [
        ok(processing(1), 300), // back at 300: the next place is 1,000
        ok(processing(2), 700), // back at 1,700: 2,000 is less than half an interval after it, so 3,000
        ko(new QoeryError.ServerError({ status: 503 })), // a retry at about 3,200
        ok(processing(3)), // then 4,000, its place
        ok(completed(3))
      ]
      const many = makeFake({ [JOB]: script })
      yield* collect(JobWatcher.watchAll([JOB], { interval: 1_000, retry: { base: 200 } }), many)
      const [first, second, third, retry, last] = many.times()
      assert.deepStrictEqual([first, second, third], [0, 1_000, 3_000])
      assert.isTrue(retry! >= 3_160 && retry! <= 3_240, `retry at ${retry}`)
      assert.strictEqual(last, 4_000)
      const one = makeFake({ [JOB]: script })
      yield* collect(JobWatcher.watch(JOB, { interval: 1_000, retry: { base: 200 } }), one)
      assert.deepStrictEqual(one.times().slice(0, 3), [0, 1_300, 3_000])
    }))

  it.effect("ending the consumer interrupts every job and its request in flight", () =>
    Effect.gen(function*() {
      const fake = makeFake({
        [JOB]: [ok(processing(1)), ok(processing(2), 10_000)],
        [OTHER]: [ok(processing(1, OTHER), 5_000)]
      })
      const fiber = yield* Effect.fork(
        fake.provide(Stream.runCollect(JobWatcher.watchAll([JOB, OTHER], { interval: 100 }).pipe(Stream.take(1))))
      )
      // The first status arrives at once; the other job's request, in flight, is aborted then.
      assert.deepStrictEqual(Chunk.toReadonlyArray(yield* Fiber.join(fiber)), [processing(1)])
      assert.deepStrictEqual(fake.interrupted, [0])
      yield* TestClock.adjust("1 hour")
      assert.strictEqual(fake.requests.length, 2)
    }))

  it.effect("rejects a bad concurrency", () =>
    Effect.gen(function*() {
      const fake = makeFake({})
      const exit = yield* fake.provide(
        Stream.runCollect(JobWatcher.watchAll([JOB], { concurrency: 0 })).pipe(Effect.exit)
      )
      assert.strictEqual((failure(exit) as QoeryError.InvalidInput).field, "concurrency")
    }))
})
