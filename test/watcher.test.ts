/**
 * JobWatcher end to end: the client over undici against the emulator on
 * loopback: what needs the real client and a real server. The watcher's rules
 * (spacing, retries, budget, timeout, interruption) are its unit tests'
 * (packages/client/test/JobWatcher.test.ts, on the TestClock); what each
 * fault does to each entry point is the fault matrix's
 * (test/reliability/faults.test.ts). Here: a job run to its end, a failed job,
 * `Retry-After` read off the wire whatever the status, the one span per poll
 * with the real client, a thousand jobs at once, statuses that go backwards.
 */
import { JobStatus, JobWatcher, QoeryClient } from "@effect-qoery/client"
import { Emulator, Faults } from "@effect-qoery/emulator"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { assert, describe, it, layer } from "@effect/vitest"
import { Chunk, Clock, Duration, Effect, Either, Layer, Stream, Tracer } from "effect"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { jobId, wireStatus } from "./support/statuses.js"

const EmulatorLive = Emulator.layer({ jobDuration: "400 millis", pollingInterval: "25 millis", quota: 10_000_000 })

const ClientLive = Layer.unwrapEffect(
  Effect.map(
    Emulator.Emulator,
    (emulator) => QoeryClient.layer({ apiKey: Emulator.demoApiKey, baseUrl: emulator.baseUrl })
  )
).pipe(Layer.provide(NodeHttpClient.layerUndici))

const Env = ClientLive.pipe(Layer.provideMerge(EmulatorLive))

/** Fast enough for tests: the emulator suggests 25 ms, retries start at 20 ms. */
const fast: JobWatcher.WatchOptions = { interval: 25, minInterval: 10, retry: { base: 20 } }

const start = (search: string) => Effect.flatMap(QoeryClient.QoeryClient, (client) => client.startJob(search))

/** Runs a watch to its end: the statuses it emitted, and how it ended. */
const outcome = <E>(stream: Stream.Stream<JobStatus.JobStatus, E, QoeryClient.QoeryClient>) =>
  Effect.gen(function*() {
    const elements = Chunk.toReadonlyArray(yield* Stream.runCollect(Stream.either(stream)))
    const statuses = elements.filter(Either.isRight).map((e) => e.right)
    const error = elements.find(Either.isLeft)?.left
    return { statuses, error }
  })

const afterTerminal = Effect.map(
  Effect.flatMap(Emulator.Emulator, (e) => e.stats),
  (s) => s.statusRequestsAfterTerminal
)

/** Each test starts with no faults and checks that nothing was requested after a terminal status. */
const fresh = <A, E, R>(test: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const emulator = yield* Emulator.Emulator
    yield* emulator.clearFaults
    const before = yield* afterTerminal
    const result = yield* test
    yield* emulator.clearFaults
    assert.strictEqual(yield* afterTerminal, before, "a status was requested after a terminal status")
    return result
  })

/** A loopback server that answers each status poll with the next of `served` (the last, once they run out). */
const scriptedStatuses = (served: ReadonlyArray<unknown>) =>
  Effect.gen(function*() {
    let polls = 0
    const server = http.createServer((_req, res) => {
      const body = served[Math.min(polls++, served.length - 1)]
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body))
    })
    yield* Effect.acquireRelease(
      Effect.async<void>((resume) => {
        server.listen(0, "127.0.0.1", () => resume(Effect.void))
      }),
      () => Effect.sync(() => server.close())
    )
    return { baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, polls: () => polls }
  })

const assertEnded = (statuses: ReadonlyArray<JobStatus.JobStatus>, jobId: string, status: "completed" | "error") => {
  assert.isAbove(statuses.length, 0)
  assert.isTrue(statuses.every((s) => s.jobId === jobId), "a status of another job")
  assert.strictEqual(statuses.at(-1)!.status, status)
  assert.isTrue(statuses.slice(0, -1).every((s) => s.status === "processing"))
  const rows = statuses.map((s) => s.progress.rowsCollected)
  assert.deepStrictEqual(rows, [...rows].sort((a, b) => a - b), "progress went back")
}

