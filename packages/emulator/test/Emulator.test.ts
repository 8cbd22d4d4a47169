/**
 * The emulator's jobs on the TestClock (steps, counters, ids, data), and its
 * handler served without `Emulator.layer`.
 */
import { JobId, JobStatus } from "@effect-qoery/client"
import { Dataset, Emulator } from "@effect-qoery/emulator"
import { HttpApp, HttpClient, HttpServer } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { assert, describe, it, layer } from "@effect/vitest"
import { Effect, Layer, Option, TestClock } from "effect"
import { call, json, key, records, startJob } from "../../../test/support/loopback.js"

const duration = 1_000

layer(Emulator.layer({ jobDuration: duration }))("lifecycle (TestClock)", (it) => {
  it.effect("steps in order, counters only grow, urls_total fixed after searching, CSV has rows_collected rows", () =>
    Effect.gen(function*() {
      const { baseUrl, expectedCsv } = yield* Emulator.Emulator
      const id = yield* startJob(baseUrl, "climate change statistics")
      const seen: Array<any> = []
      for (let t = 0; t <= duration + 20; t += 10) {
        const status = json(yield* call(`${baseUrl}/v0/datasets/${id}?api_key=${key}`))
        const csv = yield* call(`${baseUrl}/v0/datasets/${id}/csv?api_key=${key}`)
        if (status.progress.rows_collected === 0) {
          assert.strictEqual(csv.status, 404)
          assert.strictEqual(json(csv).error, "CSV not ready yet")
        } else {
          assert.strictEqual(csv.status, 200)
          assert.strictEqual(records(csv.text).length - 1, status.progress.rows_collected)
        }
        seen.push(status)
        yield* TestClock.adjust(10)
      }
      const steps = JobStatus.steps
      for (let i = 1; i < seen.length; i++) {
        const [a, b] = [seen[i - 1], seen[i]]
        assert.isAtLeast(steps.indexOf(b.progress.current_step), steps.indexOf(a.progress.current_step))
        for (const counter of ["rows_collected", "urls_processed", "urls_total"]) {
          assert.isAtLeast(b.progress[counter], a.progress[counter], counter)
        }
        assert.isAtLeast(Date.parse(b.progress.last_updated), Date.parse(a.progress.last_updated))
        assert.isAtLeast(b.urls.length, a.urls.length)
        assert.deepStrictEqual(b.urls.slice(0, a.urls.length), a.urls)
        if (steps.indexOf(a.progress.current_step) > steps.indexOf("searching")) {
          assert.strictEqual(b.progress.urls_total, a.progress.urls_total)
        }
      }
      assert.deepStrictEqual([...new Set(seen.map((s) => s.progress.current_step))], [...steps])
      const last = seen[seen.length - 1]
      assert.strictEqual(last.status, "completed")
      assert.strictEqual(last.progress.urls_processed, last.progress.urls_total)
      assert.strictEqual(last.progress.rows_collected, Dataset.rows("climate change statistics").length)
      assert.strictEqual(last.completed_at, last.progress.last_updated)
      assert.isTrue(
        seen.slice(0, -1).some((s) => s.status === "processing" && s.progress.current_step === "finalizing")
      )
      const expected = yield* expectedCsv(id)
      const csv = yield* call(`${baseUrl}/v0/datasets/${id}/csv?api_key=${key}`)
      assert.strictEqual(csv.text, Option.getOrThrow(expected))
      const stats = yield* Effect.flatMap(Emulator.Emulator, (e) => e.stats)
      assert.isAbove(stats.statusRequestsAfterTerminal, 0)
    }))

  it.effect("the same query gives the same CSV in two jobs", () =>
    Effect.gen(function*() {
      const { baseUrl } = yield* Emulator.Emulator
      const a = yield* startJob(baseUrl, "determinism")
      const b = yield* startJob(baseUrl, "determinism")
      assert.notStrictEqual(a, b)
      yield* TestClock.adjust(duration)
      const csvA = yield* call(`${baseUrl}/v0/datasets/${a}/csv?api_key=${key}`)
      const csvB = yield* call(`${baseUrl}/v0/datasets/${b}/csv?api_key=${key}`)
      assert.strictEqual(csvA.status, 200)
      assert.strictEqual(csvA.text, csvB.text)
      assert.strictEqual(csvA.text, Dataset.csv("determinism", Dataset.rows("determinism").length))
    }))

  it.effect("a failing query ends in error during scraping; its rows so far stay downloadable", () =>
    Effect.gen(function*() {
      const { baseUrl } = yield* Emulator.Emulator
      const id = yield* startJob(baseUrl, "this will FAIL")
      yield* TestClock.adjust(duration * 2)
      const status = json(yield* call(`${baseUrl}/v0/datasets/${id}?api_key=${key}`))
      assert.strictEqual(status.status, "error")
      assert.strictEqual(status.progress.current_step, "scraping")
      assert.isAbove(status.progress.rows_collected, 0)
      assert.isBelow(status.progress.rows_collected, Dataset.rows("this will FAIL").length)
      const csv = yield* call(`${baseUrl}/v0/datasets/${id}/csv?api_key=${key}`)
      assert.strictEqual(records(csv.text).length - 1, status.progress.rows_collected)
    }))

  it.effect("1000 concurrent starts in the same second get 1000 distinct, valid ids", () =>
    Effect.gen(function*() {
      const { baseUrl } = yield* Emulator.Emulator
      const ids = yield* Effect.forEach(
        Array.from({ length: 1000 }, (_, i) => i),
        (i) => startJob(baseUrl, `concurrent ${i % 7}`),
        { concurrency: 100 }
      )
      assert.strictEqual(new Set(ids).size, 1000)
      for (const id of ids) assert.isTrue(JobId.is(id), id)
      // each id answers with its own status
      const probe = ids[999]!
      assert.strictEqual(json(yield* call(`${baseUrl}/v0/datasets/${probe}?api_key=${key}`)).job_id, probe)
    }))
})

describe("Emulator.make", () => {
  it.live("serves through NodeHttpServer.layerTest", () =>
    Effect.gen(function*() {
      const client = yield* HttpClient.HttpClient
      const response = yield* client.get("/v0/datasets?search=handler&api_key=" + key)
      assert.strictEqual(response.status, 200)
      const body = yield* response.json
      assert.isTrue(JobId.is((body as any).job_id))
    }).pipe(
      Effect.provide(
        Layer.unwrapEffect(Effect.map(Emulator.make({ jobDuration: "1 second" }), (app) => HttpServer.serve(app)))
          .pipe(Layer.provideMerge(NodeHttpServer.layerTest))
      )
    ))

  it.live("holds 10,000 jobs and answers each, as a web handler", () =>
    Effect.gen(function*() {
      const app = yield* Emulator.make({ jobDuration: "10 minutes", quota: 1_000_000 })
      const handler = HttpApp.toWebHandler(app)
      const ids: Array<string> = []
      for (let i = 0; i < 10_000; i++) {
        const response: Response = yield* Effect.promise(() =>
          handler(new Request(`http://emulator/v0/datasets?search=job%20${i}&api_key=${key}`))
        )
        ids.push(((yield* Effect.promise(() => response.json())) as any).job_id)
      }
      assert.strictEqual(new Set(ids).size, 10_000)
      for (const id of [ids[0]!, ids[4_999]!, ids[9_999]!]) {
        const response = yield* Effect.promise(() =>
          handler(new Request(`http://emulator/v0/datasets/${id}?api_key=${key}`))
        )
        assert.strictEqual(((yield* Effect.promise(() => response.json())) as any).job_id, id)
      }
    }), 60_000)
})
