/**
 * The soak: `QOERY_SOAK_JOBS` jobs (default 1,000), in batches of 100, through
 * `JobWatcher.watchAll`, with 10% of status requests and 5% of CSV requests
 * faulted at random (seeded rate plans, a different transient fault each
 * batch), and the emulator compressing every body the client accepts
 * compressed, as a CDN in front of the service would: even batches run over
 * undici (which asks for no compression), odd ones over fetch (which asks for
 * gzip and decodes it). Every job must reach its terminal status exactly once, every
 * completed job's CSV must parse to exactly the rows the emulator generated,
 * no status request may follow a terminal status, and the heap after the last
 * batch must not have grown beyond noise from the heap after the first.
 */
import { DatasetCsv, JobStatus, JobWatcher, QoeryClient } from "@effect-qoery/client"
import { Dataset, Emulator, Faults } from "@effect-qoery/emulator"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Stream } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { expectedRows } from "../support/expected.js"
import { afterTerminal, recordingClientLayer, serve } from "../support/reliability.js"

const jobs = Number(process.env.QOERY_SOAK_JOBS ?? 1_000)
const batchSize = 100
const batches = Math.max(2, Math.ceil(jobs / batchSize))

const statusFaults: ReadonlyArray<Faults.Fault> = [
  { kind: "status", status: 503 },
  { kind: "drop" },
  { kind: "status", status: 500 },
  { kind: "status", status: 429, retryAfter: 1 },
  { kind: "status", status: 502 },
  { kind: "delay", millis: 100 },
  { kind: "status", status: 504 }
]
const csvFaults: ReadonlyArray<Faults.Fault> = [
  { kind: "truncate" },
  { kind: "status", status: 503 },
  { kind: "drop" },
  { kind: "stall", millis: 50 },
  { kind: "status", status: 502 }
]

const options: JobWatcher.WatchAllOptions = {
  concurrency: batchSize,
  failFast: false,
  interval: 25,
  minInterval: 5,
  retry: { base: 10, cap: 100, maxRetryAfter: 50, budget: 10 },
  timeout: "2 minutes"
}

const heapUsed = () => {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc !== undefined) { for (let i = 0; i < 3; i++) gc() }
  return process.memoryUsage().heapUsed
}

