/**
 * The `qoery` command: start, watch and download Qoery dataset jobs from a
 * shell, with live progress, NDJSON output and a journal of started jobs.
 *
 * @since 0.1.0
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as Options from "@effect/cli/Options"
import * as ValidationError from "@effect/cli/ValidationError"
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as Path from "@effect/platform/Path"
import type * as Terminal from "@effect/platform/Terminal"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Commands from "./internal/commands.js"
import * as Durations from "./internal/duration.js"
import * as Failure from "./internal/failure.js"

/**
 * The exit codes: 0 completed, 1 the job ended in error, 2 usage error, 3 API
 * or network error, 4 timeout, 130 interrupted.
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

const describe = (text: string, example: string) => HelpDoc.blocks([HelpDoc.p(text), HelpDoc.p(`Example: ${example}`)])

const duration = (name: string, description: string) =>
  Options.text(name).pipe(
    Options.withPseudoName("DURATION"),
    Options.mapEffect((input) =>
      Either.match(Durations.parse(input), {
        onLeft: (problem) => Effect.fail(ValidationError.invalidValue(HelpDoc.p(`--${name}: ${problem}`))),
        onRight: Effect.succeed
      })
    ),
    Options.withDescription(description),
    Options.optional
  )

const apiKey = Options.redacted("api-key").pipe(
  Options.withPseudoName("KEY"),
  Options.withDescription("The API key (default: $QOERY_API_KEY). It is never printed nor journaled."),
  Options.optional
)

const baseUrl = Options.text("base-url").pipe(
  Options.withPseudoName("URL"),
  Options.withDescription(
    "The API origin (default: $QOERY_BASE_URL, else https://api.qoery.com; with neither a key nor a base URL, an embedded emulator)."
  ),
  Options.optional
)

const json = Options.boolean("json").pipe(
  Options.withDescription("Write each status as one NDJSON line in the API's wire format on stdout, and nothing else.")
)

const interval = duration("interval", "Time between two polls, e.g. 2s (default: what the server suggests).")
const timeout = duration("timeout", "Give up (exit 4) when the job has not ended after this long, e.g. 10m.")

const out = (description: string) =>
  Options.file("out").pipe(Options.withPseudoName("FILE"), Options.withDescription(description), Options.optional)

const jobId = Args.text({ name: "job-id" }).pipe(Args.withDescription("The job id, e.g. 20251110_151628."))

const connection = { apiKey, baseUrl }

const run = Command.make("run", {
  search: Args.text({ name: "search" }).pipe(Args.withDescription("What to build a dataset of, as one argument.")),
  out: out("Where to write the CSV (default: <job-id>.csv). Written whole or not at all."),
  json,
  interval,
  timeout,
  ...connection
}, Commands.run).pipe(Command.withDescription(describe(
  "Starts a dataset job, shows its progress until it ends, then writes its CSV. The job is journaled first, so `qoery resume` can finish it if this command is killed.",
  "qoery run \"climate change statistics\" --out out/climate.csv"
)))

const watch = Command.make("watch", { jobId, json, interval, timeout, ...connection }, Commands.watch).pipe(
  Command.withDescription(describe(
    "Shows the progress of a job until it ends.",
    "qoery watch 20251110_151628 --json | jq .progress"
  ))
)

const status = Command.make("status", { jobId, json, ...connection }, Commands.status).pipe(
  Command.withDescription(describe(
    "Prints the current status of a job (exit 1 when the job is in error).",
    "qoery status 20251110_151628"
  ))
)

const csv = Command.make("csv", {
  jobId,
  out: out("Where to write the CSV, whole or not at all (default: stdout)."),
  ...connection
}, Commands.csv).pipe(Command.withDescription(describe(
  "Downloads the CSV of a job; while the job runs, the rows collected so far.",
  "qoery csv 20251110_151628 --out data.csv"
)))

const usage = Command.make("usage", { json, ...connection }, Commands.usage).pipe(
  Command.withDescription(describe("Shows the usage and quota of the API key.", "qoery usage --json"))
)

const plans = Command.make("plans", { json, ...connection }, Commands.plans).pipe(
  Command.withDescription(describe("Lists the subscription plans.", "qoery plans"))
)

const health = Command.make("health", { json, ...connection }, Commands.health).pipe(
  Command.withDescription(describe("Says whether the API is up.", "qoery health --base-url http://127.0.0.1:8787"))
)

const emulator = Command.make("emulator", {
  port: Options.integer("port").pipe(
    Options.withDescription("The port to listen on (0 picks a free one)."),
    Options.withDefault(8787)
  ),
  host: Options.text("host").pipe(
    Options.withDescription("The address to listen on."),
    Options.withDefault("127.0.0.1")
  ),
  jobDuration: duration("job-duration", "How long a job takes, e.g. 30s (default: 20s).").pipe(
    Options.map((d) => d._tag === "Some" ? d.value : Durations.parse("20s").pipe(Either.getOrThrow))
  )
}, Commands.emulator).pipe(Command.withDescription(describe(
  "Serves an emulator of the Qoery API, for trying the CLI and testing your own code offline.",
  "qoery emulator --port 8787 --job-duration 30s"
)))

const resume = Command.make("resume", { json, interval, timeout, ...connection }, Commands.resume).pipe(
  Command.withDescription(describe(
    "Watches every job `qoery run` journaled that has no recorded end, and writes its CSV where that run was told to.",
    "qoery resume"
  ))
)

/**
 * The `qoery` command and its subcommands.
 *
 * @since 0.1.0
 * @category commands
 */
export const command = Command.make("qoery").pipe(
  Command.withDescription(describe(
    "Start, watch and download Qoery dataset jobs. With neither QOERY_API_KEY nor QOERY_BASE_URL set, runs against an embedded emulator.",
    "qoery run \"climate change statistics\" --out out/climate.csv"
  )),
  Command.withSubcommands([run, watch, status, csv, usage, plans, health, emulator, resume])
)

const cli = Command.run(command, { name: "qoery", version })

/**
 * Runs the command line (`process.argv` form: runtime and script first) and
 * gives the exit code, after printing what went wrong to stderr. Interruption
 * is left to the runtime (exit 130).
 *
 * @since 0.1.0
 * @category running
 */
export const main = (
  argv: ReadonlyArray<string>
): Effect.Effect<number, never, FileSystem.FileSystem | Path.Path | Terminal.Terminal> =>
  cli(argv).pipe(
    Effect.as<number>(ExitCode.Ok),
    Effect.catchAll((error) =>
      Effect.sync(() => {
        const explained = error instanceof Commands.Explain
          ? Failure.explain(error.fields.error, { baseUrl: error.fields.baseUrl })
          : Failure.explain(error)
        for (const line of explained.lines) process.stderr.write(line + "\n")
        return explained.code
      })
    )
  )
