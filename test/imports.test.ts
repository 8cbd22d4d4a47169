/**
 * No value-import cycle among the source files of the packages: a module is
 * loaded once its imports are, so a cycle makes the order of evaluation (and
 * which binding is still undefined) depend on who is imported first. Type
 * imports are erased and do not count.
 */
import { assert, describe, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as path from "node:path"

const root = path.resolve(import.meta.dirname, "..")

const sourceFiles = (dir: string): Array<string> =>
  fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) return sourceFiles(full)
    return entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts") ? [full] : []
  })

/** The relative modules a file imports or re-exports as values. */
export const valueImports = (file: string): Array<string> => {
  const text = fs.readFileSync(file, "utf8")
  const found: Array<string> = []
  // Every `import ... from "m"` and `export ... from "m"`; the lazy clause stops at its own `from`.
  const statement = /^\s*(import|export)\s+(type\s+)?([^;]*?)\s*from\s*"([^"]+)"/gms
  for (const match of text.matchAll(statement)) {
    if (match[2] !== undefined || !match[4]!.startsWith(".")) continue
    const clause = match[3]!.trim()
    // `import { type A, type B } from`: only types.
    const braces = /^\{([^}]*)\}$/.exec(clause)
    if (braces !== null) {
      const names = braces[1]!.split(",").map((n) => n.trim()).filter((n) => n !== "")
      if (names.length > 0 && names.every((n) => n.startsWith("type "))) continue
    }
    const target = path.resolve(path.dirname(file), match[4]!).replace(/\.js$/, ".ts")
    found.push(target)
  }
  return found
}

/** Every cycle found by a depth-first walk, each as the files around it. */
export const cycles = (files: ReadonlyArray<string>): Array<Array<string>> => {
  const graph = new Map(files.map((f) => [f, valueImports(f).filter((t) => fs.existsSync(t))]))
  const state = new Map<string, "visiting" | "done">()
  const stack: Array<string> = []
  const found: Array<Array<string>> = []
  const visit = (file: string) => {
    state.set(file, "visiting")
    stack.push(file)
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === "visiting") found.push([...stack.slice(stack.indexOf(next)), next])
      else if (state.get(next) === undefined) visit(next)
    }
    stack.pop()
    state.set(file, "done")
  }
  for (const file of files) if (state.get(file) === undefined) visit(file)
  return found
}

describe("imports", () => {
  it("the finder sees a cycle of values, and not one of types", () => {
    const dir = fs.mkdtempSync(path.join(root, "node_modules", ".cycle-"))
    try {
      fs.writeFileSync(path.join(dir, "a.ts"), "import { b } from \"./b.js\"\nexport const a = 1\n")
      fs.writeFileSync(path.join(dir, "b.ts"), "import * as A from \"./a.js\"\nexport const b = A\n")
      fs.writeFileSync(path.join(dir, "c.ts"), "import type { d } from \"./d.js\"\nexport const c = 1\n")
      fs.writeFileSync(path.join(dir, "d.ts"), "import { type c } from \"./c.js\"\nexport const d = 1\n")
      const found = cycles(sourceFiles(dir)).map((c) => c.map((f) => path.basename(f)))
      assert.deepStrictEqual(found, [["a.ts", "b.ts", "a.ts"]])
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  for (const pkg of fs.readdirSync(path.join(root, "packages"))) {
    const src = path.join(root, "packages", pkg, "src")
    if (!fs.existsSync(src)) continue
    it(`packages/${pkg}/src has no value-import cycle`, () => {
      const found = cycles(sourceFiles(src)).map((c) => c.map((f) => path.relative(root, f)).join(" -> "))
      assert.deepStrictEqual(found, [])
    })
  }
})
