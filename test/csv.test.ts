/**
 * DatasetCsv against the emulator over loopback HTTP: the emulator's CSV
 * (titles with commas, quotes, line breaks, non-ASCII) as typed rows, the
 * partial CSV of a running job, CsvNotReady before the first rows, and
 * writeFile whole or not at all when the download is cut short.
 */
import { DatasetCsv, JobWatcher, QoeryClient } from "@effect-qoery/client"
import * as LeanFetchHttpClient from "@effect-qoery/client/FetchHttpClient"
import * as UndiciHttpClient from "@effect-qoery/client/UndiciHttpClient"
import { Dataset, Emulator, Faults } from "@effect-qoery/emulator"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { assert, layer } from "@effect/vitest"
import { Chunk, Deferred, Duration, Effect, Either, Fiber, Layer, Stream } from "effect"
import * as childProcess from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import * as zlib from "node:zlib"
import { expectedRows } from "./support/expected.js"
import { clientLayer, recordingServer } from "./support/reliability.js"
import { tempDir } from "./support/tmp.js"

const serve = (
  options: Emulator.Options,
  httpClient: Layer.Layer<HttpClient.HttpClient> = NodeHttpClient.layerUndici
) => {
  const client = Layer.unwrapEffect(Effect.map(Emulator.Emulator, (emulator) =>
    QoeryClient.layer({
      apiKey: Emulator.demoApiKey,
      baseUrl: emulator.baseUrl,
      timeout: Duration.millis(500)
    }))).pipe(Layer.provide(httpClient))
  return Layer.provideMerge(client, Emulator.layer({ pollingInterval: "20 millis", ...options })).pipe(
    Layer.merge(NodeContext.layer)
  )
}

const start = (search: string) => Effect.flatMap(QoeryClient.QoeryClient, (client) => client.startJob(search))

const completed = (search: string) =>
  Effect.flatMap(start(search), ({ jobId }) => JobWatcher.awaitCompletion(jobId, { interval: "20 millis" }))

const collect = <A, E, R>(stream: Stream.Stream<A, E, R>) =>
  Effect.map(Stream.runCollect(stream), (c) => Chunk.toReadonlyArray(c))

