/**
 * The journal of started jobs: one JSON line per event, appended before the
 * first poll, so that a run killed mid-job can be resumed. It never holds the
 * API key.
 *
 * - Every write holds a short lock (`jobs.ndjson.lock`), so an append never
 *   races the rewrite that compacts the file; an append starts on a fresh line
 *   even when a crash left the last one torn.
 * - Reading skips, with a warning, a line that does not parse (torn by a
 *   crash) and an entry whose job id is not valid, instead of failing.
 * - `resume` holds an exclusive lock (`jobs.ndjson.resume.lock`, with the
 *   holder's process id beside it) for as long as it runs, and compacts the
 *   journal (ended entries dropped) when it is done.
 */
import { QoeryClient } from "@effect-qoery/client"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Clock from "effect/Clock"
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Runtime from "effect/Runtime"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as os from "node:os"
import * as Lock from "./journalLock.js"

/** A job `run` started. `embedded`: on the emulator inside that process, gone with it. */
export class Started extends Schema.Class<Started>("Started")({
  type: Schema.Literal("started"),
  jobId: Schema.String,
  search: Schema.String,
  baseUrl: Schema.String,
  out: Schema.String,
  startedAt: Schema.String,
  embedded: Schema.optional(Schema.Boolean)
}) {}

/** The end of a journaled job: its CSV is on disk, it failed, or it cannot be reached any more. */
export class Ended extends Schema.Class<Ended>("Ended")({
  type: Schema.Literal("ended"),
  jobId: Schema.String,
  baseUrl: Schema.String,
  outcome: Schema.Literal("completed", "error", "lost"),
  endedAt: Schema.String
}) {}

/** The journal cannot be read or written (a folder that cannot be created, a file that cannot be opened...). */
export class JournalError extends Schema.TaggedError<JournalError>()("JournalError", {
  path: Schema.String,
  reason: Schema.String
}) {
  override get message() {
    return `the journal ${this.path} cannot be written (${this.reason})`
  }
}

/** Another `qoery resume` holds the journal. */
export class JournalLocked extends Schema.TaggedError<JournalLocked>()("JournalLocked", {
  path: Schema.String,
  pid: Schema.optional(Schema.Number)
}) {
  override get message() {
    return `another qoery resume${
      this.pid === undefined ? "" : ` (process ${this.pid})`
    } is using the journal ${this.path}`
  }
}

const Entry = Schema.Union(Started, Ended)
const decodeLine = Schema.decodeUnknownEither(Schema.parseJson(Entry))
const encode = Schema.encodeSync(Entry)
const serialize = (entry: Started | Ended) => JSON.stringify(encode(entry))

const nonEmpty = (name: string) => Config.string(name).pipe(Config.withDefault(""))

/** The folder for the journal: `QOERY_STATE_DIR`, else `$XDG_STATE_HOME/qoery`, else `~/.local/state/qoery`. */
export const stateDir: Effect.Effect<string, never, Path.Path> = Effect.gen(function*() {
  const path = yield* Path.Path
  const explicit = yield* nonEmpty("QOERY_STATE_DIR")
  if (explicit.trim() !== "") return explicit
  const xdg = yield* nonEmpty("XDG_STATE_HOME")
  return xdg.trim() !== "" ? path.join(xdg, "qoery") : path.join(os.homedir(), ".local", "state", "qoery")
}).pipe(Effect.orDie)

/** The journal's path. */
export const path: Effect.Effect<string, never, Path.Path> = Effect.map(
  Effect.zip(stateDir, Path.Path),
  ([dir, path]) => path.join(dir, "jobs.ndjson")
)

const reasonOf = (error: unknown): string => {
  if (typeof error === "object" && error !== null) {
    if ("reason" in error && "description" in error && typeof error.description === "string") {
      return error.description === "" ? String(error.reason) : `${String(error.reason)}: ${error.description}`
    }
    if ("message" in error && typeof error.message === "string") return error.message
  }
  return String(error)
}

