import * as Payloads from "@effect-qoery/client/Payloads"
import * as DateTime from "effect/DateTime"
import * as Schema from "effect/Schema"

// The bodies that do not depend on any job or key, encoded once with the client's schemas.

const encodeInfo = Schema.encodeSync(Payloads.ApiInfo)
const encodeRoot = Schema.encodeSync(Payloads.RootStatus)
const encodePlans = Schema.encodeSync(Payloads.PlansResponse)
const encodeHealth = Schema.encodeSync(Payloads.HealthResponse)

/** `GET /v0/datasets` without `search`. */
export const apiInfo = encodeInfo(
  new Payloads.ApiInfo({
    message: "Datasets API",
    endpoints: {
      "POST /v0/datasets": "Start a new dataset collection job (body: {\"search\": \"...\"})",
      "GET /v0/datasets?search=...": "Start a new dataset collection job (query param)",
      "GET /v0/datasets/:job_id": "Get job status and progress",
      "GET /v0/datasets/:job_id/csv": "Download the CSV file"
    }
  })
)

/** `GET /`. */
export const rootBody = encodeRoot(new Payloads.RootStatus({ status: "ok" }))

const price = (amount: number, priceId: string) => new Payloads.PlanPrice({ amount, currency: "USD", priceId })

/** `GET /v0/plans`. */
export const plansBody = encodePlans(
  new Payloads.PlansResponse({
    plans: {
      free: new Payloads.Plan({
        name: "Free",
        description: "Ideal for experimentation and testing",
        price: "$0",
        billing: "one-time",
        limits: { datasets: 100 },
        apiKeys: 1,
        support: "Community",
        monthlyPrice: null,
        annualPrice: null,
        discountPercentage: null
      }),
      starter: new Payloads.Plan({
        name: "Starter",
        description: "Built for researchers and small projects",
        price: "$29",
        billing: "/mo billed monthly",
        limits: { datasets: 1000, "query/nl": 500 },
        apiKeys: 2,
        support: "Standard",
        monthlyPrice: price(29, "price_starter_monthly"),
        annualPrice: price(290, "price_starter_annual"),
        discountPercentage: 0.17
      }),
      pro: new Payloads.Plan({
        name: "Pro",
        description: "For production workloads",
        price: "$99",
        billing: "/mo billed monthly",
        limits: { datasets: 10_000, "query/nl": 5_000 },
        apiKeys: 10,
        support: "Priority",
        monthlyPrice: price(99, "price_pro_monthly"),
        annualPrice: price(990, "price_pro_annual"),
        discountPercentage: 0.17
      }),
      growth: new Payloads.Plan({
        name: "Growth",
        description: "For large-scale operations",
        price: "$499",
        billing: "/mo billed monthly",
        limits: { datasets: 100_000, "query/nl": 50_000 },
        apiKeys: "unlimited",
        support: "Priority",
        monthlyPrice: price(499, "price_growth_monthly"),
        annualPrice: price(4990, "price_growth_annual"),
        discountPercentage: 0.17
      })
    },
    defaultPlan: "free"
  })
)

/** The plan a quota belongs to, as `/v0/usage` reports it. */
export const planFor = (quota: number): Payloads.UsageStats["plan"] =>
  quota <= 100 ? "free" : quota <= 1000 ? "starter" : quota <= 10_000 ? "pro" : "growth"

/** `GET /health`. */
export const healthBody = (now: number) =>
  encodeHealth(new Payloads.HealthResponse({ status: "ok", timestamp: DateTime.unsafeMake(now) }))
