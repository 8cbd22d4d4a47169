/**
 * The durable SQLite engine in one process, against the emulator: a result
 * that outlives the process's engine, and storage that does not grow with
 * the number of polls.
 */
import { JobWatcher, QoeryClient } from "@effect-qoery/client"
import { Emulator } from "@effect-qoery/emulator"
import { CsvStore, DatasetEngine, DatasetWorkflow } from "@effect-qoery/workflow"
import { NodeContext, NodeHttpClient } from "@effect/platform-node"
import { SqlClient } from "@effect/sql"
import { assert, layer } from "@effect/vitest"
import { Duration, Effect, Layer, Option } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { tempDir } from "../../../test/support/tmp.js"

const key = "workflow-engine-key"

const tmp = () => tempDir("engine")

const sqliteWorkflow = (filename: string, out: string, baseUrl: string, watch?: JobWatcher.WatchOptions) =>
  DatasetWorkflow.layer({ watch }).pipe(
    Layer.provideMerge(DatasetEngine.layerSqlite({ filename })),
    Layer.provide(CsvStore.layerDirectory(out)),
    Layer.provide(Layer.effect(QoeryClient.QoeryClient, QoeryClient.make({ baseUrl, apiKey: key }))),
    Layer.provide([NodeHttpClient.layerUndici, NodeContext.layer])
  )

/** The rows of every table of the engine. */
const rowCounts = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const tables = yield* sql<{ name: string }>`SELECT name FROM sqlite_master WHERE type = 'table'`
  const counts: Record<string, number> = {}
  for (const { name } of tables) {
    const [row] = yield* sql<{ n: number }>`SELECT count(*) AS n FROM ${sql(name)}`
    counts[name] = row.n
  }
  return counts
})

const total = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0)

layer(Emulator.layer({ port: 0, apiKeys: [key], jobDuration: "300 millis", pollingInterval: "50 millis" }), {
  timeout: 60_000,
  excludeTestServices: true
})("DatasetEngine.layerSqlite", (it) => {
  it.effect("a finished workflow is found again by a new engine on the same file: no second start", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.Emulator
      const dir = tmp()
      const filename = path.join(dir, "batch.db")
      const before = (yield* emulator.stats).jobsStarted
      const search = "electricity prices in europe"
      const first = yield* DatasetWorkflow.DatasetWorkflow.execute({ search }).pipe(
        Effect.provide(sqliteWorkflow(filename, path.join(dir, "out"), emulator.baseUrl))
      )
      const again = yield* Effect.gen(function*() {
        const executionId = yield* DatasetWorkflow.executionId({ search })
        const polled = yield* DatasetWorkflow.DatasetWorkflow.poll(executionId)
        const executed = yield* DatasetWorkflow.DatasetWorkflow.execute({ search })
        return { polled, executed }
      }).pipe(Effect.provide(sqliteWorkflow(filename, path.join(dir, "out"), emulator.baseUrl)))
      assert.strictEqual((yield* emulator.stats).jobsStarted - before, 1)
      assert(again.polled !== undefined && again.polled._tag === "Complete")
      assert.strictEqual(again.executed.status.jobId, first.status.jobId)
      const expected = Option.getOrThrow(yield* emulator.expectedCsv(first.status.jobId))
      assert.strictEqual(fs.readFileSync(first.csv.location, "utf8"), expected)
    }))

  it.effect("the rows written per job do not depend on how many times the job was polled", () =>
    Effect.gen(function*() {
      const dir = tmp()
      // The same job length, polled a few times and dozens of times.
      const rowsFor = (pollingInterval: Duration.DurationInput, name: string) =>
        Effect.gen(function*() {
          const slow = yield* Layer.build(
            Emulator.layer({ port: 0, apiKeys: [key], jobDuration: "1500 millis" })
          ).pipe(Effect.flatMap((context) => Effect.provide(Emulator.Emulator, context)))
          const before = (yield* slow.stats).requests.status
          const counts = yield* Effect.gen(function*() {
            yield* DatasetWorkflow.DatasetWorkflow.execute({ search: "global wheat production" })
            return yield* rowCounts
          }).pipe(Effect.provide(sqliteWorkflow(path.join(dir, `${name}.db`), path.join(dir, name), slow.baseUrl, {
            pollingInterval,
            minInterval: "1 milli"
          })))
          return { polls: (yield* slow.stats).requests.status - before, counts }
        }).pipe(Effect.scoped)
      const few = yield* rowsFor("1 second", "few")
      const many = yield* rowsFor("10 millis", "many")
      assert.isAbove(many.polls, few.polls * 3)
      assert.deepStrictEqual(many.counts, few.counts)
      assert.isAbove(total(few.counts), 0)
    }))
})
