/** `qoery emulator`: serves the emulator until interrupted. */
import { Emulator } from "@effect-qoery/emulator"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Durations from "../duration.js"
import { UsageError } from "../failure.js"
import * as Flags from "../flags.js"
import * as Output from "../output.js"

/** How long a job takes on `qoery emulator` unless `--job-duration` says otherwise. */
export const defaultJobDuration = Duration.seconds(20)

/** Why the emulator could not listen, as a usage error: the port or the address is the user's choice. */
const cannotListen = (error: Emulator.StartError, args: { readonly port: number; readonly host: string }) => {
  const where = `${args.host}:${args.port}`
  const code = error._tag === "PortInUse"
    ? "EADDRINUSE"
    : Predicate.hasProperty(error.cause, "code")
    ? error.cause.code
    : undefined
  return code === "EADDRINUSE"
    ? new UsageError({
      problem: `port ${args.port} is in use (${where})`,
      hint: "Stop what listens there, or pick another port: --port 8788 (or --port 0 for a free one)."
    })
    : code === "EACCES"
    ? new UsageError({
      problem: `not allowed to listen on ${where}`,
      hint: "Ports below 1024 need privileges: pick another with --port."
    })
    : new UsageError({
      problem: `cannot listen on ${where}: ${
        Predicate.hasProperty(error.cause, "message") ? String(error.cause.message) : String(error.cause)
      }`,
      hint: "Check --host and --port."
    })
}

/** The handler of `qoery emulator`. */
export const handler = (
  args: { readonly port: number; readonly host: string; readonly jobDuration: Option.Option<Duration.Duration> }
) =>
  Effect.gen(function*() {
    const output = yield* Output.make({ json: false })
    const jobDuration = Option.getOrElse(args.jobDuration, () => defaultJobDuration)
    yield* Effect.scoped(Effect.gen(function*() {
      const context = yield* Layer.build(Emulator.layer({ port: args.port, host: args.host, jobDuration })).pipe(
        Effect.mapError((error) => cannotListen(error, args))
      )
      const running = Context.get(context, Emulator.Emulator)
      yield* output.result(`Qoery emulator listening on ${running.baseUrl}`)
      yield* output.message(
        `Jobs take ${
          Durations.short(jobDuration)
        }. Use it with:\n  export QOERY_BASE_URL=${running.baseUrl} QOERY_API_KEY=${Emulator.demoApiKey}\nCtrl-C stops it.`
      )
      return yield* Effect.never
    }))
  })

/** `qoery emulator` */
export const command = Command.make("emulator", {
  port: Options.integer("port").pipe(
    Options.withPseudoName("PORT"),
    Options.withDescription("The port to listen on (0 picks a free one)."),
    Options.withDefault(8787)
  ),
  host: Options.text("host").pipe(
    Options.withPseudoName("HOST"),
    Options.withDescription("The address to listen on."),
    Options.withDefault("127.0.0.1")
  ),
  jobDuration: Flags.duration("job-duration", "How long a job takes, e.g. 30s (default: 20s).").pipe(Options.optional)
}, handler).pipe(Command.withDescription(Flags.describe(
  "Serves an emulator of the Qoery API, for trying the CLI and testing your own code offline.",
  "qoery emulator --port 8787 --job-duration 30s"
)))