const journalError = (target: string) => (error: unknown) => new JournalError({ path: target, reason: reasonOf(error) })

const lockError = (error: Lock.Held | Lock.LockFailed, target: string) =>
  error._tag === "LockHeld"
    ? new JournalLocked({ path: target, ...(error.pid === undefined ? {} : { pid: error.pid }) })
    : new JournalError({ path: target, reason: error.reason })

/** Runs `body` holding the short write lock, which every append and rewrite takes. */
const writing = <A, E, R>(target: string, body: Effect.Effect<A, E, R>) =>
  Effect.scoped(Effect.zipRight(
    Lock.exclusive({ path: `${target}.lock`, wait: "short", recordOwner: false, onLost: () => {} }).pipe(
      Effect.mapError((error) =>
        new JournalError({ path: target, reason: error._tag === "LockHeld" ? "locked" : error.reason })
      )
    ),
    body
  ))

const ensureFolder = (target: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    yield* fs.makeDirectory(path.dirname(target), { recursive: true })
  })

const newline = new TextEncoder().encode("\n")

const append = (entry: Started | Ended) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const target = yield* path
    yield* ensureFolder(target).pipe(Effect.mapError(journalError(target)))
    yield* writing(
      target,
      Effect.scoped(Effect.gen(function*() {
        const file = yield* fs.open(target, { flag: "a+" })
        const size = (yield* file.stat).size
        // A crash mid-append leaves the last line without its newline: start on a fresh one.
        let torn = false
        if (size > 0n) {
          yield* file.seek(size - 1n, "start")
          const last = new Uint8Array(1)
          yield* file.read(last)
          torn = last[0] !== newline[0]
        }
        yield* file.writeAll(new TextEncoder().encode((torn ? "\n" : "") + serialize(entry) + "\n"))
      })).pipe(Effect.mapError(journalError(target)))
    )
  })

const now = Effect.map(Clock.currentTimeMillis, (millis) => new Date(millis).toISOString())

/** Records a started job, before polling it. */
export const started = (fields: Omit<Started, "type" | "startedAt">) =>
  Effect.flatMap(now, (startedAt) => append(new Started({ type: "started", startedAt, ...fields })))

/** Records the end of a job. */
export const ended = (fields: Omit<Ended, "type" | "endedAt">) =>
  Effect.flatMap(now, (endedAt) => append(new Ended({ type: "ended", endedAt, ...fields })))

/**
 * Fails with `JournalError` unless the journal can be appended to, creating
 * its folder: `run` checks it before starting a job, so that nothing starts
 * that `resume` could not pick up.
 */
export const check: Effect.Effect<void, JournalError, FileSystem.FileSystem | Path.Path> = Effect.gen(function*() {
  const fs = yield* FileSystem.FileSystem
  const target = yield* path
  yield* ensureFolder(target).pipe(Effect.mapError(journalError(target)))
  yield* writing(target, Effect.scoped(fs.open(target, { flag: "a" })).pipe(Effect.mapError(journalError(target))))
})

const key = (e: { readonly jobId: string; readonly baseUrl: string }) => `${e.baseUrl} ${e.jobId}`

/** What the journal holds: the jobs with no recorded end, oldest first, and what was skipped on the way. */
export interface Contents {
  readonly pending: ReadonlyArray<Started>
  /** One line for each line of the file that was skipped, saying why. */
  readonly warnings: ReadonlyArray<string>
}

/**
 * Decodes a journal's text. A line that does not parse is skipped with a
 * warning; when an entry follows the torn start of a line (as an append of
 * an older version left it), that entry is kept. An entry whose job id is not
 * valid is skipped with a warning.
 */
