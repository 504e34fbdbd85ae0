import { Document as LangChainDocument, type DocumentInterface } from "@langchain/core/documents";
import { BaseDocumentCompressor } from "@langchain/core/retrievers/document_compressors";
import type { RerankerContext } from "../../core/reranker-spec.js";
import type { Document, RerankOptions } from "../../core/types.js";
import { LazyReranker, sourceModelId, type RerankerSource } from "../reranker-source.js";

export interface WinnowRerankFields {
  /** The reranker: a registry type (`"learned"`), a spec, or a Reranker instance. */
  reranker: RerankerSource;
  /** Documents kept by compressDocuments (default 3, as @langchain/cohere's CohereRerank). */
  topN?: number;
  /** For rerankers that take an instruction (the others refuse it with an error). */
  instruction?: string;
  context?: RerankerContext;
}

/** A LangChain document as Winnow reads it: pageContent ranked, metadata.title as the title, metadata kept. */
function toWinnowDocument(doc: DocumentInterface | string, i: number): Document {
  if (typeof doc === "string") return { id: String(i), text: doc };
  const metadata = doc.metadata ?? {};
  const out: Document = { id: doc.id ?? String(i), text: doc.pageContent, metadata };
  if (typeof metadata.title === "string") out.title = metadata.title;
  return out;
}

/**
 * A LangChain document compressor over any Winnow reranker, in process: drop it into a
 * ContextualCompressionRetriever where @langchain/cohere's CohereRerank would go. Each
 * kept document keeps its metadata and id, with the score in `metadata.relevanceScore`
 * (new Document objects: the retriever's own are not modified).
 */
export class WinnowRerank extends BaseDocumentCompressor {
  readonly topN: number;
  readonly model: string;
  private readonly instruction?: string;
  private readonly reranker: LazyReranker;

  constructor(fields: WinnowRerankFields) {
    super();
    this.reranker = new LazyReranker(fields.reranker, fields.context);
    this.model = sourceModelId(fields.reranker);
    this.topN = fields.topN ?? 3;
    this.instruction = fields.instruction;
  }

  private async ranked(documents: ReadonlyArray<DocumentInterface | string>, query: string, topN: number | undefined) {
    if (documents.length === 0) return [];
    const reranker = await this.reranker.get();
    const options: RerankOptions = { topN, returnDocuments: false };
    if (this.instruction !== undefined) options.instruction = this.instruction;
    return reranker.rerank(query, documents.map(toWinnowDocument), options);
  }

  override async compressDocuments(documents: DocumentInterface[], query: string): Promise<DocumentInterface[]> {
    const results = await this.ranked(documents, query, this.topN);
    return results.map((r) => {
      const doc = documents[r.index];
      return new LangChainDocument({ pageContent: doc.pageContent, metadata: { ...doc.metadata, relevanceScore: r.score }, id: doc.id });
    });
  }

  /** The ranking alone, as CohereRerank.rerank returns it: `{ index, relevanceScore }`, best first. */
  async rerank(documents: Array<DocumentInterface | string>, query: string, options: { topN?: number } = {}): Promise<Array<{ index: number; relevanceScore: number }>> {
    const results = await this.ranked(documents, query, options.topN ?? this.topN);
    return results.map((r) => ({ index: r.index, relevanceScore: r.score }));
  }

  /** Releases the reranker this compressor built (a Reranker instance passed in is left open). */
  close(): Promise<void> {
    return this.reranker.close();
  }
}
