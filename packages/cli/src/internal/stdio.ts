/**
 * The command's two output streams as a service: what it writes to stdout and
 * stderr, whether each is a terminal, how wide stderr is, and whether colour
 * and a live line are wanted. `layerNode` is `process`; a test provides its
 * own with `make`, instead of patching `process`.
 */
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Predicate from "effect/Predicate"
import { OutputError } from "./failure.js"

/** Where the command writes. */
export interface Service {
  /** Writes to stdout; fails with `OutputError` when it is closed (a pipe whose reader went away) or broken. */
  readonly out: (chunk: string | Uint8Array) => Effect.Effect<void, OutputError>
  /** Writes to stderr; a closed stderr is ignored (there is nowhere left to say so). */
  readonly err: (text: string) => Effect.Effect<void>
  /** Whether stdout is a terminal. */
  readonly outIsTTY: boolean
  /** Whether stderr is a terminal. */
  readonly errIsTTY: boolean
  /** The width of stderr when it is a terminal. */
  readonly columns: () => number | undefined
  /** Colour in help and messages: stdout is a terminal, `NO_COLOR` is unset and `TERM` is not `dumb`. */
  readonly color: boolean
  /** A live progress line is allowed: stderr is a terminal, `QOERY_NO_LIVE` is unset and `TERM` is not `dumb`. */
  readonly live: boolean
}

/** The output streams of the command. */
export class Stdio extends Context.Tag("@effect-qoery/cli/Stdio")<Stdio, Service>() {}

/** What the environment says about colour and live output (`NO_COLOR`, `QOERY_NO_LIVE`, `TERM`). */
export const settings = Config.all({
  noColor: Config.string("NO_COLOR").pipe(Config.map((s) => s !== ""), Config.withDefault(false)),
  noLive: Config.string("QOERY_NO_LIVE").pipe(Config.map(() => true), Config.withDefault(false)),
  dumb: Config.string("TERM").pipe(Config.map((t) => t === "dumb"), Config.withDefault(false))
})

/** A stream as the writers below see it: `process.stdout` and `process.stderr` are such streams. */
export interface Writable {
  write(chunk: string | Uint8Array, callback: (error?: Error | null) => void): boolean
  once(event: "drain", listener: () => void): unknown
  readonly isTTY?: boolean | undefined
  readonly columns?: number | undefined
}

const closedCodes = new Set(["EPIPE", "ERR_STREAM_DESTROYED", "ERR_STREAM_WRITE_AFTER_END"])

const isClosed = (error: Error): boolean =>
  Predicate.hasProperty(error, "code") && typeof error.code === "string" && closedCodes.has(error.code)

/** Writes one chunk and waits for it to be flushed (backpressure), failing with the stream's error. */
const writeTo = (stream: Writable, chunk: string | Uint8Array) =>
  Effect.async<void, OutputError>((resume) => {
    let done = false
    stream.write(chunk, (error) => {
      if (done) return
      done = true
      resume(
        error === undefined || error === null
          ? Effect.void
          : Effect.fail(new OutputError({ closed: isClosed(error), description: error.message }))
      )
    })
  })

/** The service over two streams and the environment's settings. */
export const make = (streams: { readonly stdout: Writable; readonly stderr: Writable }) =>
  Effect.map(settings, (env): Service => {
    const plain = env.dumb
    return {
      out: (chunk) => writeTo(streams.stdout, chunk),
      err: (text) => Effect.ignore(writeTo(streams.stderr, text)),
      outIsTTY: streams.stdout.isTTY === true,
      errIsTTY: streams.stderr.isTTY === true,
      columns: () => streams.stderr.isTTY === true ? streams.stderr.columns : undefined,
      color: streams.stdout.isTTY === true && !env.noColor && !plain,
      live: streams.stderr.isTTY === true && !env.noLive && !plain
    }
  })

const ignore = () => {}

/**
 * This process's stdout and stderr. A reader that goes away (`qoery csv JOB |
 * head -2`) makes Node emit `EPIPE` on the stream; the listeners here take it,
 * so the write fails with `OutputError` instead of the process crashing.
 */
export const layerNode: Layer.Layer<Stdio> = Layer.effect(
  Stdio,
  Effect.suspend(() => {
    // Always ours, even when another listener is there: a pipe's listener rethrows when it is the last one.
    for (const stream of [process.stdout, process.stderr]) stream.on("error", ignore)
    return make({ stdout: process.stdout, stderr: process.stderr })
  }).pipe(Effect.orDie)
)
