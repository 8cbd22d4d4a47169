/**
 * The cost of the durable path: N short jobs through `DatasetWorkflow` on the
 * SQLite engine against the same N through the plain client (`startJob`,
 * `JobWatcher.awaitCompletion`, `DatasetCsv.writeFile`), side by side on one
 * emulator in this process. Prints wall time, CPU time, their ratios, and the
 * rows the engine wrote per job at two polling rates (they must be equal:
 * the watcher polls inside an activity, with no durable sleep per poll).
 *
 *   node --conditions=source --import tsx packages/workflow/bench/overhead.ts [jobs]
 */
import { DatasetCsv, JobWatcher, QoeryClient } from "@effect-qoery/client"
import { Emulator } from "@effect-qoery/emulator"
import { CsvStore, DatasetEngine, DatasetWorkflow } from "@effect-qoery/workflow"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as SqlClient from "@effect/sql/SqlClient"
import { type Duration, Effect, Layer } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

const jobs = Number(process.argv[2] ?? 1000)
const concurrency = 32
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "qoery-overhead-"))

const measure = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const cpu = process.cpuUsage()
    const start = performance.now()
    const value = yield* effect
    const used = process.cpuUsage(cpu)
    return { value, wall: (performance.now() - start) / 1000, cpu: (used.user + used.system) / 1e6 }
  })

const rowCount = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const tables = yield* sql<{ name: string }>`SELECT name FROM sqlite_master WHERE type = 'table'`
  let total = 0
  const perTable: Record<string, number> = {}
  for (const { name } of tables) {
    const [row] = yield* sql<{ n: number }>`SELECT count(*) AS n FROM ${sql(name)}`
    perTable[name] = row!.n
    total += row!.n
  }
  return { total, perTable }
})

const program = Effect.gen(function*() {
  const emulator = yield* Emulator.Emulator
  const client = Layer.effect(
    QoeryClient.QoeryClient,
    QoeryClient.make({ baseUrl: emulator.baseUrl, apiKey: Emulator.demoApiKey, timeout: "2 minutes" })
  ).pipe(Layer.provide(NodeHttpClient.layerUndici), Layer.orDie)
  const searches = (tag: string) => Array.from({ length: jobs }, (_, i) => `${tag} overhead ${i}`)
  const watch: JobWatcher.WatchOptions = { pollingInterval: "100 millis", minInterval: "1 milli" }

  fs.mkdirSync(path.join(dir, "plain"), { recursive: true })
  const plain = yield* measure(
    Effect.forEach(searches("plain"), (search) =>
      Effect.gen(function*() {
        const started = yield* Effect.flatMap(QoeryClient.QoeryClient, (c) => c.startJob(search))
        yield* JobWatcher.awaitCompletion(started.jobId, watch)
        yield* DatasetCsv.writeFile(
          started.jobId,
          path.join(dir, "plain", CsvStore.fileName({ search, jobId: started.jobId }))
        )
      }), { concurrency, discard: true }).pipe(
        Effect.provide(client),
        Effect.provide(NodeContext.layer)
      )
  )

  const durable = (tag: string, pollingInterval: Duration.DurationInput) =>
    measure(
      Effect.gen(function*() {
        yield* Effect.forEach(searches(tag), (search) => DatasetWorkflow.DatasetWorkflow.execute({ search }), {
          concurrency,
          discard: true
        })
        return yield* rowCount
      }).pipe(
        Effect.provide(
          DatasetWorkflow.layer({ concurrency, watch: { ...watch, pollingInterval } }).pipe(
            Layer.provideMerge(DatasetEngine.layerSqlite({ filename: path.join(dir, `${tag}.db`) })),
            Layer.provide(CsvStore.layerDirectory(path.join(dir, tag))),
            Layer.provide(client),
            Layer.provide(NodeContext.layer)
          )
        )
      )
    )

  const before = (yield* emulator.stats).requests.status
  const slow = yield* durable("durable", "100 millis")
  const pollsSlow = (yield* emulator.stats).requests.status - before
  const fast = yield* durable("durablefast", "20 millis")
  const pollsFast = (yield* emulator.stats).requests.status - before - pollsSlow

  const line = (name: string, r: { wall: number; cpu: number }) =>
    `${name.padEnd(34)} wall ${r.wall.toFixed(1).padStart(6)} s   cpu ${r.cpu.toFixed(1).padStart(6)} s`
  console.log(`${jobs} jobs, ${concurrency} at once, emulator jobs of 1 s, one process (emulator included)`)
  console.log(line("plain start+awaitCompletion+write", plain))
  console.log(line("DatasetWorkflow on SQLite", slow))
  console.log(
    `ratio durable/plain: wall ${(slow.wall / plain.wall).toFixed(2)}x, cpu ${(slow.cpu / plain.cpu).toFixed(2)}x`
  )
  console.log(
    `engine rows per job: ${(slow.value.total / jobs).toFixed(2)} at ${(pollsSlow / jobs).toFixed(1)} polls per job, ${
      (fast.value.total / jobs).toFixed(2)
    } at ${(pollsFast / jobs).toFixed(1)} polls per job`
  )
  console.log(`rows by table: ${JSON.stringify(slow.value.perTable)}`)
})

NodeRuntime.runMain(
  program.pipe(Effect.provide(Emulator.layer({ port: 0, jobDuration: "1 second", pollingInterval: "100 millis" })))
)