export const parse = (text: string, file = "the journal"): Contents => {
  const open = new Map<string, Started>()
  const warnings: Array<string> = []
  const lines = text.split("\n")
  lines.forEach((line, index) => {
    if (line.trim() === "") return
    const where = `line ${index + 1} of ${file}`
    let entry = decodeLine(line)
    if (Either.isLeft(entry)) {
      // An entry appended to a torn line: try each later start of an entry.
      for (let at = line.indexOf("{\"type\":", 1); at > 0; at = line.indexOf("{\"type\":", at + 1)) {
        const rest = decodeLine(line.slice(at))
        if (Either.isRight(rest)) {
          entry = rest
          break
        }
      }
      warnings.push(
        Either.isLeft(entry)
          ? `warning: ${where} is not a whole journal entry (cut short by a crash?); skipped it.`
          : `warning: ${where} starts with a torn entry (cut short by a crash?); skipped that part.`
      )
      if (Either.isLeft(entry)) return
    }
    const value = entry.right
    if (Either.isLeft(QoeryClient.validateJobId(value.jobId))) {
      warnings.push(`warning: ${where} names an invalid job id ${JSON.stringify(value.jobId)}; skipped it.`)
      return
    }
    if (value.type === "started") open.set(key(value), value)
    else open.delete(key(value))
  })
  return { pending: [...open.values()], warnings }
}

const readContents = (target: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    if (!(yield* fs.exists(target))) return { pending: [], warnings: [] } satisfies Contents
    return parse(yield* fs.readFileString(target), target)
  }).pipe(Effect.mapError(journalError(target)))

/** Every started job with no end recorded, oldest first, and the lines skipped. */
export const read: Effect.Effect<Contents, JournalError, FileSystem.FileSystem | Path.Path> = Effect.flatMap(
  path,
  readContents
)

/** Rewrites the journal with only its pending entries (temp file, then rename), under the write lock. */
export const compact: Effect.Effect<void, JournalError, FileSystem.FileSystem | Path.Path> = Effect.gen(function*() {
  const fs = yield* FileSystem.FileSystem
  const target = yield* path
  if (!(yield* fs.exists(target).pipe(Effect.orElseSucceed(() => false)))) return
  yield* writing(
    target,
    Effect.gen(function*() {
      const { pending } = yield* readContents(target)
      const temp = `${target}.${process.pid}.tmp`
      yield* fs.writeFileString(temp, pending.map((entry) => serialize(entry) + "\n").join("")).pipe(
        Effect.zipRight(fs.rename(temp, target)),
        Effect.tapError(() => fs.remove(temp).pipe(Effect.ignore)),
        Effect.mapError(journalError(target))
      )
    })
  )
})

/**
 * Holds the journal for one `qoery resume`, for the life of the scope: fails
 * with `JournalLocked` at once when another live `resume` holds it (one that
 * was killed leaves a lock that goes stale, waited for), and compacts the
 * journal when the scope closes. `onLost` is told if the lock is lost
 * meanwhile.
 */
export const hold = (
  onLost: (reason: string) => Effect.Effect<void>
): Effect.Effect<void, JournalLocked | JournalError, FileSystem.FileSystem | Path.Path | Scope.Scope> =>
  Effect.gen(function*() {
    const target = yield* path
    const runtime = yield* Effect.runtime<never>()
    yield* ensureFolder(target).pipe(Effect.mapError(journalError(target)))
    yield* Lock.exclusive({
      path: `${target}.resume.lock`,
      wait: "none",
      recordOwner: true,
      onLost: (reason) => Runtime.runFork(runtime)(onLost(reason))
    }).pipe(Effect.mapError((error) => lockError(error, target)))
    const context = yield* Effect.context<FileSystem.FileSystem | Path.Path>()
    yield* Effect.addFinalizer(() => compact.pipe(Effect.ignore, Effect.provide(context)))
  })

/** The origin of a base URL (`http://127.0.0.1:8787`), or `undefined` when it is not an http(s) origin. */
export const originOf = (baseUrl: string): string | undefined =>
  Either.match(QoeryClient.parseBaseUrl(baseUrl), { onLeft: () => undefined, onRight: (url) => url.origin })
