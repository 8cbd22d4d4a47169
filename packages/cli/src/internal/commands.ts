/**
 * What each command does. `Cli.ts` declares the flags; these are the handlers.
 */
import type { JobStatus } from "@effect-qoery/client"
import { JobWatcher, Payloads, QoeryClient } from "@effect-qoery/client"
import { Emulator } from "@effect-qoery/emulator"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as Connection from "./connection.js"
import * as CsvFile from "./csvFile.js"
import * as Durations from "./duration.js"
import { JobEndedInError, Reported, UsageError } from "./failure.js"
import * as Failure from "./failure.js"
import * as Journal from "./journal.js"
import * as Output from "./output.js"

/** Flags shared by the commands that watch a job. */
export interface WatchFlags {
  readonly json: boolean
  readonly interval: Option.Option<Duration.Duration>
  readonly timeout: Option.Option<Duration.Duration>
}

const watchOptions = (flags: WatchFlags, progress: Output.Progress) => ({
  // An explicit --interval wins over the server's hint.
  ...Option.match(flags.interval, {
    onNone: () => ({}),
    onSome: (interval) => ({ interval, pollingInterval: interval })
  }),
  ...Option.match(flags.timeout, { onNone: () => ({}), onSome: (timeout) => ({ timeout }) }),
  onRetry: (info: Output.RetryInfo) => progress.retry(info)
})

const validSearch = (search: string) =>
  Either.match(QoeryClient.validateSearch(search), {
    onLeft: (error) =>
      Effect.fail(
        new UsageError({
          problem: search.trim() === "" ? "the search is empty" : error.description,
          hint: "Pass what to search for as one argument, e.g. qoery run \"climate change statistics\""
        })
      ),
    onRight: Effect.succeed
  })

const validJobId = (jobId: string) =>
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

/** Runs `body` with the client of the resolved connection; explains failures against its base URL. */
const withClient = <A, E, R>(
  flags: Connection.Flags,
  output: Output.Output,
  body: (connection: Connection.Connection) => Effect.Effect<A, E, R>
) =>
  Effect.scoped(Effect.gen(function*() {
    const connection = yield* Connection.resolve(flags, output)
    yield* Connection.checkBaseUrl(connection.baseUrl)
    return yield* body(connection).pipe(
      Effect.provide(Connection.clientLayer(connection)),
      Effect.mapError((error) => explainFor(error, connection.baseUrl))
    )
  }))

/** Turns a failure into `Reported` after printing it, so the base URL is known in the message. */
const explainFor = (error: unknown, baseUrl: string) => new Explain({ error, baseUrl })

/** A failure with the base URL it happened against, explained by the caller of the command. */
export class Explain {
  readonly _tag = "Explain"
  constructor(readonly fields: { readonly error: unknown; readonly baseUrl: string }) {}
}

const kb = (bytes: number) => bytes < 1024 ? `${bytes} B` : `${(bytes / 1024).toFixed(1)} KB`

/** Writes the job's CSV to `out` whole (temp file, then rename), creating its folder. */
const saveCsv = (jobId: string, out: string) => CsvFile.write(jobId, out)

const displayPath = (path: Path.Path, file: string) => {
  const relative = path.relative(process.cwd(), file)
  return relative.startsWith("..") || path.isAbsolute(relative) ? file : relative
}

const interruptedMessage = (output: Output.Output, jobId: string | undefined, connection: Connection.Connection) =>
  jobId === undefined
    ? output.message("Interrupted before the job started.")
    : connection.embedded
    ? output.message(
      `Interrupted: stopped watching job ${jobId}. It ran on the embedded emulator, which stopped with this command; run it again to start over.`
    )
    : output.message(
      `Interrupted: stopped watching job ${jobId}; it goes on on the server. Pick it up with \`qoery resume\` (or \`qoery watch ${jobId}\`).`
    )

/** Follows a job's statuses to the end; gives the terminal status. */
const follow = <E>(
  statuses: Stream.Stream<JobStatus.JobStatus, E, QoeryClient.QoeryClient>,
  progress: Output.Progress
) =>
  statuses.pipe(
    Stream.tap((status) => progress.update(status)),
    Stream.runLast,
    Effect.zipLeft(progress.close),
    Effect.flatMap(Option.match({
      onNone: () => Effect.dieMessage("the watcher ended without a status"),
      onSome: (status) => Effect.succeed(status)
    }))
  )

