/**
 * The database of `qoery batch`: `--db` read as a SQLite file (the default,
 * in the state folder) or a `postgres://` URL, checked before anything is
 * written, and the engine layer for it.
 */
import { DatasetEngine } from "@effect-qoery/workflow"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import * as SqlClient from "@effect/sql/SqlClient"
import type * as SqlError from "@effect/sql/SqlError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import * as fs from "node:fs"
import * as net from "node:net"
import * as path from "node:path"
import { UsageError } from "./failure.js"
import * as Journal from "./journal.js"

/** Where the batches are kept. */
export type Database =
  | { readonly _tag: "Sqlite"; readonly filename: string }
  | { readonly _tag: "Postgres"; readonly url: Redacted.Redacted; readonly shown: string }

/** The SQLite file used when `--db` is not given: `batch.db` in the state folder. */
export const defaultFile = Effect.map(Journal.stateDir, (dir) => path.join(dir, "batch.db"))

/** The table `qoery batch` keeps its jobs in; a database that has tables but not this one is not ours. */
export const ledgerTable = "qoery_batch_jobs"

const usage = (problem: string) =>
  new UsageError({
    problem,
    hint:
      "Pass --db a SQLite file path (default: batch.db in the state folder) or a postgres://user@host:port/database URL."
  })

/** A URL without its password, for messages. */
const redactUrl = (url: URL) =>
  `${url.protocol}//${url.username === "" ? "" : `${url.username}@`}${url.host}${url.pathname}`

/** Reads `--db`: a `postgres://` (or `postgresql://`) URL, a `file:` URL, or a file path; any other URL is refused. */
export const parse = (input: string | undefined, defaultFilename: string): Either.Either<Database, UsageError> => {
  if (input === undefined) return Either.right({ _tag: "Sqlite", filename: defaultFilename })
  const text = input.trim()
  if (text === "") return Either.left(usage("--db is empty"))
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(text)?.[1]?.toLowerCase()
  if (scheme === "postgres" || scheme === "postgresql") {
    let url: URL
    try {
      url = new URL(text)
    } catch {
      return Either.left(usage("--db is not a valid postgres:// URL"))
    }
    if (url.hostname === "") return Either.left(usage("--db: the postgres:// URL has no host"))
    return Either.right({ _tag: "Postgres", url: Redacted.make(text), shown: redactUrl(url) })
  }
  if (scheme === "file") {
    try {
      return Either.right({ _tag: "Sqlite", filename: path.resolve(decodeURIComponent(new URL(text).pathname)) })
    } catch {
      return Either.left(usage("--db is not a valid file: URL"))
    }
  }
  // One letter before a colon is a Windows drive, not a scheme.
  if (scheme !== undefined && scheme.length > 1) {
    return Either.left(usage(`--db ${JSON.stringify(scheme + ":")} is neither a file path nor a postgres:// URL`))
  }
  return Either.right({ _tag: "Sqlite", filename: path.resolve(text) })
}

const sqliteHeader = "SQLite format 3\u0000"

const notOurs = (filename: string, why: string) =>
  new UsageError({
    problem: `${filename} ${why}, so it is not a qoery batch database; it was left as it was`,
    hint: "Pass --db a new file (it is created) or one `qoery batch` made."
  })

/**
 * Refuses a SQLite file that is not ours, without changing it: a file that
 * is not SQLite, or a SQLite database with tables but no ledger. A missing or
 * empty file is ours to create.
 */
export const checkSqlite = (filename: string): Effect.Effect<void, UsageError> =>
  Effect.gen(function*() {
    const stat = yield* Effect.sync(() => fs.statSync(filename, { throwIfNoEntry: false }))
    if (stat === undefined) return
    if (!stat.isFile()) return yield* notOurs(filename, "is not a file")
    if (stat.size === 0) return
    const header = yield* Effect.sync(() => {
      const fd = fs.openSync(filename, "r")
      try {
        const buffer = Buffer.alloc(16)
        fs.readSync(fd, buffer, 0, 16, 0)
        return buffer.toString("latin1")
      } finally {
        fs.closeSync(fd)
      }
    })
    if (header !== sqliteHeader) return yield* notOurs(filename, "is not a SQLite database")
    const tables = yield* Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      return yield* sql<{ name: string }>`SELECT name FROM sqlite_master WHERE type = 'table'`
    }).pipe(
      Effect.provide(SqliteClient.layer({ filename, readonly: true, disableWAL: true })),
      Effect.catchAll(() => Effect.fail(notOurs(filename, "cannot be read as SQLite")))
    )
    if (tables.length > 0 && !tables.some((t) => t.name === ledgerTable)) {
      return yield* notOurs(filename, `has tables of its own (${tables.slice(0, 3).map((t) => t.name).join(", ")})`)
    }
  })

