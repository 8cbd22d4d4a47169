/**
 * The flags several commands share, each with the one description its help
 * shows.
 */
import { QoeryClient } from "@effect-qoery/client"
import * as Args from "@effect/cli/Args"
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as Options from "@effect/cli/Options"
import * as ValidationError from "@effect/cli/ValidationError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as Option from "effect/Option"
import * as Durations from "./duration.js"
import { UsageError } from "./failure.js"

/** A duration flag (`500ms`, `2s`, `10m`); `min` is the shortest accepted. */
export const duration = (name: string, description: string, min: Duration.Duration = Duration.zero) =>
  Options.text(name).pipe(
    Options.withPseudoName("DURATION"),
    Options.mapEffect((input) =>
      Either.match(Durations.parse(input), {
        onLeft: (problem) => Effect.fail(ValidationError.invalidValue(HelpDoc.p(`--${name}: ${problem}`))),
        onRight: (d) =>
          Duration.lessThan(d, min)
            ? Effect.fail(
              ValidationError.invalidValue(HelpDoc.p(`--${name}: ${input} is less than ${Durations.short(min)}`))
            )
            : Effect.succeed(d)
      })
    ),
    Options.withDescription(description)
  )

/** `--json` */
export const json = Options.boolean("json").pipe(
  Options.withDescription("Write each status as one NDJSON line in the API's wire format on stdout, and nothing else.")
)

/** The shortest `--interval`: a user's interval is used as given, down to this floor. */
export const minInterval = Duration.millis(100)

/** `--interval` */
export const interval = duration(
  "interval",
  "Time between two polls, e.g. 2s, used as given (at least 100ms; default: what the server suggests).",
  minInterval
).pipe(Options.optional)

/** `--timeout` */
export const timeout = duration("timeout", "Give up (exit 4) when the job has not ended after this long, e.g. 10m.")
  .pipe(Options.optional)

/** `--out FILE` */
export const out = (description: string) =>
  Options.file("out").pipe(Options.withPseudoName("FILE"), Options.withDescription(description), Options.optional)

/** `<job-id>` */
export const jobId = Args.text({ name: "job-id" }).pipe(Args.withDescription("The job id, e.g. 20251110_151628."))

/** The job id, trimmed, or a `UsageError` saying what is wrong with it, before any request. */
export const validJobId = (jobId: string) =>
  Either.match(QoeryClient.validateJobId(jobId.trim()), {
    onLeft: (error) =>
      Effect.fail(
        new UsageError({
          problem: `invalid job id: ${error.description}`,
          hint: "A job id looks like 20251110_151628, as `qoery run` prints it."
        })
      ),
    onRight: Effect.succeed
  })

/** Flags shared by the commands that watch a job. */
export interface Watch {
  readonly json: boolean
  readonly interval: Option.Option<Duration.Duration>
  readonly timeout: Option.Option<Duration.Duration>
}

/** The flags of a command that watches a job. */
export const watch = { json, interval, timeout }

/** A description with its example, as every command's help shows it. */
export const describe = (text: string, example: string) =>
  HelpDoc.blocks([HelpDoc.p(text), HelpDoc.p(`Example: ${example}`)])
