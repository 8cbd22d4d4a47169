/**
 * What keeps a long-running emulator bounded: the search length, the time an
 * ended job is kept, and a port that is taken.
 */
import { QoeryClient } from "@effect-qoery/client"
import { Emulator } from "@effect-qoery/emulator"
import { assert, describe, it, layer } from "@effect/vitest"
import { Effect, Exit, Layer, Option, TestClock } from "effect"
import * as net from "node:net"
import { call, json, key } from "../../../test/support/loopback.js"

/** An answer with its JSON body read, when it is JSON. */
const get = (url: string, init: RequestInit = {}) =>
  Effect.map(call(url, init), (answer) => ({
    ...answer,
    body: answer.text.startsWith("{") ? json(answer) : undefined
  }))

const start = (baseUrl: string, search: string) =>
  get(`${baseUrl}/v0/datasets`, {
    method: "POST",
    headers: { "x-api-key": key, "content-type": "application/json" },
    body: JSON.stringify({ search })
  })

describe("search length", () => {
  layer(Emulator.layer({ jobDuration: 1_000 }))("the cap", (it) => {
    it.effect("is the client's: 2,000 characters start a job, 2,001 get 400 with the spec's error body", () =>
      Effect.gen(function*() {
        const { baseUrl, stats } = yield* Emulator.Emulator
        assert.strictEqual(QoeryClient.maxSearchLength, 2_000)
        const longest = yield* start(baseUrl, "é".repeat(QoeryClient.maxSearchLength))
        assert.strictEqual(longest.status, 200)
        const status = yield* get(`${baseUrl}/v0/datasets/${longest.body.job_id}?api_key=${key}`)
        assert.strictEqual(status.body.query, "é".repeat(QoeryClient.maxSearchLength))
        const tooLong = yield* start(baseUrl, "x".repeat(QoeryClient.maxSearchLength + 1))
        assert.strictEqual(tooLong.status, 400)
        assert.deepStrictEqual(tooLong.body, {
          error: "Search parameter is too long",
          status: 400,
          details: "The search query must be at most 2000 characters; this one has 2001"
        })
        const viaGet = yield* get(`${baseUrl}/v0/datasets?search=${"y".repeat(5_000)}&api_key=${key}`)
        assert.strictEqual(viaGet.status, 400)
        assert.strictEqual(viaGet.body.error, "Search parameter is too long")
        assert.strictEqual((yield* stats).jobsStarted, 1, "no job for a search too long")
      }))
  })
})

describe("jobTtl", () => {
  layer(Emulator.layer({ jobDuration: 1_000, jobTtl: "1 minute" }))("a job ended longer ago than the TTL", (it) => {
    it.effect("answers 404 Job not found on status and CSV, and is no longer held", () =>
      Effect.gen(function*() {
        const { baseUrl, expectedCsv } = yield* Emulator.Emulator
        const done = yield* start(baseUrl, "kept for a minute")
        const failed = yield* start(baseUrl, "this one will fail")
        const status = (id: string) => get(`${baseUrl}/v0/datasets/${id}?api_key=${key}`)
        const csv = (id: string) => get(`${baseUrl}/v0/datasets/${id}/csv?api_key=${key}`)
        yield* TestClock.adjust(1_000)
        assert.strictEqual((yield* status(done.body.job_id)).body.status, "completed")
        // the failing job ended at half the duration: its minute is up first
        yield* TestClock.adjust(60_000 - 500 - 1)
        assert.strictEqual((yield* status(failed.body.job_id)).body.status, "error")
        yield* TestClock.adjust(1)
        const gone = yield* status(failed.body.job_id)
        assert.strictEqual(gone.status, 404)
        assert.strictEqual(gone.body.error, "Job not found")
        assert.strictEqual((yield* csv(done.body.job_id)).status, 200)
        assert.isTrue(Option.isSome(yield* expectedCsv(done.body.job_id)))
        yield* TestClock.adjust(499)
        assert.strictEqual((yield* status(done.body.job_id)).status, 200)
        yield* TestClock.adjust(1)
        assert.strictEqual((yield* status(done.body.job_id)).status, 404)
        assert.strictEqual((yield* csv(done.body.job_id)).body.error, "Job not found")
        assert.isTrue(Option.isNone(yield* expectedCsv(done.body.job_id)))
        // new jobs still get ids that were never given
        const next = yield* start(baseUrl, "after eviction")
        assert.notInclude([done.body.job_id, failed.body.job_id], next.body.job_id)
      }))
  })

  layer(Emulator.layer({ jobDuration: 100, jobTtl: "1 second" }))("a long run", (it) => {
    it.effect("each start drops the jobs past their TTL, so only the recent ones are held", () =>
      Effect.gen(function*() {
        const { baseUrl, stats } = yield* Emulator.Emulator
        for (let i = 0; i < 100; i++) {
          assert.strictEqual((yield* start(baseUrl, `job ${i}`)).status, 200)
          yield* TestClock.adjust(100)
        }
        const seen = yield* stats
        assert.strictEqual(seen.jobsStarted, 100)
        // started within the last duration + TTL (1.1 s, one start every 100 ms), and no more
        assert.strictEqual(seen.jobsHeld, 11)
      }))
  })
})

describe("a port that is taken", () => {
  it.live("fails Emulator.layer with PortInUse naming the port", () =>
    Effect.gen(function*() {
      const blocker = net.createServer()
      const port = yield* Effect.async<number>((resume) => {
        blocker.listen(0, "127.0.0.1", () => resume(Effect.succeed((blocker.address() as net.AddressInfo).port)))
      })
      const exit = yield* Layer.build(Emulator.layer({ port })).pipe(Effect.scoped, Effect.exit)
      blocker.close()
      assert.isTrue(Exit.isFailure(exit))
      if (Exit.isFailure(exit)) {
        const error = exit.cause._tag === "Fail" ? exit.cause.error : undefined
        assert.instanceOf(error, Emulator.PortInUse)
        assert.strictEqual(error?.message, `port ${port} is in use on 127.0.0.1`)
      }
    }))
})