layer(Env, { excludeTestServices: true })("JobWatcher against the emulator", (it) => {
  it.effect("run starts a job, journals it before polling, and streams it to completed", () =>
    fresh(Effect.gen(function*() {
      let journaled: string | undefined
      const { error, statuses } = yield* outcome(JobWatcher.run("climate change statistics", {
        minInterval: 10,
        onStarted: (started) => Effect.sync(() => journaled = started.jobId)
      }))
      assert.isUndefined(error)
      assert.isDefined(journaled)
      assertEnded(statuses, journaled!, "completed")
      assert.isAbove(statuses.length, 2, "progress along the way")
    })))

  it.effect("a job that fails ends the stream with its Failed status; awaitCompletion gives JobFailed", () =>
    fresh(Effect.gen(function*() {
      const started = yield* start("please fail this query")
      const { error, statuses } = yield* outcome(JobWatcher.watch(started.jobId, fast))
      assert.isUndefined(error)
      assertEnded(statuses, started.jobId, "error")

      const again = yield* start("fail again")
      const failed = yield* Effect.flip(JobWatcher.awaitCompletion(again.jobId, fast))
      assert.strictEqual(failed._tag, "JobFailed")
      if (failed._tag === "JobFailed") assert.include(failed.message, again.jobId)

      const ok = yield* start("ocean temperatures")
      const completed = yield* JobWatcher.awaitCompletion(ok.jobId, fast)
      assert.strictEqual(completed.status, "completed")
      assert.strictEqual(completed.jobId, ok.jobId)
    })))

  it.effect("a 429 with Retry-After waits at least that long", () =>
    fresh(Effect.gen(function*() {
      const emulator = yield* Emulator.Emulator
      const started = yield* start("rice harvest")
      yield* emulator.setFaults("status", Faults.times({ kind: "status", status: 429, retryAfter: 1 }))
      const delays: Array<number> = []
      const t0 = yield* Clock.currentTimeMillis
      const { error, statuses } = yield* outcome(JobWatcher.watch(started.jobId, {
        ...fast,
        onRetry: (info) => Effect.sync(() => delays.push(Duration.toMillis(info.delay)))
      }))
      const elapsed = (yield* Clock.currentTimeMillis) - t0
      assert.isUndefined(error)
      assertEnded(statuses, started.jobId, "completed")
      assert.deepStrictEqual(delays, [1_000])
      assert.isAtLeast(elapsed, 1_000)
    })))

  it.effect("a 503 with Retry-After (a proxy's) waits that long, not the backoff", () =>
    fresh(Effect.gen(function*() {
      const emulator = yield* Emulator.Emulator
      const started = yield* start("wave heights")
      yield* emulator.setFaults("status", Faults.times({ kind: "status", status: 503, retryAfter: 1 }))
      const delays: Array<number> = []
      const { error, statuses } = yield* outcome(JobWatcher.watch(started.jobId, {
        ...fast,
        onRetry: (info) => Effect.sync(() => delays.push(Duration.toMillis(info.delay)))
      }))
      assert.isUndefined(error)
      assertEnded(statuses, started.jobId, "completed")
      assert.deepStrictEqual(delays, [1_000])
    })))

  it.effect("a poll is one span, JobWatcher.poll with the job id; getStatus called alone has its own", () =>
    fresh(Effect.gen(function*() {
      const names: Array<string> = []
      const native = yield* Effect.tracer
      const recording = Tracer.make({
        context: native.context,
        span: (name, ...rest) => {
          names.push(name)
          return native.span(name, ...rest)
        }
      })
      const { jobId } = yield* start("climate one span per poll")
      yield* Effect.flatMap(QoeryClient.QoeryClient, (client) => client.getStatus(jobId)).pipe(
        Effect.withTracer(recording)
      )
      assert.deepStrictEqual(names, ["QoeryClient.getStatus"])
      names.length = 0
      const statuses = yield* Stream.runCollect(JobWatcher.watch(jobId, fast)).pipe(Effect.withTracer(recording))
      assert.isAbove(Chunk.size(statuses), 0)
      assert.isTrue(names.includes("JobWatcher.poll"))
      assert.isFalse(names.includes("QoeryClient.getStatus"), names.join(", "))
    })))
})