/** Four tries, 20 ms apart (16 to 24 with the jitter). */
const retry: JobWatcher.RetryOptions = { base: 20, cap: 20, budget: 4 }

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
      assert.deepStrictEqual(written, {
        bytes: Buffer.byteLength(text),
        rows: status.progress.rowsCollected,
        columns: ["url", "title", "value", "dimension", "timestamp"]
      })
      assert.deepStrictEqual(fs.readdirSync(dir), ["data.csv"])
    }))

  it.effect("bytes gives the bytes the server sent, once their header is checked", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.Emulator
      const status = yield* completed("water use per capita")
      const chunks = yield* collect(DatasetCsv.bytes(status.jobId))
      const expected = yield* emulator.expectedCsv(status.jobId)
      assert.strictEqual(Buffer.concat(chunks).toString("utf8"), expected._tag === "Some" ? expected.value : "")
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
      const error = yield* Effect.flip(DatasetCsv.writeFile(status.jobId, out, { retry: { ...retry, budget: 3 } }))
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
      const result = yield* Effect.either(DatasetCsv.writeFile(status.jobId, out, { retry: { ...retry, budget: 2 } }))
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

layer(serve({ jobDuration: "300 millis" }), { excludeTestServices: true })("DatasetCsv retries", (it) => {
  const withFaults = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
    effect.pipe(Effect.ensuring(Effect.flatMap(Emulator.Emulator, (e) => e.clearFaults)))

  it.effect("a 503 with Retry-After on the CSV is waited for, capped by maxRetryAfter, and onRetry hears of it", () =>
    withFaults(Effect.gen(function*() {
      const emulator = yield* Emulator.Emulator
      const status = yield* completed("tidal range")
      yield* emulator.setFaults("csv", Faults.times({ kind: "status", status: 503, retryAfter: 86_400 }, 2))
      const out = path.join(tempDir(), "data.csv")
      const retries: Array<JobWatcher.RetryInfo> = []
      const written = yield* DatasetCsv.writeFile(status.jobId, out, {
        retry: { base: 10, cap: 10, maxRetryAfter: "80 millis" },
        onRetry: (info) => Effect.sync(() => retries.push(info))
      })
      assert.strictEqual(written.rows, status.progress.rowsCollected)
      assert.deepStrictEqual(retries.map((r) => [r.operation, r.attempt, Duration.toMillis(r.delay)]), [
        ["csv", 1, 80],
        ["csv", 2, 80]
      ])
      assert.strictEqual(retries[0]!.error._tag, "ServerError")
      assert.strictEqual(retries[0]!.jobId, status.jobId)
    })))

  it.effect("by default a Retry-After of a day on the CSV is cut to 60 seconds, for writeFile and rows({ waitForRows })", () =>
    withFaults(Effect.gen(function*() {
      const emulator = yield* Emulator.Emulator
      const status = yield* completed("river discharge")
      const dir = tempDir()
      const programs: ReadonlyArray<
        (
          onRetry: (info: JobWatcher.RetryInfo) => Effect.Effect<void>
        ) => Effect.Effect<unknown, unknown, QoeryClient.QoeryClient | NodeContext.NodeContext>
      > = [
        (onRetry: (info: JobWatcher.RetryInfo) => Effect.Effect<void>) =>
          DatasetCsv.writeFile(status.jobId, path.join(dir, "data.csv"), { onRetry }),
        (onRetry: (info: JobWatcher.RetryInfo) => Effect.Effect<void>) =>
          Stream.runDrain(DatasetCsv.rows(status.jobId, { waitForRows: true, onRetry }))
      ]
      for (const [i, program] of programs.entries()) {
        yield* emulator.setFaults("csv", Faults.times({ kind: "status", status: 429, retryAfter: 86_400 }))
        const heard = yield* Deferred.make<JobWatcher.RetryInfo>()
        const fiber = yield* Effect.fork(program((info) => Deferred.succeed(heard, info)))
        const info = yield* Deferred.await(heard)
        yield* Fiber.interrupt(fiber)
        assert.strictEqual(info.error._tag, "RateLimited", `program ${i}`)
        assert.strictEqual(Duration.toMillis(info.delay), 60_000, `program ${i}`)
      }
      assert.deepStrictEqual(fs.readdirSync(dir), [], "an interrupted write leaves nothing")
    })))

  it.effect("writeFile names its temporary file after its process, and removes those of a process killed mid write", () =>
    withFaults(Effect.gen(function*() {
      const emulator = yield* Emulator.Emulator
      const status = yield* completed("snow depth")
      const dir = tempDir()
      const out = path.join(dir, "data.csv")
      // A process that has ended (as after kill -9), and one that still runs (the test runner's parent).
      const dead = childProcess.spawnSync(process.execPath, ["-e", ""]).pid
      const left = [
        `.data.csv.${dead}.k3x9.part`,
        `.data.csv.${process.ppid}.k3x9.part`,
        `.other.csv.${dead}.k3x9.part`
      ]
      for (const name of left) fs.writeFileSync(path.join(dir, name), "url,title\n")

      // While a download stalls, its temporary file is there, named after this process.
      yield* emulator.setFaults("csv", Faults.times({ kind: "stall", millis: 5_000 }))
      const fiber = yield* Effect.fork(DatasetCsv.writeFile(status.jobId, out, { retry }))
      const own = new RegExp(`^\\.data\\.csv\\.${process.pid}\\.[0-9a-z]+\\.part$`)
      while (!fs.readdirSync(dir).some((name) => own.test(name))) yield* Effect.sleep("10 millis")
      yield* Fiber.interrupt(fiber)
      const kept = [`.data.csv.${process.ppid}.k3x9.part`, `.other.csv.${dead}.k3x9.part`].sort()
      assert.deepStrictEqual(
        fs.readdirSync(dir).sort(),
        kept,
        "the dead process's file of data.csv is gone, a live one's and another file's stay, and the write removed its own"
      )

      yield* emulator.clearFaults
      yield* DatasetCsv.writeFile(status.jobId, out)
      assert.deepStrictEqual(fs.readdirSync(dir).sort(), [...kept, "data.csv"].sort())
    })))
})

layer(serve({ jobDuration: "300 millis" }), { excludeTestServices: true })("DatasetCsv, a huge field", (it) => {
  it.effect("a 40 MB quoted field is a CsvError naming its line, for rows and writeFile, not a RangeError or 40 MB held", () =>
    Effect.gen(function*() {
      const emulator = yield* Emulator.Emulator
      const status = yield* completed("ice cores")
      yield* emulator.setFaults("csv", {
        _tag: "Rate",
        rate: 1,
        seed: 1,
        fault: { kind: "hugeBody", bytes: 40_000_000 }
      })
      const rows = yield* Effect.flip(Stream.runDrain(DatasetCsv.rows(status.jobId)))
      assert.strictEqual(rows._tag, "CsvError")
      assert.strictEqual((rows as DatasetCsv.CsvError).line, 2)
      assert.include(rows.message, "maxFieldSize")
      assert.isBelow(rows.message.length, 300)
      const dir = tempDir()
      const written = yield* Effect.flip(DatasetCsv.writeFile(status.jobId, path.join(dir, "data.csv"), { retry }))
      assert.strictEqual(written._tag, "CsvError")
      assert.deepStrictEqual(fs.readdirSync(dir), [], "nothing written")
    }).pipe(Effect.ensuring(Effect.flatMap(Emulator.Emulator, (e) => e.clearFaults))))
})

layer(serve({ jobDuration: "3 seconds" }), { excludeTestServices: true })("DatasetCsv, running jobs", (it) => {
  it.effect("CsvNotReady before the first rows, unless waitForRows", () =>
    Effect.gen(function*() {
      const { jobId } = yield* start("glacier mass balance")
      const error = yield* Effect.flip(Stream.runDrain(DatasetCsv.rows(jobId)))
      assert.strictEqual(error._tag, "CsvNotReady")
      // A running job with no rows yet is a 404 "CSV not ready yet" (the spec, and the emulator), never an empty
      // 200: so an empty body is refused everywhere (see "a body with no header line" below), partial or not.
      assert.strictEqual((yield* Effect.flip(Stream.runDrain(DatasetCsv.bytes(jobId))))._tag, "CsvNotReady")
      const rows = yield* collect(
        DatasetCsv.rows(jobId, { waitForRows: { base: 25, cap: 25, budget: 201 } })
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

/** A loopback server whose CSV route answers 200 with `body`, and a client on it (one try, no retry). */
const csvServer = (body: Uint8Array | string, headers: Record<string, string> = { "content-type": "text/csv" }) =>
  Layer.unwrapScoped(Effect.map(
    Effect.acquireRelease(
      Effect.promise(() =>
        recordingServer((_req, res) => {
          const bytes = typeof body === "string" ? Buffer.from(body) : body
          res.writeHead(200, { ...headers, "content-length": String(bytes.length) }).end(bytes)
        })
      ),
      (server) => Effect.promise(() => server.close())
    ),
    (server) => clientLayer({ apiKey: Emulator.demoApiKey, baseUrl: server.baseUrl, timeout: Duration.millis(500) })
  )).pipe(Layer.merge(NodeContext.layer))

const jobId = "20251110_151628"

const html = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1>" +
  "</center>\r\n</body>\r\n</html>\r\n"

/** rows, writeFile and bytes all refuse `body` with a CsvError matching `message`; writeFile leaves no file. */
const refusedEverywhere = (message: RegExp) =>
  Effect.gen(function*() {
    const rows = yield* Effect.flip(collect(DatasetCsv.rows(jobId)))
    assert.instanceOf(rows, DatasetCsv.CsvError)
    assert.match(rows.message, message)
    const dir = tempDir()
    const written = yield* Effect.flip(DatasetCsv.writeFile(jobId, path.join(dir, "data.csv"), { retry }))
    assert.instanceOf(written, DatasetCsv.CsvError)
    assert.match(written.message, message)
    assert.deepStrictEqual(fs.readdirSync(dir), [], "no file, no temporary file")
    const given: Array<Uint8Array> = []
    const bytes = yield* Effect.flip(
      Stream.runForEach(DatasetCsv.bytes(jobId), (chunk) => Effect.sync(() => given.push(chunk)))
    )
    assert.instanceOf(bytes, DatasetCsv.CsvError)
    assert.match(bytes.message, message)
    assert.deepStrictEqual(given, [], "not one byte given out")
  })

const noHeaderLine = /^CSV line 1: the CSV has no header line/

// The spec's CSV always starts with its header line (a job with no rows yet is a 404, not an empty 200).
for (const [name, body] of [["empty (Content-Length: 0)", ""], ["blank lines alone", "\r\n\r\n"]] as const) {
  layer(csvServer(body), { excludeTestServices: true })(`DatasetCsv, a 200 CSV body ${name}`, (it) => {
    it.effect("is a CsvError (no header line) for rows, writeFile (no file) and bytes, not a CSV of 0 rows", () =>
      refusedEverywhere(noHeaderLine))
  })
}

layer(csvServer(html, { "content-type": "text/html" }), { excludeTestServices: true })(
  "DatasetCsv, a proxy's 200 text/html error page on the CSV route",
  (it) => {
    it.effect("is a CsvError naming the missing column, for rows, writeFile and bytes, before any byte", () =>
      refusedEverywhere(/^CSV line 1, column "url": the header has no "url" column \(it has "<html>"\)/))
  }
)

layer(csvServer(zlib.gzipSync(Dataset.csv("crop yields", 40))), { excludeTestServices: true })(
  "DatasetCsv, a gzip body the transport did not decode",
  (it) => {
    it.effect("is a CsvError for rows, writeFile and bytes, before any byte", () => refusedEverywhere(/^CSV line \d+/))
  }
)

/**
 * The lean undici transport with an `Accept-Encoding: gzip` it never sends itself: the emulator compresses only
 * when asked, so this stands for a server that compresses unasked (S3 serving an object stored gzipped).
 */
const undiciSentGzip = Layer.effect(
  HttpClient.HttpClient,
  Effect.map(HttpClient.HttpClient, HttpClient.mapRequest(HttpClientRequest.setHeader("accept-encoding", "gzip")))
).pipe(Layer.provide(UndiciHttpClient.layer))

// A CDN or proxy in front of the service compresses when asked: fetch asks (and decodes), platform undici does not.
const compressed: ReadonlyArray<readonly [string, Layer.Layer<HttpClient.HttpClient>, Emulator.Options["compress"]]> = [
  ["fetch", FetchHttpClient.layer, true],
  ["fetch", FetchHttpClient.layer, "chunked"],
  ["lean fetch", LeanFetchHttpClient.layer, true],
  ["undici", NodeHttpClient.layerUndici, true],
  ["UndiciHttpClient sent gzip", undiciSentGzip, true],
  ["UndiciHttpClient sent gzip", undiciSentGzip, "chunked"]
]
for (const [name, httpClient, compress] of compressed) {
  layer(serve({ jobDuration: "300 millis", compress }, httpClient), { excludeTestServices: true })(
    `DatasetCsv over ${name}, the emulator compressing (${compress === true ? "with a length" : compress})`,
    (it) => {
      it.effect("the status decodes, compressed or not", () =>
        Effect.gen(function*() {
          const emulator = yield* Emulator.Emulator
          const { jobId } = yield* start("global sea level rise")
          const before = (yield* emulator.stats).compressedResponses
          const status = yield* Effect.flatMap(QoeryClient.QoeryClient, (client) => client.getStatus(jobId))
          assert.strictEqual(status.jobId, jobId)
          if (name.startsWith("UndiciHttpClient")) {
            assert.isAbove((yield* emulator.stats).compressedResponses, before, "the status came gzipped")
          }
        }))

      it.effect("rows gives every row, then ends without error", () =>
        Effect.gen(function*() {
          const query = "renewable energy, \"solar\" capacity"
          const status = yield* completed(query)
          const rows = yield* collect(DatasetCsv.rows(status.jobId))
          assert.deepStrictEqual(rows, expectedRows(query, status.progress.rowsCollected))
        }))

      it.effect("writeFile writes the decoded CSV at the first try", () =>
        Effect.gen(function*() {
          const emulator = yield* Emulator.Emulator
          const status = yield* completed("water use per capita")
          const out = path.join(tempDir(), "data.csv")
          const retries: Array<string> = []
          yield* DatasetCsv.writeFile(status.jobId, out, {
            retry,
            onRetry: (info) => Effect.sync(() => retries.push(info.error.message))
          })
          const expected = yield* emulator.expectedCsv(status.jobId)
          assert.strictEqual(fs.readFileSync(out, "utf8"), expected._tag === "Some" ? expected.value : "")
          assert.deepStrictEqual(retries, [])
        }))
    }
  )
}