/** After a job ended: write its CSV and summary when it completed, fail with `JobEndedInError` otherwise. */
const finish = (
  output: Output.Output,
  status: JobStatus.JobStatus,
  out: string,
  startedAt: number,
  baseUrl: string,
  journaled: boolean
) =>
  Effect.gen(function*() {
    const path = yield* Path.Path
    if (status.status !== "completed") {
      if (journaled) yield* Journal.ended({ jobId: status.jobId, baseUrl, outcome: "error" })
      return yield* new JobEndedInError({
        jobId: status.jobId,
        error: status.status === "error" ? status.error : "the job did not complete",
        rows: status.progress.rowsCollected
      })
    }
    const saved = yield* saveCsv(status.jobId, out)
    if (journaled) yield* Journal.ended({ jobId: status.jobId, baseUrl, outcome: "completed" })
    const summary = `Done: ${saved.rows} rows × ${saved.columns} columns written to ${displayPath(path, out)} (${
      kb(saved.bytes)
    }) in ${Durations.short(Duration.millis(Date.now() - startedAt))}.`
    yield* output.json ? output.message(summary) : output.result(summary)
  })

/** `qoery run <search>` */
export const run = (
  args: WatchFlags & Connection.Flags & { readonly search: string; readonly out: Option.Option<string> }
) =>
  Effect.gen(function*() {
    const search = yield* validSearch(args.search)
    const output = Output.make({ json: args.json })
    const path = yield* Path.Path
    const context = yield* Effect.context<FileSystem.FileSystem | Path.Path>()
    const startedAt = Date.now()
    yield* withClient(args, output, (connection) =>
      Effect.scoped(Effect.gen(function*() {
        const progress = yield* Output.progress(output)
        let jobId: string | undefined
        let out = ""
        const status = yield* follow(
          JobWatcher.run(search, {
            ...watchOptions(args, progress),
            onStarted: (started: { readonly jobId: string }) =>
              Effect.gen(function*() {
                jobId = started.jobId
                out = path.resolve(Option.getOrElse(args.out, () => `${started.jobId}.csv`))
                yield* Journal.started({
                  jobId: started.jobId,
                  search,
                  baseUrl: connection.baseUrl,
                  out,
                  ...(connection.embedded ? { embedded: true } : {})
                }).pipe(
                  Effect.catchAll((error) =>
                    output.message(
                      `warning: could not journal the job (${error.message}); \`qoery resume\` will not know it.`
                    )
                  )
                )
                yield* output.message(`Started job ${started.jobId} for ${JSON.stringify(search)}.`)
              }).pipe(Effect.provide(context))
          }),
          progress
        ).pipe(
          Effect.onInterrupt(() => Effect.zipRight(progress.close, interruptedMessage(output, jobId, connection)))
        )
        yield* finish(output, status, out, startedAt, connection.baseUrl, true)
      })))
  })

/** `qoery watch <job-id>` */
export const watch = (args: WatchFlags & Connection.Flags & { readonly jobId: string }) =>
  Effect.gen(function*() {
    const jobId = yield* validJobId(args.jobId)
    const output = Output.make({ json: args.json })
    yield* withClient(args, output, (connection) =>
      Effect.scoped(Effect.gen(function*() {
        const progress = yield* Output.progress(output)
        const status = yield* follow(JobWatcher.watch(jobId, watchOptions(args, progress)), progress).pipe(
          Effect.onInterrupt(() => Effect.zipRight(progress.close, interruptedMessage(output, jobId, connection)))
        )
        if (status.status === "error") {
          return yield* new JobEndedInError({ jobId, error: status.error, rows: status.progress.rowsCollected })
        }
        const line =
          `Job ${jobId} completed: ${status.progress.rowsCollected} rows. Save them with \`qoery csv ${jobId} --out FILE\`.`
        yield* output.json ? output.message(line) : output.result(line)
      })))
  })

