/**
 * What the command says when it fails, and the exit code it ends with. Every
 * failure a command can have is one case of `CliError`, and `explain` matches
 * each case exhaustively: an error added to the union that is not explained
 * here does not compile. Each message says what happened and what to do; none
 * holds the API key.
 */
import type { DatasetCsv } from "@effect-qoery/client"
import type { JobWatcher, QoeryError } from "@effect-qoery/client"
import type { PlatformError } from "@effect/platform/Error"
import * as Match from "effect/Match"
import * as Schema from "effect/Schema"
import * as Durations from "./duration.js"
import type { JournalError, JournalLocked } from "./journal.js"

/** The exit codes of `qoery`. */
export const ExitCode = {
  /** The job completed (or the command did what it was asked), or stdout was closed by its reader. */
  Ok: 0,
  /** The job ended in error. */
  JobFailed: 1,
  /** Bad flags, an invalid job id, an empty search, missing configuration, a port in use. */
  Usage: 2,
  /**
   * The API or the network failed (Unauthorized and quota included), the CSV or the journal could not be written,
   * or another `qoery resume` holds the journal.
   */
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

/** Stdout could not be written: `closed` when its reader went away (`| head`), which ends the command quietly. */
export class OutputError extends Schema.TaggedError<OutputError>()("OutputError", {
  closed: Schema.Boolean,
  description: Schema.String
}) {
  override get message() {
    return `cannot write to stdout: ${this.description}`
  }
}

/** A failure after which the command has already said everything; only the exit code is left. */
export class Reported extends Schema.TaggedError<Reported>()("Reported", { code: Schema.Number }) {}

/** Every way a command can fail. */
export type CliError =
  | QoeryError.QoeryError
  | DatasetCsv.CsvError
  | PlatformError
  | JobWatcher.WatchTimeout
  | JobWatcher.JobFailed
  | UsageError
  | OutputError
  | JournalError
  | JournalLocked
  | Reported

/** What to print and the exit code, for a failure of a command. */
export interface Explained {
  readonly code: number
  readonly lines: ReadonlyArray<string>
}

/** Where the failure happened: the API's base URL, and whether it was the emulator inside this process. */
export interface Where {
  readonly baseUrl?: string | undefined
  readonly embedded?: boolean | undefined
}

const inputHints: Record<string, string> = {
  jobId: "A job id looks like 20251110_151628; `qoery resume` lists the jobs this machine started.",
  search: "Pass the search as one argument, e.g. qoery run \"climate change statistics\".",
  apiKey: "Set QOERY_API_KEY (or pass --api-key) to your Qoery API key.",
  baseUrl: "Set QOERY_BASE_URL (or pass --base-url) to an origin such as https://api.qoery.com.",
  timeout: "Pass a longer --timeout (e.g. 10m), or a shorter --interval."
}

const api = (...lines: ReadonlyArray<string>): Explained => ({ code: ExitCode.Api, lines })

/** Explains a failure of a command against `where`. */
export const explain = (error: CliError, where: Where = {}): Explained => {
  const origin = where.baseUrl ?? "the API"
  return Match.valueTags(error, {
    Reported: (e): Explained => ({ code: e.code, lines: [] }),
    OutputError: (e): Explained =>
      e.closed ? { code: ExitCode.Ok, lines: [] } : api(`error: ${e.message}.`, "  Check where stdout goes."),
    UsageError: (e): Explained => ({ code: ExitCode.Usage, lines: [`error: ${e.problem}`, `  ${e.hint}`] }),
    JobFailed: (e): Explained => {
      const { error: reason, jobId, progress } = e.status
      return {
        code: ExitCode.JobFailed,
        lines: [
          `error: job ${jobId} ended in error: ${reason}`,
          where.embedded === true
            ? "  It ran on the embedded emulator, which stopped with this command: run the search again, or start `qoery emulator` and set QOERY_BASE_URL to keep a job after its command ends."
            : progress.rowsCollected > 0
            ? `  It collected ${progress.rowsCollected} rows before failing: \`qoery csv ${jobId} --out FILE\` saves them.`
            : "  Try another search, or run the same one again later."
        ]
      }
    },
    InvalidInput: (e): Explained => ({
      code: ExitCode.Usage,
      lines: [`error: ${e.message}`, `  ${inputHints[e.field] ?? "Check the flags: qoery --help."}`]
    }),
    Unauthorized: (e) =>
      api(
        `error: ${origin} refused the API key (401: ${e.error}${e.details === undefined ? "" : `, ${e.details}`}).`,
        "  Set QOERY_API_KEY (or pass --api-key) to a valid key; unset QOERY_BASE_URL and QOERY_API_KEY to try the embedded emulator."
      ),
    QuotaExceeded: (e) =>
      api(
        `error: the monthly quota of this API key is spent (${e.error}); it resets ${
          e.resetDate === undefined ? "at the start of the next period" : `on ${e.resetDate.toJSON()}`
        }.`,
        "  Wait for the reset, or pick a larger plan (`qoery plans`); `qoery usage` shows what is left."
      ),
    RateLimited: (e) =>
      api(
        `error: ${origin} is rate limiting this key; it asks to wait ${Durations.short(e.retryAfter)}.`,
        "  Wait that long and run the command again."
      ),
    JobNotFound: (e) =>
      api(
        `error: ${origin} has no job ${e.jobId}${e.details === undefined ? "" : ` (${e.details})`}.`,
        "  Check the id, and that QOERY_BASE_URL / --base-url is the server that started it."
      ),
    CsvNotReady: (e) =>
      api(
        `error: job ${e.jobId} has no rows yet, so there is no CSV to fetch.`,
        `  Try again in a few seconds, or wait for the job: qoery watch ${e.jobId}`
      ),
    BadRequest: (e) =>
      api(`error: ${origin} rejected the request: ${e.message}.`, "  Check the search text and the flags."),
    ServerError: (e) =>
      api(`error: ${origin} failed: ${e.message}.`, "  Try again in a moment; `qoery health` says whether it is up."),
    TransportError: (e) =>
      api(
        `error: no answer from ${origin}: ${e.message}.`,
        "  Check the network and QOERY_BASE_URL / --base-url, then run the command again."
      ),
    ResponseError: (e) =>
      api(
        `error: ${origin} sent a response this client does not understand: ${e.description}.`,
        "  Check that QOERY_BASE_URL / --base-url points to a Qoery API."
      ),
    WatchTimeout: (e): Explained => {
      const last = e.lastStatus
      const at = last === undefined
        ? ""
        : ` It was at ${
          last.status === "processing" ? last.progress.currentStep : last.status
        }, ${last.progress.rowsCollected} rows.`
      const failing = e.lastError === undefined ? "" : ` The polls since failed, the last with: ${e.lastError}`
      return {
        code: ExitCode.Timeout,
        lines: [
          `error: stopped waiting for job ${e.jobId} after ${Durations.short(e.elapsed)} (--timeout).${at}${failing}`,
          where.embedded === true
            ? "  It ran on the embedded emulator, which stopped with this command: run it again with a longer --timeout."
            : `  The job goes on on the server: \`qoery watch ${e.jobId}\` or \`qoery resume\` picks it up.`
        ]
      }
    },
    JournalError: (e) =>
      api(
        `error: ${e.message}; nothing was started.`,
        "  Set QOERY_STATE_DIR to a folder this user can write, or pass --no-journal to `qoery run` (then `qoery resume` cannot pick the job up)."
      ),
    JournalLocked: (e) =>
      api(
        `error: ${e.message}; it is resuming those jobs.`,
        "  Let it finish, then run `qoery resume` again for what is left (the lock of a resume that was killed frees itself within seconds)."
      ),
    CsvError: (e) => api(`error: the CSV is malformed: ${e.message}.`, "  Nothing was written; fetch it again later."),
    SystemError: (e) =>
      api(`error: ${e.message}.`, "  Check that the folder exists and can be written, then run again."),
    BadArgument: (e) =>
      api(`error: ${e.message}.`, "  Check that the folder exists and can be written, then run again.")
  })
}
