/**
 * `qoery batch run|worker|status`: many searches as durable workflows
 * (`@effect-qoery/workflow`) on a SQLite file or Postgres. Killed at any point
 * and run again with the same arguments, a batch starts no search twice and
 * finishes the rest.
 */
import { QoeryClient } from "@effect-qoery/client"
import { CsvStore, DatasetWorkflow } from "@effect-qoery/workflow"
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as Options from "@effect/cli/Options"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as fs from "node:fs"
import * as path from "node:path"
import * as BatchDatabase from "../batchDatabase.js"
import * as Ledger from "../batchLedger.js"
import * as Connection from "../connection.js"
import { ExitCode, Reported, UsageError } from "../failure.js"
import * as Output from "../output.js"

const describe = (text: string, example: string) => HelpDoc.blocks([HelpDoc.p(text), HelpDoc.p(`Example: ${example}`)])

const db = Options.text("db").pipe(
  Options.withPseudoName("URL"),
  Options.withDescription(
    "Where batches are kept: a SQLite file (default: batch.db in the state folder, nothing to set up) or postgres://user@host:port/database."
  ),
  Options.optional
)

const out = Options.text("out").pipe(
  Options.withPseudoName("DIR"),
  Options.withDescription("The folder each job's CSV is written to, whole or not at all (created when missing).")
)

const json = Options.boolean("json").pipe(
  Options.withDescription("One NDJSON line per change on stdout, and nothing else.")
)

const concurrency = Options.integer("concurrency").pipe(
  Options.withPseudoName("N"),
  Options.withDescription("How many jobs this process runs at once (default 16)."),
  Options.withDefault(16)
)

// ---------------------------------------------------------------------------
// Inputs, all checked before anything starts

const usage = (problem: string, hint: string) => new UsageError({ problem, hint })

const parseDatabase = (input: Option.Option<string>) =>
  Effect.flatMap(
    BatchDatabase.defaultFile,
    (file) =>
      Either.match(BatchDatabase.parse(Option.getOrUndefined(input), file), {
        onLeft: Effect.fail,
        onRight: Effect.succeed
      })
  )

const readSearches = (args: ReadonlyArray<string>, from: Option.Option<string>) =>
  Effect.gen(function*() {
    const fromFile = Option.isNone(from) ? [] : yield* Effect.try({
      try: () => fs.readFileSync(from.value, "utf8").split(/\r?\n/),
      catch: (error) =>
        usage(
          `cannot read --from ${from.value}: ${(error as Error).message}`,
          "Pass --from a text file with one search per line."
        )
    }).pipe(Effect.map((lines) => lines.map((l) => l.trim()).filter((l) => l !== "" && !l.startsWith("#"))))
    const searches: Array<string> = []
    for (const search of [...args, ...fromFile]) {
      const valid = QoeryClient.validateSearch(search)
      if (Either.isLeft(valid)) {
        return yield* usage(
          `invalid search ${JSON.stringify(search.slice(0, 60))}: ${valid.left.description}`,
          "Each search is one argument or one line of the --from file."
        )
      }
      if (!searches.includes(search)) searches.push(search)
    }
    if (searches.length === 0) {
      return yield* usage("no search to run", "Pass searches as arguments, or --from FILE with one per line.")
    }
    return searches
  })

const checkConcurrency = (n: number) =>
  Number.isInteger(n) && n >= 1 && n <= 1000
    ? Effect.void
    : Effect.fail(usage(`--concurrency ${n} is out of range`, "Pass a whole number from 1 to 1000."))

const checkOut = (dir: string) =>
  dir.trim() === ""
    ? Effect.fail(usage("--out is empty", "Pass --out the folder the CSVs go to."))
    : fs.existsSync(dir) && !fs.statSync(dir).isDirectory()
    ? Effect.fail(usage(`--out ${dir} is a file, not a folder`, "Pass --out the folder the CSVs go to."))
    : Effect.succeed(path.resolve(dir))

/** Postgres that does not answer: said on stderr, exit 3. */
const explainDatabase =
  (output: Output.Output) => <A, E, R>(effect: Effect.Effect<A, E | BatchDatabase.Unreachable, R>) =>
    Effect.catchIf(effect, BatchDatabase.isUnreachable, (error) =>
      Effect.zipRight(
        Effect.zipRight(
          output.message(`error: ${error.message}`),
          output.message("  Check that the server runs and that the URL (host, port, user, database) is right.")
        ),
        Effect.fail(new Reported({ code: ExitCode.Api }))
      ))

