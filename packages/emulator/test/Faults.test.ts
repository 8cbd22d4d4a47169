/**
 * Fault plans, and each fault kind over loopback: set through the admin
 * endpoint, the service or the options, then normal answers again.
 */
import { JobId } from "@effect-qoery/client"
import { Emulator, Faults } from "@effect-qoery/emulator"
import { assert, describe, it, layer } from "@effect/vitest"
import { Duration, Effect, Either, Schema } from "effect"
import * as net from "node:net"
import { attempt, call, json, key, startJob } from "../../../test/support/loopback.js"

const decodePlan = Schema.decodeUnknownEither(Faults.FaultPlan)

describe("Faults", () => {
  it("decodes plans from JSON, as the admin endpoint does", () => {
    const decode = (u: unknown) => Either.isRight(decodePlan(u))
    assert.isTrue(decode({ _tag: "Script", faults: [{ kind: "status", status: 503, retryAfter: 1 }, null] }))
    assert.isTrue(decode({ _tag: "Rate", rate: 0.1, fault: { kind: "drop" }, seed: 3 }))
    assert.isFalse(decode({ _tag: "Rate", rate: 2, fault: { kind: "drop" } }))
    assert.isFalse(decode({ _tag: "Script", faults: [{ kind: "explode" }] }))
  })

  it("a seeded rate plan repeats", () => {
    const pattern = () => {
      const injector = Faults.makeInjector({ status: Faults.rate(0.3, { kind: "drop" }, 42) })
      return Array.from({ length: 200 }, () => injector.next("status") === undefined ? 0 : 1)
    }
    const first = pattern()
    assert.deepStrictEqual(pattern(), first)
    const hits = first.reduce<number>((n, x) => n + x, 0)
    assert.isTrue(hits > 30 && hits < 90, `about 30% of 200, got ${hits}`)
  })
})

const realTime = { jobDuration: Duration.millis(300), pollingInterval: Duration.millis(20), admin: true }

