import { defineConfig } from "vitest/config"
import { alias } from "./vitest.config.js"

/**
 * The soak (`pnpm test:soak`): long runs kept out of `pnpm test`. Its size is
 * `QOERY_SOAK_JOBS` (default 1000). The worker gets `--expose-gc` so that the
 * memory check measures what is retained, not what is merely not yet collected.
 */
export default defineConfig({
  resolve: { alias },
  test: {
    include: ["test/soak/**/*.test.ts"],
    testTimeout: 600_000,
    hookTimeout: 60_000,
    pool: "forks",
    poolOptions: { forks: { execArgv: ["--expose-gc"], singleFork: true } }
  }
})