/** Cluster logs go to stderr, warnings and up only, so stdout stays the command's. */
const quietLogs = Layer.mergeAll(
  Logger.replace(Logger.defaultLogger, Logger.prettyLogger({ stderr: true, colors: false })),
  Logger.minimumLogLevel(LogLevel.Warning)
)

// ---------------------------------------------------------------------------
// Progress

const lineOf = (row: Ledger.Row): string => {
  const job = row.job_id ?? "-"
  switch (row.state) {
    case "submitted":
      return `submitted  ${row.search}`
    case "running":
      return `started    ${job}  ${row.search}`
    case "completed":
      return `completed  ${job}  ${row.search}: ${row.rows ?? 0} rows, ${row.csv_path ?? ""}`
    case "error":
      return `error      ${job}  ${row.search}: ${row.error ?? ""}`
    case "failed":
      return `failed     ${job}  ${row.search}: ${row.error ?? ""}`
  }
}

const jsonOf = (row: Ledger.Row): string =>
  JSON.stringify({
    executionId: row.execution_id,
    search: row.search,
    state: row.state,
    jobId: row.job_id,
    csv: row.csv_path,
    rows: row.rows,
    error: row.error_tag === null ? null : { tag: row.error_tag, message: row.error }
  })

const endOf = (exit: Exit.Exit<DatasetWorkflow.StoredDataset, unknown>): Ledger.End =>
  Exit.match(exit, {
    onSuccess: (dataset) => ({
      _tag: "Completed",
      jobId: dataset.status.jobId,
      csvPath: dataset.csv.location,
      rows: dataset.csv.rows
    }),
    onFailure: (cause) => {
      const failure = Cause.failureOption(cause)
      return Option.isSome(failure)
        ? { _tag: "Failed", error: failure.value as never }
        : { _tag: "Defect", description: Cause.pretty(cause).split("\n")[0] ?? "the workflow died" }
    }
  })

interface Submitted {
  readonly executionId: string
  readonly search: string
}

/** Shows each change of the batch's jobs until every one has ended; gives the exit code. */
const follow = (batch: ReadonlyArray<Submitted>, ledger: Ledger.Ledger, output: Output.Output) =>
  Effect.gen(function*() {
    const ours = new Map(batch.map((s) => [s.executionId, s.search]))
    const shown = new Map<string, string>()
    const pending = new Set(ours.keys())
    const show = Effect.gen(function*() {
      const rows = yield* ledger.list
      for (const row of rows) {
        if (!ours.has(row.execution_id)) continue
        const signature = `${row.state}/${row.job_id}`
        if (shown.get(row.execution_id) === signature) continue
        shown.set(row.execution_id, signature)
        yield* output.json ? output.result(jsonOf(row)) : output.message(lineOf(row))
      }
      return rows.filter((row) => ours.has(row.execution_id))
    })
    const poll = (executionId: string) =>
      Effect.gen(function*() {
        const result = yield* DatasetWorkflow.DatasetWorkflow.poll(executionId)
        if (result === undefined || result._tag === "Suspended") return
        yield* ledger.ended(executionId, ours.get(executionId)!, endOf(result.exit))
        pending.delete(executionId)
      })
    // The ledger says what changed; the engine has the last word on the end. It is asked about the jobs the
    // ledger says ended, and about all of them every tenth round (a workflow that died tells no event).
    for (let round = 0; pending.size > 0; round++) {
      const rows = yield* show
      const ended = rows.filter((r) => pending.has(r.execution_id) && Ledger.isTerminal(r.state))
      const asked = round % 10 === 0 ? [...pending] : ended.map((r) => r.execution_id)
      yield* Effect.forEach(asked, poll, { concurrency: 8, discard: true })
      if (pending.size > 0) yield* Effect.sleep("500 millis")
    }
    const rows = yield* show
    const count = (state: Ledger.State) => rows.filter((r) => r.state === state).length
    if (!output.json) {
      yield* output.result(
        `Batch: ${count("completed")} completed, ${count("error")} ended in error, ${
          count("failed")
        } failed (of ${batch.length}).`
      )
    }
    return count("failed") > 0 ? ExitCode.Api : count("error") > 0 ? ExitCode.JobFailed : ExitCode.Ok
  })

