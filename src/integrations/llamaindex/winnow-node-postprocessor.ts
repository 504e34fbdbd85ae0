import type { MessageContent } from "@llamaindex/core/llms";
import type { BaseNodePostprocessor } from "@llamaindex/core/postprocessor";
import { MetadataMode, type NodeWithScore } from "@llamaindex/core/schema";
import { extractText } from "@llamaindex/core/utils";
import { WinnowError } from "../../core/errors.js";
import type { RerankerContext } from "../../core/reranker-spec.js";
import type { Document, RerankOptions } from "../../core/types.js";
import { LazyReranker, sourceModelId, type RerankerSource } from "../reranker-source.js";

export interface WinnowNodePostprocessorOptions {
  /** The reranker: a registry type (`"learned"`), a spec, or a Reranker instance. */
  reranker: RerankerSource;
  /** Nodes kept (all when absent). */
  topN?: number;
  /**
   * What text of a node is ranked (default MetadataMode.NONE: the node's own text; its
   * metadata still reaches the reranker as document metadata). @llamaindex/cohere's
   * CohereRerank ranks MetadataMode.ALL.
   */
  metadataMode?: MetadataMode;
  /** For rerankers that take an instruction (the others refuse it with an error). */
  instruction?: string;
  context?: RerankerContext;
}

/**
 * A LlamaIndex.TS node postprocessor over any Winnow reranker, in process: pass it in a
 * query engine's `nodePostprocessors`, or call `postprocessNodes(nodes, query)`. Returns
 * the kept nodes, best first, each with the reranker's score.
 */
export class WinnowNodePostprocessor implements BaseNodePostprocessor {
  readonly topN: number | undefined;
  readonly model: string;
  private readonly metadataMode: MetadataMode;
  private readonly instruction?: string;
  private readonly reranker: LazyReranker;

  constructor(options: WinnowNodePostprocessorOptions) {
    this.reranker = new LazyReranker(options.reranker, options.context);
    this.model = sourceModelId(options.reranker);
    this.topN = options.topN;
    this.metadataMode = options.metadataMode ?? MetadataMode.NONE;
    this.instruction = options.instruction;
  }

  async postprocessNodes(nodes: NodeWithScore[], query?: MessageContent): Promise<NodeWithScore[]> {
    if (nodes.length === 0) return [];
    if (query === undefined) {
      throw new WinnowError("INVALID_INPUT", "WinnowNodePostprocessor.postprocessNodes: query is required to rerank", { details: { field: "query" } });
    }
    const docs: Document[] = nodes.map(({ node }) => ({ id: node.id_, text: node.getContent(this.metadataMode), metadata: { ...node.metadata } }));
    const reranker = await this.reranker.get();
    const options: RerankOptions = { topN: this.topN, returnDocuments: false };
    if (this.instruction !== undefined) options.instruction = this.instruction;
    const results = await reranker.rerank(extractText(query), docs, options);
    return results.map((r) => ({ node: nodes[r.index].node, score: r.score }));
  }

  /** Releases the reranker this postprocessor built (a Reranker instance passed in is left open). */
  close(): Promise<void> {
    return this.reranker.close();
  }
}
