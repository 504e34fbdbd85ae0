import { describeDocsPage } from "./docs-page-suite.js";

describeDocsPage("docs/bm25-index-format.md");
