// Winnow's shipped learned reranker inside the Vercel AI SDK, in process and offline:
// `rerank()` of package `ai` with a Winnow reranking model.
// Run from an install (npm install @winnow-rerank/winnow ai): npx tsx examples/ai-sdk.ts
// From a checkout: npm run build && npx tsx examples/ai-sdk.ts
import { rerank } from "ai";
import { winnow } from "@winnow-rerank/winnow/ai-sdk";

const documents = [
  "The energy landscape theory explains how proteins fold into native structures.",
  "Fever in children is most often caused by viral infections such as influenza.",
  "Vitamin D supplementation improves bone density; no fever was observed in adults.",
  "Children with a high fever should drink fluids and rest; fever is a symptom.",
  "Bacterial infections can cause fever, and antibiotics treat the infection.",
];

const { ranking } = await rerank({
  // Any registry spec works here, e.g. { type: "cross-encoder", model: "cross-encoder/ms-marco-MiniLM-L6-v2" }.
  model: winnow.reranking("learned"),
  query: "what causes fever in children",
  documents,
  topN: 3,
});
for (const { originalIndex, score, document } of ranking) {
  console.log(`${score.toFixed(4)}  [${originalIndex}] ${document}`);
}
