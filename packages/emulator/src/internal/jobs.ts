import * as JobId from "@effect-qoery/client/JobId"
import type * as JobStatus from "@effect-qoery/client/JobStatus"
import * as Dataset from "../Dataset.js"

/** A job as stored: what its state is computed from. */
export interface Job {
  readonly id: string
  /** The epoch second the id names. */
  readonly second: number
  readonly query: string
  /** Its plan's urls and row counts (computed at the start, not on every status). */
  readonly outline: Dataset.Outline
  readonly startedAt: number
  /** Epoch millis the job ends (`completed` or `error`). */
  readonly endsAt: number
  /** Set once a status response said `completed` or `error`. */
  terminalServed: boolean
  /** The last status body sent, and the state it was for. */
  cached?: { readonly key: string; readonly body: string } | undefined
}

/** Where a job's timeline starts each step, as fractions of the job duration. */
export const boundaries = {
  searching: 0.1,
  scraping: 0.3,
  processing: 0.7,
  finalizing: 0.85,
  /** A failing query stops here, in the middle of `scraping`. */
  failure: 0.5
} as const

/** The state of a job at a moment, in wire terms. */
export interface State {
  readonly status: "processing" | "completed" | "error"
  readonly step: JobStatus.KnownStep
  readonly urlsTotal: number
  readonly urlsProcessed: number
  readonly rowsCollected: number
  /** Epoch millis of the last change. */
  readonly lastUpdated: number
  /** Epoch millis the job ended, for `completed` and `error`. */
  readonly endedAt: number | undefined
  readonly error: string | undefined
}

/**
 * The state of a job `now`, from its start time and the job duration: no
 * timers, so ten thousand jobs cost only their memory.
 */
export const stateAt = (job: Job, now: number, duration: number): State => {
  const plan = job.outline
  const fails = Dataset.willFail(job.query)
  const urlCount = plan.urls.length
  const rowCount = plan.cumulativeRows[urlCount - 1] ?? 0
  const elapsed = Math.max(0, now - job.startedAt)
  const raw = duration <= 0 ? 1 : elapsed / duration
  const end = fails ? boundaries.failure : 1
  const f = Math.min(raw, end)
  const terminal = raw >= end

  let step: JobStatus.KnownStep
  let urlsTotal: number
  let rowsCollected: number
  let changedAt: number
  if (f < boundaries.searching) {
    step = "initializing"
    urlsTotal = 0
    rowsCollected = 0
    changedAt = 0
  } else if (f < boundaries.scraping) {
    step = "searching"
    const p = (f - boundaries.searching) / (boundaries.scraping - boundaries.searching)
    urlsTotal = Math.min(urlCount, Math.floor(urlCount * p))
    rowsCollected = 0
    changedAt = boundaries.searching + (boundaries.scraping - boundaries.searching) * urlsTotal / urlCount
  } else if (f < boundaries.processing || (fails && terminal)) {
    step = "scraping"
    urlsTotal = urlCount
    const p = (f - boundaries.scraping) / (boundaries.processing - boundaries.scraping)
    rowsCollected = Math.min(rowCount, Math.floor(rowCount * p))
    changedAt = terminal
      ? f
      : boundaries.scraping + (boundaries.processing - boundaries.scraping) * rowsCollected / rowCount
  } else {
    step = f < boundaries.finalizing ? "processing" : "finalizing"
    urlsTotal = urlCount
    rowsCollected = rowCount
    changedAt = terminal ? 1 : step === "processing" ? boundaries.processing : boundaries.finalizing
  }
  let urlsProcessed = 0
  if (step === "processing" || step === "finalizing") {
    urlsProcessed = urlCount
  } else if (step === "scraping") {
    while (urlsProcessed < urlCount && plan.cumulativeRows[urlsProcessed]! <= rowsCollected) urlsProcessed++
  }
  const endedAt = terminal ? job.startedAt + Math.floor(end * Math.max(0, duration)) : undefined
  const lastUpdated = endedAt ?? Math.min(now, job.startedAt + Math.floor(changedAt * duration))
  return {
    status: terminal ? (fails ? "error" : "completed") : "processing",
    step,
    urlsTotal,
    urlsProcessed,
    rowsCollected,
    lastUpdated: Math.max(job.startedAt, lastUpdated),
    endedAt,
    error: terminal && fails
      ? `Failed to scrape URL: Connection timeout (${plan.urls[urlsProcessed] ?? plan.urls[0]})`
      : undefined
  }
}

/** When a job started `startedAt` ends, for a job duration. */
export const endOf = (query: string, startedAt: number, duration: number): number =>
  startedAt + Math.floor((Dataset.willFail(query) ? boundaries.failure : 1) * Math.max(0, duration))

/** A job for `query` started `now`, whose id names the epoch second `second`. */
const make = (second: number, query: string, now: number, duration: number): Job => ({
  id: JobId.fromDate(new Date(second * 1000)),
  second,
  query,
  outline: Dataset.outline(query),
  startedAt: now,
  endsAt: endOf(query, now, duration),
  terminalServed: false
})

/** A job that was never started, for the faults that answer about a job the emulator does not know. */
export const placeholder = (now: number, duration: number): Job =>
  make(Date.UTC(2025, 10, 10, 15, 16, 28) / 1000, "another query", now, duration)

/** The id of the job started the second after this one: another job, of a real date and time. */
export const nextId = (job: Job): string => JobId.fromDate(new Date((job.second + 1) * 1000))

/** The jobs of one emulator, and the ids they were given. */
export interface Store {
  readonly start: (query: string, now: number) => Job
  /** The job, unless unknown or ended more than the time to live before `now`. */
  readonly get: (id: string, now: number) => Job | undefined
  readonly size: () => number
}

/**
 * Ids are the start second (`YYYYMMDD_HHMMSS`, UTC); when that second is
 * taken, the next free one. Seconds are only ever handed out in increasing
 * order, so ids never collide (an evicted job's id is not given again) and
 * are always real calendar times.
 *
 * A job is forgotten `ttl` after it ended, so a long-running emulator holds
 * only the jobs of the last `duration + ttl`: each start drops the oldest
 * jobs that are past it (jobs are kept in start order, and none ends later
 * than `startedAt + duration`), and a read checks the one job it reads.
 */
export const makeStore = (duration: number, ttl: number): Store => {
  const jobs = new Map<string, Job>()
  let lastSecond = -Infinity
  const expired = (job: Job, now: number) => now >= job.endsAt + ttl
  const evict = (now: number) => {
    for (const job of jobs.values()) {
      if (job.startedAt + Math.max(0, duration) + ttl > now) break
      jobs.delete(job.id)
    }
  }
  return {
    start: (query, now) => {
      evict(now)
      const second = Math.max(Math.floor(now / 1000), lastSecond + 1)
      lastSecond = second
      const job = make(second, query, now, duration)
      jobs.set(job.id, job)
      return job
    },
    get: (id, now) => {
      const job = jobs.get(id)
      if (job === undefined || !expired(job, now)) return job
      jobs.delete(id)
      return undefined
    },
    size: () => jobs.size
  }
}
