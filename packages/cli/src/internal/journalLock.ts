/**
 * Exclusive locks between `qoery` processes, over `proper-lockfile`: the lock
 * is a directory made with `mkdir` (atomic, on local and network file
 * systems), whose mtime its holder refreshes every few seconds, so a lock left
 * by a killed process is stale after `staleAfterMillis` and taken over. Beside
 * it a file names the holder's process id, for messages and to tell a live
 * holder from a dead one at once.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as Lockfile from "proper-lockfile"

/** How long a lock whose holder stopped refreshing it (killed, frozen) is still honoured. */
export const staleAfterMillis = 10_000

/** Another live process holds the lock. */
export class Held extends Schema.TaggedError<Held>()("LockHeld", {
  path: Schema.String,
  pid: Schema.optional(Schema.Number)
}) {}

/** The lock could not be taken for another reason than its being held (the folder cannot be written...). */
export class LockFailed extends Schema.TaggedError<LockFailed>()("LockFailed", {
  path: Schema.String,
  reason: Schema.String
}) {}

const Owner = Schema.parseJson(Schema.Struct({ pid: Schema.Number, hostname: Schema.String }))
const decodeOwner = Schema.decodeUnknownEither(Owner)
const encodeOwner = Schema.encodeSync(Owner)

const ownerFile = (lock: string) => `${lock}.pid`

const readOwner = (lock: string) =>
  Effect.promise(() => fs.readFile(ownerFile(lock), "utf8").catch(() => "")).pipe(
    Effect.map((text) => Either.getOrUndefined(decodeOwner(text)))
  )

/** Whether the process that wrote `owner` is gone: only knowable on this host. */
const isDead = (owner: { readonly pid: number; readonly hostname: string } | undefined) => {
  if (owner === undefined || owner.hostname !== os.hostname()) return false
  try {
    process.kill(owner.pid, 0)
    return false
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "ESRCH"
  }
}

const codeOf = (error: unknown) =>
  typeof error === "object" && error !== null && "code" in error ? String(error.code) : undefined

const messageOf = (error: unknown) => error instanceof Error ? error.message : String(error)

/** Waits with these delays for a lock whose holder is dead to go stale (a little longer than `staleAfterMillis`). */
const untilStale = { retries: 14, factor: 1, minTimeout: 1_000, maxTimeout: 1_000, randomize: false }

/**
 * Waits in short growing steps, jittered so that waiters do not retry in step, for a lock held for an instant
 * (an append), and up to about twice `staleAfterMillis` for one left by a dead process.
 */
const shortWait = { retries: 100, factor: 1.5, minTimeout: 5, maxTimeout: 200, randomize: true }

export interface Options {
  /** The lock directory's path. */
  readonly path: string
  /**
   * `"none"`: fail with `Held` at once when a live process holds the lock (a lock left by a dead one is waited
   * for until stale); `"short"`: wait for a lock held for an instant, up to a little longer than the stale delay.
   */
  readonly wait: "none" | "short"
  /** Write the process id beside the lock, for `Held` to name the holder. */
  readonly recordOwner: boolean
  /** Called if the lock is lost while held (its holder was frozen past the stale delay and another took it). */
  readonly onLost: (reason: string) => void
}

const take = (target: string, options: Options, retries: Lockfile.LockOptions["retries"]) =>
  Effect.tryPromise({
    try: () =>
      Lockfile.lock(target, {
        lockfilePath: options.path,
        realpath: false,
        stale: staleAfterMillis,
        retries,
        onCompromised: (error) => options.onLost(error.message)
      }),
    catch: (error) => error
  })

/**
 * Holds an exclusive lock for the life of the scope, released when it closes
 * (and by `proper-lockfile` when the process exits).
 */
export const exclusive = (options: Options): Effect.Effect<void, Held | LockFailed, Scope.Scope> => {
  // proper-lockfile keys its locks by this path within a process; the lock path keeps two locks apart.
  const target = `${options.path}.target`
  const failure = (error: unknown): Effect.Effect<never, Held | LockFailed> =>
    codeOf(error) === "ELOCKED"
      ? Effect.flatMap(readOwner(options.path), (owner) =>
        Effect.fail(new Held({ path: options.path, ...(owner === undefined ? {} : { pid: owner.pid }) })))
      : Effect.fail(new LockFailed({ path: options.path, reason: messageOf(error) }))
  const acquire = take(target, options, options.wait === "short" ? shortWait : 0).pipe(
    Effect.catchAll((error) =>
      codeOf(error) === "ELOCKED" && options.wait === "none"
        ? Effect.flatMap(readOwner(options.path), (owner) =>
          isDead(owner) ? take(target, options, untilStale) : Effect.fail(error))
        : Effect.fail(error)
    ),
    Effect.catchAll(failure),
    Effect.tap(() =>
      options.recordOwner
        ? Effect.promise(() =>
          fs.writeFile(ownerFile(options.path), encodeOwner({ pid: process.pid, hostname: os.hostname() }))
            .catch(() => undefined)
        )
        : Effect.void
    )
  )
  return Effect.acquireRelease(acquire, (release) =>
    Effect.promise(async () => {
      if (options.recordOwner) await fs.rm(ownerFile(options.path), { force: true }).catch(() => undefined)
      await release().catch(() => undefined)
    })).pipe(Effect.asVoid)
}
