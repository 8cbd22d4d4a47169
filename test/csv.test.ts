/**
 * DatasetCsv against the emulator over loopback HTTP: the emulator's CSV
 * (titles with commas, quotes, line breaks, non-ASCII) as typed rows, the
 * partial CSV of a running job, CsvNotReady before the first rows, and
 * writeFile whole or not at all when the download is cut short.
 */
import { DatasetCsv, JobWatcher, QoeryClient } from "@effect-qoery/client"
import { Dataset, Emulator, Faults } from "@effect-qoery/emulator"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { assert, layer } from "@effect/vitest"
import { Chunk, Duration, Effect, Either, Layer, Schedule, Stream } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { expectedRows } from "./support/expected.js"

const serve = (options: Emulator.Options) => {
  const client = Layer.unwrapEffect(Effect.map(Emulator.Emulator, (emulator) =>
    QoeryClient.layer({
      apiKey: Emulator.demoApiKey,
      baseUrl: emulator.baseUrl,
      timeout: Duration.millis(500)
    }))).pipe(Layer.provide(NodeHttpClient.layerUndici))
  return Layer.provideMerge(client, Emulator.layer({ pollingInterval: "20 millis", ...options })).pipe(
    Layer.merge(NodeContext.layer)
  )
}

const start = (search: string) => Effect.flatMap(QoeryClient.QoeryClient, (client) => client.startJob(search))

const completed = (search: string) =>
  Effect.flatMap(start(search), ({ jobId }) => JobWatcher.awaitCompletion(jobId, { interval: "20 millis" }))

const collect = <A, E, R>(stream: Stream.Stream<A, E, R>) =>
  Effect.map(Stream.runCollect(stream), (c) => Chunk.toReadonlyArray(c))

const tempDir = () => fs.mkdtempSync(path.join(os.tmpdir(), "qoery-csv-test-"))

const retry = { times: 3, schedule: Schedule.spaced("20 millis") }

