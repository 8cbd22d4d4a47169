/**
 * The dataset workflow on the in-memory engine, against the emulator on
 * loopback: a job started once, its CSV stored whole, typed failures.
 */
import { QoeryClient } from "@effect-qoery/client"
import { Emulator } from "@effect-qoery/emulator"
import { CsvStore, DatasetEngine, DatasetError, DatasetWorkflow } from "@effect-qoery/workflow"
import { NodeContext, NodeHttpClient } from "@effect/platform-node"
import { assert, describe, it, layer } from "@effect/vitest"
import { Effect, Exit, Layer, Option } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

const key = "workflow-test-key"

const clientLayer = Layer.unwrapEffect(
  Effect.map(
    Emulator.Emulator,
    (emulator) => Layer.effect(QoeryClient.QoeryClient, QoeryClient.make({ baseUrl: emulator.baseUrl, apiKey: key }))
  )
).pipe(Layer.provide(NodeHttpClient.layerUndici))

const emulatorLayer = Emulator.layer({
  port: 0,
  apiKeys: [key],
  jobDuration: "300 millis",
  pollingInterval: "50 millis"
})

/** A workflow layer on a fresh folder and a fresh in-memory engine, with the events it told. */
const workflowOn = (dir: string, events: Array<DatasetWorkflow.Event>, engine = DatasetEngine.layerMemory) =>
  DatasetWorkflow.layer({ onEvent: (event) => Effect.sync(() => events.push(event)) }).pipe(
    Layer.provideMerge(engine),
    Layer.provide(CsvStore.layerDirectory(dir)),
    Layer.provideMerge(clientLayer),
    Layer.provide(NodeContext.layer)
  )

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "qoery-workflow-"))