/** The SQL client of a database, once it is known to be reachable (Postgres) or ours (SQLite). */
export const sqlLayer = (database: Database): Layer.Layer<SqlClient.SqlClient, UsageError | Unreachable> => {
  if (database._tag === "Sqlite") {
    return Layer.unwrapEffect(Effect.gen(function*() {
      yield* checkSqlite(database.filename)
      yield* Effect.sync(() => fs.mkdirSync(path.dirname(database.filename), { recursive: true }))
      return SqliteClient.layer({ filename: database.filename }).pipe(Layer.orDie)
    }))
  }
  return PgClient.layer({
    url: database.url,
    applicationName: "qoery-batch",
    connectTimeout: Duration.seconds(5),
    maxConnections: 8
  }).pipe(
    Layer.tap((context) =>
      Effect.asVoid(Effect.flatMap(Effect.provide(SqlClient.SqlClient, context), (sql) => sql`SELECT 1`))
    ),
    Layer.mapError((error) => new Unreachable({ shown: database.shown, description: error.message }))
  )
}

/** Postgres did not answer. */
export class Unreachable extends Schema.TaggedError<Unreachable>()("Unreachable", {
  shown: Schema.String,
  description: Schema.String
}) {
  override get message() {
    return `cannot reach Postgres at ${this.shown}: ${this.description}`
  }
}

/** Whether a failure is `Unreachable`. */
export const isUnreachable = (u: unknown): u is Unreachable => u instanceof Unreachable

/** A free TCP port on the loopback interface, for this process's runner. */
export const freePort: Effect.Effect<number> = Effect.async<number>((resume) => {
  const server = net.createServer()
  server.listen(0, "127.0.0.1", () => {
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    server.close(() => resume(Effect.succeed(port)))
  })
})

/** How this process takes part: it runs workflows (`runner`) or only submits and reads (`client`). */
export type Role = "runner" | "client"

/** The engine for a database and a role, on the SQL client in context. */
export const engineLayer = (database: Database, role: Role, port: number) =>
  database._tag === "Sqlite"
    ? role === "runner" ? DatasetEngine.layerSingleRunner : DatasetEngine.layerSubmitter
    : DatasetEngine.layerRunner({ port, clientOnly: role === "client" })

/** The key of the advisory lock under which a process creates the batch tables in a Postgres database. */
const schemaLockKey = 0x716f6572 // "qoer"

/**
 * Holds, on Postgres, a lock that one process at a time has, while it
 * creates the tables (the engine's migrations, the ledger), and gives the
 * effect that releases it; on SQLite, nothing. Postgres makes concurrent
 * `CREATE TABLE IF NOT EXISTS` of one table race: workers started together
 * on a new database failed with a duplicate key in `pg_type`. The lock is
 * a session lock on a connection of its own, given back once released (or
 * when the scope closes, whichever is first).
 */
export const holdSchemaLock = (
  database: Database
): Effect.Effect<Effect.Effect<void>, SqlError.SqlError, SqlClient.SqlClient | Scope.Scope> =>
  database._tag === "Sqlite" ? Effect.succeed(Effect.void) : Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const scope = yield* Scope.make()
    const release = Scope.close(scope, Exit.void)
    yield* Effect.addFinalizer(() => release)
    const connection = yield* Scope.extend(sql.reserve, scope)
    yield* connection.executeRaw("SELECT pg_advisory_lock($1)", [schemaLockKey])
    yield* Scope.addFinalizer(
      scope,
      Effect.ignore(connection.executeRaw("SELECT pg_advisory_unlock($1)", [schemaLockKey]))
    )
    return release
  })