// Jobs long enough to still run while 1,000 of them are being started.
const SlowJobs = ClientLive.pipe(
  Layer.provideMerge(Emulator.layer({ jobDuration: "3 seconds", pollingInterval: "250 millis", quota: 10_000_000 }))
)

layer(SlowJobs, { excludeTestServices: true })("JobWatcher.watchAll against the emulator", (it) => {
  it.effect(
    "over 1,000 jobs at once: each reaches its terminal status exactly once, on one client",
    () =>
      fresh(Effect.gen(function*() {
        const queries = Array.from({ length: 1_000 }, (_, i) => i % 10 === 0 ? `fail ${i}` : `series ${i}`)
        const ids = yield* Effect.forEach(queries, (q) => Effect.map(start(q), (s) => s.jobId), { concurrency: 200 })
        const elements = Chunk.toReadonlyArray(
          yield* Stream.runCollect(JobWatcher.watchAll(ids, { ...fast, interval: 250, concurrency: 1_000 }))
        )
        assert.isUndefined(elements.find(JobWatcher.isWatchAllFailure))
        const statuses = elements as ReadonlyArray<JobStatus.JobStatus>
        const known = new Set<string>(ids)
        assert.isTrue(statuses.every((s) => known.has(s.jobId)), "a status of a job not asked for")
        const terminal = new Map<string, number>()
        for (const status of statuses.filter(JobStatus.isTerminal)) {
          terminal.set(status.jobId, (terminal.get(status.jobId) ?? 0) + 1)
        }
        assert.strictEqual(terminal.size, 1_000)
        assert.isTrue([...terminal.values()].every((n) => n === 1))
        assert.strictEqual(statuses.filter((s) => s.status === "error").length, 100)
      })),
    { timeout: 90_000 }
  )
})

// A server whose statuses go backwards (a replica behind a load balancer that lags): what it says is emitted
// as it comes, in order; the watch neither drops nor reorders a status whose counters shrink or whose step goes
// back, and it still ends at the terminal status.
describe("JobWatcher, statuses that go backwards", () => {
  const at = (rows: number, step: JobStatus.Step, status: "processing" | "completed" = "processing") =>
    wireStatus({
      status,
      query: "lagging replica",
      progress: {
        current_step: step,
        rows_collected: rows,
        urls_processed: Math.min(rows, 10),
        urls_total: 10,
        last_updated: `2025-11-10T15:16:${String(10 + rows).padStart(2, "0")}Z`
      },
      urls: [],
      started_at: "2025-11-10T15:16:00Z",
      completed_at: status === "completed" ? "2025-11-10T15:17:00Z" : null
    })
  const served = [
    at(5, "scraping"),
    at(12, "processing"),
    at(3, "searching"), // back: fewer rows, an earlier step
    at(12, "processing"),
    at(20, "finalizing", "completed")
  ]

  it.live("emits each status as the server sent it, in order, and ends at the terminal one", () =>
    Effect.gen(function*() {
      const { baseUrl, polls } = yield* scriptedStatuses(served)
      const statuses = yield* Stream.runCollect(JobWatcher.watch(jobId, { interval: 5 })).pipe(
        Effect.provide(QoeryClient.layer({ apiKey: "k", baseUrl }).pipe(Layer.provide(NodeHttpClient.layerUndici)))
      )
      const seen = Chunk.toReadonlyArray(statuses).map((s) => [s.progress.rowsCollected, s.progress.currentStep])
      assert.deepStrictEqual(seen, [[5, "scraping"], [12, "processing"], [3, "searching"], [12, "processing"], [
        20,
        "finalizing"
      ]])
      assert.strictEqual(polls(), served.length, "no request after the terminal status")
    }).pipe(Effect.scoped))
})

