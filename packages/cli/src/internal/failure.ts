/**
 * What the command says when it fails, and the exit code it ends with. Each
 * message says what happened and what to do; none holds the API key.
 */
import type { JobStatus } from "@effect-qoery/client"
import { QoeryError } from "@effect-qoery/client"
import * as ValidationError from "@effect/cli/ValidationError"
import * as Duration from "effect/Duration"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import * as Durations from "./duration.js"

/** The exit codes of `qoery`. */
export const ExitCode = {
  /** The job completed (or the command did what it was asked). */
  Ok: 0,
  /** The job ended in error. */
  JobFailed: 1,
  /** Bad flags, an invalid job id, an empty search, missing configuration. */
  Usage: 2,
  /** The API or the network failed (Unauthorized and quota included), or the CSV could not be written. */
  Api: 3,
  /** `--timeout` passed before the job ended. */
  Timeout: 4,
  /** Interrupted (Ctrl-C). */
  Interrupted: 130
} as const

/** A usage error found by the command itself (the flag parser reports its own). */
export class UsageError extends Schema.TaggedError<UsageError>()("UsageError", {
  problem: Schema.String,
  hint: Schema.String
}) {
  override get message() {
    return this.problem
  }
}

/** The job ended in error; the command exits 1. */
export class JobEndedInError extends Schema.TaggedError<JobEndedInError>()("JobEndedInError", {
  jobId: Schema.String,
  error: Schema.String,
  rows: Schema.Number
}) {
  override get message() {
    return `Job ${this.jobId} ended in error: ${this.error}`
  }
}

/** A failure after which the command has already said everything; only the exit code is left. */
export class Reported extends Schema.TaggedError<Reported>()("Reported", { code: Schema.Number }) {}

/** What to print and the exit code, for any failure of a command. */
export interface Explained {
  readonly code: number
  readonly lines: ReadonlyArray<string>
}

const tagOf = (u: unknown): string | undefined =>
  Predicate.hasProperty(u, "_tag") && typeof u._tag === "string" ? u._tag : undefined

const messageOf = (u: unknown): string =>
  Predicate.hasProperty(u, "message") && typeof u.message === "string" ? u.message : String(u)

const inputHints: Record<string, string> = {
  jobId: "A job id looks like 20251110_151628; `qoery resume` lists the jobs this machine started.",
  search: "Pass the search as one argument, e.g. qoery run \"climate change statistics\".",
  apiKey: "Set QOERY_API_KEY (or pass --api-key) to your Qoery API key.",
  baseUrl: "Set QOERY_BASE_URL (or pass --base-url) to an origin such as https://api.qoery.com.",
  timeout: "Pass a positive duration, e.g. --timeout 10m."
}

