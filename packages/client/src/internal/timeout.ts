/**
 * The one timeout of the client and the watcher, on the Effect `Clock`, and
 * the cheap way to run a request with a few more services in its context.
 *
 * `isolated(self, options)` runs `self` in a fiber of its own, started at
 * once (`Runtime.runFork` with `immediate`), whose context and FiberRefs are
 * the caller's plus what `options` add. That fiber is what a timeout
 * interrupts, and what makes the additions free: it ends with the call, so
 * nothing needs restoring, where `Effect.provideService` and
 * `Effect.locally` each cost an acquire-use-release per call. The timer is
 * the `Clock`'s own `sleep` (a `setTimeout` on the live Clock; `TestClock`
 * moves it with `TestClock.adjust`), in a fiber started the same way.
 *
 * Measured per call against an answer that is already there (BENCHMARKS.md):
 * `Effect.timeoutFail` +32 us, `Effect.fork` and a timer +20 us, this +8 us;
 * `Effect.withSpan` +30 us, a span opened here +3 us.
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as DefaultServices from "effect/DefaultServices"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import type * as FiberId from "effect/FiberId"
import * as FiberRef from "effect/FiberRef"
import * as FiberRefs from "effect/FiberRefs"
import * as Option from "effect/Option"
import * as Runtime from "effect/Runtime"
import * as Tracer from "effect/Tracer"

export interface Options<E2> {
  /** Fails with `onTimeout()` after this long, interrupting `self`. */
  readonly timeout?: Duration.Duration | undefined
  readonly onTimeout?: (() => E2) | undefined
  /** The context of `self`: the caller's, changed. */
  readonly context?: ((context: Context.Context<never>) => Context.Context<never>) | undefined
  /** FiberRefs of `self` set to other values than the caller's. */
  readonly refs?: ReadonlyArray<readonly [FiberRef.FiberRef<any>, unknown]> | undefined
  /** A span that `self` runs in (as its parent span) and that ends with it. */
  readonly span?: Tracer.Span | undefined
}

const MAX_TIMER_MILLIS = 2 ** 31 - 1

/**
 * Runs `self` in a fiber of its own (see the module comment). Interrupting
 * the caller interrupts it and waits for it.
 */
export const isolated = <A, E, E2 = never>(
  self: Effect.Effect<A, E>,
  options: Options<E2>
): Effect.Effect<A, E | E2> =>
  Effect.withFiberRuntime<A, E | E2>((parent) => {
    let context = parent.currentContext
    if (options.context !== undefined) context = options.context(context)
    const span = options.span
    if (span !== undefined) context = Context.add(context, Tracer.ParentSpan, span)
    const run = Runtime.runFork(Runtime.make({
      context,
      fiberRefs: parent.getFiberRefs(),
      runtimeFlags: Runtime.defaultRuntimeFlags
    }))
    const clock = span !== undefined || options.timeout !== undefined
      ? Context.get(parent.currentDefaultServices, Clock.Clock)
      : undefined
    return Effect.async<A, E | E2>((resume) => {
      let done = false
      let cancelTimer: (() => void) | undefined
      const child = run(self, { immediate: true, updateRefs: (refs, id) => setRefs(refs, id, options.refs) })
      const finish = (exit: Exit.Exit<A, E | E2>) => {
        if (done) return
        done = true
        if (cancelTimer !== undefined) cancelTimer()
        if (span !== undefined) span.end(clock!.unsafeCurrentTimeNanos(), exit)
        resume(exit)
      }
      child.addObserver(finish)
      if (!done && options.timeout !== undefined) {
        cancelTimer = schedule(clock!, run, options.timeout, () => {
          if (done) return
          child.unsafeInterruptAsFork(parent.id())
          finish(Exit.fail(options.onTimeout!()))
        })
      }
      return Effect.suspend(() => {
        if (cancelTimer !== undefined) cancelTimer()
        return Fiber.interrupt(child)
      })
    })
  })

/** The fiber's failure is its caller's: it is not logged as an unhandled one. */
const quiet: readonly [FiberRef.FiberRef<any>, unknown] = [FiberRef.unhandledErrorLogLevel, Option.none()]

const setRefs = (
  refs: FiberRefs.FiberRefs,
  id: FiberId.Runtime,
  more: ReadonlyArray<readonly [FiberRef.FiberRef<any>, unknown]> | undefined
) =>
  FiberRefs.updateManyAs(refs, {
    entries: (more === undefined ? [quiet] : [quiet, ...more]).map(([ref, value]) =>
      [ref, [[id, value]]] as const
    ) as any
  })

const liveClock = Context.get(DefaultServices.liveServices, Clock.Clock)

/**
 * Runs `task` after `duration` on `clock`: the live Clock's `sleep` is one
 * `setTimeout` (with the same bound), which is used directly, as cheap as it
 * gets; any other Clock (`TestClock`) sleeps in a fiber of its own.
 */
const schedule = (
  clock: Clock.Clock,
  run: <A, E>(effect: Effect.Effect<A, E>, options?: Runtime.RunForkOptions) => Fiber.RuntimeFiber<A, E>,
  duration: Duration.Duration,
  task: () => void
): () => void => {
  if (clock === liveClock) {
    const millis = Duration.toMillis(duration)
    if (millis > MAX_TIMER_MILLIS) return () => {}
    const handle = setTimeout(task, millis)
    return () => clearTimeout(handle)
  }
  const sleeper = run(clock.sleep(duration), { immediate: true })
  sleeper.addObserver((exit) => {
    if (Exit.isSuccess(exit)) task()
  })
  return () => sleeper.unsafeInterruptAsFork(sleeper.id())
}

/** Fails with `onTimeout()` when `self` takes longer than `duration`, and interrupts it. */
export const timeoutFail = <A, E, E2>(
  self: Effect.Effect<A, E>,
  duration: Duration.Duration,
  onTimeout: () => E2
): Effect.Effect<A, E | E2> => isolated(self, { timeout: duration, onTimeout })
