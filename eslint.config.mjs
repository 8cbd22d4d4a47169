import effect from "@effect/eslint-plugin"
import js from "@eslint/js"
import tseslint from "typescript-eslint"

export default tseslint.config(
  { ignores: ["**/dist/**", "**/build/**", "**/node_modules/**", "out/**", "coverage/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...effect.configs.dprint,
  {
    languageOptions: {
      globals: {
        console: "readonly",
        process: "readonly",
        URL: "readonly",
        TextDecoder: "readonly",
        TextEncoder: "readonly"
      }
    },
    rules: {
      "@effect/dprint": ["error", {
        config: {
          indentWidth: 2,
          lineWidth: 120,
          semiColons: "asi",
          quoteStyle: "alwaysDouble",
          trailingCommas: "never",
          operatorPosition: "maintain",
          "arrowFunction.useParentheses": "force"
        }
      }],
      "@typescript-eslint/no-explicit-any": "off",
      "@typescript-eslint/no-namespace": "off",
      "@typescript-eslint/no-empty-object-type": "off",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "no-restricted-imports": ["error", {
        patterns: [{ group: ["@effect-qoery/*/internal/*"], message: "internal modules are private" }]
      }]
    }
  },
  {
    files: ["packages/*/src/**/*.ts"],
    rules: { "@effect/no-import-from-barrel-package": ["error", { packageNames: ["effect", "@effect/platform"] }] }
  },
  {
    files: ["packages/emulator/src/**/*.ts"],
    rules: {
      "no-restricted-imports": ["error", {
        paths: [{
          name: "@effect-qoery/client",
          message: "import the client's model by subpath (@effect-qoery/client/JobStatus, /Payloads, /JobId): " +
            "the barrel loads the HTTP client, the watcher and the CSV module into the server"
        }],
        patterns: [{ group: ["@effect-qoery/*/internal/*"], message: "internal modules are private" }]
      }]
    }
  },
  {
    files: ["packages/client/src/**/*.ts"],
    rules: {
      "no-restricted-imports": ["error", {
        patterns: [{ group: ["node:*"], message: "the client is runtime-agnostic: no node: imports" }, {
          group: ["@effect/platform-node", "@effect/platform-node/*"],
          message: "the client works with any HttpClient"
        }]
      }]
    }
  },
  {
    // The undici transport runs only where undici does (Node): it decodes compressed bodies with node:zlib.
    files: ["packages/client/src/internal/undiciHttpClient.ts"],
    rules: {
      "no-restricted-imports": ["error", {
        patterns: [{
          group: ["node:*", "!node:stream", "!node:zlib"],
          message: "the undici transport needs node:stream and node:zlib only"
        }, {
          group: ["@effect/platform-node", "@effect/platform-node/*"],
          message: "the client works with any HttpClient"
        }]
      }]
    }
  }
)