layer(emulatorLayer, { timeout: 60_000, excludeTestServices: true })("DatasetWorkflow on the memory engine", (it) => {
  it.effect("runs a search to a stored CSV equal to the emulator's, starting its job once", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.Emulator
      const dir = tmp()
      const events: Array<DatasetWorkflow.Event> = []
      const before = (yield* emulator.stats).jobsStarted
      const [first, second] = yield* Effect.gen(function*() {
        const first = yield* DatasetWorkflow.DatasetWorkflow.execute({ search: "renewable energy share" })
        // The same key again is the same workflow: its stored result, no second job.
        const second = yield* DatasetWorkflow.DatasetWorkflow.execute({ search: "renewable energy share" })
        return [first, second] as const
      }).pipe(Effect.provide(workflowOn(dir, events)))
      assert.strictEqual((yield* emulator.stats).jobsStarted - before, 1)
      assert.strictEqual(second.status.jobId, first.status.jobId)
      assert.strictEqual(first.search, "renewable energy share")
      assert.strictEqual(first.status.status, "completed")
      assert.strictEqual(path.dirname(first.csv.location), path.resolve(dir))
      assert.strictEqual(path.basename(first.csv.location), `renewable-energy-share-${first.status.jobId}.csv`)
      const expected = Option.getOrThrow(yield* emulator.expectedCsv(first.status.jobId))
      assert.strictEqual(fs.readFileSync(first.csv.location, "utf8"), expected)
      assert.strictEqual(first.csv.bytes, Buffer.byteLength(expected))
      assert.deepStrictEqual(fs.readdirSync(dir), [path.basename(first.csv.location)])
      assert.deepStrictEqual(events.map((e) => e._tag), ["Started", "Stored"])
    }))

  it.effect("a key other than the search makes a second workflow for the same search", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.Emulator
      const before = (yield* emulator.stats).jobsStarted
      const [a, b] = yield* Effect.all([
        DatasetWorkflow.DatasetWorkflow.execute({ search: "ocean temperature", key: "monday" }),
        DatasetWorkflow.DatasetWorkflow.execute({ search: "ocean temperature", key: "tuesday" })
      ], { concurrency: 2 }).pipe(Effect.provide(workflowOn(tmp(), [])))
      assert.notStrictEqual(a.status.jobId, b.status.jobId)
      assert.strictEqual((yield* emulator.stats).jobsStarted - before, 2)
    }))

  it.effect("a job that ends in error ends the workflow with JobFailed and stores nothing", () =>
    Effect.gen(function*() {
      const dir = tmp()
      const events: Array<DatasetWorkflow.Event> = []
      const exit = yield* DatasetWorkflow.DatasetWorkflow.execute({ search: "this search will fail" }).pipe(
        Effect.provide(workflowOn(dir, events)),
        Effect.exit
      )
      assert(Exit.isFailure(exit) && exit.cause._tag === "Fail")
      const error = exit.cause.error
      assert(error._tag === "JobFailed")
      assert.strictEqual(error.search, "this search will fail")
      assert.match(error.status.error, /Failed to scrape/)
      assert.deepStrictEqual(fs.readdirSync(dir), [])
      assert.deepStrictEqual(events.map((e) => e._tag), ["Started", "Failed"])
    }))

  it.effect("a refused key is Unauthorized, a spent quota QuotaExceeded with its reset date: typed, not retried", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.Emulator
      const quotaEmulator = yield* Layer.build(Emulator.layer({ port: 0, apiKeys: [key], quota: 0 })).pipe(
        Effect.map((context) => Emulator.Emulator.pipe(Effect.provide(context)))
      ).pipe(Effect.flatten)
      const run = (baseUrl: string, apiKey: string) =>
        DatasetWorkflow.DatasetWorkflow.execute({ search: "city population" }).pipe(
          Effect.provide(
            DatasetWorkflow.layer().pipe(
              Layer.provideMerge(DatasetEngine.layerMemory),
              Layer.provide(CsvStore.layerDirectory(tmp())),
              Layer.provide(Layer.effect(QoeryClient.QoeryClient, QoeryClient.make({ baseUrl, apiKey }))),
              Layer.provide([NodeHttpClient.layerUndici, NodeContext.layer])
            )
          ),
          Effect.flip
        )
      const before = (yield* emulator.stats).requests.start
      const unauthorized = yield* run(emulator.baseUrl, "not-the-key")
      assert(unauthorized._tag === "Unauthorized")
      assert.strictEqual((yield* emulator.stats).requests.start - before, 1)
      const quota = yield* run(quotaEmulator.baseUrl, key)
      assert(quota._tag === "QuotaExceeded")
      assert(quota.resetDate !== undefined)
      assert.isTrue(DatasetError.isApiError(quota))
      assert.match(quota.message, /resets on \d{4}-\d\d-\d\d/)
    }).pipe(Effect.scoped))

  it.effect("transient failures of the start and of the polls are retried, and the job still starts once", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.Emulator
      const before = (yield* emulator.stats).jobsStarted
      yield* emulator.setFaults("start", {
        _tag: "Script",
        faults: [{ kind: "status", status: 503, retryAfter: 0 }, { kind: "status", status: 429, retryAfter: 0 }]
      })
      yield* emulator.setFaults("status", {
        _tag: "Script",
        faults: [{ kind: "status", status: 502 }, { kind: "drop" }, null, { kind: "status", status: 503 }]
      })
      const dataset = yield* DatasetWorkflow.DatasetWorkflow.execute({ search: "wheat harvest by country" }).pipe(
        Effect.provide(workflowOn(tmp(), [])),
        Effect.ensuring(emulator.clearFaults)
      )
      assert.strictEqual((yield* emulator.stats).jobsStarted - before, 1)
      const expected = Option.getOrThrow(yield* emulator.expectedCsv(dataset.status.jobId))
      assert.strictEqual(fs.readFileSync(dataset.csv.location, "utf8"), expected)
    }))
})

describe("CsvStore.fileName", () => {
  it("is a slug of the search then the job id", () => {
    assert.strictEqual(
      CsvStore.fileName({ search: "Énergie / CO₂ — 2024!", jobId: "20251110_151628" }),
      "energie-co2-2024-20251110_151628.csv"
    )
    assert.strictEqual(CsvStore.fileName({ search: "   ", jobId: "20251110_151628" }), "dataset-20251110_151628.csv")
    assert.isAtMost(CsvStore.fileName({ search: "x".repeat(500), jobId: "20251110_151628" }).length, 80)
  })
})