describe("soak", () => {
  it(`${batches * batchSize} jobs through watchAll with 10% of status and 5% of CSV requests faulted`, async () => {
    const served = await serve({ jobDuration: "1 second", pollingInterval: "20 millis", compress: true })
    const { emulator } = served
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "qoery-soak-"))
    const polls = afterTerminal()
    const ClientLive = (n: number) =>
      Layer.merge(
        recordingClientLayer(
          // Generous: on a loaded machine the first requests of a batch take seconds, and no fault here needs
          // the timeout to fire (stalls are 50 ms, delays 100 ms, drops fail at once).
          { baseUrl: emulator.baseUrl, apiKey: Emulator.demoApiKey, timeout: 10_000 },
          polls,
          n % 2 === 0 ? NodeHttpClient.layerUndici : FetchHttpClient.layer
        ),
        NodeContext.layer
      )

    const batch = (n: number) =>
      Effect.gen(function*() {
        yield* emulator.setFaults("status", Faults.rate(0.1, statusFaults[n % statusFaults.length]!, 1000 + n))
        yield* emulator.setFaults("csv", Faults.rate(0.05, csvFaults[n % csvFaults.length]!, 2000 + n))
        const queries = Array.from({ length: batchSize }, (_, i) => {
          const index = n * batchSize + i
          // Few distinct queries: the emulator caches the data of up to 2,000 queries (~30 KB each), which
          // would otherwise grow the heap of this process with every job and hide what the client keeps.
          return index % 20 === 7 ? `soak ${index % 40} fail` : `soak ${index % 40}`
        })
        const started = yield* Effect.forEach(
          queries,
          (query) => Effect.flatMap(QoeryClient.QoeryClient, (c) => c.startJob(query)),
          { concurrency: 20 }
        )
        const queryOf = new Map(started.map((s, i) => [s.jobId as string, queries[i]!]))
        const terminal = new Map<string, JobStatus.JobStatus>()
        const terminalCount = new Map<string, number>()
        const failures: Array<string> = []
        yield* JobWatcher.watchAll([...queryOf.keys()], options).pipe(
          Stream.runForEach((element) =>
            Effect.sync(() => {
              if (JobWatcher.isWatchAllFailure(element)) {
                failures.push(`${element.jobId}: ${element.error.message}`)
              } else if (JobStatus.isTerminal(element)) {
                terminal.set(element.jobId, element)
                terminalCount.set(element.jobId, (terminalCount.get(element.jobId) ?? 0) + 1)
              }
            })
          )
        )
        assert.deepStrictEqual(failures, [], `batch ${n}: jobs failed`)
        for (const [jobId, query] of queryOf) {
          assert.strictEqual(terminalCount.get(jobId), 1, `job ${jobId}: terminal status not exactly once`)
          assert.strictEqual(terminal.get(jobId)!.status, Dataset.willFail(query) ? "error" : "completed", jobId)
        }
        // Each completed job's CSV, written whole through the faults, parses to exactly the emulator's rows.
        yield* Effect.forEach(
          [...terminal.values()].filter((s) => s.status === "completed"),
          (status) =>
            Effect.gen(function*() {
              const file = path.join(dir, `${status.jobId}.csv`)
              yield* DatasetCsv.writeFile(status.jobId, file, {
                retry: { base: 10, cap: 10, budget: 9 }
              })
              const rows = yield* Stream.runCollect(
                Stream.fromIterable([fs.readFileSync(file)]).pipe(DatasetCsv.parse(), DatasetCsv.decodeRows)
              )
              fs.rmSync(file)
              assert.deepStrictEqual(
                [...rows],
                expectedRows(queryOf.get(status.jobId)!, status.progress.rowsCollected),
                `job ${status.jobId}: the CSV is not the emulator's rows`
              )
            }),
          { concurrency: 10, discard: true }
        )
      })

    const run = (n: number) => Effect.runPromise(Effect.provide(batch(n), ClientLive(n)))

    try {
      const startedAt = Date.now()
      await run(0)
      const heapAfterFirst = heapUsed()
      const heaps: Array<number> = []
      for (let n = 1; n < batches; n++) {
        await run(n)
        if (process.env.QOERY_SOAK_TRACE !== undefined) heaps.push(Math.round(heapUsed() / 2 ** 20))
      }
      if (heaps.length > 0) console.log(`heap per batch (MB): ${heaps.join(" ")}`)
      const heapAfterLast = heapUsed()
      const stats = await Effect.runPromise(emulator.stats)
      const growth = heapAfterLast - heapAfterFirst
      console.log(
        `soak: ${batches * batchSize} jobs in ${((Date.now() - startedAt) / 1000).toFixed(1)} s, ` +
          `${stats.faultsInjected} faults injected, ${stats.requests.status} status and ${stats.requests.csv} CSV requests ` +
          `(${stats.compressedResponses} answers compressed), ` +
          `heap ${(heapAfterFirst / 2 ** 20).toFixed(1)} MB after the first batch, ` +
          `${(heapAfterLast / 2 ** 20).toFixed(1)} MB after the last (gc ${typeof (globalThis as { gc?: unknown }).gc})`
      )
      assert.strictEqual(stats.jobsStarted, batches * batchSize)
      assert.isAbove(stats.faultsInjected, batches * batchSize * 0.1, "too few faults to mean anything")
      assert.strictEqual(stats.statusRequestsAfterTerminal, 0, "a status was requested after a terminal one")
      assert.isAbove(stats.compressedResponses, stats.requests.status / 4, "the fetch batches got compressed answers")
      assert.deepStrictEqual(polls.polled, [], "the client polled a job after its terminal status")
      // Within noise: the emulator in this process keeps each job and its last status body (~3 KB), the
      // client nothing once a job has ended; a client keeping ~10 KB per job would cross this bound.
      assert.isBelow(growth, 10 * 2 ** 20, `the heap grew by ${(growth / 2 ** 20).toFixed(1)} MB`)
    } finally {
      await served.dispose()
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})
