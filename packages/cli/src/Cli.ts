/**
 * The `qoery` command: start, watch and download Qoery dataset jobs from a
 * shell, with live progress, NDJSON output and a journal of started jobs.
 *
 * @since 0.1.0
 */
import * as Command from "@effect/cli/Command"
import * as ValidationError from "@effect/cli/ValidationError"
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as Path from "@effect/platform/Path"
import type * as Terminal from "@effect/platform/Terminal"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Batch from "./internal/commands/batch.js"
import * as Csv from "./internal/commands/csv.js"
import * as EmulatorCommand from "./internal/commands/emulator.js"
import * as Health from "./internal/commands/health.js"
import * as Plans from "./internal/commands/plans.js"
import * as Resume from "./internal/commands/resume.js"
import * as Run from "./internal/commands/run.js"
import * as Status from "./internal/commands/status.js"
import * as UsageCommand from "./internal/commands/usage.js"
import * as Watch from "./internal/commands/watch.js"
import * as Failure from "./internal/failure.js"
import * as Flags from "./internal/flags.js"
import * as Help from "./internal/help.js"
import * as Stdio from "./internal/stdio.js"

/**
 * The exit codes: 0 completed, 1 the job ended in error, 2 usage error, 3 API
 * or network error (or the journal cannot be written, or another `resume` holds
 * it), 4 timeout, 130 interrupted.
 *
 * @since 0.1.0
 * @category constants
 */
export const ExitCode = Failure.ExitCode

/**
 * The version `qoery --version` prints.
 *
 * @since 0.1.0
 * @category constants
 */
export const version = "0.1.0"

/**
 * The subcommands, in the order the help lists them.
 *
 * @since 0.1.0
 * @category commands
 */
export const subcommands = [
  Run.command,
  Watch.command,
  Status.command,
  Csv.command,
  UsageCommand.command,
  Plans.command,
  Health.command,
  EmulatorCommand.command,
  Resume.command,
  Batch.command
] as const

/**
 * The `qoery` command and its subcommands.
 *
 * @since 0.1.0
 * @category commands
 */
export const command = Command.make("qoery").pipe(
  Command.withDescription(Flags.describe(
    "Start, watch and download Qoery dataset jobs. With neither QOERY_API_KEY nor QOERY_BASE_URL set, runs against an embedded emulator.",
    "qoery run \"climate change statistics\" --out out/climate.csv"
  )),
  Command.withSubcommands(subcommands)
)

const cli = Command.run(command, { name: "qoery", version })

/**
 * The services the command line needs: @effect/cli's (file system, path,
 * terminal) and `Stdio`, its output streams.
 *
 * @since 0.1.0
 * @category models
 */
export type Environment = FileSystem.FileSystem | Path.Path | Terminal.Terminal | Stdio.Stdio

/**
 * The output streams as a service; `layerNode` is this process's.
 *
 * @since 0.1.0
 * @category layers
 */
export { Stdio }

// eslint-disable-next-line no-control-regex
const ansi = /\x1b\[[0-9;]*m/g

/** The console @effect/cli prints its own messages with, on `Stdio`: plain unless colour is wanted. */
const console = (stdio: Stdio.Service, base: Console.Console): Console.Console => {
  const text = (args: ReadonlyArray<unknown>) => {
    const joined = args.map(String).join(" ") + "\n"
    return stdio.color ? joined : joined.replace(ansi, "")
  }
  const out = (...args: ReadonlyArray<unknown>) => Effect.ignore(stdio.out(text(args)))
  const err = (...args: ReadonlyArray<unknown>) => stdio.err(text(args))
  return { ...base, log: out, info: out, debug: err, warn: err, error: err }
}

/** The commands under `qoery`, in the order of `subcommands`, as the help and the "did you mean" see them. */
const top = subcommands.map((c): Help.AnyDescriptor => c.descriptor)

const names = top.map(Help.nameOf)

/** What the arguments ask for before they reach the flag parser: a help page, or a usage error. */
const preflight = (args: ReadonlyArray<string>, stdio: Stdio.Service) => {
  const dashdash = args.indexOf("--")
  const before = dashdash === -1 ? args : args.slice(0, dashdash)
  const style = { color: stdio.color, width: Math.min(100, Math.max(40, (stdio.columns() ?? 80) - 1)) }
  const first = before[0]
  const { descriptor, path } = Help.resolvePath(top, before)
  if (first !== undefined && !first.startsWith("-") && path.length === 0) {
    const guess = Help.didYouMean(first, names)
    return Effect.fail(
      new Failure.UsageError({
        problem: `${JSON.stringify(first)} is not a qoery command`,
        hint: guess === undefined
          ? `The commands are ${names.join(", ")}; \`qoery --help\` describes them.`
          : `Did you mean \`qoery ${guess}\`?`
      })
    )
  }
  const next = before[path.length]
  const children = descriptor === undefined ? [] : Help.subcommandsOf(descriptor)
  if (children.length > 0 && next !== undefined && !next.startsWith("-")) {
    const childNames = children.map(Help.nameOf)
    const guess = Help.didYouMean(next, childNames)
    const parent = `qoery ${path.join(" ")}`
    return Effect.fail(
      new Failure.UsageError({
        problem: `${JSON.stringify(next)} is not a ${parent} command`,
        hint: guess === undefined
          ? `The commands are ${childNames.join(", ")}; \`${parent} --help\` describes them.`
          : `Did you mean \`${parent} ${guess}\`?`
      })
    )
  }
  if (before.includes("--wizard")) {
    return Effect.fail(new Failure.UsageError({ problem: "unknown flag --wizard", hint: "Run `qoery --help`." }))
  }
  if (before.length === 0 || before.includes("--help") || before.includes("-h")) {
    const text = descriptor === undefined
      ? Help.root(command.descriptor, top, style)
      : Help.command(descriptor, path, style)
    return Effect.as(stdio.out(text), true)
  }
  return Effect.succeed(false)
}

/**
 * Runs the command line (`process.argv` form: runtime and script first) and
 * gives the exit code, after printing what went wrong to stderr. Interruption
 * is left to the runtime (exit 130).
 *
 * @since 0.1.0
 * @category running
 */
export const main = (argv: ReadonlyArray<string>): Effect.Effect<number, never, Environment> =>
  Effect.gen(function*() {
    const stdio = yield* Stdio.Stdio
    const base = yield* Effect.console
    const explain = (error: Failure.CliError) =>
      Effect.gen(function*() {
        const explained = Failure.explain(error)
        for (const line of explained.lines) yield* stdio.err(line + "\n")
        return explained.code
      })
    return yield* Effect.gen(function*() {
      if (yield* preflight(argv.slice(2), stdio)) return ExitCode.Ok
      yield* cli(argv)
      return ExitCode.Ok
    }).pipe(
      Effect.catchIf(ValidationError.isValidationError, () =>
        // @effect/cli has printed what is wrong already.
        Effect.as(stdio.err("Run `qoery --help` or `qoery <command> --help` for the usage.\n"), ExitCode.Usage)),
      Effect.catchAll(explain),
      Effect.withConsole(console(stdio, base))
    )
  })
