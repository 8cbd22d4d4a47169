/**
 * The fault matrix: every fault the emulator can script, against every entry
 * point (`watch`, `awaitCompletion`, `run`, `watchAll`, `DatasetCsv.rows`,
 * `DatasetCsv.writeFile`, the CLI's `run`), over loopback. Each case gets its
 * own emulator and asserts the documented outcome: recovered (with the right
 * statuses, the whole CSV, no request after a terminal status), or a specific
 * typed error within a bounded time. The README's Reliability table is this
 * table.
 */
import { DatasetCsv, JobStatus, JobWatcher, QoeryClient } from "@effect-qoery/client"
import type { QoeryError } from "@effect-qoery/client"
import { Emulator, Faults } from "@effect-qoery/emulator"
import * as NodeContext from "@effect/platform-node/NodeContext"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Either, Layer, Schedule, Stream } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { expectedRows } from "../support/expected.js"
import {
  afterTerminal,
  assertJobStatuses,
  recordingClientLayer,
  runCli,
  serve,
  type Served,
  stateDir
} from "../support/reliability.js"

/**
 * Jobs of 600 ms polled every 20 ms; retries start at 10 ms. Requests time out
 * after 2 s: a shorter timeout fires on a loaded machine after the emulator has
 * already answered, and the retry then reads as a request after the terminal
 * status. The hang and stall faults last well past it.
 */
const emulatorOptions: Emulator.Options = { jobDuration: "600 millis", pollingInterval: "20 millis" }
const requestTimeout = 2_000
const pastTheTimeout = requestTimeout + 1_500
const fast: JobWatcher.WatchOptions = {
  interval: 20,
  minInterval: 5,
  retry: { base: 10, cap: 50, maxRetryAfter: 150 },
  timeout: "20 seconds"
}
const csvRetry: JobWatcher.RetryOptions = { base: 20, cap: 20, budget: 6 }
/** A failure is expected in well under a second; this bound only catches a hang. */
const failWithinMillis = 10_000

type Outcome =
  | { readonly _tag: "Recovered" }
  | { readonly _tag: "Fails"; readonly error: string; readonly reason?: QoeryError.TransportError["reason"] }

const recovered: Outcome = { _tag: "Recovered" }
const fails = (error: string, reason?: QoeryError.TransportError["reason"]): Outcome =>
  reason === undefined ? { _tag: "Fails", error } : { _tag: "Fails", error, reason }

interface FaultRow {
  readonly name: string
  readonly fault: Faults.Fault
  /** On the status route: watch, awaitCompletion, run, watchAll (404 differs: see `notFound`). */
  readonly status: Outcome
  /** When the watch recovers: the error it retried each faulted poll as (its `onRetry`); else it retries none. */
  readonly retriedAs?: QoeryError.QoeryError["_tag"]
  /** On the csv route, through `DatasetCsv.rows` with `waitForRows`. */
  readonly rows: Outcome
  /** On the csv route, through `DatasetCsv.writeFile`. */
  readonly writeFile: Outcome
}

const status = (code: number, retryAfter?: number): Faults.Fault =>
  retryAfter === undefined ? { kind: "status", status: code } : { kind: "status", status: code, retryAfter }

