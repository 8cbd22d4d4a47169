/**
 * A fast path for decoding a status: the same checks as the `JobStatus`
 * schema, written out by hand, building the same class instances. It answers
 * `undefined` whenever anything is off, and the caller then runs the schema,
 * which gives the error with its path. The job-id check is `JobId`'s, the
 * wire keys and the default error text are read from the schema's fields, so
 * a change to the schema is a change here. A step is any string (`Step`: the
 * spec lists five but types it `string`); `make` throws if the schema's step
 * is no longer a plain string, rather than accept what the schema rejects.
 * `packages/client/test/fastDecode.test.ts` checks that both accept and
 * reject the same inputs and give equal results.
 */
import * as DateTime from "effect/DateTime"
import * as Option from "effect/Option"
import type * as Schema from "effect/Schema"
import { isFast as isJobId } from "../JobId.js"
import type { JobStatus } from "../JobStatus.js"
import { parseMillis, utc } from "./timestamp.js"

interface Class {
  readonly prototype: object
  readonly fields: Schema.Struct.Fields
}

/** What the decoder is made from: the schema's classes; everything else is read from their fields. */
interface Classes {
  readonly JobProgress: Class
  readonly Processing: Class
  readonly Completed: Class
  readonly Failed: Class
}

// A Schema.Class instance is its prototype plus the fields assigned (Data.Class);
// the constructor adds a copy and a merge of defaults that a complete, checked
// set of fields does not need. The fields are assigned one by one, in the
// constructor's order, rather than through Object.assign: 11 ns instead of 69.

/** The key a field has on the wire: its `Schema.fromKey`, or its own name. */
const wireKey = (fields: Schema.Struct.Fields, name: string): string => {
  const ast = (fields[name] as { readonly ast?: any } | undefined)?.ast
  if (ast === undefined) throw new Error(`fastStatus: the schema has no field ${name}`)
  return ast._tag === "PropertySignatureTransformation" && ast.from.fromKey !== undefined
    ? String(ast.from.fromKey)
    : name
}

/** The value a field decodes to when the wire has none: its `optionalWith` default. */
const defaultOf = (fields: Schema.Struct.Fields, name: string): unknown => {
  const ast = (fields[name] as { readonly ast?: any }).ast
  const decoded = ast._tag === "PropertySignatureTransformation" ? ast.decode(Option.none()) : Option.none()
  if (Option.isNone(decoded)) throw new Error(`fastStatus: the field ${name} has no default`)
  return decoded.value
}

/** Whether a field's wire value is a plain string in the schema (no literals, no refinement): what the fast path checks. */
const isPlainString = (fields: Schema.Struct.Fields, name: string): boolean => {
  const ast = (fields[name] as { readonly ast?: any }).ast
  const type = ast._tag === "PropertySignatureTransformation" ? ast.from.type : ast.type
  return type._tag === "StringKeyword"
}

const isCount = (u: unknown): u is number => typeof u === "number" && Number.isSafeInteger(u) && u >= 0
const isObject = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)
const time = (u: unknown): DateTime.Utc | undefined => {
  if (typeof u !== "string") return undefined
  const millis = parseMillis(u)
  return millis === undefined ? undefined : utc(millis)
}

export const make = (classes: Classes) => {
  const p = classes.JobProgress.fields
  const c = classes.Completed.fields
  const f = classes.Failed.fields
  const K = {
    status: wireKey(c, "status"),
    jobId: wireKey(c, "jobId"),
    query: wireKey(c, "query"),
    progress: wireKey(c, "progress"),
    urls: wireKey(c, "urls"),
    csvUrl: wireKey(c, "csvUrl"),
    startedAt: wireKey(c, "startedAt"),
    completedAt: wireKey(c, "completedAt"),
    error: wireKey(f, "error"),
    currentStep: wireKey(p, "currentStep"),
    rowsCollected: wireKey(p, "rowsCollected"),
    urlsProcessed: wireKey(p, "urlsProcessed"),
    urlsTotal: wireKey(p, "urlsTotal"),
    lastUpdated: wireKey(p, "lastUpdated")
  }
  if (!isPlainString(p, "currentStep")) throw new Error("fastStatus: the schema's step is not a plain string")
  const defaultError = defaultOf(f, "error") as string
  const JobProgress = classes.JobProgress.prototype
  const Processing = classes.Processing.prototype
  const Completed = classes.Completed.prototype
  const Failed = classes.Failed.prototype
  return (u: unknown): JobStatus | undefined => {
    if (!isObject(u)) return undefined
    const status = u[K.status]
    if (status !== "processing" && status !== "completed" && status !== "error") return undefined
    const jobId = u[K.jobId]
    if (!isJobId(jobId)) return undefined
    const query = u[K.query]
    const csvUrl = u[K.csvUrl]
    const urls = u[K.urls]
    if (typeof query !== "string" || typeof csvUrl !== "string" || !Array.isArray(urls)) return undefined
    for (let i = 0; i < urls.length; i++) if (typeof urls[i] !== "string") return undefined
    const startedAt = time(u[K.startedAt])
    if (startedAt === undefined) return undefined
    const p = u[K.progress]
    if (!isObject(p)) return undefined
    const currentStep = p[K.currentStep]
    const rowsCollected = p[K.rowsCollected]
    const urlsProcessed = p[K.urlsProcessed]
    const urlsTotal = p[K.urlsTotal]
    const lastUpdated = time(p[K.lastUpdated])
    if (
      typeof currentStep !== "string" || !isCount(rowsCollected) || !isCount(urlsProcessed) || !isCount(urlsTotal) ||
      lastUpdated === undefined
    ) return undefined
    const end = u[K.completedAt]
    let completedAt: DateTime.Utc | undefined
    if (status !== "processing" && end !== undefined && end !== null) {
      completedAt = time(end)
      if (completedAt === undefined) return undefined
    }
    const error = status === "error" ? u[K.error] : undefined
    if (error !== undefined && error !== null && typeof error !== "string") return undefined
    const progress = Object.create(JobProgress)
    progress.currentStep = currentStep
    progress.rowsCollected = rowsCollected
    progress.urlsProcessed = urlsProcessed
    progress.urlsTotal = urlsTotal
    progress.lastUpdated = lastUpdated
    const self = Object.create(status === "processing" ? Processing : status === "completed" ? Completed : Failed)
    self.status = status
    self.jobId = jobId
    self.query = query
    self.progress = progress
    self.urls = urls.slice()
    self.csvUrl = csvUrl
    self.startedAt = startedAt
    if (completedAt !== undefined) self.completedAt = completedAt
    if (status === "error") self.error = typeof error === "string" ? error : defaultError
    return self
  }
}
