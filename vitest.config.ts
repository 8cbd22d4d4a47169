import * as path from "node:path"
import { defineConfig } from "vitest/config"

const src = (pkg: string, file = "index") => path.resolve(import.meta.dirname, "packages", pkg, "src", `${file}.ts`)

export const alias = [
  { find: /^@effect-qoery\/client\/promise$/, replacement: src("client", "promise") },
  {
    find: /^@effect-qoery\/(client|emulator|cli|workflow)$/,
    replacement: path.resolve(import.meta.dirname, "packages/$1/src/index.ts")
  },
  {
    find: /^@effect-qoery\/(client|emulator|cli|workflow)\/(.*)$/,
    replacement: path.resolve(import.meta.dirname, "packages/$1/src/$2.ts")
  }
]

export default defineConfig({
  resolve: { alias },
  test: {
    include: ["packages/*/test/**/*.test.ts", "test/**/*.test.ts"],
    exclude: ["test/soak/**", "**/node_modules/**"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    sequence: { concurrent: false }
  }
})