/** The matrix. `hang` and `stall` last well past the request timeout. */
const matrix: ReadonlyArray<FaultRow> = [
  ...[500, 502, 503, 504].map((code): FaultRow => ({
    name: String(code),
    fault: status(code),
    status: recovered,
    retriedAs: "ServerError",
    rows: recovered,
    writeFile: recovered
  })),
  {
    name: "429 with Retry-After",
    fault: status(429, 1),
    status: recovered,
    retriedAs: "RateLimited",
    rows: recovered,
    writeFile: recovered
  },
  {
    name: "429 without Retry-After",
    fault: status(429),
    status: fails("QuotaExceeded"),
    rows: fails("QuotaExceeded"),
    writeFile: fails("QuotaExceeded")
  },
  {
    name: "401",
    fault: status(401),
    status: fails("Unauthorized"),
    rows: fails("Unauthorized"),
    writeFile: fails("Unauthorized")
  },
  {
    name: "404",
    fault: status(404),
    status: fails("JobNotFound"),
    rows: fails("JobNotFound"),
    writeFile: fails("JobNotFound")
  },
  {
    name: "dropped connection",
    fault: { kind: "drop" },
    status: recovered,
    retriedAs: "TransportError",
    rows: recovered,
    writeFile: recovered
  },
  {
    name: "hang past the request timeout",
    fault: { kind: "delay", millis: pastTheTimeout },
    status: recovered,
    retriedAs: "TransportError",
    rows: recovered,
    writeFile: recovered
  },
  {
    name: "body not JSON",
    fault: { kind: "invalidJson" },
    status: fails("ResponseError"),
    rows: fails("ResponseError"),
    writeFile: fails("ResponseError")
  },
  {
    name: "body breaks the schema",
    fault: { kind: "schemaViolation" },
    status: fails("ResponseError"),
    rows: fails("CsvError"),
    writeFile: fails("CsvError")
  },
  {
    name: "status of another job",
    fault: { kind: "otherJob" },
    status: fails("ResponseError"),
    rows: fails("CsvError"),
    writeFile: fails("CsvError")
  },
  {
    name: "body cut short",
    fault: { kind: "truncate" },
    status: recovered,
    retriedAs: "TransportError",
    rows: fails("TransportError"),
    writeFile: recovered
  },
  {
    name: "body stalls",
    fault: { kind: "stall", millis: pastTheTimeout },
    status: recovered,
    retriedAs: "TransportError",
    rows: fails("TransportError", "Stalled"),
    writeFile: recovered
  }
]

/** `run` retries `JobNotFound` for 10 seconds: the job it just started may not be visible yet. */
const withGrace = (row: FaultRow): Outcome => row.name === "404" ? recovered : row.status

// ---------------------------------------------------------------------------

const withEmulator = async <A>(f: (served: Served) => Promise<A>): Promise<A> => {
  const served = await serve(emulatorOptions)
  try {
    return await f(served)
  } finally {
    await served.dispose()
  }
}

/** The client, its `getStatus` telling `polls` of each request and answer ("no request after a terminal status"). */
const clientFor = (emulator: Emulator.Service, polls = afterTerminal()) =>
  Layer.merge(
    recordingClientLayer({ baseUrl: emulator.baseUrl, apiKey: Emulator.demoApiKey, timeout: requestTimeout }, polls),
    NodeContext.layer
  )

/**
 * Faults after which the emulator's own count of requests after a terminal
 * status is not meaningful: it counts a terminal body as served when it
 * computes it, even when the connection is cut (truncate), or the client gave
 * up waiting (stall, delay).
 */
const undelivered = new Set<Faults.Fault["kind"]>(["truncate", "stall", "delay"])

/** The fault on the first two requests of the route. */
const twice = (fault: Faults.Fault): Faults.FaultPlan => Faults.times(fault, 2)

/**
 * Starts a job before the fault is set. Sixty cases start at once on a busy
 * machine, and a start slower than the short request timeout is noise here
 * (the start is not what a case tests): it is tried again.
 */
const start = (search: string) =>
  Effect.flatMap(QoeryClient.QoeryClient, (c) => c.startJob(search)).pipe(
    Effect.retry({ times: 5, schedule: Schedule.spaced("50 millis"), while: (e) => e._tag === "TransportError" })
  )

/** Runs a stream to its end: what it emitted, and its error if it failed. */
const drain = <A, E, R>(stream: Stream.Stream<A, E, R>) =>
  Effect.map(Stream.runCollect(Stream.either(stream)), (chunk) => {
    const elements = Chunk.toReadonlyArray(chunk)
    return {
      values: elements.filter(Either.isRight).map((e) => e.right),
      error: elements.find(Either.isLeft)?.left
    }
  })

interface Observed {
  /** The statuses emitted, by job id (awaitCompletion: the status it gave). */
  readonly statuses: ReadonlyMap<string, ReadonlyArray<JobStatus.JobStatus>>
  readonly error: unknown
  /** What `onRetry` was told, as `<error>:<attempt>` (watch only). */
  readonly retries?: ReadonlyArray<string>
}