const describeStatus = (status: JobStatus.JobStatus): ReadonlyArray<string> => {
  const p = status.progress
  const lines = [
    `job       ${status.jobId}`,
    `search    ${status.query}`,
    `status    ${status.status}${status.status === "processing" ? ` (${p.currentStep})` : ""}`,
    `progress  ${p.urlsProcessed}/${p.urlsTotal} urls, ${p.rowsCollected} rows`,
    `started   ${status.startedAt.toJSON()}`
  ]
  if (status.status !== "processing" && status.completedAt !== undefined) {
    lines.push(`ended     ${status.completedAt.toJSON()}`)
  }
  if (status.status === "error") lines.push(`error     ${status.error}`)
  return lines
}

/** `qoery status <job-id>`: exits 1 when the job is in error. */
export const status = (args: Connection.Flags & { readonly jobId: string; readonly json: boolean }) =>
  Effect.gen(function*() {
    const jobId = yield* validJobId(args.jobId)
    const output = Output.make({ json: args.json })
    const current = yield* withClient(
      args,
      output,
      () => Effect.flatMap(QoeryClient.QoeryClient, (client) => client.getStatus(jobId))
    )
    if (output.json) yield* output.result(Output.wire(current))
    else for (const line of describeStatus(current)) yield* output.result(line)
    if (current.status === "error") return yield* new Reported({ code: Failure.ExitCode.JobFailed })
  })

const writeStdout = (chunk: Uint8Array) =>
  Effect.async<void>((resume) => {
    if (process.stdout.write(chunk)) resume(Effect.void)
    else process.stdout.once("drain", () => resume(Effect.void))
  })

/** `qoery csv <job-id> [--out FILE]`: the CSV so far, partial while the job runs. */
export const csv = (args: Connection.Flags & { readonly jobId: string; readonly out: Option.Option<string> }) =>
  Effect.gen(function*() {
    const jobId = yield* validJobId(args.jobId)
    const output = Output.make({ json: false })
    const path = yield* Path.Path
    yield* withClient(args, output, () =>
      Effect.gen(function*() {
        const client = yield* QoeryClient.QoeryClient
        const current = yield* client.getStatus(jobId)
        const partial = current.status === "processing"
          ? ` (partial: the job is still at ${current.progress.currentStep})`
          : current.status === "error"
          ? " (partial: the job ended in error)"
          : ""
        if (Option.isNone(args.out)) {
          yield* client.downloadCsv(jobId).pipe(Stream.runForEach(writeStdout))
          if (partial !== "") yield* output.message(`The CSV above is partial${partial.slice(9, -1)}.`)
          return
        }
        const out = path.resolve(args.out.value)
        const saved = yield* saveCsv(jobId, out)
        yield* output.message(
          `Wrote ${saved.rows} rows × ${saved.columns} columns to ${displayPath(path, out)} (${
            kb(saved.bytes)
          })${partial}.`
        )
      }))
  })

/** `qoery usage` */
export const usage = (args: Connection.Flags & { readonly json: boolean }) =>
  Effect.gen(function*() {
    const output = Output.make({ json: args.json })
    const stats = yield* withClient(args, output, () => Effect.flatMap(QoeryClient.QoeryClient, (c) => c.usage))
    if (output.json) return yield* output.result(JSON.stringify(Schema.encodeSync(Payloads.UsageStats)(stats)))
    yield* output.result(`plan    ${stats.plan}`)
    yield* output.result(`calls   ${stats.totalUsage} this month, ${stats.totalErrors} errors`)
    for (const e of stats.endpointBreakdown) {
      yield* output.result(
        `  ${e.endpoint.padEnd(28)} ${String(e.calls).padStart(6)} / ${e.limit}  (${e.errors} errors)`
      )
    }
  })
/** `qoery plans` */
export const plans = (args: Connection.Flags & { readonly json: boolean }) =>
  Effect.gen(function*() {
    const output = Output.make({ json: args.json })
    const response = yield* withClient(args, output, () => Effect.flatMap(QoeryClient.QoeryClient, (c) => c.plans))
    if (output.json) {
      return yield* output.result(JSON.stringify(Schema.encodeSync(Payloads.PlansResponse)(response)))
    }
    for (const [key, plan] of Object.entries(response.plans) as Array<[string, Payloads.Plan]>) {
      const limits = Object.entries(plan.limits).map(([k, v]) => `${k} ${v}`).join(", ")
      yield* output.result(
        `${key === response.defaultPlan ? "*" : " "} ${plan.name.padEnd(10)} ${plan.price.padEnd(12)} ${limits}`
      )
    }
  })

