/**
 * A durable batch in an Effect program: each search is a `DatasetWorkflow`
 * on a SQLite file, so a process that dies picks up where it was when it
 * starts again, without starting any search twice.
 *
 *   npx tsx --conditions=source examples/durable-batch.ts
 *
 * Runs against an emulator on a free local port, or against the real service
 * when QOERY_API_KEY is set. The second pass plays the restarted process: a
 * new engine on the same file gives the stored results, and no job starts.
 */
import { QoeryClient } from "@effect-qoery/client"
import { Emulator } from "@effect-qoery/emulator"
import { CsvStore, DatasetEngine, DatasetWorkflow } from "@effect-qoery/workflow"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Console, Effect, Layer } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

const searches = ["coffee prices", "global population", "wind capacity", "this one will fail"]

const folder = fs.mkdtempSync(path.join(os.tmpdir(), "durable-batch-"))
const database = path.join(folder, "batch.db")

/** The workflows on the SQLite engine, the CSVs in a folder, the client from the environment. */
const Durable = (client: Layer.Layer<QoeryClient.QoeryClient>) =>
  DatasetWorkflow.layer({ concurrency: 4 }).pipe(
    Layer.provideMerge(DatasetEngine.layerSqlite({ filename: database })),
    Layer.provide(CsvStore.layerDirectory(path.join(folder, "csv"))),
    Layer.provide(client),
    Layer.provide(NodeContext.layer)
  )

/** Every search to its end; a failed job is a value here, not the end of the batch. */
const batch = Effect.forEach(
  searches,
  (search) => Effect.either(DatasetWorkflow.DatasetWorkflow.execute({ search })),
  { concurrency: "unbounded" }
)

const program = (client: Layer.Layer<QoeryClient.QoeryClient>, started: Effect.Effect<number>) =>
  Effect.gen(function*() {
    const before = yield* started
    const results = yield* Effect.provide(batch, Durable(client))
    console.table(results.map((result, i) => ({
      search: searches[i],
      outcome: result._tag === "Right" ? "completed" : result.left._tag,
      job: result._tag === "Right" ? result.right.status.jobId : "",
      rows: result._tag === "Right" ? result.right.csv.rows : "",
      csv: result._tag === "Right" ? path.basename(result.right.csv.location) : result.left.message.slice(0, 50)
    })))
    const firstPass = (yield* started) - before

    // The process "restarts": a new engine on the same file.
    const again = yield* Effect.provide(batch, Durable(client))
    const secondPass = (yield* started) - before - firstPass
    yield* Console.log(`first pass started ${firstPass} jobs; the restarted one started ${secondPass}`)
    if (secondPass !== 0 || again.length !== searches.length) {
      return yield* Effect.dieMessage("a restarted batch started a job again")
    }
    yield* Console.log(`database and CSVs in ${folder}`)
  })

const configured = process.env.QOERY_API_KEY !== undefined && process.env.QOERY_API_KEY !== ""

const main = configured
  ? program(QoeryClient.layerConfig.pipe(Layer.provide(NodeHttpClient.layerUndici), Layer.orDie), Effect.succeed(0))
  : Effect.gen(function*() {
    const emulator = yield* Emulator.Emulator
    const client = Layer.effect(
      QoeryClient.QoeryClient,
      QoeryClient.make({ baseUrl: emulator.baseUrl, apiKey: Emulator.demoApiKey })
    ).pipe(Layer.provide(NodeHttpClient.layerUndici), Layer.orDie)
    yield* program(client, Effect.map(emulator.stats, (s) => s.jobsStarted))
  }).pipe(Effect.provide(Emulator.layer({ port: 0, jobDuration: "2 seconds", pollingInterval: "250 millis" })))

NodeRuntime.runMain(main)
