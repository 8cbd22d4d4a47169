/**
 * The per-request timeout and the watch's deadline are on the Effect Clock:
 * `TestClock` moves them, no real time passes.
 */
import { JobWatcher, QoeryClient, QoeryError } from "@effect-qoery/client"
import { HttpClient } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Exit, Fiber, Layer, TestClock } from "effect"

/** An HttpClient whose requests never answer; it records when one is interrupted. */
const silent = () => {
  const interrupted: Array<string> = []
  const client = HttpClient.make((request) =>
    Effect.never.pipe(Effect.onInterrupt(() => Effect.sync(() => interrupted.push(request.url))))
  )
  return { interrupted, layer: Layer.succeed(HttpClient.HttpClient, client) }
}

const clientOn = (http: Layer.Layer<HttpClient.HttpClient>, options: QoeryClient.Options = {}) =>
  QoeryClient.layer({ apiKey: "k", baseUrl: "http://127.0.0.1:1", ...options }).pipe(Layer.provide(http))

describe("timeouts on the Clock", () => {
  it.effect("getStatus fails with a Timeout TransportError when the TestClock passes the timeout, aborting the request", () =>
    Effect.gen(function*() {
      const http = silent()
      const fiber = yield* Effect.flatMap(QoeryClient.QoeryClient, (c) => c.getStatus("20251110_151628")).pipe(
        Effect.provide(clientOn(http.layer, { timeout: "10 seconds" })),
        Effect.fork
      )
      yield* TestClock.adjust("9999 millis")
      assert.isNull(fiber.unsafePoll())
      assert.lengthOf(http.interrupted, 0)
      yield* TestClock.adjust("1 millis")
      const exit = yield* Fiber.await(fiber)
      assert.isTrue(Exit.isFailure(exit))
      const error = Exit.isFailure(exit) ? exit.cause : undefined
      const failure = error && error._tag === "Fail" ? error.error as QoeryError.QoeryError : undefined
      assert.strictEqual(failure?._tag, "TransportError")
      assert.strictEqual((failure as QoeryError.TransportError).reason, "Timeout")
      yield* Effect.yieldNow()
      assert.deepStrictEqual(http.interrupted, ["http://127.0.0.1:1/v0/datasets/20251110_151628"])
    }))

  it.effect("a watch's overall timeout ends it with WatchTimeout at the TestClock's deadline", () =>
    Effect.gen(function*() {
      const http = silent()
      const fiber = yield* JobWatcher.awaitCompletion("20251110_151628", { timeout: "5 seconds" }).pipe(
        Effect.provide(clientOn(http.layer, { timeout: "1 minute" })),
        Effect.fork
      )
      yield* TestClock.adjust(Duration.millis(4_999))
      assert.isNull(fiber.unsafePoll())
      yield* TestClock.adjust(Duration.millis(1))
      const exit = yield* Fiber.await(fiber)
      assert.isTrue(Exit.isFailure(exit) && exit.cause._tag === "Fail" && exit.cause.error._tag === "WatchTimeout")
      yield* Effect.yieldNow()
      assert.lengthOf(http.interrupted, 1)
    }))
})