/** `qoery health` */
export const health = (args: Connection.Flags & { readonly json: boolean }) =>
  Effect.gen(function*() {
    const output = Output.make({ json: args.json })
    const response = yield* withClient(args, output, (connection) =>
      Effect.flatMap(QoeryClient.QoeryClient, (c) =>
        c.health).pipe(
          Effect.map((health) => ({ health, baseUrl: connection.baseUrl }))
        ))
    if (output.json) {
      return yield* output.result(JSON.stringify(Schema.encodeSync(Payloads.HealthResponse)(response.health)))
    }
    yield* output.result(`${response.baseUrl}: ${response.health.status} (${response.health.timestamp.toJSON()})`)
  })

/** `qoery emulator`: serves the emulator until interrupted. */
export const emulator = (
  args: { readonly port: number; readonly host: string; readonly jobDuration: Duration.Duration }
) =>
  Effect.gen(function*() {
    const output = Output.make({ json: false })
    yield* Effect.scoped(Effect.gen(function*() {
      const context = yield* Layer.build(
        Emulator.layer({ port: args.port, host: args.host, jobDuration: args.jobDuration })
      )
      const running = Context.get(context, Emulator.Emulator)
      yield* output.result(`Qoery emulator listening on ${running.baseUrl}`)
      yield* output.message(
        `Jobs take ${
          Durations.short(args.jobDuration)
        }. Use it with:\n  export QOERY_BASE_URL=${running.baseUrl} QOERY_API_KEY=${Emulator.demoApiKey}\nCtrl-C stops it.`
      )
      return yield* Effect.never
    }))
  })

/** `qoery resume`: watches every journaled job with no recorded end and writes its CSV to its `--out`. */
export const resume = (args: WatchFlags & Connection.Flags) =>
  Effect.gen(function*() {
    const output = Output.make({ json: args.json })
    const pending = yield* Journal.pending
    if (pending.length === 0) {
      yield* output.message(`Nothing to resume: every job in ${yield* Journal.path} has ended.`)
      return
    }
    yield* output.message(`Resuming ${pending.length} job${pending.length === 1 ? "" : "s"}.`)
    let worst = 0
    for (const entry of pending) {
      if (entry.embedded === true) {
        yield* output.message(
          `Job ${entry.jobId} (${
            JSON.stringify(entry.search)
          }) ran on an embedded emulator that stopped with its command; it cannot be recovered. Run it again: qoery run ${
            JSON.stringify(entry.search)
          }`
        )
        yield* Journal.ended({ jobId: entry.jobId, baseUrl: entry.baseUrl, outcome: "lost" })
        continue
      }
      yield* output.message(`Job ${entry.jobId} (${JSON.stringify(entry.search)}) on ${entry.baseUrl}:`)
      const { apiKey } = Connection.configured(args)
      const connection: Connection.Connection = { baseUrl: entry.baseUrl, apiKey, embedded: false }
      const startedAt = Date.now()
      const code = yield* Effect.scoped(Effect.gen(function*() {
        const progress = yield* Output.progress(output)
        const status = yield* follow(JobWatcher.watch(entry.jobId, watchOptions(args, progress)), progress).pipe(
          Effect.onInterrupt(() => Effect.zipRight(progress.close, interruptedMessage(output, entry.jobId, connection)))
        )
        yield* finish(output, status, entry.out, startedAt, entry.baseUrl, true)
        return 0
      })).pipe(
        Effect.provide(Connection.clientLayer(connection)),
        Effect.catchAll((error) =>
          Effect.gen(function*() {
            if (typeof error === "object" && error !== null && "_tag" in error && error._tag === "JobNotFound") {
              yield* Journal.ended({ jobId: entry.jobId, baseUrl: entry.baseUrl, outcome: "lost" })
            }
            const explained = Failure.explain(error, { baseUrl: entry.baseUrl })
            for (const line of explained.lines) yield* output.message(line)
            return explained.code
          })
        )
      )
      worst = Math.max(worst, code)
    }
    if (worst !== 0) return yield* new Reported({ code: worst })
  })
