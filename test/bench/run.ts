/**
 * `pnpm bench`: every figure of BENCHMARKS.md, each a ratio or a count
 * measured side by side in this one run, printed as one table and written to
 * bench-results.json. `pnpm bench --quick` is the smoke pass CI runs: small
 * sizes, no targets asserted.
 *
 * The packages are measured as built (`dist`, what users install): the
 * script builds them first and runs without `--conditions=source`.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { runCsvBench } from "./csv.js"
import { runDecodeBench } from "./decode.js"
import { runEmulatorBench } from "./emulatorThroughput.js"
import { runPollBench } from "./poll.js"
import { runScaleBench } from "./scale.js"

const quick = process.argv.includes("--quick")
const only = process.argv.find((a) => a.startsWith("--only="))?.slice(7).split(",")
const wanted = (name: string) => only === undefined || only.includes(name)
const log = (line: string) => process.stderr.write(`bench: ${line}\n`)

const machine = {
  cores: os.cpus().length,
  cpu: os.cpus()[0]?.model ?? "unknown",
  memoryGB: Math.round(os.totalmem() / 2 ** 30),
  node: process.version,
  gcExposed: typeof (globalThis as { gc?: unknown }).gc === "function"
}

log(
  `${quick ? "quick smoke pass" : "full run"} on ${machine.cores} cores, ${machine.memoryGB} GB, Node ${machine.node}`
)
log("decode")
const decode = wanted("decode") ? runDecodeBench({ quick }) : undefined
// Before the scale run: the process keeps the heap pages that 10,000 jobs took, which would hide RSS growth.
log("csv")
const csv = wanted("csv") ? await runCsvBench({ quick }) : undefined
log("poll cost")
const poll = wanted("poll") ? await runPollBench({ quick }) : undefined
log("emulator throughput")
const emulator = wanted("emulator") ? await runEmulatorBench({ quick }) : undefined
log("scale and latency")
const scale = wanted("scale") ? await runScaleBench({ quick }) : undefined

const results = {
  quick,
  decodeRatio: decode?.decodeRatio,
  zodDecodeRatio: decode?.zodDecodeRatio,
  pollCpuRatio: poll?.pollCpuRatio,
  pollCpuRatioFetch: poll?.pollCpuRatioFetch,
  pollCpuRatioPlatformFetch: poll?.pollCpuRatioPlatformFetch,
  bareFetchRatio: poll?.bareFetchRatio,
  pollCpuRatioPlatformUndici: poll?.pollCpuRatioPlatformUndici,
  pollFloorUs: poll?.floorUs,
  scale: scale && {
    jobs: scale.jobs,
    allTerminal: scale.allTerminal,
    heapPerJobKB: scale.heapPerJobKB,
    loopDelayP99Ms: scale.loopDelayP99Ms,
    pollLatenessP99Ms: scale.pollLatenessP99Ms,
    extraRequestsPerJob: scale.extraRequestsPerJob,
    requestsAfterTerminal: scale.requestsAfterTerminal
  },
  latencyP99OverIntervalMs: scale?.latencyP99OverIntervalMs,
  csv: csv && {
    mbPerSec: csv.mbPerSec,
    referenceMbPerSec: csv.referenceMbPerSec,
    reference: csv.reference,
    rssGrowthMB: csv.rssGrowthMB
  },
  emulatorReqPerSec: emulator?.reqPerSec,
  machine,
  details: { decode, poll, scale, csv, emulator }
}

const fmt = (n: number | undefined, digits = 2) => n === undefined ? "-" : n.toFixed(digits)
const check = (ok: boolean | undefined) => ok === undefined ? "-" : ok ? "met" : "NOT MET"
const rows: Array<[string, string, string, string]> = [
  ["decode / JSON.parse", fmt(results.decodeRatio), "<= 2.5", check(decode && decode.decodeRatio <= 2.5)],
  ["zod 4 decode / JSON.parse (reference)", fmt(results.zodDecodeRatio), "", ""],
  [
    "poll CPU, watch over undici (UndiciHttpClient) / node:http floor",
    `${fmt(results.pollCpuRatio)} (${fmt(poll?.undiciUs, 0)} us vs ${fmt(poll?.floorUs, 0)} us)`,
    "<= 2.5",
    check(poll && poll.pollCpuRatio <= 2.5)
  ],
  [
    "poll CPU, watch over fetch (the client's FetchHttpClient) / floor",
    `${fmt(results.pollCpuRatioFetch)} (${fmt(poll?.fetchUs, 0)} us)`,
    "<= 3.5",
    check(poll && poll.pollCpuRatioFetch <= 3.5)
  ],
  [
    "poll CPU, bare fetch + JSON.parse, no client / floor (reference)",
    `${fmt(results.bareFetchRatio)} (${fmt(poll?.bareFetchUs, 0)} us)`,
    "",
    ""
  ],
  [
    "poll CPU, an Effect Stream of bare fetch polls, no client / floor (reference)",
    `${fmt(poll?.streamFetchRatio)} (${fmt(poll?.streamFetchUs, 0)} us)`,
    "",
    ""
  ],
  [
    "poll CPU, that stream with each poll's guarantees by hand, no client / floor (reference)",
    `${fmt(poll?.guardedStreamFetchRatio)} (${fmt(poll?.guardedStreamFetchUs, 0)} us)`,
    "",
    ""
  ],
  [
    "poll CPU, watch over @effect/platform's FetchHttpClient / floor (reference)",
    `${fmt(results.pollCpuRatioPlatformFetch)} (${fmt(poll?.platformFetchUs, 0)} us)`,
    "",
    ""
  ],
  [
    "poll CPU, watch over NodeHttpClient.layerUndici / floor (reference)",
    `${fmt(results.pollCpuRatioPlatformUndici)} (${fmt(poll?.platformUndiciUs, 0)} us)`,
    "",
    ""
  ],
  [
    `scale: ${scale?.jobs ?? "-"} jobs, ${scale?.intervalMs ?? "-"} ms interval, all terminal once`,
    scale ? `${scale.allTerminal} (twice: ${scale.terminalTwice})` : "-",
    "true",
    check(scale && scale.allTerminal && scale.terminalTwice === 0)
  ],
  ["scale: heap per followed job (KB)", fmt(scale?.heapPerJobKB), "<= 4", check(scale && scale.heapPerJobKB <= 4)],
  [
    "scale: event-loop delay p99 (ms)",
    fmt(scale?.loopDelayP99Ms, 1),
    "<= 100",
    check(scale && scale.loopDelayP99Ms <= 100)
  ],
  [
    `scale: poll lateness p99, sent minus due (ms, ${scale?.pollsTimed ?? "-"} polls)`,
    fmt(scale?.pollLatenessP99Ms, 1),
    "<= 50",
    check(scale && scale.pollLatenessP99Ms <= 50)
  ],
  [
    "scale: requests per job above the minimum",
    scale
      ? `${fmt(scale.extraRequestsPerJob)} (${fmt(scale.requestsPerJob)} vs ${fmt(scale.minimumRequestsPerJob)})`
      : "-",
    "<= 1",
    check(scale && scale.extraRequestsPerJob <= 1)
  ],
  [
    "scale: requests after a terminal status",
    fmt(scale?.requestsAfterTerminal, 0),
    "0",
    check(scale && scale.requestsAfterTerminal === 0)
  ],
  [
    "latency: terminal on the server to the stream, p99 minus interval (ms)",
    fmt(scale?.latencyP99OverIntervalMs, 1),
    "<= 50",
    check(scale && scale.latencyP99OverIntervalMs <= 50)
  ],
  [
    `CSV parse MB/s (vs ${csv?.reference ?? "-"})`,
    csv ? `${fmt(csv.mbPerSec, 1)} vs ${fmt(csv.referenceMbPerSec, 1)}` : "-",
    ">= reference",
    check(csv && csv.mbPerSec >= csv.referenceMbPerSec)
  ],
  ["CSV peak RSS growth (MB)", fmt(csv?.rssGrowthMB, 1), "< 64", check(csv && csv.rssGrowthMB < 64)],
  ["emulator status requests/s (one process)", fmt(emulator?.reqPerSec, 0), "", ""]
]

const widths = [0, 1, 2, 3].map((i) =>
  Math.max(...rows.map((r) => r[i]!.length), ["figure", "value", "target", ""][i]!.length)
)
const line = (r: ReadonlyArray<string>) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`
console.log(line(["figure", "value", "target", quick ? "(quick: not judged)" : "status"]))
console.log(line(widths.map((w) => "-".repeat(w))))
for (const r of rows) console.log(line(quick ? [r[0], r[1], r[2], ""] : r))

const out = path.resolve(import.meta.dirname, "../../bench-results.json")
fs.writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`)
log(`wrote ${path.relative(process.cwd(), out)}`)
