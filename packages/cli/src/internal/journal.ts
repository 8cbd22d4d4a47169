/**
 * The journal of started jobs: one JSON line per event, appended before the
 * first poll, so that a run killed mid-job can be resumed. It never holds the
 * API key.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import * as os from "node:os"

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

const Entry = Schema.Union(Started, Ended)
const decodeLine = Schema.decodeUnknownEither(Schema.parseJson(Entry))
const encode = Schema.encodeSync(Entry)

/** The folder for the journal: `QOERY_STATE_DIR`, else `$XDG_STATE_HOME/qoery`, else `~/.local/state/qoery`. */
export const stateDir = (env: NodeJS.ProcessEnv = process.env): string => {
  if (env.QOERY_STATE_DIR !== undefined && env.QOERY_STATE_DIR !== "") return env.QOERY_STATE_DIR
  const xdg = env.XDG_STATE_HOME !== undefined && env.XDG_STATE_HOME !== "" ? env.XDG_STATE_HOME : undefined
  return xdg !== undefined ? `${xdg}/qoery` : `${os.homedir()}/.local/state/qoery`
}

const file = Effect.gen(function*() {
  const path = yield* Path.Path
  return path.join(stateDir(), "jobs.ndjson")
})

const append = (entry: Started | Ended) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const target = yield* file
    yield* fs.makeDirectory(path.dirname(target), { recursive: true })
    yield* fs.writeFileString(target, JSON.stringify(encode(entry)) + "\n", { flag: "a" })
  })

/** Records a started job, before polling it. */
export const started = (fields: Omit<Started, "type" | "startedAt">) =>
  append(new Started({ type: "started", startedAt: new Date().toISOString(), ...fields }))

/** Records the end of a job. */
export const ended = (fields: Omit<Ended, "type" | "endedAt">) =>
  append(new Ended({ type: "ended", endedAt: new Date().toISOString(), ...fields }))

const key = (e: { readonly jobId: string; readonly baseUrl: string }) => `${e.baseUrl} ${e.jobId}`

/** The journal's path, for messages. */
export const path = file

/** Every started job with no end recorded, oldest first. Lines that do not parse are skipped. */
export const pending = Effect.gen(function*() {
  const fs = yield* FileSystem.FileSystem
  const target = yield* file
  if (!(yield* fs.exists(target))) return []
  const text = yield* fs.readFileString(target)
  const open = new Map<string, Started>()
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue
    const entry = decodeLine(line)
    if (Either.isLeft(entry)) continue
    if (entry.right.type === "started") open.set(key(entry.right), entry.right)
    else open.delete(key(entry.right))
  }
  return [...open.values()]
})
