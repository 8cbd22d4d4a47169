/**
 * The client of this project against the emulator, over undici and fetch:
 * every endpoint, and each error status mapped to its QoeryError.
 */
import { JobStatus, QoeryClient, type QoeryError } from "@effect-qoery/client"
import * as LeanFetchHttpClient from "@effect-qoery/client/FetchHttpClient"
import { Emulator, Faults } from "@effect-qoery/emulator"
import { FetchHttpClient, type HttpClient } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { assert, layer } from "@effect/vitest"
import { type Chunk, Duration, Effect, Layer, Option, Stream } from "effect"
import { key, records } from "./support/loopback.js"

const realTime = { jobDuration: Duration.millis(300), pollingInterval: Duration.millis(20), admin: true }

const clients: ReadonlyArray<[string, Layer.Layer<HttpClient.HttpClient>]> = [
  ["undici", NodeHttpClient.layerUndici],
  ["fetch", FetchHttpClient.layer],
  ["lean fetch", LeanFetchHttpClient.layer]
]

const clientLayer = (
  http: Layer.Layer<HttpClient.HttpClient>,
  options: Partial<QoeryClient.Options> = {}
) =>
  Layer.unwrapEffect(
    Effect.map(Emulator.Emulator, (e) =>
      QoeryClient.layer({ apiKey: key, baseUrl: e.baseUrl, timeout: Duration.seconds(5), ...options }).pipe(
        Layer.orDie
      ))
  ).pipe(Layer.provide(http))

const withClient = <A, E, R>(
  http: Layer.Layer<HttpClient.HttpClient>,
  f: (client: QoeryClient.Service) => Effect.Effect<A, E, R>,
  options: Partial<QoeryClient.Options> = {}
) => Effect.flatMap(QoeryClient.QoeryClient, f).pipe(Effect.provide(clientLayer(http, options)))

const failure = <A>(effect: Effect.Effect<A, QoeryError.QoeryError>) => Effect.map(Effect.flip(effect), (e) => e)

const bytesToText = (chunks: Chunk.Chunk<Uint8Array>) => Buffer.concat([...chunks]).toString("utf8")

for (const [name, http] of clients) {
  layer(Emulator.layer(realTime), { excludeTestServices: true })(`client over ${name}`, (it) => {
    it.effect("start, status until completed, CSV bytes, usage, plans, health, apiInfo", () =>
      withClient(http, (client) =>
        Effect.gen(function*() {
          const emulator = yield* Emulator.Emulator
          const started = yield* client.startJob("climate change statistics")
          assert.strictEqual(Duration.toMillis(started.pollingInterval!), 20)
          const viaGet = yield* client.startJob("climate change statistics", { method: "GET" })
          assert.notStrictEqual(viaGet.jobId, started.jobId)
          let status = yield* client.getStatus(started.jobId)
          for (let i = 0; i < 500 && !JobStatus.isTerminal(status); i++) {
            yield* Effect.sleep("20 millis")
            status = yield* client.getStatus(started.jobId)
          }
          assert.strictEqual(status.status, "completed")
          const csv = bytesToText(yield* Stream.runCollect(client.downloadCsv(started.jobId)))
          assert.strictEqual(csv, Option.getOrThrow(yield* emulator.expectedCsv(started.jobId)))
          assert.strictEqual(records(csv).length - 1, status.progress.rowsCollected)
          const usage = yield* client.usage
          assert.isAbove(usage.totalUsage, 2)
          const plans = yield* client.plans
          assert.property(plans.plans, plans.defaultPlan)
          assert.strictEqual((yield* client.health).status, "ok")
          assert.property((yield* client.apiInfo).endpoints, "POST /v0/datasets")
        })))

    it.effect("error statuses map to their QoeryError", () =>
      Effect.gen(function*() {
        const { setFaults } = yield* Emulator.Emulator
        const unauthorized = yield* withClient(http, (c) => failure(c.usage), { apiKey: "wrong-key" })
        assert.strictEqual(unauthorized._tag, "Unauthorized")
        const notFound = yield* withClient(http, (c) => failure(c.getStatus("20200101_000000")))
        assert.strictEqual(notFound._tag, "JobNotFound")
        const csvNotFound = yield* withClient(http, (c) => failure(Stream.runDrain(c.downloadCsv("20200101_000000"))))
        assert.strictEqual(csvNotFound._tag, "JobNotFound")

        const id = yield* withClient(http, (c) => Effect.map(c.startJob("faults"), (s) => s.jobId))

        yield* setFaults("status", Faults.times({ kind: "status", status: 429, retryAfter: 3 }))
        const limited = yield* withClient(http, (c) => failure(c.getStatus(id)))
        assert.strictEqual(limited._tag, "RateLimited")
        if (limited._tag === "RateLimited") assert.strictEqual(Duration.toSeconds(limited.retryAfter), 3)

        yield* setFaults("status", Faults.times({ kind: "status", status: 503 }))
        const server = yield* withClient(http, (c) => failure(c.getStatus(id)))
        assert.strictEqual(server._tag, "ServerError")

        yield* setFaults("status", Faults.times({ kind: "drop" }))
        const dropped = yield* withClient(http, (c) => failure(c.getStatus(id)))
        assert.strictEqual(dropped._tag, "TransportError")

        for (const kind of ["invalidJson", "schemaViolation", "otherJob"] as const) {
          yield* setFaults("status", Faults.times({ kind }))
          const broken = yield* withClient(http, (c) => failure(c.getStatus(id)))
          assert.strictEqual(broken._tag, "ResponseError", kind)
        }

        yield* setFaults("status", Faults.times({ kind: "delay", millis: 1_000 }))
        const slow = yield* withClient(http, (c) => failure(c.getStatus(id)), { timeout: Duration.millis(150) })
        assert.strictEqual(slow._tag, "TransportError")
        if (slow._tag === "TransportError") assert.strictEqual(slow.reason, "Timeout")

        yield* setFaults("csv", Faults.times({ kind: "truncate" }))
        yield* Effect.sleep("400 millis")
        const truncated = yield* withClient(http, (c) => failure(Stream.runDrain(c.downloadCsv(id))))
        assert.strictEqual(truncated._tag, "TransportError")
      }))
  })
}

layer(Emulator.layer({ jobDuration: "1 hour", quota: 2 }), { excludeTestServices: true })("client, slow jobs", (it) => {
  it.effect("CsvNotReady before the first rows; QuotaExceeded with the reset date once the quota is spent", () =>
    withClient(NodeHttpClient.layerUndici, (client) =>
      Effect.gen(function*() {
        const { jobId } = yield* client.startJob("slow job")
        const notReady = yield* failure(Stream.runDrain(client.downloadCsv(jobId)))
        assert.strictEqual(notReady._tag, "CsvNotReady")
        yield* client.startJob("slow job")
        const over = yield* failure(client.startJob("slow job"))
        assert.strictEqual(over._tag, "QuotaExceeded")
        if (over._tag === "QuotaExceeded") {
          const reset = over.resetDate!
          const now = new Date()
          assert.strictEqual(reset.epochMillis, Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1))
        }
      })))
})
