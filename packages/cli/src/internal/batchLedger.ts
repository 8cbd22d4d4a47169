/**
 * What `qoery batch status` shows: one row per batch job (its search, job id,
 * state, CSV), kept in the batch database beside the engine's own tables.
 * The workflows write it as they go, so it is right whichever process ran
 * them; it is a view, not the source of truth (the engine is).
 */
import type { DatasetError, DatasetWorkflow } from "@effect-qoery/workflow"
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import { ledgerTable } from "./batchDatabase.js"

/** Where a batch job stands. */
export type State = "submitted" | "running" | "completed" | "error" | "failed"

/** `error`: the job ended in error; `failed`: the API refused (key, quota, unknown job) or retries ran out. */
export const isTerminal = (state: string) => state === "completed" || state === "error" || state === "failed"

/** A row of the ledger. */
export interface Row {
  readonly execution_id: string
  readonly search: string
  readonly state: State
  readonly job_id: string | null
  readonly csv_path: string | null
  readonly rows: number | null
  readonly error_tag: string | null
  readonly error: string | null
  readonly updated_at: string
}

/** The ledger on the SQL client in context. */
export interface Ledger {
  readonly submitted: (executionId: string, search: string) => Effect.Effect<void, SqlError>
  readonly record: (event: DatasetWorkflow.Event) => Effect.Effect<void, SqlError>
  readonly ended: (executionId: string, search: string, end: End) => Effect.Effect<void, SqlError>
  readonly list: Effect.Effect<ReadonlyArray<Row>, SqlError>
}

/** How a workflow ended, as the engine tells it. */
export type End =
  | { readonly _tag: "Completed"; readonly jobId: string; readonly csvPath: string; readonly rows: number }
  | { readonly _tag: "Failed"; readonly error: DatasetError.DatasetError }
  | { readonly _tag: "Defect"; readonly description: string }

const now = Effect.map(Clock.currentTimeMillis, (millis) => new Date(millis).toISOString())

/** Creates the ledger table when missing. */
export const make: Effect.Effect<Ledger, SqlError, SqlClient.SqlClient> = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const table = sql(ledgerTable)
  yield* sql`CREATE TABLE IF NOT EXISTS ${table} (
    execution_id TEXT PRIMARY KEY,
    search TEXT NOT NULL,
    state TEXT NOT NULL,
    job_id TEXT,
    csv_path TEXT,
    rows INTEGER,
    error_tag TEXT,
    error TEXT,
    updated_at TEXT NOT NULL
  )`

  const upsert = (row: Omit<Row, "updated_at">) =>
    Effect.flatMap(
      now,
      (updatedAt) =>
        sql`INSERT INTO ${table} (execution_id, search, state, job_id, csv_path, rows, error_tag, error, updated_at)
        VALUES (${row.execution_id}, ${row.search}, ${row.state}, ${row.job_id}, ${row.csv_path}, ${row.rows},
          ${row.error_tag}, ${row.error}, ${updatedAt})
        ON CONFLICT (execution_id) DO UPDATE SET state = excluded.state,
          job_id = COALESCE(excluded.job_id, ${table}.job_id), csv_path = excluded.csv_path, rows = excluded.rows,
          error_tag = excluded.error_tag, error = excluded.error, updated_at = excluded.updated_at`
    )

  const failed = (executionId: string, search: string, error: DatasetError.DatasetError) =>
    upsert({
      execution_id: executionId,
      search,
      state: error._tag === "JobFailed" ? "error" : "failed",
      job_id: error._tag === "JobFailed" ? error.status.jobId : "jobId" in error ? error.jobId ?? null : null,
      csv_path: null,
      rows: error._tag === "JobFailed" ? error.status.progress.rowsCollected : null,
      error_tag: error._tag,
      error: error.message
    })

  return {
    submitted: (executionId, search) =>
      Effect.flatMap(now, (updatedAt) =>
        sql`INSERT INTO ${table} (execution_id, search, state, updated_at)
          VALUES (${executionId}, ${search}, 'submitted', ${updatedAt})
          ON CONFLICT (execution_id) DO NOTHING`),
    record: (event) => {
      switch (event._tag) {
        case "Started":
          return upsert({
            execution_id: event.executionId,
            search: event.search,
            state: "running",
            job_id: event.jobId,
            csv_path: null,
            rows: null,
            error_tag: null,
            error: null
          })
        case "Stored":
          return upsert({
            execution_id: event.executionId,
            search: event.search,
            state: "completed",
            job_id: event.dataset.status.jobId,
            csv_path: event.dataset.csv.location,
            rows: event.dataset.csv.rows,
            error_tag: null,
            error: null
          })
        case "Failed":
          return failed(event.executionId, event.search, event.error)
      }
    },
    ended: (executionId, search, end) =>
      end._tag === "Completed"
        ? upsert({
          execution_id: executionId,
          search,
          state: "completed",
          job_id: end.jobId,
          csv_path: end.csvPath,
          rows: end.rows,
          error_tag: null,
          error: null
        })
        : end._tag === "Failed"
        ? failed(executionId, search, end.error)
        : upsert({
          execution_id: executionId,
          search,
          state: "failed",
          job_id: null,
          csv_path: null,
          rows: null,
          error_tag: "Defect",
          error: end.description
        }),
    list: sql<Row>`SELECT * FROM ${table} ORDER BY search`
  }
})