const byJob = (statuses: ReadonlyArray<JobStatus.JobStatus>) => {
  const map = new Map<string, Array<JobStatus.JobStatus>>()
  for (const s of statuses) map.set(s.jobId, [...(map.get(s.jobId) ?? []), s])
  return map
}

type StatusEntry = (emulator: Emulator.Service, fault: Faults.Fault) => Effect.Effect<
  Observed & { readonly jobIds: ReadonlyArray<string> },
  never,
  QoeryClient.QoeryClient
>

const statusEntries: ReadonlyArray<readonly [string, StatusEntry, (row: FaultRow) => Outcome]> = [
  ["watch", (emulator, fault) =>
    Effect.gen(function*() {
      const { jobId } = yield* Effect.orDie(start("fault matrix watch"))
      yield* emulator.setFaults("status", twice(fault))
      const retries: Array<string> = []
      const { error, values } = yield* drain(JobWatcher.watch(jobId, {
        ...fast,
        onRetry: (info) => Effect.sync(() => retries.push(`${info.error._tag}:${info.attempt}`))
      }))
      return { statuses: byJob(values), error, jobIds: [jobId], retries }
    }), (row) => row.status],
  ["awaitCompletion", (emulator, fault) =>
    Effect.gen(function*() {
      const { jobId } = yield* Effect.orDie(start("fault matrix await"))
      yield* emulator.setFaults("status", twice(fault))
      const result = yield* Effect.either(JobWatcher.awaitCompletion(jobId, fast))
      return Either.isRight(result)
        ? { statuses: byJob([result.right]), error: undefined, jobIds: [jobId] }
        : { statuses: new Map(), error: result.left, jobIds: [jobId] }
    }), (row) => row.status],
  ["run", (emulator, fault) =>
    Effect.gen(function*() {
      yield* emulator.setFaults("status", twice(fault))
      let jobId = ""
      const { error, values } = yield* drain(JobWatcher.run("fault matrix run", {
        ...fast,
        onStarted: (started) => Effect.sync(() => jobId = started.jobId)
      }))
      return { statuses: byJob(values), error, jobIds: [jobId] }
    }), withGrace],
  ["watchAll", (emulator, fault) =>
    Effect.gen(function*() {
      const jobIds = yield* Effect.orDie(
        Effect.forEach(["one", "two", "three"], (n) => Effect.map(start(`fault matrix all ${n}`), (s) => s.jobId))
      )
      yield* emulator.setFaults("status", twice(fault))
      const { error, values } = yield* drain(JobWatcher.watchAll(jobIds, fast))
      return { statuses: byJob(values as ReadonlyArray<JobStatus.JobStatus>), error, jobIds }
    }), (row) => row.status]
]

const assertFailure = (error: unknown, outcome: Extract<Outcome, { _tag: "Fails" }>) => {
  assert.isDefined(error, `expected ${outcome.error}, but it recovered`)
  const tag = (error as { _tag: string })._tag
  assert.strictEqual(tag, outcome.error, `expected ${outcome.error}, got ${String(error)}`)
  if (outcome.reason !== undefined) assert.strictEqual((error as QoeryError.TransportError).reason, outcome.reason)
}

