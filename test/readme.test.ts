/**
 * Every ```ts block of README.md and of each packages/*\/README.md is a whole
 * module that type-checks, as a reader would paste it into a file of their
 * own project: the same compiler options as the repository (strict,
 * exactOptionalPropertyTypes, NodeNext, ESM), the packages resolved by name.
 * Unused imports are allowed, so a block may just show what to import.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as path from "node:path"
import ts from "typescript"

const root = path.resolve(import.meta.dirname, "..")

interface Block {
  readonly name: string
  readonly code: string
}

const readmes = [
  "README.md",
  ...fs.readdirSync(path.join(root, "packages")).map((p) => `packages/${p}/README.md`)
].filter((file) => fs.existsSync(path.join(root, file)))

const blocks: ReadonlyArray<Block> = readmes.flatMap((file) => {
  const text = fs.readFileSync(path.join(root, file), "utf8")
  return [...text.matchAll(/^```(?:ts|typescript)\n([\s\S]*?)^```$/gm)].map((match) => ({
    name: `${file}:${text.slice(0, match.index).split("\n").length}`,
    code: match[1]!
  }))
})

// Inside test/, so that @effect-qoery/* resolve through the workspace links of test/node_modules.
let dir = ""
const diagnostics = new Map<string, ReadonlyArray<string>>()

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(root, "test", ".readme-snippets-"))
  const files = blocks.map((block, i) => {
    const file = path.join(dir, `block-${i}.ts`)
    fs.writeFileSync(file, block.code)
    return file
  })
  const config = ts.readConfigFile(path.join(root, "tsconfig.base.json"), ts.sys.readFile)
  const { options } = ts.parseJsonConfigFileContent(config.config, ts.sys, root)
  const program = ts.createProgram(files, {
    ...options,
    noEmit: true,
    declaration: false,
    declarationMap: false,
    noUnusedLocals: false,
    types: ["node"]
  })
  files.forEach((file, i) => {
    const source = program.getSourceFile(file)!
    const found = [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)]
    diagnostics.set(blocks[i]!.name, found.map((d) => ts.formatDiagnostic(d, ts.createCompilerHost({}))))
  })
}, 180_000)

afterAll(() => {
  if (dir !== "") fs.rmSync(dir, { recursive: true, force: true })
})

describe("README snippets", () => {
  it("are found: the root README's Effect, Promise, client and DatasetCsv blocks at least", () => {
    assert.isAtLeast(blocks.filter((b) => b.name.startsWith("README.md:")).length, 4)
    assert.isTrue(blocks.some((b) => b.code.includes("@effect-qoery/client/promise")))
  })

  for (const block of blocks) {
    it(`${block.name} type-checks as a module of its own`, () => {
      assert.deepStrictEqual(diagnostics.get(block.name), [])
    })
  }
})
