/**
 * Decode cost: JSON text of a JobStatus to a validated JobStatus, per call,
 * beside JSON.parse alone and beside zod 4 on the same text.
 */
import { JobStatus } from "@effect-qoery/client"
import { Schema } from "effect"
import { z } from "zod"
import { wireStatus } from "../support/statuses.js"
import { median } from "./stats.js"

// the spec's processing example
const text = JSON.stringify(wireStatus())

const zProgress = z.object({
  current_step: z.string(), // any step, as the spec and JobStatus.Step have it
  rows_collected: z.number().int().nonnegative(),
  urls_processed: z.number().int().nonnegative(),
  urls_total: z.number().int().nonnegative(),
  last_updated: z.iso.datetime({ offset: true }).transform((s) => new Date(s))
})
const zCommon = {
  job_id: z.string().regex(/^[0-9]{8}_[0-9]{6}$/),
  query: z.string(),
  progress: zProgress,
  urls: z.array(z.string()),
  csv_url: z.string(),
  started_at: z.iso.datetime({ offset: true }).transform((s) => new Date(s))
}
const zStatus = z.discriminatedUnion("status", [
  z.object({ status: z.literal("processing"), ...zCommon }),
  z.object({ status: z.literal("completed"), ...zCommon, completed_at: z.iso.datetime().nullish() }),
  z.object({
    status: z.literal("error"),
    ...zCommon,
    error: z.string().nullish(),
    completed_at: z.iso.datetime().nullish()
  })
])

const decode = JobStatus.decodeJson
let sink: unknown

const time = (n: number, f: () => unknown) => {
  const start = process.hrtime.bigint()
  for (let i = 0; i < n; i++) sink = f()
  return Number(process.hrtime.bigint() - start) / n / 1000 // us per call
}

export interface DecodeResult {
  readonly jsonParseUs: number
  readonly decodeUs: number
  readonly zodUs: number
  readonly decodeRatio: number
  readonly zodDecodeRatio: number
}

export const runDecodeBench = ({ quick }: { readonly quick: boolean }): DecodeResult => {
  const n = quick ? 2_000 : 20_000
  const rounds = quick ? 3 : 15
  const parse: Array<number> = []
  const ours: Array<number> = []
  const zod: Array<number> = []
  // warm up every path, then alternate them round by round so that noise hits all alike
  for (let i = 0; i < 3; i++) {
    time(n, () => JSON.parse(text))
    time(n, () => decode(text))
    time(n, () => zStatus.parse(JSON.parse(text)))
  }
  for (let r = 0; r < rounds; r++) {
    parse.push(time(n, () => JSON.parse(text)))
    ours.push(time(n, () => decode(text)))
    zod.push(time(n, () => zStatus.parse(JSON.parse(text))))
  }
  if (sink === undefined) throw new Error("unreachable")
  const jsonParseUs = median(parse)
  const decodeUs = median(ours)
  const zodUs = median(zod)
  return { jsonParseUs, decodeUs, zodUs, decodeRatio: decodeUs / jsonParseUs, zodDecodeRatio: zodUs / jsonParseUs }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = runDecodeBench({ quick: process.argv.includes("--quick") })
  console.table({
    "JSON.parse": { "us/call": r.jsonParseUs.toFixed(2), ratio: "1.00" },
    "JobStatus.decodeJson": { "us/call": r.decodeUs.toFixed(2), ratio: r.decodeRatio.toFixed(2) },
    "zod 4 (JSON.parse + parse)": { "us/call": r.zodUs.toFixed(2), ratio: r.zodDecodeRatio.toFixed(2) }
  })
  void Schema
}