// A newer service with a step this client does not know ("uploading"): the spec types current_step as any
// string, so the status is decoded with the step as it came, emitted, and the watch goes on to the end.
describe("JobWatcher, a step the client does not know", () => {
  const at = (rows: number, step: string, status: "processing" | "completed" = "processing") =>
    wireStatus({
      status,
      query: "newer service",
      progress: { current_step: step, rows_collected: rows, last_updated: `2025-11-10T15:16:${10 + rows}Z` },
      completed_at: status === "completed" ? "2025-11-10T15:17:00Z" : null
    })
  const served = [at(5, "scraping"), at(10, "uploading"), at(10, "uploading"), at(20, "finalizing", "completed")]

  it.live("emits the status with the unknown step and ends at the terminal one", () =>
    Effect.gen(function*() {
      const { baseUrl } = yield* scriptedStatuses(served)
      const completed = yield* Effect.gen(function*() {
        const statuses = yield* Stream.runCollect(JobWatcher.watch(jobId, { interval: 5 }))
        const seen = Chunk.toReadonlyArray(statuses).map((s) => [s.status, s.progress.currentStep])
        assert.deepStrictEqual(seen, [["processing", "scraping"], ["processing", "uploading"], [
          "completed",
          "finalizing"
        ]])
        return yield* JobWatcher.awaitCompletion(jobId, { interval: 5 })
      }).pipe(
        Effect.provide(QoeryClient.layer({ apiKey: "k", baseUrl }).pipe(Layer.provide(NodeHttpClient.layerUndici)))
      )
      assert.strictEqual(completed.status, "completed")
    }).pipe(Effect.scoped))
})

// With the real client, a poll's span and the watch's deadline go into the request's own fiber
// (QoeryClient.statusInSpan): the sooner of the watch's deadline and the request timeout ends it, as its error.
describe("JobWatcher with the real client, against a server that never answers", () => {
  const hanging = Effect.acquireRelease(
    Effect.async<{ readonly server: http.Server; readonly closed: Array<string> }>((resume) => {
      const closed: Array<string> = []
      const server = http.createServer((req) => {
        req.on("close", () => closed.push(req.url ?? ""))
      })
      server.listen(0, "127.0.0.1", () => resume(Effect.succeed({ server, closed })))
    }),
    ({ server }) =>
      Effect.sync(() => server.closeAllConnections()).pipe(Effect.zipRight(Effect.sync(() => server.close())))
  )
  const client = (server: http.Server, timeout: Duration.DurationInput) =>
    QoeryClient.layer({
      apiKey: "k",
      baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      timeout
    }).pipe(Layer.provide(NodeHttpClient.layerUndici))

  it.live("a watch deadline sooner than the request timeout fails the watch with WatchTimeout and aborts the request", () =>
    Effect.gen(function*() {
      const { closed, server } = yield* hanging
      const ended: Array<string> = []
      const native = yield* Effect.tracer
      const recording = Tracer.make({
        context: native.context,
        span: (name, ...rest) => {
          const span = native.span(name, ...rest)
          const end = span.end.bind(span)
          return Object.assign(span, {
            end: (time: bigint, exit: import("effect/Exit").Exit<unknown, unknown>) => {
              ended.push(`${name}:${exit._tag}`)
              end(time, exit)
            }
          })
        }
      })
      const startedAt = yield* Clock.currentTimeMillis
      const { error } = yield* outcome(JobWatcher.watch(jobId, { interval: 25, timeout: "300 millis" })).pipe(
        Effect.withTracer(recording),
        Effect.provide(client(server, "10 seconds"))
      )
      const took = (yield* Clock.currentTimeMillis) - startedAt
      assert.strictEqual(error?._tag, "WatchTimeout")
      assert.isTrue(took >= 300 && took < 5_000, `took ${took} ms`)
      assert.deepStrictEqual(ended, ["JobWatcher.poll:Failure"])
      // the request was aborted: the server sees its connection close
      yield* Effect.sleep("100 millis")
      assert.deepStrictEqual(closed, [`/v0/datasets/${jobId}`])
    }).pipe(Effect.scoped))

  it.live("a request timeout sooner than the watch deadline is a TransportError, retried as one", () =>
    Effect.gen(function*() {
      const { server } = yield* hanging
      const retried: Array<string> = []
      const { error } = yield* outcome(JobWatcher.watch(jobId, {
        interval: 25,
        timeout: "1 minute",
        retry: { base: 20, budget: 2 },
        onRetry: (info) => Effect.sync(() => retried.push(info.error._tag))
      })).pipe(Effect.provide(client(server, "150 millis")))
      assert.strictEqual(error?._tag, "TransportError")
      assert.strictEqual((error as { reason?: string }).reason, "Timeout")
      assert.deepStrictEqual(retried, ["TransportError"])
    }).pipe(Effect.scoped))
})
