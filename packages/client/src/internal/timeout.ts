import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"

/**
 * Fails with `onTimeout()` when `self` takes longer than `duration`, and
 * interrupts it (which aborts an HTTP request in flight).
 *
 * The same contract as `Effect.timeoutFail`, at a quarter of its cost: one
 * child fiber and one timer instead of a race of two fibers (about 10 us
 * against 40 us a call, measured in test/bench); it is paid on every poll.
 */
export const timeoutFail = <A, E, R, E2>(
  self: Effect.Effect<A, E, R>,
  duration: Duration.Duration,
  onTimeout: () => E2
): Effect.Effect<A, E | E2, R> => {
  const millis = Math.min(2 ** 31 - 1, Math.max(0, Math.round(Duration.toMillis(duration))))
  return Effect.flatMap(Effect.fork(self), (fiber) =>
    Effect.async<A, E | E2>((resume) => {
      const timer = setTimeout(() => {
        fiber.unsafeInterruptAsFork(fiber.id())
        resume(Effect.fail(onTimeout()))
      }, millis)
      fiber.addObserver((exit) => {
        clearTimeout(timer)
        resume(exit)
      })
      return Effect.suspend(() => {
        clearTimeout(timer)
        return Fiber.interrupt(fiber)
      })
    }))
}