/** Explains a failure of a command against `baseUrl`. */
export const explain = (error: unknown, context: { readonly baseUrl?: string | undefined } = {}): Explained => {
  const where = context.baseUrl === undefined ? "the API" : context.baseUrl
  if (ValidationError.isValidationError(error)) {
    // @effect/cli has printed what is wrong already.
    return { code: ExitCode.Usage, lines: ["Run `qoery --help` or `qoery <command> --help` for the usage."] }
  }
  const tag = tagOf(error)
  switch (tag) {
    case "Reported":
      return { code: (error as Reported).code, lines: [] }
    case "UsageError": {
      const e = error as UsageError
      return { code: ExitCode.Usage, lines: [`error: ${e.problem}`, `  ${e.hint}`] }
    }
    case "JobEndedInError": {
      const e = error as JobEndedInError
      return {
        code: ExitCode.JobFailed,
        lines: [
          `error: job ${e.jobId} ended in error: ${e.error}`,
          e.rows > 0
            ? `  It collected ${e.rows} rows before failing: \`qoery csv ${e.jobId} --out FILE\` saves them.`
            : "  Try another search, or run the same one again later."
        ]
      }
    }
    case "InvalidInput": {
      const e = error as QoeryError.InvalidInput
      return {
        code: ExitCode.Usage,
        lines: [`error: ${e.message}`, `  ${inputHints[e.field] ?? "Check the flags: qoery --help."}`]
      }
    }
    case "Unauthorized": {
      const e = error as QoeryError.Unauthorized
      return {
        code: ExitCode.Api,
        lines: [
          `error: ${where} refused the API key (401: ${e.error}${e.details === undefined ? "" : `, ${e.details}`}).`,
          "  Set QOERY_API_KEY (or pass --api-key) to a valid key; unset QOERY_BASE_URL and QOERY_API_KEY to try the embedded emulator."
        ]
      }
    }
    case "QuotaExceeded": {
      const e = error as QoeryError.QuotaExceeded
      const reset = e.resetDate === undefined ? "at the start of the next period" : `on ${e.resetDate.toJSON()}`
      return {
        code: ExitCode.Api,
        lines: [
          `error: the monthly quota of this API key is spent (${e.error}); it resets ${reset}.`,
          "  Wait for the reset, or pick a larger plan (`qoery plans`); `qoery usage` shows what is left."
        ]
      }
    }
    case "RateLimited": {
      const e = error as QoeryError.RateLimited
      return {
        code: ExitCode.Api,
        lines: [
          `error: ${where} is rate limiting this key; it asks to wait ${Durations.short(e.retryAfter)}.`,
          "  Wait that long and run the command again."
        ]
      }
    }
    case "JobNotFound": {
      const e = error as QoeryError.JobNotFound
      return {
        code: ExitCode.Api,
        lines: [
          `error: ${where} has no job ${e.jobId}${e.details === undefined ? "" : ` (${e.details})`}.`,
          "  Check the id, and that QOERY_BASE_URL / --base-url is the server that started it."
        ]
      }
    }
    case "CsvNotReady": {
      const e = error as QoeryError.CsvNotReady
      return {
        code: ExitCode.Api,
        lines: [
          `error: job ${e.jobId} has no rows yet, so there is no CSV to fetch.`,
          `  Try again in a few seconds, or wait for the job: qoery watch ${e.jobId}`
        ]
      }
    }
    case "BadRequest": {
      const e = error as QoeryError.BadRequest
      return {
        code: ExitCode.Api,
        lines: [`error: ${where} rejected the request: ${e.message}.`, "  Check the search text and the flags."]
      }
    }
    case "ServerError": {
      const e = error as QoeryError.ServerError
      return {
        code: ExitCode.Api,
        lines: [
          `error: ${where} failed: ${e.message}.`,
          "  Try again in a moment; `qoery health` says whether it is up."
        ]
      }
    }
    case "TransportError": {
      const e = error as QoeryError.TransportError
      return {
        code: ExitCode.Api,
        lines: [
          `error: no answer from ${where}: ${e.message}.`,
          "  Check the network and QOERY_BASE_URL / --base-url, then run the command again."
        ]
      }
    }
    case "ResponseError": {
      const e = error as QoeryError.ResponseError
      return {
        code: ExitCode.Api,
        lines: [
          `error: ${where} sent a response this client does not understand: ${e.description}.`,
          "  Check that QOERY_BASE_URL / --base-url points to a Qoery API."
        ]
      }
    }
    case "WatchTimeout": {
      const e = error as unknown as {
        jobId: string
        elapsed?: Duration.DurationInput
        lastStatus?: JobStatus.JobStatus | { _tag: "Some"; value: JobStatus.JobStatus } | unknown
      }
      const last = lastStatusOf(e.lastStatus)
      const at = last === undefined
        ? ""
        : ` It was at ${
          last.status === "processing" ? last.progress.currentStep : last.status
        }, ${last.progress.rowsCollected} rows.`
      const after = e.elapsed === undefined ? "" : ` after ${Durations.short(Duration.decode(e.elapsed))}`
      return {
        code: ExitCode.Timeout,
        lines: [
          `error: stopped waiting for job ${e.jobId}${after} (--timeout).${at}`,
          `  The job goes on on the server: \`qoery watch ${e.jobId}\` or \`qoery resume\` picks it up.`
        ]
      }
    }
    case "CsvError":
      return {
        code: ExitCode.Api,
        lines: [`error: the CSV is malformed: ${messageOf(error)}.`, "  Nothing was written; fetch it again later."]
      }
    case "SystemError":
    case "BadArgument":
      return {
        code: ExitCode.Api,
        lines: [`error: ${messageOf(error)}.`, "  Check that the folder exists and can be written, then run again."]
      }
  }
  if (QoeryError.isQoeryError(error)) return { code: ExitCode.Api, lines: [`error: ${messageOf(error)}`] }
  return { code: 1, lines: [`error: unexpected failure: ${messageOf(error)}`] }
}

const lastStatusOf = (u: unknown): JobStatus.JobStatus | undefined => {
  if (u === undefined || u === null) return undefined
  if (tagOf(u) === "None") return undefined
  if (tagOf(u) === "Some") return (u as { value: JobStatus.JobStatus }).value
  return Predicate.hasProperty(u, "progress") ? u as JobStatus.JobStatus : undefined
}