/** Records what the workflows of this process tell; a ledger that cannot be written is logged, never fatal. */
const recorder = (ledger: Ledger.Ledger) => (event: DatasetWorkflow.Event) =>
  ledger.record(event).pipe(
    Effect.catchAll((error) => Effect.logWarning(`qoery batch: could not record ${event._tag}: ${error.message}`))
  )

/** The workflows this process runs: the client, the CSV folder, the ledger. */
const workflows = (
  options: { readonly out: string; readonly concurrency: number; readonly connection: Connection.Connection },
  ledger: Ledger.Ledger,
  onEvent?: (event: DatasetWorkflow.Event) => Effect.Effect<void>
) =>
  DatasetWorkflow.layer({
    concurrency: options.concurrency,
    onEvent: (event) => Effect.zipRight(recorder(ledger)(event), onEvent === undefined ? Effect.void : onEvent(event))
  }).pipe(
    Layer.provide(CsvStore.layerDirectory(options.out)),
    Layer.provide(Connection.clientLayer(options.connection)),
    Layer.provide(NodeContext.layer)
  )

/** Runs `body` with the SQL client, the ledger and the engine of `database`, in the given role. */
const withEngine = <A, E, R>(
  output: Output.Output,
  database: BatchDatabase.Database,
  role: BatchDatabase.Role,
  body: (ledger: Ledger.Ledger, port: number) => Effect.Effect<A, E, R>
) =>
  Effect.gen(function*() {
    const port = database._tag === "Postgres" && role === "runner" ? yield* BatchDatabase.freePort : 0
    return yield* Effect.scoped(Effect.gen(function*() {
      // The tables are created one process at a time (processes started together on a new database).
      const releaseSchema = yield* BatchDatabase.holdSchemaLock(database).pipe(Effect.orDie)
      const engine = yield* Layer.build(BatchDatabase.engineLayer(database, role, port).pipe(Layer.orDie))
      const ledger = yield* Ledger.make.pipe(Effect.orDie)
      yield* releaseSchema
      return yield* Effect.provide(body(ledger, port), engine)
    })).pipe(Effect.provide(BatchDatabase.sqlLayer(database)))
  }).pipe(explainDatabase(output), Effect.provide(quietLogs))

// ---------------------------------------------------------------------------
// Commands

const connect = (flags: Connection.Flags, output: Output.Output) =>
  Effect.gen(function*() {
    const connection = yield* Connection.resolve(flags, output)
    yield* Connection.checkBaseUrl(connection.baseUrl)
    return connection
  })

const run = Command.make("run", {
  searches: Args.text({ name: "search" }).pipe(
    Args.withDescription("A search, as one argument; give as many as you like."),
    Args.repeated
  ),
  from: Options.file("from").pipe(
    Options.withPseudoName("FILE"),
    Options.withDescription("A file with one search per line (blank lines and lines starting with # are skipped)."),
    Options.optional
  ),
  out,
  db,
  concurrency,
  json,
  submitOnly: Options.boolean("submit-only").pipe(
    Options.withDescription("Enqueue the searches and exit; `qoery batch worker` (or a later run) does the work.")
  ),
  ...Connection.flags
}, (flags) =>
  Effect.gen(function*() {
    const database = yield* parseDatabase(flags.db)
    const searches = yield* readSearches(flags.searches, flags.from)
    yield* checkConcurrency(flags.concurrency)
    const outDir = yield* checkOut(flags.out)
    const output = yield* Output.make({ json: flags.json })
    const connection = flags.submitOnly ? undefined : yield* connect(flags, output)
    const code = yield* withEngine(output, database, connection === undefined ? "client" : "runner", (ledger) => {
      const submit = Effect.forEach(searches, (search) =>
        Effect.gen(function*() {
          const executionId = yield* DatasetWorkflow.executionId({ search })
          yield* Effect.orDie(ledger.submitted(executionId, search))
          yield* DatasetWorkflow.submit({ search })
          return { executionId, search }
        }))
      if (connection === undefined) {
        return Effect.as(
          Effect.flatMap(submit, (batch) =>
            output.message(
              `Submitted ${batch.length} searches; \`qoery batch worker\` or \`qoery batch run\` does them.`
            )),
          ExitCode.Ok
        )
      }
      // The workflow is registered before anything is submitted: this process owns shards, and a message to
      // an entity that is not registered waits for it.
      return Effect.flatMap(submit, (batch) => Effect.orDie(follow(batch, ledger, output))).pipe(
        Effect.provide(workflows({ out: outDir, concurrency: flags.concurrency, connection }, ledger))
      )
    })
    if (code !== ExitCode.Ok) return yield* new Reported({ code })
  }).pipe(Effect.scoped)).pipe(Command.withDescription(describe(
    "Runs each search as a durable workflow and writes each CSV to --out; exits when every job is done (0 all completed, 1 a job ended in error, 3 an API error). Killed and run again with the same arguments, it starts no search twice.",
    "qoery batch run \"climate change statistics\" --from searches.txt --out out/"
  )))