layer(serve({ jobDuration: "300 millis" }), { excludeTestServices: true })("DatasetCsv, completed jobs", (it) => {
  it.effect("gives the emulator's rows, typed, titles with commas, quotes, line breaks and non-ASCII", () =>
    Effect.gen(function*() {
      const query = "renewable energy, \"solar\" capacity"
      const status = yield* completed(query)
      const rows = yield* collect(DatasetCsv.rows(status.jobId))
      const expected = expectedRows(query, status.progress.rowsCollected)
      assert.isAbove(expected.length, 10)
      assert.deepStrictEqual(rows, expected)
      // The data covers the hard cases of CSV quoting.
      const titles = rows.map((r) => r.title)
      assert.isTrue(titles.some((t) => t.includes(",")), "a title with a comma")
      assert.isTrue(titles.some((t) => t.includes("\"")), "a title with a quote")
      assert.isTrue(titles.some((t) => t.includes("\n")), "a title with a line break")
      assert.isTrue(titles.some((t) => [...t].some((c) => c.charCodeAt(0) > 127)), "a non-ASCII title")
      assert.isTrue(rows.some((r) => typeof r.value === "number"), "a numeric value")
    }))

  it.effect("writeFile writes the exact bytes the server sent and counts the rows", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.Emulator
      const status = yield* completed("water use per capita")
      const dir = tempDir()
      const out = path.join(dir, "data.csv")
      const written = yield* DatasetCsv.writeFile(status.jobId, out)
      const expected = yield* emulator.expectedCsv(status.jobId)
      assert.strictEqual(expected._tag, "Some")
      const text = fs.readFileSync(out, "utf8")
      assert.strictEqual(text, expected._tag === "Some" ? expected.value : "")
      assert.deepStrictEqual(written, { bytes: Buffer.byteLength(text), rows: status.progress.rowsCollected })
      assert.deepStrictEqual(fs.readdirSync(dir), ["data.csv"])
    }))

  it.effect("writeFile retries a download cut short mid row and leaves no short file", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.Emulator
      const status = yield* completed("forest cover by country")
      const dir = tempDir()
      const out = path.join(dir, "data.csv")
      yield* emulator.setFaults("csv", Faults.times({ kind: "truncate" }, 2))
      const written = yield* DatasetCsv.writeFile(status.jobId, out, { retry })
      const expected = yield* emulator.expectedCsv(status.jobId)
      assert.strictEqual(fs.readFileSync(out, "utf8"), expected._tag === "Some" ? expected.value : "")
      assert.strictEqual(written.rows, status.progress.rowsCollected)
      assert.deepStrictEqual(fs.readdirSync(dir), ["data.csv"], "no temporary file is left")
      assert.isAtLeast((yield* emulator.stats).faultsInjected, 2)
    }).pipe(Effect.ensuring(Effect.flatMap(Emulator.Emulator, (e) => e.clearFaults))))

  it.effect("writeFile gives up on a download always cut short: no file, no temporary file", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.Emulator
      const status = yield* completed("urban air quality")
      const dir = tempDir()
      const out = path.join(dir, "data.csv")
      yield* emulator.setFaults("csv", Faults.times({ kind: "truncate" }, 10))
      const error = yield* Effect.flip(DatasetCsv.writeFile(status.jobId, out, { retry: { ...retry, times: 2 } }))
      assert.strictEqual(error._tag, "TransportError")
      assert.strictEqual((error as { reason?: string }).reason, "Truncated")
      assert.deepStrictEqual(fs.readdirSync(dir), [])
    }).pipe(Effect.ensuring(Effect.flatMap(Emulator.Emulator, (e) => e.clearFaults))))

  it.effect("writeFile keeps an existing file when the new download fails", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.Emulator
      const status = yield* completed("crop yields")
      const dir = tempDir()
      const out = path.join(dir, "data.csv")
      fs.writeFileSync(out, "previous\n")
      yield* emulator.setFaults("csv", Faults.times({ kind: "truncate" }, 10))
      const result = yield* Effect.either(DatasetCsv.writeFile(status.jobId, out, { retry: { ...retry, times: 1 } }))
      assert.isTrue(Either.isLeft(result))
      assert.strictEqual(fs.readFileSync(out, "utf8"), "previous\n")
      assert.deepStrictEqual(fs.readdirSync(dir), ["data.csv"])
    }).pipe(Effect.ensuring(Effect.flatMap(Emulator.Emulator, (e) => e.clearFaults))))

  it.effect("writeFile refuses a CSV without the spec's columns, writing nothing", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.Emulator
      const status = yield* completed("literacy rates")
      const dir = tempDir()
      const out = path.join(dir, "data.csv")
      yield* emulator.setFaults("csv", Faults.times({ kind: "schemaViolation" }))
      const error = yield* Effect.flip(DatasetCsv.writeFile(status.jobId, out, { retry }))
      assert.instanceOf(error, DatasetCsv.CsvError)
      assert.match(error.message, /^CSV line 1, column "url": the header has no "url" column/)
      assert.deepStrictEqual(fs.readdirSync(dir), [])
    }).pipe(Effect.ensuring(Effect.flatMap(Emulator.Emulator, (e) => e.clearFaults))))

  it.effect("rows fails with a TransportError, not a short last row, when the body is cut mid row", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.Emulator
      const status = yield* completed("ocean temperature")
      yield* emulator.setFaults("csv", Faults.times({ kind: "truncate" }))
      const seen: Array<DatasetCsv.CsvRow> = []
      const error = yield* DatasetCsv.rows(status.jobId).pipe(
        Stream.runForEach((row) => Effect.sync(() => seen.push(row))),
        Effect.flip
      )
      assert.strictEqual(error._tag, "TransportError")
      // What came before the error is a prefix of the CSV, never a cut row.
      assert.deepStrictEqual(seen, expectedRows(status.query, seen.length))
    }).pipe(Effect.ensuring(Effect.flatMap(Emulator.Emulator, (e) => e.clearFaults))))
})

layer(serve({ jobDuration: "3 seconds" }), { excludeTestServices: true })("DatasetCsv, running jobs", (it) => {
  it.effect("CsvNotReady before the first rows, unless waitForRows", () =>
    Effect.gen(function*() {
      const { jobId } = yield* start("glacier mass balance")
      const error = yield* Effect.flip(Stream.runDrain(DatasetCsv.rows(jobId)))
      assert.strictEqual(error._tag, "CsvNotReady")
      const rows = yield* collect(
        DatasetCsv.rows(jobId, { waitForRows: { times: 200, schedule: Schedule.spaced("25 millis") } })
      )
      assert.isAbove(rows.length, 0)
      assert.deepStrictEqual(rows, expectedRows("glacier mass balance", rows.length))
    }))

  it.effect("gives the partial CSV while the job runs: a prefix of the final rows", () =>
    Effect.gen(function*() {
      const query = "electric vehicle sales"
      const { jobId } = yield* start(query)
      const client = yield* QoeryClient.QoeryClient
      // Wait until the job has rows but is still running.
      let running = yield* client.getStatus(jobId)
      while (running.status === "processing" && running.progress.rowsCollected === 0) {
        yield* Effect.sleep("20 millis")
        running = yield* client.getStatus(jobId)
      }
      assert.strictEqual(running.status, "processing")
      const partial = yield* collect(DatasetCsv.rows(jobId))
      const total = Dataset.rows(query).length
      assert.isAtLeast(partial.length, running.progress.rowsCollected)
      assert.isBelow(partial.length, total)
      assert.deepStrictEqual(partial, expectedRows(query, partial.length))
    }))
})
