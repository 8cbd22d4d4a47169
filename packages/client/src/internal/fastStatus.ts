/**
 * A fast path for decoding a status: the same checks as the `JobStatus`
 * schema, written out by hand, building the same class instances. It answers
 * `undefined` whenever anything is off, and the caller then runs the schema,
 * which gives the error with its path. `test/fast-decode.test.ts` checks that
 * both accept and reject the same inputs and give equal results.
 */
import * as DateTime from "effect/DateTime"
import { calendarProblem } from "../JobId.js"
import type { JobStatus, Step } from "../JobStatus.js"
import { parseMillis } from "./timestamp.js"

interface Class {
  readonly prototype: object
}

interface Classes {
  readonly JobProgress: Class
  readonly Processing: Class
  readonly Completed: Class
  readonly Failed: Class
  readonly defaultError: string
}

// A Schema.Class instance is its prototype plus the fields assigned (Data.Class);
// the constructor adds a copy and a merge of defaults that a complete, checked
// set of fields does not need.
const instance = (klass: Class, props: object): any => Object.assign(Object.create(klass.prototype), props)

const steps = new Set<unknown>(["initializing", "searching", "scraping", "processing", "finalizing"])
const jobIdPattern = /^[0-9]{8}_[0-9]{6}$/

const isCount = (u: unknown): u is number => typeof u === "number" && Number.isSafeInteger(u) && u >= 0
const isObject = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)
const time = (u: unknown): DateTime.Utc | undefined => {
  if (typeof u !== "string") return undefined
  const millis = parseMillis(u)
  return millis === undefined ? undefined : DateTime.unsafeMake(millis)
}

export const make = (classes: Classes) => (u: unknown): JobStatus | undefined => {
  if (!isObject(u)) return undefined
  const status = u.status
  if (status !== "processing" && status !== "completed" && status !== "error") return undefined
  const jobId = u.job_id
  if (typeof jobId !== "string" || !jobIdPattern.test(jobId) || calendarProblem(jobId) !== undefined) return undefined
  const query = u.query
  const csvUrl = u.csv_url
  const urls = u.urls
  if (typeof query !== "string" || typeof csvUrl !== "string" || !Array.isArray(urls)) return undefined
  for (let i = 0; i < urls.length; i++) if (typeof urls[i] !== "string") return undefined
  const startedAt = time(u.started_at)
  if (startedAt === undefined) return undefined
  const p = u.progress
  if (!isObject(p)) return undefined
  const currentStep = p.current_step
  const rowsCollected = p.rows_collected
  const urlsProcessed = p.urls_processed
  const urlsTotal = p.urls_total
  const lastUpdated = time(p.last_updated)
  if (
    !steps.has(currentStep) || !isCount(rowsCollected) || !isCount(urlsProcessed) || !isCount(urlsTotal) ||
    lastUpdated === undefined
  ) return undefined
  const progress = instance(classes.JobProgress, {
    currentStep: currentStep as Step,
    rowsCollected,
    urlsProcessed,
    urlsTotal,
    lastUpdated
  })
  const common = { status, jobId, query, progress, urls: urls.slice(), csvUrl, startedAt }
  if (status === "processing") return instance(classes.Processing, common)
  const end = u.completed_at
  let completedAt: DateTime.Utc | undefined
  if (end !== undefined && end !== null) {
    completedAt = time(end)
    if (completedAt === undefined) return undefined
  }
  const ended = completedAt === undefined ? common : { ...common, completedAt }
  if (status === "completed") return instance(classes.Completed, ended)
  const error = u.error
  if (error !== undefined && error !== null && typeof error !== "string") return undefined
  return instance(classes.Failed, { ...ended, error: typeof error === "string" ? error : classes.defaultError })
}