describe.concurrent("fault matrix: statuses", () => {
  for (const [entry, program, expected] of statusEntries) {
    for (const row of matrix) {
      const outcome = expected(row)
      it(`${entry} / ${row.name} -> ${outcome._tag === "Recovered" ? "recovered" : outcome.error}`, () =>
        withEmulator(async ({ emulator }) => {
          const polls = afterTerminal()
          const startedAt = Date.now()
          const observed = await Effect.runPromise(
            program(emulator, row.fault).pipe(Effect.provide(clientFor(emulator, polls)))
          )
          const elapsed = Date.now() - startedAt
          const stats = await Effect.runPromise(emulator.stats)
          assert.isAbove(stats.faultsInjected, 0, "the fault was never injected")
          assert.deepStrictEqual(polls.polled, [], "a job was polled after its terminal status")
          if (!undelivered.has(row.fault.kind)) {
            assert.strictEqual(stats.statusRequestsAfterTerminal, 0, "a status was requested after a terminal one")
          }
          if (observed.retries !== undefined) {
            // the two faulted polls, each retried as its error, or none retried when the fault is not transient
            const retried = outcome._tag === "Recovered" ? row.retriedAs : undefined
            assert.deepStrictEqual(observed.retries, retried === undefined ? [] : [`${retried}:1`, `${retried}:2`])
          }
          if (outcome._tag === "Recovered") {
            // (not isUndefined: chai's inspection of an Effect error overflows the stack)
            assert.isTrue(observed.error === undefined, `expected recovery, got ${String(observed.error)}`)
            for (const jobId of observed.jobIds) {
              const statuses = observed.statuses.get(jobId) ?? []
              assertJobStatuses(statuses, jobId, "completed")
            }
            assert.strictEqual(observed.statuses.size, observed.jobIds.length, "statuses of an unknown job")
          } else {
            assertFailure(observed.error, outcome)
            assert.isBelow(elapsed, failWithinMillis, `failed only after ${elapsed} ms`)
            // What was emitted before the failure is still right: that job's, never terminal.
            for (const [jobId, statuses] of observed.statuses) {
              assert.include(observed.jobIds, jobId)
              assert.isTrue(statuses.every((s) => s.status === "processing" && s.jobId === jobId))
            }
          }
        }))
    }
  }
})

// ---------------------------------------------------------------------------
// The CSV of a completed job, with a fault on the csv route

const completedJob = (search: string) =>
  Effect.gen(function*() {
    const { jobId } = yield* start(search)
    return yield* JobWatcher.awaitCompletion(jobId, fast)
  }).pipe(Effect.orDie)

describe.concurrent("fault matrix: the CSV", () => {
  for (const row of matrix) {
    const rowsOutcome = row.rows
    it(`DatasetCsv.rows / ${row.name} -> ${rowsOutcome._tag === "Recovered" ? "recovered" : rowsOutcome.error}`, () =>
      withEmulator(({ emulator }) =>
        Effect.runPromise(
          Effect.gen(function*() {
            const completed = yield* completedJob("fault matrix rows")
            const expected = expectedRows(completed.query, completed.progress.rowsCollected)
            assert.isAbove(expected.length, 0)
            yield* emulator.setFaults("csv", Faults.times(row.fault))
            const startedAt = Date.now()
            const { error, values } = yield* drain(DatasetCsv.rows(completed.jobId, { waitForRows: csvRetry }))
            const elapsed = Date.now() - startedAt
            assert.isAbove((yield* emulator.stats).faultsInjected, 0, "the fault was never injected")
            if (rowsOutcome._tag === "Recovered") {
              assert.isUndefined(error, `expected recovery, got ${String(error)}`)
              assert.deepStrictEqual(values, expected)
            } else {
              assertFailure(error, rowsOutcome)
              assert.isBelow(elapsed, failWithinMillis, `failed only after ${elapsed} ms`)
              // Rows before the failure are the CSV's first rows, never a short or altered row.
              assert.deepStrictEqual(values, expected.slice(0, values.length))
            }
          }).pipe(Effect.provide(clientFor(emulator)))
        )
      ))

    const fileOutcome = row.writeFile
    it(
      `DatasetCsv.writeFile / ${row.name} -> ${fileOutcome._tag === "Recovered" ? "recovered" : fileOutcome.error}`,
      () =>
        withEmulator(({ emulator }) =>
          Effect.runPromise(
            Effect.gen(function*() {
              const completed = yield* completedJob("fault matrix file")
              const dir = stateDir()
              const out = path.join(dir, "data.csv")
              yield* emulator.setFaults("csv", Faults.times(row.fault))
              const startedAt = Date.now()
              const result = yield* Effect.either(DatasetCsv.writeFile(completed.jobId, out, { retry: csvRetry }))
              const elapsed = Date.now() - startedAt
              assert.isAbove((yield* emulator.stats).faultsInjected, 0, "the fault was never injected")
              const expected = yield* Effect.map(
                emulator.expectedCsv(completed.jobId),
                (o) => o._tag === "Some" ? o.value : ""
              )
              if (fileOutcome._tag === "Recovered") {
                assert.isTrue(
                  Either.isRight(result),
                  `expected recovery, got ${String(Either.isLeft(result) && result.left)}`
                )
                assert.strictEqual(fs.readFileSync(out, "utf8"), expected)
              } else {
                assertFailure(Either.isLeft(result) ? result.left : undefined, fileOutcome)
                assert.isBelow(elapsed, failWithinMillis, `failed only after ${elapsed} ms`)
                assert.isFalse(fs.existsSync(out), "a file was written")
              }
              assert.deepStrictEqual(
                fs.readdirSync(dir).filter((f) => f !== "data.csv"),
                [],
                "a temporary file was left"
              )
            }).pipe(Effect.provide(clientFor(emulator)))
          )
        )
    )
  }
})

