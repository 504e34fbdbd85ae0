// Winnow's shipped learned reranker as a LlamaIndex.TS node postprocessor, in process and
// offline: postprocessNodes reorders retrieved nodes with Winnow's scores.
// Run from an install (npm install @winnow-rerank/winnow @llamaindex/core): npx tsx examples/llamaindex.ts
// From a checkout: npm run build && npx tsx examples/llamaindex.ts
import { TextNode, type NodeWithScore } from "@llamaindex/core/schema";
import { WinnowNodePostprocessor } from "@winnow-rerank/winnow/llamaindex";

const texts = [
  "The energy landscape theory explains how proteins fold into native structures.",
  "Fever in children is most often caused by viral infections such as influenza.",
  "Vitamin D supplementation improves bone density; no fever was observed in adults.",
  "Children with a high fever should drink fluids and rest; fever is a symptom.",
  "Bacterial infections can cause fever, and antibiotics treat the infection.",
];
// As a retriever would hand them over: first-stage scores, best first.
const nodes: NodeWithScore[] = texts.map((text, i) => ({ node: new TextNode({ id_: `doc-${i}`, text }), score: 1 - i / 10 }));

// In a query engine: index.asQueryEngine({ nodePostprocessors: [reranker] }).
const reranker = new WinnowNodePostprocessor({ reranker: "learned", topN: 3 });
for (const { node, score } of await reranker.postprocessNodes(nodes, "what causes fever in children")) {
  console.log(`${score?.toFixed(4)}  ${node.id_}  ${(node as TextNode).text}`);
}