const worker = Command.make("worker", { db, out, concurrency, ...Connection.flags }, (flags) =>
  Effect.gen(function*() {
    const database = yield* parseDatabase(flags.db)
    if (database._tag !== "Postgres") {
      return yield* usage(
        "a worker needs a shared database: --db postgres://...",
        "With a SQLite file, `qoery batch run` does the work in its own process."
      )
    }
    yield* checkConcurrency(flags.concurrency)
    const outDir = yield* checkOut(flags.out)
    const output = yield* Output.make({ json: false })
    const connection = yield* connect(flags, output)
    yield* withEngine(output, database, "runner", (ledger, port) =>
      Effect.gen(function*() {
        yield* output.message(
          `qoery batch worker: runner at 127.0.0.1:${port} on ${database.shown}, CSVs to ${outDir}. Ctrl-C stops it.`
        )
        const tell = (event: DatasetWorkflow.Event) =>
          output.message(
            event._tag === "Started"
              ? `started    ${event.jobId}  ${event.search}`
              : event._tag === "Stored"
              ? `completed  ${event.dataset.status.jobId}  ${event.search}: ${event.dataset.csv.rows} rows, ${event.dataset.csv.location}`
              : `${
                event.error._tag === "JobFailed" ? "error    " : "failed   "
              }  ${event.search}: ${event.error.message}`
          )
        return yield* Layer.launch(
          workflows({ out: outDir, concurrency: flags.concurrency, connection }, ledger, tell)
        )
      }))
  }).pipe(Effect.scoped)).pipe(Command.withDescription(describe(
    "Runs the workflows of batches submitted by others (`qoery batch run --submit-only`), until stopped. Workers share the Postgres database; when one dies, the others take over its jobs.",
    "qoery batch worker --db postgres://qoery@127.0.0.1:5432/qoery --out out/"
  )))

const status = Command.make("status", { db, json }, (flags) =>
  Effect.gen(function*() {
    const database = yield* parseDatabase(flags.db)
    const output = yield* Output.make({ json: flags.json })
    if (database._tag === "Sqlite" && !fs.existsSync(database.filename)) {
      return yield* output.message(`No batches yet: ${database.filename} does not exist.`)
    }
    yield* withEngine(output, database, "client", (ledger) =>
      Effect.gen(function*() {
        const rows = yield* Effect.orDie(ledger.list)
        if (output.json) {
          for (const row of rows) yield* output.result(jsonOf(row))
          return
        }
        if (rows.length === 0) return yield* output.message("No batch jobs.")
        const width = Math.max(...rows.map((r) => r.search.length), 6)
        yield* output.result(`${"STATE".padEnd(10)} ${"JOB".padEnd(15)} ${"SEARCH".padEnd(width)} CSV`)
        for (const row of rows) {
          yield* output.result(
            `${row.state.padEnd(10)} ${(row.job_id ?? "-").padEnd(15)} ${row.search.padEnd(width)} ${
              row.csv_path ?? (row.error === null ? "-" : `(${row.error})`)
            }`
          )
        }
      }))
  })).pipe(Command.withDescription(describe(
    "Lists every batch job with its search, job id, state and CSV.",
    "qoery batch status --json"
  )))

/**
 * `qoery batch`: many searches as durable workflows.
 */
export const command = Command.make("batch").pipe(
  Command.withDescription(describe(
    "Runs many searches as durable workflows: crash-safe on a SQLite file, spread over many processes on Postgres.",
    "qoery batch run --from searches.txt --out out/"
  )),
  Command.withSubcommands([run, worker, status])
)