// ---------------------------------------------------------------------------
// The command: `qoery run` against an emulator with a fault, in this process

interface CliRow {
  readonly route: "status" | "csv"
  readonly name: string
  readonly fault: Faults.Fault
  /** The exit code, and for a failure what stderr says. */
  readonly code: 0 | 3
  readonly says?: RegExp
}

/**
 * The command polls at 250 ms at the least and starts retries at 500 ms, and
 * its request timeout (30 s) is not a flag, so hang and stall are left to the
 * library rows above.
 */
const cliMatrix: ReadonlyArray<CliRow> = [
  { route: "status", name: "503", fault: status(503), code: 0 },
  { route: "status", name: "429 with Retry-After", fault: status(429, 1), code: 0 },
  { route: "status", name: "429 without Retry-After", fault: status(429), code: 3, says: /quota .* is spent/ },
  { route: "status", name: "401", fault: status(401), code: 3, says: /refused the API key/ },
  { route: "status", name: "404", fault: status(404), code: 0 },
  { route: "status", name: "dropped connection", fault: { kind: "drop" }, code: 0 },
  { route: "status", name: "body cut short", fault: { kind: "truncate" }, code: 0 },
  { route: "status", name: "body not JSON", fault: { kind: "invalidJson" }, code: 3, says: /does not understand/ },
  {
    route: "status",
    name: "status of another job",
    fault: { kind: "otherJob" },
    code: 3,
    says: /another job|job .* got/
  },
  { route: "csv", name: "503", fault: status(503), code: 0 },
  { route: "csv", name: "dropped connection", fault: { kind: "drop" }, code: 0 },
  { route: "csv", name: "body cut short", fault: { kind: "truncate" }, code: 0 },
  { route: "csv", name: "401", fault: status(401), code: 3, says: /refused the API key/ }
]

describe("fault matrix: qoery run", () => {
  for (const row of cliMatrix) {
    it(`qoery run / ${row.route} ${row.name} -> exit ${row.code}`, () =>
      withEmulator(async ({ emulator }) => {
        const state = stateDir()
        const out = path.join(state, "out.csv")
        await Effect.runPromise(emulator.setFaults(row.route, twice(row.fault)))
        const startedAt = Date.now()
        const result = await runCli(
          ["run", "fault matrix cli", "--out", out, "--base-url", emulator.baseUrl, "--api-key", Emulator.demoApiKey],
          { QOERY_STATE_DIR: state }
        )
        const elapsed = Date.now() - startedAt
        const stats = await Effect.runPromise(emulator.stats)
        assert.isAbove(stats.faultsInjected, 0, "the fault was never injected")
        assert.strictEqual(result.code, row.code, result.stderr)
        const started = /Started job (\d{8}_\d{6})/.exec(result.stderr)
        assert.isNotNull(started, result.stderr)
        if (row.code === 0) {
          const expected = await Effect.runPromise(emulator.expectedCsv(started![1]!))
          assert.strictEqual(fs.readFileSync(out, "utf8"), expected._tag === "Some" ? expected.value : "")
          if (!undelivered.has(row.fault.kind)) assert.strictEqual(stats.statusRequestsAfterTerminal, 0)
        } else {
          assert.match(result.stderr, row.says!)
          assert.isBelow(elapsed, failWithinMillis + 5_000, `failed only after ${elapsed} ms`)
          assert.isFalse(fs.existsSync(out), "a CSV was written")
        }
        assert.deepStrictEqual(fs.readdirSync(state).filter((f) => f.endsWith(".tmp")), [], "a temporary file was left")
      }))
  }
})