layer(Emulator.layer(realTime), { excludeTestServices: true })("faults", (it) => {
  const setPlan = (baseUrl: string, route: Faults.Route, plan: Faults.FaultPlan | null) =>
    Effect.map(
      call(`${baseUrl}/__admin/faults`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ route, plan })
      }),
      (answer) => assert.strictEqual(answer.status, 200, answer.text)
    )

  const completedJob = Effect.gen(function*() {
    const { baseUrl } = yield* Emulator.Emulator
    const id = yield* startJob(baseUrl, "fault target")
    for (let i = 0; i < 500; i++) {
      const status = json(yield* call(`${baseUrl}/v0/datasets/${id}?api_key=${key}`))
      if (status.status === "completed") return id
      yield* Effect.sleep("20 millis")
    }
    return assert.fail("the job did not complete")
  })

  it.effect("each fault kind, set through the admin endpoint, then normal answers again", () =>
    Effect.gen(function*() {
      const { baseUrl, stats } = yield* Emulator.Emulator
      const id = yield* completedJob
      const statusUrl = `${baseUrl}/v0/datasets/${id}?api_key=${key}`
      const csvUrl = `${baseUrl}/v0/datasets/${id}/csv?api_key=${key}`
      const before = (yield* stats).faultsInjected

      yield* setPlan(baseUrl, "status", {
        _tag: "Script",
        faults: [{ kind: "status", status: 503, retryAfter: 2 }, null, { kind: "status", status: 500, body: "oops" }]
      })
      const unavailable = yield* call(statusUrl)
      assert.strictEqual(unavailable.status, 503)
      assert.strictEqual(unavailable.headers.get("retry-after"), "2")
      assert.strictEqual(json(unavailable).status, 503)
      assert.strictEqual((yield* call(statusUrl)).status, 200)
      const custom = yield* call(statusUrl)
      assert.strictEqual(custom.status, 500)
      assert.strictEqual(json(custom), "oops")
      assert.strictEqual((yield* call(statusUrl)).status, 200)

      yield* setPlan(baseUrl, "status", Faults.times({ kind: "drop" }))
      assert.isTrue(Either.isLeft(yield* attempt(statusUrl)))

      yield* setPlan(baseUrl, "status", Faults.times({ kind: "invalidJson" }))
      const invalid = yield* call(statusUrl)
      assert.strictEqual(invalid.status, 200)
      assert.match(invalid.headers.get("content-type") ?? "", /json/)
      assert.throws(() => JSON.parse(invalid.text))

      yield* setPlan(baseUrl, "status", Faults.times({ kind: "schemaViolation" }))
      const violation = json(yield* call(statusUrl))
      assert.notStrictEqual(typeof violation.job_id, "string")

      yield* setPlan(baseUrl, "status", Faults.times({ kind: "otherJob" }))
      const other = json(yield* call(statusUrl))
      assert.isTrue(JobId.is(other.job_id))
      assert.notStrictEqual(other.job_id, id)

      yield* setPlan(baseUrl, "status", Faults.times({ kind: "delay", millis: 150 }))
      const t0 = Date.now()
      assert.strictEqual((yield* call(statusUrl)).status, 200)
      assert.isAtLeast(Date.now() - t0, 140)

      const full = yield* call(csvUrl)
      yield* setPlan(baseUrl, "csv", Faults.times({ kind: "truncate" }))
      const truncated = yield* attempt(csvUrl)
      assert.isTrue(Either.isLeft(truncated), "a body cut short of its Content-Length fails the read")

      yield* setPlan(baseUrl, "csv", Faults.times({ kind: "stall", millis: 150 }))
      const t1 = Date.now()
      const stalled = yield* call(csvUrl)
      assert.isAtLeast(Date.now() - t1, 140)
      assert.strictEqual(stalled.text, full.text)

      yield* setPlan(baseUrl, "csv", Faults.times({ kind: "schemaViolation" }))
      assert.isFalse((yield* call(csvUrl)).text.startsWith("url,title"))

      yield* setPlan(baseUrl, "csv", Faults.times({ kind: "truncate" }, 5))
      const cleared = yield* call(`${baseUrl}/__admin/faults`, { method: "DELETE" })
      assert.strictEqual(cleared.status, 200)
      assert.strictEqual((yield* call(csvUrl)).text, full.text)

      const after = yield* stats
      assert.strictEqual(after.faultsInjected - before, 10)
      const rejected = yield* call(`${baseUrl}/__admin/faults`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ route: "status", plan: { _tag: "Script", faults: [{ kind: "explode" }] } })
      })
      assert.strictEqual(rejected.status, 400)
    }))

  it.effect("setFaults on the service works like the admin endpoint", () =>
    Effect.gen(function*() {
      const { baseUrl, setFaults } = yield* Emulator.Emulator
      yield* setFaults("health", Faults.times({ kind: "status", status: 502 }, 2))
      assert.strictEqual((yield* call(`${baseUrl}/health`)).status, 502)
      assert.strictEqual((yield* call(`${baseUrl}/health`)).status, 502)
      assert.strictEqual((yield* call(`${baseUrl}/health`)).status, 200)
      yield* setFaults("plans", Faults.rate(1, { kind: "status", status: 500 }))
      assert.strictEqual((yield* call(`${baseUrl}/v0/plans`)).status, 500)
      yield* setFaults("plans", undefined)
      assert.strictEqual((yield* call(`${baseUrl}/v0/plans`)).status, 200)
    }))

  it.effect("a terminal status cut off by a fault does not count as seen by the client", () =>
    Effect.gen(function*() {
      const { baseUrl, setFaults, stats } = yield* Emulator.Emulator
      const id = yield* startJob(baseUrl, "cut off at the end")
      yield* Effect.sleep(Duration.millis(realTime.jobDuration.pipe(Duration.toMillis) + 100))
      const url = `${baseUrl}/v0/datasets/${id}`
      const headers = { "x-api-key": key }
      const before = (yield* stats).statusRequestsAfterTerminal
      yield* setFaults("status", Faults.times({ kind: "truncate" }, 1))
      assert.isTrue(Either.isLeft(yield* attempt(url, { headers })), "the truncated answer fails on the client")
      assert.strictEqual(json(yield* call(url, { headers })).status, "completed")
      assert.strictEqual((yield* stats).statusRequestsAfterTerminal, before, "the first delivered terminal status")
      yield* call(url, { headers })
      assert.strictEqual((yield* stats).statusRequestsAfterTerminal, before + 1, "a poll after the client saw it")
    }))

  it.effect("hostile requests get spec errors and the server keeps serving", () =>
    Effect.gen(function*() {
      const { baseUrl } = yield* Emulator.Emulator
      const post = (body: BodyInit, contentType = "application/json") =>
        attempt(`${baseUrl}/v0/datasets`, {
          method: "POST",
          headers: { "x-api-key": key, "content-type": contentType },
          body
        })
      const huge = yield* post(JSON.stringify({ search: "x".repeat(10 * 1024 * 1024) }))
      assert.strictEqual(Either.getOrThrow(huge).status, 413)
      assert.strictEqual(json(Either.getOrThrow(huge)).status, 413)
      // a large body without Content-Length (chunked)
      const chunked = yield* attempt(`${baseUrl}/v0/datasets`, {
        method: "POST",
        headers: { "x-api-key": key, "content-type": "application/json" },
        body: new ReadableStream({
          start(controller) {
            for (let i = 0; i < 3; i++) controller.enqueue(new TextEncoder().encode("x".repeat(1024 * 1024)))
            controller.close()
          }
        }),
        duplex: "half"
      } as RequestInit)
      assert.strictEqual(Either.getOrThrow(chunked).status, 413)
      const invalid = yield* post("{\"search\": \"unterminated")
      assert.strictEqual(Either.getOrThrow(invalid).status, 400)
      const wrongType = yield* post("search=climate", "text/plain")
      assert.strictEqual(Either.getOrThrow(wrongType).status, 400)
      const traversal = yield* call(`${baseUrl}/v0/datasets/..%2F..%2Fetc/csv?api_key=${key}`)
      assert.strictEqual(traversal.status, 404)
      assert.strictEqual(json(traversal).error, "Job not found")
      const dots = yield* call(`${baseUrl}/v0/datasets/../../etc/passwd`)
      assert.strictEqual(dots.status, 404)
      assert.isString(json(dots).error)
      const unknown = yield* call(`${baseUrl}/nothing/here`)
      assert.strictEqual(unknown.status, 404)
      assert.strictEqual(json(unknown).status, 404)
      const method = yield* call(`${baseUrl}/v0/datasets/20251110_151628`, { method: "DELETE" })
      assert.strictEqual(method.status, 405)
      assert.strictEqual(json(method).status, 405)
      assert.strictEqual((yield* call(`${baseUrl}/v0/datasets`, { method: "PUT" })).status, 405)
      // garbage on the socket
      const url = new URL(baseUrl)
      yield* Effect.promise(() =>
        new Promise<void>((resolve) => {
          const socket = net.connect(Number(url.port), url.hostname, () => socket.end("NOT HTTP AT ALL\r\n\r\n"))
          socket.on("error", () => resolve())
          socket.on("close", () => resolve())
          socket.resume()
        })
      )
      const health = yield* call(`${baseUrl}/health`)
      assert.strictEqual(health.status, 200)
      const id = yield* startJob(baseUrl, "still serving")
      assert.isTrue(JobId.is(id))
    }))
})

layer(
  Emulator.layer({
    faults: {
      health: Faults.times({ kind: "status", status: 503, retryAfter: 1 }),
      root: Faults.times({ kind: "drop" })
    }
  }),
  { excludeTestServices: true }
)("faults from options", (it) => {
  it.effect("apply from the first request on", () =>
    Effect.gen(function*() {
      const { baseUrl, stats } = yield* Emulator.Emulator
      const first = yield* call(`${baseUrl}/health`)
      assert.strictEqual(first.status, 503)
      assert.strictEqual(first.headers.get("retry-after"), "1")
      assert.strictEqual((yield* call(`${baseUrl}/health`)).status, 200)
      assert.isTrue(Either.isLeft(yield* attempt(`${baseUrl}/`)))
      assert.strictEqual((yield* call(`${baseUrl}/`)).status, 200)
      const s = yield* stats
      assert.strictEqual(s.requests.health, 2)
      assert.strictEqual(s.requests.root, 2)
      assert.strictEqual(s.faultsInjected, 2)
    }))
})
