/**
 * Self time of a `.cpuprofile` by where the code lives (Node internals,
 * undici, effect, @effect/platform, this repository) and its top functions,
 * in microseconds per poll when the number of polls is given.
 *
 *   node --import tsx test/bench/profileSummary.ts prof/x.cpuprofile 5000
 */
import * as fs from "node:fs"

interface Node {
  readonly id: number
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number }
  readonly children?: ReadonlyArray<number>
}
interface Profile {
  readonly nodes: ReadonlyArray<Node>
  readonly samples: ReadonlyArray<number>
  readonly timeDeltas: ReadonlyArray<number>
}

const file = process.argv[2]!
const polls = Number(process.argv[3] ?? 1)
const profile = JSON.parse(fs.readFileSync(file, "utf8")) as Profile
const byId = new Map(profile.nodes.map((n) => [n.id, n]))
const self = new Map<number, number>()
profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)))

const area = (url: string, name: string): string => {
  if (name === "(idle)" || name === "(program)" || name === "(garbage collector)") return name
  if (url === "") return "(native)"
  if (url.includes("/undici/")) return "undici"
  if (url.includes("/@effect/platform-node")) return "@effect/platform-node"
  if (url.includes("/@effect/platform/")) return "@effect/platform"
  if (url.includes("/effect/")) return "effect"
  if (url.startsWith("node:")) return "node internals"
  if (url.includes("/packages/client/")) return "client"
  if (url.includes("tsx") || url.includes("esbuild")) return "tsx"
  return "other"
}

const areas = new Map<string, number>()
const functions = new Map<string, number>()
for (const [id, us] of self) {
  const node = byId.get(id)!
  const { functionName, lineNumber, url } = node.callFrame
  const a = area(url, functionName)
  areas.set(a, (areas.get(a) ?? 0) + us)
  const key = `${a}: ${functionName || "(anonymous)"} ${url.split("/").slice(-1)[0]}:${lineNumber + 1}`
  functions.set(key, (functions.get(key) ?? 0) + us)
}
const busy = [...areas].filter(([a]) => a !== "(idle)").reduce((s, [, us]) => s + us, 0)
const show = (us: number) => `${(us / polls).toFixed(1).padStart(7)} us  ${(100 * us / busy).toFixed(1).padStart(5)}%`
console.log(`busy: ${(busy / polls).toFixed(1)} us per poll`)
for (const [a, us] of [...areas].sort((x, y) => y[1] - x[1])) if (a !== "(idle)") console.log(`${show(us)}  ${a}`)
console.log("top functions:")
for (const [f, us] of [...functions].sort((x, y) => y[1] - x[1]).slice(0, 40)) console.log(`${show(us)}  ${f}`)

// Inclusive time of the functions named on the command line (after the poll count), e.g. `makeSpan isolated`.
const wanted = process.argv.slice(4)
if (wanted.length > 0) {
  const inclusive = new Map<number, number>()
  const total = (id: number): number => {
    const known = inclusive.get(id)
    if (known !== undefined) return known
    const node = byId.get(id)!
    const sum = (self.get(id) ?? 0) + (node.children ?? []).reduce((s, c) => s + total(c), 0)
    inclusive.set(id, sum)
    return sum
  }
  // only the outermost frame of each name counts, so recursion is not counted twice
  const sums = new Map<string, number>()
  const walk = (id: number, inside: ReadonlySet<string>) => {
    const node = byId.get(id)!
    const name = node.callFrame.functionName
    let next = inside
    if (wanted.includes(name) && !inside.has(name)) {
      sums.set(name, (sums.get(name) ?? 0) + total(id))
      next = new Set([...inside, name])
    }
    for (const c of node.children ?? []) walk(c, next)
  }
  walk(profile.nodes[0]!.id, new Set())
  console.log("inclusive:")
  for (const [name, us] of sums) console.log(`${show(us)}  ${name}`)
}
