// Winnow's shipped learned reranker as a LangChain.js document compressor, in process and
// offline: a ContextualCompressionRetriever reranks what a first stage returns.
// Run from an install (npm install @winnow-rerank/winnow @langchain/core @langchain/classic): npx tsx examples/langchain.ts
// From a checkout: npm run build && npx tsx examples/langchain.ts
import { ContextualCompressionRetriever } from "@langchain/classic/retrievers/contextual_compression";
import { Document } from "@langchain/core/documents";
import { BaseRetriever } from "@langchain/core/retrievers";
import { WinnowRerank } from "@winnow-rerank/winnow/langchain";

const texts = [
  "The energy landscape theory explains how proteins fold into native structures.",
  "Fever in children is most often caused by viral infections such as influenza.",
  "Vitamin D supplementation improves bone density; no fever was observed in adults.",
  "Children with a high fever should drink fluids and rest; fever is a symptom.",
  "Bacterial infections can cause fever, and antibiotics treat the infection.",
];

/** Stands in for a vector store's retriever: returns every document, in order. */
class ListRetriever extends BaseRetriever {
  override lc_namespace = ["examples"];
  override async _getRelevantDocuments(): Promise<Document[]> {
    return texts.map((pageContent, i) => new Document({ pageContent, metadata: { source: `doc-${i}` } }));
  }
}

const retriever = new ContextualCompressionRetriever({
  baseCompressor: new WinnowRerank({ reranker: "learned", topN: 3 }),
  baseRetriever: new ListRetriever(),
});
for (const doc of await retriever.invoke("what causes fever in children")) {
  console.log(`${(doc.metadata.relevanceScore as number).toFixed(4)}  ${doc.metadata.source}  ${doc.pageContent}`);
}
